import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels

/// How candidates are ranked. Full ranking (every item the user has not seen) is the default and
/// the only protocol comparable across papers that use it; sampled protocols rank the targets
/// among N sampled negatives and are always labelled as such.
public enum EvaluationProtocol: Sendable, Equatable, CustomStringConvertible {
    case full
    /// N negatives drawn uniformly from the items the user has not interacted with.
    case uniform(Int)
    /// N negatives drawn in proportion to training popularity.
    case popular(Int)

    /// Parses "full", "uniform-100", "popular-100".
    public init(parsing s: String) throws {
        let t = s.lowercased()
        if t == "full" { self = .full; return }
        for (prefix, make) in [("uniform-", EvaluationProtocol.uniform), ("popular-", EvaluationProtocol.popular)] {
            if t.hasPrefix(prefix), let n = Int(t.dropFirst(prefix.count)), n > 0 { self = make(n); return }
        }
        throw OsusumeError.invalidArgument("unknown protocol '\(s)': use full, uniform-N or popular-N (e.g. uniform-100)")
    }

    public var description: String {
        switch self {
        case .full: return "full"
        case .uniform(let n): return "uniform-\(n)"
        case .popular(let n): return "popular-\(n)"
        }
    }

    /// A sentence for reports.
    public var explanation: String {
        switch self {
        case .full: return "full ranking over all items, the user's history excluded"
        case .uniform(let n): return "SAMPLED: targets ranked among \(n) uniformly sampled unseen items (not comparable with full ranking)"
        case .popular(let n): return "SAMPLED: targets ranked among \(n) popularity-sampled unseen items (not comparable with full ranking)"
        }
    }
}

public struct EvaluationOptions: Sendable {
    public var ks: [Int] = [10, 20]
    public var evaluationProtocol: EvaluationProtocol = .full
    /// Users scored per model call.
    public var batchSize: Int = 512
    public var seed: UInt64 = 2024
    /// "Popular" for PopularShare@K: the N items with most training interactions.
    public var popularTop: Int = 100
    /// Upper bounds of the history-length groups (the last group is everything above).
    public var activityBounds: [Int] = [5, 10, 20, 50, 100, 200]
    public var showProgress: Bool = true
    /// Evaluate a seeded sample of this many test users instead of all (for very large logs);
    /// every report says so next to the protocol.
    public var sampleUsers: Int?

    public init() {}
}

public struct ActivityGroupReport: Codable, Sendable {
    public var group: String
    public var users: Int
    public var metrics: [String: Double]
}

public struct EvaluationReport: Codable, Sendable {
    public var evaluationProtocol: String
    public var protocolExplanation: String
    public var cases: Int
    public var ks: [Int]
    /// "NDCG@10", "HR@10", "Recall@20", "MRR@10", "Precision@10", "MAP@10", "Coverage@10",
    /// "PopularShare@10", "AveragePopularity@10".
    public var metrics: [String: Double]
    public var groups: [ActivityGroupReport]
    public var seconds: Double
    /// The number of test users sampled from when `sampleUsers` was set; nil for all users.
    public var sampledFrom: Int? = nil

    enum CodingKeys: String, CodingKey {
        case evaluationProtocol = "protocol", protocolExplanation = "protocol_explanation", cases, ks, metrics, groups, seconds
        case sampledFrom = "sampled_from"
    }
}

/// Scores users in batches, excludes what they have seen, ranks, and averages the metrics.
/// The evaluator owns the protocol; models only score.
public struct RankingEvaluator {
    public var options: EvaluationOptions
    /// Training interaction count per item (for popularity metrics and popular sampling).
    public let itemPopularity: [Int]

    public init(trainingLog: InteractionLog, options: EvaluationOptions = EvaluationOptions()) {
        self.options = options
        self.itemPopularity = trainingLog.itemCounts()
    }

