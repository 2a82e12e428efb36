import Foundation
import OsusumeCore
import OsusumeKernels
import OsusumeData

/// Implicit-feedback ALS, also known as WMF (Hu, Koren and Volinsky, ICDM 2008): user and item
/// factors fitted to the binary preference p = 1 on observed entries and 0 elsewhere, weighted by
/// the confidence c = 1 + alpha·r on observed entries (1 elsewhere), with an L2 penalty λ,
/// alternating between the users and the items. Each side is solved by a few conjugate-gradient
/// steps from the previous iterate (Takács, Pilászy and Tikk, RecSys 2011, as `implicit` does),
/// without forming a user's matrix: (YᵀY + λI + Yᵤᵀ(Cᵤ − I)Yᵤ) x = Yᵤᵀ Cᵤ pᵤ, where YᵀY is shared.
///
/// A history without a training user, or a training user whose history has grown since (new
/// feedback), is folded in: its factors are solved from its items against the item factors.
public final class ALS: Recommender {
    public struct Config: ModelConfig {
        public var factors: Int = 128
        /// λ, the L2 penalty on every factor vector.
        public var regularization: Double = 0.1
        /// Confidence of an observed entry: 1 + alpha·r (r = 1, or the rating with `useRatings`).
        public var alpha: Double = 4
        public var iterations: Int = 15
        /// Conjugate-gradient steps per factor vector and iteration.
        public var cgSteps: Int = 3
        /// Use the ratings as r (otherwise every observed entry has r = 1).
        public var useRatings: Bool = false
        public init() {}
    }
    public static let kind = "als"
    public let config: Config
    public private(set) var itemCount = 0
    public private(set) var factors = 0
    /// users × factors and items × factors, row-major.
    public private(set) var userFactors: [Float] = []
    public private(set) var itemFactors: [Float] = []
    /// Each training user's number of distinct items: a longer history has new items to fold in.
    private var trainedLengths: [Int32] = []
    /// YᵀY + λI of the final item factors, for folding in.
    private var itemGram: [Float] = []

    public init(config: Config) { self.config = config }

    public func fit(_ data: TrainingData) throws {
        let log = data.log
        guard log.itemCount > 0, log.count > 0 else { throw OsusumeError.emptyData("als: no interactions to fit") }
        guard config.factors > 0, config.iterations > 0, config.cgSteps > 0 else {
            throw OsusumeError.invalidArgument("als: factors, iterations and cgSteps must be > 0")
        }
        guard config.regularization >= 0, config.alpha >= 0 else { throw OsusumeError.invalidArgument("als: regularization and alpha must be ≥ 0") }
        let f = config.factors
        let x = log.csr(values: config.useRatings && log.hasRatings ? .ratings : .ones)
        let xt = x.transposed()
        var rng = SeededRandom(seed: data.seed ^ 0xA15)
        var users = (0..<(x.rows * f)).map { _ in rng.nextFloat() * 0.01 }
        var items = (0..<(x.cols * f)).map { _ in rng.nextFloat() * 0.01 }
        let progress = ProgressReporter("als", total: config.iterations)
        let start = Date()
        for it in 0..<config.iterations {
            solve(&users, given: items, rows: x, factors: f, steps: config.cgSteps)
            solve(&items, given: users, rows: xt, factors: f, steps: config.cgSteps)
            // The loss costs a pass over the data, so only the last iteration reports it.
            progress.update(it + 1, it + 1 == config.iterations ? [("loss", String(format: "%.4f", loss(users, items, x, f)))] : [])
        }
        progress.finish(String(format: "%d iterations in %.1fs", config.iterations, Date().timeIntervalSince(start)))
        userFactors = users
        itemFactors = items
        itemCount = x.cols
        factors = f
        trainedLengths = (0..<x.rows).map { Int32(x.rowPointers[$0 + 1] - x.rowPointers[$0]) }
        itemGram = Self.gram(items, rows: x.cols, factors: f, regularization: Float(config.regularization))
    }

    /// YᵀY + λI (f × f).
    static func gram(_ y: [Float], rows: Int, factors f: Int, regularization: Float) -> [Float] {
        var g = [Float](repeating: 0, count: f * f)
        y.withUnsafeBufferPointer { yp in
            g.withUnsafeMutableBufferPointer { gp in
                BLAS.sgemm(.transpose, .none, m: f, n: f, k: rows, a: yp.baseAddress!, lda: f, b: yp.baseAddress!, ldb: f, c: gp.baseAddress!, ldc: f)
            }
        }
        for d in 0..<f { g[d * f + d] += regularization }
        return g
    }

    /// Confidence of an observed entry with value r.
    @inline(__always) private func confidence(_ r: Float) -> Float { 1 + Float(config.alpha) * r }

