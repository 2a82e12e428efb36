import Foundation
import OsusumeCore
import OsusumeKernels

/// Element counts below this run on the calling thread: spreading them costs more than it saves.
let parallelThreshold = 1 << 15

/// Runs `body` over `0..<n` in parallel chunks when `n` is large enough to pay for it.
/// Chunks per thread for work that is split evenly: a few more chunks than threads let a thread
/// that is running ahead take over work when another is held up (results never depend on which
/// thread runs a chunk).
let chunksPerThread = 4

@inline(__always)
func parallelRange(_ n: Int, minChunk: Int = parallelThreshold / 2, _ body: (Range<Int>) -> Void) {
    if n < 2 * minChunk || Threads.count == 1 { body(0..<n); return }
    Threads.parallelFor(n, chunks: Threads.count * chunksPerThread, minChunk: minChunk) { _, r in body(r) }
}

@inline(__always)
func elementwise(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int,
    _ f: (Float, Float) -> Float
) {
    parallelRange(n) { r in for i in r { out[i] = f(a[i], b[i]) } }
}

@inline(__always)
func mapValues(_ a: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int, _ f: (Float) -> Float) {
    parallelRange(n) { r in for i in r { out[i] = f(a[i]) } }
}

/// Runs a C kernel `k(x + lo, y + lo, count)` over parallel chunks.
@inline(__always)
func mapKernel(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int,
    _ k: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
) {
    parallelRange(n) { r in k(x + r.lowerBound, y + r.lowerBound, r.count) }
}

func sumOfSquares(_ p: UnsafePointer<Float>, _ n: Int) -> Double { osk_sum_squares(p, n) }

// MARK: broadcasting

/// The shape two shapes broadcast to (NumPy rules), or a precondition failure.
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
    let r = Swift.max(a.count, b.count)
    var out = [Int](repeating: 1, count: r)
    for i in 0..<r {
        let da = i < r - a.count ? 1 : a[i - (r - a.count)]
        let db = i < r - b.count ? 1 : b[i - (r - b.count)]
        precondition(da == db || da == 1 || db == 1, "shapes \(a) and \(b) do not broadcast")
        out[i] = da == 1 ? db : da
    }
    return out
}

/// Element strides of `shape` read as `target` (0 on broadcast axes).
func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
    let r = target.count
    var strides = [Int](repeating: 0, count: r)
    var s = 1
    for i in stride(from: r - 1, through: 0, by: -1) {
        let j = i - (r - shape.count)
        if j < 0 { break }
        strides[i] = shape[j] == 1 && target[i] != 1 ? 0 : s
        s *= shape[j]
    }
    return strides
}

/// True when `small` (ignoring leading ones) equals the trailing axes of `big`.
func isTrailing(_ small: [Int], of big: [Int]) -> Bool {
    var s = small[...]
    while let f = s.first, f == 1, s.count > 0 { s = s.dropFirst() }
    return s.count <= big.count && Array(big.suffix(s.count)) == Array(s)
}

/// out[i] = f(a[ia], b[ib]) over the broadcast shape, walking rows of the last axis.
@inline(__always)
func broadcastApply(_ a: Tensor, _ b: Tensor, _ out: Tensor, _ f: (Float, Float) -> Float) {
    let shape = out.shape
    let pa = a.data, pb = b.data, po = out.data
    if a.shape == b.shape { elementwise(pa, pb, po, out.count, f); return }
    if b.count == 1 { let s = pb[0]; mapValues(pa, po, out.count) { f($0, s) }; return }
    if a.count == 1 { let s = pa[0]; mapValues(pb, po, out.count) { f(s, $0) }; return }
    if a.count == out.count && isTrailing(b.shape, of: shape) {
        let inner = b.count, rows = out.count / inner
        parallelRange(rows, minChunk: Swift.max(1, parallelThreshold / 2 / inner)) { r in
            for row in r { let o = row * inner; for j in 0..<inner { po[o + j] = f(pa[o + j], pb[j]) } }
        }
        return
    }
    if b.count == out.count && isTrailing(a.shape, of: shape) {
        let inner = a.count, rows = out.count / inner
        parallelRange(rows, minChunk: Swift.max(1, parallelThreshold / 2 / inner)) { r in
            for row in r { let o = row * inner; for j in 0..<inner { po[o + j] = f(pa[j], pb[o + j]) } }
        }
        return
    }
    let sa = broadcastStrides(a.shape, to: shape), sb = broadcastStrides(b.shape, to: shape)
    forEachRow(shape, sa, sb) { o, ia, ib, n, la, lb in
        for j in 0..<n { po[o + j] = f(pa[ia + j * la], pb[ib + j * lb]) }
    }
}

