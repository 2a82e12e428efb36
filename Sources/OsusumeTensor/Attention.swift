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
public func scaledDotProductAttention(
    query: Tensor, key: Tensor, value: Tensor, heads: Int,
    causal: Bool = false, keyPadding: [Bool]? = nil
) -> Tensor {
    precondition(query.rank == 3 && key.rank == 3 && value.rank == 3, "attention takes [batch, length, dim] tensors")
    let b = query.shape[0], l = query.shape[1], d = query.shape[2], s = key.shape[1]
    precondition(key.shape == [b, s, d] && value.shape == [b, s, d], "attention: key/value \(key.shape)/\(value.shape) do not fit query \(query.shape)")
    let geo = AttentionGeometry(batch: b, queries: l, keys: s, dim: d, heads: heads, causal: causal, keyPadding: keyPadding)
    let probs = Tensor(uninitialized: [b, heads, l, s])
    let out = Tensor(uninitialized: [b, l, d])
    geo.forward(q: query.data, k: key.data, v: value.data, ldq: d, ldk: d, ldv: d, out: out.data, probs: probs.data)
    guard Tape.needs([query, key, value]) else { return out }
    Tape.record(out) { g in
        let dq = Tensor(uninitialized: query.shape), dk = Tensor(zeroed: key.shape), dv = Tensor(zeroed: value.shape)
        geo.backward(
            q: query.data, k: key.data, v: value.data, ldq: d, ldk: d, ldv: d, probs: probs.data, gradOut: g.data,
            dq: dq.data, dk: dk.data, dv: dv.data)
        accumulateGrad(query, dq, owned: true)
        accumulateGrad(key, dk, owned: true)
        accumulateGrad(value, dv, owned: true)
    }
    return out
}

/// Self-attention on packed projections: `qkv` is [B, L, 3·D] holding query, key and value side
/// by side (as one stacked projection produces them); returns [B, L, D]. Its gradient is one
/// packed [B, L, 3·D] tensor, so the three projections' backward is a single product.
public func packedSelfAttention(_ qkv: Tensor, heads: Int, causal: Bool = false, keyPadding: [Bool]? = nil) -> Tensor {
    precondition(qkv.rank == 3 && qkv.shape[2] % 3 == 0, "packedSelfAttention takes [batch, length, 3·dim]")
    let b = qkv.shape[0], l = qkv.shape[1], d = qkv.shape[2] / 3
    let geo = AttentionGeometry(batch: b, queries: l, keys: l, dim: d, heads: heads, causal: causal, keyPadding: keyPadding)
    let probs = Tensor(uninitialized: [b, heads, l, l])
    let out = Tensor(uninitialized: [b, l, d])
    let p = qkv.data
    geo.forward(q: p, k: p + d, v: p + 2 * d, ldq: 3 * d, ldk: 3 * d, ldv: 3 * d, out: out.data, probs: probs.data)
    guard Tape.needs(qkv) else { return out }
    Tape.record(out) { g in
        let dqkv = Tensor(zeroed: qkv.shape)
        let dp = dqkv.data
        geo.backward(
            q: p, k: p + d, v: p + 2 * d, ldq: 3 * d, ldk: 3 * d, ldv: 3 * d, probs: probs.data, gradOut: g.data,
            dq: dp, dk: dp + d, dv: dp + 2 * d)
        accumulateGrad(qkv, dqkv, owned: true)
    }
    return out
}

