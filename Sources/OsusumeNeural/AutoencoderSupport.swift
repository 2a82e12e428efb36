import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels
import OsusumeTensor

/// The training users of a log as item lists (with ratings, NaN where unknown): the rows the
/// user-vector autoencoders (Multi-DAE/VAE, RecVAE, the multi-task DAE) read batch by batch.
struct AutoencoderRows {
    let itemCount: Int
    var items: [[Int32]]
    var ratings: [[Float]]

    init(log: InteractionLog) {
        itemCount = log.itemCount
        var items = [[Int32]](repeating: [], count: log.userCount)
        var ratings = [[Float]](repeating: [], count: log.userCount)
        let hasRatings = log.hasRatings && log.ratings.count == log.count
        for i in 0..<log.count {
            let u = Int(log.users[i])
            items[u].append(log.items[i])
            ratings[u].append(hasRatings ? log.ratings[i] : .nan)
        }
        self.items = items
        self.ratings = ratings
    }

    var userCount: Int { items.count }

    /// Users with at least one item, in an order shuffled by `rng`.
    func shuffledUsers(_ rng: inout SeededRandom) -> [Int] {
        var order = (0..<userCount).filter { !items[$0].isEmpty }
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.nextInt(i + 1)) }
        return order
    }
}

enum AutoencoderInput {
    /// Binary rows over `itemCount` columns (1 where an item is in the list, an item listed twice
    /// counted once), each scaled to unit L2 norm when `normalize` (Liang et al.'s input
    /// normalisation). Sparse: an autoencoder's first layer then costs the history length
    /// instead of the catalogue size per user.
    static func sparse(_ rows: [[Int32]], itemCount: Int, normalize: Bool) -> SparseRows {
        var out = SparseRows(columnCount: itemCount)
        // lastRow[i] == r + 1: item i is already in row r (cheaper than a set per row).
        var lastRow = [Int32](repeating: 0, count: itemCount)
        for (r, row) in rows.enumerated() {
            let stamp = Int32(r + 1)
            var cols: [Int32] = []
            cols.reserveCapacity(row.count)
            for i in row where i >= 0 && Int(i) < itemCount && lastRow[Int(i)] != stamp {
                lastRow[Int(i)] = stamp
                cols.append(i)
            }
            let v: Float = normalize && !cols.isEmpty ? 1 / Float(cols.count).squareRoot() : 1
            out.appendRow(columns: cols, values: [Float](repeating: v, count: cols.count))
        }
        return out
    }

    /// Re-initialises a linear layer as Xavier/Glorot normal with zero bias (Liang et al. and
    /// RecBole initialise the autoencoders this way; it suits tanh better than ±1/√fan-in).
    static func xavier(_ layer: Linear, rng: inout SeededRandom) {
        let out = layer.weight.shape[0], inp = layer.weight.shape[1]
        let std = (2 / Float(inp + out)).squareRoot()
        layer.weight.withUnsafeMutableBufferPointer { w in for i in 0..<w.count { w[i] = rng.nextGaussian() * std } }
        layer.bias?.withUnsafeMutableBufferPointer { b in for i in 0..<b.count { b[i] = 0 } }
    }

    /// Log-softmax of one row of logits, for comparing a score across different inputs (the
    /// logits of a multinomial model are defined up to a per-row constant).
    static func logSoftmaxRow(_ row: UnsafeBufferPointer<Float>) -> [Float] {
        var m = -Float.infinity
        for v in row { m = max(m, v) }
        var s: Double = 0
        for v in row { s += Double(Foundation.exp(v - m)) }
        let lse = m + Float(Foundation.log(s))
        return row.map { $0 - lse }
    }
}

/// Scores a history with each of its items removed in turn and reports how much the target
/// item's log-probability drops without it (positive: the item supports the recommendation).
/// Used by every autoencoder's `contributions(of:for:)`.
func holdOutContributions(
    of item: Int32, for query: ScoringQuery, itemCount: Int,
    score: ([ScoringQuery], UnsafeMutablePointer<Float>) -> Void
) -> [Float] {
    let h = query.history
    guard !h.isEmpty, item >= 0, Int(item) < itemCount else { return [Float](repeating: 0, count: h.count) }
    var queries = [ScoringQuery(user: nil, history: h, ratings: query.ratings)]
    for i in 0..<h.count {
        var hist = h; hist.remove(at: i)
        var ratings = query.ratings; ratings?.remove(at: i)
        queries.append(ScoringQuery(user: nil, history: hist, ratings: ratings))
    }
    var buf = [Float](repeating: 0, count: queries.count * itemCount)
    buf.withUnsafeMutableBufferPointer { score(queries, $0.baseAddress!) }
    let logProb: (Int) -> Float = { r in
        buf.withUnsafeBufferPointer { p in
            AutoencoderInput.logSoftmaxRow(UnsafeBufferPointer(rebasing: p[(r * itemCount)..<((r + 1) * itemCount)]))[Int(item)]
        }
    }
    let full = logProb(0)
    return (0..<h.count).map { i in h[i] == item ? 0 : full - logProb(i + 1) }
}

/// Runs `forward` over queries in chunks of `chunk` rows and copies each [rows, itemCount]
/// output into `out` (row-major).
func scoreInChunks(
    _ queries: [ScoringQuery], itemCount: Int, chunk: Int = 256,
    into out: UnsafeMutablePointer<Float>, forward: ([ScoringQuery]) -> Tensor
) {
    var lo = 0
    while lo < queries.count {
        let hi = min(queries.count, lo + chunk)
        let result = withoutGradients { forward(Array(queries[lo..<hi])) }
        precondition(result.shape == [hi - lo, itemCount], "autoencoder output \(result.shape), expected [\(hi - lo), \(itemCount)]")
        result.withUnsafeBufferPointer { src in (out + lo * itemCount).update(from: src.baseAddress!, count: src.count) }
        lo = hi
    }
}

/// Checkpoint helpers: module weights plus a few counters (stored as one F32 tensor of
/// exactly-representable integers split in 24-bit halves) so a resumed run continues the
/// annealing schedule and the shuffling.
enum AutoencoderCheckpoint {
    static func counters(_ values: [UInt64]) -> [Float] {
        values.flatMap { v in [Float(v & 0xFF_FFFF), Float((v >> 24) & 0xFF_FFFF), Float(v >> 48)] }
    }
    static func decode(_ floats: [Float]) -> [UInt64] {
        stride(from: 0, to: floats.count - 2, by: 3).map { i in
            UInt64(floats[i]) | (UInt64(floats[i + 1]) << 24) | (UInt64(floats[i + 2]) << 48)
        }
    }

    static func save(_ module: Module, counters values: [UInt64], config: some ModelConfig, kind: String) -> SafeTensors {
        var st = module.stateDict()
        st.set("_counters", floats: counters(values), shape: [values.count * 3])
        if case let json? = try? JSONEncoder().encode(config), let s = String(data: json, encoding: .utf8) { st.metadata["config"] = s }
        st.metadata["kind"] = kind
        return st
    }

    static func load(_ st: SafeTensors, into module: Module) throws -> [UInt64] {
        var weights = st
        weights.tensors["_counters"] = nil
        try module.load(weights)
        guard let (floats, _) = try? st.floats("_counters") else { return [] }
        return decode(floats)
    }
}
