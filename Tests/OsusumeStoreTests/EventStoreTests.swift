import Foundation
import GRDB
import XCTest
import OsusumeCore
import OsusumeData
import OsusumeTestSupport
@testable import OsusumeStore

final class EventStoreTests: XCTestCase {
    func like(_ user: String, _ item: String, at: Double? = nil) -> FeedbackEvent {
        FeedbackEvent(user: user, item: item, kind: "like", at: at)
    }

    func testAppendReturnsCommittedEventsWithIncreasingIds() async throws {
        try await StoreFixture.each { name, store in
            let a = try await store.append([like("u1", "10", at: 1_700_000_000)])
            let b = try await store.append([
                FeedbackEvent(user: "u1", item: "11", kind: "rating", rating: 4.5),
                FeedbackEvent(user: "u2", item: "10", kind: "dislike"),
            ])
            XCTAssertEqual(a.count, 1, name); XCTAssertEqual(b.count, 2, name)
            XCTAssertLessThan(a[0].id, b[0].id, name); XCTAssertLessThan(b[0].id, b[1].id, name)
            XCTAssertEqual(a[0].event.at, 1_700_000_000, name)
            XCTAssertNotNil(b[0].event.at, "a missing time becomes the time of receipt (\(name))")
            let maxID = try await store.maxID(), count = try await store.count()
            XCTAssertEqual(maxID, b[1].id, name)
            XCTAssertEqual(count, 3, name)
            let u1 = try await store.events(user: "u1", after: 0)
            XCTAssertEqual(u1.map(\.event.item), ["10", "11"], name)
            XCTAssertEqual(u1[1].event.rating, 4.5, name)
            XCTAssertNil(u1[0].event.rating, name)
            let later = try await store.events(user: "u1", after: a[0].id)
            XCTAssertEqual(later.map(\.event.item), ["11"], name)
            let latest = try await store.events(user: "u1", after: 0, latest: 1)
            XCTAssertEqual(latest.map(\.event.item), ["11"], "\(name): the most recent one")
            let recent = try await store.recent(limit: 2)
            XCTAssertEqual(recent.map(\.id), [b[1].id, b[0].id], name)
        }
    }

    func testAnInvalidEventRejectsTheWholeBatch() async throws {
        try await StoreFixture.each { name, store in
            for bad in [
                FeedbackEvent(user: "", item: "1", kind: "like"), FeedbackEvent(user: "u", item: "1", kind: "poke"),
                FeedbackEvent(user: "u", item: "1", kind: "rating"), FeedbackEvent(user: "u", item: "1", kind: "like", at: -5),
                FeedbackEvent(user: "u\u{0}", item: "1", kind: "like"), FeedbackEvent(user: "u", item: "1", kind: "like", key: "k\n"),
            ] {
                do {
                    _ = try await store.append([like("u", "1"), bad])
                    XCTFail("\(name): accepted \(bad)")
                } catch {}
            }
            let count = try await store.count()
            XCTAssertEqual(count, 0, "\(name): nothing of a rejected batch is stored")
        }
    }

    func testConcurrentAppendsAreAllCommittedOnceInGroups() async throws {
        try await StoreFixture.each { name, store in
            let ids = try await withThrowingTaskGroup(of: [Int64].self) { group -> [Int64] in
                for t in 0..<40 {
                    group.addTask {
                        var mine: [Int64] = []
                        for n in 0..<10 { mine += try await store.append([FeedbackEvent(user: "u\(t)", item: "\(n)", kind: "view")]).map(\.id) }
                        return mine
                    }
                }
                var all: [Int64] = []
                for try await part in group { all += part }
                return all
            }
            XCTAssertEqual(ids.count, 400, name)
            XCTAssertEqual(Set(ids).count, 400, "\(name): every event has its own id")
            let count = try await store.count()
            XCTAssertEqual(count, 400, name)
            let paged = try await store.allEvents(through: try await store.maxID(), page: 7)
            XCTAssertEqual(paged.count, 400, name)
            XCTAssertEqual(paged.map(\.id), paged.map(\.id).sorted(), name)
            // Each user's events come back in the order that user wrote them.
            let u3 = try await store.events(user: "u3", after: 0)
            XCTAssertEqual(u3.map(\.event.item), (0..<10).map(String.init), name)
        }
    }

    func testAnEventWithAStoredKeyIsNotStoredAgain() async throws {
        try await StoreFixture.each { name, store in
            let first = try await store.append([FeedbackEvent(user: "u1", item: "10", kind: "like", key: "k-1"), like("u1", "11")])
            // A retry of the same request (the answer was lost), merged with new events.
            let retry = try await store.append([
                FeedbackEvent(user: "u1", item: "10", kind: "like", key: "k-1"),
                FeedbackEvent(user: "u1", item: "12", kind: "like", key: "k-2"),
                FeedbackEvent(user: "u1", item: "12", kind: "like", key: "k-2"),
                like("u1", "13"),
            ])
            XCTAssertEqual(retry[0], first[0], "\(name): the stored event answers the retry")
            XCTAssertEqual(retry[1].event.key, "k-2", name)
            XCTAssertEqual(retry[2].id, retry[1].id, "\(name): a key twice in one batch is stored once")
            XCTAssertGreaterThan(retry[3].id, retry[1].id, name)
            let count = try await store.count()
            XCTAssertEqual(count, 4, "\(name): 10 (once), 11, 12 (once), 13")
            let u1 = try await store.events(user: "u1", after: 0)
            XCTAssertEqual(u1.map(\.event.item), ["10", "11", "12", "13"], name)
            XCTAssertEqual(u1.map(\.event.key), ["k-1", nil, "k-2", nil], name)
            // Concurrent retries of one keyed event: one row.
            let ids = try await withThrowingTaskGroup(of: Int64.self) { group -> Set<Int64> in
                for _ in 0..<8 { group.addTask { try await store.append([FeedbackEvent(user: "u2", item: "1", kind: "watch", key: "same")])[0].id } }
                var out = Set<Int64>()
                for try await id in group { out.insert(id) }
                return out
            }
            XCTAssertEqual(ids.count, 1, name)
            do { _ = try await store.append([FeedbackEvent(user: "u", item: "1", kind: "like", key: "")]); XCTFail("\(name): empty key") } catch {}
        }
    }

