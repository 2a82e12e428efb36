import Foundation
import OsusumeCore
import OsusumeKernels

/// The loss over a target and a set of sampled negative items, for catalogs too large for the
/// full softmax.
public enum SampledLoss: Equatable, Sendable {
    /// Softmax cross-entropy over the target and the negatives, each negative's logit lowered by
    /// its `logQ` (log of its expected count in the sample) so that the sum over the sample
    /// estimates the full softmax's denominator (Jean et al. 2015; Yi et al. 2019).
    case softmax
    /// gSASRec's generalised binary cross-entropy (Petrov & Macdonald 2023):
    /// −β·log σ(s⁺) − Σ log(1 − σ(s⁻)), where β < 1 counters the overconfidence that training
    /// against few negatives causes. `logQ` is not used (the negatives are meant to be uniform).
    case generalisedBCE(beta: Float)
}

/// A sampled loss of the logits `hidden · weightᵀ (+ bias)` restricted to each row's target and a
/// set of candidate negatives, computed `chunkRows` rows at a time with matrix products; the
/// gradients for hidden, weight and bias are formed in the same pass. Consecutive groups of
/// `groupRows` rows with a target share one set of `candidates.count / groups` negatives (set g
/// is `candidates[g·k ..< (g+1)·k]`): one set per group keeps an item that was drawn from being
/// pushed down by every row of a large batch at once. A candidate equal to a row's own target is
/// left out of that row ("accidental hit"). Mean over the rows whose target is not `ignoreIndex`.
///
/// - hidden: [..., dim]; weight: [vocabulary, dim]; bias: [vocabulary] or nil; one target per
///   row of hidden; candidates: item ids, ⌈rows with a target / groupRows⌉ sets of equal size;
///   logQ: one per candidate (softmax), nil for no correction.
public func sampledCrossEntropy(
    hidden: Tensor, weight: Tensor, bias: Tensor? = nil, targets: IndexTensor, candidates: [Int32],
    logQ: [Float]? = nil, groupRows: Int = .max, loss: SampledLoss = .softmax, ignoreIndex: Int32 = -100,
    chunkRows: Int = 256
) -> Tensor {
    let d = weight.shape[1], vocab = weight.shape[0]
    precondition(hidden.shape.last == d, "sampledCrossEntropy: hidden \(hidden.shape) does not end in \(d)")
    let rows = hidden.count / Swift.max(d, 1)
    precondition(targets.count == rows, "sampledCrossEntropy: \(targets.count) targets for \(rows) rows")
    precondition(groupRows > 0, "sampledCrossEntropy: groupRows must be positive")
    // Rows with a target, in order; the others get a zero gradient.
    var live: [Int] = []
    live.reserveCapacity(rows)
    for (i, t) in targets.values.enumerated() where t != ignoreIndex {
        precondition(t >= 0 && Int(t) < vocab, "sampledCrossEntropy: target \(t) outside the vocabulary")
        live.append(i)
    }
    let n = live.count
    let groups = n == 0 ? 1 : (n - 1) / groupRows + 1
    let k = candidates.count / groups
    precondition(k > 0 && k * groups == candidates.count, "sampledCrossEntropy: \(candidates.count) candidates for \(groups) groups")
    precondition(candidates.allSatisfy { $0 >= 0 && Int($0) < vocab }, "sampledCrossEntropy: candidates outside the vocabulary")
    if let logQ { precondition(logQ.count == candidates.count, "sampledCrossEntropy: \(logQ.count) logQ for \(candidates.count) candidates") }
    if let bias { precondition(bias.count == vocab) }
    let wantH = Tape.needs(hidden), wantW = Tape.needs(weight), wantB = bias.map { Tape.needs($0) } ?? false
    let wantAny = wantH || wantW || wantB
    let scale = 1 / Float(Swift.max(n, 1))
    let width = k + 1 // column 0: the target's logit; 1…k: the candidates'
    let chunk = Swift.max(1, chunkRows)
    // One partial weight gradient per thread (a full table each), so no finer split.
    let threads = Swift.max(1, Swift.min(Threads.count, (n + chunk - 1) / chunk))
    let dH = wantH ? Tensor(zeroed: hidden.shape) : nil
    let partialW = wantW ? Tensor(zeroed: [threads, vocab, d]) : nil
    let partialB = wantB ? Tensor(zeroed: [threads, vocab]) : nil
    // ∂loss/∂(target logit) per live row, for the targets' rows of weight and bias.
    var targetGrad = [Float](repeating: 0, count: Swift.max(n, 1))
    // Per thread: the logits, the chunk's hidden rows, the group's candidate rows and shifts.
    let logits = Tensor(uninitialized: [threads, chunk, width]), hc = Tensor(uninitialized: [threads, chunk, d])
    let wc = Tensor(uninitialized: [threads, k, d]), shifts = Tensor(uninitialized: [threads, k])
    let softplusBuffer = loss == .softmax ? nil : Tensor(uninitialized: [threads, chunk, width])
    // Per thread: the chunk's hidden gradient [chunk, dim], then the candidates' [k, dim].
    let gradScratch = Tensor(uninitialized: [wantAny ? threads * (chunk + k) * d : 1])
    var partialLoss = [Double](repeating: 0, count: threads)
    let ph = hidden.data, pw = weight.data, pbias = bias?.data
    let pdh = dH?.data, ppw = partialW?.data, ppb = partialB?.data
    let zeroTargets = [Int32](repeating: 0, count: chunk)
    let useLogQ = loss == .softmax && logQ != nil
    ensureSerialBLAS()
    targets.values.withUnsafeBufferPointer { tp in
        live.withUnsafeBufferPointer { lp in
            candidates.withUnsafeBufferPointer { cp in
                (logQ ?? []).withUnsafeBufferPointer { qp in
                    targetGrad.withUnsafeMutableBufferPointer { tgp in
                        partialLoss.withUnsafeMutableBufferPointer { plp in
                            let t = tp.baseAddress!, liveRows = lp.baseAddress!, allCandidates = cp.baseAddress!
                            let allLogQ = qp.baseAddress, tg = SharedPointer(tgp.baseAddress!), pl = SharedPointer(plp.baseAddress!)
                            Threads.parallelFor(n, chunks: threads) { c, range in
                                let buf = logits.data + c * chunk * width, hbuf = hc.data + c * chunk * d
                                let pwc = wc.data + c * k * d, shift = shifts.data + c * k
                                var total = 0.0, group = -1
                                var r0 = range.lowerBound
                                while r0 < range.upperBound {
                                    let g = r0 / groupRows
                                    let m = Swift.min(chunk, range.upperBound - r0, (g + 1) * groupRows - r0)
                                    defer { r0 += m }
                                    let cand = allCandidates + g * k
                                    if g != group {
                                        // The group's candidate rows and logit shifts (bias, −logQ).
                                        group = g
                                        for j in 0..<k {
                                            (pwc + j * d).update(from: pw + Int(cand[j]) * d, count: d)
                                            shift[j] = (pbias?[Int(cand[j])] ?? 0) - (useLogQ ? allLogQ![g * k + j] : 0)
                                        }
                                    }
                                    for i in 0..<m { (hbuf + i * d).update(from: ph + liveRows[r0 + i] * d, count: d) }
                                    BLAS.sgemm(
                                        .none, .transpose, m: m, n: k, k: d, a: hbuf, lda: d, b: pwc, ldb: d,
                                        c: buf + 1, ldc: width)
                                    for i in 0..<m {
                                        let row = buf + i * width, h = hbuf + i * d, target = t[liveRows[r0 + i]]
                                        let wt = pw + Int(target) * d
                                        var s: Float = pbias?[Int(target)] ?? 0
                                        for e in 0..<d { s += h[e] * wt[e] }
                                        row[0] = s
                                        for j in 0..<k { row[1 + j] = cand[j] == target ? -1e30 : row[1 + j] + shift[j] }
                                    }
                                    switch loss {
                                    case .softmax:
                                        var counted = 0
                                        total += osk_softmax_xent_rows(buf, m, width, width, zeroTargets, -1, 0, scale, wantAny ? 1 : 0, &counted)
                                    case .generalisedBCE(let beta):
                                        // With column 0 negated, softplus gives −log σ(s⁺) there and
                                        // −log(1 − σ(s⁻)) elsewhere, and sigmoid their derivatives.
                                        let sp = softplusBuffer!.data + c * chunk * width
                                        for i in 0..<m { buf[i * width] = -buf[i * width] }
                                        osk_softplus(buf, sp, m * width)
                                        for i in 0..<m {
                                            var l = Double(beta * sp[i * width])
                                            for j in 1..<width { l += Double(sp[i * width + j]) }
                                            total += l
                                        }
                                        if wantAny {
                                            osk_sigmoid(buf, buf, m * width)
                                            for i in 0..<m {
                                                let row = buf + i * width
                                                row[0] = -beta * row[0] * scale
                                                for j in 1..<width { row[j] *= scale }
                                            }
                                        }
                                    }
                                    guard wantAny else { continue }
                                    for i in 0..<m {
                                        let row = buf + i * width, target = t[liveRows[r0 + i]]
                                        tg[r0 + i] = row[0]
                                        for j in 0..<k where cand[j] == target { row[1 + j] = 0 } // accidental hits
                                    }
                                    if let ppb {
                                        let acc = ppb + c * vocab
                                        for i in 0..<m { let row = buf + i * width + 1; for j in 0..<k { acc[Int(cand[j])] += row[j] } }
                                    }
                                    if let pdh {
                                        // dh = G[:, 1…k]·Wc + g⁺·w_target, into the chunk's own rows.
                                        let dh = gradScratch.data + c * chunk * d
                                        BLAS.sgemm(.none, .none, m: m, n: d, k: k, a: buf + 1, lda: width, b: pwc, ldb: d, c: dh, ldc: d)
                                        for i in 0..<m {
                                            let out = pdh + liveRows[r0 + i] * d, g0 = buf[i * width], gi = dh + i * d
                                            let wt = pw + Int(t[liveRows[r0 + i]]) * d
                                            for e in 0..<d { out[e] = gi[e] + g0 * wt[e] }
                                        }
                                    }
                                    if let ppw {
                                        // Gᵀ·H for the group's candidates, added to their rows of the thread's table.
                                        let dwc = gradScratch.data + threads * chunk * d + c * k * d
                                        BLAS.sgemm(
                                            .transpose, .none, m: k, n: d, k: m, a: buf + 1, lda: width, b: hbuf, ldb: d,
                                            c: dwc, ldc: d)
                                        let acc = ppw + c * vocab * d
                                        for j in 0..<k {
                                            let dst = acc + Int(cand[j]) * d, src = dwc + j * d
                                            for e in 0..<d { dst[e] += src[e] }
                                        }
                                    }
                                }
                                pl[c] = total
                            }
                        }
                    }
                }
            }
        }
    }
    let out = Tensor(scalar: Float(partialLoss.reduce(0, +) / Double(Swift.max(n, 1))))
    guard wantAny else { return out }
    var pairs: [(Tensor, Tensor)] = []
    if let dH { pairs.append((hidden, dH)) }
    if let partialW {
        let dW = sumFirstAxis(partialW)
        for (i, r) in live.enumerated() {
            let dst = dW.data + Int(targets.values[r]) * d, h = ph + r * d, g = targetGrad[i]
            for e in 0..<d { dst[e] += g * h[e] }
        }
        pairs.append((weight, dW))
    }
    if let partialB, let bias {
        let dB = sumFirstAxis(partialB)
        for (i, r) in live.enumerated() { dB.data[Int(targets.values[r])] += targetGrad[i] }
        pairs.append((bias, dB))
    }
    recordPrecomputed(out, pairs)
    return out
}
