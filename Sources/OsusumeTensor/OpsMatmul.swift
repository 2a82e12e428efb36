import Foundation
import OsusumeCore

/// Keeps BLAS single-threaded: the engine splits products across its own threads (OpenBLAS's
/// threads busy-wait and would compete with the engine's on a small machine).
@inline(__always)
func ensureSerialBLAS() {
    if BLAS.threads != 1 { BLAS.threads = 1 }
}

/// C[m×n] = alpha·op(A)·op(B) + beta·C (row-major), split across `Threads.count` threads along
/// the rows or columns of C, or along k (with partial products summed in a fixed order) when C
/// is small and k long, as in weight gradients.
func gemm(
    _ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int? = nil
) {
    ensureSerialBLAS()
    let t = threads ?? Threads.count
    let work = 2.0 * Double(m) * Double(n) * Double(k)
    if t <= 1 || work < 4e6 {
        BLAS.sgemm(ta, tb, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    let cs = SharedPointer(c)
    if k >= 16 * Swift.max(m, n) && m * n <= 1 << 16 {
        // Split k: each thread multiplies a slab of k; partial results are added in chunk order.
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: t * m * n)
        defer { partial.deallocate() }
        let ps = SharedPointer(partial)
        Threads.parallelFor(k, chunks: t) { chunk, r in
            let ak = ta == .none ? a + r.lowerBound : a + r.lowerBound * lda
            let bk = tb == .none ? b + r.lowerBound * ldb : b + r.lowerBound
            BLAS.sgemm(
                ta, tb, m: m, n: n, k: r.count, alpha: alpha, a: ak, lda: lda, b: bk, ldb: ldb,
                beta: 0, c: ps.base + chunk * m * n, ldc: n)
        }
        let chunks = Swift.min(t, k)
        for i in 0..<m {
            let row = c + i * ldc
            for j in 0..<n {
                var s: Float = beta == 0 ? 0 : beta * row[j]
                for p in 0..<chunks { s += partial[p * m * n + i * n + j] }
                row[j] = s
            }
        }
        return
    }
    if m >= n || n < 16 * t {
        // Large row counts get twice as many chunks as threads, for balance under load.
        let chunks = m >= 512 * t ? 2 * t : t
        Threads.parallelFor(m, chunks: chunks, minChunk: 8) { _, r in
            let ar = ta == .none ? a + r.lowerBound * lda : a + r.lowerBound
            BLAS.sgemm(
                ta, tb, m: r.count, n: n, k: k, alpha: alpha, a: ar, lda: lda, b: b, ldb: ldb,
                beta: beta, c: cs.base + r.lowerBound * ldc, ldc: ldc)
        }
    } else {
        Threads.parallelFor(n, chunks: t, minChunk: 16) { _, r in
            let bc = tb == .none ? b + r.lowerBound : b + r.lowerBound * ldb
            BLAS.sgemm(
                ta, tb, m: m, n: r.count, k: k, alpha: alpha, a: a, lda: lda, b: bc, ldb: ldb,
                beta: beta, c: cs.base + r.lowerBound, ldc: ldc)
        }
    }
}

/// Matrix product through BLAS.
///
/// - `a` [..., M, K] (any leading axes, flattened) times a matrix `b` [K, N] gives [..., M, N].
/// - With equal leading (batch) axes and rank ≥ 3 on both sides it is a batched product.
/// - `transposeA` / `transposeB` use Aᵀ / Bᵀ without copying (for `transposeA`, `a` must be 2-D).
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(a.rank >= 2 && b.rank >= 2, "matmul needs rank ≥ 2, got \(a.shape) and \(b.shape)")
    let ta: Transpose = transposeA ? .transpose : .none, tb: Transpose = transposeB ? .transpose : .none
    let batched = b.rank > 2
    let batch: Int, m: Int, k: Int, n: Int, outShape: [Int]
    if batched {
        precondition(a.rank == b.rank && a.shape.dropLast(2) == b.shape.dropLast(2), "batched matmul needs equal batch axes: \(a.shape) × \(b.shape)")
        batch = a.shape.dropLast(2).reduce(1, *)
        m = transposeA ? a.shape[a.rank - 1] : a.shape[a.rank - 2]
        k = transposeA ? a.shape[a.rank - 2] : a.shape[a.rank - 1]
        n = transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1]
        let kb = transposeB ? b.shape[b.rank - 1] : b.shape[b.rank - 2]
        precondition(k == kb, "matmul inner sizes differ: \(a.shape) × \(b.shape)")
        outShape = Array(a.shape.dropLast(2)) + [m, n]
    } else {
        batch = 1
        if transposeA {
            precondition(a.rank == 2, "transposeA needs a 2-D left operand")
            m = a.shape[1]; k = a.shape[0]
        } else {
            k = a.shape[a.rank - 1]; m = a.count / Swift.max(k, 1)
        }
        n = transposeB ? b.shape[0] : b.shape[1]
        let kb = transposeB ? b.shape[1] : b.shape[0]
        precondition(k == kb, "matmul inner sizes differ: \(a.shape) × \(b.shape)")
        outShape = transposeA ? [m, n] : Array(a.shape.dropLast()) + [n]
    }
    let lda = transposeA ? m : k, ldb = transposeB ? k : n
    let out = Tensor(uninitialized: outShape)
    batchedGemm(
        batch, ta, tb, m: m, n: n, k: k, a: a.data, lda: lda, strideA: m * k, b: b.data, ldb: ldb, strideB: k * n,
        c: out.data, ldc: n, strideC: m * n)
    guard Tape.needs(a, b) else { return out }
    Tape.record(out) { g in
        if a.requiresGrad {
            let da = Tensor(uninitialized: a.shape)
            if !transposeA {
                batchedGemm(
                    batch, .none, transposeB ? .none : .transpose, m: m, n: k, k: n, a: g.data, lda: n, strideA: m * n,
                    b: b.data, ldb: ldb, strideB: k * n, c: da.data, ldc: k, strideC: m * k)
            } else {
                batchedGemm(
                    batch, transposeB ? .transpose : .none, .transpose, m: k, n: m, k: n, a: b.data, lda: ldb, strideA: k * n,
                    b: g.data, ldb: n, strideB: m * n, c: da.data, ldc: m, strideC: m * k)
            }
            accumulateGrad(a, da, owned: true)
        }
        if b.requiresGrad {
            let db = Tensor(uninitialized: b.shape)
            if !transposeB {
                batchedGemm(
                    batch, transposeA ? .none : .transpose, .none, m: k, n: n, k: m, a: a.data, lda: lda, strideA: m * k,
                    b: g.data, ldb: n, strideB: m * n, c: db.data, ldc: n, strideC: k * n)
            } else {
                batchedGemm(
                    batch, .transpose, transposeA ? .transpose : .none, m: n, n: k, k: m, a: g.data, lda: n, strideA: m * n,
                    b: a.data, ldb: lda, strideB: m * k, c: db.data, ldc: k, strideC: k * n)
            }
            accumulateGrad(b, db, owned: true)
        }
    }
    return out
}

