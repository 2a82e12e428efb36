import Foundation
import XCTest
import OsusumeCore
import OsusumeData
import OsusumeEval
import OsusumeModels
@testable import OsusumeNeural
import OsusumeTensor

/// LightGCN: the graph it propagates over, learning on planted clusters, fold-in of new
/// histories (exact for a training user's own history), save and load.
final class LightGCNTests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }

    func ndcg(_ model: any Recommender, _ log: InteractionLog, _ cases: [EvalCase]) throws -> Double {
        var o = EvaluationOptions(); o.showProgress = false; o.ks = [10]
        return try RankingEvaluator(trainingLog: log, options: o).evaluate(model, cases: cases).metrics["NDCG@10"]!
    }

    func testNormalisedAdjacencyIsSymmetricWithDegreeWeights() {
        // Users: 0 → items 0, 1; 1 → item 1. Item degrees 1 and 2.
        let a = LightGCN.normalisedAdjacency(userItems: [[0, 1], [1]], itemDegree: [1, 2]).dense()
        let s = Float(0.5).squareRoot()
        let expected: [[Float]] = [
            [0, 0, s, 0.5],
            [0, 0, 0, s],
            [s, 0, 0, 0],
            [0.5, s, 0, 0],
        ]
        for r in 0..<4 { for c in 0..<4 { XCTAssertEqual(a[r, c], expected[r][c], accuracy: 1e-6, "Â[\(r), \(c)]") } }
    }

    func testLearnsPlantedClustersFoldsInAndRoundTrips() throws {
        let data = AutoencoderPlantedData()
        let pop = Popularity(config: .init())
        try pop.fit(TrainingData(log: data.log))
        let popNDCG = try ndcg(pop, data.log, data.cases)
        let settings = ["dim": "16", "layers": "2", "epochs": "40", "batchSize": "256", "learningRate": "0.01", "patience": "0"]
        let model = try ModelKinds.all.make("lightgcn", settings: settings)
        try model.fit(TrainingData(log: data.log, seed: 3))
        let known = try ndcg(model, data.log, data.cases)
        print("lightgcn NDCG@10 \(known), popularity \(popNDCG)")
        XCTAssertGreaterThan(known, popNDCG + 0.1)
        // Strangers with the same histories: layer 0 is zero, the rest comes from the graph.
        let strangers = data.cases.map { EvalCase(user: Int32(1_000_000), history: $0.history, targets: $0.targets) }
        let folded = try ndcg(model, data.log, strangers)
        print("lightgcn folded-in NDCG@10 \(folded)")
        XCTAssertGreaterThan(folded, popNDCG + 0.1)
        // A training user's own history gives exactly the propagated embedding of the graph.
        let gcn = model as! LightGCN
        let user = Int32(5), history = data.log.sequences()[5]
        let direct = withoutGradients { () -> [Float] in
            let (final, _) = gcn.propagate(gcn.net!.table.weight)
            let d = gcn.config.dim, users = gcn.userCount, f = final.scalars
            return (0..<gcn.itemCount).map { i in (0..<d).reduce(Float(0)) { $0 + f[Int(user) * d + $1] * f[(users + i) * d + $1] } }
        }
        let scored = model.score(ScoringQuery(user: user, history: history))
        for i in 0..<gcn.itemCount { XCTAssertEqual(scored[i], direct[i], accuracy: 1e-4) }
        // A grown history moves the scores.
        XCTAssertNotEqual(model.score(ScoringQuery(user: user, history: history + [history[0] == 0 ? 1 : 0])), scored)

        let copy = try ModelKinds.all.make("lightgcn", configJSON: JSONEncoder().encode(model.configJSON))
        try copy.restore(SafeTensors(data: try model.state().encoded()))
        for q in [ScoringQuery(user: 3, history: data.log.sequences()[3]), ScoringQuery(history: [1, 2, 3])] {
            XCTAssertEqual(copy.score(q), model.score(q))
        }
        XCTAssertThrowsError(try ModelKinds.all.make("lightgcn", settings: ["layers": "-1"]).fit(TrainingData(log: data.log)))
        XCTAssertThrowsError(try ModelKinds.all.make("lightgcn", settings: ["initStd": "0"]).fit(TrainingData(log: data.log)))
        // A configuration saved before a setting existed loads with today's default for it; a
        // wrong type is still an error.
        let older = try ModelKinds.all.make("lightgcn", configJSON: Data(#"{"dim": 8, "layers": 2}"#.utf8)) as! LightGCN
        XCTAssertEqual(older.config.dim, 8)
        XCTAssertEqual(older.config.layers, 2)
        XCTAssertEqual(older.config.initStd, LightGCN.Config().initStd)
        XCTAssertThrowsError(try ModelKinds.all.make("lightgcn", configJSON: Data(#"{"dim": "wide"}"#.utf8)))
    }
}