/// Attention of `query` [B, L, D] over packed keys and values `kv` [B, S, 2·D] (keys then values
/// side by side, as one stacked projection of the same input produces them); returns [B, L, D].
public func keyValueAttention(
    query: Tensor, kv: Tensor, heads: Int, causal: Bool = false,
    keyPadding: [Bool]? = nil
) -> Tensor {
    precondition(query.rank == 3 && kv.rank == 3, "attention takes [batch, length, dim] tensors")
    let b = query.shape[0], l = query.shape[1], d = query.shape[2], s = kv.shape[1]
    precondition(kv.shape == [b, s, 2 * d], "attention: packed keys/values \(kv.shape) do not fit query \(query.shape)")
    let geo = AttentionGeometry(batch: b, queries: l, keys: s, dim: d, heads: heads, causal: causal, keyPadding: keyPadding)
    let probs = Tensor(uninitialized: [b, heads, l, s])
    let out = Tensor(uninitialized: [b, l, d])
    let p = kv.data
    geo.forward(q: query.data, k: p, v: p + d, ldq: d, ldk: 2 * d, ldv: 2 * d, out: out.data, probs: probs.data)
    guard Tape.needs([query, kv]) else { return out }
    Tape.record(out) { g in
        let dq = Tensor(uninitialized: query.shape), dkv = Tensor(zeroed: kv.shape)
        geo.backward(
            q: query.data, k: p, v: p + d, ldq: d, ldk: 2 * d, ldv: 2 * d, probs: probs.data, gradOut: g.data,
            dq: dq.data, dk: dkv.data, dv: dkv.data + d)
        accumulateGrad(query, dq, owned: true)
        accumulateGrad(kv, dkv, owned: true)
    }
    return out
}

/// Sizes and masks of one attention call, and its forward and backward kernels over raw
/// pointers with row strides (so packed and separate projections share the code).
struct AttentionGeometry {
    let b: Int, l: Int, s: Int, d: Int, heads: Int, dh: Int
    let causal: Bool
    let keep: [UInt8]?
    let scale: Float
    let block: Int

    init(batch: Int, queries: Int, keys: Int, dim: Int, heads: Int, causal: Bool, keyPadding: [Bool]?) {
        precondition(dim % heads == 0, "dimension \(dim) is not divisible by \(heads) heads")
        b = batch; l = queries; s = keys; d = dim; self.heads = heads; dh = dim / heads
        self.causal = causal
        keep = keyPadding.map { flags in
            precondition(flags.count == batch * keys, "keyPadding needs batch × keys = \(batch * keys) flags")
            return flags.map { $0 ? 1 : 0 }
        }
        scale = 1 / Float(dh).squareRoot()
        block = causal ? attentionRowBlock(queries) : queries
    }

    /// Keys visible to query rows r0..<r0+rows (all of them without a causal mask).
    @inline(__always) func visibleKeys(_ r0: Int, _ rows: Int) -> Int {
        causal ? Swift.max(0, Swift.min(s, r0 + rows + s - l)) : s
    }

    func forward(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ldq: Int, ldk: Int, ldv: Int,
        out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>
    ) {
        ensureSerialBLAS()
        let po = SharedPointer(out), pp = SharedPointer(probs)
        keep.withOptionalPointer { keepPtr in
            let kp = keepPtr.map { SharedConstPointer($0) }
            Threads.parallelFor(b * heads, chunks: Threads.count == 1 ? 1 : Threads.count * chunksPerThread) { _, pairs in
                for pair in pairs {
                    let bi = pair / heads, h = pair % heads
                    let qb = q + bi * l * ldq + h * dh, kb = k + bi * s * ldk + h * dh, vb = v + bi * s * ldv + h * dh
                    let p = pp.base + pair * l * s, o = po.base + bi * l * d + h * dh
                    var r0 = 0
                    while r0 < l {
                        let rows = Swift.min(block, l - r0)
                        let cols = visibleKeys(r0, rows)
                        let prow = p + r0 * s
                        if cols > 0 {
                            BLAS.sgemm(.none, .transpose, m: rows, n: cols, k: dh, a: qb + r0 * ldq, lda: ldq, b: kb, ldb: ldk, c: prow, ldc: s)
                        }
                        osk_attention_softmax(prow, rows, s, s, r0 + s - l, causal ? 1 : 0, kp.map { $0.base + bi * s }, scale)
                        if cols > 0 {
                            BLAS.sgemm(.none, .none, m: rows, n: dh, k: cols, a: prow, lda: s, b: vb, ldb: ldv, c: o + r0 * d, ldc: d)
                        } else {
                            for i in 0..<rows { for j in 0..<dh { o[(r0 + i) * d + j] = 0 } }
                        }
                        r0 += rows
                    }
                }
            }
        }
    }

