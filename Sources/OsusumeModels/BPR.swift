import Foundation
import OsusumeCore
import OsusumeKernels
import OsusumeData

/// BPR-MF (Rendle, Freudenthaler, Gantner and Schmidt-Thieme, UAI 2009): user and item factors
/// and an item bias trained so that each user ranks an item they chose above one they did not,
/// by stochastic gradient ascent on ln σ(x̂ᵤᵢ − x̂ᵤⱼ) with an L2 penalty. Each epoch draws as many
/// (user, chosen item, other item) triples as there are interactions; the other item is drawn
/// again while the user has it. Threads update shared factors without locks (Hogwild, as
/// `implicit` does).
///
/// A history without a training user is folded in by the same updates on a fresh user vector
/// with the item factors fixed; a training user's grown history, from their trained vector.
public final class BPR: Recommender {
    public struct Config: ModelConfig {
        public var factors: Int = 128
        public var learningRate: Double = 0.05
        public var regularization: Double = 0.001
        public var epochs: Int = 100
        /// Updates of a folded-in history's vector, per history item.
        public var foldInSteps: Int = 200
        public init() {}
    }
    public static let kind = "bpr"
    public let config: Config
    public private(set) var itemCount = 0
    public private(set) var factors = 0
    /// users × factors; items × (factors + 1), the last column the item bias.
    public private(set) var userFactors: [Float] = []
    public private(set) var itemFactors: [Float] = []
    private var trainedLengths: [Int32] = []

    public init(config: Config) { self.config = config }

    /// Width of an item row: the factors and the bias.
    private var stride: Int { factors + 1 }

    public func fit(_ data: TrainingData) throws {
        let log = data.log
        guard log.itemCount > 1, log.count > 0 else { throw OsusumeError.emptyData("bpr: needs interactions and at least two items") }
        guard config.factors > 0, config.epochs > 0, config.learningRate > 0, config.regularization >= 0 else {
            throw OsusumeError.invalidArgument("bpr: factors, epochs and learningRate must be > 0, regularization ≥ 0")
        }
        let f = config.factors, s = f + 1
        let x = log.csr()
        let n = x.cols, nnz = x.colIndices.count
        var rng = SeededRandom(seed: data.seed ^ 0xB9B)
        let scale = 1 / Float(f).squareRoot()
        var users = (0..<(x.rows * f)).map { _ in (rng.nextFloat() - 0.5) * scale }
        var items = [Float](repeating: 0, count: n * s)
        for i in 0..<n { for d in 0..<f { items[i * s + d] = (rng.nextFloat() - 0.5) * scale } }
        // The user of each interaction, for drawing a positive pair uniformly.
        var rowOf = [Int32](repeating: 0, count: nnz)
        for u in 0..<x.rows { for e in x.rowPointers[u]..<x.rowPointers[u + 1] { rowOf[e] = Int32(u) } }
        let progress = ProgressReporter("bpr", total: config.epochs)
        let start = Date()
        let lr = Float(config.learningRate), reg = Float(config.regularization)
        let seed = rng.next()
        for epoch in 0..<config.epochs {
            var correct = [Int](repeating: 0, count: Threads.count)
            users.withUnsafeMutableBufferPointer { up in
                items.withUnsafeMutableBufferPointer { ip in
                    x.rowPointers.withUnsafeBufferPointer { ptr in
                        x.colIndices.withUnsafeBufferPointer { cols in
                            rowOf.withUnsafeBufferPointer { owner in
                                let uBase = SharedPointer(up.baseAddress!), iBase = SharedPointer(ip.baseAddress!)
                                correct.withUnsafeMutableBufferPointer { cp in
                                    let counts = SharedPointer(cp.baseAddress!)
                                    // Raw pointers in the hot loop: an array slice per draw would retain the
                                    // shared index buffer, and the threads would fight over its count.
                                    Threads.parallelFor(nnz, chunks: Threads.count) { chunk, range in
                                        var r = SeededRandom(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9 &+ UInt64(chunk))
                                        var right = 0
                                        for _ in range {
                                            let e = r.nextInt(nnz)
                                            let u = Int(owner[e]), i = Int(cols[e])
                                            let lo = ptr[u], count = ptr[u + 1] - lo
                                            if count >= n { continue }
                                            let row = cols.baseAddress! + lo
                                            var j = r.nextInt(n)
                                            while BPR.contains(row, count, Int32(j)) { j = r.nextInt(n) }
                                            if BPR.step(user: uBase.base + u * f, positive: iBase.base + i * s, negative: iBase.base + j * s, factors: f, lr: lr, reg: reg) {
                                                right += 1
                                            }
                                        }
                                        counts.base[chunk] = right
                                    }
                                }
                            }
                        }
                    }
                }
            }
            progress.update(epoch + 1, [("ranked right", String(format: "%.1f%%", 100 * Double(correct.reduce(0, +)) / Double(max(1, nnz))))])
        }
        progress.finish(String(format: "%d epochs in %.1fs", config.epochs, Date().timeIntervalSince(start)))
        userFactors = users
        itemFactors = items
        itemCount = n
        factors = f
        trainedLengths = (0..<x.rows).map { Int32(x.rowPointers[$0 + 1] - x.rowPointers[$0]) }
    }

