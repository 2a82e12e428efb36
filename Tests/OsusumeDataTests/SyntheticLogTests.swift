import Foundation
import XCTest
import OsusumeCore
@testable import OsusumeData

/// `osusume synth`: exact sizes, MovieLens's rules (at least 20 items a user, no repeats, half
/// stars), the same bytes for the same seed whatever the thread count, and clear refusals.
final class SyntheticLogTests: XCTestCase {
    func tempDir() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("osusume-synth-\(UUID().uuidString)")
    }

    func testWritesTheSizesItWasAskedForAsMovieLensData() throws {
        let spec = SyntheticLogSpec(users: 300, items: 900, interactions: 30_000, seed: 5)
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let summary = try SyntheticLog.write(spec, to: dir)
        XCTAssertEqual(summary.interactions, 30_000)
        let d = try DatasetLoader.load(path: dir.path, format: "movielens-csv")
        XCTAssertEqual(d.log.count, 30_000)
        XCTAssertEqual(d.log.userCount, 300)
        XCTAssertTrue(d.log.hasTimestamps)
        XCTAssertTrue(d.log.hasRatings)
        XCTAssertEqual(d.catalog.count, 900)
        var perUser = [Int](repeating: 0, count: d.log.userCount)
        var pairs = Set<Int64>()
        for r in 0..<d.log.count {
            perUser[Int(d.log.users[r])] += 1
            XCTAssertTrue(pairs.insert(Int64(d.log.users[r]) << 32 | Int64(d.log.items[r])).inserted, "a user rated an item twice")
            let rating = d.log.ratings[r]
            XCTAssertTrue((0.5...5).contains(rating) && (rating * 2).rounded() == rating * 2, "rating \(rating)")
        }
        XCTAssertGreaterThanOrEqual(perUser.min()!, SyntheticLogSpec.minPerUser)
        XCTAssertLessThanOrEqual(perUser.max()!, 900 / 3)
        // Heavy-tailed: the top 1% of items take far more than 1% of the interactions.
        let counts = d.log.itemCounts().sorted(by: >)
        XCTAssertGreaterThan(Double(counts.prefix(9).reduce(0, +)) / 30_000, 0.04)
    }

    func testTheSameSeedGivesTheSameBytesWhateverTheThreads() throws {
        let spec = SyntheticLogSpec(users: 5000, items: 600, interactions: 120_000, seed: 9)
        let a = tempDir(), b = tempDir(), c = tempDir()
        defer { for d in [a, b, c] { try? FileManager.default.removeItem(at: d) } }
        let threads = Threads.count
        defer { Threads.count = threads }
        Threads.count = 1
        try SyntheticLog.write(spec, to: a)
        Threads.count = 2
        try SyntheticLog.write(spec, to: b)
        var other = spec
        other.seed = 10
        try SyntheticLog.write(other, to: c)
        let ra = try Data(contentsOf: a.appendingPathComponent("ratings.csv"))
        XCTAssertEqual(ra, try Data(contentsOf: b.appendingPathComponent("ratings.csv")))
        XCTAssertNotEqual(ra, try Data(contentsOf: c.appendingPathComponent("ratings.csv")))
    }

    func testImpossibleSizesAreRefusedWithTheReason() {
        let cases: [(SyntheticLogSpec, String)] = [
            (.init(users: 100, items: 1000, interactions: 1999), "cannot give 100 users 20 each"),
            (.init(users: 10, items: 90, interactions: 301), "more than a third of the 90 items"),
            (.init(users: 10, items: 30, interactions: 200), "at least 1 user and 60 items"),
        ]
        for (spec, message) in cases {
            XCTAssertThrowsError(try spec.validate()) { XCTAssertTrue("\($0)".contains(message), "\($0)") }
        }
    }
}
