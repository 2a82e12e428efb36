import Foundation
import OsusumeCore
import OsusumeKernels

/// Rows of the last axis processed in parallel chunks of whole rows.
@inline(__always)
func parallelRows(_ rows: Int, cols: Int, _ body: (Range<Int>) -> Void) {
    parallelRange(rows, minChunk: Swift.max(1, parallelThreshold / 2 / Swift.max(cols, 1)), body)
}

/// Numerically stable softmax over the last axis.
public func softmax(_ x: Tensor) -> Tensor {
    let cols = x.shape.last ?? 1, rows = x.count / Swift.max(cols, 1)
    let out = Tensor(uninitialized: x.shape)
    let px = x.data, po = out.data
    parallelRows(rows, cols: cols) { r in osk_softmax_rows(px + r.lowerBound * cols, po + r.lowerBound * cols, r.count, cols) }
    if Tape.needs(x) {
        Tape.record(out) { g in
            let dx = Tensor(uninitialized: x.shape)
            let pg = g.data, pd = dx.data
            parallelRows(rows, cols: cols) { r in
                let o = r.lowerBound * cols
                osk_softmax_backward_rows(po + o, pg + o, pd + o, r.count, cols)
            }
            accumulateGrad(x, dx, owned: true)
        }
    }
    return out
}

/// Numerically stable log-softmax over the last axis.
public func logSoftmax(_ x: Tensor) -> Tensor {
    let cols = x.shape.last ?? 1, rows = x.count / Swift.max(cols, 1)
    let out = Tensor(uninitialized: x.shape)
    let px = x.data, po = out.data
    parallelRows(rows, cols: cols) { r in osk_log_softmax_rows(px + r.lowerBound * cols, po + r.lowerBound * cols, r.count, cols) }
    if Tape.needs(x) {
        Tape.record(out) { g in
            let dx = Tensor(uninitialized: x.shape)
            let pg = g.data, pd = dx.data
            parallelRows(rows, cols: cols) { r in
                let o = r.lowerBound * cols
                osk_log_softmax_backward_rows(po + o, pg + o, pd + o, r.count, cols)
            }
            accumulateGrad(x, dx, owned: true)
        }
    }
    return out
}

/// Layer normalisation over the last axis (fused kernel): (x − mean)/√(var + eps) · weight + bias.
public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
    let cols = x.shape.last ?? 1, rows = x.count / Swift.max(cols, 1)
    if let weight { precondition(weight.count == cols) }
    if let bias { precondition(bias.count == cols) }
    let out = Tensor(uninitialized: x.shape)
    let stats = Tensor(uninitialized: [2, rows])
    let px = x.data, po = out.data, mean = stats.data, rstd = stats.data + rows
    let pw = weight?.data, pb = bias?.data
    parallelRows(rows, cols: cols) { r in
        let o = r.lowerBound * cols
        osk_layer_norm_forward(px + o, pw, pb, po + o, mean + r.lowerBound, rstd + r.lowerBound, r.count, cols, eps)
    }
    let wantW = weight.map { Tape.needs($0) } ?? false, wantB = bias.map { Tape.needs($0) } ?? false
    guard Tape.needs(x) || wantW || wantB else { return out }
    Tape.record(out) { g in
        let pg = g.data
        let chunks = rows * cols >= parallelThreshold ? Swift.min(Threads.count, rows) : 1
        let partial = Tensor(zeroed: [chunks, 2, cols])
        let pp = partial.data
        func run(_ dx: UnsafeMutablePointer<Float>?, _ accumulate: Bool) {
            Threads.parallelFor(rows, chunks: chunks) { c, r in
                let o = r.lowerBound * cols
                osk_layer_norm_backward(
                    px + o, pw, mean + r.lowerBound, rstd + r.lowerBound, pg + o, dx.map { $0 + o },
                    pp + c * 2 * cols, pp + c * 2 * cols + cols, r.count, cols, accumulate ? 1 : 0)
            }
        }
        if x.requiresGrad { accumulateGradInPlace(x) { dx, beta in run(dx, beta != 0) } } else { run(nil, false) }
        withExtendedLifetime(stats) {}
        for (which, param) in [(0, weight), (1, bias)] {
            guard let param, param.requiresGrad else { continue }
            let d = Tensor(uninitialized: param.shape)
            for j in 0..<cols {
                var s: Float = 0
                for c in 0..<chunks { s += pp[c * 2 * cols + which * cols + j] }
                d.data[j] = s
            }
            accumulateGrad(param, d, owned: true)
        }
    }
    return out
}

