import Foundation
import OsusumeCore
import OsusumeData
import OsusumeEval
import OsusumeModels
import OsusumeStore

/// Settings of one retrain.
public struct RetrainOptions: Sendable {
    /// Where new versions are written (one subfolder per version).
    public var versionsDirectory: URL
    /// Share of the new events (the most recent) held out to compare candidate and current.
    public var holdoutFraction = 0.2
    /// Fewer held-out users with a target than this: no decision, nothing is trained.
    public var minHoldoutUsers = 20
    /// The candidate replaces the current version unless its NDCG@10 is lower by more than this.
    public var margin = 0.005
    /// Versions kept in `versionsDirectory` (older retrained ones are deleted).
    public var keepVersions = 5
    /// Replaces the base data recorded in the models' manifests.
    public var baseData: TrainingSource?
    /// Waited after reading the last committed id, so that transactions holding lower ids finish.
    public var settleSeconds = 1.0

    /// The model kinds the versions may hold (to load the current ones and make candidates).
    public var kinds: ModelKinds

    public init(versionsDirectory: URL, kinds: ModelKinds) { self.versionsDirectory = versionsDirectory; self.kinds = kinds }
}

/// What a retrain did and why: written to the log, `/healthz`, `/metrics` and the version record.
public struct RetrainReport: Codable, Sendable, Equatable {
    public enum Decision: String, Codable, Sendable { case swapped, kept, skipped }
    public var decision: Decision
    public var reason: String
    public var fromVersion: Int64
    /// The new version (recorded whether or not it became current); nil when none was trained.
    public var toVersion: Int64?
    /// Events up to this id trained the candidate; later ones were held out.
    public var trainedThrough: Int64
    public var heldOutEvents: Int
    public var heldOutUsers: Int
    public var metric = "NDCG@10"
    /// Per model name: the current and the candidate figure on the held-out events.
    public var current: [String: Double]
    public var candidate: [String: Double]
    public var seconds: Double
    public var finishedAt: String
}