/// `batch` independent products, spread over threads by batch when there are enough of them.
func batchedGemm(
    _ batch: Int, _ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int, strideA: Int, b: UnsafePointer<Float>, ldb: Int, strideB: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int
) {
    if batch == 1 {
        gemm(ta, tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
        return
    }
    ensureSerialBLAS()
    let cs = SharedPointer(c)
    Threads.parallelFor(batch) { _, r in
        for i in r {
            BLAS.sgemm(
                ta, tb, m: m, n: n, k: k, a: a + i * strideA, lda: lda, b: b + i * strideB, ldb: ldb,
                c: cs.base + i * strideC, ldc: ldc)
        }
    }
}

/// x · Wᵀ + bias with `weight` [out, in] (PyTorch's layout): the bias is written first and the
/// product accumulated onto it, so the bias costs no extra pass.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    let inF = weight.shape[1], outF = weight.shape[0]
    precondition(x.shape.last == inF, "linear: input \(x.shape) does not end in \(inF)")
    let rows = x.count / Swift.max(inF, 1)
    let out = Tensor(uninitialized: Array(x.shape.dropLast()) + [outF])
    if let bias {
        precondition(bias.count == outF)
        let o = out.data, bp = bias.data
        parallelRange(rows, minChunk: Swift.max(1, parallelThreshold / 2 / outF)) { r in
            for i in r { (o + i * outF).update(from: bp, count: outF) }
        }
    }
    gemm(
        .none, .transpose, m: rows, n: outF, k: inF, a: x.data, lda: inF, b: weight.data, ldb: inF,
        beta: bias == nil ? 0 : 1, c: out.data, ldc: outF)
    let needsBias = bias.map { Tape.needs($0) } ?? false
    guard Tape.needs(x, weight) || needsBias else { return out }
    Tape.record(out) { g in
        accumulateGradInPlace(x) { dx, beta in
            gemm(.none, .none, m: rows, n: inF, k: outF, a: g.data, lda: outF, b: weight.data, ldb: inF, beta: beta, c: dx, ldc: inF)
        }
        if weight.requiresGrad {
            let dw = Tensor(uninitialized: weight.shape)
            gemm(.transpose, .none, m: outF, n: inF, k: rows, a: g.data, lda: outF, b: x.data, ldb: inF, c: dw.data, ldc: inF)
            accumulateGrad(weight, dw, owned: true)
        }
        if let bias { accumulateBiasGrad(bias, g, rows: rows, cols: outF) }
    }
    return out
}

