import Foundation
import XCTest
import OsusumeCore
import OsusumeData
import OsusumeEval
import OsusumeKernels
@testable import OsusumeModels

/// ALS and BPR: the solver and the update checked against hand-computed references, learning on
/// planted data, fold-in of new histories, save and load.
final class FactorModelTests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }

    /// Solves a small dense system in Double (Gaussian elimination with partial pivoting).
    func solve(_ a: [[Double]], _ b: [Double]) -> [Double] {
        var m = a, y = b
        let n = b.count
        for c in 0..<n {
            let p = (c..<n).max { abs(m[$0][c]) < abs(m[$1][c]) }!
            m.swapAt(c, p); y.swapAt(c, p)
            for r in (c + 1)..<n {
                let f = m[r][c] / m[c][c]
                for k in c..<n { m[r][k] -= f * m[c][k] }
                y[r] -= f * y[c]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            var s = y[r]
            for k in (r + 1)..<n { s -= m[r][k] * x[k] }
            x[r] = s / m[r][r]
        }
        return x
    }

    /// Runs `body` once for each vector instruction set this CPU has (portable, AVX2, AVX-512),
    /// then restores the default.
    func forEachSIMDLevel(_ body: (String) throws -> Void) rethrows {
        let initial = osk_simd_level()
        defer { _ = osk_set_simd_level(initial) }
        var seen = Set<Int32>()
        for level: Int32 in [0, 2, 3] {
            let got = osk_set_simd_level(level)
            if seen.insert(got).inserted { try body("simd level \(got)") }
        }
    }

    func testALSConjugateGradientSolvesTheWeightedLeastSquares() {
        // Factor counts that take the kernels' scalar tail only (4) and their vector loops plus a
        // tail (37) at every vector width.
        forEachSIMDLevel { level in
            for f in [4, 37] { checkConjugateGradient(factors: f, level) }
        }
    }

    func checkConjugateGradient(factors f: Int, _ level: String) {
        // 6 items; a user with items 1, 3, 4 (values 1, 2, 1), alpha 3, λ 0.5.
        let n = 6, alpha: Float = 3, lambda: Float = 0.5
        var rng = SeededRandom(seed: 7)
        let y = (0..<(n * f)).map { _ in rng.nextFloat() - 0.5 }
        let items: [Int32] = [1, 3, 4], values: [Float] = [1, 2, 1]
        let gram = ALS.gram(y, rows: n, factors: f, regularization: lambda)
        // Reference: A = YᵀY + λI + Σ (cᵢ − 1) yᵢyᵢᵀ, b = Σ cᵢ yᵢ.
        var a = (0..<f).map { r in (0..<f).map { c in Double(gram[r * f + c]) } }
        var b = [Double](repeating: 0, count: f)
        for (e, i) in items.enumerated() {
            let c = 1 + Double(alpha * values[e])
            for r in 0..<f {
                b[r] += c * Double(y[Int(i) * f + r])
                for k in 0..<f { a[r][k] += (c - 1) * Double(y[Int(i) * f + r]) * Double(y[Int(i) * f + k]) }
            }
        }
        let expected = solve(a, b)
        var x = [Float](repeating: 0, count: f), scratch = [Float](repeating: 0, count: 3 * f)
        // f steps of CG solve an f-dimensional system exactly (up to rounding).
        ALS.conjugateGradient(
            x: &x, gram: gram, other: y, items: items, values: values, count: items.count,
            alpha: alpha, factors: f, steps: f, scratch: &scratch)
        for d in 0..<f { XCTAssertEqual(Double(x[d]), expected[d], accuracy: 1e-4 * max(1, abs(expected[d])), "\(level), f \(f), x[\(d)]") }
        // Fewer steps from the solution stay there.
        ALS.conjugateGradient(
            x: &x, gram: gram, other: y, items: items, values: values, count: items.count,
            alpha: alpha, factors: f, steps: 2, scratch: &scratch)
        for d in 0..<f { XCTAssertEqual(Double(x[d]), expected[d], accuracy: 1e-4 * max(1, abs(expected[d])), "\(level), f \(f), x[\(d)]") }
    }

    func testBPRStepFollowsTheGradientOfItsObjective() {
        forEachSIMDLevel { level in
            for f in [5, 37] { checkBPRStep(factors: f, level) }
        }
    }

    func checkBPRStep(factors f: Int, _ level: String) {
        // J = ln σ(x̂ᵤᵢⱼ) − reg/2 · (|w|² + |hᵢ|² + |hⱼ|²), the biases in column f of the item rows.
        let reg: Float = 0.01, lr: Float = 1e-3
        var rng = SeededRandom(seed: 3)
        let w0 = (0..<f).map { _ in rng.nextFloat() - 0.5 }
        let hi0 = (0...f).map { _ in rng.nextFloat() - 0.5 }
        let hj0 = (0...f).map { _ in rng.nextFloat() - 0.5 }
        func objective(_ w: [Double], _ hi: [Double], _ hj: [Double]) -> Double {
            var x = hi[f] - hj[f]
            for d in 0..<f { x += w[d] * (hi[d] - hj[d]) }
            let sq = w.reduce(0) { $0 + $1 * $1 } + hi.reduce(0) { $0 + $1 * $1 } + hj.reduce(0) { $0 + $1 * $1 }
            return -log(1 + exp(-x)) - Double(reg) / 2 * sq
        }
        var w = w0, hi = hi0, hj = hj0
        _ = BPR.step(user: &w, positive: &hi, negative: &hj, factors: f, lr: lr, reg: reg)
        let base = (w0.map(Double.init), hi0.map(Double.init), hj0.map(Double.init))
        let eps = 1e-5
        func numeric(_ which: Int, _ k: Int) -> Double {
            var p = base, m = base
            switch which {
            case 0: p.0[k] += eps; m.0[k] -= eps
            case 1: p.1[k] += eps; m.1[k] -= eps
            default: p.2[k] += eps; m.2[k] -= eps
            }
            return (objective(p.0, p.1, p.2) - objective(m.0, m.1, m.2)) / (2 * eps)
        }
        for k in 0..<f { XCTAssertEqual(Double(w[k] - w0[k]) / Double(lr), numeric(0, k), accuracy: 1e-3, "\(level), f \(f), w[\(k)]") }
        for k in 0...f {
            XCTAssertEqual(Double(hi[k] - hi0[k]) / Double(lr), numeric(1, k), accuracy: 1e-3, "\(level), f \(f), hi[\(k)]")
            XCTAssertEqual(Double(hj[k] - hj0[k]) / Double(lr), numeric(2, k), accuracy: 1e-3, "\(level), f \(f), hj[\(k)]")
        }
    }

    func ndcg(_ model: any Recommender, _ data: PlantedData, cases: [EvalCase]? = nil) throws -> Double {
        var o = EvaluationOptions()
        o.showProgress = false
        return try RankingEvaluator(trainingLog: data.log, options: o).evaluate(model, cases: cases ?? data.cases).metrics["NDCG@10"]!
    }

    func testALSAndBPRLearnPlantedStructureFoldInAndRoundTrip() throws {
        let data = PlantedData()
        let pop = Popularity(config: .init())
        try pop.fit(TrainingData(log: data.log))
        let popNDCG = try ndcg(pop, data)
        let settings: [String: [String: String]] = [
            "als": ["factors": "16", "iterations": "10", "regularization": "0.1", "alpha": "4"],
            "bpr": ["factors": "16", "epochs": "60", "learningRate": "0.05", "foldInSteps": "100"],
        ]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("osusume-factors-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        for kind in ["als", "bpr"] {
            let model = try ModelKinds.standard.make(kind, settings: settings[kind]!)
            try model.fit(TrainingData(log: data.log))
            let known = try ndcg(model, data)
            XCTAssertGreaterThan(known, popNDCG + 0.1, "\(kind) NDCG@10 \(known) vs popularity \(popNDCG)")
            // The same users as strangers: their factors folded in from their histories.
            let strangers = data.cases.map { EvalCase(user: Int32(1_000_000), history: $0.history, targets: $0.targets) }
            let folded = try ndcg(model, data, cases: strangers)
            XCTAssertGreaterThan(folded, popNDCG + 0.1, "\(kind) folded-in NDCG@10 \(folded) vs popularity \(popNDCG)")
            XCTAssertGreaterThan(folded, 0.7 * known, "\(kind) fold-in \(folded) far below the trained users' \(known)")
            // A known user with a grown history (new feedback) is folded in too: the scores move.
            let u = data.cases[0].user, h = data.cases[0].history
            let before = model.score(ScoringQuery(user: u, history: h))
            let after = model.score(ScoringQuery(user: u, history: h + [data.cases[0].targets[0]]))
            XCTAssertNotEqual(before, after, kind)

            let trained = try TrainedModel.fit(try ModelKinds.standard.make(kind, settings: settings[kind]!), dataset: Dataset(name: "planted", format: "synthetic", log: data.log))
            let path = dir.appendingPathComponent(kind)
            try trained.save(to: path)
            let loaded = try TrainedModel.load(from: path, kinds: .standard)
            for q in [ScoringQuery(user: 3, history: data.log.sequences()[3]), ScoringQuery(history: [1, 2, 3])] {
                XCTAssertEqual(loaded.model.score(q), trained.model.score(q), kind)
            }
        }
    }

    func testSettingsAreChecked() {
        let log = PlantedData(users: 10).log
        for (kind, bad) in [("als", ["factors": "0"]), ("als", ["alpha": "-1"]), ("bpr", ["learningRate": "0"]), ("bpr", ["epochs": "0"])] {
            XCTAssertThrowsError(try ModelKinds.standard.make(kind, settings: bad).fit(TrainingData(log: log)), "\(kind) \(bad)")
        }
    }
}
