import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest
import Hummingbird
import NIOCore
import ServiceLifecycle
import OsusumeCore
@testable import OsusumeServe

/// Graceful shutdown (swift-service-lifecycle): a request in flight when the server is told to
/// stop is answered, background services end, and the group returns.
final class ShutdownTests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }

    final class PortBox: @unchecked Sendable {
        let lock = NSLock(); var port: Int?
        func set(_ p: Int?) { lock.lock(); port = p; lock.unlock() }
        func get() -> Int? { lock.lock(); defer { lock.unlock() }; return port }
    }

    func testSIGTERMDrainsRequestsInFlightThenStopsBackgroundWork() async throws {
        let service = RecommendationService(models: try Fixture.modelSet())
        let router = buildRouter(service: service, options: ServeOptions())
        // A request that takes a while, standing in for a slow recommendation.
        router.get("/slow") { _, _ -> String in
            try await Task.sleep(nanoseconds: 800_000_000)
            return "finished"
        }
        let box = PortBox()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { box.set($0.localAddress?.port) })
        let backgroundEnded = PortBox()
        let background = BackgroundService(name: "ticker") {
            Task {
                while !Task.isCancelled { try? await Task.sleep(nanoseconds: 20_000_000) }; backgroundEnded.set(1)
            }
        }
        let group = Task { try await runServer(app, background: [background], logLevel: .error, signals: [.sigterm]) }
        var port: Int?
        for _ in 0..<200 where port == nil { try await Task.sleep(nanoseconds: 10_000_000); port = box.get() }
        let p = try XCTUnwrap(port, "server did not start")

        let started = Date()
        let request = Task { () -> (Int, String) in
            let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(p)/slow")!)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
        }
        try await Task.sleep(nanoseconds: 200_000_000) // the request is now in flight
        // The group trapped SIGTERM before it started the server, so this is the real path.
        kill(getpid(), SIGTERM)
        let (status, body) = try await request.value
        XCTAssertEqual(status, 200)
        XCTAssertEqual(body, "finished")
        XCTAssertGreaterThan(Date().timeIntervalSince(started), 0.7, "answered before its work was done?")
        try await group.value
        XCTAssertEqual(backgroundEnded.get(), 1, "background service still running after shutdown")
    }
}
