import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Background work of a server (following the store's model version, retraining on a schedule)
/// as a service of the server's group: it runs until the group shuts down.
public struct BackgroundService: Service {
    public let name: String
    let start: @Sendable () -> Task<Void, Never>

    /// `start` begins the work and returns its task; the task is cancelled at shutdown.
    public init(name: String, start: @escaping @Sendable () -> Task<Void, Never>) {
        self.name = name; self.start = start
    }

    public func run() async throws {
        let task = start()
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await task.value
            } onCancel: {
                task.cancel()
            }
        } onGracefulShutdown: {
            task.cancel()
        }
    }
}

/// Runs the HTTP application and its background services as one service group
/// (swift-service-lifecycle). On SIGTERM or SIGINT the application stops accepting connections
/// and answers the requests already in flight; the background services end after it (a group
/// shuts its services down in reverse order). Returns once everything has stopped.
public func runServer(
    _ app: some Service, background: [BackgroundService] = [], logLevel: Logger.Level = .notice,
    signals: [UnixSignal] = [.sigterm, .sigint]
) async throws {
    var logger = Logger(label: "osusume.serve")
    logger.logLevel = logLevel
    let group = ServiceGroup(
        configuration: .init(
            services: background.map { .init(service: $0) } + [.init(service: app)],
            gracefulShutdownSignals: signals, logger: logger))
    try await group.run()
}
