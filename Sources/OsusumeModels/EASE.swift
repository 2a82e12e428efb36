import Foundation
import OsusumeCore
import OsusumeData
import OsusumeKernels

/// EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): the item–item
/// weight matrix B minimising ‖X − XB‖² + λ‖B‖² with diag(B) = 0, in closed form:
/// P = (XᵀX + λI)⁻¹, B_ij = −P_ij / P_jj. Scores are historyᵀ·B.
public final class EASE: ExplainableRecommender {
    public struct Config: ModelConfig {
        /// L2 regularisation λ added to the Gram matrix's diagonal.
        public var lambda: Double = 500
        /// "auto" (dual form when users < items / 2), "primal" or "dual". Same result, different cost.
        public var solver: String = "auto"
        /// Refuse catalogs above this size (B is items² floats: 40,000 items = 6.4 GB).
        public var maxItems: Int = 40_000
        /// "f32", or "f16": B is kept and saved as float16 once fitted (half the memory and file;
        /// scores within about 0.1% of float32's).
        public var precision: String = "f32"
        public init() {}
    }
    public static let kind = "ease"
    public let config: Config
    /// items × items, row-major: B[i, j] is how much having i raises j's score.
    /// Read-only once fitted; a loaded model's B is a view into its mapped weights file, so
    /// processes serving the same model share one copy.
    public private(set) var weights = FloatBuffer()
    /// B in float16 instead (`precision` "f16"); `weights` is then empty.
    public private(set) var halfWeights: HalfBuffer?
    public private(set) var itemCount: Int = 0

    public init(config: Config) { self.config = config }

    public func fit(_ data: TrainingData) throws {
        let n = data.log.itemCount
        guard n > 0 else { throw OsusumeError.emptyData("ease: no items to fit") }
        guard n <= config.maxItems else {
            throw OsusumeError.invalidArgument(
                "ease: \(n) items exceed maxItems=\(config.maxItems) (B needs \(n * n * 4 / 1_000_000) MB); "
                    + "filter the catalog, raise maxItems, or use localease (sparse, for large catalogs)")
        }
        guard config.lambda > 0 else { throw OsusumeError.invalidArgument("ease: lambda must be > 0") }
        guard ["f32", "f16"].contains(config.precision) else {
            throw OsusumeError.invalidArgument("ease: precision must be f32 or f16, got '\(config.precision)'")
        }
        let x = data.log.csr()
        let users = x.rows
        // With fewer users than items the Woodbury identity is far cheaper (users³ instead of
        // items³): (λI + XᵀX)⁻¹ = (I − Xᵀ(λI + XXᵀ)⁻¹X) / λ.
        let useDual: Bool
        switch config.solver {
        case "auto": useDual = users < n / 2 && users * n <= 400_000_000
        case "primal": useDual = false
        case "dual": useDual = true
        default: throw OsusumeError.invalidArgument("ease: solver must be auto, primal or dual, got '\(config.solver)'")
        }
        // Refused before any allocation when the machine cannot hold it (the kernel's OOM killer
        // would otherwise stop the process half-way).
        let matrix = n * n * 4
        let need = useDual ? matrix + 2 * users * n * 4 + users * users * 4 : matrix
        try MemoryBudget.require(
            need, for: "ease with \(n) items", detail: useDual ? "B \(MemoryBudget.format(matrix)) + the dual form's user matrices" : "B is items² floats: \(MemoryBudget.format(matrix))",
            advice: "use localease (sparse, for large catalogs), drop rare items (--min-item, --kcore), or use a machine with more memory")
        weights = FloatBuffer(useDual ? try fitDual(x, n: n) : try fitPrimal(x, n: n))
        halfWeights = nil
        itemCount = n
        if config.precision == "f16" {
            // Rounded now, so the fitted model scores exactly as the saved one will.
            halfWeights = HalfBuffer(rounding: weights)
            weights = FloatBuffer()
        }
    }

