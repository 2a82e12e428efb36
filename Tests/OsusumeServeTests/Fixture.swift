import Foundation
import XCTest
import OsusumeStore
import OsusumeCore
import OsusumeData
import OsusumeModels
import OsusumeTestSupport
@testable import OsusumeServe

/// A small catalog with two taste clusters (animation and crime), titles with articles, accents
/// and years, and users who each stay in one cluster, so every model has something to learn.
enum Fixture {
    static let catalog = Catalog([
        CatalogItem(id: "1", title: "Toy Story (1995)", genres: ["Animation", "Children", "Comedy"], year: 1995),
        CatalogItem(id: "2", title: "Finding Nemo (2003)", genres: ["Animation", "Children", "Adventure"], year: 2003),
        CatalogItem(id: "3", title: "Up (2009)", genres: ["Animation", "Adventure", "Drama"], year: 2009),
        CatalogItem(id: "4", title: "Wall-E (2008)", genres: ["Animation", "Children", "Sci-Fi"], year: 2008),
        CatalogItem(id: "5", title: "Godfather, The (1972)", genres: ["Crime", "Drama"], year: 1972),
        CatalogItem(id: "6", title: "Goodfellas (1990)", genres: ["Crime", "Drama"], year: 1990),
        CatalogItem(id: "7", title: "Heat (1995)", genres: ["Crime", "Action", "Thriller"], year: 1995),
        CatalogItem(id: "8", title: "Casino (1995)", genres: ["Crime", "Drama"], year: 1995),
        CatalogItem(
            id: "9", title: "Amélie (2001)", genres: ["Comedy", "Romance"], year: 2001,
            imageURL: "https://images.example/amelie.jpg"),
        CatalogItem(id: "10", title: "Inside Out (2015)", genres: ["Animation", "Children", "Comedy"], year: 2015),
        CatalogItem(id: "11", title: "Irishman, The (2019)", genres: ["Crime", "Drama"], year: 2019),
        CatalogItem(id: "12", title: "Heat (1986)", genres: ["Action"], year: 1986),
    ])

    /// 40 users: even ones like animation, odd ones crime; everyone has seen Amélie.
    static func dataset() -> Dataset {
        var log = InteractionLog()
        let animation = ["1", "2", "3", "4", "10"], crime = ["5", "6", "7", "8", "11"]
        var t: Int64 = 0
        for u in 0..<40 {
            let pool = u % 2 == 0 ? animation : crime
            var items = [pool[u % 5], pool[(u + 1) % 5], pool[(u + 2) % 5]]
            if u % 3 == 0 { items.append(pool[(u + 3) % 5]) }
            items.append("9")
            if u == 39 { items.append("12") }
            for i in items { t += 1; log.append(user: "u\(u)", item: i, timestamp: t, rating: nil) }
        }
        log.hasTimestamps = true
        return Dataset(name: "fixture", format: "test", log: log, catalog: catalog)
    }

    static func trained(_ kinds: [String] = ["ease"]) throws -> [(source: String, model: TrainedModel)] {
        let d = dataset()
        return try kinds.map { kind in
            let settings: [String: String] = kind == "ease" ? ["lambda": "1"] : [:]
            return ("memory:\(kind)", try TrainedModel.fit(try ModelKinds.standard.make(kind, settings: settings), dataset: d))
        }
    }

    static func modelSet(_ kinds: [String] = ["ease"]) throws -> ModelSet {
        try ModelSet(models: try trained(kinds))
    }

    static func temporaryStore() throws -> SQLiteEventStore {
        let dir = TestScratch.folder("serve")
        return try SQLiteEventStore(path: dir.appendingPathComponent("feedback.sqlite").path)
    }
}

extension Fixture {
    /// Event stores to run a live-loop test on: SQLite, and PostgreSQL in a fresh schema when
    /// `OSUSUME_TEST_POSTGRES_URL` is set (required under CI).
    static func stores(file: StaticString = #filePath, line: UInt = #line) async throws -> [(name: String, store: any EventStore)] {
        var out: [(String, any EventStore)] = [("sqlite", try temporaryStore())]
        if let url = ProcessInfo.processInfo.environment["OSUSUME_TEST_POSTGRES_URL"], !url.isEmpty {
            let schema = "s_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
            out.append(("postgres", try await PostgresEventStore(url: url + (url.contains("?") ? "&" : "?") + "schema=\(schema)")))
        } else if ProcessInfo.processInfo.environment["CI"] == "true" {
            XCTFail("OSUSUME_TEST_POSTGRES_URL is not set: run the suite with scripts/test.sh", file: file, line: line)
        }
        return out
    }

    /// The fixture's log as a CSV file (`user,item,timestamp`), for models that record
    /// where their training data came from.
    static func dataFile() throws -> String {
        let d = dataset()
        var text = "user,item,timestamp\n"
        for r in 0..<d.log.count { text += "\(d.log.userIDs.id(of: d.log.users[r])),\(d.log.itemIDs.id(of: d.log.items[r])),\(d.log.timestamps[r])\n" }
        let dir = TestScratch.folder("live")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("log.csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