/// Calls body(outOffset, aOffset, bOffset, rowLength, aStride, bStride) for each row of the last
/// axis of `shape`.
@inline(__always)
func forEachRow(_ shape: [Int], _ sa: [Int], _ sb: [Int], _ body: (Int, Int, Int, Int, Int, Int) -> Void) {
    let r = shape.count
    if r == 0 { body(0, 0, 0, 1, 0, 0); return }
    let n = shape[r - 1]
    let rows = shape.reduce(1, *) / Swift.max(n, 1)
    if n == 0 { return }
    var idx = [Int](repeating: 0, count: r)
    var ia = 0, ib = 0
    for row in 0..<rows {
        body(row * n, ia, ib, n, sa[r - 1], sb[r - 1])
        var d = r - 2
        while d >= 0 {
            idx[d] += 1; ia += sa[d]; ib += sb[d]
            if idx[d] < shape[d] { break }
            ia -= sa[d] * shape[d]; ib -= sb[d] * shape[d]; idx[d] = 0
            d -= 1
        }
    }
}

/// `t` repeated along broadcast axes to `shape`.
public func broadcast(_ t: Tensor, to shape: [Int]) -> Tensor {
    if t.shape == shape { return t }
    precondition(broadcastShape(t.shape, shape) == shape, "cannot broadcast \(t.shape) to \(shape)")
    let out = Tensor(uninitialized: shape)
    let sa = broadcastStrides(t.shape, to: shape)
    let p = t.data, o = out.data
    forEachRow(shape, sa, sa) { oo, ia, _, n, la, _ in for j in 0..<n { o[oo + j] = p[ia + j * la] } }
    if Tape.needs(t) { Tape.record(out) { g in accumulateGrad(t, sumTo(g, t.shape), owned: true) } }
    return out
}

/// Sums `g` over the axes along which `shape` was broadcast to `g.shape` (the adjoint of
/// broadcasting).
func sumTo(_ g: Tensor, _ shape: [Int]) -> Tensor {
    if g.shape == shape { return g }
    let target = shape.reduce(1, *)
    if target == g.count { return g.reshaped(shape) }
    if target == 1 {
        let t = Tensor(uninitialized: shape)
        t.data[0] = Float(sumAll(g.data, g.count))
        return t
    }
    if isTrailing(shape, of: g.shape) {
        let inner = target, rows = g.count / inner
        let out = Tensor(uninitialized: shape)
        columnSums(g.data, rows: rows, cols: inner, into: out.data)
        return out
    }
    let r = g.rank
    let padded = [Int](repeating: 1, count: r - shape.count) + shape
    var t = g
    for axis in 0..<r where padded[axis] == 1 && g.shape[axis] != 1 { t = reduceAxis(t, axis, op: .sum) }
    return t.reshaped(shape)
}

/// out[j] = Σ_r x[r·cols + j], split across threads by rows with partials summed in a fixed order.
func columnSums(_ x: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
    let chunks = rows * cols >= parallelThreshold * 2 ? Swift.min(Threads.count, Swift.max(1, rows / 8)) : 1
    if chunks <= 1 {
        out.initialize(repeating: 0, count: cols)
        for r in 0..<rows { let row = x + r * cols; for j in 0..<cols { out[j] += row[j] } }
        return
    }
    let partial = UnsafeMutablePointer<Float>.allocate(capacity: chunks * cols)
    defer { partial.deallocate() }
    partial.initialize(repeating: 0, count: chunks * cols)
    Threads.parallelFor(rows, chunks: chunks) { c, range in
        let p = partial + c * cols
        for r in range { let row = x + r * cols; for j in 0..<cols { p[j] += row[j] } }
    }
    out.update(from: partial, count: cols)
    for c in 1..<chunks { let p = partial + c * cols; for j in 0..<cols { out[j] += p[j] } }
}

/// Σ x in double precision, in fixed chunks (reproducible for a given thread count).
func sumAll(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
    let chunks = n >= parallelThreshold * 2 ? Threads.count : 1
    if chunks == 1 {
        var total = 0.0
        var i = 0
        while i < n {
            let end = Swift.min(n, i + 1024)
            var s: Float = 0
            while i < end { s += x[i]; i += 1 }
            total += Double(s)
        }
        return total
    }
    var partial = [Double](repeating: 0, count: chunks)
    partial.withUnsafeMutableBufferPointer { pb in
        let p = SharedPointer(pb.baseAddress!)
        Threads.parallelFor(n, chunks: chunks) { c, r in p[c] = sumAll(x + r.lowerBound, r.count) }
    }
    return partial.reduce(0, +)
}

