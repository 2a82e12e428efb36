import Foundation
import OsusumeCore
import OsusumeKernels

/// Records a loss whose gradients were computed during the forward pass (assuming an upstream
/// gradient of 1); the backward pass only rescales them by the actual upstream gradient.
func recordPrecomputed(_ out: Tensor, _ pairs: [(Tensor, Tensor)]) {
    Tape.record(out) { g in
        let s = g.item
        for (input, grad) in pairs where input.requiresGrad {
            accumulateGrad(input, s == 1 ? grad : affine(grad, scale: s, shift: 0), owned: s != 1)
        }
    }
}

/// Softmax cross-entropy of `logits` [..., classes] against class `targets` (one per row), mean
/// over the rows whose target is not `ignoreIndex`. `labelSmoothing` ε mixes the one-hot target
/// with a uniform one: (1 − ε)·onehot + ε/classes. Fused: one pass computes loss and gradient.
public func crossEntropy(
    _ logits: Tensor, _ targets: IndexTensor, ignoreIndex: Int32 = -100,
    labelSmoothing: Float = 0
) -> Tensor {
    let cols = logits.shape.last ?? 1, rows = logits.count / Swift.max(cols, 1)
    precondition(targets.count == rows, "crossEntropy: \(targets.count) targets for \(rows) rows")
    let valid = targets.values.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
    let wantGrad = Tape.needs(logits)
    let work = wantGrad ? Tensor(uninitialized: logits.shape) : Tensor(uninitialized: [Swift.min(rows, 64), cols])
    if wantGrad { work.data.update(from: logits.data, count: logits.count) }
    let scale = 1 / Float(Swift.max(valid, 1))
    var loss = 0.0
    targets.values.withUnsafeBufferPointer { tp in
        let t = tp.baseAddress!
        if wantGrad {
            let chunks = Swift.min(Threads.count, Swift.max(1, logits.count / parallelThreshold))
            var partial = [Double](repeating: 0, count: chunks)
            partial.withUnsafeMutableBufferPointer { pb in
                let p = SharedPointer(pb.baseAddress!)
                let w = work.data
                Threads.parallelFor(rows, chunks: chunks) { c, r in
                    var n = 0
                    p[c] = osk_softmax_xent_rows(
                        w + r.lowerBound * cols, r.count, cols, cols, t + r.lowerBound,
                        ignoreIndex, labelSmoothing, scale, 1, &n)
                }
            }
            loss = partial.reduce(0, +)
        } else {
            // Without gradients, rows are copied into a small scratch buffer chunk by chunk.
            var r0 = 0, n = 0
            while r0 < rows {
                let rr = Swift.min(64, rows - r0)
                work.data.update(from: logits.data + r0 * cols, count: rr * cols)
                loss += osk_softmax_xent_rows(work.data, rr, cols, cols, t + r0, ignoreIndex, labelSmoothing, 1, 0, &n)
                r0 += rr
            }
        }
    }
    let out = Tensor(scalar: Float(loss / Double(Swift.max(valid, 1))))
    if wantGrad { recordPrecomputed(out, [(logits, work)]) }
    return out
}

