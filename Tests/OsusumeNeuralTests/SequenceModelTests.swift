import XCTest
import OsusumeCore
import OsusumeData
import OsusumeEval
import OsusumeModels
@testable import OsusumeNeural
import OsusumeTensor

final class SequenceModelTests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }

    /// Small shapes that train in seconds in a debug build.
    static let small: [String: String] = [
        "maxLength": "20", "dim": "32", "blocks": "1", "heads": "1", "feedForward": "32", "dropout": "0.1",
        "batchSize": "64", "learningRate": "0.005", "epochs": "20", "patience": "0",
    ]

    func hr10(_ model: any Recommender, _ data: SequencePlantedData, fit: Bool = true) throws -> Double {
        if fit { try model.fit(TrainingData(log: data.log, catalog: data.catalog, seed: 7)) }
        var o = EvaluationOptions(); o.showProgress = false; o.ks = [10]
        return try RankingEvaluator(trainingLog: data.log, options: o).evaluate(model, cases: data.cases).metrics["HR@10"]!
    }

    func make(_ kind: String, _ settings: [String: String]) throws -> any Recommender {
        return try ModelKinds.all.make(kind, settings: Self.small.merging(settings) { $1 })
    }

    /// Scores of `model` and of a copy restored from its saved state must be identical.
    func assertRoundTrip(_ model: any Recommender, _ data: SequencePlantedData, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("seq-\(type(of: model).kind)-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try model.state().write(to: url)
        let copy = try ModelKinds.all.make(type(of: model).kind, configJSON: JSONEncoder().encode(model.configJSON))
        try copy.restore(SafeTensors(contentsOf: url))
        XCTAssertEqual(copy.itemCount, model.itemCount, file: file, line: line)
        for c in data.cases.prefix(10) {
            let q = ScoringQuery(user: c.user, history: c.history)
            XCTAssertEqual(copy.score(q), model.score(q), "\(type(of: model).kind) scores differ after reload", file: file, line: line)
        }
    }

    /// An ad-hoc history following the planted rule (a new user, no retraining) should rank the
    /// rule's next item first.
    func assertFollowsRule(_ model: any Recommender, file: StaticString = #filePath, line: UInt = #line) {
        let history: [Int32] = [40, 41, 42, 43, 44]
        let scores = model.score(ScoringQuery(user: nil, history: history))
        // History items are excluded by the caller, as the evaluator does.
        let top = scores.indices.filter { !history.contains(Int32($0)) }.max { scores[$0] < scores[$1] }!
        XCTAssertEqual(top, 45, "top item for 40…44", file: file, line: line)
    }

    func testSASRecLearnsPlantedTransitionsWithEachLoss() throws {
        let data = SequencePlantedData()
        let pop = try hr10(Popularity(config: .init()), data)
        let cases: [(String, [String: String])] = [
            ("ce", [:]), ("ce", ["labelSmoothing": "0"]), ("bce", ["epochs": "30", "learningRate": "0.01"]),
            ("sampled-ce", ["negatives": "20"]), ("sampled-ce", ["negatives": "20", "negativeSampling": "row"]),
            ("sampled-ce", ["negatives": "20", "popularityShare": "0"]),
            // gBCE leaves its starting plateau (all logits pushed down together) much later on
            // this small log: more, smaller steps.
            ("gbce", ["negatives": "20", "batchSize": "16", "epochs": "60"]),
            // "auto" above sampledAbove items: the sampled softmax.
            ("auto", ["sampledAbove": "50", "negatives": "20"]),
        ]
        for (loss, extra) in cases {
            let t0 = Date()
            let model = try make("sasrec", extra.merging(["loss": loss]) { $1 })
            let hr = try hr10(model, data)
            print("sasrec loss=\(loss) \(extra): HR@10 \(hr) (popularity \(pop)) in \(String(format: "%.1f", Date().timeIntervalSince(t0)))s")
            XCTAssertGreaterThan(hr, 0.6, "sasrec \(loss)")
            XCTAssertGreaterThan(hr, pop + 0.4, "sasrec \(loss)")
            assertFollowsRule(model)
        }
    }

    func testSASRecPostLNWithoutPositionsLearns() throws {
        let data = SequencePlantedData()
        let model = try make("sasrec", ["queryNorm": "false", "normFirst": "false", "positions": "false", "activation": "relu"])
        let hr = try hr10(model, data)
        XCTAssertGreaterThan(hr, 0.6)
        try assertRoundTrip(model, data)
    }

    /// Also the original left-padded position numbering (counted back from the window's end).
    func testSASRecPreLNWithGELULearns() throws {
        let data = SequencePlantedData()
        let model = try make("sasrec", ["queryNorm": "false", "normFirst": "true", "activation": "gelu", "positionsFromStart": "false"])
        let hr = try hr10(model, data)
        XCTAssertGreaterThan(hr, 0.6)
        try assertRoundTrip(model, data)
    }

    /// LiGR's gated blocks with a SwiGLU feed-forward, and HSTU's blocks: each learns, beats
    /// popularity, follows the rule for an ad-hoc history and reloads; an unknown layer kind is
    /// rejected by name.
    func testSASRecWithLiGRAndHSTULayersLearns() throws {
        let data = SequencePlantedData()
        let pop = try hr10(Popularity(config: .init()), data)
        for layers in ["ligr", "hstu"] {
            let t0 = Date()
            let model = try make("sasrec", ["layers": layers])
            let hr = try hr10(model, data)
            print("sasrec layers=\(layers): HR@10 \(hr) (popularity \(pop)) in \(String(format: "%.1f", Date().timeIntervalSince(t0)))s")
            XCTAssertGreaterThan(hr, 0.6, layers)
            XCTAssertGreaterThan(hr, pop + 0.4, layers)
            assertFollowsRule(model)
            try assertRoundTrip(model, data)
        }
        XCTAssertThrowsError(try hr10(make("sasrec", ["layers": "mamba"]), data)) {
            XCTAssertTrue("\($0)".contains("layers must be transformer, ligr or hstu, got 'mamba'"), "\($0)")
        }
    }

    func testBERT4RecLearnsPlantedTransitions() throws {
        let data = SequencePlantedData()
        let pop = try hr10(Popularity(config: .init()), data)
        let t0 = Date()
        // A constant rate on this small data (the default cosine decay is tuned for ML-1M).
        let model = try make(
            "bert4rec",
            [
                "heads": "2", "epochs": "30", "maskProbability": "0.3", "lastMaskProbability": "0.2",
                "schedule": "constant",
            ])
        let hr = try hr10(model, data)
        print("bert4rec: HR@10 \(hr) (popularity \(pop)) in \(String(format: "%.1f", Date().timeIntervalSince(t0)))s")
        XCTAssertGreaterThan(hr, 0.5)
        XCTAssertGreaterThan(hr, pop + 0.3)
        assertFollowsRule(model)
        try assertRoundTrip(model, data)
    }

    func testBERT4RecLearnsWithSampledSoftmax() throws {
        let data = SequencePlantedData()
        let pop = try hr10(Popularity(config: .init()), data)
        let model = try make(
            "bert4rec",
            [
                "heads": "2", "epochs": "40", "maskProbability": "0.3", "lastMaskProbability": "0.2",
                "schedule": "constant", "loss": "sampled-ce", "negatives": "50",
            ])
        let hr = try hr10(model, data)
        print("bert4rec loss=sampled-ce: HR@10 \(hr) (popularity \(pop))")
        XCTAssertGreaterThan(hr, 0.5)
        XCTAssertGreaterThan(hr, pop + 0.3)
        try assertRoundTrip(model, data)
    }

    /// The shared negatives follow the mixture they claim, and logQ is the log of each draw's
    /// expected count.
    func testNegativeSamplerFollowsItsMixture() {
        let counts = [90, 9, 0, 1] // popularity weights (count + 1): 91, 10, 1, 2 of 104
        let sampler = NegativeSampler(itemCounts: counts, popularityShare: 0.5)
        var rng = SeededRandom(seed: 5)
        var seen = [Double](repeating: 0, count: 4)
        let draws = 400, k = 100
        for _ in 0..<draws {
            let (tokens, logQ) = sampler.sample(k, rng: &rng)
            XCTAssertEqual(tokens.count, k)
            for (t, q) in zip(tokens, logQ) {
                let item = Int(t) - 1
                seen[item] += 1
                let expected = 0.5 / 4 + 0.5 * Double(counts[item] + 1) / 104
                XCTAssertEqual(Double(q), log(Double(k) * expected), accuracy: 1e-5)
            }
        }
        for i in 0..<4 {
            let expected = 0.5 / 4 + 0.5 * Double(counts[i] + 1) / 104
            XCTAssertEqual(seen[i] / Double(draws * k), expected, accuracy: 0.01, "item \(i)")
        }
    }

    func testLossSettingsAreResolvedAndChecked() throws {
        // gSASRec's β: 1 at t = 0 (plain BCE), α at t = 1.
        XCTAssertEqual(SequenceLoss.gbceBeta(t: 0, negatives: 256, itemCount: 3417), 1, accuracy: 1e-6)
        XCTAssertEqual(SequenceLoss.gbceBeta(t: 1, negatives: 256, itemCount: 3417), Float(256.0 / 3416), accuracy: 1e-6)
        XCTAssertEqual(SequenceLoss.gbceBeta(t: 0.75, negatives: 256, itemCount: 3417), Float(0.75 * 256 / 3416 + 0.25), accuracy: 1e-6)
        func resolve(_ name: String, items: Int, negatives: Int = 10, t: Double = 0.75) throws -> SequenceLoss? {
            try SequenceLoss.resolve(name, model: "m", itemCount: items, sampledAbove: 100, negatives: negatives, gbceT: t)
        }
        XCTAssertEqual(try resolve("auto", items: 100), .full)
        XCTAssertEqual(try resolve("auto", items: 101), .sampledSoftmax)
        XCTAssertEqual(try resolve("ce", items: 1000), .full)
        XCTAssertEqual(try resolve("gbce", items: 10), .gbce(t: 0.75))
        XCTAssertThrowsError(try resolve("softmax", items: 10))
        XCTAssertThrowsError(try resolve("sampled-ce", items: 10, negatives: 0))
        XCTAssertThrowsError(try resolve("gbce", items: 10, t: 1.5))
        let data = SequencePlantedData(users: 20)
        let training = TrainingData(log: data.log, catalog: data.catalog, seed: 1)
        XCTAssertThrowsError(try make("sasrec", ["loss": "bpr"]).fit(training))
        XCTAssertThrowsError(try make("sasrec", ["loss": "sampled-ce", "negativeSampling": "user"]).fit(training))
        XCTAssertThrowsError(try make("bert4rec", ["loss": "bce"]).fit(training))
    }

    func testLabelSmoothingIsTheSmoothedSoftmaxAndIsChecked() throws {
        // The full-softmax loss with ε must be the smoothed cross-entropy of the logits h · tableᵀ,
        // rows without a target (-100) left out.
        var rng = SeededRandom(seed: 5)
        let rows = 6, dim = 4, tokens = 9
        let hidden = Tensor(shape: [rows, dim], scalars: (0..<(rows * dim)).map { _ in rng.nextFloat() - 0.5 })
        let table = Tensor(shape: [tokens, dim], scalars: (0..<(tokens * dim)).map { _ in rng.nextFloat() - 0.5 })
        let targets = IndexTensor([3, -100, 1, 8, 2, -100])
        func loss(_ epsilon: Float) -> Float {
            let f = SequenceLossFunction(
                loss: .full, itemCounts: [Int](repeating: 1, count: tokens - 1), negatives: 1, groupRows: 1,
                popularityShare: 0, chunkRows: 4, labelSmoothing: epsilon)
            return f(hidden: hidden, table: table, bias: nil, targets: targets, negatives: nil).item
        }
        let logits = matmul(hidden, table, transposeB: true)
        XCTAssertEqual(loss(0.1), crossEntropy(logits, targets, labelSmoothing: 0.1).item, accuracy: 1e-5)
        XCTAssertEqual(loss(0), crossEntropy(logits, targets).item, accuracy: 1e-5)
        XCTAssertGreaterThan(abs(loss(0.1) - loss(0)), 1e-3)
        XCTAssertEqual(try SequenceLoss.smoothing(0.2, unset: 0.1, loss: .full, model: "m"), 0.2)
        XCTAssertEqual(try SequenceLoss.smoothing(0, unset: 0.1, loss: .full, model: "m"), 0)
        // Unset: the model's ε with the full softmax, none with the sampled losses.
        XCTAssertEqual(try SequenceLoss.smoothing(nil, unset: 0.1, loss: .full, model: "m"), 0.1)
        XCTAssertEqual(try SequenceLoss.smoothing(nil, unset: 0.1, loss: .sampledSoftmax, model: "m"), 0)
        XCTAssertEqual(try SequenceLoss.smoothing(0, unset: 0.1, loss: .sampledSoftmax, model: "m"), 0)
        XCTAssertThrowsError(try SequenceLoss.smoothing(1, unset: 0, loss: .full, model: "m"))
        XCTAssertThrowsError(try SequenceLoss.smoothing(-0.1, unset: 0, loss: .full, model: "m"))
        XCTAssertThrowsError(try SequenceLoss.smoothing(.nan, unset: 0, loss: .full, model: "m"))
        // An optional setting is set by its declared type (a nil `Double?` is no Bool).
        XCTAssertNil(SASRec.Config().labelSmoothing)
        XCTAssertEqual(try SASRec.Config().applying(["labelSmoothing": "0.2"]).labelSmoothing, 0.2)
        XCTAssertThrowsError(try SASRec.Config().applying(["labelSmoothing": "true"]))
        // Unset, it is still listed (null), so that `tune` and manifests see the setting.
        XCTAssertTrue(SASRec.Config().dictionary()["labelSmoothing"] is NSNull)
        guard case .object(let json) = SASRec.Config().jsonValue() else { return XCTFail("config is not an object") }
        XCTAssertEqual(json["labelSmoothing"], .null)
        XCTAssertEqual(json["blocks"], .number(4))
        let data = SequencePlantedData(users: 20)
        let training = TrainingData(log: data.log, catalog: data.catalog, seed: 1)
        for settings in [["loss": "gbce"], ["loss": "bce"], ["loss": "sampled-ce"], ["labelSmoothing": "1"]] {
            XCTAssertThrowsError(try make("sasrec", settings.merging(["labelSmoothing": "0.1"]) { a, _ in a }).fit(training))
        }
        XCTAssertThrowsError(try make("bert4rec", ["loss": "sampled-ce", "labelSmoothing": "0.1"]).fit(training))
    }

    func testBERT4RecWithGenresAndNoPositions() throws {
        let data = SequencePlantedData()
        let model = try make(
            "bert4rec",
            [
                "genres": "true", "positions": "false", "epochs": "30",
                "maskProbability": "0.3", "lastMaskProbability": "0.2",
            ])
        let hr = try hr10(model, data)
        print("bert4rec genres, no positions: HR@10 \(hr)")
        XCTAssertGreaterThan(hr, 0.3)
        try assertRoundTrip(model, data)
    }

    /// An interrupted run resumed from its checkpoint ends with the same weights (same scores,
    /// bit for bit) as an uninterrupted one.
    func testCheckpointResumeContinuesTheSameRun() throws {
        let data = SequencePlantedData(users: 120)
        let dirA = FileManager.default.temporaryDirectory.appendingPathComponent("seq-ckpt-a-\(UUID())")
        let dirB = FileManager.default.temporaryDirectory.appendingPathComponent("seq-ckpt-b-\(UUID())")
        defer { try? FileManager.default.removeItem(at: dirA); try? FileManager.default.removeItem(at: dirB) }
        for dir in [dirA, dirB] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        // The interruption is simulated by a 2-epoch run; a decaying schedule spans `epochs`, so
        // it would differ from the 4-epoch run's first half: use a constant rate here.
        for kind in ["sasrec", "bert4rec"] {
            let full = try make(kind, ["epochs": "4", "schedule": "constant"])
            try full.fit(TrainingData(log: data.log, checkpointDirectory: dirA, seed: 11))
            let interrupted = try make(kind, ["epochs": "2", "schedule": "constant"])
            try interrupted.fit(TrainingData(log: data.log, checkpointDirectory: dirB, seed: 11))
            let resumed = try make(kind, ["epochs": "4", "schedule": "constant"])
            try resumed.fit(TrainingData(log: data.log, checkpointDirectory: dirB, seed: 11))
            let curve = (resumed as! any EpochTrainable).trainingCurve
            XCTAssertEqual(curve?.resumedFromEpoch, 2, kind)
            XCTAssertEqual(curve?.epochs.count, 4, kind)
            for c in data.cases.prefix(5) {
                let q = ScoringQuery(history: c.history)
                XCTAssertEqual(resumed.score(q), full.score(q), "\(kind): resumed run differs from the uninterrupted one")
            }
        }
    }

    func testWindowsCoverLongHistories() {
        let seq: [Int32] = Array(0..<25)
        // SASRec-style windows of 10 inputs + 1 target, sharing one item: every transition once.
        let w = SequenceWindows.make([seq], size: 11, step: 10, minimum: 2, allWindows: true).map(\.tokens)
        var transitions = Set<[Int32]>()
        for tokens in w { for j in 1..<tokens.count { XCTAssertTrue(transitions.insert([tokens[j - 1], tokens[j]]).inserted) } }
        XCTAssertEqual(transitions.count, 24)
        XCTAssertTrue(w.allSatisfy { $0.count <= 11 })
    }

    /// Left-padded rows: positions count back from the window's end by default, and from each
    /// row's first token with `fromStart` (padding slots get 0 and are masked anyway).
    func testPaddedBatchPositionNumbering() {
        let rows: [[Int32]] = [[5, 6], [7, 8, 9]]
        let back = PaddedBatch(rows, maxLength: 4)
        XCTAssertEqual(back.tokens.values, [0, 5, 6, 7, 8, 9])
        XCTAssertEqual(back.keep, [false, true, true, true, true, true])
        XCTAssertEqual(back.positions.values, [1, 2, 3, 1, 2, 3])
        let start = PaddedBatch(rows, maxLength: 4, fromStart: true)
        XCTAssertEqual(start.tokens.values, back.tokens.values)
        XCTAssertEqual(start.positions.values, [0, 0, 1, 0, 1, 2])
    }

    /// The warm-up is at most a tenth of training: the requested steps on a long run, fewer on a
    /// short one, so the learning rate reaches its peak either way.
    func testWarmupIsAtMostATenthOfTraining() throws {
        XCTAssertEqual(SequenceSupport.effectiveWarmup(200, totalSteps: 3400), 200)
        XCTAssertEqual(SequenceSupport.effectiveWarmup(200, totalSteps: 400), 40)
        XCTAssertEqual(SequenceSupport.effectiveWarmup(0, totalSteps: 400), 0)
        let short = try SequenceSupport.schedule("cosine", learningRate: 1, warmup: 200, totalSteps: 100, model: "sasrec")
        XCTAssertEqual(short.rate(at: 0), 0.1, accuracy: 1e-6)
        XCTAssertEqual(short.rate(at: 9), 1, accuracy: 1e-6)
        let long = try SequenceSupport.schedule("cosine", learningRate: 1, warmup: 200, totalSteps: 3400, model: "sasrec")
        XCTAssertEqual(long.rate(at: 99), 0.5, accuracy: 1e-6)
        XCTAssertEqual(long.rate(at: 199), 1, accuracy: 1e-6)
        XCTAssertThrowsError(try SequenceSupport.schedule("cosine", learningRate: 1, warmup: -1, totalSteps: 100, model: "sasrec"))
    }
}
