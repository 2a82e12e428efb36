import XCTest
import OsusumeCore
import OsusumeData
import OsusumeEval
@testable import OsusumeModels

final class ModelsTests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }

    func ndcg(_ model: any Recommender, _ data: PlantedData) throws -> Double {
        try model.fit(TrainingData(log: data.log))
        var o = EvaluationOptions(); o.showProgress = false
        return try RankingEvaluator(trainingLog: data.log, options: o).evaluate(model, cases: data.cases).metrics["NDCG@10"]!
    }

    func testEveryPersonalModelBeatsPopularityOnPlantedData() throws {
        let data = PlantedData()
        let pop = try ndcg(Popularity(config: .init()), data)
        for kind in ["itemknn", "ease"] {
            let m = try ModelKinds.standard.make(kind)
            let v = try ndcg(m, data)
            // A random in-cluster guess gets about 10/25 of HR@10; popularity gets ~0.
            XCTAssertGreaterThan(v, pop + 0.1, "\(kind) NDCG@10 \(v) vs popularity \(pop)")
        }
    }

    func testPopularityOrdersByCountAndDecay() throws {
        var log = InteractionLog()
        log.append(user: "a", item: "x", timestamp: 0, rating: nil)
        log.append(user: "b", item: "x", timestamp: 0, rating: nil)
        log.append(user: "a", item: "y", timestamp: 86_400 * 10, rating: nil)
        log.hasTimestamps = true
        let p = Popularity(config: .init())
        try p.fit(TrainingData(log: log))
        XCTAssertEqual(p.scores, [2, 1])
        var c = Popularity.Config(); c.halfLifeDays = 1
        let d = Popularity(config: c)
        try d.fit(TrainingData(log: log))
        // x's two interactions are 10 half-lives old: 2 · 2^-10 < 1.
        XCTAssertEqual(d.scores[0], 2 * powf(2, -10), accuracy: 1e-7)
        XCTAssertEqual(d.scores[1], 1, accuracy: 1e-7)
    }

    func testNewestPrefersLaterIntroductions() throws {
        var log = InteractionLog()
        log.append(user: "a", item: "old", timestamp: 10, rating: nil)
        log.append(user: "a", item: "new", timestamp: 50, rating: nil)
        log.append(user: "b", item: "mid", timestamp: 30, rating: nil)
        log.append(user: "b", item: "old", timestamp: 60, rating: nil)
        log.hasTimestamps = true
        let n = Newest(config: .init())
        try n.fit(TrainingData(log: log))
        XCTAssertEqual(TopK.select(n.scores, k: 3).map { log.itemIDs.id(of: $0) }, ["new", "mid", "old"])
    }

    func testEASEMatchesClosedFormByHand() throws {
        // 4 users × 3 items; compare B with a Double-precision solve of the same problem.
        var log = InteractionLog()
        for (u, i) in [(0, 0), (0, 1), (1, 1), (1, 2), (2, 0), (2, 2), (3, 0), (3, 1), (3, 2)] {
            log.append(user: "u\(u)", item: "i\(i)")
        }
        var c = EASE.Config(); c.lambda = 0.5
        let ease = EASE(config: c)
        try ease.fit(TrainingData(log: log))
        // G = XᵀX + λI computed by hand: counts 3,3,3 on the diagonal; co-counts 2 everywhere.
        let g: [[Double]] = [[3.5, 2, 2], [2, 3.5, 2], [2, 2, 3.5]]
        let p = invert3(g)
        for i in 0..<3 {
            for j in 0..<3 {
                let expected = i == j ? 0 : -p[i][j] / p[j][j]
                XCTAssertEqual(Double(ease.weights[i * 3 + j]), expected, accuracy: 1e-5, "B[\(i),\(j)]")
            }
        }
        // Explanation = B[h, item] per history item.
        let contrib = ease.contributions(of: 2, for: ScoringQuery(history: [0, 1]))
        XCTAssertEqual(contrib[0], ease.weights[0 * 3 + 2], accuracy: 1e-7)
        XCTAssertEqual(contrib[1], ease.weights[1 * 3 + 2], accuracy: 1e-7)
    }

    func testEASEDualFormEqualsPrimal() throws {
        // 30 users, 120 items: the dual (Woodbury) path must give the same B as the primal one.
        let data = PlantedData(users: 30, clusters: 4, itemsPerCluster: 30, perUser: 12)
        var cp = EASE.Config(); cp.solver = "primal"; cp.lambda = 5
        var cd = cp; cd.solver = "dual"
        let p = EASE(config: cp), d = EASE(config: cd)
        try p.fit(TrainingData(log: data.log)); try d.fit(TrainingData(log: data.log))
        XCTAssertEqual(p.weights.count, d.weights.count)
        var worst: Float = 0
        for i in 0..<p.weights.count { worst = max(worst, abs(p.weights[i] - d.weights[i])) }
        XCTAssertLessThan(worst, 1e-4)
        XCTAssertGreaterThan(p.weights.map(abs).max()!, 0.01, "the comparison must not be between zeros")
    }

    func testEASEPrimalWithUsersSplitAcrossThreadsEqualsDual() throws {
        // Over 1,024 users the primal Gram matrix is summed from per-thread partials.
        let data = PlantedData(users: 1_100, clusters: 4, itemsPerCluster: 20, perUser: 10)
        Threads.count = 2
        var cp = EASE.Config(); cp.solver = "primal"; cp.lambda = 20
        var cd = cp; cd.solver = "dual"
        let p = EASE(config: cp), d = EASE(config: cd)
        try p.fit(TrainingData(log: data.log)); try d.fit(TrainingData(log: data.log))
        var worst: Float = 0
        for i in 0..<p.weights.count { worst = max(worst, abs(p.weights[i] - d.weights[i])) }
        XCTAssertLessThan(worst, 1e-3)
        XCTAssertGreaterThan(p.weights.map(abs).max()!, 0.01)
    }

    func testSparseGramEqualsDenseGramAndHandCount() throws {
        // Upper triangle of XᵀX: the sparse per-item-row path must equal ssyrk and a direct count.
        let data = PlantedData(users: 300, clusters: 5, itemsPerCluster: 16, perUser: 14)
        let x = data.log.csr(), n = data.log.itemCount
        Threads.count = 2
        let sparse = ItemGram.sparseUpper(x, n: n), dense = ItemGram.denseUpper(x, n: n)
        var byHand = [Float](repeating: 0, count: n * n)
        for u in 0..<x.rows { for a in x.row(u) { for b in x.row(u) where b >= a { byHand[Int(a) * n + Int(b)] += 1 } } }
        for i in 0..<n {
            for j in i..<n {
                XCTAssertEqual(sparse[i * n + j], byHand[i * n + j], "G[\(i),\(j)]")
                XCTAssertEqual(dense[i * n + j], byHand[i * n + j], "G[\(i),\(j)]")
            }
        }
        XCTAssertGreaterThan(byHand.max()!, 5)
    }

    func invert3(_ m: [[Double]]) -> [[Double]] {
        let a = m[0][0], b = m[0][1], c = m[0][2], d = m[1][0], e = m[1][1], f = m[1][2], g = m[2][0], h = m[2][1], i = m[2][2]
        let det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
        return [
            [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
            [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
            [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
        ]
    }

    func testItemKNNCosineByHand() throws {
        // Users: {0,1}, {0,1}, {0,2}, {1}. Co-counts: c01 = 2, c02 = 1, c12 = 0; n = 3, 3, 1.
        var log = InteractionLog()
        for (u, i) in [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 2), (3, 1)] { log.append(user: "u\(u)", item: "i\(i)") }
        var c = ItemKNN.Config(); c.neighbours = 5; c.shrink = 1
        let knn = ItemKNN(config: c)
        try knn.fit(TrainingData(log: log))
        let n0 = Dictionary(uniqueKeysWithValues: knn.neighbours(of: 0).map { ($0.item, $0.similarity) })
        XCTAssertEqual(n0[1]!, 2 / (3 + 1), accuracy: 1e-6)
        XCTAssertEqual(n0[2]!, 1 / (Float(3).squareRoot() + 1), accuracy: 1e-6)
        XCTAssertTrue(knn.neighbours(of: 2).allSatisfy { $0.item != 1 }, "no co-occurrence, no neighbour")
        // Score of item 2 for history {0, 1} = sim(0,2) + sim(1,2) = sim(0,2).
        let s = knn.score(ScoringQuery(history: [0, 1]))
        XCTAssertEqual(s[2], n0[2]!, accuracy: 1e-6)
        // Neighbour cap.
        var c1 = ItemKNN.Config(); c1.neighbours = 1
        let k1 = ItemKNN(config: c1)
        try k1.fit(TrainingData(log: log))
        XCTAssertEqual(k1.neighbours(of: 0).map(\.item), [1])
        // Jaccard: c01 / (n0 + n1 − c01) = 2 / 4.
        var cj = ItemKNN.Config(); cj.similarity = "jaccard"
        let kj = ItemKNN(config: cj)
        try kj.fit(TrainingData(log: log))
        XCTAssertEqual(kj.neighbours(of: 0).first { $0.item == 1 }!.similarity, 0.5, accuracy: 1e-6)
    }

    func testConfigSettingsParseByTypeAndRejectUnknownKeys() throws {
        let c = try EASE.Config().applying(["lambda": "500", "maxItems": "1000"])
        XCTAssertEqual(c.lambda, 500); XCTAssertEqual(c.maxItems, 1000)
        XCTAssertThrowsError(try EASE.Config().applying(["lamda": "1"])) { e in
            XCTAssertTrue("\(e)".contains("unknown setting 'lamda'"))
        }
        XCTAssertThrowsError(try EASE.Config().applying(["maxItems": "many"]))
        let k = try ItemKNN.Config().applying(["similarity": "jaccard", "neighbours": "20"])
        XCTAssertEqual(k.similarity, "jaccard"); XCTAssertEqual(k.neighbours, 20)
        XCTAssertThrowsError(try ModelKinds.standard.make("nosuchmodel"))
    }

    func testTrainedModelRoundTripsThroughFiles() throws {
        let data = PlantedData(users: 40, clusters: 4, itemsPerCluster: 10)
        var catalog = Catalog()
        catalog.upsert(CatalogItem(id: "i0", title: "Café Lumière (2003)", genres: ["Drama"], year: 2003))
        catalog.upsert(CatalogItem(id: "i1", title: "Matrix, The (1999)"))
        catalog.upsert(CatalogItem(id: "i2", title: "Matrix Reloaded, The (2003)"))
        let dataset = Dataset(name: "planted", format: "test", log: data.log, catalog: catalog)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("osusume-model-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        for kind in ["pop", "newest", "itemknn", "ease"] {
            let trained = try TrainedModel.fit(try ModelKinds.standard.make(kind), dataset: dataset)
            try trained.save(to: dir)
            let loaded = try TrainedModel.load(from: dir, kinds: ModelKinds.standard)
            XCTAssertEqual(loaded.manifest.kind, kind)
            XCTAssertEqual(loaded.itemIDs, trained.itemIDs)
            XCTAssertEqual(loaded.histories, trained.histories)
            let q = ScoringQuery(history: [1, 2, 3])
            XCTAssertEqual(loaded.model.score(q), trained.model.score(q), kind)
            if let ease = loaded.model as? EASE {
                // Served from the mapped weights file, not a copy in this process.
                XCTAssertTrue(ease.weights.isMapped)
                XCTAssertFalse((trained.model as! EASE).weights.isMapped)
            }
            // Titles resolve without case or accents, with or without the year.
            XCTAssertEqual(try loaded.resolveItem("cafe lumiere"), 0)
            XCTAssertEqual(try loaded.resolveItem("Café Lumière (2003)"), 0)
            XCTAssertThrowsError(try loaded.resolveItem("no such film"))
            XCTAssertEqual(try loaded.resolveItem("The Matrix"), 1)
            XCTAssertEqual(try loaded.resolveItem("matrix reloaded"), 2)
            XCTAssertThrowsError(try loaded.resolveItem("Matrix")) { e in XCTAssertTrue("\(e)".contains("2 titles")) }
        }
        // A kind the application did not include is an error naming the file and the kinds it has.
        XCTAssertThrowsError(try TrainedModel.load(from: dir, kinds: ModelKinds([Popularity.self, ItemKNN.self]))) { e in
            XCTAssertTrue("\(e)".contains("manifest.json") && "\(e)".contains("unknown model 'ease'") && "\(e)".contains("itemknn, pop"), "\(e)")
        }
        XCTAssertNotNil(try TrainedModel.load(from: dir, kinds: ModelKinds([Popularity.self]).adding([EASE.self])))
        // A damaged file is a clear error, not a crash.
        try Data("{".utf8).write(to: dir.appendingPathComponent("manifest.json"))
        XCTAssertThrowsError(try TrainedModel.load(from: dir, kinds: ModelKinds.standard)) { e in XCTAssertTrue("\(e)".contains("manifest")) }
    }
}
