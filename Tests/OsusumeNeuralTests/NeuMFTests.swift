import XCTest
import OsusumeCore
import OsusumeData
import OsusumeEval
import OsusumeModels
@testable import OsusumeNeural
import OsusumeTensor

final class NeuMFTests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }

    let small = [
        "gmfDim": "8", "mlpLayers": "16,8", "featureDim": "4", "epochs": "12", "batchSize": "128",
        "learningRate": "0.01", "patience": "0",
    ]

    func ndcg(_ model: any Recommender, _ training: TrainingData, _ cases: [EvalCase]) throws -> Double {
        try model.fit(training)
        var o = EvaluationOptions(); o.showProgress = false
        return try RankingEvaluator(trainingLog: training.log, options: o).evaluate(model, cases: cases).metrics["NDCG@10"]!
    }

    func testNeuMFBeatsPopularityAndFastScoringEqualsPairLogits() throws {
        let data = AutoencoderPlantedData()
        let training = TrainingData(log: data.log, seed: 3)
        let pop = try ndcg(Popularity(config: .init()), training, data.cases)
        let model = try XCTUnwrap(try ModelKinds.all.make("neumf", settings: small) as? NeuMF)
        let v = try ndcg(model, training, data.cases)
        XCTAssertGreaterThan(v, pop + 0.1, "NeuMF NDCG@10 \(v) vs popularity \(pop)")
        XCTAssertFalse(model.canScoreNewUsers)

        // The scorer splits the first MLP layer into user and item halves; it must agree with
        // the training path's logits for the same pairs.
        let net = try XCTUnwrap(model.net)
        net.eval()
        for c in data.cases.prefix(5) {
            let fast = model.score(ScoringQuery(user: c.user, history: c.history))
            let items = (0..<Int32(model.itemCount)).map { $0 }
            let pairs = withoutGradients {
                net.logits(
                    users: IndexTensor([Int32](repeating: c.user, count: items.count)), items: IndexTensor(items),
                    userFeatures: nil, itemFeatures: nil, branch: .joint
                ).scalars
            }
            for i in 0..<items.count { XCTAssertEqual(fast[i], pairs[i], accuracy: 1e-4) }
        }
        // A query without a user gets no scores (the evaluator and server never send one).
        XCTAssertTrue(model.score(ScoringQuery(history: data.cases[0].history)).allSatisfy { $0 == 0 })
    }

    func testSideFeaturesTrainSaveAndReload() throws {
        let data = AutoencoderPlantedData(users: 240, clusters: 6, itemsPerCluster: 20)
        // Planted side information: each user's cluster as a feature, each item's cluster as a genre,
        // and a 3-dimensional vector per item from a file.
        var users: [String: [String: String]] = [:]
        for u in 0..<240 { users["u\(u)"] = ["cluster": "\(u % 6)", "zip": "\(10_000 + u)"] }
        var catalog = Catalog()
        var vectors = ""
        for i in 0..<(6 * 20 + 10) {
            let c = i < 120 ? "c\(i / 20)" : "popular"
            catalog.upsert(CatalogItem(id: "i\(i)", title: "Item \(i)", genres: [c], year: 1990 + i % 20))
            vectors += "i\(i) \(Float(i % 7) / 7) \(i < 120 ? Float(i / 20) / 6 : 1) 0.5\n"
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("neumf-vectors-\(UUID()).txt")
        defer { try? FileManager.default.removeItem(at: file) }
        try vectors.write(to: file, atomically: true, encoding: .utf8)
        let training = TrainingData(log: data.log, catalog: catalog, userFeatures: users, seed: 5)
        let pop = try ndcg(Popularity(config: .init()), training, data.cases)
        let model = try XCTUnwrap(try ModelKinds.all.make("neumf", settings: small.merging(["itemVectors": file.path]) { $1 }) as? NeuMF)
        let v = try ndcg(model, training, data.cases)
        XCTAssertGreaterThan(v, pop + 0.1, "NeuMF with features NDCG@10 \(v) vs popularity \(pop)")
        let state = try model.state()
        // 6 cluster values (zip has 240 values and is left out); 7 genres + 2 decades + 3 vector columns.
        XCTAssertEqual(try state.tensor("features.user").shape, [240, 6])
        XCTAssertEqual(try state.tensor("features.item").shape, [130, 12])
        XCTAssertNil(state.tensors.keys.first { $0.hasPrefix("adam.") }, "model files carry no optimizer state")
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("neumf-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try state.write(to: url)
        let copy = try ModelKinds.all.make("neumf", configJSON: JSONEncoder().encode(model.configJSON))
        try copy.restore(SafeTensors(contentsOf: url))
        for c in data.cases.prefix(10) {
            let q = ScoringQuery(user: c.user, history: c.history)
            XCTAssertEqual(copy.score(q), model.score(q))
        }
    }

    func testPretrainingThenJointTraining() throws {
        let data = AutoencoderPlantedData(users: 200)
        let training = TrainingData(log: data.log, seed: 9)
        let pop = try ndcg(Popularity(config: .init()), training, data.cases)
        // GMF alone and MLP alone for 12 epochs each, then one joint epoch from both.
        let model = try ModelKinds.all.make("neumf", settings: small.merging(["pretrainEpochs": "12", "epochs": "1"]) { $1 })
        let v = try ndcg(model, training, data.cases)
        XCTAssertGreaterThan(v, pop + 0.1, "pretrained NeuMF NDCG@10 \(v) vs popularity \(pop)")
    }

    func testBadItemVectorsAndHeldOutUsersAreRefusedClearly() throws {
        let data = AutoencoderPlantedData(users: 120)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("neumf-bad-\(UUID()).txt")
        defer { try? FileManager.default.removeItem(at: file) }
        try "i1 0.5 0.25\ni2 0.5\n".write(to: file, atomically: true, encoding: .utf8)
        let model = try ModelKinds.all.make("neumf", settings: small.merging(["itemVectors": file.path]) { $1 })
        XCTAssertThrowsError(try model.fit(TrainingData(log: data.log))) { e in
            XCTAssertTrue("\(e)".contains("line 2") && "\(e)".contains("1 values where earlier lines have 2"), "\(e)")
        }
        let dataset = Dataset(name: "planted", format: "test", log: data.log)
        let split = try HeldOutUsersSplit(validationUsers: .users(10), testUsers: .users(10)).split(data.log)
        var o = EvaluationOptions(); o.showProgress = false
        XCTAssertThrowsError(try Experiment.run(ModelKinds.all.make("neumf", settings: small), dataset: dataset, split: split, options: o)) { e in
            XCTAssertTrue("\(e)".contains("scores only users it was trained on"), "\(e)")
        }
    }
}
