import XCTest
import OsusumeCore
import OsusumeData
@testable import OsusumeEval
@testable import OsusumeModels

/// A model with fixed scores: item i scores `scores[i]` for everyone.
final class FixedScores: Recommender {
    struct Config: ModelConfig { init() {} }
    static let kind = "fixed"
    let config = Config()
    var scores: [Float]
    init(config: Config) { scores = [] }
    init(_ s: [Float]) { scores = s }
    var itemCount: Int { scores.count }
    func fit(_ data: TrainingData) throws {}
    func score(_ queries: [ScoringQuery], into out: UnsafeMutablePointer<Float>) {
        for r in 0..<queries.count { for i in 0..<scores.count { out[r * scores.count + i] = scores[i] } }
    }
    func state() throws -> SafeTensors { SafeTensors() }
    func restore(_ state: SafeTensors) throws {}
}

final class EvaluatorTests: XCTestCase {
    func log(items: Int, pairs: [(Int, Int)]) -> InteractionLog {
        var l = InteractionLog()
        for i in 0..<items { _ = l.itemIDs.intern("i\(i)") }
        for (u, i) in pairs { l.append(user: "u\(u)", item: "i\(i)") }
        return l
    }

    func testFullRankingExcludesHistoryAndAverages() throws {
        // Scores rank items 0 > 1 > 2 > 3 > 4 > 5.
        let model = FixedScores([6, 5, 4, 3, 2, 1])
        let train = log(items: 6, pairs: [(0, 0), (0, 1), (1, 2), (1, 3), (0, 0)])
        var opts = EvaluationOptions(); opts.ks = [1, 3]; opts.showProgress = false; opts.batchSize = 1
        let ev = RankingEvaluator(trainingLog: train, options: opts)
        let cases = [
            // History {0,1} excluded → ranking [2,3,4,…]; target 2 at rank 1.
            EvalCase(user: 0, history: [0, 1], targets: [2]),
            // History {2,3} excluded → ranking [0,1,4,5]; target 4 at rank 3.
            EvalCase(user: 1, history: [2, 3], targets: [4]),
        ]
        let r = try ev.evaluate(model, cases: cases)
        XCTAssertEqual(r.metrics["HR@1"]!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(r.metrics["HR@3"]!, 1, accuracy: 1e-12)
        XCTAssertEqual(r.metrics["NDCG@3"]!, (1 + 0.5) / 2, accuracy: 1e-12)
        XCTAssertEqual(r.metrics["MRR@3"]!, (1 + 1.0 / 3) / 2, accuracy: 1e-12)
        // Top-3 lists: [2,3,4] and [0,1,4] → 5 distinct of 6 items.
        XCTAssertEqual(r.metrics["Coverage@3"]!, 5.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(r.evaluationProtocol, "full")
        XCTAssertEqual(r.groups.map(\.users).reduce(0, +), 2)
    }

    func testBatchSizeAndThreadsDoNotChangeResults() throws {
        var rng = SeededRandom(seed: 7)
        let scores = (0..<50).map { _ in rng.nextFloat() }
        let model = FixedScores(scores)
        let pairs: [(Int, Int)] = (0..<40).map { u in (u, u % 50) }
        let train = log(items: 50, pairs: pairs)
        let cases: [EvalCase] = (0..<40).map { (u: Int) -> EvalCase in
            EvalCase(user: Int32(u), history: [Int32(u % 50)], targets: [Int32((u * 7) % 50)])
        }
        var a = EvaluationOptions(); a.showProgress = false; a.batchSize = 3
        var b = a; b.batchSize = 64
        let r1 = try RankingEvaluator(trainingLog: train, options: a).evaluate(model, cases: cases)
        let r2 = try RankingEvaluator(trainingLog: train, options: b).evaluate(model, cases: cases)
        XCTAssertEqual(r1.metrics, r2.metrics)
    }

    func testSampledProtocolIsLabelledAndEasierThanFull() throws {
        var rng = SeededRandom(seed: 3)
        let n = 500
        let model = FixedScores((0..<n).map { _ in rng.nextFloat() })
        let pairs: [(Int, Int)] = (0..<n).map { i in (i % 20, i) }
        let train = log(items: n, pairs: pairs)
        let cases: [EvalCase] = (0..<20).map { (u: Int) -> EvalCase in
            EvalCase(user: Int32(u), history: [Int32(u)], targets: [Int32(100 + u * 13)])
        }
        var full = EvaluationOptions(); full.showProgress = false
        var sampled = full; sampled.evaluationProtocol = .uniform(20)
        let rf = try RankingEvaluator(trainingLog: train, options: full).evaluate(model, cases: cases)
        let rs = try RankingEvaluator(trainingLog: train, options: sampled).evaluate(model, cases: cases)
        XCTAssertEqual(rs.evaluationProtocol, "uniform-20")
        XCTAssertGreaterThan(rs.metrics["HR@10"]!, rf.metrics["HR@10"]!)
        // Same seed → same sample.
        let rs2 = try RankingEvaluator(trainingLog: train, options: sampled).evaluate(model, cases: cases)
        XCTAssertEqual(rs.metrics, rs2.metrics)
    }

    func testAUserSampleIsSeededLabelledAndASubsetOfTheFullRun() throws {
        var rng = SeededRandom(seed: 4)
        let n = 300
        let model = FixedScores((0..<n).map { _ in rng.nextFloat() })
        let train = log(items: n, pairs: (0..<n).map { i in (i % 100, i) })
        // Case u hits (HR 1) exactly when u is even: its target is the top-scored unseen item.
        let top = (0..<n).max { model.scores[$0] < model.scores[$1] }!
        let bottom = (0..<n).min { model.scores[$0] < model.scores[$1] }!
        let cases: [EvalCase] = (0..<100).map { (u: Int) -> EvalCase in
            EvalCase(user: Int32(u), history: [Int32(u == top ? (u + 1) % n : u)], targets: [Int32(u % 2 == 0 ? top : bottom)])
        }
        var options = EvaluationOptions(); options.showProgress = false; options.sampleUsers = 30
        let a = try RankingEvaluator(trainingLog: train, options: options).evaluate(model, cases: cases)
        let b = try RankingEvaluator(trainingLog: train, options: options).evaluate(model, cases: cases)
        XCTAssertEqual(a.cases, 30)
        XCTAssertEqual(a.sampledFrom, 100)
        XCTAssertTrue(a.protocolExplanation.contains("SAMPLED USERS: 30 of 100 test users"), a.protocolExplanation)
        XCTAssertEqual(a.metrics, b.metrics)
        // A sample of the users, not all of them: HR@10 is a multiple of 1/30 between 0 and 1,
        // and not the full run's exact 0.5 unless the sample happens to be balanced.
        let hits = a.metrics["HR@10"]! * 30
        XCTAssertEqual(hits, hits.rounded(), accuracy: 1e-9)
        // Asking for more users than there are evaluates everyone, unlabelled.
        options.sampleUsers = 500
        let all = try RankingEvaluator(trainingLog: train, options: options).evaluate(model, cases: cases)
        XCTAssertEqual(all.cases, 100)
        XCTAssertNil(all.sampledFrom)
        XCTAssertEqual(all.metrics["HR@10"]!, 0.5, accuracy: 1e-9)
        options.sampleUsers = 0
        XCTAssertThrowsError(try RankingEvaluator(trainingLog: train, options: options).evaluate(model, cases: cases))
    }

    func testSampledTiesCountAgainstTheTarget() throws {
        // All scores equal: the target must rank after every sampled negative.
        let model = FixedScores([Float](repeating: 1, count: 30))
        let train = log(items: 30, pairs: [(0, 0)])
        var o = EvaluationOptions(); o.showProgress = false; o.ks = [5]; o.evaluationProtocol = .uniform(10)
        let r = try RankingEvaluator(trainingLog: train, options: o).evaluate(model, cases: [EvalCase(user: 0, history: [0], targets: [5])])
        XCTAssertEqual(r.metrics["HR@5"]!, 0)
    }

    func testEmptyCasesIsAnError() {
        let ev = RankingEvaluator(trainingLog: log(items: 3, pairs: [(0, 0)]))
        XCTAssertThrowsError(try ev.evaluate(FixedScores([1, 2, 3]), cases: []))
    }
}