    /// One half-iteration: every row's factors (users, or items) from the other side's.
    private func solve(_ target: inout [Float], given other: [Float], rows m: CSRMatrix, factors f: Int, steps: Int) {
        let gram = Self.gram(other, rows: m.cols, factors: f, regularization: Float(config.regularization))
        let alpha = Float(config.alpha)
        target.withUnsafeMutableBufferPointer { tp in
            let tBase = SharedPointer(tp.baseAddress!)
            other.withUnsafeBufferPointer { op in
                gram.withUnsafeBufferPointer { gp in
                    m.rowPointers.withUnsafeBufferPointer { ptr in
                        m.colIndices.withUnsafeBufferPointer { cols in
                            m.values.withUnsafeBufferPointer { vals in
                                // Many small chunks: rows differ a lot in length (popular items first), so a
                                // two-way split would leave one thread waiting.
                                Threads.parallelFor(m.rows, chunks: Threads.count * 32, minChunk: 16) { _, range in
                                    var scratch = [Float](repeating: 0, count: 3 * f)
                                    scratch.withUnsafeMutableBufferPointer { s in
                                        for row in range {
                                            let lo = ptr[row], hi = ptr[row + 1]
                                            ALS.conjugateGradient(
                                                x: tBase.base + row * f, gram: gp.baseAddress!, other: op.baseAddress!,
                                                items: cols.baseAddress! + lo, values: vals.baseAddress! + lo, count: hi - lo,
                                                alpha: alpha, factors: f, steps: steps, scratch: s.baseAddress!)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `steps` conjugate-gradient steps on (G + Σᵢ (cᵢ − 1) yᵢyᵢᵀ) x = Σᵢ cᵢ yᵢ from the current x,
    /// with G = YᵀY + λI and cᵢ = 1 + alpha·vᵢ; `scratch` holds 3·f floats.
    static func conjugateGradient(
        x: UnsafeMutablePointer<Float>, gram: UnsafePointer<Float>, other: UnsafePointer<Float>,
        items: UnsafePointer<Int32>, values: UnsafePointer<Float>, count: Int,
        alpha: Float, factors f: Int, steps: Int, scratch: UnsafeMutablePointer<Float>
    ) {
        osk_als_cg(x, gram, other, items, values, count, alpha, f, steps, scratch)
    }

    /// The weighted squared error plus the penalty, per observed entry (for the progress line).
    private func loss(_ users: [Float], _ items: [Float], _ x: CSRMatrix, _ f: Int) -> Double {
        var total = 0.0
        users.withUnsafeBufferPointer { up in
            items.withUnsafeBufferPointer { ip in
                for u in 0..<x.rows {
                    for e in x.rowPointers[u]..<x.rowPointers[u + 1] {
                        let d = 1 - FactorMath.dot(up.baseAddress! + u * f, ip.baseAddress! + Int(x.colIndices[e]) * f, f)
                        total += Double(confidence(x.values[e]) * d * d)
                    }
                }
            }
        }
        return total / Double(max(1, x.colIndices.count))
    }

    /// The factors of a history: the training user's own while their history is the one they
    /// were trained on, else solved from the history's items (warm-started from the user's).
    func userVector(_ query: ScoringQuery) -> [Float] {
        let f = factors
        var x = [Float](repeating: 0, count: f)
        let distinct = Array(Set(query.history.filter { $0 >= 0 && Int($0) < itemCount })).sorted()
        if let u = query.user, u >= 0, Int(u) < trainedLengths.count {
            x = Array(userFactors[Int(u) * f..<(Int(u) + 1) * f])
            if distinct.count <= Int(trainedLengths[Int(u)]) { return x }
        }
        guard !distinct.isEmpty else { return x }
        let ratings: [Float] = distinct.map { _ in 1 }
        var scratch = [Float](repeating: 0, count: 3 * f)
        x.withUnsafeMutableBufferPointer { xp in
            itemGram.withUnsafeBufferPointer { gp in
                itemFactors.withUnsafeBufferPointer { ip in
                    distinct.withUnsafeBufferPointer { dp in
                        ratings.withUnsafeBufferPointer { rp in
                            scratch.withUnsafeMutableBufferPointer { s in
                                // Solved to convergence: a history is folded in once per request.
                                ALS.conjugateGradient(
                                    x: xp.baseAddress!, gram: gp.baseAddress!, other: ip.baseAddress!, items: dp.baseAddress!,
                                    values: rp.baseAddress!, count: dp.count, alpha: Float(config.alpha), factors: f,
                                    steps: f, scratch: s.baseAddress!)
                            }
                        }
                    }
                }
            }
        }
        return x
    }

    public func score(_ queries: [ScoringQuery], into out: UnsafeMutablePointer<Float>) {
        let f = factors
        guard f > 0 else {
            out.initialize(repeating: 0, count: queries.count * itemCount)
            return
        }
        var vectors = [Float](repeating: 0, count: queries.count * f)
        vectors.withUnsafeMutableBufferPointer { vp in
            let base = SharedPointer(vp.baseAddress!)
            Threads.parallelFor(queries.count, minChunk: 16) { _, range in
                for q in range {
                    let v = userVector(queries[q])
                    (base.base + q * f).update(from: v, count: f)
                }
            }
        }
        FactorMath.scores(vectors, queries: queries.count, items: itemFactors, itemCount: itemCount, factors: f, into: out)
    }

    public func state() throws -> SafeTensors {
        var st = SafeTensors()
        st.set("users", floats: userFactors, shape: [trainedLengths.count, factors])
        st.set("items", floats: itemFactors, shape: [itemCount, factors])
        st.set("trained_lengths", int32s: trainedLengths, shape: [trainedLengths.count])
        return st
    }

    public func restore(_ state: SafeTensors) throws {
        let (u, us) = try state.floats("users")
        let (i, ishape) = try state.floats("items")
        let (lengths, _) = try state.int32s("trained_lengths")
        guard us.count == 2, ishape.count == 2, us[1] == ishape[1], us[0] == lengths.count else {
            throw OsusumeError.modelFile("als: users \(us) and items \(ishape) factors do not match")
        }
        userFactors = u
        itemFactors = i
        trainedLengths = lengths
        factors = ishape[1]
        itemCount = ishape[0]
        itemGram = Self.gram(i, rows: itemCount, factors: factors, regularization: Float(config.regularization))
    }
}