/// Softmax cross-entropy of the logits `hidden · weightᵀ (+ bias)` over a large vocabulary,
/// computed `chunkRows` rows at a time so that the full rows × vocabulary logits never exist.
/// The gradients for hidden, weight and bias are formed chunk by chunk in the same pass.
///
/// - hidden: [..., dim]; weight: [vocabulary, dim] (for example a tied item embedding table);
///   bias: [vocabulary] or nil; one target per row of hidden.
public func chunkedCrossEntropy(
    hidden: Tensor, weight: Tensor, bias: Tensor? = nil, targets: IndexTensor,
    ignoreIndex: Int32 = -100, labelSmoothing: Float = 0, chunkRows: Int = 128
) -> Tensor {
    let d = weight.shape[1], vocab = weight.shape[0]
    precondition(hidden.shape.last == d, "chunkedCrossEntropy: hidden \(hidden.shape) does not end in \(d)")
    let rows = hidden.count / Swift.max(d, 1)
    precondition(targets.count == rows, "chunkedCrossEntropy: \(targets.count) targets for \(rows) rows")
    if let bias { precondition(bias.count == vocab) }
    let valid = targets.values.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
    let wantH = Tape.needs(hidden), wantW = Tape.needs(weight), wantB = bias.map { Tape.needs($0) } ?? false
    let wantAny = wantH || wantW || wantB
    let scale = 1 / Float(Swift.max(valid, 1))
    let threads = Threads.count == 1 ? 1 : Swift.max(1, Swift.min(Threads.count * chunksPerThread, (rows + chunkRows - 1) / chunkRows))
    let dH = wantH ? Tensor(uninitialized: hidden.shape) : nil
    let partialW = wantW ? Tensor(zeroed: [threads, vocab, d]) : nil
    let partialB = wantB ? Tensor(zeroed: [threads, vocab]) : nil
    let scratch = Tensor(uninitialized: [threads, chunkRows, vocab])
    var partialLoss = [Double](repeating: 0, count: threads)
    let ph = hidden.data, pw = weight.data, pbias = bias?.data
    let pdh = dH?.data, ppw = partialW?.data, ppb = partialB?.data, ps = scratch.data
    ensureSerialBLAS()
    targets.values.withUnsafeBufferPointer { tp in
        let t = tp.baseAddress!
        partialLoss.withUnsafeMutableBufferPointer { lb in
            let lp = SharedPointer(lb.baseAddress!)
            Threads.parallelFor(rows, chunks: threads) { c, range in
                let buf = ps + c * chunkRows * vocab
                var loss = 0.0, counted = 0
                var r0 = range.lowerBound
                while r0 < range.upperBound {
                    let n = Swift.min(chunkRows, range.upperBound - r0)
                    defer { r0 += n }
                    var any = false
                    for i in r0..<(r0 + n) where t[i] != ignoreIndex { any = true; break }
                    if !any {
                        if let pdh { (pdh + r0 * d).initialize(repeating: 0, count: n * d) }
                        continue
                    }
                    if let pbias { for i in 0..<n { (buf + i * vocab).update(from: pbias, count: vocab) } }
                    BLAS.sgemm(
                        .none, .transpose, m: n, n: vocab, k: d, a: ph + r0 * d, lda: d, b: pw, ldb: d,
                        beta: pbias == nil ? 0 : 1, c: buf, ldc: vocab)
                    loss += osk_softmax_xent_rows(
                        buf, n, vocab, vocab, t + r0, ignoreIndex, labelSmoothing, scale,
                        wantAny ? 1 : 0, &counted)
                    guard wantAny else { continue }
                    if let pdh {
                        BLAS.sgemm(.none, .none, m: n, n: d, k: vocab, a: buf, lda: vocab, b: pw, ldb: d, c: pdh + r0 * d, ldc: d)
                    }
                    if let ppw {
                        BLAS.sgemm(
                            .transpose, .none, m: vocab, n: d, k: n, a: buf, lda: vocab, b: ph + r0 * d, ldb: d,
                            beta: 1, c: ppw + c * vocab * d, ldc: d)
                    }
                    if let ppb {
                        let acc = ppb + c * vocab
                        for i in 0..<n { let row = buf + i * vocab; for j in 0..<vocab { acc[j] += row[j] } }
                    }
                }
                lp[c] = loss
            }
        }
    }
    let out = Tensor(scalar: Float(partialLoss.reduce(0, +) / Double(Swift.max(valid, 1))))
    guard wantAny else { return out }
    var pairs: [(Tensor, Tensor)] = []
    if let dH { pairs.append((hidden, dH)) }
    if let partialW { pairs.append((weight, sumFirstAxis(partialW))) }
    if let partialB, let bias { pairs.append((bias, sumFirstAxis(partialB))) }
    recordPrecomputed(out, pairs)
    return out
}

/// Σ over the first axis of [parts, ...], in order (deterministic).
func sumFirstAxis(_ t: Tensor) -> Tensor {
    let parts = t.shape[0], n = t.count / Swift.max(parts, 1)
    if parts == 1 { return t.reshaped(Array(t.shape.dropFirst())) }
    let out = Tensor(uninitialized: Array(t.shape.dropFirst()))
    let po = out.data, pt = t.data
    parallelRange(n) { r in
        for i in r {
            var s: Float = 0
            for p in 0..<parts { s += pt[p * n + i] }
            po[i] = s
        }
    }
    return out
}

