import Foundation
import XCTest
import OsusumeCore
import OsusumeData
import OsusumeEval
import OsusumeModels

// The model and the steps of the DocC article "Adding a model" (OsusumeModels.docc), kept
// here so the article's code is compiled and run: if this test breaks, so does the article.

/// Scores an item by how often it shares a user's history with each item of the history,
/// divided by its popularity to the power `alpha` (so the ubiquitous do not always win).
public final class CoVisitation: Recommender {
    public struct Config: ModelConfig {
        /// 0 keeps raw counts; 1 divides by the item's popularity.
        public var alpha: Double = 0.5
        public init() {}
    }
    public static let kind = "covisit"
    public let config: Config
    public private(set) var itemCount = 0
    /// itemCount × itemCount, row a: how strongly each item goes with item a.
    private var weights: [Float] = []

    public init(config: Config) { self.config = config }

    public func fit(_ data: TrainingData) throws {
        let log = data.log, n = log.itemCount
        guard n > 0, log.count > 0 else { throw OsusumeError.emptyData("covisit: no interactions to fit") }
        guard config.alpha >= 0 else { throw OsusumeError.invalidArgument("covisit: alpha must be ≥ 0") }
        var w = [Float](repeating: 0, count: n * n)
        var popularity = [Float](repeating: 0, count: n)
        for history in log.sequences() {
            let items = Set(history)
            for a in items {
                popularity[Int(a)] += 1
                for b in items where b != a { w[Int(a) * n + Int(b)] += 1 }
            }
        }
        for b in 0..<n where popularity[b] > 0 {
            let scale = 1 / pow(popularity[b], Float(config.alpha))
            for a in 0..<n { w[a * n + b] *= scale }
        }
        weights = w
        itemCount = n
    }

    public func score(_ queries: [ScoringQuery], into scores: UnsafeMutablePointer<Float>) {
        let n = itemCount
        for (q, query) in queries.enumerated() {
            let row = scores + q * n
            row.initialize(repeating: 0, count: n)
            for h in Set(query.history).sorted() where h >= 0 && Int(h) < n {
                for j in 0..<n { row[j] += weights[Int(h) * n + j] }
            }
        }
    }

    public func state() throws -> SafeTensors {
        var st = SafeTensors()
        st.set("weights", floats: weights, shape: [itemCount, itemCount])
        return st
    }

    public func restore(_ state: SafeTensors) throws {
        let (values, shape) = try state.floats("weights")
        guard shape.count == 2, shape[0] == shape[1] else {
            throw OsusumeError.modelFile("covisit: weights must be square, got \(shape)")
        }
        weights = values
        itemCount = shape[0]
    }
}

final class AddAModelGuideTests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }

    func testTheArticleSteps() throws {
        // 1. The application's model list, with the new kind.
        let kinds = ModelKinds.standard.adding([CoVisitation.self])
        XCTAssertTrue(kinds.names.contains("covisit"))

        // 2. Evaluate it against popularity under one protocol (full ranking, history excluded):
        // the article's leave-one-out split runs, and on the planted hold-out (each user's
        // target is an unseen item of their taste cluster) co-visitation must learn the clusters.
        let planted = PlantedData()
        let dataset = Dataset(name: "planted", format: "synthetic", log: planted.log)
        let looSplit = try SplitSpec(name: "leave-one-out").splitter().split(dataset.log)
        let plantedSplit = SplitResult(name: "planted hold-out", train: planted.log, validation: [], test: planted.cases)
        var options = EvaluationOptions()
        options.ks = [10]
        var ndcg: [String: Double] = [:]
        for kind in ["covisit", "pop"] {
            let model = try kinds.make(kind, settings: kind == "covisit" ? ["alpha": "0.5"] : [:])
            let loo = try Experiment.run(model, dataset: dataset, split: looSplit, options: options)
            XCTAssertNotNil(loo.report.metrics[RankingMetric.ndcg.at(10)])
            let result = try Experiment.run(try kinds.make(kind), dataset: dataset, split: plantedSplit, options: options)
            ndcg[kind] = result.report.metrics[RankingMetric.ndcg.at(10)]
        }
        XCTAssertGreaterThan(ndcg["covisit"]!, 2 * ndcg["pop"]!, "\(ndcg)")

        // 3. Fit on everything, save, load back with the same list, recommend.
        let trained = try TrainedModel.fit(try kinds.make("covisit"), dataset: dataset)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("osusume-covisit-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try trained.save(to: dir)
        let loaded = try TrainedModel.load(from: dir, kinds: kinds)
        XCTAssertEqual(loaded.manifest.kind, "covisit")
        let history = trained.histories[0]
        XCTAssertEqual(loaded.recommend(history: history, k: 5).map(\.item), trained.recommend(history: history, k: 5).map(\.item))
        XCTAssertEqual(loaded.similar(to: history[0], k: 3).count, 3)

        // A list without the kind cannot load it, and says so.
        XCTAssertThrowsError(try TrainedModel.load(from: dir, kinds: .standard)) { e in
            XCTAssertTrue("\(e)".contains("unknown model 'covisit'"), "\(e)")
        }
        // A bad setting is an error naming the key.
        XCTAssertThrowsError(try kinds.make("covisit", settings: ["alpah": "1"])) { e in XCTAssertTrue("\(e)".contains("alpah")) }
    }
}