    /// Whether a sorted row of `count` items holds `item`.
    @inline(__always) static func contains(_ row: UnsafePointer<Int32>, _ count: Int, _ item: Int32) -> Bool {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if row[mid] < item { lo = mid + 1 } else { hi = mid }
        }
        return lo < count && row[lo] == item
    }

    /// One update on (u, i, j); returns whether i was already ranked above j. Item rows carry
    /// the bias in column f (the user's matching coordinate is a constant 1).
    @inline(__always)
    static func step(
        user w: UnsafeMutablePointer<Float>, positive hi: UnsafeMutablePointer<Float>, negative hj: UnsafeMutablePointer<Float>,
        factors f: Int, lr: Float, reg: Float, updateItems: Bool = true
    ) -> Bool {
        osk_bpr_step(w, hi, hj, f, lr, reg, updateItems ? 1 : 0) != 0
    }

    /// The factors of a history (see `ALS.userVector`): folded in by BPR updates of a user
    /// vector against fixed items, seeded by the history so a request is answered the same way
    /// each time.
    func userVector(_ query: ScoringQuery) -> [Float] {
        let f = factors
        let distinct = Array(Set(query.history.filter { $0 >= 0 && Int($0) < itemCount })).sorted()
        var w = [Float](repeating: 0, count: f)
        var steps = config.foldInSteps * distinct.count
        if let u = query.user, u >= 0, Int(u) < trainedLengths.count {
            w = Array(userFactors[Int(u) * f..<(Int(u) + 1) * f])
            let trained = Int(trainedLengths[Int(u)])
            if distinct.count <= trained { return w }
            // A grown history starts from the trained vector and takes the new items in.
            steps = config.foldInSteps * (distinct.count - trained)
        }
        guard !distinct.isEmpty, distinct.count < itemCount else { return w }
        var seed: UInt64 = 0x5EED
        for i in distinct { seed = (seed ^ UInt64(UInt32(bitPattern: i))) &* 0x100_0000_01B3 }
        var r = SeededRandom(seed: seed)
        let s = stride
        w.withUnsafeMutableBufferPointer { wp in
            itemFactors.withUnsafeBufferPointer { ip in
                // With updateItems off the item rows are only read.
                let items = UnsafeMutablePointer(mutating: ip.baseAddress!)
                for _ in 0..<steps {
                    let i = Int(distinct[r.nextInt(distinct.count)])
                    var j = r.nextInt(itemCount)
                    while distinct.withUnsafeBufferPointer({ BPR.contains($0.baseAddress!, $0.count, Int32(j)) }) { j = r.nextInt(itemCount) }
                    _ = BPR.step(
                        user: wp.baseAddress!, positive: items + i * s, negative: items + j * s,
                        factors: f, lr: Float(config.learningRate), reg: Float(config.regularization), updateItems: false)
                }
            }
        }
        return w
    }

    public func score(_ queries: [ScoringQuery], into out: UnsafeMutablePointer<Float>) {
        let f = factors, n = itemCount, s = stride
        guard f > 0 else {
            out.initialize(repeating: 0, count: queries.count * n)
            return
        }
        // Score = [w, 1] · [h, b]: append the constant 1 to each user vector.
        var vectors = [Float](repeating: 1, count: queries.count * s)
        vectors.withUnsafeMutableBufferPointer { vp in
            let base = SharedPointer(vp.baseAddress!)
            Threads.parallelFor(queries.count, minChunk: 16) { _, range in
                for q in range { (base.base + q * s).update(from: userVector(queries[q]), count: f) }
            }
        }
        FactorMath.scores(vectors, queries: queries.count, items: itemFactors, itemCount: n, factors: s, into: out)
    }

    public func state() throws -> SafeTensors {
        var st = SafeTensors()
        st.set("users", floats: userFactors, shape: [trainedLengths.count, factors])
        st.set("items", floats: itemFactors, shape: [itemCount, factors + 1])
        st.set("trained_lengths", int32s: trainedLengths, shape: [trainedLengths.count])
        return st
    }

    public func restore(_ state: SafeTensors) throws {
        let (u, us) = try state.floats("users")
        let (i, ishape) = try state.floats("items")
        let (lengths, _) = try state.int32s("trained_lengths")
        guard us.count == 2, ishape.count == 2, us[1] + 1 == ishape[1], us[0] == lengths.count else {
            throw OsusumeError.modelFile("bpr: users \(us) and items \(ishape) do not match (items carry one bias column)")
        }
        userFactors = u
        itemFactors = i
        trainedLengths = lengths
        factors = us[1]
        itemCount = ishape[0]
    }
}
