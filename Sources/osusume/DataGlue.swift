import Foundation
import OsusumeCore
import OsusumeData

/// Maps the command-line filter and split options onto the data layer.
enum DataFilters {
    static func apply(to d: Dataset, minRating: Float?, minUser: Int?, minItem: Int?, kcore: Int?, recentDays: Double?) throws -> Dataset {
        var filters: [any InteractionFilter] = []
        if let r = minRating { filters.append(RatingThresholdFilter(minimum: r)) }
        if let days = recentDays { filters.append(RecentActivityFilter(.lastDays(days))) }
        if minUser != nil || minItem != nil { filters.append(MinimumInteractionsFilter(perUser: minUser ?? 1, perItem: minItem ?? 1)) }
        if let k = kcore { filters.append(KCoreFilter(k)) }
        if filters.isEmpty { return d }
        let (log, reports) = try FilterPipeline.apply(filters, to: d.log)
        for r in reports { logLine(r.description) }
        var out = d
        out.log = log
        return out
    }
}

enum SplitFactory {
    static func make(_ name: String, seed: UInt64, heldOutUsers: Int?, testFraction: Double, log: InteractionLog) throws -> any DataSplitter {
        switch name.lowercased() {
        case "leave-one-out", "loo":
            return LeaveOneOutSplit()
        case "temporal":
            guard testFraction > 0, testFraction < 0.5 else { throw OsusumeError.invalidArgument("--test-fraction must be in (0, 0.5)") }
            return TemporalSplit(test: .quantile(1 - testFraction), validation: .quantile(1 - 2 * testFraction))
        case "held-out-users", "heldout":
            let n: HeldOutUsersSplit.Amount = heldOutUsers.map { .users($0) } ?? .fraction(0.1)
            return HeldOutUsersSplit(validationUsers: n, testUsers: n, seed: seed)
        case "random":
            return RandomRatioSplit(train: 1 - 2 * testFraction, validation: testFraction, test: testFraction, seed: seed)
        default:
            throw OsusumeError.invalidArgument("unknown split '\(name)': use leave-one-out, temporal, held-out-users or random")
        }
    }
}
