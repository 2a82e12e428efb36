import Foundation
import OsusumeCore
import OsusumeData

/// EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): the item–item
/// weight matrix B minimising ‖X − XB‖² + λ‖B‖² with diag(B) = 0, in closed form:
/// P = (XᵀX + λI)⁻¹, B_ij = −P_ij / P_jj. Scores are historyᵀ·B.
public final class EASE: ExplainableRecommender {
    public struct Config: ModelConfig {
        /// L2 regularisation λ added to the Gram matrix's diagonal.
        public var lambda: Double = 250
        /// Refuse catalogs above this size (B is items² floats: 40,000 items = 6.4 GB).
        public var maxItems: Int = 40_000
        public init() {}
    }
    public static let kind = "ease"
    public let config: Config
    /// items × items, row-major: B[i, j] is how much having i raises j's score.
    public private(set) var weights: [Float] = []
    public private(set) var itemCount: Int = 0

    public init(config: Config) { self.config = config }

    public func fit(_ data: TrainingData) throws {
        let n = data.log.itemCount
        guard n > 0 else { throw OsusumeError.emptyData("ease: no items to fit") }
        guard n <= config.maxItems else {
            throw OsusumeError.invalidArgument("ease: \(n) items exceed maxItems=\(config.maxItems) (B needs \(n * n * 4 / 1_000_000) MB); filter the catalog or raise maxItems")
        }
        guard config.lambda > 0 else { throw OsusumeError.invalidArgument("ease: lambda must be > 0") }
        let x = data.log.csr()
        var g = [Float](repeating: 0, count: n * n)
        // Gram matrix G = XᵀX through dense user blocks and one rank-k update per block
        // (upper triangle in row-major order, which is what the Cholesky below reads).
        let block = max(1, min(x.rows, 16_777_216 / n))
        var dense = [Float](repeating: 0, count: block * n)
        var u0 = 0
        g.withUnsafeMutableBufferPointer { gp in
            dense.withUnsafeMutableBufferPointer { dp in
                while u0 < x.rows {
                    let u1 = min(x.rows, u0 + block)
                    dp.baseAddress!.initialize(repeating: 0, count: (u1 - u0) * n)
                    for u in u0..<u1 { for c in x.row(u) { dp[(u - u0) * n + Int(c)] = 1 } }
                    BLAS.ssyrkUpperTransposed(n: n, k: u1 - u0, a: dp.baseAddress!, c: gp.baseAddress!, beta: u0 == 0 ? 0 : 1)
                    u0 = u1
                }
            }
        }
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
        weights = g
        itemCount = n
    }

    public func score(_ queries: [ScoringQuery], into out: UnsafeMutablePointer<Float>) {
        let n = itemCount
        var dense = [Float](repeating: 0, count: queries.count * n)
        dense.withUnsafeMutableBufferPointer { dp in
            DenseRows.fillBinary(queries, itemCount: n, into: dp.baseAddress!)
            weights.withUnsafeBufferPointer { wp in
                BLAS.sgemm(.none, .none, m: queries.count, n: n, k: n, a: dp.baseAddress!, lda: n,
                           b: wp.baseAddress!, ldb: n, c: out, ldc: n)
            }
        }
    }

    public func contributions(of item: Int32, for query: ScoringQuery) -> [Float] {
        query.history.map { h in
            h >= 0 && Int(h) < itemCount && h != item ? weights[Int(h) * itemCount + Int(item)] : 0
        }
    }

    public func state() throws -> SafeTensors {
        var st = SafeTensors(); st.set("B", floats: weights, shape: [itemCount, itemCount]); return st
    }

    public func restore(_ state: SafeTensors) throws {
        let (w, shape) = try state.floats("B")
        guard shape.count == 2, shape[0] == shape[1] else { throw OsusumeError.modelFile("ease: B must be square, got \(shape)") }
        weights = w; itemCount = shape[0]
    }
}
