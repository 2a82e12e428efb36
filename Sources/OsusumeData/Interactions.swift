/// An interaction log in dense ids, stored column-wise. `timestamps` are seconds (or any
/// increasing order key such as a position, see `timeIsOrdinal`); `ratings` are NaN where unknown.
public struct InteractionLog: Sendable {
    public var users: [Int32] = []
    public var items: [Int32] = []
    public var timestamps: [Int64] = []
    public var ratings: [Float] = []
    public var userIDs = IDMap()
    public var itemIDs = IDMap()
    /// True when the source had real timestamps; false when they are positions in the file.
    public var hasTimestamps = false
    /// True when the source had explicit ratings.
    public var hasRatings = false

    public init() {}

    public var count: Int { users.count }
    public var userCount: Int { userIDs.count }
    public var itemCount: Int { itemIDs.count }

    /// Appends one interaction, interning its external ids. `timestamp` defaults to the
    /// position in the log so that file order is kept as the time order.
    public mutating func append(user: String, item: String, timestamp: Int64? = nil, rating: Float? = nil) {
        users.append(userIDs.intern(user))
        items.append(itemIDs.intern(item))
        timestamps.append(timestamp ?? Int64(timestamps.count))
        ratings.append(rating ?? .nan)
    }

    public mutating func append(user: Int32, item: Int32, timestamp: Int64, rating: Float) {
        users.append(user); items.append(item); timestamps.append(timestamp); ratings.append(rating)
    }

    /// A copy with only the rows where `keep(row)` is true, in the same id space.
    public func filtered(_ keep: (Int) -> Bool) -> InteractionLog {
        var out = InteractionLog()
        out.userIDs = userIDs; out.itemIDs = itemIDs
        out.hasTimestamps = hasTimestamps; out.hasRatings = hasRatings
        for r in 0..<count where keep(r) {
            out.append(user: users[r], item: items[r], timestamp: timestamps[r], rating: ratings[r])
        }
        return out
    }

    /// Each user's rows ordered by (timestamp, original position): the time order. Stable, so
    /// ties keep file order.
    public func rowsByUser() -> [[Int]] {
        var rows = [[Int]](repeating: [], count: userCount)
        for r in 0..<count { rows[Int(users[r])].append(r) }
        for u in 0..<rows.count where rows[u].count > 1 {
            // Stable sort by timestamp: sort pairs (timestamp, row).
            rows[u].sort { (timestamps[$0], $0) < (timestamps[$1], $1) }
        }
        return rows
    }

    /// Each user's items in time order.
    public func sequences() -> [[Int32]] { rowsByUser().map { $0.map { items[$0] } } }

    /// Number of interactions per item.
    public func itemCounts() -> [Int] {
        var c = [Int](repeating: 0, count: itemCount)
        for i in items { c[Int(i)] += 1 }
        return c
    }

    /// Number of interactions per user.
    public func userCounts() -> [Int] {
        var c = [Int](repeating: 0, count: userCount)
        for u in users { c[Int(u)] += 1 }
        return c
    }

    /// The binary user×item matrix (duplicates collapsed) with optional per-entry values.
    public func csr(values: CSRMatrix.Values = .ones) -> CSRMatrix {
        switch values {
        case .ones:
            return CSRMatrix(rows: userCount, cols: itemCount, rowIndices: users, colIndices: items, values: nil)
        case .ratings:
            return CSRMatrix(
                rows: userCount, cols: itemCount, rowIndices: users, colIndices: items,
                values: ratings.map { $0.isNaN ? 1 : $0 })
        }
    }
}

/// Compressed sparse rows: row r's columns are `colIndices[rowPointers[r] ..< rowPointers[r+1]]`,
/// sorted ascending, without duplicates (the last value wins for a repeated entry).
public struct CSRMatrix: Sendable {
    public enum Values: Sendable { case ones, ratings }
    public let rows: Int
    public let cols: Int
    public var rowPointers: [Int]
    public var colIndices: [Int32]
    public var values: [Float]

