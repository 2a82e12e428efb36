import OsusumeCore

enum DenseRows {
    /// Writes each query's history as a binary row (1 where the item was seen) into a
    /// `queries.count × itemCount` row-major buffer. Items outside the model's range are ignored.
    static func fillBinary(_ queries: [ScoringQuery], itemCount: Int, into buf: UnsafeMutablePointer<Float>) {
        buf.initialize(repeating: 0, count: queries.count * itemCount)
        for (r, q) in queries.enumerated() {
            let row = buf + r * itemCount
            for h in q.history where h >= 0 && Int(h) < itemCount { row[Int(h)] = 1 }
        }
    }
}
