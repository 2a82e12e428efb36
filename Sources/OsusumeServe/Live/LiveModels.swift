import Foundation
import OsusumeCore
import OsusumeModels
import OsusumeStore

/// The served model version, kept in step with the event store: at start the given model
/// directories are recorded as a version (the store's current version is served when they are
/// already known), every replica polls the current-version pointer and swaps in a new version
/// without a restart, `rollback` moves the pointer back, and an optional schedule retrains.
public final class LiveModels: @unchecked Sendable {
    public let service: RecommendationService
    public let store: any EventStore
    private let load: @Sendable (ModelVersion) throws -> ModelSet
    private let state = Swappable(State())

    struct State {
        var lastRetrain: RetrainReport?
        var retrainError: String?
        var retraining = false
        var retrains = 0
        var swaps = 0
        var syncing = false
        var lastAttemptEventID: Int64 = -1
        var lastAttemptAt = Date()
    }

    public init(service: RecommendationService, store: any EventStore, load: @escaping @Sendable (ModelVersion) throws -> ModelSet) {
        self.service = service; self.store = store; self.load = load
    }

    /// The version to serve at start: the given paths when they are new to the store (recorded
    /// and made current), else the store's current version.
    public static func startingVersion(store: any EventStore, modelPaths: [String], log: @Sendable (String) -> Void = { _ in }) async throws -> ModelVersion {
        let paths = modelPaths.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        let known = try await store.versions().first { $0.paths == paths }
        let current = try await store.currentVersion()
        if let known, let current {
            if current.version != known.version {
                log("serving the store's current model version \(current.version) (the --model directories are version \(known.version); POST /v1/admin/rollback returns to it)")
            }
            return current
        }
        var eventsThrough: Int64 = 0
        if let first = paths.first,
            let data = try? Data(contentsOf: URL(fileURLWithPath: first).appendingPathComponent("manifest.json")),
            let manifest = try? JSONDecoder().decode(ModelManifest.self, from: data)
        {
            eventsThrough = manifest.eventsThrough
        }
        let v = try await store.registerVersion(paths: paths, eventsThrough: eventsThrough, report: "")
        try await store.setCurrent(version: v.version)
        log("recorded the --model directories as model version \(v.version) (current)")
        return v
    }

    /// Loads a version off the cooperative threads (it reads hundreds of MB).
    func loadVersion(_ v: ModelVersion) async throws -> ModelSet {
        let load = self.load
        return try await withCheckedThrowingContinuation { cont in
            Thread.detachNewThread { cont.resume(with: Result { try load(v) }) }
        }
    }

    /// Swaps in the store's current version when it is not the one served. Returns it when it
    /// swapped. One sync at a time; a version that stopped being current while it loaded is not
    /// swapped in.
    @discardableResult
    public func sync(log: @Sendable (String) -> Void = { _ in }) async throws -> ModelVersion? {
        var begun = false
        state.update { if !$0.syncing { $0.syncing = true; begun = true } }
        guard begun else { return nil }
        defer { state.update { $0.syncing = false } }
        guard let v = try await store.currentVersion(), v.version != service.models.version else { return nil }
        let start = Date()
        let set = try await loadVersion(v)
        guard try await store.currentVersion()?.version == v.version else { return nil }
        service.replace(with: set)
        state.update { $0.swaps += 1 }
        log(
            String(
                format: "now serving model version %lld (%@) in %.2fs", v.version, set.identities.map(\.name).joined(separator: ", "),
                Date().timeIntervalSince(start)))
        return v
    }

