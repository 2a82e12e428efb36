import Foundation
import OsusumeCore
import OsusumeData

/// A durable log of feedback events and the record of model versions with the one that is
/// current. SQLite (embedded, one process) and PostgreSQL (a fleet of processes) implement it
/// with the same schema and behaviour.
///
/// Ids increase in commit order; a model trained on the events up to id N serves the events
/// after N as history at request time, and the next retrain includes them.
public protocol EventStore: AnyObject, Sendable {
    /// Where the store is, for logs (no password).
    var location: String { get }

    /// Stores every event in one transaction and returns them with their ids once committed:
    /// all or none (an invalid event rejects the whole batch before anything is written).
    func append(_ events: [FeedbackEvent]) async throws -> [StoredFeedback]
    /// One user's events with id > `after`, in id order; with `latest`, only the most recent
    /// that many.
    func events(user: String, after: Int64, latest: Int?) async throws -> [StoredFeedback]
    /// Events with `after` < id ≤ `through`, in id order, at most `limit`.
    func events(after: Int64, through: Int64, limit: Int) async throws -> [StoredFeedback]
    /// The largest id committed (0 when empty).
    func maxID() async throws -> Int64
    func count() async throws -> Int
    /// The latest events, newest first.
    func recent(limit: Int) async throws -> [StoredFeedback]

    /// Records a model version (a set of model directories); a version with the same paths is
    /// returned as it is.
    func registerVersion(paths: [String], eventsThrough: Int64, report: String) async throws -> ModelVersion
    /// Every recorded version, oldest first.
    func versions() async throws -> [ModelVersion]
    func currentVersion() async throws -> ModelVersion?
    func setCurrent(version: Int64) async throws
    func deleteVersion(_ version: Int64) async throws
    /// Runs `body` only if no other process holds the retraining lock; returns nil otherwise.
    func withRetrainLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T?

    func close() async
}

/// A recorded set of model directories that can be served together.
public struct ModelVersion: Codable, Sendable, Equatable {
    public var version: Int64
    public var paths: [String]
    /// The events up to this id were in the models' training data.
    public var eventsThrough: Int64
    public var createdAt: Double
    /// The retrain report (JSON text; "" for versions given on the command line).
    public var report: String

    public init(version: Int64, paths: [String], eventsThrough: Int64, createdAt: Double, report: String) {
        self.version = version; self.paths = paths; self.eventsThrough = eventsThrough
        self.createdAt = createdAt; self.report = report
    }
}

/// The store could not be reached or could not write (down, full, locked): the caller answers
/// 503 and keeps serving reads from memory.
public struct EventStoreUnavailable: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "event store unavailable: \(message)" }
}

extension EventStore {
    /// One user's events with id > `after`, in id order.
    public func events(user: String, after: Int64) async throws -> [StoredFeedback] {
        try await events(user: user, after: after, latest: nil)
    }

    /// Every event with `after` < id ≤ `through`, read in pages.
    public func allEvents(after: Int64 = 0, through: Int64, page: Int = 50_000) async throws -> [StoredFeedback] {
        var out: [StoredFeedback] = []
        var last = after
        while last < through {
            let chunk = try await events(after: last, through: through, limit: page)
            guard let end = chunk.last?.id else { break }
            out.append(contentsOf: chunk)
            last = end
        }
        return out
    }
}

/// Opens a store by URL: `postgres://user:password@host:port/database` (or `postgresql://`)
/// for PostgreSQL, anything else is a SQLite file path (`sqlite:` prefix optional).
public enum EventStores {
    public static func open(_ url: String) async throws -> any EventStore {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            return try await PostgresEventStore(url: url)
        }
        let path = url.hasPrefix("sqlite:") ? String(url.dropFirst("sqlite:".count)) : url
        return try SQLiteEventStore(path: path)
    }

    /// `open` for synchronous callers (the command line).
    public static func openBlocking(_ url: String) throws -> any EventStore {
        try blocking { try await open(url) }
    }
}

/// Runs async work from synchronous code and waits for its result.
public func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

private final class ResultBox<T>: @unchecked Sendable { var result: Result<T, Error>? }
