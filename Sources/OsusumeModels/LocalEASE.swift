import Foundation
import OsusumeCore
import OsusumeData

/// EASE for large catalogs: each item's column of B is EASE's ridge regression restricted to
/// its `neighbours` most co-occurring items, as in SLIM with feature selection (fsSLIM, Ning and
/// Karypis, ICDM 2011) but with EASE's L2 penalty and closed form instead of the elastic net:
///
///   b_j = (G_NN + λI)⁻¹ G_Nj   over N = the top co-occurring items of j (j itself excluded),
///
/// with G = XᵀX. An m × m Cholesky solve per item replaces EASE's n × n inverse, so time grows
/// with n · m³ instead of n³, and B is sparse (n · m weights) instead of n² floats: 27,000
/// items and m = 256 make 7M weights (55 MB) instead of 3 GB.
///
/// G is never built whole: each item's co-occurrence row is counted from the users who have it
/// (Σᵤ |hᵤ|² increments in all) and only its top `2m` entries are kept; an entry of G_NN that
/// neither row kept is taken as 0 (pairs that rarely co-occur).
public final class LocalEASE: ExplainableRecommender {
    public struct Config: ModelConfig {
        /// L2 regularisation λ, as EASE's.
        public var lambda: Double = 500
        /// Items each item's weights are fitted over (m).
        public var neighbours: Int = 256
        public init() {}
    }
    public static let kind = "localease"
    public let config: Config
    /// B by row: the items a history item i raises (`columns`) and by how much (`weights`).
    public private(set) var rowPointers: [Int] = [0]
    public private(set) var columns: [Int32] = []
    public private(set) var weights: [Float] = []
    public private(set) var itemCount = 0

    public init(config: Config) { self.config = config }

