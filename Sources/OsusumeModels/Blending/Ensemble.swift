import Foundation
import OsusumeCore

/// Several models behind one `Recommender`: every member scores the batch, each member's row is
/// masked (the query's history) and normalised over the remaining candidates, and the weighted
/// sum is the ensemble's score. The arithmetic is `WeightedBlend.combine`, the same a server
/// applies to a request with `blend=`, so a blend measured here is the blend that is served.
///
/// An ensemble is built from its members (`init(members:blend:)`); `fit` fits each of them on the
/// same training data, one after the other. It has no model file of its own: save the members and
/// serve them with the blend (`osusume serve --blend`).
public final class Ensemble: Recommender {
    public struct Config: ModelConfig {
        /// The blend, e.g. "ease:0.3,sasrec:0.7" (optionally ";norm=minmax"); component names are
        /// the members' kinds.
        public var blend = ""
        public init() {}
    }

    public static let kind = "ensemble"
    public let config: Config
    public let blend: WeightedBlend
    /// The members, in the blend's component order.
    public let members: [any Recommender]

    /// An ensemble needs its members; this initialiser (the protocol's) makes an empty one whose
    /// `fit` says how to build a real one.
    public init(config: Config) {
        self.config = config
        self.blend = (try? WeightedBlend(spec: config.blend)) ?? WeightedBlend([])
        self.members = []
    }

    /// `members` by component name; every component of `blend` must name one, and all members
    /// must score the same items.
    public init(members: [String: any Recommender], blend: WeightedBlend) throws {
        var ordered: [any Recommender] = []
        for c in blend.components {
            guard let m = members[c.model] else {
                throw OsusumeError.invalidArgument("ensemble: the blend names '\(c.model)' but the members are \(members.keys.sorted().joined(separator: ", "))")
            }
            ordered.append(m)
        }
        guard !ordered.isEmpty else { throw OsusumeError.invalidArgument("ensemble: no members") }
        var config = Config()
        config.blend = blend.description
        self.config = config
        self.blend = blend
        self.members = ordered
    }

    public var itemCount: Int { members.map(\.itemCount).max() ?? 0 }
    public var canScoreNewUsers: Bool { members.allSatisfy(\.canScoreNewUsers) }

    public func fit(_ data: TrainingData) throws {
        guard !members.isEmpty else {
            throw OsusumeError.invalidArgument("an ensemble is built from its members (osusume tune --ensemble ease,sasrec), not from settings alone")
        }
        for (c, m) in zip(blend.components, members) {
            logLine("ensemble: fitting \(c.model)")
            try m.fit(data)
        }
        let counts = Set(members.map(\.itemCount))
        guard counts.count == 1 else {
            throw OsusumeError.invalidArgument("ensemble: the members score different numbers of items (\(counts.sorted()))")
        }
    }

    public func score(_ queries: [ScoringQuery], into scores: UnsafeMutablePointer<Float>) {
        let n = itemCount, q = queries.count
        guard n > 0, q > 0 else { return }
        let buffers = members.map { _ in UnsafeMutablePointer<Float>.allocate(capacity: q * n) }
        defer { for b in buffers { b.deallocate() } }
        for (m, b) in zip(members, buffers) { m.score(queries, into: b) }
        // Normalisation statistics cover the candidates only: the history is masked first, as a
        // server masks it before blending.
        let blend = self.blend
        let out = SharedPointer(scores)
        let inputs = buffers.map { SharedPointer($0) }
        Threads.parallelFor(q) { _, range in
            for r in range {
                let rows = inputs.map { p -> UnsafeBufferPointer<Float> in
                    let row = UnsafeMutableBufferPointer(start: p.base + r * n, count: n)
                    TopK.exclude(queries[r].history, from: row)
                    return UnsafeBufferPointer(row)
                }
                blend.combine(rows, count: n, into: out.base + r * n)
            }
        }
    }

    public func state() throws -> SafeTensors {
        throw OsusumeError.invalidArgument("an ensemble has no model file: save its members and serve them with --blend \(config.blend)")
    }

    public func restore(_ state: SafeTensors) throws {
        throw OsusumeError.invalidArgument("an ensemble has no model file: load its members and serve them with --blend \(config.blend)")
    }
}