    public func evaluate(_ model: any Recommender, cases allCases: [EvalCase], label: String = "evaluate") throws -> EvaluationReport {
        let start = Date()
        var cases = allCases
        var sampledFrom: Int?
        if let n = options.sampleUsers {
            guard n > 0 else { throw OsusumeError.invalidArgument("the user sample must be > 0, got \(n)") }
            if n < allCases.count {
                cases = EvalCase.seededSample(allCases, count: n, seed: options.seed ^ 0x05E7_5A3B)
                sampledFrom = allCases.count
            }
        }
        let itemCount = model.itemCount
        let ks = options.ks.sorted()
        guard let maxK = ks.last, ks.first! > 0 else { throw OsusumeError.invalidArgument("K values must be positive") }
        guard !cases.isEmpty else { throw OsusumeError.emptyData("no users to evaluate: the split produced no test cases") }
        if itemPopularity.count > itemCount {
            throw OsusumeError.invalidArgument("model scores \(itemCount) items but the data has \(itemPopularity.count)")
        }
        var popularity = itemPopularity
        if popularity.count < itemCount { popularity += [Int](repeating: 0, count: itemCount - popularity.count) }
        let popularSet: Set<Int32> = Set(TopK.select(popularity.map(Float.init), k: options.popularTop))
        let sampler = NegativeSampler(protocol: options.evaluationProtocol, popularity: popularity)

        let batch = max(1, options.batchSize)
        var perCase = [CaseMetrics?](repeating: nil, count: cases.count)
        var topLists = [[Int32]](repeating: [], count: cases.count)
        let progress = ProgressReporter(label, total: cases.count, quiet: !options.showProgress || ProgressReporter.quietByDefault)
        var scores = [Float](repeating: 0, count: batch * itemCount)
        var done = 0
        while done < cases.count {
            let hi = min(cases.count, done + batch)
            let queries = (done..<hi).map { i in
                ScoringQuery(user: cases[i].user, history: cases[i].history, ratings: cases[i].historyRatings)
            }
            scores.withUnsafeMutableBufferPointer { buf in
                model.score(queries, into: buf.baseAddress!)
                let sp = SharedPointer(buf.baseAddress!)
                let lo = done
                perCase.withUnsafeMutableBufferPointer { pc in
                    topLists.withUnsafeMutableBufferPointer { tl in
                        let pcs = SharedPointer(pc.baseAddress!), tls = SharedPointer(tl.baseAddress!)
                        Threads.parallelFor(hi - lo) { _, range in
                            for r in range {
                                let c = cases[lo + r]
                                let row = sp.base + r * itemCount
                                let ranked: [Int32]
                                let top: [Int32]
                                switch self.options.evaluationProtocol {
                                case .full:
                                    TopK.exclude(c.history, from: UnsafeMutableBufferPointer(start: row, count: itemCount))
                                    top = TopK.select(UnsafeBufferPointer(start: row, count: itemCount), k: maxK)
                                    ranked = top
                                case .uniform, .popular:
                                    top = TopK.select(UnsafeBufferPointer(start: row, count: itemCount), k: maxK)
                                    ranked = sampler.rank(row: row, case: c, caseIndex: lo + r, seed: self.options.seed, k: maxK)
                                }
                                pcs[lo + r] = CaseMetrics(ranked: ranked, targets: Set(c.targets), ks: ks)
                                tls[lo + r] = top
                            }
                        }
                    }
                }
            }
            done = hi
            progress.update(done)
        }

        // Averages, in case order (deterministic whatever the thread count).
        var metrics: [String: Double] = [:]
        func average(_ idx: [Int]) -> [String: Double] {
            var out: [String: Double] = [:]
            for m in RankingMetric.allCases {
                for (ki, k) in ks.enumerated() {
                    var s = 0.0
                    for i in idx { s += perCase[i]!.values[m]![ki] }
                    out[m.at(k)] = idx.isEmpty ? 0 : s / Double(idx.count)
                }
            }
            return out
        }
        metrics = average(Array(0..<cases.count))
        // Beyond accuracy, on the full-ranking top-K lists.
        for k in ks {
            var seen = Set<Int32>()
            var popularSlots = 0, slots = 0
            var popSum = 0.0
            for list in topLists {
                for it in list.prefix(k) {
                    seen.insert(it); slots += 1
                    if popularSet.contains(it) { popularSlots += 1 }
                    popSum += Double(popularity[Int(it)])
                }
            }
            metrics[ListMetric.coverage.at(k)] = Double(seen.count) / Double(max(1, itemCount))
            metrics[ListMetric.popularShare.at(k)] = slots > 0 ? Double(popularSlots) / Double(slots) : 0
            metrics[ListMetric.averagePopularity.at(k)] = slots > 0 ? popSum / Double(slots) : 0
        }
        // By activity (history length).
        func subset(_ m: [String: Double], _ metrics: ArraySlice<RankingMetric>) -> [String: Double] {
            let keys = Set(metrics.flatMap { m in ks.map { m.at($0) } })
            return m.filter { keys.contains($0.key) }
        }
        var groups: [ActivityGroupReport] = []
        var lower = 0
        for bound in options.activityBounds + [Int.max] {
            let idx = cases.indices.filter { cases[$0].history.count > lower && cases[$0].history.count <= bound }
            if !idx.isEmpty {
                let name = bound == Int.max ? ">\(lower)" : "\(lower + 1)-\(bound)"
                let avg = subset(average(idx), ReportedMetrics.byActivity[...])
                groups.append(ActivityGroupReport(group: name, users: idx.count, metrics: avg))
            }
            lower = bound
        }
        let zeroHistory = cases.indices.filter { cases[$0].history.isEmpty }
        if !zeroHistory.isEmpty {
            groups.insert(ActivityGroupReport(group: "0", users: zeroHistory.count, metrics: subset(average(zeroHistory), ReportedMetrics.byActivity.prefix(2))), at: 0)
        }
        var explanation = options.evaluationProtocol.explanation
        if let from = sampledFrom { explanation += "; SAMPLED USERS: \(cases.count) of \(from) test users (seed \(options.seed))" }
        return EvaluationReport(
            evaluationProtocol: options.evaluationProtocol.description,
            protocolExplanation: explanation,
            cases: cases.count, ks: ks, metrics: metrics, groups: groups,
            seconds: Date().timeIntervalSince(start), sampledFrom: sampledFrom)
    }
}