    /// Polls the current-version pointer until cancelled.
    public func follow(every seconds: Double, log: @escaping @Sendable (String) -> Void) -> Task<Void, Never> {
        Task {
            var failing = false
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                if Task.isCancelled { return }
                do {
                    try await sync(log: log)
                    if failing { log("model version checks work again") }
                    failing = false
                } catch {
                    // Said once per outage, not every few seconds.
                    if !failing { log("model version check failed (still serving version \(service.models.version)): \(error)") }
                    failing = true
                }
            }
        }
    }

    /// Makes `version` (nil: the version before the store's current one) current and serves
    /// it. The version is loaded first: one that cannot be loaded is refused and the pointer
    /// stays where it was.
    public func rollback(to version: Int64?, log: @Sendable (String) -> Void = { _ in }) async throws -> ModelVersion {
        let all = try await store.versions()
        let target: ModelVersion
        if let version {
            guard let v = all.first(where: { $0.version == version }) else { throw OsusumeError.unknownID(kind: "model version", id: String(version)) }
            target = v
        } else {
            let current = try await store.currentVersion()?.version ?? service.models.version
            guard let v = all.last(where: { $0.version < current }) else {
                throw OsusumeError.invalidArgument("no version before \(current) to roll back to")
            }
            target = v
        }
        let set: ModelSet
        do { set = try await loadVersion(target) } catch {
            throw ServiceError.conflict("version \(target.version) cannot be loaded, so it was not made current: \(error)")
        }
        try await store.setCurrent(version: target.version)
        service.replace(with: set)
        state.update { $0.swaps += 1 }
        log("rolled back to model version \(target.version)")
        return target
    }

    public func versions() async throws -> [ModelVersion] { try await store.versions() }

    // MARK: retraining

    /// Runs one retrain (if none is running), then serves its version if it was made current.
    @discardableResult
    public func retrain(using run: @Sendable () async throws -> RetrainReport, log: @escaping @Sendable (String) -> Void) async -> RetrainReport? {
        var begun = false
        state.update { if !$0.retraining { $0.retraining = true; begun = true } }
        guard begun else { return nil }
        defer { state.update { $0.retraining = false } }
        let r: RetrainReport
        do { r = try await run() } catch {
            state.update {
                $0.retrainError = "\(error)"; $0.retrains += 1
            }
            log("retrain failed, still serving version \(service.models.version): \(error)")
            return nil
        }
        state.update {
            $0.lastRetrain = r; $0.retrainError = nil; $0.retrains += 1
        }
        log(
            "retrain: \(r.decision.rawValue): \(r.reason)" + (r.toVersion.map { "; version \($0)" } ?? "")
                + String(format: " (%.1fs)", r.seconds))
        if r.decision == .swapped {
            // The follower gets there too if this load fails or another sync is running.
            do { try await sync(log: log) } catch { log("loading the new version failed, the follower will retry: \(error)") }
        }
        return r
    }

    /// Checks `schedule` every few seconds and retrains when it says so, until cancelled.
    public func schedule(
        _ schedule: RetrainSchedule, checkEvery seconds: Double = 5, run: @escaping @Sendable () async throws -> RetrainReport,
        log: @escaping @Sendable (String) -> Void
    ) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                if Task.isCancelled { return }
                guard let last = try? await store.maxID() else { continue }
                let s = state.get()
                let since = s.lastAttemptEventID < 0 ? service.models.eventsThrough : s.lastAttemptEventID
                guard schedule.isDue(newEvents: Int(last - since), since: s.lastAttemptAt) else { continue }
                state.update {
                    $0.lastAttemptEventID = last; $0.lastAttemptAt = Date()
                }
                await retrain(using: run, log: log)
            }
        }
    }

    /// What `/healthz` shows of the live loop.
    public struct Status: Codable, Sendable {
        public var version: Int64
        public var eventsThrough: Int64
        public var retraining: Bool
        public var retrains: Int
        public var swaps: Int
        public var lastRetrain: RetrainReport?
        public var lastRetrainError: String?
    }

    public var status: Status {
        let s = state.get(), set = service.models
        return Status(
            version: set.version, eventsThrough: set.eventsThrough, retraining: s.retraining, retrains: s.retrains,
            swaps: s.swaps, lastRetrain: s.lastRetrain, lastRetrainError: s.retrainError)
    }

    /// Sets the live loop's gauges in `metrics` (read when `/metrics` is rendered).
    public func updateMetrics(_ metrics: ServeMetrics) {
        let st = status
        metrics.set("osusume_model_version", Double(st.version), help: "The model version being served.")
        metrics.set(
            "osusume_model_events_through", Double(st.eventsThrough),
            help: "Stored events up to this id are in the served models' training data.")
        metrics.setTotal("osusume_retrains_total", st.retrains, help: "Retrains attempted since start.")
        metrics.set("osusume_retraining", st.retraining ? 1 : 0, help: "1 while a retrain runs.")
        if let r = st.lastRetrain {
            let sides =
                r.current.sorted { $0.key < $1.key }.map { (labels: [("model", $0.key), ("side", "current")], value: $0.value) }
                + r.candidate.sorted { $0.key < $1.key }.map { (labels: [("model", $0.key), ("side", "candidate")], value: $0.value) }
            metrics.setFamily("osusume_retrain_holdout_ndcg", help: "NDCG@10 on the last retrain's held-out events, by model and side.", sides)
            metrics.setFamily(
                "osusume_retrain_last_decision", help: "The last retrain's decision (value 1).",
                [(labels: [("decision", r.decision.rawValue)], value: 1)])
        }
    }
}

/// When to retrain: after `events` new events, and/or every `interval` seconds (with at least
/// one new event). Written `1000 events`, `10m`, or both: `1000 events, 1h`.
public struct RetrainSchedule: Sendable, Equatable, CustomStringConvertible {
    public var events: Int?
    public var interval: Double?

    public init(events: Int? = nil, interval: Double? = nil) { self.events = events; self.interval = interval }

    public init(spec: String) throws {
        for part in spec.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !part.isEmpty {
            let words = part.split(separator: " ")
            if words.count == 2, let n = Int(words[0]), n > 0, words[1].hasPrefix("event") { events = n; continue }
            let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
            if let unit = part.last, let mult = units[unit], let v = Double(part.dropLast()), v > 0, v.isFinite {
                interval = v * mult; continue
            }
            throw OsusumeError.invalidArgument("retrain schedule '\(part)': expected 'N events' or a duration such as 30s, 10m, 2h")
        }
        guard events != nil || interval != nil else { throw OsusumeError.invalidArgument("retrain schedule: give 'N events', a duration, or both") }
    }

    public func isDue(newEvents: Int, since last: Date, now: Date = Date()) -> Bool {
        guard newEvents > 0 else { return false }
        if let n = events, newEvents >= n { return true }
        if let t = interval, now.timeIntervalSince(last) >= t { return true }
        return false
    }

    public var description: String {
        [events.map { "\($0) events" }, interval.map { "every \(Int($0))s" }].compactMap { $0 }.joined(separator: " or ")
    }
}
