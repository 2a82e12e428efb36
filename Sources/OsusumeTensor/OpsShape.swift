import Foundation
import OsusumeCore

extension Tensor {
    /// The same values with another shape (one axis may be -1). A view: no copy.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var shape = newShape
        if let i = shape.firstIndex(of: -1) {
            let known = shape.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
            precondition(known > 0 && count % known == 0, "cannot reshape \(self.shape) to \(newShape)")
            shape[i] = count / known
        }
        precondition(shape.reduce(1, *) == count, "cannot reshape \(self.shape) (\(count) values) to \(newShape)")
        let out = Tensor(shape: shape, storage: storage, offset: offset)
        if Tape.needs(self) {
            let original = self.shape
            Tape.record(out) { [self] g in accumulateGrad(self, g.reshaped(original)) }
        }
        return out
    }
}

public func reshape(_ x: Tensor, _ shape: [Int]) -> Tensor { x.reshaped(shape) }

/// Axes reordered: result axis i is input axis `axes[i]`. Copies.
public func permute(_ x: Tensor, _ axes: [Int]) -> Tensor {
    precondition(axes.sorted() == Array(0..<x.rank), "permutation \(axes) does not fit rank \(x.rank)")
    let shape = axes.map { x.shape[$0] }
    var inStrides = [Int](repeating: 1, count: x.rank)
    for i in stride(from: x.rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * x.shape[i + 1] }
    let strides = axes.map { inStrides[$0] }
    let out = Tensor(uninitialized: shape)
    let p = x.data, o = out.data
    forEachRow(shape, strides, strides) { oo, ia, _, n, la, _ in for j in 0..<n { o[oo + j] = p[ia + j * la] } }
    if Tape.needs(x) {
        var inverse = [Int](repeating: 0, count: axes.count)
        for (i, a) in axes.enumerated() { inverse[a] = i }
        Tape.record(out) { g in accumulateGrad(x, permute(g, inverse), owned: true) }
    }
    return out
}

/// Two axes swapped (default: the last two). Copies.
public func transpose(_ x: Tensor, _ a: Int = -2, _ b: Int = -1) -> Tensor {
    var axes = Array(0..<x.rank)
    axes.swapAt(normalizeAxis(a, x.rank), normalizeAxis(b, x.rank))
    return permute(x, axes)
}

/// Tensors joined along `axis`; all other axes must agree.
public func concat(_ xs: [Tensor], axis: Int = 0) -> Tensor {
    precondition(!xs.isEmpty)
    let a = normalizeAxis(axis, xs[0].rank)
    var shape = xs[0].shape
    shape[a] = xs.reduce(0) { $0 + $1.shape[a] }
    for x in xs { precondition(x.rank == shape.count && x.shape.enumerated().allSatisfy { $0.offset == a || $0.element == shape[$0.offset] }, "concat: shape \(x.shape) does not fit \(shape)") }
    let outer = shape[..<a].reduce(1, *)
    let rowOut = shape[a...].reduce(1, *)
    let out = Tensor(uninitialized: shape)
    var col = 0
    var starts: [Int] = []
    for x in xs {
        let w = x.shape[a...].reduce(1, *)
        starts.append(col)
        for o in 0..<outer { (out.data + o * rowOut + col).update(from: x.data + o * w, count: w) }
        col += w
    }
    if Tape.needs(xs) {
        Tape.record(out) { g in
            for (x, start) in zip(xs, starts) where x.requiresGrad {
                let w = x.shape[a...].reduce(1, *)
                let dx = Tensor(uninitialized: x.shape)
                for o in 0..<outer { (dx.data + o * w).update(from: g.data + o * rowOut + start, count: w) }
                accumulateGrad(x, dx, owned: true)
            }
        }
    }
    return out
}

