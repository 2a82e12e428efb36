import Foundation
import XCTest
import OsusumeCore
import OsusumeData
import OsusumeEval
@testable import OsusumeModels

/// The synthetic log's planted tastes are there to be found: a model of co-occurrence (EASE)
/// beats Popularity on it by a wide margin, under the usual leave-one-out protocol.
final class SyntheticStructureTests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }

    func testEASEFindsThePlantedTastesThatPopularityCannot() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("osusume-synth-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try SyntheticLog.write(SyntheticLogSpec(users: 800, items: 600, interactions: 48_000, seed: 3), to: dir)
        let log = try DatasetLoader.load(path: dir.path, format: "movielens-csv").log
        let split = try LeaveOneOutSplit().split(log)
        var o = EvaluationOptions()
        o.showProgress = false
        let evaluator = RankingEvaluator(trainingLog: split.train, options: o)
        let pop = Popularity(config: .init())
        try pop.fit(TrainingData(log: split.train))
        let ease = EASE(config: .init())
        try ease.fit(TrainingData(log: split.train))
        let popNDCG = try evaluator.evaluate(pop, cases: split.test).metrics["NDCG@10"]!
        let easeNDCG = try evaluator.evaluate(ease, cases: split.test).metrics["NDCG@10"]!
        XCTAssertGreaterThan(easeNDCG, 1.5 * popNDCG, "EASE \(easeNDCG) vs Popularity \(popNDCG)")
    }
}