/// Mean binary cross-entropy between sigmoid(logits) and `targets` in [0, 1], computed from the
/// logits for stability: softplus(x) − x·t. Optional per-element `weights` (same shape).
public func binaryCrossEntropyWithLogits(_ logits: Tensor, _ targets: Tensor, weights: Tensor? = nil) -> Tensor {
    precondition(logits.shape == targets.shape, "BCE: logits \(logits.shape) vs targets \(targets.shape)")
    if let weights { precondition(weights.shape == logits.shape) }
    let n = logits.count
    let sp = Tensor(uninitialized: logits.shape)
    mapKernel(logits.data, sp.data, n) { osk_softplus($0, $1, $2) }
    let px = logits.data, pt = targets.data, psp = sp.data, pwt = weights?.data
    parallelRange(n) { r in
        for i in r { let l = psp[i] - px[i] * pt[i]; psp[i] = pwt.map { l * $0[i] } ?? l }
    }
    let out = Tensor(scalar: Float(sumAll(psp, n) / Double(Swift.max(n, 1))))
    guard Tape.needs(logits, targets) else { return out }
    let inv = 1 / Float(Swift.max(n, 1))
    var pairs: [(Tensor, Tensor)] = []
    if logits.requiresGrad {
        let dx = Tensor(uninitialized: logits.shape)
        mapKernel(px, dx.data, n) { osk_sigmoid($0, $1, $2) }
        let pd = dx.data
        parallelRange(n) { r in for i in r { pd[i] = (pd[i] - pt[i]) * inv * (pwt?[i] ?? 1) } }
        pairs.append((logits, dx))
    }
    if targets.requiresGrad {
        let dt = Tensor(uninitialized: targets.shape)
        let pd = dt.data
        parallelRange(n) { r in for i in r { pd[i] = -px[i] * inv * (pwt?[i] ?? 1) } }
        pairs.append((targets, dt))
    }
    recordPrecomputed(out, pairs)
    return out
}

/// Multinomial negative log-likelihood (Multi-VAE/DAE): −(1/batch) Σ targets ⊙ logSoftmax(logits),
/// with logits and targets of shape [batch, items].
public func multinomialNLL(_ logits: Tensor, _ targets: Tensor) -> Tensor {
    precondition(logits.shape == targets.shape && logits.rank == 2, "multinomialNLL takes equal [batch, items] shapes")
    let rows = logits.shape[0], cols = logits.shape[1]
    let ls = Tensor(uninitialized: logits.shape)
    let px = logits.data, pt = targets.data, pl = ls.data
    parallelRows(rows, cols: cols) { r in osk_log_softmax_rows(px + r.lowerBound * cols, pl + r.lowerBound * cols, r.count, cols) }
    var total = 0.0
    for r in 0..<rows {
        var s: Float = 0
        let o = r * cols
        for j in 0..<cols { s += pt[o + j] * pl[o + j] }
        total += Double(s)
    }
    let inv = 1 / Float(Swift.max(rows, 1))
    let out = Tensor(scalar: Float(-total) * inv)
    guard Tape.needs(logits, targets) else { return out }
    var pairs: [(Tensor, Tensor)] = []
    if logits.requiresGrad {
        let dx = Tensor(uninitialized: logits.shape)
        let pd = dx.data
        parallelRows(rows, cols: cols) { r in
            for row in r {
                let o = row * cols
                var tsum: Float = 0
                for j in 0..<cols { tsum += pt[o + j] }
                osk_exp(pl + o, pd + o, cols)
                for j in 0..<cols { pd[o + j] = (pd[o + j] * tsum - pt[o + j]) * inv }
            }
        }
        pairs.append((logits, dx))
    }
    if targets.requiresGrad {
        let dt = Tensor(uninitialized: targets.shape)
        let pd = dt.data
        parallelRange(rows * cols) { r in for i in r { pd[i] = -pl[i] * inv } }
        pairs.append((targets, dt))
    }
    recordPrecomputed(out, pairs)
    return out
}

