import OsusumeCore

/// What a filter did: counts of interactions, users and items before and after.
/// Users and items are counted when they have at least one interaction.
public struct FilterReport: Sendable, Equatable, CustomStringConvertible {
    public var filter: String
    public var interactionsBefore: Int
    public var interactionsAfter: Int
    public var usersBefore: Int
    public var usersAfter: Int
    public var itemsBefore: Int
    public var itemsAfter: Int
    /// Passes over the data (k-core repeats until nothing changes; other filters take 1).
    public var rounds: Int

    public var description: String {
        "\(filter): interactions \(interactionsBefore) → \(interactionsAfter), users \(usersBefore) → \(usersAfter), items \(itemsBefore) → \(itemsAfter)"
            + (rounds > 1 ? " (\(rounds) rounds)" : "")
    }
}

/// A deterministic transformation of an interaction log. The result is `compacted()` (ids
/// re-densified) and never empty: a filter that would leave nothing throws `emptyData`.
public protocol InteractionFilter: Sendable {
    /// Name with parameters, e.g. "k-core(user 5, item 5)".
    var name: String { get }
    func apply(to log: InteractionLog) throws -> (log: InteractionLog, report: FilterReport)
}

extension InteractionFilter {
    /// Keeps the rows marked in `keep`, compacts ids, reports and checks for emptiness.
    func finish(_ log: InteractionLog, keep: [Bool], rounds: Int = 1) throws -> (log: InteractionLog, report: FilterReport) {
        let out = log.filtered { keep[$0] }.compacted()
        let report = FilterReport(
            filter: name, interactionsBefore: log.count, interactionsAfter: out.count,
            usersBefore: log.activeUserCount, usersAfter: out.userCount,
            itemsBefore: log.activeItemCount, itemsAfter: out.itemCount, rounds: rounds)
        if out.count == 0 {
            throw OsusumeError.emptyData("filter \(name) left no interactions (it had \(log.count) interactions from \(report.usersBefore) users and \(report.itemsBefore) items)")
        }
        return (out, report)
    }
}

/// Applies filters in order and logs each report.
public enum FilterPipeline {
    public static func apply(_ filters: [any InteractionFilter], to log: InteractionLog) throws -> (log: InteractionLog, reports: [FilterReport]) {
        var current = log
        var reports: [FilterReport] = []
        for f in filters {
            let (next, report) = try f.apply(to: current)
            logLine(report.description)
            current = next; reports.append(report)
        }
        return (current, reports)
    }
}

/// Explicit → implicit feedback: keeps interactions rated at least `minimum`. Rows without a
/// rating (NaN) are kept when `keepUnrated`, dropped otherwise. Ratings stay in the log.
public struct RatingThresholdFilter: InteractionFilter {
    public var minimum: Float
    public var keepUnrated: Bool

    public init(minimum: Float, keepUnrated: Bool = false) { self.minimum = minimum; self.keepUnrated = keepUnrated }

    public var name: String { "rating ≥ \(minimum)\(keepUnrated ? " (unrated kept)" : "")" }

    public func apply(to log: InteractionLog) throws -> (log: InteractionLog, report: FilterReport) {
        guard log.hasRatings else { throw OsusumeError.invalidArgument("filter \(name): the data has no ratings") }
        return try finish(log, keep: log.ratings.map { $0.isNaN ? keepUnrated : $0 >= minimum })
    }
}

/// Keeps interactions whose user has at least `perUser` and whose item has at least `perItem`
/// interactions, counted once on the input (a single pass; see `KCoreFilter` for the fixpoint).
public struct MinimumInteractionsFilter: InteractionFilter {
    public var perUser: Int
    public var perItem: Int

    public init(perUser: Int = 1, perItem: Int = 1) { self.perUser = perUser; self.perItem = perItem }

    public var name: String { "min interactions(user \(perUser), item \(perItem))" }

