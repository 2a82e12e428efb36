import Foundation
import XCTest
import OsusumeCore
import OsusumeData
import OsusumeEval
@testable import OsusumeModels

/// Neighbourhood EASE: with every item as a neighbour it is EASE exactly (each column of EASE
/// is that ridge regression); with few neighbours it still learns, saves and explains.
final class LocalEASETests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }

    func testWithAllItemsAsNeighboursItEqualsEASE() throws {
        var rng = SeededRandom(seed: 11)
        var log = InteractionLog()
        let items = 14
        // One user with everything (every pair co-occurs), the rest random.
        for i in 0..<items { log.append(user: "all", item: "i\(i)") }
        for u in 0..<40 {
            var seen = Set<Int>()
            for _ in 0..<6 {
                let i = rng.nextInt(items)
                if seen.insert(i).inserted { log.append(user: "u\(u)", item: "i\(i)") }
            }
        }
        var ec = EASE.Config(); ec.lambda = 2
        let ease = EASE(config: ec)
        try ease.fit(TrainingData(log: log))
        var lc = LocalEASE.Config(); lc.lambda = 2; lc.neighbours = items
        let local = LocalEASE(config: lc)
        try local.fit(TrainingData(log: log))
        XCTAssertEqual(local.weights.count, items * (items - 1))
        for h: [Int32] in [[0], [1, 5, 9], [2, 3, 4, 13]] {
            let a = ease.score(ScoringQuery(history: h)), b = local.score(ScoringQuery(history: h))
            for j in 0..<items { XCTAssertEqual(a[j], b[j], accuracy: 1e-4 * max(1, abs(a[j])), "history \(h), item \(j)") }
        }
        // Explanations: B[h, item] per history item, as EASE's.
        XCTAssertEqual(
            local.contributions(of: 7, for: ScoringQuery(history: [1, 2])), ease.contributions(of: 7, for: ScoringQuery(history: [1, 2])),
            accuracy: 1e-4)
    }

    func testFewNeighboursLearnThePlantedStructureAndRoundTrip() throws {
        let data = PlantedData()
        var o = EvaluationOptions()
        o.showProgress = false
        let evaluator = RankingEvaluator(trainingLog: data.log, options: o)
        let pop = Popularity(config: .init())
        try pop.fit(TrainingData(log: data.log))
        var c = LocalEASE.Config(); c.neighbours = 20
        let local = LocalEASE(config: c)
        try local.fit(TrainingData(log: data.log))
        XCTAssertLessThanOrEqual(local.weights.count, data.log.itemCount * 20)
        let popNDCG = try evaluator.evaluate(pop, cases: data.cases).metrics["NDCG@10"]!
        let localNDCG = try evaluator.evaluate(local, cases: data.cases).metrics["NDCG@10"]!
        XCTAssertGreaterThan(localNDCG, 1.5 * popNDCG, "localease \(localNDCG) vs pop \(popNDCG)")
        let copy = LocalEASE(config: c)
        try copy.restore(try local.state())
        let q = ScoringQuery(history: [1, 2, 3])
        XCTAssertEqual(copy.score(q), local.score(q))
        var broken = try local.state()
        broken.set("columns", int32s: [Int32](repeating: 9999, count: local.columns.count), shape: [local.columns.count])
        XCTAssertThrowsError(try LocalEASE(config: c).restore(broken))
    }
}

private func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