/// Zeroes each element with probability `p` and scales the rest by 1/(1 − p). The mask comes
/// from `seed` (modules draw seeds from `Engine.random`) and each element's index alone, so it
/// does not depend on the thread count.
public func dropout(_ x: Tensor, probability p: Float, seed: UInt64) -> Tensor {
    precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1)")
    if p == 0 { return x }
    return maskedDropout(x, residual: nil, probability: p, seed: seed)
}

/// `dropout(relu(x))` in one pass (the feed-forward layer's activation and dropout).
public func reluDropout(_ x: Tensor, probability p: Float, seed: UInt64) -> Tensor {
    precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1)")
    if p == 0 { return relu(x) }
    return maskedDropout(x, residual: nil, probability: p, seed: seed, relu: true)
}

/// `residual + dropout(x)` in one pass: the residual connection around a dropped-out sublayer.
/// The same mask as `dropout(x, probability:seed:)` for the same seed.
public func dropoutAdd(_ x: Tensor, probability p: Float, seed: UInt64, residual: Tensor) -> Tensor {
    precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1)")
    precondition(x.shape == residual.shape, "dropoutAdd: \(x.shape) vs residual \(residual.shape)")
    if p == 0 { return residual + x }
    return maskedDropout(x, residual: residual, probability: p, seed: seed)
}

private func maskedDropout(_ x: Tensor, residual: Tensor?, probability p: Float, seed: UInt64, relu: Bool = false) -> Tensor {
    let n = x.count
    let mask = ByteBuffer(count: n)
    let out = Tensor(uninitialized: x.shape)
    let threshold = UInt32(Swift.min(Float(1 << 24) - 1, Swift.max(0, (p * Float(1 << 24)).rounded())))
    let scale = 1 / (1 - p)
    var keys = SeededRandom(seed: seed)
    let k = keys.next()
    let k0 = UInt32(truncatingIfNeeded: k), k1 = UInt32(truncatingIfNeeded: k >> 32)
    let px = x.data, pr = residual?.data, po = out.data, pm = mask.pointer
    parallelRange(n) { r in
        let lo = r.lowerBound
        osk_dropout(
            px + lo, pr.map { UnsafePointer($0 + lo) }, po + lo, pm + lo, r.count, UInt64(lo), k0, k1,
            threshold, scale, relu ? 1 : 0)
    }
    let needX = Tape.needs(x), needR = residual.map { Tape.needs($0) } ?? false
    if needX || needR {
        Tape.record(out) { g in
            let owned = Tape.gradientOwned
            var dx: Tensor?
            if needX {
                let d = Tensor(uninitialized: x.shape)
                let pg = g.data, pd = d.data
                parallelRange(n) { r in osk_dropout_backward(pg + r.lowerBound, pm + r.lowerBound, pd + r.lowerBound, r.count, scale) }
                _ = mask
                dx = d
            }
            // The residual is g's only recipient: it may take g over (and later add into it in place).
            if let residual, needR { accumulateGrad(residual, g, owned: owned) }
            if let dx { accumulateGrad(x, dx, owned: true) }
        }
    }
    return out
}

extension Engine {
    nonisolated(unsafe) static var generator = SeededRandom(seed: 0x0505_5e5e)

    /// Reseeds the engine's generator (dropout masks, default initialisations).
    public static func seed(_ value: UInt64) { generator = SeededRandom(seed: value) }

    /// The next seed from the engine's generator.
    public static func nextSeed() -> UInt64 { generator.next() }
}