    public func fit(_ data: TrainingData) throws {
        let n = data.log.itemCount
        guard n > 1, data.log.count > 0 else { throw OsusumeError.emptyData("localease: needs interactions and at least two items") }
        guard config.lambda > 0, config.neighbours > 0 else { throw OsusumeError.invalidArgument("localease: lambda and neighbours must be > 0") }
        let m = min(config.neighbours, n - 1), keep = min(2 * m, n - 1)
        try MemoryBudget.require(
            n * keep * 8 + n * m * 16, for: "localease with \(n) items and \(m) neighbours", detail: "kept co-occurrences and the sparse B",
            advice: "lower neighbours, or use a machine with more memory")
        let x = data.log.csr()
        let byItem = x.transposed()
        let progress = ProgressReporter("localease", total: 2 * n)

        // 1. Each item's top `keep` co-occurring items (sorted by id) with their counts.
        var topItems = [Int32](repeating: -1, count: n * keep)
        var topCounts = [Float](repeating: 0, count: n * keep)
        var topLength = [Int32](repeating: 0, count: n)
        // The smallest count a truncated list kept (a pair it dropped co-occurs at most this
        // often); 0 for a complete list.
        var dropFloor = [Float](repeating: 0, count: n)
        let itemCounts = (0..<n).map { Float(byItem.rowPointers[$0 + 1] - byItem.rowPointers[$0]) }
        let done = Counter()
        topItems.withUnsafeMutableBufferPointer { tip in
            topCounts.withUnsafeMutableBufferPointer { tcp in
                topLength.withUnsafeMutableBufferPointer { tlp in
                    dropFloor.withUnsafeMutableBufferPointer { dfp in
                        let df = SharedPointer(dfp.baseAddress!)
                        let ti = SharedPointer(tip.baseAddress!), tc = SharedPointer(tcp.baseAddress!), tl = SharedPointer(tlp.baseAddress!)
                        x.rowPointers.withUnsafeBufferPointer { xp in
                            x.colIndices.withUnsafeBufferPointer { xc in
                                Threads.parallelFor(n, chunks: min(n, 64 * Threads.count)) { _, items in
                                    var counts = [Float](repeating: 0, count: n)
                                    var touched: [Int32] = []
                                    var histogram: [Int] = []
                                    for j in items {
                                        touched.removeAll(keepingCapacity: true)
                                        for p in byItem.rowPointers[j]..<byItem.rowPointers[j + 1] {
                                            let u = Int(byItem.colIndices[p])
                                            for q in xp[u]..<xp[u + 1] {
                                                let i = Int(xc[q])
                                                if counts[i] == 0 { touched.append(Int32(i)) }
                                                counts[i] += 1
                                            }
                                        }
                                        counts[j] = 0
                                        let candidates = touched.filter { Int($0) != j }
                                        var chosen = candidates
                                        if candidates.count > keep {
                                            // The `keep` largest counts without sorting them all: counts are whole numbers up to
                                            // j's own count, so a histogram finds the threshold; ties at it go to the lowest ids.
                                            let top = Int(itemCounts[j])
                                            if histogram.count < top + 1 { histogram = [Int](repeating: 0, count: top + 1) }
                                            for i in candidates { histogram[Int(counts[Int(i)])] += 1 }
                                            var threshold = top, above = 0
                                            while threshold > 0 && above + histogram[threshold] < keep {
                                                above += histogram[threshold]
                                                threshold -= 1
                                            }
                                            for i in candidates { histogram[Int(counts[Int(i)])] = 0 }
                                            var atThreshold = keep - above
                                            chosen.removeAll(keepingCapacity: true)
                                            for i in candidates.sorted() {
                                                let c = Int(counts[Int(i)])
                                                if c > threshold {
                                                    chosen.append(i)
                                                } else if c == threshold && atThreshold > 0 {
                                                    chosen.append(i)
                                                    atThreshold -= 1
                                                }
                                            }
                                            df[j] = Float(threshold)
                                        }
                                        let sorted = chosen.sorted()
                                        for (k, i) in sorted.enumerated() {
                                            ti[j * keep + k] = i
                                            tc[j * keep + k] = counts[Int(i)]
                                        }
                                        tl[j] = Int32(sorted.count)
                                        for i in touched { counts[Int(i)] = 0 }
                                        done.add(1)
                                    }
                                    progress.update(done.value)
                                }
                            }
                        }
                    }
                }
            }
        }

        // 2. Each item's column over its m most co-occurring neighbours: an m × m SPD solve.
        var columnItems = [[Int32]](repeating: [], count: n)
        var columnWeights = [[Float]](repeating: [], count: n)
        let lambda = Float(config.lambda)
        let savedBLAS = BLAS.threads
        BLAS.threads = 1
        defer { BLAS.threads = savedBLAS }
        let failures = Counter()
        columnItems.withUnsafeMutableBufferPointer { cip in
            columnWeights.withUnsafeMutableBufferPointer { cwp in
                let ci = SharedPointer(cip.baseAddress!), cw = SharedPointer(cwp.baseAddress!)
                Threads.parallelFor(n, chunks: min(n, 64 * Threads.count)) { _, items in
                    var a = [Float](repeating: 0, count: m * m)
                    var b = [Float](repeating: 0, count: m)
                    var b2 = [Float](repeating: 0, count: m)
                    for j in items {
                        let len = Int(topLength[j]), base = j * keep
                        // The m largest of the kept counts, back in id order.
                        var order = Array(0..<len)
                        if len > m {
                            order.sort { topCounts[base + $0] != topCounts[base + $1] ? topCounts[base + $0] > topCounts[base + $1] : $0 < $1 }
                            order = Array(order.prefix(m)).sorted()
                        }
                        let k = order.count
                        if k == 0 { continue }
                        let nbrs = order.map { topItems[base + $0] }
                        for t in 0..<(k * k) { a[t] = 0 }
                        // Row r of G_NN from neighbour r's kept list (both sorted by id: a merge).
                        for r in 0..<k {
                            let row = Int(nbrs[r]), rowBase = row * keep, rowLength = Int(topLength[row])
                            var p = 0, c = 0
                            while p < rowLength && c < k {
                                let id = topItems[rowBase + p]
                                if id < nbrs[c] {
                                    p += 1
                                } else if id > nbrs[c] {
                                    c += 1
                                } else {
                                    a[r * k + c] = topCounts[rowBase + p]
                                    p += 1
                                    c += 1
                                }
                            }
                            b[r] = topCounts[base + order[r]]
                        }
                        // A pair either row kept (counts are symmetric). A pair both truncated rows
                        // dropped co-occurs at most min(floors) times: that bound goes on both
                        // diagonals, which keeps the matrix positive definite (the dropped part,
                        // bounded so, is a graph Laplacian short of PSD) at the cost of a little more
                        // shrinkage for those neighbours.
                        for r in 0..<k { b2[r] = itemCounts[Int(nbrs[r])] + lambda }
                        for r in 0..<k {
                            for c in (r + 1)..<k {
                                let v = max(a[r * k + c], a[c * k + r])
                                a[r * k + c] = v
                                a[c * k + r] = v
                                if v == 0 {
                                    let bound = min(dropFloor[Int(nbrs[r])], dropFloor[Int(nbrs[c])])
                                    b2[r] += bound
                                    b2[c] += bound
                                }
                            }
                        }
                        for r in 0..<k { a[r * k + r] = b2[r] }
                        let ok = a.withUnsafeMutableBufferPointer { ap in b.withUnsafeMutableBufferPointer { bp in LAPACK.solveSPD(ap.baseAddress!, bp.baseAddress!, n: k) } }
                        if !ok {
                            failures.add(1)
                            continue
                        }
                        ci[j] = nbrs
                        cw[j] = Array(b[0..<k])
                        done.add(1)
                    }
                    progress.update(done.value)
                }
            }
        }
        if failures.value > 0 { throw OsusumeError.numeric("localease: \(failures.value) items' systems were not positive definite; raise lambda") }

        // 3. B by row (history item → the items it raises), for scoring by row sums.
        var rowCounts = [Int](repeating: 0, count: n)
        for j in 0..<n { for i in columnItems[j] { rowCounts[Int(i)] += 1 } }
        var ptr = [Int](repeating: 0, count: n + 1)
        for i in 0..<n { ptr[i + 1] = ptr[i] + rowCounts[i] }
        var cols = [Int32](repeating: 0, count: ptr[n]), vals = [Float](repeating: 0, count: ptr[n])
        var fill = ptr
        for j in 0..<n {
            for (k, i) in columnItems[j].enumerated() {
                cols[fill[Int(i)]] = Int32(j)
                vals[fill[Int(i)]] = columnWeights[j][k]
                fill[Int(i)] += 1
            }
        }
        progress.finish("\(n) items, \(ptr[n]) weights (\(m) neighbours)")
        rowPointers = ptr; columns = cols; weights = vals; itemCount = n
    }