    /// dq is overwritten; dk and dv are accumulated (pass zeroed buffers).
    func backward(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ldq: Int, ldk: Int, ldv: Int,
        probs: UnsafePointer<Float>, gradOut: UnsafePointer<Float>,
        dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>
    ) {
        ensureSerialBLAS()
        let threads = Threads.count == 1 ? 1 : Swift.max(1, Swift.min(Threads.count * chunksPerThread, b * heads))
        let scratch = Tensor(uninitialized: [threads, block, s])
        let ps = SharedPointer(scratch.data)
        let gq = SharedPointer(dq), gk = SharedPointer(dk), gv = SharedPointer(dv)
        Threads.parallelFor(b * heads, chunks: threads) { chunk, pairs in
            let dp = ps.base + chunk * block * s
            for pair in pairs {
                let bi = pair / heads, h = pair % heads
                let qb = q + bi * l * ldq + h * dh, kb = k + bi * s * ldk + h * dh, vb = v + bi * s * ldv + h * dh
                let p = probs + pair * l * s, go = gradOut + bi * l * d + h * dh
                let dqb = gq.base + bi * l * ldq + h * dh, dkb = gk.base + bi * s * ldk + h * dh, dvb = gv.base + bi * s * ldv + h * dh
                var r0 = 0
                while r0 < l {
                    let rows = Swift.min(block, l - r0)
                    let cols = visibleKeys(r0, rows)
                    defer { r0 += rows }
                    if cols == 0 {
                        for i in 0..<rows { for j in 0..<dh { dqb[(r0 + i) * ldq + j] = 0 } }
                        continue
                    }
                    let prow = p + r0 * s
                    // dV += Pᵀ dO
                    BLAS.sgemm(.transpose, .none, m: cols, n: dh, k: rows, a: prow, lda: s, b: go + r0 * d, ldb: d, beta: 1, c: dvb, ldc: ldv)
                    // dP = dO Vᵀ, then dS = scale · P ⊙ (dP − Σ dP ⊙ P)
                    BLAS.sgemm(.none, .transpose, m: rows, n: cols, k: dh, a: go + r0 * d, lda: d, b: vb, ldb: ldv, c: dp, ldc: s)
                    osk_attention_softmax_backward(prow, dp, rows, cols, s, scale)
                    // dQ = dS K, dK += dSᵀ Q
                    BLAS.sgemm(.none, .none, m: rows, n: dh, k: cols, a: dp, lda: s, b: kb, ldb: ldk, c: dqb + r0 * ldq, ldc: ldq)
                    BLAS.sgemm(.transpose, .none, m: cols, n: dh, k: rows, a: dp, lda: s, b: qb + r0 * ldq, ldb: ldq, beta: 1, c: dkb, ldc: ldk)
                }
            }
        }
        withExtendedLifetime(scratch) {}
    }
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

/// HSTU's pointwise causal self-attention (Zhai et al. 2024): query i takes
/// Σ_{j ≤ i} scale · silu(q_i · k_j + bias[i − j]) · v_j, per head, with no softmax, so the
/// weights need not sum to one and a long history weighs more than a short one. `qkv` is
/// [B, L, 3·D] (query, key and value side by side); `relativeBias` holds one learned value per
/// distance i − j, shared by the heads (distances past its end use its last value); `scale` is
/// HSTU's 1 / n for a window of n items. keyPadding: B·L flags, false for padding keys.
/// The pre-activations are kept for the backward pass ([B, heads, L, L] floats).
public func pointwiseSelfAttention(
    _ qkv: Tensor, relativeBias: Tensor, heads: Int, scale: Float, keyPadding: [Bool]? = nil
) -> Tensor {
    precondition(qkv.rank == 3 && qkv.shape[2] % 3 == 0, "pointwiseSelfAttention takes [batch, length, 3·dim]")
    precondition(relativeBias.rank == 1 && relativeBias.count > 0, "relativeBias is one value per distance")
    let b = qkv.shape[0], l = qkv.shape[1], d = qkv.shape[2] / 3
    let geo = AttentionGeometry(batch: b, queries: l, keys: l, dim: d, heads: heads, causal: true, keyPadding: keyPadding)
    let attention = PointwiseAttention(geo: geo, scale: scale, distances: relativeBias.count)
    let pre = Tensor(uninitialized: [b, heads, l, l])
    let out = Tensor(uninitialized: [b, l, d])
    let p = qkv.data
    attention.forward(q: p, k: p + d, v: p + 2 * d, ld: 3 * d, bias: relativeBias.data, out: out.data, pre: pre.data)
    guard Tape.needs([qkv, relativeBias]) else { return out }
    Tape.record(out) { g in
        let dqkv = Tensor(zeroed: qkv.shape), dBias = Tensor(zeroed: relativeBias.shape)
        let dp = dqkv.data
        attention.backward(
            q: p, k: p + d, v: p + 2 * d, ld: 3 * d, pre: pre.data, gradOut: g.data,
            dq: dp, dk: dp + d, dv: dp + 2 * d, dBias: dBias.data)
        accumulateGrad(qkv, dqkv, owned: true)
        accumulateGrad(relativeBias, dBias, owned: true)
    }
    return out
}

/// Forward and backward kernels of `pointwiseSelfAttention` over causal row blocks.
struct PointwiseAttention {
    let geo: AttentionGeometry
    let scale: Float
    let distances: Int