    public init(rows: Int, cols: Int, rowPointers: [Int], colIndices: [Int32], values: [Float]) {
        self.rows = rows; self.cols = cols
        self.rowPointers = rowPointers; self.colIndices = colIndices; self.values = values
    }

    public init(rows: Int, cols: Int, entries: [(Int32, Int32, Float)]) {
        self.init(
            rows: rows, cols: cols, rowIndices: entries.map(\.0), colIndices: entries.map(\.1),
            values: entries.map(\.2))
    }

    /// Builds from coordinate lists (`values` nil means all ones). Two stable counting sorts,
    /// by column then by row, leave each row's columns ascending in O(nnz) with no comparisons;
    /// a repeated (row, column) keeps its last value.
    public init(rows: Int, cols: Int, rowIndices: [Int32], colIndices cIdx: [Int32], values vals: [Float]?) {
        precondition(rowIndices.count == cIdx.count && (vals == nil || vals!.count == cIdx.count))
        self.rows = rows; self.cols = cols
        let nnz = cIdx.count
        var colStart = [Int](repeating: 0, count: cols + 1)
        for c in cIdx { colStart[Int(c) + 1] += 1 }
        for c in 0..<cols { colStart[c + 1] += colStart[c] }
        var byCol = [Int32](repeating: 0, count: nnz) // entry indices ordered by column, stable
        for (e, c) in cIdx.enumerated() { byCol[colStart[Int(c)]] = Int32(e); colStart[Int(c)] += 1 }
        var rowStart = [Int](repeating: 0, count: rows + 1)
        for r in rowIndices { rowStart[Int(r) + 1] += 1 }
        for r in 0..<rows { rowStart[r + 1] += rowStart[r] }
        var next = rowStart
        var ordered = [Int32](repeating: 0, count: nnz) // entry indices by row, then column, stable
        for e in byCol { let r = Int(rowIndices[Int(e)]); ordered[next[r]] = e; next[r] += 1 }
        var outPtr = [Int](repeating: 0, count: rows + 1)
        var outCols = [Int32](repeating: 0, count: nnz)
        var outVals = [Float](repeating: 1, count: nnz)
        var w = 0
        for r in 0..<rows {
            let rowBegin = w
            for p in rowStart[r]..<rowStart[r + 1] {
                let e = Int(ordered[p]), c = cIdx[e]
                if w > rowBegin && outCols[w - 1] == c {
                    if let vals { outVals[w - 1] = vals[e] }
                } else {
                    outCols[w] = c
                    if let vals { outVals[w] = vals[e] }
                    w += 1
                }
            }
            outPtr[r + 1] = w
        }
        outCols.removeLast(nnz - w); outVals.removeLast(nnz - w)
        rowPointers = outPtr; colIndices = outCols; values = outVals
    }

    public var nonZeros: Int { colIndices.count }

    public func row(_ r: Int) -> ArraySlice<Int32> { colIndices[rowPointers[r]..<rowPointers[r + 1]] }
    public func rowValues(_ r: Int) -> ArraySlice<Float> { values[rowPointers[r]..<rowPointers[r + 1]] }

    /// The transpose (items × users).
    public func transposed() -> CSRMatrix {
        var counts = [Int](repeating: 0, count: cols + 1)
        for c in colIndices { counts[Int(c) + 1] += 1 }
        for c in 0..<cols { counts[c + 1] += counts[c] }
        var next = counts
        var tCols = [Int32](repeating: 0, count: nonZeros)
        var tVals = [Float](repeating: 0, count: nonZeros)
        for r in 0..<rows {
            for p in rowPointers[r]..<rowPointers[r + 1] {
                let c = Int(colIndices[p]); let q = next[c]; next[c] += 1
                tCols[q] = Int32(r); tVals[q] = values[p]
            }
        }
        return CSRMatrix(rows: cols, cols: rows, rowPointers: counts, colIndices: tCols, values: tVals)
    }
}
