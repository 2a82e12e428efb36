import Foundation
import GRDB
import OsusumeCore
import OsusumeData

/// The embedded store: one SQLite file (GRDB `DatabasePool`, WAL journal, `synchronous=FULL`),
/// so an event acknowledged after `append` survives a crash or power loss. Concurrent appends
/// are committed together (one fsync per group).
public final class SQLiteEventStore: EventStore {
    private let pool: DatabasePool
    private let group: GroupCommit
    public let path: String
    public var location: String { "sqlite:\(path)" }

    public init(path: String) throws {
        self.path = path
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var config = Configuration()
        config.prepareDatabase { db in
            // WAL with NORMAL may lose the last commits on power loss; FULL syncs every commit.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // The per-user index takes random keys: a 64 MB page cache keeps ingest fast as the
            // table grows past millions of rows (the default 2 MB halves it).
            try db.execute(sql: "PRAGMA cache_size = -65536")
        }
        config.busyMode = .timeout(5)
        let pool: DatabasePool
        do { pool = try DatabasePool(path: path, configuration: config) } catch {
            throw OsusumeError.file(path, problem: "cannot open the event store: \(error)")
        }
        self.pool = pool
        try Self.migrator.migrate(pool)
        group = GroupCommit { events in try await SQLiteEventStore.insert(events, into: pool) }
    }

