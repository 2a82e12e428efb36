import XCTest
import OsusumeCore
import OsusumeData
@testable import OsusumeEval
@testable import OsusumeModels

/// A model with one fixed score row per user.
final class PerUserScores: Recommender {
    struct Config: ModelConfig { init() {} }
    static let kind = "peruser"
    let config = Config()
    var rows: [[Float]]
    init(config: Config) { rows = [] }
    init(_ rows: [[Float]]) { self.rows = rows }
    var itemCount: Int { rows.first?.count ?? 0 }
    func fit(_ data: TrainingData) throws {}
    func score(_ queries: [ScoringQuery], into out: UnsafeMutablePointer<Float>) {
        for (r, q) in queries.enumerated() { for i in 0..<itemCount { out[r * itemCount + i] = rows[Int(q.user!)][i] } }
    }
    func state() throws -> SafeTensors { SafeTensors() }
    func restore(_ state: SafeTensors) throws {}
}

/// The ensemble scores as the server's blend does, and the weight search ranks as the evaluator
/// ranks, reads only the cases it is given, and finds a blend better than either member when each
/// member knows half of the answer.
final class BlendSearchTests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }

    /// Planted: 120 users, 60 items. Member "a" puts the target far ahead for even users and is
    /// noise for odd ones; member "b" the other way round. Histories are 3 items the members also
    /// score highly (so masking matters).
    func planted() -> (a: PerUserScores, b: PerUserScores, cases: [EvalCase], log: InteractionLog) {
        let users = 120, items = 60
        var rng = SeededRandom(seed: 11)
        var a: [[Float]] = [], b: [[Float]] = [], cases: [EvalCase] = []
        var log = InteractionLog()
        for i in 0..<items { _ = log.itemIDs.intern("i\(i)") }
        for u in 0..<users {
            let target = Int32(rng.nextInt(items))
            var history: [Int32] = []
            while history.count < 3 {
                let h = Int32(rng.nextInt(items))
                if h != target && !history.contains(h) { history.append(h) }
            }
            var ra = (0..<items).map { _ in rng.nextFloat() }, rb = (0..<items).map { _ in rng.nextFloat() }
            if u % 2 == 0 { ra[Int(target)] = 4 } else { rb[Int(target)] = 4 }
            for h in history { ra[Int(h)] = 9; rb[Int(h)] = 9 }
            a.append(ra); b.append(rb)
            cases.append(EvalCase(user: Int32(u), history: history, targets: [target]))
            for h in history { log.append(user: "u\(u)", item: "i\(h)") }
        }
        return (PerUserScores(a), PerUserScores(b), cases, log)
    }

    func testSimplexGridCoversTheCornersAndSumsToOne() {
        let grid = BlendSearch.simplexGrid(members: 3, step: 0.5)
        XCTAssertEqual(grid.count, 6)
        for w in grid { XCTAssertEqual(w.reduce(0, +), 1, accuracy: 1e-12) }
        for corner in [[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]] { XCTAssert(grid.contains(corner), "\(corner)") }
        XCTAssertEqual(BlendSearch.simplexGrid(members: 2, step: 0.05).count, 21)
    }

    func testSearchFindsTheBlendAndRanksAsTheEvaluator() throws {
        let (a, b, cases, log) = planted()
        let result = try BlendSearch.run(members: [("a", a), ("b", b)], validation: cases, step: 0.1)
        XCTAssertEqual(result.trials.count, 33)
        XCTAssertEqual(result.validationCases, cases.count)
        XCTAssertNil(result.sampledFrom)
        var options = EvaluationOptions(); options.ks = [10]; options.showProgress = false
        let evaluator = RankingEvaluator(trainingLog: log, options: options)
        // A member alone in the search scores what the evaluator measures for it.
        let aAlone = try evaluator.evaluate(a, cases: cases).metrics["NDCG@10"]!
        let bAlone = try evaluator.evaluate(b, cases: cases).metrics["NDCG@10"]!
        XCTAssertEqual(result.trials.first { $0.weights == [1, 0] }!.validationNDCG10, aAlone, accuracy: 1e-9)
        XCTAssertEqual(result.trials.first { $0.weights == [0, 1] }!.validationNDCG10, bAlone, accuracy: 1e-9)
        // Each member alone gets about half the users right; the blend nearly all.
        let winner = result.trials[result.winner]
        XCTAssertGreaterThan(winner.validationNDCG10, max(aAlone, bAlone) + 0.3)
        XCTAssert(winner.weights.allSatisfy { $0 > 0 }, "both members weigh: \(winner.blend)")
        // The ensemble built from the chosen blend measures, through the evaluator, what the search saw.
        let ensemble = try Ensemble(members: ["a": a, "b": b], blend: WeightedBlend(spec: result.blend))
        XCTAssertEqual(try evaluator.evaluate(ensemble, cases: cases).metrics["NDCG@10"]!, winner.validationNDCG10, accuracy: 1e-6)
    }

    func testEnsembleScoresAreTheServersBlendOfMaskedRows() throws {
        let (a, b, cases, _) = planted()
        let blend = try WeightedBlend(spec: "a:0.3,b:0.7;norm=minmax")
        let ensemble = try Ensemble(members: ["b": b, "a": a], blend: blend)
        XCTAssertEqual(ensemble.config.blend, "a:0.3,b:0.7;norm=minmax")
        let c = cases[5]
        let q = ScoringQuery(user: c.user, history: c.history)
        var ra = a.score(q), rb = b.score(q)
        TopK.exclude(c.history, from: &ra); TopK.exclude(c.history, from: &rb)
        var expected = [Float](repeating: 0, count: a.itemCount)
        ra.withUnsafeBufferPointer { pa in
            rb.withUnsafeBufferPointer { pb in expected.withUnsafeMutableBufferPointer { _ = blend.combine([pa, pb], count: a.itemCount, into: $0.baseAddress!) } }
        }
        let got = ensemble.score(q)
        for h in c.history { XCTAssertEqual(got[Int(h)], -.infinity) }
        for i in 0..<got.count where !c.history.contains(Int32(i)) { XCTAssertEqual(got[i], expected[i], accuracy: 1e-6) }
        // `expected` normalised the masked rows: had the history (scored 9) stayed in the
        // statistics, every candidate would differ. The odd user's target leads through b.
        XCTAssertEqual(TopK.select(got, k: 1), [c.targets[0]])
    }

    func testEnsembleRefusesWhatItCannotDo() throws {
        let (a, b, cases, _) = planted()
        XCTAssertThrowsError(try Ensemble(members: ["a": a], blend: WeightedBlend(spec: "a:0.5,c:0.5")))
        XCTAssertThrowsError(try Ensemble(config: .init()).fit(TrainingData(log: InteractionLog())))
        let ensemble = try Ensemble(members: ["a": a, "b": b], blend: WeightedBlend(spec: "a,b"))
        XCTAssertThrowsError(try ensemble.state())
        XCTAssertThrowsError(try BlendSearch.run(members: [("a", a)], validation: cases))
        XCTAssertThrowsError(try BlendSearch.run(members: [("a", a), ("b", b)], validation: []))
    }

    func testLargeScoreMatricesSearchASeededSampleOfCases() throws {
        let (a, b, cases, _) = planted()
        let bytes = 40 * 60 * 2 * MemoryLayout<Float>.size
        let first = try BlendSearch.run(members: [("a", a), ("b", b)], validation: cases, step: 0.5, maxScoreBytes: bytes)
        let again = try BlendSearch.run(members: [("a", a), ("b", b)], validation: cases, step: 0.5, maxScoreBytes: bytes)
        XCTAssertEqual(first.validationCases, 40)
        XCTAssertEqual(first.sampledFrom, cases.count)
        XCTAssertEqual(first.trials.map(\.validationNDCG10), again.trials.map(\.validationNDCG10))
    }

    func testSeededSampleIsASubsetInOrderAndRepeats() {
        let cases = (0..<50).map { EvalCase(user: Int32($0), history: [], targets: [Int32($0 % 7)]) }
        let sample = EvalCase.seededSample(cases, count: 12, seed: 9)
        XCTAssertEqual(sample.count, 12)
        let users = sample.map(\.user)
        XCTAssertEqual(users, users.sorted())
        XCTAssertEqual(Set(users).count, 12)
        XCTAssertEqual(sample, EvalCase.seededSample(cases, count: 12, seed: 9))
        XCTAssertNotEqual(users, EvalCase.seededSample(cases, count: 12, seed: 10).map(\.user))
        XCTAssertEqual(EvalCase.seededSample(cases, count: 80, seed: 9), cases)
    }
}
