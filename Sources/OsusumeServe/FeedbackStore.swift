import Foundation
import GRDB
import OsusumeCore

/// One feedback event as received: who, what, which kind, and optionally a rating and when it
/// happened (client time).
public struct FeedbackEvent: Codable, Sendable, Equatable {
    public var user: String
    public var item: String
    public var kind: String
    public var rating: Double?
    /// When it happened, seconds since 1970 (the time of receipt when absent).
    public var at: Double?

    public init(user: String, item: String, kind: String, rating: Double? = nil, at: Double? = nil) {
        self.user = user; self.item = item; self.kind = kind; self.rating = rating; self.at = at
    }

    /// The kinds of feedback the store accepts.
    public static let kinds: Set<String> = ["view", "click", "like", "dislike", "favourite", "rating", "watch", "skip", "purchase"]
    public static let maxIDLength = 256

    /// Checks bounds: non-empty ids of bounded length, a known kind, a finite rating in
    /// [-100, 100] (required for "rating"), a time between 1970 and 2100.
    public func validate() throws {
        for (name, v) in [("user", user), ("item", item)] {
            guard !v.isEmpty, v.utf8.count <= Self.maxIDLength else {
                throw OsusumeError.invalidArgument("\(name) must be 1 to \(Self.maxIDLength) bytes")
            }
        }
        guard Self.kinds.contains(kind) else {
            throw OsusumeError.invalidArgument("kind must be one of \(Self.kinds.sorted().joined(separator: ", ")), got '\(kind.prefix(40))'")
        }
        if let r = rating { guard r.isFinite, abs(r) <= 100 else { throw OsusumeError.invalidArgument("rating must be a number in [-100, 100]") } }
        if kind == "rating" && rating == nil { throw OsusumeError.invalidArgument("kind 'rating' needs a rating") }
        if let t = at { guard t.isFinite, t >= 0, t < 4_102_444_800 else { throw OsusumeError.invalidArgument("at must be seconds since 1970, before 2100") } }
    }
}

/// A stored event with its row id and time of receipt.
public struct StoredFeedback: Codable, Sendable, Equatable {
    public var id: Int64
    public var event: FeedbackEvent
    public var receivedAt: Double
}

/// Feedback persisted in SQLite (GRDB `DatabasePool`, WAL journal, `synchronous=FULL`): `record`
/// returns only once the row is committed and synced, so an acknowledged event survives a crash.
/// Table `feedback(id, user, item, kind, rating, at, received_at)`.
public final class FeedbackStore: Sendable {
    private let pool: DatabasePool
    public let path: String

    public init(path: String) throws {
        self.path = path
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var config = Configuration()
        config.prepareDatabase { db in
            // WAL with NORMAL may lose the last commits on power loss; FULL syncs every commit.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        config.busyMode = .timeout(5)
        do { pool = try DatabasePool(path: path, configuration: config) } catch {
            throw OsusumeError.file(path, problem: "cannot open the feedback store: \(error)")
        }
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
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
        try migrator.migrate(pool)
    }

    /// The journal mode in force ("wal").
    public func journalMode() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// Validates and stores `event`; returns its row id once committed.
    public func record(_ event: FeedbackEvent) async throws -> StoredFeedback {
        try event.validate()
        let received = Date().timeIntervalSince1970
        let at = event.at ?? received
        let id = try await pool.write { db -> Int64 in
            try db.execute(sql: "INSERT INTO feedback (user, item, kind, rating, at, received_at) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [event.user, event.item, event.kind, event.rating, at, received])
            return db.lastInsertedRowID
        }
        var stored = event
        stored.at = at
        return StoredFeedback(id: id, event: stored, receivedAt: received)
    }

    public func count() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM feedback") ?? 0 }
    }

    /// The latest events, newest first.
    public func recent(limit: Int = 100) async throws -> [StoredFeedback] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, user, item, kind, rating, at, received_at FROM feedback ORDER BY id DESC LIMIT ?",
                             arguments: [limit]).map { row in
                StoredFeedback(id: row["id"], event: FeedbackEvent(user: row["user"], item: row["item"], kind: row["kind"],
                                                                   rating: row["rating"], at: row["at"]),
                               receivedAt: row["received_at"])
            }
        }
    }
}
