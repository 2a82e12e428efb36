import OsusumeCore
import OsusumeData

/// The item Gram matrix XᵀX of a binary user×item matrix, shared by EASE and PureSVD.
enum ItemGram {
    /// G = XᵀX for binary X, upper triangle in row-major order (what the Cholesky and eigen solvers read).
    /// Sparse when X is sparse enough: row i of G is the sum of the histories of the users who
    /// have i, counted from column i on; that row (n floats) stays in L1 while the histories
    /// stream past, and rows are independent, so threads take them dynamically. Its cost is
    /// Σ_u |h_u|² / 2 increments against users · n² / 2 multiply-adds for dense ssyrk, which is
    /// about 50× faster per operation, hence the switch.
    static func upper(_ x: CSRMatrix, n: Int) -> [Float] {
        var sumSquares = 0.0
        for u in 0..<x.rows { let h = Double(x.rowPointers[u + 1] - x.rowPointers[u]); sumSquares += h * h }
        if sumSquares <= Double(x.rows) * Double(n) * Double(n) / 50 { return sparseUpper(x, n: n) }
        return denseUpper(x, n: n)
    }

    static func sparseUpper(_ x: CSRMatrix, n: Int) -> [Float] {
        let byItem = x.transposed()
        var g = [Float](repeating: 0, count: n * n)
        g.withUnsafeMutableBufferPointer { gp in
            let out = SharedPointer(gp.baseAddress!)
            x.colIndices.withUnsafeBufferPointer { colsBuf in
                let cols = colsBuf.baseAddress!
                // Many small blocks so that the costly low-numbered, popular rows spread evenly.
                let blocks = min(n, 64 * Threads.count)
                Threads.parallelFor(n, chunks: blocks) { _, items in
                    for i in items {
                        let row = out.base + i * n
                        let item = Int32(i)
                        for p in byItem.rowPointers[i]..<byItem.rowPointers[i + 1] {
                            let u = Int(byItem.colIndices[p])
                            var lo = x.rowPointers[u], hi = x.rowPointers[u + 1]
                            // First column ≥ i (columns are sorted).
                            while lo < hi { let mid = (lo + hi) >> 1; if cols[mid] < item { lo = mid + 1 } else { hi = mid } }
                            var q = lo
                            let end = x.rowPointers[u + 1]
                            while q < end { row[Int(cols[q])] += 1; q += 1 }
                        }
                    }
                }
            }
        }
        return g
    }

    /// Dense path: rank-k updates over dense blocks of users. The users are split among the
    /// threads, each running single-threaded BLAS on its own partial G, then the partials are
    /// summed: on two cores this beats OpenBLAS's own threading of ssyrk.
    static func denseUpper(_ x: CSRMatrix, n: Int) -> [Float] {
        let parts = max(1, min(Threads.count, x.rows / 512))
        var partials = [Float](repeating: 0, count: parts * n * n)
        let savedThreads = BLAS.threads
        if parts > 1 { BLAS.threads = 1 }
        partials.withUnsafeMutableBufferPointer { pp in
            let out = SharedPointer(pp.baseAddress!)
            Threads.parallelFor(x.rows, chunks: parts) { part, users in
                let block = max(1, min(users.count, 8_388_608 / n))
                var dense = [Float](repeating: 0, count: block * n)
                var u0 = users.lowerBound
                dense.withUnsafeMutableBufferPointer { dp in
                    while u0 < users.upperBound {
                        let u1 = min(users.upperBound, u0 + block)
                        dp.baseAddress!.initialize(repeating: 0, count: (u1 - u0) * n)
                        for u in u0..<u1 { for c in x.row(u) { dp[(u - u0) * n + Int(c)] = 1 } }
                        BLAS.ssyrkUpperTransposed(
                            n: n, k: u1 - u0, a: dp.baseAddress!, c: out.base + part * n * n,
                            beta: u0 == users.lowerBound ? 0 : 1)
                        u0 = u1
                    }
                }
            }
            if parts > 1 {
                Threads.parallelFor(n * n, minChunk: 65_536) { _, range in
                    for p in 1..<parts { for i in range { out[i] += out[p * n * n + i] } }
                }
            }
        }
        if parts > 1 { BLAS.threads = savedThreads }
        return parts == 1 ? partials : Array(partials[0..<n * n])
    }
}
