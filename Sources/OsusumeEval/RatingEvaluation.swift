import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels

/// The baseline a rating model must beat: the user's mean rating shrunk towards the global mean
/// (`shrinkage` pseudo-ratings at the global mean) plus the item's mean deviation from its
/// raters' means, shrunk towards 0 the same way. The user mean comes from the query's own rated
/// history, so new users are predicted the same way as known ones.
public struct BiasBaselineRatings: RatingPredictor {
    public let globalMean: Float
    public let itemBias: [Float]
    public let shrinkage: Float
    public var predictsRatings: Bool { true }

    public init(log: InteractionLog, shrinkage: Float = 5) {
        self.shrinkage = shrinkage
        var n = 0, s = 0.0
        for r in log.ratings where !r.isNaN { n += 1; s += Double(r) }
        let mean = n > 0 ? Float(s / Double(n)) : 0
        globalMean = mean
        var sums = [Float](repeating: 0, count: log.userCount), counts = [Float](repeating: 0, count: log.userCount)
        for k in 0..<log.count where !log.ratings[k].isNaN { sums[Int(log.users[k])] += log.ratings[k]; counts[Int(log.users[k])] += 1 }
        let userMean = (0..<log.userCount).map { (sums[$0] + shrinkage * mean) / max(counts[$0] + shrinkage, 1e-9) }
        var deviation = [Float](repeating: 0, count: log.itemCount), itemCounts = [Float](repeating: 0, count: log.itemCount)
        for k in 0..<log.count where !log.ratings[k].isNaN {
            deviation[Int(log.items[k])] += log.ratings[k] - userMean[Int(log.users[k])]; itemCounts[Int(log.items[k])] += 1
        }
        itemBias = (0..<log.itemCount).map { deviation[$0] / max(itemCounts[$0] + shrinkage, 1e-9) }
    }

    func userMean(_ ratings: [Float]?) -> Float {
        var n: Float = 0, s: Float = 0
        for r in ratings ?? [] where !r.isNaN { n += 1; s += r }
        return (s + shrinkage * globalMean) / max(n + shrinkage, 1e-9)
    }

    public func predictRatings(_ queries: [ScoringQuery], items: [[Int32]]) -> [[Float]] {
        zip(queries, items).map { q, list in
            let m = userMean(q.ratings)
            return list.map { i in m + (i >= 0 && Int(i) < itemBias.count ? itemBias[Int(i)] : 0) }
        }
    }
}

/// Rating prediction error on the test targets that have ratings.
public struct RatingReport: Codable, Sendable {
    public var ratedTargets: Int
    public var rmse: Double
    public var mae: Double
    public var baselineRMSE: Double
    public var baselineMAE: Double

    enum CodingKeys: String, CodingKey {
        case ratedTargets = "rated_targets", rmse = "RMSE", mae = "MAE", baselineRMSE = "baseline_RMSE", baselineMAE = "baseline_MAE"
    }
}

public enum RatingEvaluator {
    /// RMSE and MAE of `model` and of the bias baseline (fitted on `trainingLog`) over every
    /// rated target of `cases`; nil when no target has a rating.
    public static func evaluate(_ model: any RatingPredictor, trainingLog: InteractionLog, cases: [EvalCase]) -> RatingReport? {
        let baseline = BiasBaselineRatings(log: trainingLog)
        var queries: [ScoringQuery] = [], items: [[Int32]] = [], truth: [[Float]] = []
        for c in cases {
            guard let tr = c.targetRatings else { continue }
            let rated = c.targets.indices.filter { $0 < tr.count && !tr[$0].isNaN }
            if rated.isEmpty { continue }
            queries.append(ScoringQuery(user: c.user, history: c.history, ratings: c.historyRatings))
            items.append(rated.map { c.targets[$0] }); truth.append(rated.map { tr[$0] })
        }
        guard !queries.isEmpty else { return nil }
        func errors(_ p: any RatingPredictor) -> (Double, Double, Int) {
            var se = 0.0, ae = 0.0, n = 0
            var lo = 0
            while lo < queries.count {
                let hi = min(queries.count, lo + 512)
                let predicted = p.predictRatings(Array(queries[lo..<hi]), items: Array(items[lo..<hi]))
                for (q, row) in predicted.enumerated() {
                    for (k, v) in row.enumerated() { let d = Double(v - truth[lo + q][k]); se += d * d; ae += abs(d); n += 1 }
                }
                lo = hi
            }
            return ((se / Double(n)).squareRoot(), ae / Double(n), n)
        }
        let (rmse, mae, n) = errors(model)
        let (brmse, bmae, _) = errors(baseline)
        return RatingReport(ratedTargets: n, rmse: rmse, mae: mae, baselineRMSE: brmse, baselineMAE: bmae)
    }
}
