import Foundation
import Logging
import OsusumeCore
import OsusumeData
import PostgresNIO

/// The fleet store: events and model versions in PostgreSQL (postgres-nio's pooled client), so
/// several server processes share one log and one current-model pointer. Same schema and
/// behaviour as `SQLiteEventStore`; `201` still means committed (PostgreSQL's default
/// `synchronous_commit=on`), and concurrent appends share one transaction.
public final class PostgresEventStore: EventStore {
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let group: GroupCommit
    private let logger: Logger
    private let schema: String?
    public let location: String

    /// - Parameter url: `postgres://user:password@host:port/database`; `?sslmode=disable` is
    ///   the default on loopback, `require` asks for TLS; `?schema=NAME` keeps the tables in
    ///   their own schema (created when missing), so several deployments can share a database.
    public init(url: String) async throws {
        guard let parts = URLComponents(string: url), let host = parts.host, !host.isEmpty else {
            throw OsusumeError.invalidArgument("store URL '\(Self.redacted(url))': expected postgres://user:password@host:port/database")
        }
        let database = parts.path.hasPrefix("/") ? String(parts.path.dropFirst()) : parts.path
        let sslmode = parts.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        let tls: PostgresClient.Configuration.TLS
        switch sslmode {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require": tls = .require(.makeClientConfiguration())
        default: throw OsusumeError.invalidArgument("store URL: sslmode must be disable, prefer or require, got '\(sslmode)'")
        }
        let schema = parts.queryItems?.first { $0.name == "schema" }?.value
        if let schema, schema.isEmpty || schema.count > 63 || !schema.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) {
            throw OsusumeError.invalidArgument("store URL: schema must be 1-63 characters of a-z, 0-9 and _, got '\(schema.prefix(70))'")
        }
        self.schema = schema
        var config = PostgresClient.Configuration(
            host: host, port: parts.port ?? 5432, username: parts.user ?? "postgres",
            password: parts.password, database: database.isEmpty ? nil : database, tls: tls)
        // A database that is down must fail writes quickly (503), not hang requests.
        config.options.connectTimeout = .seconds(3)
        config.options.maximumConnections = 16
        if let schema { config.options.additionalStartupParameters = [("search_path", schema)] }
        var logger = Logger(label: "osusume.store.postgres")
        logger.logLevel = .critical
        self.logger = logger
        let client = PostgresClient(configuration: config, backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
        location = Self.redacted(url)
        group = GroupCommit { [client, logger] events in try await PostgresEventStore.insert(events, client: client, logger: logger) }
        do { try await Self.guarded(seconds: 5) { [self] in try await migrate() } } catch {
            runner.cancel()
            throw EventStoreUnavailable("cannot open \(location): \(Self.describe(error))")
        }
    }

    static func redacted(_ url: String) -> String {
        guard var parts = URLComponents(string: url) else { return "postgres://…" }
        if parts.password != nil { parts.password = "***" }
        return parts.string ?? "postgres://…"
    }

