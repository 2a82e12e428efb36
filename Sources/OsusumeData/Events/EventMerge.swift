import Foundation
import OsusumeCore

/// Joins stored feedback events to interaction data under one `EventRule`: a base log plus
/// events becomes one log for training and splitting, and a user's history plus their recent
/// events becomes the history a request is scored with.
public enum EventMerge {
    /// What merging did, for the log and for tests.
    public struct Report: Sendable, Equatable, CustomStringConvertible {
        public var events = 0
        /// Events that became interactions.
        public var added = 0
        /// Positive events for a user-item pair already in the log (kept once; a rating updates it).
        public var duplicates = 0
        /// Events of a dropped kind.
        public var dropped = 0
        /// Interactions removed because a later dropped event (a dislike) cancelled them.
        public var cancelled = 0
        public var newUsers = 0
        public var newItems = 0

        public var description: String {
            "events: \(events) (\(added) added, \(duplicates) already in the log, \(dropped) dropped by kind, "
                + "\(cancelled) earlier interactions cancelled; \(newUsers) new users, \(newItems) new items)"
        }
    }

    /// Events in the order they happened (client time, then store order).
    public static func chronological(_ events: [StoredFeedback]) -> [StoredFeedback] {
        events.sorted { ($0.time, $0.id) < ($1.time, $1.id) }
    }

    /// The base log with `events` appended after it under `rule`. Event rows get their time
    /// (seconds since 1970) as timestamp, so they follow the base's rows in each user's time
    /// order; ids are interned, so new users and items join the id maps.
    public static func merge(_ base: Dataset, events: [StoredFeedback], rule: EventRule) -> (dataset: Dataset, report: Report) {
        var log = base.log
        var report = Report()
        report.events = events.count
        let usersBefore = log.userCount, itemsBefore = log.itemCount
        // Rows of each (user, item) pair, to find duplicates and cancel on a drop.
        var rowsOf: [Int64: [Int]] = [:]
        @inline(__always) func key(_ u: Int32, _ i: Int32) -> Int64 { Int64(u) << 32 | Int64(UInt32(bitPattern: i)) }
        for r in 0..<log.count { rowsOf[key(log.users[r], log.items[r]), default: []].append(r) }
        var removed = [Bool](repeating: false, count: log.count)
        var anyRating = false
        for e in chronological(events) {
            let action = rule.action(for: e.event)
            if action == .drop {
                report.dropped += 1
                guard let u = log.userIDs.index(of: e.event.user), let i = log.itemIDs.index(of: e.event.item) else { continue }
                for r in rowsOf[key(u, i)] ?? [] where !removed[r] { removed[r] = true; report.cancelled += 1 }
                rowsOf[key(u, i)] = nil
                continue
            }
            let u = log.userIDs.intern(e.event.user), i = log.itemIDs.intern(e.event.item)
            let rating = rule.rating(for: e.event)
            if !rating.isNaN { anyRating = true }
            if let rows = rowsOf[key(u, i)], let live = rows.last(where: { !removed[$0] }) {
                report.duplicates += 1
                if !rating.isNaN { log.ratings[live] = rating }
                continue
            }
            rowsOf[key(u, i), default: []].append(log.count)
            log.append(user: u, item: i, timestamp: Int64(e.time.rounded(.down)), rating: rating)
            removed.append(false)
            report.added += 1
        }
        report.newUsers = log.userCount - usersBefore
        report.newItems = log.itemCount - itemsBefore
        if report.cancelled > 0 { log = log.filtered { !removed[$0] } }
        log.hasRatings = log.hasRatings || anyRating
        // Event times are real times: a base without timestamps (positions) still sorts first.
        var out = base
        out.log = log
        return (out, report)
    }

    /// A history extended by events, and the items they exclude.
    public struct ExtendedHistory: Sendable, Equatable {
        public var history: [Int32]
        /// Items the events said no to (dropped kinds): never recommended to this user.
        public var excluded: Set<Int32>
        /// Items the events added to the history.
        public var added: Int
        /// Events naming an item the model does not know.
        public var unknownItems: Int
    }

    /// `history` (time order) followed by the positive events' items in the order they
    /// happened, each item once; a dropped kind removes its item from the history and excludes
    /// it. `itemIndex` maps an external item id to the model's index.
    public static func extend(
        history: [Int32], with events: [StoredFeedback], rule: EventRule,
        itemIndex: (String) -> Int32?
    ) -> ExtendedHistory {
        var out = history
        var present = Set(history)
        var excluded = Set<Int32>()
        var added = 0, unknown = 0
        for e in chronological(events) {
            guard let i = itemIndex(e.event.item) else { unknown += 1; continue }
            if rule.isPositive(e.event) {
                excluded.remove(i)
                if present.insert(i).inserted { out.append(i); added += 1 }
            } else {
                excluded.insert(i)
                if present.remove(i) != nil { out.removeAll { $0 == i } }
            }
        }
        return ExtendedHistory(history: out, excluded: excluded, added: added, unknownItems: unknown)
    }
}