    public func score(_ queries: [ScoringQuery], into out: UnsafeMutablePointer<Float>) {
        let n = itemCount
        let o = SharedPointer(out)
        Threads.parallelFor(queries.count, minChunk: 16) { _, range in
            for q in range {
                let y = o.base + q * n
                y.initialize(repeating: 0, count: n)
                // Sorted distinct items, so the sums' order never depends on hashing.
                for i in Set(queries[q].history).sorted() where i >= 0 && Int(i) < n {
                    for p in rowPointers[Int(i)]..<rowPointers[Int(i) + 1] { y[Int(columns[p])] += weights[p] }
                }
            }
        }
    }

    public func contributions(of item: Int32, for query: ScoringQuery) -> [Float] {
        query.history.map { h in
            guard h >= 0, Int(h) < itemCount, h != item else { return 0 }
            let lo = rowPointers[Int(h)], hi = rowPointers[Int(h) + 1]
            guard let p = columns[lo..<hi].firstIndex(of: item) else { return 0 }
            return weights[p]
        }
    }

    static let tensorNames = SparseItemRows.Names(rowPointers: "rowPointers", columns: "columns", values: "weights")

    public func state() throws -> SafeTensors {
        var st = SafeTensors()
        SparseItemRows(rowPointers: rowPointers, columns: columns, values: weights).write(into: &st, names: Self.tensorNames)
        return st
    }

    public func restore(_ state: SafeTensors) throws {
        let b = try SparseItemRows.read(from: state, names: Self.tensorNames, kind: Self.kind)
        rowPointers = b.rowPointers; columns = b.columns; weights = b.values; itemCount = b.itemCount
    }
}

/// A thread-safe counter for progress across chunks.
final class Counter: @unchecked Sendable {
    private var count = 0
    private let lock = NSLock()
    func add(_ k: Int) { lock.lock(); count += k; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
