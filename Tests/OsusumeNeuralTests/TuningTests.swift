import Foundation
import XCTest
import OsusumeCore
import OsusumeData
import OsusumeEval
import OsusumeModels
@testable import OsusumeNeural

/// `tune`: ranges parse and sample within bounds; selection reads only the validation part;
/// models trained by epochs go through successive halving.
final class TuningTests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }

    func testSearchSpaceParsesAndSamplesWithinBounds() throws {
        let space = try SearchSpace.parse(["lambda=10:1000:log", "dropout=0.1:0.5", "factors=8:64:int", "n=1:100:logint", "kind=a|b|c"])
        var rng = SeededRandom(seed: 1)
        var kinds = Set<String>()
        for _ in 0..<300 {
            let s = space.sample(&rng)
            XCTAssert((10...1000).contains(Double(s["lambda"]!)!))
            XCTAssert((0.1...0.5).contains(Double(s["dropout"]!)!))
            XCTAssert((8...64).contains(Int(s["factors"]!)!))
            XCTAssert((1...100).contains(Int(s["n"]!)!))
            kinds.insert(s["kind"]!)
        }
        XCTAssertEqual(kinds, ["a", "b", "c"])
        for bad in ["lambda", "lambda=5:1", "lambda=0:10:log", "lambda=1:10:cubic", "=1:2"] {
            XCTAssertThrowsError(try SearchSpace.parse([bad]), bad)
        }
    }

    /// Every default range names a kind that exists and settings that kind has.
    func testDefaultRangesMatchTheModelsSettings() throws {
        var covered = 0
        for kind in ModelKinds.all.names {
            guard let space = SearchSpace.defaults(for: kind) else { continue }
            let settings = try ModelKinds.all.make(kind, settings: [:]).configDictionary
            for key in space.dimensions.keys { XCTAssertNotNil(settings[key], "\(kind) has no setting \(key)") }
            covered += 1
        }
        XCTAssertEqual(covered, 12, "kinds with default ranges")
    }

    func testSelectionReadsOnlyTheValidationPart() throws {
        let data = AutoencoderPlantedData()
        var split = try LeaveOneOutSplit().split(data.log)
        split.test = [] // tuning must not need it
        let dataset = Dataset(name: "planted", format: "test", log: data.log)
        let result = try Tuner.run(
            kind: "ease", kinds: ModelKinds.all, dataset: dataset, split: split,
            space: SearchSpace(["lambda": .range(1, 2000, .log)]), budgetSeconds: 600, maxTrials: 6)
        XCTAssertEqual(result.trials.count, 6)
        XCTAssertEqual(result.trials[0].settings, [:], "trial 0 is the defaults")
        XCTAssertEqual(result.method, "random search")
        let best = result.trials.map(\.validationNDCG10).max()!
        XCTAssertEqual(result.trials[result.winner].validationNDCG10, best)
        XCTAssertGreaterThanOrEqual(best, result.trials[0].validationNDCG10)
        XCTAssertEqual(result.settings["lambda"], result.trials[result.winner].settings["lambda"])
        // A model without the setting is refused before any fit.
        XCTAssertThrowsError(
            try Tuner.run(
                kind: "pop", kinds: ModelKinds.all, dataset: dataset, split: split, space: SearchSpace(["lambda": .range(1, 2, .log)]),
                budgetSeconds: 60))
    }

    func testEpochModelsGoThroughSuccessiveHalving() throws {
        let data = AutoencoderPlantedData(users: 150)
        let split = try LeaveOneOutSplit().split(data.log)
        let dataset = Dataset(name: "planted", format: "test", log: data.log)
        let result = try Tuner.run(
            kind: "multidae", kinds: ModelKinds.all, dataset: dataset, split: split,
            space: SearchSpace(["learningRate": .range(1e-3, 1e-2, .log)]),
            fixed: ["epochs": "9", "hiddenDims": "32", "patience": "0"], budgetSeconds: 600, maxTrials: 13)
        // One bracket: 9 fits of 1 epoch, the best 3 for 3 epochs, the best one for 9.
        XCTAssertEqual(result.trials.map(\.epochs), [Int](repeating: 1, count: 9) + [3, 3, 3, 9])
        XCTAssertEqual(result.trials.map(\.rung), [Int](repeating: 0, count: 9) + [1, 1, 1, 2])
        let rung0 = result.trials.prefix(9).sorted { $0.validationNDCG10 > $1.validationNDCG10 }.prefix(3).map(\.settings)
        XCTAssertEqual(Set(result.trials[9..<12].map { $0.settings["learningRate"] ?? "default" }), Set(rung0.map { $0["learningRate"] ?? "default" }))
        XCTAssertEqual(result.winner, 12)
        XCTAssertEqual(result.settings["epochs"], "9")
        XCTAssertEqual(result.trials[12].curve.count, 9, "validation NDCG@10 after each epoch")
    }
}
