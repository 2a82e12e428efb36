import Foundation
import OsusumeCore

enum ReduceOp { case sum, max }

func normalizeAxis(_ axis: Int, _ rank: Int) -> Int {
    let a = axis < 0 ? axis + rank : axis
    precondition(a >= 0 && a < Swift.max(rank, 1), "axis \(axis) out of range for rank \(rank)")
    return a
}

/// Reduces one axis, keeping it with size 1 (no autograd). For `.max`, `argmax` receives the
/// index along the axis of each maximum.
func reduceAxis(_ x: Tensor, _ axis: Int, op: ReduceOp, argmax: UnsafeMutablePointer<Int32>? = nil) -> Tensor {
    let a = normalizeAxis(axis, x.rank)
    var shape = x.shape
    let n = shape[a]
    shape[a] = 1
    let outer = x.shape[..<a].reduce(1, *), inner = x.shape[(a + 1)...].reduce(1, *)
    let out = Tensor(uninitialized: shape)
    let px = x.data, po = out.data
    if op == .sum && outer == 1 && inner > 1 {
        columnSums(px, rows: n, cols: inner, into: po)
        return out
    }
    parallelRange(outer, minChunk: Swift.max(1, parallelThreshold / 2 / Swift.max(1, n * inner))) { range in
        for o in range {
            let src = px + o * n * inner, dst = po + o * inner
            switch op {
            case .sum:
                if inner == 1 {
                    var s: Float = 0
                    for k in 0..<n { s += src[k] }
                    dst[0] = s
                } else {
                    for j in 0..<inner { dst[j] = 0 }
                    for k in 0..<n { let row = src + k * inner; for j in 0..<inner { dst[j] += row[j] } }
                }
            case .max:
                for j in 0..<inner {
                    var best = -Float.infinity, at: Int32 = 0
                    for k in 0..<n { let v = src[k * inner + j]; if k == 0 || v > best { best = v; at = Int32(k) } }
                    dst[j] = best
                    argmax?[o * inner + j] = at
                }
            }
        }
    }
    return out
}

/// Sum of every element, as a scalar tensor.
public func sum(_ x: Tensor) -> Tensor {
    let out = Tensor(shape: [], scalars: [Float(sumAll(x.data, x.count))])
    if Tape.needs(x) {
        Tape.record(out) { g in accumulateGrad(x, Tensor.full(x.shape, g.item), owned: true) }
    }
    return out
}

/// Mean of every element, as a scalar tensor.
public func mean(_ x: Tensor) -> Tensor {
    let out = Tensor(shape: [], scalars: [Float(sumAll(x.data, x.count) / Double(Swift.max(x.count, 1)))])
    if Tape.needs(x) {
        let n = Float(Swift.max(x.count, 1))
        Tape.record(out) { g in accumulateGrad(x, Tensor.full(x.shape, g.item / n), owned: true) }
    }
    return out
}

/// Sum over `axes` (negative counts from the end).
public func sum(_ x: Tensor, axes: [Int], keepDims: Bool = false) -> Tensor {
    let norm = Set(axes.map { normalizeAxis($0, x.rank) }).sorted(by: >)
    var t = x
    withoutGradients { for a in norm { t = reduceAxis(t, a, op: .sum) } }
    let kept = t.shape
    let out = keepDims ? t : Tensor(shape: x.shape.enumerated().filter { !norm.contains($0.offset) }.map { $0.element }, storage: t.storage)
    if Tape.needs(x) {
        Tape.record(out) { g in accumulateGrad(x, broadcast(g.reshaped(kept), to: x.shape), owned: true) }
    }
    return out
}

public func sum(_ x: Tensor, axis: Int, keepDims: Bool = false) -> Tensor { sum(x, axes: [axis], keepDims: keepDims) }

/// Mean over `axes`.
public func mean(_ x: Tensor, axes: [Int], keepDims: Bool = false) -> Tensor {
    let n = Set(axes.map { normalizeAxis($0, x.rank) }).reduce(1) { $0 * x.shape[$1] }
    return sum(x, axes: axes, keepDims: keepDims) * (1 / Float(Swift.max(n, 1)))
}

public func mean(_ x: Tensor, axis: Int, keepDims: Bool = false) -> Tensor { mean(x, axes: [axis], keepDims: keepDims) }

/// Maximum over one axis; the gradient goes to the (first) maximal element.
public func max(_ x: Tensor, axis: Int, keepDims: Bool = false) -> Tensor {
    let a = normalizeAxis(axis, x.rank)
    let outCount = x.count / Swift.max(x.shape[a], 1)
    let arg = UnsafeMutablePointer<Int32>.allocate(capacity: Swift.max(outCount, 1))
    let t = reduceAxis(x, a, op: .max, argmax: arg)
    var shape = x.shape
    if keepDims { shape[a] = 1 } else { shape.remove(at: a) }
    let out = Tensor(shape: shape, storage: t.storage)
    let holder = IndexBuffer(arg)
    if Tape.needs(x) {
        let n = x.shape[a], inner = x.shape[(a + 1)...].reduce(1, *)
        Tape.record(out) { g in
            let dx = Tensor(zeroed: x.shape)
            let idx = holder.pointer
            for o in 0..<outCount {
                let outer = o / inner, j = o % inner
                dx.data[outer * n * inner + Int(idx[o]) * inner + j] += g.data[o]
            }
            accumulateGrad(x, dx, owned: true)
        }
    }
    return out
}

/// Frees an index buffer when the tape entry that uses it goes.
final class IndexBuffer {
    let pointer: UnsafeMutablePointer<Int32>
    init(_ p: UnsafeMutablePointer<Int32>) { pointer = p }
    deinit { pointer.deallocate() }
}

/// Frees a byte buffer when the tape entry that uses it goes.
final class ByteBuffer {
    let pointer: UnsafeMutablePointer<UInt8>
    init(count: Int) { pointer = .allocate(capacity: Swift.max(count, 1)) }
    deinit { pointer.deallocate() }
}
