import ArgumentParser
import Foundation
import OsusumeCore
import OsusumeModels
import OsusumeData
import OsusumeServe
import OsusumeStore

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve recommendations over HTTP (JSON API and a web page at /).",
        discussion: """
            Routes: GET /v1/users/{id}/recommendations?k=&blend=&mix=, POST /v1/recommendations \
            {"history": [ids or titles], "k": 10}, GET /v1/items?q=, GET /v1/items/{id}, \
            GET /v1/items/{id}/similar?k=, POST /v1/feedback (one event or an array), POST /v1/admin/reload, \
            GET /v1/admin/versions, POST /v1/admin/rollback {"version": N}, POST /v1/admin/retrain, GET /healthz, GET /metrics.
            Write and admin routes need --api-key (or OSUSUME_API_KEY) and `Authorization: Bearer KEY`; \
            without a key they are disabled.
            Feedback is history at once: a user's next request includes every event stored since the \
            models were trained. The --model directories are recorded in the store as a model version; \
            servers sharing a store follow its current version (a retrain or a rollback reaches all of \
            them within --follow-interval). SIGHUP reloads the current version, like /v1/admin/reload.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(
        name: .customLong("model"), parsing: .upToNextOption,
        help: "Model directories (train / quickstart output). The first sets the items and users; pop and newest models feed the popular and new slots.")
    var models: [String] = []
    @Option(help: "A data set whose catalog (titles, genres, tags, images) enriches the models' catalog.")
    var data: String?
    @Option(help: "Format of --data (default: detected).")
    var format: String?
    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"
    @Option(help: "Port to listen on.")
    var port = 8080
    @Option(help: "Event store: a SQLite file (WAL, one process) or a postgres://user:password@host:port/db URL (a fleet).")
    var store = "feedback.sqlite"
    @Option(help: "Retrain by itself: 'N events', an interval (30s, 10m, 2h) or both ('1000 events, 1h'). Give it to one replica of a fleet.")
    var retrain: String?
    @OptionGroup var retrainSettings: RetrainSettings
    @Option(name: .customLong("retrain-threads"), help: "Threads of the (low-priority) retrain process.")
    var retrainThreads = 1
    @Option(name: .customLong("retrain-timeout"), help: "Seconds after which a retrain process is stopped.")
    var retrainTimeout = 21_600.0
    @Option(name: .customLong("follow-interval"), help: "Seconds between checks of the store's current model version.")
    var followInterval = 2.0
    @Option(name: .customLong("event-rule"), help: "What each event kind means (see train --event-rule); default: the rule the models were trained with.")
    var eventRule: String?
    @Option(name: .customLong("api-key"), help: "Bearer key for the write and admin routes (default: OSUSUME_API_KEY; none disables them).")
    var apiKey: String?
    @Option(name: .customLong("max-body"), help: "Largest request body in bytes.")
    var maxBody = 64 * 1024
    @Option(name: .customLong("max-k"), help: "Largest k a request may ask for.")
    var maxK = 100
    @Option(help: "Slot mix for every request, e.g. '2 popular + 3 new + 5 personal' (default: by history length).")
    var mix: String?
    @Option(name: .customLong("established-at"), help: "History length from which the personal models lead.")
    var establishedAt = 5
    @Option(help: "Blend for established histories, e.g. 'ease:0.3,sasrec:0.7' (as `osusume tune --ensemble` chooses it); default: ease 0.6, itemknn 0.3, content 0.1.")
    var blend: String?

    func validate() throws {
        if models.isEmpty { throw ValidationError("give at least one --model PATH (e.g. models/quickstart-ease from `osusume quickstart`)") }
        if !(1...65535).contains(port) { throw ValidationError("--port must be 1-65535") }
        if maxBody < 256 { throw ValidationError("--max-body must be at least 256 bytes") }
        if !(1...10_000).contains(maxK) { throw ValidationError("--max-k must be 1-10000") }
        if let b = blend { _ = try WeightedBlend(spec: b) }
        if let r = retrain { _ = try RetrainSchedule(spec: r) }
        if let r = eventRule { _ = try EventRule(spec: r) }
        if !(followInterval > 0) { throw ValidationError("--follow-interval must be positive") }
        if !(retrainTimeout > 0) { throw ValidationError("--retrain-timeout must be positive") }
    }

    func run() throws {
        global.apply()
        // Requests run concurrently; each one's scoring stays on its own thread.
        if global.threads == nil { Threads.count = 1 }
        let start = Date()
        let paths = models, dataPath = data, dataFormat = format, storeURL = store
        let eventStore = try EventStores.openBlocking(storeURL)
        let version = try blocking { try await LiveModels.startingVersion(store: eventStore, modelPaths: paths, log: { logLine($0) }) }
        let load: @Sendable (ModelVersion) throws -> ModelSet = { try ModelSet.load(version: $0, kinds: modelKinds, dataPath: dataPath, dataFormat: dataFormat) }
        let set = try load(version)
        var policy = ColdStartPolicy()
        policy.establishedAt = establishedAt
        if let blend {
            policy.establishedBlend = try WeightedBlend(spec: blend)
            let missing = policy.establishedBlend.components.map(\.model).filter { !set.personalNames.contains($0) }
            guard missing.isEmpty else {
                throw ValidationError("--blend names \(missing.joined(separator: ", ")), which no --model loads (personal models: \(set.personalNames.joined(separator: ", ")))")
            }
        }
        var limits = ServiceLimits()
        limits.maxK = maxK
        // SIGHUP and /v1/admin/reload load the store's current version again.
        let loader: @Sendable () async throws -> ModelSet = {
            guard let v = try await eventStore.currentVersion() else { throw ServiceError.unavailable("the store has no current model version") }
            return try await withCheckedThrowingContinuation { cont in Thread.detachNewThread { cont.resume(with: Result { try load(v) }) } }
        }
        let service = RecommendationService(
            models: set, loader: loader, policy: policy,
            fixedMix: try mix.map { try SlotMix(spec: $0) }, limits: limits,
            store: eventStore, rule: try eventRule.map { try EventRule(spec: $0) })
        let live = LiveModels(service: service, store: eventStore, load: load)
        var options = ServeOptions()
        options.host = host; options.port = port; options.maxBodyBytes = maxBody
        options.apiKey = apiKey ?? ProcessInfo.processInfo.environment["OSUSUME_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        let settings = retrainSettings, threads = retrainThreads, timeout = retrainTimeout
        let runRetrain: @Sendable () async throws -> RetrainReport = {
            try await RetrainProcess.run(store: storeURL, settings: settings, threads: threads, timeout: timeout, log: { logLine($0) })
        }
        if retrain != nil { options.retrain = runRetrain }
        logLine(
            String(
                format: "loaded model version %lld: %@: %d items, %d users in %.2fs", set.version,
                set.identities.map { "\($0.name) (\($0.source))" }.joined(separator: ", "),
                set.itemCount, set.userIDs.count, Date().timeIntervalSince(start)))
        logLine("event store: \(eventStore.location); write and admin routes: \(options.apiKey == nil ? "disabled (no API key)" : "enabled")")
        let interval = followInterval
        var background = [BackgroundService(name: "model version follower") { live.follow(every: interval, log: { logLine($0) }) }]
        if let spec = retrain {
            let schedule = try RetrainSchedule(spec: spec)
            logLine("retraining by itself: \(schedule), versions in \(settings.versionsDirectory(store: storeURL))")
            background.append(BackgroundService(name: "retrain scheduler") { live.schedule(schedule, run: runRetrain, log: { logLine($0) }) })
        }
        logLine("listening on http://\(host):\(port)/  (SIGHUP or POST /v1/admin/reload reloads the models; SIGTERM drains and stops)")
        let quiet = global.quiet
        let app = makeApplication(service: service, live: live, options: options, logLevel: quiet ? .error : .notice)
        let hangup = reloadOnSIGHUP(service)
        try blocking { [background] in try await runServer(app, background: background, logLevel: quiet ? .error : .notice) }
        hangup.cancel()
        RetrainProcess.stopAll()
        try? blocking { await eventStore.close() }
        logLine("stopped: requests in flight were answered, background work ended")
    }
}