    static func describe(_ error: Error) -> String {
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] { return "\(e.code): \(message)" }
            return "\(e.code)"
        }
        return "\(error)"
    }

    /// Runs a store operation within `seconds`, turning database errors and time-outs into
    /// `EventStoreUnavailable`: the pool retries a lost server for ever, a request must not.
    private func guarded<T: Sendable>(seconds: Double = 3, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await Self.guarded(seconds: seconds, body)
    }

    static func guarded<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        // The caller is answered by whichever comes first, the work or the clock: a query that
        // is already on a connection ignores cancellation, so it is not waited for.
        let once = ResumeOnce<T>()
        return try await withCheckedThrowingContinuation { cont in
            once.set(cont)
            let work = Task {
                do { once.resume(.success(try await body())) } catch let e as PSQLError {
                    once.resume(.failure(EventStoreUnavailable(describe(e))))
                } catch { once.resume(.failure(error)) }
            }
            Task {
                try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                if once.resume(.failure(EventStoreUnavailable("no answer from PostgreSQL within \(seconds)s"))) { work.cancel() }
            }
        }
    }

    /// Schema steps, applied once each under an advisory lock so replicas starting together
    /// do not race.
    static let migrations: [(name: String, sql: [String])] = [
        (
            "v1",
            [
                """
                CREATE TABLE feedback (
                    id BIGSERIAL PRIMARY KEY,
                    user_id TEXT NOT NULL,
                    item TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    rating DOUBLE PRECISION,
                    at DOUBLE PRECISION NOT NULL,
                    received_at DOUBLE PRECISION NOT NULL
                )
                """,
                "CREATE INDEX feedback_user ON feedback(user_id, id)",
            ]
        ),
        (
            "v2-model-versions",
            [
                """
                CREATE TABLE model_versions (
                    version BIGSERIAL PRIMARY KEY,
                    paths TEXT NOT NULL UNIQUE,
                    events_through BIGINT NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    report TEXT NOT NULL
                )
                """,
                """
                CREATE TABLE model_current (
                    slot INTEGER PRIMARY KEY CHECK (slot = 1),
                    version BIGINT NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL
                )
                """,
            ]
        ),
        (
            "v3-event-keys",
            [
                "ALTER TABLE feedback ADD COLUMN key TEXT",
                "CREATE UNIQUE INDEX feedback_key ON feedback(key)",
            ]
        ),
    ]

    private func migrate() async throws {
        try await client.withTransaction(logger: logger) { conn in
            try await conn.query("SELECT pg_advisory_xact_lock(7306117)", logger: logger)
            if let schema { try await conn.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \"\(schema)\""), logger: logger) }
            try await conn.query(
                "CREATE TABLE IF NOT EXISTS osusume_migrations (name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)",
                logger: logger)
            var applied = Set<String>()
            for try await name in try await conn.query("SELECT name FROM osusume_migrations", logger: logger).decode(String.self) {
                applied.insert(name)
            }
            for m in Self.migrations where !applied.contains(m.name) {
                for sql in m.sql { try await conn.query(PostgresQuery(unsafeSQL: sql), logger: logger) }
                let now = Date().timeIntervalSince1970
                try await conn.query("INSERT INTO osusume_migrations (name, applied_at) VALUES (\(m.name), \(now))", logger: logger)
            }
        }
    }

    private static func insert(_ events: [FeedbackEvent], client: PostgresClient, logger: Logger) async throws -> [StoredFeedback] {
        let received = Date().timeIntervalSince1970
        let users = events.map(\.user), items = events.map(\.item), kinds = events.map(\.kind)
        let ratings = events.map { $0.rating ?? .nan } // NaN stands for "no rating" in the array
        let ats = events.map { $0.at ?? received }
        let keys = events.map { $0.key ?? "" } // "" for "no key" (a key is never empty)
        return try await guarded(seconds: 5) {
            // One statement for the whole group; ids come from the sequence in row order. An
            // event whose key is already stored is skipped and answered with the stored one.
            let rows = try await client.query(
                """
                INSERT INTO feedback (user_id, item, kind, rating, at, received_at, key)
                SELECT u, i, k, NULLIF(r, 'NaN'::float8), a, \(received), NULLIF(c, '')
                FROM unnest(\(users)::text[], \(items)::text[], \(kinds)::text[], \(ratings)::float8[], \(ats)::float8[], \(keys)::text[])
                     WITH ORDINALITY AS t(u, i, k, r, a, c, n)
                ORDER BY n
                ON CONFLICT (key) DO NOTHING
                RETURNING id, COALESCE(key, '')
                """, logger: logger)
            var inserted: [(id: Int64, key: String)] = []
            for try await (id, key) in rows.decode((Int64, String).self) { inserted.append((id, key)) }
            inserted.sort { $0.id < $1.id }
            var keyed: [String: Int64] = [:]
            var unkeyed: [Int64] = []
            for r in inserted { if r.key.isEmpty { unkeyed.append(r.id) } else { keyed[r.key] = r.id } }
            var existing: [String: StoredFeedback] = [:]
            let skipped = Set(events.compactMap(\.key).filter { keyed[$0] == nil })
            if !skipped.isEmpty {
                for e in try await select("WHERE key = ANY(\(Array(skipped))::text[])", client: client, logger: logger) {
                    if let k = e.event.key { existing[k] = e }
                }
            }
            var out: [StoredFeedback] = []
            var nextUnkeyed = 0
            for (n, e) in events.enumerated() {
                var stored = e
                stored.at = ats[n]
                if let key = e.key {
                    if let id = keyed.removeValue(forKey: key) {
                        out.append(StoredFeedback(id: id, event: stored, receivedAt: received))
                        existing[key] = out.last // a second event of the batch with this key gets this one
                    } else if let old = existing[key] {
                        out.append(old)
                    } else {
                        throw EventStoreUnavailable("event with key '\(key.prefix(40))' neither inserted nor found")
                    }
                } else {
                    guard nextUnkeyed < unkeyed.count else { throw EventStoreUnavailable("inserted fewer events than sent") }
                    out.append(StoredFeedback(id: unkeyed[nextUnkeyed], event: stored, receivedAt: received))
                    nextUnkeyed += 1
                }
            }
            return out
        }
    }

    static let eventColumns = "id, user_id, item, kind, rating, at, received_at, COALESCE(key, '')"

    /// Events matching `condition` (SQL after FROM feedback, with binds).
    static func select(_ condition: PostgresQuery, client: PostgresClient, logger: Logger) async throws -> [StoredFeedback] {
        var out: [StoredFeedback] = []
        let query = PostgresQuery(unsafeSQL: "SELECT \(eventColumns) FROM feedback " + condition.sql, binds: condition.binds)
        for try await (id, user, item, kind, rating, at, received, key) in try await client.query(query, logger: logger)
            .decode((Int64, String, String, String, Double?, Double, Double, String).self)
        {
            out.append(
                StoredFeedback(
                    id: id,
                    event: FeedbackEvent(
                        user: user, item: item, kind: kind, rating: rating, at: at,
                        key: key.isEmpty ? nil : key),
                    receivedAt: received))
        }
        return out
    }

    public func append(_ events: [FeedbackEvent]) async throws -> [StoredFeedback] {
        for e in events { try e.validate() }
        return try await group.submit(events)
    }

    private func fetchEvents(_ condition: PostgresQuery, seconds: Double = 3) async throws -> [StoredFeedback] {
        try await guarded(seconds: seconds) { [self] in try await Self.select(condition, client: client, logger: logger) }
    }

    public func events(user: String, after: Int64, latest: Int?) async throws -> [StoredFeedback] {
        let newestFirst = try await fetchEvents(
            "WHERE user_id = \(user) AND id > \(after) ORDER BY id DESC LIMIT \(Int64(latest ?? Int(Int64.max)))",
            seconds: 1)
        return newestFirst.reversed()
    }

    public func events(after: Int64, through: Int64, limit: Int) async throws -> [StoredFeedback] {
        try await fetchEvents("WHERE id > \(after) AND id <= \(through) ORDER BY id LIMIT \(limit)")
    }

    private func scalar(_ query: PostgresQuery) async throws -> Int64 {
        try await guarded { [self] in
            for try await v in try await client.query(query, logger: logger).decode(Int64.self) { return v }
            return 0
        }
    }

    public func maxID() async throws -> Int64 { try await scalar("SELECT COALESCE(MAX(id), 0)::bigint FROM feedback") }
    public func count() async throws -> Int { Int(try await scalar("SELECT COUNT(*)::bigint FROM feedback")) }

    public func recent(limit: Int) async throws -> [StoredFeedback] {
        try await fetchEvents("ORDER BY id DESC LIMIT \(limit)")
    }

    // MARK: model versions

    private func fetchVersions(_ query: PostgresQuery) async throws -> [ModelVersion] {
        try await guarded { [self] in
            var out: [ModelVersion] = []
            for try await (v, paths, through, created, report) in try await client.query(query, logger: logger)
                .decode((Int64, String, Int64, Double, String).self)
            {
                let list = (try? JSONDecoder().decode([String].self, from: Data(paths.utf8))) ?? []
                out.append(ModelVersion(version: v, paths: list, eventsThrough: through, createdAt: created, report: report))
            }
            return out
        }
    }

    public func registerVersion(paths: [String], eventsThrough: Int64, report: String) async throws -> ModelVersion {
        let key = ModelVersionKey.paths(paths)
        let now = Date().timeIntervalSince1970
        _ = try await guarded { [self] in
            try await client.query(
                """
                INSERT INTO model_versions (paths, events_through, created_at, report) VALUES (\(key), \(eventsThrough), \(now), \(report))
                ON CONFLICT (paths) DO NOTHING
                """, logger: logger)
        }
        guard let v = try await fetchVersions("SELECT version, paths, events_through, created_at, report FROM model_versions WHERE paths = \(key)").first else {
            throw EventStoreUnavailable("model version not recorded")
        }
        return v
    }

    public func versions() async throws -> [ModelVersion] {
        try await fetchVersions("SELECT version, paths, events_through, created_at, report FROM model_versions ORDER BY version")
    }

    public func currentVersion() async throws -> ModelVersion? {
        try await fetchVersions(
            """
            SELECT v.version, v.paths, v.events_through, v.created_at, v.report
            FROM model_current c JOIN model_versions v ON v.version = c.version
            """
        ).first
    }

    public func setCurrent(version: Int64) async throws {
        // One statement: the version is checked and the pointer moved atomically.
        let now = Date().timeIntervalSince1970
        let moved = try await scalar(
            """
            WITH moved AS (
                INSERT INTO model_current (slot, version, updated_at)
                SELECT 1, version, \(now) FROM model_versions WHERE version = \(version)
                ON CONFLICT (slot) DO UPDATE SET version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
                RETURNING 1)
            SELECT COUNT(*)::bigint FROM moved
            """)
        guard moved == 1 else { throw OsusumeError.unknownID(kind: "model version", id: String(version)) }
    }

    public func deleteVersion(_ version: Int64) async throws {
        // One statement: never the version the pointer names, even if it moves meanwhile.
        let deleted = try await scalar(
            """
            WITH gone AS (
                DELETE FROM model_versions WHERE version = \(version)
                AND NOT EXISTS (SELECT 1 FROM model_current WHERE version = \(version))
                RETURNING 1)
            SELECT COUNT(*)::bigint FROM gone
            """)
        if deleted == 0, try await currentVersion()?.version == version {
            throw OsusumeError.invalidArgument("version \(version) is current and cannot be deleted")
        }
    }

    public func withRetrainLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T? {
        // A session-level advisory lock on one pooled connection: released when the holder's
        // connection ends, so a replica killed mid-retrain does not block the others. No time
        // limit: the body (a retrain) takes minutes.
        do {
            return try await client.withConnection { conn -> T? in
                var taken = false
                for try await ok in try await conn.query("SELECT pg_try_advisory_lock(7306118)", logger: logger).decode(Bool.self) { taken = ok }
                guard taken else { return nil }
                do {
                    let result = try await body()
                    _ = try? await conn.query("SELECT pg_advisory_unlock(7306118)", logger: logger)
                    return result
                } catch {
                    _ = try? await conn.query("SELECT pg_advisory_unlock(7306118)", logger: logger)
                    throw error
                }
            }
        } catch let e as PSQLError {
            throw EventStoreUnavailable(Self.describe(e))
        }
    }

    public func close() async { runner.cancel() }
}

/// A continuation resumed by the first of several racers only.
final class ResumeOnce<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Error>?
    private var early: Result<T, Error>?
    private var done = false

    func set(_ c: CheckedContinuation<T, Error>) {
        lock.lock()
        if let r = early { lock.unlock(); c.resume(with: r); return }
        continuation = c
        lock.unlock()
    }

    /// Resumes with `result` if nothing has yet; returns whether this call did.
    @discardableResult
    func resume(_ result: Result<T, Error>) -> Bool {
        lock.lock()
        guard !done else { lock.unlock(); return false }
        done = true
        if let c = continuation { continuation = nil; lock.unlock(); c.resume(with: result) } else { early = result; lock.unlock() }
        return true
    }
}
