import Foundation
import OsusumeCore
import OsusumeKernels

/// Fused multi-head attention: softmax(scale · Q Kᵀ + mask) · V for every (batch, head) pair,
/// reading the heads straight out of [batch, length, heads · headDim] inputs (no transposes).
///
/// - query: [B, L, D]; key, value: [B, S, D], with D = heads · headDim.
/// - causal: query i sees keys up to i + (S − L). Row blocks skip the keys a causal mask hides.
/// - keyPadding: B·S flags, false for padding keys that no query may see. A query that sees no
///   key at all gets a zero output.
/// The probabilities are kept for the backward pass ([B, heads, L, S] floats).
public func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, heads: Int,
                                      causal: Bool = false, keyPadding: [Bool]? = nil) -> Tensor {
    precondition(query.rank == 3 && key.rank == 3 && value.rank == 3, "attention takes [batch, length, dim] tensors")
    let b = query.shape[0], l = query.shape[1], d = query.shape[2], s = key.shape[1]
    precondition(key.shape == [b, s, d] && value.shape == [b, s, d], "attention: key/value \(key.shape)/\(value.shape) do not fit query \(query.shape)")
    precondition(d % heads == 0, "dimension \(d) is not divisible by \(heads) heads")
    let dh = d / heads
    let scale = 1 / Float(dh).squareRoot()
    let keep: [UInt8]? = keyPadding.map { flags in
        precondition(flags.count == b * s, "keyPadding needs batch × keys = \(b * s) flags")
        return flags.map { $0 ? 1 : 0 }
    }
    let probs = Tensor(uninitialized: [b, heads, l, s])
    let out = Tensor(uninitialized: [b, l, d])
    let pq = query.data, pk = key.data, pv = value.data, pp = probs.data, po = out.data
    let offset = s - l
    let block = causal ? attentionRowBlock(l) : l
    ensureSerialBLAS()
    keep.withOptionalPointer { keepPtr in
        let kp = keepPtr.map { SharedConstPointer($0) }
        Threads.parallelFor(b * heads) { _, pairs in
            for pair in pairs {
                let bi = pair / heads, h = pair % heads
                let q = pq + bi * l * d + h * dh, k = pk + bi * s * d + h * dh, v = pv + bi * s * d + h * dh
                let p = pp + pair * l * s, o = po + bi * l * d + h * dh
                var r0 = 0
                while r0 < l {
                    let rows = Swift.min(block, l - r0)
                    let cols = causal ? Swift.max(0, Swift.min(s, r0 + rows + offset)) : s
                    let prow = p + r0 * s
                    if cols > 0 {
                        BLAS.sgemm(.none, .transpose, m: rows, n: cols, k: dh, a: q + r0 * d, lda: d, b: k, ldb: d, c: prow, ldc: s)
                    }
                    osk_attention_softmax(prow, rows, s, s, r0 + offset, causal ? 1 : 0, kp.map { $0.base + bi * s }, scale)
                    if cols > 0 {
                        BLAS.sgemm(.none, .none, m: rows, n: dh, k: cols, a: prow, lda: s, b: v, ldb: d, c: o + r0 * d, ldc: d)
                    } else {
                        for i in 0..<rows { for j in 0..<dh { o[(r0 + i) * d + j] = 0 } }
                    }
                    r0 += rows
                }
            }
        }
    }
    guard Tape.needs([query, key, value]) else { return out }
    Tape.record(out) { g in
        let dq = Tensor(uninitialized: query.shape), dk = Tensor(zeroed: key.shape), dv = Tensor(zeroed: value.shape)
        let pg = g.data, pdq = dq.data, pdk = dk.data, pdv = dv.data
        let threads = Swift.min(Threads.count, b * heads)
        let scratch = Tensor(uninitialized: [threads, block, s])
        let ps = scratch.data
        ensureSerialBLAS()
        Threads.parallelFor(b * heads, chunks: threads) { chunk, pairs in
            let dp = ps + chunk * block * s
            for pair in pairs {
                let bi = pair / heads, h = pair % heads
                let q = pq + bi * l * d + h * dh, k = pk + bi * s * d + h * dh, v = pv + bi * s * d + h * dh
                let p = pp + pair * l * s, go = pg + bi * l * d + h * dh
                let gq = pdq + bi * l * d + h * dh, gk = pdk + bi * s * d + h * dh, gv = pdv + bi * s * d + h * dh
                var r0 = 0
                while r0 < l {
                    let rows = Swift.min(block, l - r0)
                    let cols = causal ? Swift.max(0, Swift.min(s, r0 + rows + offset)) : s
                    if cols == 0 {
                        for i in 0..<rows { for j in 0..<dh { gq[(r0 + i) * d + j] = 0 } }
                        r0 += rows
                        continue
                    }
                    let prow = p + r0 * s
                    // dV += Pᵀ dO
                    BLAS.sgemm(.transpose, .none, m: cols, n: dh, k: rows, a: prow, lda: s, b: go + r0 * d, ldb: d, beta: 1, c: gv, ldc: d)
                    // dP = dO Vᵀ, then dS = scale · P ⊙ (dP − Σ dP ⊙ P)
                    BLAS.sgemm(.none, .transpose, m: rows, n: cols, k: dh, a: go + r0 * d, lda: d, b: v, ldb: d, c: dp, ldc: s)
                    osk_attention_softmax_backward(prow, dp, rows, cols, s, scale)
                    // dQ = dS K, dK += dSᵀ Q
                    BLAS.sgemm(.none, .none, m: rows, n: dh, k: cols, a: dp, lda: s, b: k, ldb: d, c: gq + r0 * d, ldc: d)
                    BLAS.sgemm(.transpose, .none, m: cols, n: dh, k: rows, a: dp, lda: s, b: q + r0 * d, ldb: d, beta: 1, c: gk, ldc: d)
                    r0 += rows
                }
            }
        }
        accumulateGrad(query, dq, owned: true)
        accumulateGrad(key, dk, owned: true)
        accumulateGrad(value, dv, owned: true)
        _ = probs
    }
    return out
}

/// Query rows per block under a causal mask: small enough to skip most hidden keys, large enough
/// for efficient products.
func attentionRowBlock(_ l: Int) -> Int {
    if l <= 64 { return l }
    return 32
}

/// A read-only pointer that may be shared across parallel chunks.
struct SharedConstPointer<T>: @unchecked Sendable {
    let base: UnsafePointer<T>
    init(_ base: UnsafePointer<T>) { self.base = base }
}

extension Optional where Wrapped == [UInt8] {
    func withOptionalPointer<R>(_ body: (UnsafePointer<UInt8>?) -> R) -> R {
        switch self {
        case .none: return body(nil)
        case .some(let a): return a.withUnsafeBufferPointer { body($0.baseAddress) }
        }
    }
}