/// Draws the negatives of a sampled protocol, seeded per case so results do not depend on
/// threads, and ranks targets among them (ties count against the target).
struct NegativeSampler: Sendable {
    let proto: EvaluationProtocol
    let cumulative: [Double]
    let itemCount: Int

    init(protocol p: EvaluationProtocol, popularity: [Int]) {
        proto = p
        itemCount = popularity.count
        if case .popular = p {
            var c = [Double](); c.reserveCapacity(popularity.count)
            var s = 0.0
            for v in popularity { s += Double(v); c.append(s) }
            cumulative = c
        } else {
            cumulative = []
        }
    }

    func rank(row: UnsafeMutablePointer<Float>, case c: EvalCase, caseIndex: Int, seed: UInt64, k: Int) -> [Int32] {
        var rng = SeededRandom(seed: seed &+ UInt64(caseIndex) &* 0x9E37_79B9_7F4A_7C15)
        var excluded = Set(c.history); excluded.formUnion(c.targets)
        let n: Int
        switch proto {
        case .uniform(let x), .popular(let x): n = x;
        case .full: n = 0
        }
        var negatives = [Int32](); negatives.reserveCapacity(n)
        var chosen = Set<Int32>()
        let total = cumulative.last ?? 0
        var attempts = 0
        let items = cumulative.count
        while negatives.count < n && attempts < n * 100 {
            attempts += 1
            let it: Int32
            switch proto {
            case .popular where total > 0:
                let x = Double(rng.nextFloat()) * total
                var lo = 0, hi = items - 1
                while lo < hi { let mid = (lo + hi) / 2; if cumulative[mid] > x { hi = mid } else { lo = mid + 1 } }
                it = Int32(lo)
            default:
                it = Int32(rng.nextInt(itemCount))
            }
            if excluded.contains(it) || chosen.contains(it) { continue }
            chosen.insert(it); negatives.append(it)
        }
        // A tie between a target and a negative ranks the negative first (pessimistic).
        let targets = Set(c.targets)
        var candidates = negatives + c.targets
        candidates.sort { a, b in
            let sa = row[Int(a)], sb = row[Int(b)]
            if sa != sb { return sa > sb }
            let ta = targets.contains(a), tb = targets.contains(b)
            if ta != tb { return !ta }
            return a < b
        }
        return Array(candidates.prefix(k))
    }
}

extension EvalCase {
    /// `count` cases drawn without replacement by a seeded shuffle, kept in their original order
    /// (the one sampling rule of the evaluator and the blend search).
    static func seededSample(_ cases: [EvalCase], count: Int, seed: UInt64) -> [EvalCase] {
        guard count < cases.count else { return cases }
        var order = Array(cases.indices)
        var rng = SeededRandom(seed: seed)
        for i in 0..<count { order.swapAt(i, i + rng.nextInt(order.count - i)) }
        return order.prefix(count).sorted().map { cases[$0] }
    }
}
