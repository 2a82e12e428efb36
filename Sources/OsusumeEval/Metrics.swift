/// Ranking metrics for one evaluation case. `ranked` is the model's list (best first, already
/// cut to at least max K); `targets` the items the user actually chose next. Definitions follow
/// RecBole's so that figures can be compared:
/// - HR@K: 1 if any target is in the top K.
/// - Recall@K: hits / |targets|.
/// - Precision@K: hits / K.
/// - NDCG@K: Σ_{hit at rank r} 1/log2(r+1) divided by the ideal DCG with min(|targets|, K) hits.
/// - MRR@K: 1 / rank of the first hit (0 if none in the top K).
/// - MAP@K: Σ_{hit at rank r} precision@r / min(|targets|, K).
public enum RankingMetric: String, CaseIterable, Codable, Sendable {
    case hr = "HR", recall = "Recall", precision = "Precision", ndcg = "NDCG", mrr = "MRR", map = "MAP"

    /// The report key at a cut-off: "NDCG@10".
    public func at(_ k: Int) -> String { "\(rawValue)@\(k)" }
}

/// Measures of the top-K lists as a whole, beyond accuracy (full-ranking lists):
/// - Coverage@K: share of the catalog in at least one user's top K.
/// - PopularShare@K: share of list places taken by the most popular items (the
///   `EvaluationOptions.popularTop` items with the most training interactions, 100 by default).
/// - AveragePopularity@K: mean training interactions of the listed items.
public enum ListMetric: String, CaseIterable, Codable, Sendable {
    case coverage = "Coverage", popularShare = "PopularShare", averagePopularity = "AveragePopularity"

    public func at(_ k: Int) -> String { "\(rawValue)@\(k)" }
}

/// Which metrics each report shows, in order — the evaluator's activity groups, the command
/// line's table and the HTML report all read this list, so they never disagree.
public enum ReportedMetrics {
    /// Accuracy columns, at every cut-off.
    public static let headline: [RankingMetric] = [.ndcg, .hr, .recall, .mrr]
    /// List columns, at the largest cut-off.
    public static let lists: [ListMetric] = [.coverage, .popularShare]
    /// Per activity group (history length); users with no history get the first two only.
    public static let byActivity: [RankingMetric] = [.ndcg, .hr, .recall]

    /// Report keys of a table's columns: headline metrics at each K, then the list metrics at the largest.
    public static func columns(ks: [Int]) -> [String] {
        ks.flatMap { k in headline.map { $0.at(k) } } + (ks.last.map { k in lists.map { $0.at(k) } } ?? [])
    }
}

public struct CaseMetrics {
    /// values[metric][kIndex]
    public var values: [RankingMetric: [Double]]

    public init(ranked: [Int32], targets: Set<Int32>, ks: [Int]) {
        values = [:]
        let maxK = ks.max() ?? 0
        let n = min(maxK, ranked.count)
        // Cumulative quantities by rank, then read off at each K.
        var hitsAt = [Int](repeating: 0, count: n + 1)
        var dcgAt = [Double](repeating: 0, count: n + 1)
        var apAt = [Double](repeating: 0, count: n + 1)
        var firstHit = 0
        for r in 0..<n {
            let hit = targets.contains(ranked[r])
            hitsAt[r + 1] = hitsAt[r] + (hit ? 1 : 0)
            dcgAt[r + 1] = dcgAt[r] + (hit ? 1 / log2(Double(r) + 2) : 0)
            apAt[r + 1] = apAt[r] + (hit ? Double(hitsAt[r + 1]) / Double(r + 1) : 0)
            if hit && firstHit == 0 { firstHit = r + 1 }
        }
        let t = targets.count
        for m in RankingMetric.allCases { values[m] = [] }
        for k in ks {
            let kk = min(k, n)
            let hits = hitsAt[kk]
            let ideal = min(t, k)
            var idcg = 0.0
            for r in 0..<ideal { idcg += 1 / log2(Double(r) + 2) }
            values[.hr]!.append(hits > 0 ? 1 : 0)
            values[.recall]!.append(t > 0 ? Double(hits) / Double(t) : 0)
            values[.precision]!.append(k > 0 ? Double(hits) / Double(k) : 0)
            values[.ndcg]!.append(idcg > 0 ? dcgAt[kk] / idcg : 0)
            values[.mrr]!.append(firstHit > 0 && firstHit <= kk ? 1 / Double(firstHit) : 0)
            values[.map]!.append(ideal > 0 ? apAt[kk] / Double(ideal) : 0)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
