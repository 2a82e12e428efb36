import Foundation
import OsusumeCore
import OsusumeData

/// PureSVD (Cremonesi et al., RecSys 2010), read as a linear autoencoder (SVD-AE): the top
/// `factors` right singular vectors V of the binary user × item matrix X, from the
/// eigen-decomposition of the item Gram matrix XᵀX; a history x scores x·Vᵀ·V. No training loop,
/// and any history is scored without refitting (fold-in is the projection itself).
public final class PureSVD: ExplainableRecommender {
    public struct Config: ModelConfig {
        /// Number of singular vectors kept.
        public var factors: Int = 64
        /// Refuse catalogs above this size (XᵀX is items² floats and its eigen-decomposition items³).
        public var maxItems: Int = 20_000
        public init() {}
    }
    public static let kind = "puresvd"
    public let config: Config
    /// factors × items, row-major: one right singular vector per row.
    public private(set) var vectors: [Float] = []
    public private(set) var itemCount: Int = 0
    public private(set) var factors: Int = 0

    public init(config: Config) { self.config = config }

    public func fit(_ data: TrainingData) throws {
        let n = data.log.itemCount
        guard n > 0, data.log.count > 0 else { throw OsusumeError.emptyData("puresvd: no interactions to fit") }
        guard config.factors > 0 else { throw OsusumeError.invalidArgument("puresvd: factors must be > 0") }
        guard n <= config.maxItems else {
            throw OsusumeError.invalidArgument("puresvd: \(n) items exceed maxItems=\(config.maxItems); filter the catalog or raise maxItems")
        }
        // The Gram matrix and the eigen-solver's workspace, about two items² matrices.
        try MemoryBudget.require(
            2 * n * n * 4, for: "puresvd with \(n) items", detail: "the items² Gram matrix and the eigen-solver's workspace",
            advice: "drop rare items (--min-item, --kcore), or use a machine with more memory")
        let x = data.log.csr()
        var g = ItemGram.upper(x, n: n)
        _ = try g.withUnsafeMutableBufferPointer { try LAPACK.symmetricEigen($0.baseAddress!, n: n) }
        // Eigenvalues ascend, eigenvector i is row i: keep the last `k` rows, largest first.
        let k = min(config.factors, n)
        var v = [Float](repeating: 0, count: k * n)
        for f in 0..<k {
            let src = n - 1 - f
            for j in 0..<n { v[f * n + j] = g[src * n + j] }
        }
        vectors = v; itemCount = n; factors = k
    }

    public func score(_ queries: [ScoringQuery], into out: UnsafeMutablePointer<Float>) {
        let n = itemCount, k = factors, q = queries.count
        guard k > 0 else { out.initialize(repeating: 0, count: q * n); return }
        var dense = [Float](repeating: 0, count: q * n)
        var projected = [Float](repeating: 0, count: q * k)
        dense.withUnsafeMutableBufferPointer { dp in
            DenseRows.fillBinary(queries, itemCount: n, into: dp.baseAddress!)
            vectors.withUnsafeBufferPointer { vp in
                projected.withUnsafeMutableBufferPointer { pp in
                    // t = x·Vᵀ (q×k), then scores = t·V (q×n).
                    BLAS.sgemm(
                        .none, .transpose, m: q, n: k, k: n, a: dp.baseAddress!, lda: n, b: vp.baseAddress!, ldb: n,
                        c: pp.baseAddress!, ldc: k)
                    BLAS.sgemm(
                        .none, .none, m: q, n: n, k: k, a: pp.baseAddress!, lda: k, b: vp.baseAddress!, ldb: n,
                        c: out, ldc: n)
                }
            }
        }
    }

    /// Score = Σ_h (VᵀV)[h, item], so each history item contributes its row of VᵀV.
    public func contributions(of item: Int32, for query: ScoringQuery) -> [Float] {
        query.history.map { h in
            guard h >= 0, Int(h) < itemCount, h != item, item >= 0, Int(item) < itemCount else { return 0 }
            var s: Float = 0
            for f in 0..<factors { s += vectors[f * itemCount + Int(h)] * vectors[f * itemCount + Int(item)] }
            return s
        }
    }

    public func state() throws -> SafeTensors {
        var st = SafeTensors(); st.set("V", floats: vectors, shape: [factors, itemCount]); return st
    }

    public func restore(_ state: SafeTensors) throws {
        let (v, shape) = try state.floats("V")
        guard shape.count == 2 else { throw OsusumeError.modelFile("puresvd: V must be factors × items, got \(shape)") }
        vectors = v; factors = shape[0]; itemCount = shape[1]
    }
}