    /// Row `i` of a block: adds the relative bias to the first `visible` pre-activations.
    @inline(__always) func addBias(_ a: UnsafeMutablePointer<Float>, row i: Int, visible: Int, bias: UnsafePointer<Float>) {
        let last = distances - 1
        for j in 0..<visible { a[j] += bias[Swift.min(i - j, last)] }
    }

    /// Weights of one row: scale · silu(a) over the visible keys that are not padding, 0 elsewhere
    /// up to `cols`.
    @inline(__always) func weights(
        _ a: UnsafePointer<Float>, _ w: UnsafeMutablePointer<Float>, visible: Int, cols: Int, keep: UnsafePointer<UInt8>?
    ) {
        osk_silu(a, w, visible)
        if let keep {
            for j in 0..<visible { w[j] = keep[j] == 0 ? 0 : w[j] * scale }
        } else {
            for j in 0..<visible { w[j] *= scale }
        }
        for j in visible..<cols { w[j] = 0 }
    }

    func forward(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ld: Int, bias: UnsafePointer<Float>,
        out: UnsafeMutablePointer<Float>, pre: UnsafeMutablePointer<Float>
    ) {
        ensureSerialBLAS()
        let (b, l, d, heads, dh, block) = (geo.b, geo.l, geo.d, geo.heads, geo.dh, geo.block)
        let threads = Threads.count == 1 ? 1 : Swift.max(1, Swift.min(Threads.count * chunksPerThread, b * heads))
        let scratch = Tensor(uninitialized: [threads, block, l])
        let ps = SharedPointer(scratch.data), po = SharedPointer(out), pp = SharedPointer(pre)
        geo.keep.withOptionalPointer { keepPtr in
            let kp = keepPtr.map { SharedConstPointer($0) }
            Threads.parallelFor(b * heads, chunks: threads) { chunk, pairs in
                let w = ps.base + chunk * block * l
                for pair in pairs {
                    let bi = pair / heads, h = pair % heads
                    let qb = q + bi * l * ld + h * dh, kb = k + bi * l * ld + h * dh, vb = v + bi * l * ld + h * dh
                    let a = pp.base + pair * l * l, o = po.base + bi * l * d + h * dh
                    let keep = kp.map { $0.base + bi * l }
                    var r0 = 0
                    while r0 < l {
                        let rows = Swift.min(block, l - r0), cols = r0 + rows
                        BLAS.sgemm(.none, .transpose, m: rows, n: cols, k: dh, a: qb + r0 * ld, lda: ld, b: kb, ldb: ld, c: a + r0 * l, ldc: l)
                        for i in 0..<rows {
                            let row = a + (r0 + i) * l
                            addBias(row, row: r0 + i, visible: r0 + i + 1, bias: bias)
                            weights(row, w + i * l, visible: r0 + i + 1, cols: cols, keep: keep)
                        }
                        BLAS.sgemm(.none, .none, m: rows, n: dh, k: cols, a: w, lda: l, b: vb, ldb: ld, c: o + r0 * d, ldc: d)
                        r0 += rows
                    }
                }
            }
        }
        withExtendedLifetime(scratch) {}
    }