/// The gradient of a bias added to every row of a [rows, cols] output: the column sums of `g`.
func accumulateBiasGrad(_ bias: Tensor, _ g: Tensor, rows: Int, cols: Int) {
    guard bias.requiresGrad else { return }
    let db = Tensor(uninitialized: bias.shape)
    columnSums(g.data, rows: rows, cols: cols, into: db.data)
    accumulateGrad(bias, db, owned: true)
}

/// Several linear maps of the same input side by side: [x·W₁ᵀ + b₁, x·W₂ᵀ + b₂, …] along the last
/// axis, as one product (the weights are stacked for the call). Used for packed query/key/value
/// projections; each weight and bias still receives its own gradient.
public func stackedLinear(_ x: Tensor, weights: [Tensor], biases: [Tensor?]) -> Tensor {
    precondition(!weights.isEmpty && weights.count == biases.count)
    let inF = weights[0].shape[1]
    precondition(weights.allSatisfy { $0.rank == 2 && $0.shape[1] == inF }, "stackedLinear: weights must share the input size")
    let outs = weights.map { $0.shape[0] }, total = outs.reduce(0, +)
    let stackedW = Tensor(uninitialized: [total, inF])
    let stackedB = Tensor(uninitialized: [total])
    var row = 0
    let hasBias = biases.allSatisfy { $0 != nil }
    for (w, b) in zip(weights, biases) {
        (stackedW.data + row * inF).update(from: w.data, count: w.count)
        if let b { (stackedB.data + row).update(from: b.data, count: b.count) }
        row += w.shape[0]
    }
    let out = withoutGradients { linear(x, weight: stackedW, bias: hasBias ? stackedB : nil) }
    let inputs = [x] + weights + biases.compactMap { $0 }
    guard Tape.needs(inputs) else { return out }
    let rows = x.count / Swift.max(inF, 1)
    Tape.record(out) { g in
        accumulateGradInPlace(x) { dx, beta in
            gemm(.none, .none, m: rows, n: inF, k: total, a: g.data, lda: total, b: stackedW.data, ldb: inF, beta: beta, c: dx, ldc: inF)
        }
        if weights.contains(where: { $0.requiresGrad }) {
            let dw = Tensor(uninitialized: [total, inF])
            gemm(.transpose, .none, m: total, n: inF, k: rows, a: g.data, lda: total, b: x.data, ldb: inF, c: dw.data, ldc: inF)
            var r = 0
            for w in weights {
                if w.requiresGrad {
                    let piece = Tensor(uninitialized: w.shape)
                    piece.data.update(from: dw.data + r * inF, count: w.count)
                    accumulateGrad(w, piece, owned: true)
                }
                r += w.shape[0]
            }
        }
        if biases.contains(where: { $0?.requiresGrad ?? false }) {
            let db = Tensor(uninitialized: [total])
            columnSums(g.data, rows: rows, cols: total, into: db.data)
            var r = 0
            for b in biases {
                if let b, b.requiresGrad {
                    let piece = Tensor(uninitialized: b.shape)
                    piece.data.update(from: db.data + r, count: b.count)
                    accumulateGrad(b, piece, owned: true)
                }
                r += b?.count ?? 0
            }
        }
    }
    return out
}
