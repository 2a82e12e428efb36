import XCTest
import OsusumeCore
import OsusumeData
import OsusumeEval
import OsusumeModels
import OsusumeNeural
import OsusumeTensor

final class AutoencoderTests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }

    func ndcg(_ model: any Recommender, _ data: AutoencoderPlantedData) throws -> Double {
        try model.fit(TrainingData(log: data.log, seed: 7))
        var o = EvaluationOptions(); o.showProgress = false
        return try RankingEvaluator(trainingLog: data.log, options: o).evaluate(model, cases: data.cases).metrics["NDCG@10"]!
    }

    /// Scores of `model` and of a copy restored from its state must be identical.
    func assertRoundTrip(_ model: any Recommender, _ data: AutoencoderPlantedData, file: StaticString = #filePath, line: UInt = #line) throws {
        let state = try model.state()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ae-\(type(of: model).kind)-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try state.write(to: url)
        let copy = try ModelKinds.all.make(type(of: model).kind, configJSON: JSONEncoder().encode(model.configJSON))
        try copy.restore(SafeTensors(contentsOf: url))
        XCTAssertEqual(copy.itemCount, model.itemCount, file: file, line: line)
        for c in data.cases.prefix(20) {
            let q = ScoringQuery(user: c.user, history: c.history, ratings: c.historyRatings)
            XCTAssertEqual(copy.score(q), model.score(q), "\(type(of: model).kind) scores differ after reload", file: file, line: line)
        }
    }

    func testDenseAutoencodersAndPureSVDBeatPopularityOnPlantedData() throws {
        let data = AutoencoderPlantedData()
        let pop = try ndcg(Popularity(config: .init()), data)
        var results: [String: Double] = [:]
        let small = ["hiddenDims": "64,16", "epochs": "40", "batchSize": "64", "learningRate": "0.003"]
        let models: [(String, [String: String])] = [
            ("puresvd", ["factors": "8"]),
            ("multidae", small),
            ("multivae", small.merging(["annealSteps": "500"]) { $1 }),
            ("recvae", ["hiddenDim": "64", "latentDim": "16", "epochs": "15", "batchSize": "64", "learningRate": "0.003"]),
            ("multitaskdae", small),
        ]
        for (kind, settings) in models {
            let model = try ModelKinds.all.make(kind, settings: settings)
            let v = try ndcg(model, data)
            results[kind] = v
            // A random in-cluster guess gets about 10/25 of HR@10; popularity gets ~0.
            XCTAssertGreaterThan(v, pop + 0.1, "\(kind) NDCG@10 \(v) vs popularity \(pop)")
            try assertRoundTrip(model, data)
            if let e = model as? any ExplainableRecommender, let c = data.cases.first {
                let contrib = e.contributions(of: c.targets[0], for: ScoringQuery(history: c.history))
                XCTAssertEqual(contrib.count, c.history.count)
                XCTAssertTrue(contrib.allSatisfy { $0.isFinite })
            }
        }
        print("planted NDCG@10: popularity \(pop), \(results)")
    }

    func testOutOfRangeNoiseSettingsAreRefusedByName() throws {
        let data = AutoencoderPlantedData(users: 50, seed: 9)
        for (kind, key) in [("multivae", "epsilonStd"), ("multitaskdae", "bottleneckNoise")] {
            let model = try ModelKinds.all.make(kind, settings: [key: "-1", "epochs": "1"])
            XCTAssertThrowsError(try model.fit(TrainingData(log: data.log))) { e in
                XCTAssertTrue("\(e)".contains(key), "\(kind): \(e)")
            }
        }
    }

    func testMultVAEWithRecBolesBoundedLatentLearnsAndRoundTrips() throws {
        let data = AutoencoderPlantedData()
        let pop = try ndcg(Popularity(config: .init()), data)
        let base = ["hiddenDims": "64,16", "epochs": "40", "batchSize": "64", "learningRate": "0.003", "annealSteps": "500"]
        let bounded = try ModelKinds.all.make("multivae", settings: base.merging(["boundedLatent": "true", "epsilonStd": "0.01"]) { $1 })
        let v = try ndcg(bounded, data)
        XCTAssertGreaterThan(v, pop + 0.1, "bounded multivae NDCG@10 \(v) vs popularity \(pop)")
        try assertRoundTrip(bounded, data)
        // The setting changes the model: same seed, other scores.
        let plain = try ModelKinds.all.make("multivae", settings: base.merging(["epsilonStd": "0.01"]) { $1 })
        _ = try ndcg(plain, data)
        let q = ScoringQuery(history: data.cases[0].history)
        XCTAssertNotEqual(bounded.score(q), plain.score(q))
    }

    func testMultVAEAnnealsBetaToCap() throws {
        var c = MultVAE.Config()
        c.hiddenDims = [16, 4]; c.epochs = 3; c.batchSize = 50; c.annealSteps = 10; c.betaCap = 0.3
        let m = MultVAE(config: c)
        XCTAssertEqual(m.beta, 0)
        try m.fit(TrainingData(log: AutoencoderPlantedData(users: 200).log))
        // 3 epochs × 4 batches = 12 updates > 10 annealing steps: β is at the cap.
        XCTAssertEqual(m.beta, 0.3, accuracy: 1e-6)
        XCTAssertEqual(m.trainingCurve?.epochs.count, 3)
    }
}