/// Pieces of `x` along `axis` with the given sizes. Along axis 0 the pieces are views.
public func split(_ x: Tensor, sizes: [Int], axis: Int = 0) -> [Tensor] {
    let a = normalizeAxis(axis, x.rank)
    precondition(sizes.reduce(0, +) == x.shape[a], "split sizes \(sizes) do not add up to \(x.shape[a])")
    let outer = x.shape[..<a].reduce(1, *)
    let rowIn = x.shape[a...].reduce(1, *)
    let innerPer = x.shape[(a + 1)...].reduce(1, *)
    var pieces: [Tensor] = []
    var start = 0
    for size in sizes {
        var shape = x.shape
        shape[a] = size
        let w = size * innerPer
        let piece: Tensor
        if outer == 1 {
            piece = Tensor(shape: shape, storage: x.storage, offset: x.offset + start)
        } else {
            piece = Tensor(uninitialized: shape)
            for o in 0..<outer { (piece.data + o * w).update(from: x.data + o * rowIn + start, count: w) }
        }
        if Tape.needs(x) {
            let s = start
            Tape.record(piece) { g in
                let dx = Tensor(zeroed: x.shape)
                for o in 0..<outer { (dx.data + o * rowIn + s).update(from: g.data + o * w, count: w) }
                accumulateGrad(x, dx, owned: true)
            }
        }
        pieces.append(piece)
        start += w
    }
    return pieces
}

/// `x` with `value` wherever `mask` (broadcastable to x) is non-zero; the gradient is zero there.
public func maskedFill(_ x: Tensor, mask: Tensor, value: Float) -> Tensor {
    precondition(broadcastShape(x.shape, mask.shape) == x.shape, "mask \(mask.shape) does not broadcast to \(x.shape)")
    let out = Tensor(uninitialized: x.shape)
    broadcastApply(x, mask, out) { $1 != 0 ? value : $0 }
    if Tape.needs(x) {
        Tape.record(out) { g in
            let dx = Tensor(uninitialized: x.shape)
            broadcastApply(g, mask, dx) { $1 != 0 ? 0 : $0 }
            accumulateGrad(x, dx, owned: true)
        }
    }
    return out
}

/// Rows of `table` ([rows, dim]) picked by `indices`: shape indices.shape + [dim]. The gradient
/// is a scatter-add into the table; with `sparseGradient` it is row-sparse (only the rows used),
/// which optimizers update lazily.
public func embedding(_ table: Tensor, _ indices: IndexTensor, sparseGradient: Bool = false) -> Tensor {
    precondition(table.rank == 2, "embedding table must be [rows, dim], is \(table.shape)")
    let rows = table.shape[0], dim = table.shape[1]
    let out = Tensor(uninitialized: indices.shape + [dim])
    let src = table.data, dst = out.data
    indices.values.withUnsafeBufferPointer { idx in
        for i in idx { precondition(i >= 0 && Int(i) < rows, "index \(i) out of range for \(rows) rows") }
        let p = idx.baseAddress!
        parallelRange(indices.count, minChunk: Swift.max(1, parallelThreshold / 2 / Swift.max(dim, 1))) { r in
            for i in r { (dst + i * dim).update(from: src + Int(p[i]) * dim, count: dim) }
        }
    }
    if Tape.needs(table) {
        Tape.record(out) { g in
            let gp = g.data
            if sparseGradient {
                let unique = Array(Set(indices.values)).sorted()
                var slot = [Int32: Int](minimumCapacity: unique.count)
                for (k, r) in unique.enumerated() { slot[r] = k }
                let values = Tensor(zeroed: [unique.count, dim])
                for (i, r) in indices.values.enumerated() {
                    let d = values.data + slot[r]! * dim, s = gp + i * dim
                    for j in 0..<dim { d[j] += s[j] }
                }
                let sparse = Tensor(shape: table.shape, storage: values.storage)
                sparse.sparseRows = unique
                accumulateGrad(table, sparse, owned: true)
            } else {
                let dx = Tensor(zeroed: table.shape)
                let d = dx.data
                for (i, r) in indices.values.enumerated() {
                    let row = d + Int(r) * dim, s = gp + i * dim
                    for j in 0..<dim { row[j] += s[j] }
                }
                accumulateGrad(table, dx, owned: true)
            }
        }
    }
    return out
}
