import Foundation
import OsusumeCore
import OsusumeData

/// Most-interacted items first, the same list for everyone. With `halfLifeDays` > 0 each
/// interaction counts 2^(−age/half-life), age measured from the log's last timestamp, so the list
/// follows what is popular now.
public final class Popularity: Recommender {
    public struct Config: ModelConfig {
        /// Half-life of an interaction's weight in days; 0 means no decay.
        public var halfLifeDays: Double = 0
        public init() {}
    }
    public static let kind = "pop"
    public let config: Config
    public private(set) var scores: [Float] = []
    public var itemCount: Int { scores.count }

    public init(config: Config) { self.config = config }

    public func fit(_ data: TrainingData) throws {
        let log = data.log
        var s = [Double](repeating: 0, count: log.itemCount)
        if config.halfLifeDays > 0 {
            guard log.hasTimestamps else {
                throw OsusumeError.invalidArgument("pop: halfLifeDays needs timestamps, and this data has none")
            }
            let last = log.timestamps.max() ?? 0
            let halfLife = config.halfLifeDays * 86_400
            for r in 0..<log.count {
                s[Int(log.items[r])] += pow(2, -Double(last - log.timestamps[r]) / halfLife)
            }
        } else {
            for i in log.items { s[Int(i)] += 1 }
        }
        scores = s.map { Float($0) }
    }

    public func score(_ queries: [ScoringQuery], into out: UnsafeMutablePointer<Float>) {
        scores.withUnsafeBufferPointer { src in
            for r in 0..<queries.count { (out + r * itemCount).update(from: src.baseAddress!, count: itemCount) }
        }
    }

    public func state() throws -> SafeTensors {
        var st = SafeTensors(); st.set("scores", floats: scores, shape: [scores.count]); return st
    }

    public func restore(_ state: SafeTensors) throws { scores = try state.floats("scores").values }
}

/// The most recently introduced items first: an item's introduction is its first interaction in
/// the training log (by timestamp, or by position when the data has no timestamps). Ties go to
/// the more popular item.
public final class Newest: Recommender {
    public struct Config: ModelConfig { public init() {} }
    public static let kind = "newest"
    public let config: Config
    public private(set) var scores: [Float] = []
    public var itemCount: Int { scores.count }

    public init(config: Config) { self.config = config }

    public func fit(_ data: TrainingData) throws {
        let log = data.log
        var first = [Int64](repeating: .max, count: log.itemCount)
        for r in 0..<log.count {
            let i = Int(log.items[r])
            first[i] = min(first[i], log.hasTimestamps ? log.timestamps[r] : Int64(r))
        }
        let counts = log.itemCounts()
        // Scores are ranks scaled to (0, 1]: exact for any timestamp range, unlike raw Float32 seconds.
        let order = (0..<log.itemCount).sorted { (first[$0], counts[$0]) < (first[$1], counts[$1]) }
        var s = [Float](repeating: 0, count: log.itemCount)
        for (rank, i) in order.enumerated() { s[i] = first[i] == .max ? 0 : Float(rank + 1) / Float(order.count) }
        scores = s
    }

    public func score(_ queries: [ScoringQuery], into out: UnsafeMutablePointer<Float>) {
        scores.withUnsafeBufferPointer { src in
            for r in 0..<queries.count { (out + r * itemCount).update(from: src.baseAddress!, count: itemCount) }
        }
    }

    public func state() throws -> SafeTensors {
        var st = SafeTensors(); st.set("scores", floats: scores, shape: [scores.count]); return st
    }

    public func restore(_ state: SafeTensors) throws { scores = try state.floats("scores").values }
}
