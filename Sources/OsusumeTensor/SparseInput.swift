import Foundation
import OsusumeCore
import OsusumeKernels

/// A batch of sparse rows in compressed-row form: row r holds the entries
/// `columns[offsets[r]..<offsets[r + 1]]` with `values` alongside. The autoencoders' inputs are
/// user × item vectors with a few percent non-zero; through `sparseLinear` their first layer costs
/// non-zeros × outputs instead of rows × items × outputs. A constant input: no gradient flows to it.
public struct SparseRows: Sendable {
    public let columnCount: Int
    public private(set) var offsets: [Int] = [0]
    public private(set) var columns: [Int32] = []
    public private(set) var values: [Float] = []

    public init(columnCount: Int) { self.columnCount = columnCount }

    public var rowCount: Int { offsets.count - 1 }
    public var nonZeroCount: Int { columns.count }

    /// Appends one row; every column must lie in `0..<columnCount`. A column given twice adds up.
    public mutating func appendRow(columns cols: [Int32], values vals: [Float]) {
        precondition(cols.count == vals.count, "appendRow: \(cols.count) columns but \(vals.count) values")
        for c in cols { precondition(c >= 0 && Int(c) < columnCount, "appendRow: column \(c) outside 0..<\(columnCount)") }
        columns.append(contentsOf: cols)
        values.append(contentsOf: vals)
        offsets.append(columns.count)
    }

    /// The dense [rows, columns] tensor.
    public func dense() -> Tensor {
        let out = Tensor(zeroed: [rowCount, columnCount])
        for r in 0..<rowCount {
            for p in offsets[r]..<offsets[r + 1] { out.data[r * columnCount + Int(columns[p])] += values[p] }
        }
        return out
    }

    /// Inverted dropout on the stored entries: each is kept with probability 1 − p and scaled by
    /// 1 / (1 − p), dropped ones are removed. The implicit zeros stay zero either way, so this is
    /// dropout on the dense rows without touching them.
    public func dropout(probability p: Float, seed: UInt64) -> SparseRows {
        precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1)")
        if p == 0 { return self }
        var rng = SeededRandom(seed: seed)
        let scale = 1 / (1 - p)
        var out = SparseRows(columnCount: columnCount)
        out.offsets.reserveCapacity(offsets.count)
        out.columns.reserveCapacity(columns.count)
        out.values.reserveCapacity(values.count)
        for r in 0..<rowCount {
            for q in offsets[r]..<offsets[r + 1] where rng.nextFloat() >= p {
                out.columns.append(columns[q])
                out.values.append(values[q] * scale)
            }
            out.offsets.append(out.columns.count)
        }
        return out
    }
}

/// x · Wᵀ + bias for a sparse `x` [rows, in] and `weight` [out, in], as `linear` computes it for
/// the dense x. Gradients flow to the weight and the bias. Both directions work on Wᵀ cut into
/// tiles of `sparseTileWidth` outputs ([in, tile] each, a few hundred KB), so that every stored
/// entry of x touches one short contiguous row of a tile that stays in cache; threads take tiles.
public func sparseLinear(_ x: SparseRows, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    precondition(weight.rank == 2, "sparseLinear: weight must be [out, in], got \(weight.shape)")
    let outF = weight.shape[0], inF = weight.shape[1]
    precondition(x.columnCount == inF, "sparseLinear: input has \(x.columnCount) columns, weight takes \(inF)")
    if let bias { precondition(bias.count == outF, "sparseLinear: bias \(bias.shape) for \(outF) outputs") }
    let rows = x.rowCount
    let tiles = (outF + sparseTileWidth - 1) / sparseTileWidth
    let width = { (t: Int) in Swift.min(sparseTileWidth, outF - t * sparseTileWidth) }
    let chunks = Threads.count > 1 && x.nonZeroCount * outF >= parallelThreshold ? tiles : 1
    // Wᵀ tile by tile: tile t is [in, width(t)] at offset t · tileWidth · in.
    let wt = Tensor(uninitialized: [inF * outF])
    let wts = SharedPointer(wt.data), wp = UnsafePointer(weight.data)
    Threads.parallelFor(tiles, chunks: chunks) { _, range in
        for t in range {
            // Blocks of 16 inputs keep the 16 destination rows in L1 while the tile's rows pass.
            let w = width(t), dst = wts.base + t * sparseTileWidth * inF, src = wp + t * sparseTileWidth * inF
            var c0 = 0
            while c0 < inF {
                let c1 = Swift.min(inF, c0 + 16)
                for j in 0..<w {
                    let row = src + j * inF
                    for c in c0..<c1 { dst[c * w + j] = row[c] }
                }
                c0 = c1
            }
        }
    }
    let out = Tensor(uninitialized: [rows, outF])
    let o = SharedPointer(out.data), b = bias.map { UnsafePointer($0.data) }
    x.offsets.withUnsafeBufferPointer { off in
        x.columns.withUnsafeBufferPointer { cols in
            x.values.withUnsafeBufferPointer { vals in
                Threads.parallelFor(tiles, chunks: chunks) { _, range in
                    for t in range {
                        let w = width(t), tile = UnsafePointer(wts.base + t * sparseTileWidth * inF)
                        for i in 0..<rows {
                            let dst = o.base + i * outF + t * sparseTileWidth
                            if let b { dst.update(from: b + t * sparseTileWidth, count: w) } else { dst.initialize(repeating: 0, count: w) }
                            let lo = off[i]
                            if off[i + 1] > lo { osk_sparse_gather_axpy(vals.baseAddress! + lo, cols.baseAddress! + lo, off[i + 1] - lo, tile, w, dst, w) }
                        }
                    }
                }
            }
        }
    }
    let needsBias = bias.map { Tape.needs($0) } ?? false
    guard Tape.needs(weight) || needsBias else { return out }
    Tape.record(out) { g in
        if weight.requiresGrad {
            // dWᵀ[c] = Σ over the rows r holding column c of x[r, c] · g[r], one tile of outputs
            // at a time, then written out as rows of dW; a fixed summation order per element.
            let (colStart, entryRow, entryValue) = columnMajor(x)
            let dw = Tensor(uninitialized: weight.shape)
            let d = SharedPointer(dw.data), gp = UnsafePointer(g.data)
            colStart.withUnsafeBufferPointer { cs in
                entryRow.withUnsafeBufferPointer { er in
                    entryValue.withUnsafeBufferPointer { ev in
                        Threads.parallelFor(tiles, chunks: chunks) { _, range in
                            let acc = UnsafeMutablePointer<Float>.allocate(capacity: inF * sparseTileWidth)
                            defer { acc.deallocate() }
                            for t in range {
                                let w = width(t), g0 = gp + t * sparseTileWidth
                                for c in 0..<inF {
                                    let dst = acc + c * w
                                    dst.initialize(repeating: 0, count: w)
                                    let lo = cs[c]
                                    if cs[c + 1] > lo { osk_sparse_gather_axpy(ev.baseAddress! + lo, er.baseAddress! + lo, cs[c + 1] - lo, g0, outF, dst, w) }
                                }
                                var c0 = 0
                                while c0 < inF {
                                    let c1 = Swift.min(inF, c0 + 16)
                                    for j in 0..<w {
                                        let row = d.base + (t * sparseTileWidth + j) * inF
                                        for c in c0..<c1 { row[c] = acc[c * w + j] }
                                    }
                                    c0 = c1
                                }
                            }
                        }
                    }
                }
            }
            accumulateGrad(weight, dw, owned: true)
        }
        if let bias { accumulateBiasGrad(bias, g, rows: rows, cols: outF) }
    }
    return out
}