/// The same loss with sparse targets (each user's items and their weights, as the autoencoders
/// read them): no dense target is built, and the gradient (softmax · Σt − t) / batch is written
/// over the log-softmax in the same pass.
public func multinomialNLL(_ logits: Tensor, _ targets: SparseRows) -> Tensor {
    precondition(
        logits.rank == 2 && logits.shape[0] == targets.rowCount && logits.shape[1] == targets.columnCount,
        "multinomialNLL: logits \(logits.shape) for sparse targets [\(targets.rowCount), \(targets.columnCount)]")
    let rows = logits.shape[0], cols = logits.shape[1]
    let inv = 1 / Float(Swift.max(rows, 1))
    let withGrad = Tape.needs(logits)
    let buf = Tensor(uninitialized: logits.shape)
    let px = logits.data, pb = SharedPointer(buf.data)
    var rowLoss = [Float](repeating: 0, count: rows)
    rowLoss.withUnsafeMutableBufferPointer { lossBuf in
        let losses = SharedPointer(lossBuf.baseAddress!)
        targets.offsets.withUnsafeBufferPointer { off in
            targets.columns.withUnsafeBufferPointer { tc in
                targets.values.withUnsafeBufferPointer { tv in
                    parallelRows(rows, cols: cols) { r in
                        osk_log_softmax_rows(px + r.lowerBound * cols, pb.base + r.lowerBound * cols, r.count, cols)
                        for row in r {
                            let o = pb.base + row * cols
                            var s: Float = 0, tsum: Float = 0
                            for p in off[row]..<off[row + 1] { s += tv[p] * o[Int(tc[p])]; tsum += tv[p] }
                            losses[row] = s
                            guard withGrad else { continue }
                            osk_exp(o, o, cols)
                            let scale = tsum * inv
                            for j in 0..<cols { o[j] *= scale }
                            for p in off[row]..<off[row + 1] { o[Int(tc[p])] -= tv[p] * inv }
                        }
                    }
                }
            }
        }
    }
    var total = 0.0
    for v in rowLoss { total += Double(v) }
    let out = Tensor(scalar: Float(-total) * inv)
    if withGrad { recordPrecomputed(out, [(logits, buf)]) }
    return out
}

/// Mean Huber loss: ½d² where |d| ≤ delta, delta·(|d| − ½delta) beyond, with d = prediction − target.
public func huberLoss(_ prediction: Tensor, _ target: Tensor, delta: Float = 1) -> Tensor {
    precondition(prediction.shape == target.shape, "huberLoss: \(prediction.shape) vs \(target.shape)")
    let n = prediction.count
    let pp = prediction.data, pt = target.data
    var total = 0.0
    for i in 0..<n {
        let d = pp[i] - pt[i], a = Swift.abs(d)
        total += Double(a <= delta ? 0.5 * d * d : delta * (a - 0.5 * delta))
    }
    let out = Tensor(scalar: Float(total / Double(Swift.max(n, 1))))
    guard Tape.needs(prediction, target) else { return out }
    let inv = 1 / Float(Swift.max(n, 1))
    let dp = Tensor(uninitialized: prediction.shape)
    for i in 0..<n { dp.data[i] = Swift.min(Swift.max(pp[i] - pt[i], -delta), delta) * inv }
    var pairs: [(Tensor, Tensor)] = [(prediction, dp)]
    if target.requiresGrad { pairs.append((target, negate(dp))) }
    recordPrecomputed(out, pairs)
    return out
}

/// Mean squared error.
public func mseLoss(_ prediction: Tensor, _ target: Tensor) -> Tensor {
    mean(square(prediction - target))
}

/// KL(N(mean, exp(logVariance)) ‖ N(0, 1)) summed over latent dimensions and averaged over the
/// batch (first axis): −½ Σ (1 + logvar − mean² − exp(logvar)) / batch.
public func gaussianKL(mean mu: Tensor, logVariance lv: Tensor) -> Tensor {
    precondition(mu.shape == lv.shape, "gaussianKL: \(mu.shape) vs \(lv.shape)")
    let batch = mu.rank > 1 ? mu.shape[0] : 1
    let n = mu.count
    let ev = Tensor(uninitialized: lv.shape)
    mapKernel(lv.data, ev.data, n) { osk_exp($0, $1, $2) }
    let pm = mu.data, pl = lv.data, pe = ev.data
    var total = 0.0
    for i in 0..<n { total += Double(1 + pl[i] - pm[i] * pm[i] - pe[i]) }
    let inv = 1 / Float(batch)
    let out = Tensor(scalar: Float(-0.5 * total) * inv)
    guard Tape.needs(mu, lv) else { return out }
    var pairs: [(Tensor, Tensor)] = []
    if mu.requiresGrad {
        let d = Tensor(uninitialized: mu.shape)
        for i in 0..<n { d.data[i] = pm[i] * inv }
        pairs.append((mu, d))
    }
    if lv.requiresGrad {
        let d = Tensor(uninitialized: lv.shape)
        for i in 0..<n { d.data[i] = 0.5 * (pe[i] - 1) * inv }
        pairs.append((lv, d))
    }
    recordPrecomputed(out, pairs)
    return out
}