    public func apply(to log: InteractionLog) throws -> (log: InteractionLog, report: FilterReport) {
        let uc = log.userCounts(), ic = log.itemCounts()
        return try finish(log, keep: (0..<log.count).map { uc[Int(log.users[$0])] >= perUser && ic[Int(log.items[$0])] >= perItem })
    }
}

/// Iterative k-core: removes users with fewer than `userCore` and items with fewer than
/// `itemCore` interactions, repeating until every remaining user and item qualifies.
public struct KCoreFilter: InteractionFilter {
    public var userCore: Int
    public var itemCore: Int

    public init(userCore: Int, itemCore: Int) { self.userCore = userCore; self.itemCore = itemCore }
    public init(_ k: Int) { self.init(userCore: k, itemCore: k) }

    public var name: String { "k-core(user \(userCore), item \(itemCore))" }

    public func apply(to log: InteractionLog) throws -> (log: InteractionLog, report: FilterReport) {
        var keep = [Bool](repeating: true, count: log.count)
        var uc = log.userCounts(), ic = log.itemCounts()
        var rounds = 0
        while true {
            rounds += 1
            var changed = false
            for r in 0..<log.count where keep[r] {
                let u = Int(log.users[r]), i = Int(log.items[r])
                if uc[u] < userCore || ic[i] < itemCore { keep[r] = false; changed = true }
            }
            if !changed { break }
            uc = [Int](repeating: 0, count: log.userCount); ic = [Int](repeating: 0, count: log.itemCount)
            for r in 0..<log.count where keep[r] { uc[Int(log.users[r])] += 1; ic[Int(log.items[r])] += 1 }
        }
        // The last round only confirms that nothing changed.
        return try finish(log, keep: keep, rounds: max(1, rounds - 1))
    }
}

/// Keeps recent interactions: those within the last `days` days before the log's latest
/// timestamp (inclusive), or those at or after a given time.
public struct RecentActivityFilter: InteractionFilter {
    public enum Window: Sendable, Equatable {
        case lastDays(Double)
        /// Seconds since 1970.
        case since(Int64)
    }
    public var window: Window

    public init(_ window: Window) { self.window = window }

    public var name: String {
        switch window {
        case .lastDays(let d): return "last \(d) days"
        case .since(let t): return "since \(DataDate.isoDay(t))"
        }
    }

    public func apply(to log: InteractionLog) throws -> (log: InteractionLog, report: FilterReport) {
        guard log.hasTimestamps else { throw OsusumeError.invalidArgument("filter \(name): the data has no timestamps, only file order") }
        guard let latest = log.timestamps.max() else { throw OsusumeError.emptyData("filter \(name): the log is empty") }
        let start: Int64
        switch window {
        case .lastDays(let d):
            guard d >= 0 else { throw OsusumeError.invalidArgument("filter \(name): days must not be negative") }
            start = latest - Int64(d * 86_400)
        case .since(let t): start = t
        }
        return try finish(log, keep: log.timestamps.map { $0 >= start })
    }
}

/// Removes repeated user–item pairs, keeping the first or the last in time order (timestamp,
/// then file order). Surviving rows keep their file order.
public struct DeduplicationFilter: InteractionFilter {
    public enum Keep: String, Sendable { case first, last }
    public var keep: Keep

    public init(keep: Keep = .last) { self.keep = keep }

    public var name: String { "deduplicate(keep \(keep.rawValue))" }

    public func apply(to log: InteractionLog) throws -> (log: InteractionLog, report: FilterReport) {
        var keepRow = [Bool](repeating: false, count: log.count)
        for rows in log.rowsByUser() {
            var chosen: [Int32: Int] = [:]
            for r in rows {
                let i = log.items[r]
                if keep == .last || chosen[i] == nil { chosen[i] = r }
            }
            for r in chosen.values { keepRow[r] = true }
        }
        return try finish(log, keep: keepRow)
    }
}