// MARK: binary ops

enum BinaryOp { case add, sub, mul, div }

func binary(_ a: Tensor, _ b: Tensor, _ op: BinaryOp) -> Tensor {
    let shape = broadcastShape(a.shape, b.shape)
    let out = Tensor(uninitialized: shape)
    switch op {
    case .add: broadcastApply(a, b, out) { $0 + $1 }
    case .sub: broadcastApply(a, b, out) { $0 - $1 }
    case .mul: broadcastApply(a, b, out) { $0 * $1 }
    case .div: broadcastApply(a, b, out) { $0 / $1 }
    }
    guard Tape.needs(a, b) else { return out }
    Tape.record(out) { g in
        switch op {
        case .add:
            if a.requiresGrad { accumulateGrad(a, sumTo(g, a.shape)) }
            if b.requiresGrad { accumulateGrad(b, sumTo(g, b.shape)) }
        case .sub:
            if a.requiresGrad { accumulateGrad(a, sumTo(g, a.shape)) }
            if b.requiresGrad { accumulateGrad(b, sumTo(negate(g), b.shape), owned: true) }
        case .mul:
            if a.requiresGrad { accumulateGrad(a, sumTo(binary(g, b, .mul), a.shape), owned: true) }
            if b.requiresGrad { accumulateGrad(b, sumTo(binary(g, a, .mul), b.shape), owned: true) }
        case .div:
            if a.requiresGrad { accumulateGrad(a, sumTo(binary(g, b, .div), a.shape), owned: true) }
            if b.requiresGrad {
                // d(a/b)/db = −out/b
                let t = Tensor(uninitialized: g.shape)
                broadcastApply(g, out, t) { -$0 * $1 }
                accumulateGrad(b, sumTo(binary(t, b, .div), b.shape), owned: true)
            }
        }
    }
    return out
}

func negate(_ g: Tensor) -> Tensor {
    let t = Tensor(uninitialized: g.shape)
    mapValues(g.data, t.data, g.count) { -$0 }
    return t
}

/// a·x + c elementwise (scalar affine map), the building block of scalar arithmetic.
public func affine(_ x: Tensor, scale a: Float, shift c: Float) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    if c == 0 { mapValues(x.data, out.data, x.count) { $0 * a } } else { mapValues(x.data, out.data, x.count) { $0 * a + c } }
    if Tape.needs(x) {
        Tape.record(out) { g in accumulateGrad(x, a == 1 ? g : affine(g, scale: a, shift: 0), owned: a != 1) }
    }
    return out
}

public func + (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .add) }
public func - (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .sub) }
public func * (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .mul) }
public func / (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .div) }
public func + (a: Tensor, s: Float) -> Tensor { affine(a, scale: 1, shift: s) }
public func + (s: Float, a: Tensor) -> Tensor { affine(a, scale: 1, shift: s) }
public func - (a: Tensor, s: Float) -> Tensor { affine(a, scale: 1, shift: -s) }
public func - (s: Float, a: Tensor) -> Tensor { affine(a, scale: -1, shift: s) }
public func * (a: Tensor, s: Float) -> Tensor { affine(a, scale: s, shift: 0) }
public func * (s: Float, a: Tensor) -> Tensor { affine(a, scale: s, shift: 0) }
public func / (a: Tensor, s: Float) -> Tensor { affine(a, scale: 1 / s, shift: 0) }
public func / (s: Float, a: Tensor) -> Tensor { binary(Tensor(scalar: s), a, .div) }
public prefix func - (a: Tensor) -> Tensor { affine(a, scale: -1, shift: 0) }

// MARK: unary ops

/// The gradient of a unary op: dx[i] = local(x[i], y[i], g[i]). Called inside a tape closure
/// with a closure literal, so the local derivative is inlined into the loop.
@inline(__always)
func unaryGrad(_ x: Tensor, _ y: Tensor, _ g: Tensor, _ local: (_ x: Float, _ y: Float, _ g: Float) -> Float) -> Tensor {
    let dx = Tensor(uninitialized: x.shape)
    let px = x.data, py = y.data, pg = g.data, pd = dx.data
    parallelRange(x.count) { r in for i in r { pd[i] = local(px[i], py[i], pg[i]) } }
    return dx
}

