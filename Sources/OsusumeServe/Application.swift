import Foundation
import Hummingbird
import Logging
import OsusumeCore

/// Server settings.
public struct ServeOptions: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Bearer key of the write and admin routes; nil turns those routes off.
    public var apiKey: String?
    /// Largest accepted request body.
    public var maxBodyBytes = 64 * 1024
    /// Largest `POST /v1/feedback` body (a batch of events) and most events in one batch.
    public var maxFeedbackBodyBytes = 1 << 20
    public var maxBatchEvents = 1_000
    /// Runs one retrain (`POST /v1/admin/retrain`); nil when retraining is off.
    public var retrain: (@Sendable () async throws -> RetrainReport)?
    public var defaultK = 10
    public var maxSearchResults = 50
    public init() {}
}

/// What the route handlers share.
struct ServeRoutes: Sendable {
    let service: RecommendationService
    /// Model versions, rollback and retraining (nil: a fixed model set).
    let live: LiveModels?
    let options: ServeOptions
    let metrics: ServeMetrics
}

/// The HTTP API and the web page over `service` (and its event store).
public func buildRouter(
    service: RecommendationService, live: LiveModels? = nil, options: ServeOptions,
    metrics: ServeMetrics = ServeMetrics()
) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: MetricsMiddleware(metrics: metrics))
    router.add(middleware: JSONErrorMiddleware())
    let routes = ServeRoutes(service: service, live: live, options: options, metrics: metrics)
    routes.addHealthRoutes(to: router)
    routes.addWebRoutes(to: router)
    routes.addRecommendationRoutes(to: router)
    routes.addItemRoutes(to: router)
    routes.addFeedbackRoutes(to: router)
    routes.addAdminRoutes(to: router)
    return router
}

/// A Hummingbird application serving the API on `options.host:options.port`.
public func makeApplication(
    service: RecommendationService, live: LiveModels? = nil, options: ServeOptions,
    metrics: ServeMetrics = ServeMetrics(), logLevel: Logger.Level = .info
) -> some ApplicationProtocol {
    var logger = Logger(label: "osusume.serve")
    logger.logLevel = logLevel
    return Application(
        router: buildRouter(service: service, live: live, options: options, metrics: metrics),
        configuration: .init(address: .hostname(options.host, port: options.port), serverName: "osusume"),
        logger: logger)
}

/// Reloads the models on SIGHUP for as long as the returned source is kept.
public func reloadOnSIGHUP(_ service: RecommendationService, log: @escaping @Sendable (String) -> Void = { logLine($0) }) -> any DispatchSourceSignal {
    signal(SIGHUP, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
    source.setEventHandler {
        Task {
            let start = Date()
            do {
                let set = try await service.reload()
                log(String(format: "SIGHUP: reloaded %@ in %.2fs", set.identities.map(\.name).joined(separator: ", "), Date().timeIntervalSince(start)))
            } catch { log("SIGHUP: reload failed, still serving the previous models: \(error)") }
        }
    }
    source.resume()
    return source
}