    func testModelVersionsAndTheCurrentPointer() async throws {
        try await StoreFixture.each { name, store in
            let none = try await store.currentVersion()
            XCTAssertNil(none, name)
            let v1 = try await store.registerVersion(paths: ["/m/a"], eventsThrough: 0, report: "")
            let again = try await store.registerVersion(paths: ["/m/a"], eventsThrough: 0, report: "")
            XCTAssertEqual(v1, again, "\(name): the same paths are the same version")
            let v2 = try await store.registerVersion(paths: ["/m/b", "/m/c"], eventsThrough: 42, report: #"{"decision":"swapped"}"#)
            XCTAssertGreaterThan(v2.version, v1.version, name)
            try await store.setCurrent(version: v2.version)
            let current = try await store.currentVersion()
            XCTAssertEqual(current, v2, name)
            XCTAssertEqual(current?.paths, ["/m/b", "/m/c"], name)
            XCTAssertEqual(current?.eventsThrough, 42, name)
            do { try await store.setCurrent(version: 999); XCTFail("\(name): unknown version made current") } catch {}
            do { try await store.deleteVersion(v2.version); XCTFail("\(name): deleted the current version") } catch {}
            try await store.deleteVersion(v1.version)
            let left = try await store.versions()
            XCTAssertEqual(left.map(\.version), [v2.version], name)
        }
    }

    func testOnlyOneRetrainHoldsTheLock() async throws {
        try await StoreFixture.each { name, store in
            let inner: Int?? = try await store.withRetrainLock {
                // A second attempt while the first holds the lock gets nothing.
                try await store.withRetrainLock { 1 }
            }
            XCTAssertEqual(inner, .some(nil), name)
            let after = try await store.withRetrainLock { 2 }
            XCTAssertEqual(after, 2, "\(name): the lock is free again")
        }
    }

    func testSQLiteFileIsWALSyncedAndSeenByASecondHandle() async throws {
        let store = try StoreFixture.sqlite()
        XCTAssertEqual(try store.journalMode(), "wal")
        let s = try await store.append([FeedbackEvent(user: "u1", item: "5", kind: "rating", rating: 4.5, at: 1_700_000_000)])
        let reopened = try SQLiteEventStore(path: store.path)
        let rows = try await reopened.recent(limit: 10)
        XCTAssertEqual(rows, s)
    }

    func testSQLiteFileOfTheFirstSchemaIsMigrated() async throws {
        // A file written before model versions existed (table feedback with a `user` column).
        let dir = TestScratch.folder("v1")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("feedback.sqlite").path
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                    INSERT INTO grdb_migrations VALUES ('v1');
                    CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, item TEXT NOT NULL,
                        kind TEXT NOT NULL, rating REAL, at REAL NOT NULL, received_at REAL NOT NULL);
                    CREATE INDEX feedback_user ON feedback(user, at);
                    INSERT INTO feedback (user, item, kind, rating, at, received_at) VALUES ('old', '7', 'like', NULL, 100, 100);
                    """)
        }
        try queue.close()
        let store = try SQLiteEventStore(path: path)
        let old = try await store.events(user: "old", after: 0)
        XCTAssertEqual(old.map(\.event.item), ["7"])
        _ = try await store.append([like("old", "8")])
        let count = try await store.count()
        XCTAssertEqual(count, 2)
    }

    func testPostgresURLsAreCheckedAndAnUnreachableServerIsUnavailable() async throws {
        for bad in ["postgres://", "postgres://u@h/db?sslmode=maybe", "postgres://u@h/db?schema=Bad-Name"] {
            do { _ = try await PostgresEventStore(url: bad); XCTFail("accepted \(bad)") } catch let e as OsusumeError {
                XCTAssertTrue("\(e)".contains("URL"), "\(e)")
            }
        }
        // Nothing listens on port 1: the store says unavailable (a 503 for the server), quickly.
        let start = Date()
        do { _ = try await PostgresEventStore(url: "postgres://u:p@127.0.0.1:1/db"); XCTFail("opened a store on a closed port") } catch {
            XCTAssertTrue(error is EventStoreUnavailable, "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 8)
    }

    func testStoreURLsPickTheBackend() async throws {
        let dir = TestScratch.folder("open")
        let s = try await EventStores.open("sqlite:" + dir.appendingPathComponent("a.sqlite").path)
        XCTAssertTrue(s is SQLiteEventStore)
        XCTAssertEqual(PostgresEventStore.redacted("postgres://u:secret@h:5/db"), "postgres://u:***@h:5/db")
    }
}
