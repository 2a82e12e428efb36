import XCTest
@testable import OsusumeEval

/// Every metric against values computed by hand.
final class MetricsTests: XCTestCase {
    func value(_ m: CaseMetrics, _ metric: RankingMetric, _ ki: Int = 0) -> Double { m.values[metric]![ki] }

    func testSingleTargetAtRankThree() {
        // Ranked [5, 7, 9, 1, 2], target 9 at rank 3.
        let m = CaseMetrics(ranked: [5, 7, 9, 1, 2], targets: [9], ks: [2, 5])
        XCTAssertEqual(value(m, .hr, 0), 0)
        XCTAssertEqual(value(m, .hr, 1), 1)
        XCTAssertEqual(value(m, .ndcg, 0), 0)
        XCTAssertEqual(value(m, .ndcg, 1), 1 / log2(4.0), accuracy: 1e-12) // 0.5
        XCTAssertEqual(value(m, .mrr, 1), 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(value(m, .recall, 1), 1)
        XCTAssertEqual(value(m, .precision, 1), 0.2, accuracy: 1e-12)
        XCTAssertEqual(value(m, .map, 1), 1.0 / 3, accuracy: 1e-12)
    }

    func testTwoTargets() {
        // Ranked [1, 2, 3, 4], targets {2, 4, 8}: hits at ranks 2 and 4.
        let m = CaseMetrics(ranked: [1, 2, 3, 4], targets: [2, 4, 8], ks: [4])
        let dcg = 1 / log2(3.0) + 1 / log2(5.0)
        let idcg = 1 + 1 / log2(3.0) + 1 / log2(4.0)
        XCTAssertEqual(value(m, .ndcg), dcg / idcg, accuracy: 1e-12)
        XCTAssertEqual(value(m, .recall), 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(value(m, .precision), 0.5, accuracy: 1e-12)
        XCTAssertEqual(value(m, .mrr), 0.5, accuracy: 1e-12)
        XCTAssertEqual(value(m, .hr), 1)
        // AP: (1/2 + 2/4) / min(3, 4)
        XCTAssertEqual(value(m, .map), (0.5 + 0.5) / 3, accuracy: 1e-12)
    }

    func testPerfectAndMiss() {
        let perfect = CaseMetrics(ranked: [3, 1], targets: [3, 1], ks: [2])
        XCTAssertEqual(value(perfect, .ndcg), 1, accuracy: 1e-12)
        XCTAssertEqual(value(perfect, .map), 1, accuracy: 1e-12)
        let miss = CaseMetrics(ranked: [3, 1], targets: [9], ks: [2])
        for metric in RankingMetric.allCases { XCTAssertEqual(value(miss, metric), 0) }
    }

    func testShortListCountsAsMisses() {
        // Only two items could be ranked; K = 10 still divides precision by 10.
        let m = CaseMetrics(ranked: [4, 2], targets: [2], ks: [10])
        XCTAssertEqual(value(m, .precision), 0.1, accuracy: 1e-12)
        XCTAssertEqual(value(m, .ndcg), 1 / log2(3.0), accuracy: 1e-12)
    }

    func testProtocolParsing() throws {
        XCTAssertEqual(try EvaluationProtocol(parsing: "full"), .full)
        XCTAssertEqual(try EvaluationProtocol(parsing: "uniform-100"), .uniform(100))
        XCTAssertEqual(try EvaluationProtocol(parsing: "popular-50"), .popular(50))
        XCTAssertThrowsError(try EvaluationProtocol(parsing: "sampled"))
        XCTAssertThrowsError(try EvaluationProtocol(parsing: "uniform-0"))
        XCTAssertTrue(EvaluationProtocol.uniform(100).explanation.contains("SAMPLED"))
    }
}