    /// The schema, in steps; a file written by an older version is brought up to date.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE feedback (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        user TEXT NOT NULL,
                        item TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        rating REAL,
                        at REAL NOT NULL,
                        received_at REAL NOT NULL
                    );
                    CREATE INDEX feedback_user ON feedback(user, at);
                    """)
        }
        m.registerMigration("v2-model-versions") { db in
            try db.execute(
                sql: """
                    ALTER TABLE feedback RENAME COLUMN user TO user_id;
                    DROP INDEX feedback_user;
                    CREATE INDEX feedback_user ON feedback(user_id, id);
                    CREATE TABLE model_versions (
                        version INTEGER PRIMARY KEY AUTOINCREMENT,
                        paths TEXT NOT NULL UNIQUE,
                        events_through INTEGER NOT NULL,
                        created_at REAL NOT NULL,
                        report TEXT NOT NULL
                    );
                    CREATE TABLE model_current (
                        slot INTEGER PRIMARY KEY CHECK (slot = 1),
                        version INTEGER NOT NULL,
                        updated_at REAL NOT NULL
                    );
                    """)
        }
        m.registerMigration("v3-event-keys") { db in
            try db.execute(
                sql: """
                    ALTER TABLE feedback ADD COLUMN key TEXT;
                    CREATE UNIQUE INDEX feedback_key ON feedback(key);
                    """)
        }
        return m
    }

    /// The journal mode in force ("wal").
    public func journalMode() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    private static func insert(_ events: [FeedbackEvent], into pool: DatabasePool) async throws -> [StoredFeedback] {
        let received = Date().timeIntervalSince1970
        do {
            return try await pool.write { db -> [StoredFeedback] in
                let statement = try db.cachedStatement(
                    sql: """
                        INSERT INTO feedback (user_id, item, kind, rating, at, received_at, key) VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT(key) DO NOTHING
                        """)
                var out: [StoredFeedback] = []
                out.reserveCapacity(events.count)
                for e in events {
                    var stored = e
                    stored.at = e.at ?? received
                    try statement.execute(arguments: [e.user, e.item, e.kind, e.rating, stored.at, received, e.key])
                    if db.changesCount == 0, let key = e.key,
                        let row = try Row.fetchOne(db, sql: "SELECT \(columns) FROM feedback WHERE key = ?", arguments: [key])
                    {
                        out.append(decode(row)) // stored before under this key: the original
                    } else {
                        out.append(StoredFeedback(id: db.lastInsertedRowID, event: stored, receivedAt: received))
                    }
                }
                return out
            }
        } catch let e as DatabaseError {
            throw EventStoreUnavailable("\(e.resultCode): \(e.message ?? "")")
        }
    }

    public func append(_ events: [FeedbackEvent]) async throws -> [StoredFeedback] {
        for e in events { try e.validate() }
        return try await group.submit(events)
    }

    private static let columns = "id, user_id, item, kind, rating, at, received_at, key"

    private static func decode(_ row: Row) -> StoredFeedback {
        StoredFeedback(
            id: row["id"],
            event: FeedbackEvent(
                user: row["user_id"], item: row["item"], kind: row["kind"],
                rating: row["rating"], at: row["at"], key: row["key"]),
            receivedAt: row["received_at"])
    }

    private func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do { return try await pool.read(body) } catch let e as DatabaseError {
            throw EventStoreUnavailable("\(e.resultCode): \(e.message ?? "")")
        }
    }

    /// A write transaction; database errors (busy, full, read-only) become `EventStoreUnavailable`.
    private func write<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do { return try await pool.write(body) } catch let e as DatabaseError {
            throw EventStoreUnavailable("\(e.resultCode): \(e.message ?? "")")
        }
    }

    public func events(user: String, after: Int64, latest: Int?) async throws -> [StoredFeedback] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM (SELECT \(Self.columns) FROM feedback WHERE user_id = ? AND id > ? ORDER BY id DESC LIMIT ?) ORDER BY id
                    """, arguments: [user, after, latest ?? -1]
            ).map(Self.decode) // LIMIT -1: no limit
        }
    }

    public func events(after: Int64, through: Int64, limit: Int) async throws -> [StoredFeedback] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.columns) FROM feedback WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
                arguments: [after, through, limit]
            ).map(Self.decode)
        }
    }

    public func maxID() async throws -> Int64 {
        try await read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM feedback") ?? 0 }
    }

    public func count() async throws -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM feedback") ?? 0 }
    }

    public func recent(limit: Int) async throws -> [StoredFeedback] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.columns) FROM feedback ORDER BY id DESC LIMIT ?", arguments: [limit]).map(Self.decode)
        }
    }

    // MARK: model versions

    private static func decodeVersion(_ row: Row) -> ModelVersion {
        let text: String = row["paths"]
        let paths = (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
        return ModelVersion(
            version: row["version"], paths: paths, eventsThrough: row["events_through"],
            createdAt: row["created_at"], report: row["report"])
    }

    public func registerVersion(paths: [String], eventsThrough: Int64, report: String) async throws -> ModelVersion {
        let key = ModelVersionKey.paths(paths)
        return try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO model_versions (paths, events_through, created_at, report) VALUES (?, ?, ?, ?)
                    ON CONFLICT(paths) DO NOTHING
                    """, arguments: [key, eventsThrough, Date().timeIntervalSince1970, report])
            let row = try Row.fetchOne(db, sql: "SELECT * FROM model_versions WHERE paths = ?", arguments: [key])!
            return Self.decodeVersion(row)
        }
    }

    public func versions() async throws -> [ModelVersion] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM model_versions ORDER BY version").map(Self.decodeVersion) }
    }

    public func currentVersion() async throws -> ModelVersion? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT v.* FROM model_current c JOIN model_versions v ON v.version = c.version")
                .map(Self.decodeVersion)
        }
    }

    public func setCurrent(version: Int64) async throws {
        try await write { db in
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM model_versions WHERE version = ?", arguments: [version]) == 1 else {
                throw OsusumeError.unknownID(kind: "model version", id: String(version))
            }
            try db.execute(
                sql: """
                    INSERT INTO model_current (slot, version, updated_at) VALUES (1, ?, ?)
                    ON CONFLICT(slot) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at
                    """, arguments: [version, Date().timeIntervalSince1970])
        }
    }

    public func deleteVersion(_ version: Int64) async throws {
        try await write { db in
            if try Int64.fetchOne(db, sql: "SELECT version FROM model_current WHERE slot = 1") == version {
                throw OsusumeError.invalidArgument("version \(version) is current and cannot be deleted")
            }
            try db.execute(sql: "DELETE FROM model_versions WHERE version = ?", arguments: [version])
        }
    }

    public func withRetrainLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T? {
        // An advisory file lock: the kernel releases it when the holder exits, even on kill -9.
        let lockPath = path + ".retrain-lock"
        let fd = open(lockPath, O_CREAT | O_RDWR, 0o644)
        guard fd >= 0 else { throw OsusumeError.file(lockPath, problem: "cannot open the retrain lock: \(String(cString: strerror(errno)))") }
        defer { closeDescriptor(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return nil }
        defer { flock(fd, LOCK_UN) }
        return try await body()
    }

    public func close() async { try? pool.close() }
}

/// The key that identifies a version by its model paths.
enum ModelVersionKey {
    static func paths(_ paths: [String]) -> String {
        let data = (try? JSONEncoder().encode(paths)) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// The C `close`, out of reach of the stores' own `close()` method.
func closeDescriptor(_ fd: Int32) { _ = close(fd) }