/// Outputs per tile of `sparseLinear` (64 floats: four cache lines per stored entry).
let sparseTileWidth = 64

/// The entries of `x` grouped by column: for column c, `rows[start[c]..<start[c + 1]]` and the
/// matching values, in row order.
private func columnMajor(_ x: SparseRows) -> (start: [Int], rows: [Int32], values: [Float]) {
    var start = [Int](repeating: 0, count: x.columnCount + 1)
    for c in x.columns { start[Int(c) + 1] += 1 }
    for c in 0..<x.columnCount { start[c + 1] += start[c] }
    var next = start
    var rows = [Int32](repeating: 0, count: x.nonZeroCount)
    var values = [Float](repeating: 0, count: x.nonZeroCount)
    for r in 0..<x.rowCount {
        for p in x.offsets[r]..<x.offsets[r + 1] {
            let c = Int(x.columns[p])
            rows[next[c]] = Int32(r)
            values[next[c]] = x.values[p]
            next[c] += 1
        }
    }
    return (start, rows, values)
}

extension SparseRows {
    /// The transpose (columns become rows), entries of each new row in the old row order.
    public func transposed() -> SparseRows {
        let (start, rows, values) = columnMajor(self)
        var t = SparseRows(columnCount: rowCount)
        t.offsets = start
        t.columns = rows
        t.values = values
        return t
    }
}

/// a · x for a sparse `a` [rows, n] and a dense `x` [n, dim]: each output row gathers the rows of x
/// that its entries name. The gradient flows to x as aᵀ · g; pass `transposed` (aᵀ, or a itself
/// when it is symmetric, as a graph's normalised adjacency) to skip transposing on every backward.
public func sparseMatmul(_ a: SparseRows, _ x: Tensor, transposed: SparseRows? = nil) -> Tensor {
    precondition(x.rank == 2 && x.shape[0] == a.columnCount, "sparseMatmul: x \(x.shape) for \(a.columnCount) columns")
    if let transposed {
        precondition(transposed.rowCount == a.columnCount && transposed.columnCount == a.rowCount, "sparseMatmul: transposed has the wrong shape")
    }
    let d = x.shape[1]
    let out = Tensor(uninitialized: [a.rowCount, d])
    gatherRowsProduct(a, UnsafePointer(x.data), d, out.data)
    guard Tape.needs(x) else { return out }
    Tape.record(out) { g in
        let dx = Tensor(uninitialized: x.shape)
        gatherRowsProduct(transposed ?? a.transposed(), UnsafePointer(g.data), d, dx.data)
        accumulateGrad(x, dx, owned: true)
    }
    return out
}

/// out[r] = Σ over row r's entries of value · table[column], rows in parallel.
private func gatherRowsProduct(_ a: SparseRows, _ table: UnsafePointer<Float>, _ d: Int, _ out: UnsafeMutablePointer<Float>) {
    let o = SharedPointer(out)
    let chunks = Threads.count > 1 && a.nonZeroCount * d >= parallelThreshold ? Threads.count * chunksPerThread : 1
    a.offsets.withUnsafeBufferPointer { off in
        a.columns.withUnsafeBufferPointer { cols in
            a.values.withUnsafeBufferPointer { vals in
                Threads.parallelFor(a.rowCount, chunks: chunks) { _, range in
                    for r in range {
                        let dst = o.base + r * d
                        dst.initialize(repeating: 0, count: d)
                        let lo = off[r], n = off[r + 1] - lo
                        if n > 0 { osk_sparse_gather_axpy(vals.baseAddress! + lo, cols.baseAddress! + lo, n, table, d, dst, d) }
                    }
                }
            }
        }
    }
}
