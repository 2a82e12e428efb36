import XCTest
import OsusumeCore
import OsusumeData
import OsusumeModels
@testable import OsusumeEval

/// End to end on the bundled MovieLens ml-latest-small: import, leave-one-out, fit, evaluate.
final class BundledDataTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testEASEBeatsPopularityOnBundledMovieLens() throws {
        ProgressReporter.quietByDefault = true
        let dataset = try DatasetLoader.load(path: Self.root.appendingPathComponent("data/ml-latest-small").path)
        XCTAssertEqual(dataset.log.count, 100_836)
        let split = try LeaveOneOutSplit().split(dataset.log)
        XCTAssertEqual(split.test.count, 610)
        var options = EvaluationOptions(); options.showProgress = false
        var ndcg: [String: Double] = [:]
        // (ItemKNN is left out: its fit is plain Swift loops, slow in debug builds; it is tested on
        // planted data in OsusumeModelsTests.)
        for kind in ["pop", "ease"] {
            let r = try Experiment.run(try ModelKinds.standard.make(kind), dataset: dataset, split: split, options: options)
            ndcg[kind] = r.report.metrics["NDCG@10"]
            XCTAssertEqual(r.report.cases, 610)
        }
        // Popularity is deterministic: pin it (full ranking, history excluded).
        XCTAssertEqual(ndcg["pop"]!, 0.0188, accuracy: 0.0005)
        XCTAssertGreaterThan(ndcg["ease"]!, ndcg["pop"]! * 1.5)
    }

    /// `evaluate --save` then `evaluate --load`: the saved fit scores exactly as the fresh one,
    /// and a saved model refuses a split it was not fitted on.
    func testSavedFitEvaluatesAsTheFreshOneOnlyOnItsSplit() throws {
        ProgressReporter.quietByDefault = true
        let dataset = try DatasetLoader.load(path: Self.root.appendingPathComponent("data/ml-latest-small").path)
        let split = try LeaveOneOutSplit().split(dataset.log)
        var options = EvaluationOptions(); options.showProgress = false
        let model = try ModelKinds.standard.make("pop")
        let fresh = try Experiment.run(model, dataset: dataset, split: split, options: options)
        var summarySet = dataset
        summarySet.log = split.train
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("osusume-load-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try TrainedModel(
            model: model, itemIDs: dataset.log.itemIDs, userIDs: dataset.log.userIDs,
            histories: split.train.sequences(), catalog: dataset.catalog,
            manifest: ModelManifest(
                kind: "pop", config: model.configJSON, dataset: FittedDataSummary(summarySet),
                fitSeconds: fresh.fitSeconds)
        ).save(to: dir)
        let saved = try TrainedModel.load(from: dir, kinds: ModelKinds.standard)
        XCTAssertNoThrow(try saved.requireFitted(on: split.train))
        let again = try Experiment.run(saved.model, dataset: dataset, split: split, options: options, alreadyFitted: true)
        XCTAssertEqual(again.report.metrics, fresh.report.metrics)
        // Another split of the same data (a different training part) is refused.
        let other = try TemporalSplit().split(dataset.log)
        XCTAssertThrowsError(try saved.requireFitted(on: other.train))
    }
}