    /// P = (XᵀX + λI)⁻¹ by Cholesky, then B = −P / diag(P).
    private func fitPrimal(_ x: CSRMatrix, n: Int) throws -> [Float] {
        var g = ItemGram.upper(x, n: n)
        let lambda = Float(config.lambda)
        for i in 0..<n { g[i * n + i] += lambda }
        try g.withUnsafeMutableBufferPointer { try LAPACK.invertSPD($0.baseAddress!, n: n) }
        // B = −P / diag(P) column-wise, zero diagonal.
        var diag = [Float](repeating: 0, count: n)
        for j in 0..<n { diag[j] = g[j * n + j] }
        g.withUnsafeMutableBufferPointer { gp in
            let p = SharedPointer(gp.baseAddress!)
            Threads.parallelFor(n, minChunk: 64) { _, rows in
                for i in rows {
                    let row = p.base + i * n
                    for j in 0..<n { row[j] = -row[j] / diag[j] }
                    row[i] = 0
                }
            }
        }
        return g
    }

    /// Woodbury form: S = Xᵀ(λI + XXᵀ)⁻¹X, then P = (I − S)/λ, so B_ij = S_ij / (1 − S_jj).
    private func fitDual(_ x: CSRMatrix, n: Int) throws -> [Float] {
        let u = x.rows
        var dense = [Float](repeating: 0, count: u * n)
        for r in 0..<u { for c in x.row(r) { dense[r * n + Int(c)] = 1 } }
        var k = [Float](repeating: 0, count: u * u)
        // K = XXᵀ (u×u).
        dense.withUnsafeBufferPointer { dp in
            k.withUnsafeMutableBufferPointer { kp in
                BLAS.sgemm(
                    .none, .transpose, m: u, n: u, k: n, a: dp.baseAddress!, lda: n, b: dp.baseAddress!, ldb: n,
                    c: kp.baseAddress!, ldc: u)
            }
        }
        let lambda = Float(config.lambda)
        for i in 0..<u { k[i * u + i] += lambda }
        try k.withUnsafeMutableBufferPointer { try LAPACK.invertSPD($0.baseAddress!, n: u) }
        // T = M X (u×n), then S = Xᵀ T (n×n).
        var t = [Float](repeating: 0, count: u * n)
        var s = [Float](repeating: 0, count: n * n)
        dense.withUnsafeBufferPointer { dp in
            k.withUnsafeBufferPointer { kp in
                t.withUnsafeMutableBufferPointer { tp in
                    BLAS.sgemm(
                        .none, .none, m: u, n: n, k: u, a: kp.baseAddress!, lda: u, b: dp.baseAddress!, ldb: n,
                        c: tp.baseAddress!, ldc: n)
                }
            }
            t.withUnsafeBufferPointer { tp in
                s.withUnsafeMutableBufferPointer { sp in
                    BLAS.sgemm(
                        .transpose, .none, m: n, n: n, k: u, a: dp.baseAddress!, lda: n, b: tp.baseAddress!, ldb: n,
                        c: sp.baseAddress!, ldc: n)
                }
            }
        }
        var denom = [Float](repeating: 0, count: n)
        for j in 0..<n { denom[j] = 1 - s[j * n + j] }
        s.withUnsafeMutableBufferPointer { sp in
            let p = SharedPointer(sp.baseAddress!)
            Threads.parallelFor(n, minChunk: 64) { _, rows in
                for i in rows {
                    let row = p.base + i * n
                    for j in 0..<n { row[j] = row[j] / denom[j] }
                    row[i] = 0
                }
            }
        }
        return s
    }

