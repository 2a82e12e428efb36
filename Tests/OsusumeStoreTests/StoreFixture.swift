import Foundation
import XCTest
import OsusumeStore
import OsusumeTestSupport

/// The stores every store test runs against: SQLite always; PostgreSQL at the URL in
/// `OSUSUME_TEST_POSTGRES_URL` (which `scripts/test.sh` starts), each test in a schema of its
/// own. Under CI a missing PostgreSQL fails the test instead of skipping it.
enum StoreFixture {
    static var postgresURL: String? {
        let v = ProcessInfo.processInfo.environment["OSUSUME_TEST_POSTGRES_URL"]
        return v?.isEmpty == false ? v : nil
    }

    static func sqlite() throws -> SQLiteEventStore {
        let dir = TestScratch.folder("store")
        return try SQLiteEventStore(path: dir.appendingPathComponent("events.sqlite").path)
    }

    /// A PostgreSQL store in a fresh schema; nil (with a skip message) when no server is given.
    static func postgres(file: StaticString = #filePath, line: UInt = #line) async throws -> PostgresEventStore? {
        guard let url = postgresURL else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail("OSUSUME_TEST_POSTGRES_URL is not set: run the suite with scripts/test.sh, which starts PostgreSQL", file: file, line: line)
            } else {
                print("skipping the PostgreSQL half: OSUSUME_TEST_POSTGRES_URL is not set (scripts/test.sh starts a server)")
            }
            return nil
        }
        let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
        return try await PostgresEventStore(url: url + (url.contains("?") ? "&" : "?") + "schema=\(schema)")
    }

    /// Runs `body` against each available store, naming the store in failures.
    static func each(
        file: StaticString = #filePath, line: UInt = #line,
        _ body: (String, any EventStore) async throws -> Void
    ) async throws {
        let s = try sqlite()
        try await body("sqlite", s)
        await s.close()
        if let p = try await postgres(file: file, line: line) {
            try await body("postgres", p)
            await p.close()
        }
    }
}
