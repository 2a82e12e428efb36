import Foundation
import OsusumeCore

/// Where a model's training data came from and how it was filtered: recorded in the model's
/// manifest so that a retrain can load the same base data, add the events stored since, and
/// filter the merged log the same way.
public struct TrainingSource: Codable, Sendable, Equatable {
    /// The base data set (absolute path; nil: the stored events alone) and its format (nil:
    /// detected).
    public var data: String?
    public var format: String?
    public var filters: DataFilterSpec
    /// The event rule the events were merged with (`EventRule(spec:)`; nil: the default).
    public var eventRule: String?
    /// The base data was read leniently (malformed lines skipped); nil: strictly.
    public var lenient: Bool?

    public init(
        data: String?, format: String? = nil, filters: DataFilterSpec = DataFilterSpec(), eventRule: String? = nil,
        lenient: Bool? = nil
    ) {
        self.data = data; self.format = format; self.filters = filters; self.eventRule = eventRule; self.lenient = lenient
    }

    /// Loads the base data, merges `events` under the rule, then filters: the log a model is
    /// (re)trained on.
    public func load(events: [StoredFeedback] = [], log: (String) -> Void = { _ in }) throws -> (dataset: Dataset, merge: EventMerge.Report?) {
        var d: Dataset
        if let data {
            d = try DatasetLoader.load(path: data, format: format, lenient: lenient ?? false)
        } else {
            guard !events.isEmpty else { throw OsusumeError.emptyData("no base data and no stored events to train on") }
            d = Dataset(name: "events", format: "events", log: InteractionLog())
            d.log.hasTimestamps = true
        }
        var report: EventMerge.Report?
        if !events.isEmpty {
            let rule = try eventRule.map { try EventRule(spec: $0) } ?? EventRule()
            let merged = EventMerge.merge(d, events: events, rule: rule)
            d = merged.dataset
            report = merged.report
            log(merged.report.description)
        }
        d = try filters.apply(to: d, keepUnrated: !events.isEmpty, log: log)
        return (d, report)
    }
}

/// The command line's data filters as a value: applied in a fixed order (rating threshold,
/// recent window, minimum counts, k-core).
public struct DataFilterSpec: Codable, Sendable, Equatable {
    public var minRating: Float?
    public var minUser: Int?
    public var minItem: Int?
    public var kcore: Int?
    public var recentDays: Double?

    public init(minRating: Float? = nil, minUser: Int? = nil, minItem: Int? = nil, kcore: Int? = nil, recentDays: Double? = nil) {
        self.minRating = minRating; self.minUser = minUser; self.minItem = minItem; self.kcore = kcore; self.recentDays = recentDays
    }

    public var isEmpty: Bool { minRating == nil && minUser == nil && minItem == nil && kcore == nil && recentDays == nil }

    /// - Parameter keepUnrated: keep rows without a rating under the rating threshold (events
    ///   such as `like` carry none and are positive by their kind).
    public func apply(to d: Dataset, keepUnrated: Bool = false, log: (String) -> Void = { _ in }) throws -> Dataset {
        var filters: [any InteractionFilter] = []
        if let r = minRating { filters.append(RatingThresholdFilter(minimum: r, keepUnrated: keepUnrated)) }
        if let days = recentDays { filters.append(RecentActivityFilter(.lastDays(days))) }
        if minUser != nil || minItem != nil { filters.append(MinimumInteractionsFilter(perUser: minUser ?? 1, perItem: minItem ?? 1)) }
        if let k = kcore { filters.append(KCoreFilter(k)) }
        if filters.isEmpty { return d }
        let (filtered, reports) = try FilterPipeline.apply(filters, to: d.log)
        for r in reports { log(r.description) }
        var out = d
        out.log = filtered
        return out
    }

    public var description: String {
        var parts: [String] = []
        if let r = minRating { parts.append("rating≥\(r)") }
        if let u = minUser { parts.append("user≥\(u)") }
        if let i = minItem { parts.append("item≥\(i)") }
        if let k = kcore { parts.append("\(k)-core") }
        if let d = recentDays { parts.append("last \(d) days") }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }
}