public func exp(_ x: Tensor) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    mapKernel(x.data, out.data, x.count) { osk_exp($0, $1, $2) }
    if Tape.needs(x) { Tape.record(out) { g in accumulateGrad(x, unaryGrad(x, out, g) { _, y, g in g * y }, owned: true) } }
    return out
}

public func log(_ x: Tensor) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    mapKernel(x.data, out.data, x.count) { osk_log($0, $1, $2) }
    if Tape.needs(x) { Tape.record(out) { g in accumulateGrad(x, unaryGrad(x, out, g) { x, _, g in g / x }, owned: true) } }
    return out
}

public func tanh(_ x: Tensor) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    mapKernel(x.data, out.data, x.count) { osk_tanh($0, $1, $2) }
    if Tape.needs(x) { Tape.record(out) { g in accumulateGrad(x, unaryGrad(x, out, g) { _, y, g in g * (1 - y * y) }, owned: true) } }
    return out
}

public func sigmoid(_ x: Tensor) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    mapKernel(x.data, out.data, x.count) { osk_sigmoid($0, $1, $2) }
    if Tape.needs(x) { Tape.record(out) { g in accumulateGrad(x, unaryGrad(x, out, g) { _, y, g in g * y * (1 - y) }, owned: true) } }
    return out
}

public func relu(_ x: Tensor) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    mapValues(x.data, out.data, x.count) { Swift.max($0, 0) }
    if Tape.needs(x) { Tape.record(out) { g in accumulateGrad(x, unaryGrad(x, out, g) { x, _, g in x > 0 ? g : 0 }, owned: true) } }
    return out
}

/// log(1 + eˣ), computed stably.
public func softplus(_ x: Tensor) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    mapKernel(x.data, out.data, x.count) { osk_softplus($0, $1, $2) }
    if Tape.needs(x) { Tape.record(out) { g in accumulateGrad(x, unaryGrad(x, out, g) { x, _, g in g / (1 + Foundation.exp(-x)) }, owned: true) } }
    return out
}

/// GELU with the exact (erf) form, as PyTorch's default.
public func gelu(_ x: Tensor) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    mapKernel(x.data, out.data, x.count) { osk_gelu($0, $1, $2) }
    if Tape.needs(x) {
        Tape.record(out) { g in
            let dx = Tensor(uninitialized: x.shape)
            let px = x.data, pg = g.data, pd = dx.data
            parallelRange(x.count) { r in osk_gelu_backward(px + r.lowerBound, pg + r.lowerBound, pd + r.lowerBound, r.count) }
            accumulateGrad(x, dx, owned: true)
        }
    }
    return out
}

/// Swish / SiLU: x · σ(x).
public func swish(_ x: Tensor) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    mapKernel(x.data, out.data, x.count) { osk_silu($0, $1, $2) }
    if Tape.needs(x) {
        Tape.record(out) { g in
            let dx = Tensor(uninitialized: x.shape)
            let px = x.data, pg = g.data, pd = dx.data
            parallelRange(x.count) { r in osk_silu_backward(px + r.lowerBound, pg + r.lowerBound, pd + r.lowerBound, r.count) }
            accumulateGrad(x, dx, owned: true)
        }
    }
    return out
}

public func sqrt(_ x: Tensor) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    mapValues(x.data, out.data, x.count) { $0.squareRoot() }
    if Tape.needs(x) { Tape.record(out) { g in accumulateGrad(x, unaryGrad(x, out, g) { _, y, g in g * 0.5 / y }, owned: true) } }
    return out
}

public func square(_ x: Tensor) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    mapValues(x.data, out.data, x.count) { $0 * $0 }
    if Tape.needs(x) { Tape.record(out) { g in accumulateGrad(x, unaryGrad(x, out, g) { x, _, g in 2 * x * g }, owned: true) } }
    return out
}

public func abs(_ x: Tensor) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    mapValues(x.data, out.data, x.count) { Swift.abs($0) }
    if Tape.needs(x) { Tape.record(out) { g in accumulateGrad(x, unaryGrad(x, out, g) { x, _, g in x > 0 ? g : (x < 0 ? -g : 0) }, owned: true) } }
    return out
}

/// Values limited to [low, high]; the gradient passes only where the value was inside.
public func clamp(_ x: Tensor, min low: Float, max high: Float) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    mapValues(x.data, out.data, x.count) { Swift.min(Swift.max($0, low), high) }
    if Tape.needs(x) { Tape.record(out) { g in accumulateGrad(x, unaryGrad(x, out, g) { x, _, g in x >= low && x <= high ? g : 0 }, owned: true) } }
    return out
}
