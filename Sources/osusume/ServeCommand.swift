import ArgumentParser
import Foundation
import OsusumeCore
import OsusumeModels
import OsusumeServe

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve recommendations over HTTP (JSON API and a web page at /).",
        discussion: """
        Routes: GET /v1/users/{id}/recommendations?k=&blend=&mix=, POST /v1/recommendations \
        {"history": [ids or titles], "k": 10}, GET /v1/items?q=, GET /v1/items/{id}, \
        GET /v1/items/{id}/similar?k=, POST /v1/feedback, POST /v1/admin/reload, GET /healthz, GET /metrics.
        Write and admin routes need --api-key (or OSUSUME_API_KEY) and `Authorization: Bearer KEY`; \
        without a key they are disabled. SIGHUP reloads the models from the same paths, like \
        /v1/admin/reload: requests in flight finish on the old models, none is dropped.
        """)

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("model"), parsing: .upToNextOption,
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
    @Option(help: "SQLite file for feedback (WAL).")
    var store = "feedback.sqlite"
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

    func validate() throws {
        if models.isEmpty { throw ValidationError("give at least one --model PATH (e.g. models/quickstart-ease from `osusume quickstart`)") }
        if !(1...65535).contains(port) { throw ValidationError("--port must be 1-65535") }
        if maxBody < 256 { throw ValidationError("--max-body must be at least 256 bytes") }
        if !(1...10_000).contains(maxK) { throw ValidationError("--max-k must be 1-10000") }
    }

    func run() throws {
        global.apply()
        // Requests run concurrently; each one's scoring stays on its own thread.
        if global.threads == nil { Threads.count = 1 }
        let start = Date()
        let paths = models, dataPath = data, dataFormat = format
        let loader: @Sendable () throws -> ModelSet = { try ModelSet.load(modelPaths: paths, dataPath: dataPath, dataFormat: dataFormat) }
        let set = try loader()
        var policy = ColdStartPolicy()
        policy.establishedAt = establishedAt
        var limits = ServiceLimits()
        limits.maxK = maxK
        let service = RecommendationService(models: set, loader: loader, policy: policy,
                                            fixedMix: try mix.map { try SlotMix(spec: $0) }, limits: limits)
        let feedback = try FeedbackStore(path: store)
        var options = ServeOptions()
        options.host = host; options.port = port; options.maxBodyBytes = maxBody
        options.apiKey = apiKey ?? ProcessInfo.processInfo.environment["OSUSUME_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        logLine(String(format: "loaded %@: %d items, %d users in %.2fs", set.identities.map { "\($0.name) (\($0.source))" }.joined(separator: ", "),
                       set.itemCount, set.userIDs.count, Date().timeIntervalSince(start)))
        logLine("feedback store: \(store) (WAL); write and admin routes: \(options.apiKey == nil ? "disabled (no API key)" : "enabled")")
        logLine("listening on http://\(host):\(port)/  (SIGHUP or POST /v1/admin/reload reloads the models)")
        let app = makeApplication(service: service, store: feedback, options: options, logLevel: global.quiet ? .error : .notice)
        let hangup = reloadOnSIGHUP(service)
        try runBlocking { try await app.runService() }
        hangup.cancel()
    }
}

/// Runs async work from a synchronous command and waits for it.
func runBlocking(_ body: @escaping @Sendable () async throws -> Void) throws {
    final class Outcome: @unchecked Sendable { var error: Error? }
    let outcome = Outcome()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { try await body() } catch { outcome.error = error }
        done.signal()
    }
    done.wait()
    if let error = outcome.error { throw error }
}