    public func score(_ queries: [ScoringQuery], into out: UnsafeMutablePointer<Float>) {
        let n = itemCount
        guard n > 0, !queries.isEmpty else { return }
        // Each history as its distinct in-range items, sorted so that a sum's order (and its last
        // bits) never depends on hashing.
        let histories = queries.map { q in Array(Set(q.history.filter { $0 >= 0 && Int($0) < n })).sorted() }
        let entries = histories.reduce(0) { $0 + $1.count }
        // historyᵀB is the sum of the history's rows of B. With sparse histories that sum (entries
        // × n adds) beats a dense product (queries × n² multiply-adds): 3× faster on ML-1M (4.8%
        // dense); histories over about 1/6 of the catalog go through the product.
        if let half = halfWeights {
            half.withUnsafeBufferPointer { bp in
                Self.sumRows(n: n, histories: histories, into: out) { ones, items, count, j0, y, w in
                    osk_sparse_gather_axpy_f16(ones, items, count, bp.baseAddress! + j0, n, y, w)
                }
            }
            return
        }
        if entries * 6 <= queries.count * n {
            weights.withUnsafeBufferPointer { bp in
                Self.sumRows(n: n, histories: histories, into: out) { ones, items, count, j0, y, w in
                    osk_sparse_gather_axpy(ones, items, count, bp.baseAddress! + j0, n, y, w)
                }
            }
            return
        }
        var dense = [Float](repeating: 0, count: queries.count * n)
        dense.withUnsafeMutableBufferPointer { dp in
            DenseRows.fillBinary(queries, itemCount: n, into: dp.baseAddress!)
            weights.withUnsafeBufferPointer { wp in
                BLAS.sgemm(
                    .none, .none, m: queries.count, n: n, k: n, a: dp.baseAddress!, lda: n,
                    b: wp.baseAddress!, ldb: n, c: out, ldc: n)
            }
        }
    }

    /// out[q] = Σ_{h ∈ histories[q]} B[h, ·], by strips of columns: a strip of B (n × 128
    /// floats, 14 MB at 27,000 items) stays in the last-level cache while every query of the
    /// batch reads it, instead of each query streaming whole rows from memory.
    static func sumRows(
        n: Int, histories: [[Int32]], into out: UnsafeMutablePointer<Float>,
        gather: (_ ones: UnsafePointer<Float>, _ items: UnsafePointer<Int32>, _ count: Int, _ column: Int, _ y: UnsafeMutablePointer<Float>, _ width: Int) -> Void
    ) {
        let strip = 128
        let longest = histories.map(\.count).max() ?? 0
        let ones = [Float](repeating: 1, count: max(1, longest))
        let strips = (n + strip - 1) / strip
        let o = SharedPointer(out)
        ones.withUnsafeBufferPointer { onesp in
            Threads.parallelFor(strips, chunks: min(strips, Threads.count * 8)) { _, range in
                for s in range {
                    let j0 = s * strip, w = min(strip, n - j0)
                    for (q, h) in histories.enumerated() {
                        let y = o.base + q * n + j0
                        y.initialize(repeating: 0, count: w)
                        if h.isEmpty { continue }
                        h.withUnsafeBufferPointer { hp in gather(onesp.baseAddress!, hp.baseAddress!, hp.count, j0, y, w) }
                    }
                }
            }
        }
    }

    public func contributions(of item: Int32, for query: ScoringQuery) -> [Float] {
        query.history.map { h in
            guard h >= 0, Int(h) < itemCount, h != item else { return 0 }
            let at = Int(h) * itemCount + Int(item)
            return halfWeights.map { $0[at] } ?? weights[at]
        }
    }

    public func state() throws -> SafeTensors {
        var st = SafeTensors()
        if let half = halfWeights {
            st.set("B", halves: half, shape: [itemCount, itemCount])
        } else {
            st.set("B", floats: weights, shape: [itemCount, itemCount])
        }
        return st
    }

    public func restore(_ state: SafeTensors) throws {
        let shape = state.tensors["B"]?.shape ?? []
        guard shape.count == 2, shape[0] == shape[1] else { throw OsusumeError.modelFile("ease: B must be a square tensor, got \(shape)") }
        if state.tensors["B"]?.dtype == .f16 {
            halfWeights = try state.halfBuffer("B").values
            weights = FloatBuffer()
        } else {
            weights = try state.floatBuffer("B").values
            halfWeights = nil
        }
        itemCount = shape[0]
    }
}