/// Retrains every model of the current version on base data + stored events, measures the
/// candidate against the current version on the most recent events neither trained on (a
/// temporal hold-out), and makes the candidate current only if it is not worse by more than
/// the margin. Old retrained versions beyond `keepVersions` are deleted; a version is recorded
/// only after all its model directories are written, so a half-written one is never served.
public enum Retrainer {
    public static func run(store: any EventStore, options: RetrainOptions, log: @escaping @Sendable (String) -> Void = { _ in }) async throws -> RetrainReport {
        let start = Date()
        guard let current = try await store.currentVersion() else {
            throw OsusumeError.invalidArgument("retrain: the store has no current model version (start `serve` with --model once)")
        }
        let models = try current.paths.map { try TrainedModel.load(from: URL(fileURLWithPath: $0), kinds: options.kinds) }
        let names = servedNames(models)
        // A snapshot of the log: everything committed up to `last`.
        let last = try await store.maxID()
        if options.settleSeconds > 0 { try await Task.sleep(nanoseconds: UInt64(options.settleSeconds * 1e9)) }
        let events = try await store.allEvents(through: last)
        let since = models.map(\.manifest.eventsThrough).min() ?? 0
        let fresh = events.filter { $0.id > since }
        let fromVersion = current.version // `current` is shadowed below by the figures
        func report(
            _ d: RetrainReport.Decision, _ reason: String, through: Int64 = since, heldOut: Int = 0, users: Int = 0,
            current: [String: Double] = [:], candidate: [String: Double] = [:], to: Int64? = nil
        ) -> RetrainReport {
            RetrainReport(
                decision: d, reason: reason, fromVersion: fromVersion, toVersion: to, trainedThrough: through,
                heldOutEvents: heldOut, heldOutUsers: users, current: current, candidate: candidate,
                seconds: Date().timeIntervalSince(start), finishedAt: ISO8601DateFormatter().string(from: Date()))
        }
        guard !fresh.isEmpty else { return report(.skipped, "no events since the current version was trained") }

        // The most recent share of the new events (by commit order) is held out.
        let heldCount = max(1, Int((Double(fresh.count) * options.holdoutFraction).rounded()))
        let trainedThrough = fresh.count > heldCount ? fresh[fresh.count - heldCount - 1].id : since
        let heldOut = events.filter { $0.id > trainedThrough }
        let rule = try ruleOf(models.first!, options: options)
        let cases = holdoutCases(heldOut: heldOut, rule: rule)
        guard cases.count >= options.minHoldoutUsers else {
            return report(
                .skipped, "\(cases.count) held-out users with a target, fewer than \(options.minHoldoutUsers): waiting for more events",
                heldOut: heldOut.count, users: cases.count)
        }
        log("retrain: version \(current.version), \(events.count) events (\(fresh.count) new); training through event \(trainedThrough), holding out \(heldOut.count) events of \(cases.count) users")

        // Train the candidate: same kinds and settings, base data + events through the boundary.
        let trainEvents = events.filter { $0.id <= trainedThrough }
        var candidates: [TrainedModel] = []
        for m in models {
            guard let source = options.baseData ?? m.manifest.trainingSource else {
                throw OsusumeError.invalidArgument("retrain: the model at \(current.paths[candidates.count]) does not record its training data; retrain it once with `osusume train`, or give --data")
            }
            let (dataset, _) = try source.load(events: trainEvents, log: log)
            let configData = try JSONEncoder().encode(m.manifest.config)
            let fresh = try options.kinds.make(m.manifest.kind, configJSON: configData)
            let t0 = Date()
            let trained = try TrainedModel.fit(fresh, dataset: dataset, source: source, eventsThrough: trainedThrough)
            log(String(format: "retrain: fitted %@ on %d interactions in %.1fs", m.manifest.kind, dataset.log.count, Date().timeIntervalSince(t0)))
            candidates.append(trained)
        }

        // Measure both on the held-out events, each with the events it did not train on folded
        // into the users' histories, as a request would see them.
        var currentScores: [String: Double] = [:], candidateScores: [String: Double] = [:]
        for (n, name) in names.enumerated() {
            currentScores[name] = ndcg(models[n], cases: cases, events: events, upTo: trainedThrough, rule: rule)
            candidateScores[name] = ndcg(candidates[n], cases: cases, events: events, upTo: trainedThrough, rule: rule)
        }
        let worse = names.filter { candidateScores[$0]! < currentScores[$0]! - options.margin }
        let figures = names.map { String(format: "%@ %.4f → %.4f", $0, currentScores[$0]!, candidateScores[$0]!) }.joined(separator: ", ")
        guard worse.isEmpty else {
            return report(
                .kept, "candidate worse by more than \(options.margin) NDCG@10 (\(figures))", through: trainedThrough,
                heldOut: heldOut.count, users: cases.count, current: currentScores, candidate: candidateScores)
        }

        // Write the version, then record it, then make it current.
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let dir = options.versionsDirectory.appendingPathComponent("v-\(stamp)-\(trainedThrough)")
        var paths: [String] = []
        for (n, c) in candidates.enumerated() {
            let url = dir.appendingPathComponent(names[n])
            try c.save(to: url)
            paths.append(url.standardizedFileURL.path)
        }
        var r = report(
            .swapped, "candidate not worse than current by more than \(options.margin) NDCG@10 (\(figures))", through: trainedThrough,
            heldOut: heldOut.count, users: cases.count, current: currentScores, candidate: candidateScores)
        let text = String(decoding: (try? JSONEncoder().encode(r)) ?? Data(), as: UTF8.self)
        let version = try await store.registerVersion(paths: paths, eventsThrough: trainedThrough, report: text)
        try await store.setCurrent(version: version.version)
        r.toVersion = version.version
        // The swap has happened: a failed clean-up is logged, not reported as a failed retrain.
        do { try await prune(store: store, options: options, log: log) } catch { log("retrain: pruning old versions failed: \(error)") }
        return r
    }

    /// Names as the server gives them (kind, then kind-2 … for repeats).
    static func servedNames(_ models: [TrainedModel]) -> [String] {
        var used = Set<String>()
        return models.map { m in
            let kind = m.manifest.kind
            var name = kind, suffix = 2
            while used.contains(name) { name = "\(kind)-\(suffix)"; suffix += 1 }
            used.insert(name)
            return name
        }
    }

    static func ruleOf(_ model: TrainedModel, options: RetrainOptions) throws -> EventRule {
        let spec = options.baseData?.eventRule ?? model.manifest.trainingSource?.eventRule
        return try spec.map { try EventRule(spec: $0) } ?? EventRule()
    }