    /// dq is overwritten; dk, dv and dBias are accumulated (pass zeroed buffers).
    func backward(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ld: Int,
        pre: UnsafePointer<Float>, gradOut: UnsafePointer<Float>,
        dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
        dBias: UnsafeMutablePointer<Float>
    ) {
        ensureSerialBLAS()
        let (b, l, d, heads, dh, block) = (geo.b, geo.l, geo.d, geo.heads, geo.dh, geo.block)
        let threads = Threads.count == 1 ? 1 : Swift.max(1, Swift.min(Threads.count * chunksPerThread, b * heads))
        // Per chunk: the block's weights, their gradient, and a partial bias gradient.
        let scratch = Tensor(uninitialized: [threads, 2 * block * l])
        let partialBias = Tensor(zeroed: [threads, distances])
        let ps = SharedPointer(scratch.data), pb = SharedPointer(partialBias.data)
        let gq = SharedPointer(dq), gk = SharedPointer(dk), gv = SharedPointer(dv)
        let last = distances - 1
        geo.keep.withOptionalPointer { keepPtr in
            let kp = keepPtr.map { SharedConstPointer($0) }
            Threads.parallelFor(b * heads, chunks: threads) { chunk, pairs in
                let w = ps.base + chunk * 2 * block * l, dw = w + block * l
                let db = pb.base + chunk * distances
                for pair in pairs {
                    let bi = pair / heads, h = pair % heads
                    let qb = q + bi * l * ld + h * dh, kb = k + bi * l * ld + h * dh, vb = v + bi * l * ld + h * dh
                    let a = pre + pair * l * l, go = gradOut + bi * l * d + h * dh
                    let dqb = gq.base + bi * l * ld + h * dh, dkb = gk.base + bi * l * ld + h * dh, dvb = gv.base + bi * l * ld + h * dh
                    let keep = kp.map { $0.base + bi * l }
                    var r0 = 0
                    while r0 < l {
                        let rows = Swift.min(block, l - r0), cols = r0 + rows
                        for i in 0..<rows { weights(a + (r0 + i) * l, w + i * l, visible: r0 + i + 1, cols: cols, keep: keep) }
                        // dV += Wᵀ dO; dW = dO Vᵀ; dA = scale · silu'(A) ⊙ dW on the visible, kept keys.
                        BLAS.sgemm(.transpose, .none, m: cols, n: dh, k: rows, a: w, lda: l, b: go + r0 * d, ldb: d, beta: 1, c: dvb, ldc: ld)
                        BLAS.sgemm(.none, .transpose, m: rows, n: cols, k: dh, a: go + r0 * d, lda: d, b: vb, ldb: ld, c: dw, ldc: l)
                        for i in 0..<rows {
                            let ri = r0 + i, visible = ri + 1, row = dw + i * l
                            osk_silu_backward(a + ri * l, row, row, visible)
                            if let keep {
                                for j in 0..<visible { row[j] = keep[j] == 0 ? 0 : row[j] * scale }
                            } else {
                                for j in 0..<visible { row[j] *= scale }
                            }
                            for j in 0..<visible { db[Swift.min(ri - j, last)] += row[j] }
                            for j in visible..<cols { row[j] = 0 }
                        }
                        // dQ = dA K, dK += dAᵀ Q
                        BLAS.sgemm(.none, .none, m: rows, n: dh, k: cols, a: dw, lda: l, b: kb, ldb: ld, c: dqb + r0 * ld, ldc: ld)
                        BLAS.sgemm(.transpose, .none, m: cols, n: dh, k: rows, a: dw, lda: l, b: qb + r0 * ld, ldb: ld, beta: 1, c: dkb, ldc: ld)
                        r0 += rows
                    }
                }
            }
        }
        for c in 0..<threads { for t in 0..<distances { dBias[t] += partialBias.data[c * distances + t] } }
        withExtendedLifetime(scratch) {}
    }
}