    /// One held-out case per user: the positive items of their held-out events.
    struct HoldoutCase { var user: String; var targets: [String] }

    static func holdoutCases(heldOut: [StoredFeedback], rule: EventRule) -> [HoldoutCase] {
        var targets: [String: [String]] = [:]
        var order: [String] = []
        for e in EventMerge.chronological(heldOut) where rule.isPositive(e.event) {
            if targets[e.event.user] == nil { order.append(e.event.user) }
            if !targets[e.event.user, default: []].contains(e.event.item) { targets[e.event.user, default: []].append(e.event.item) }
        }
        return order.map { HoldoutCase(user: $0, targets: targets[$0]!) }
    }

    /// Mean NDCG@10 over the cases, full ranking with the history excluded. A model's history of
    /// a user is what a request would give it: its training history plus the user's events up to
    /// `upTo` (those it trained on are already there). Both models are measured against the same
    /// targets: a target a model does not know counts as a miss, not as one fewer target.
    static func ndcg(_ m: TrainedModel, cases: [HoldoutCase], events: [StoredFeedback], upTo: Int64, rule: EventRule) -> Double {
        var byUser: [String: [StoredFeedback]] = [:]
        for e in events where e.id <= upTo { byUser[e.event.user, default: []].append(e) }
        // Scored as a request would be (EASE as a sum of history rows, not a dense product).
        let identity = ModelIdentity(
            name: m.manifest.kind, kind: m.manifest.kind, source: "retrain", items: m.itemIDs.count,
            fingerprint: m.manifest.dataset.fingerprint, createdAt: m.manifest.createdAt)
        let served = ServedModel(name: m.manifest.kind, recommender: m.model, identity: identity, toModel: nil, userIDs: m.userIDs)
        let n = m.itemIDs.count
        var total = 0.0
        for c in cases {
            let u = m.userIDs.index(of: c.user)
            let base = u.map { m.histories[Int($0)] } ?? []
            let ext = EventMerge.extend(history: base, with: byUser[c.user] ?? [], rule: rule) { m.itemIDs.index(of: $0) }
            let history = Set(ext.history)
            // Unknown targets get indices no ranking holds (negative), so they stay in the ideal.
            var targets = Set<Int32>()
            for (n, t) in c.targets.enumerated() {
                if let i = m.itemIDs.index(of: t) { if !history.contains(i) { targets.insert(i) } } else { targets.insert(Int32(-1 - n)) }
            }
            guard targets.contains(where: { $0 >= 0 }) else { continue }
            guard !ext.history.isEmpty || u != nil, u != nil || m.model.canScoreNewUsers else { continue }
            var scores = [Float](repeating: 0, count: n)
            scores.withUnsafeMutableBufferPointer { served.scores(history: ext.history, userID: c.user, into: $0.baseAddress!, count: n) }
            TopK.exclude(history.union(ext.excluded), from: &scores)
            let ranked = TopK.select(scores, k: 10)
            total += CaseMetrics(ranked: ranked, targets: targets, ks: [10]).values[.ndcg]![0]
        }
        return cases.isEmpty ? 0 : total / Double(cases.count)
    }

    /// Deletes retrained versions beyond `keepVersions`, oldest first: only versions a retrain
    /// wrote (with a report) into their own `v-…` folder directly in `versionsDirectory`, never
    /// the current one and never the directories a server was started with.
    static func prune(store: any EventStore, options: RetrainOptions, log: @Sendable (String) -> Void) async throws {
        let root = options.versionsDirectory.standardizedFileURL.path
        let current = try await store.currentVersion()?.version
        func ownFolder(_ v: ModelVersion) -> String? {
            let dirs = Set(v.paths.map { URL(fileURLWithPath: $0).deletingLastPathComponent().standardizedFileURL })
            guard dirs.count == 1, let d = dirs.first, d.deletingLastPathComponent().path == root,
                d.lastPathComponent.hasPrefix("v-")
            else { return nil }
            return d.path
        }
        let retrained = try await store.versions().filter { !$0.report.isEmpty && ownFolder($0) != nil }
        guard retrained.count > options.keepVersions else { return }
        for v in retrained.prefix(retrained.count - options.keepVersions) where v.version != current {
            try await store.deleteVersion(v.version)
            if let d = ownFolder(v) { try? FileManager.default.removeItem(atPath: d) }
            log("retrain: deleted version \(v.version)")
        }
    }
}
