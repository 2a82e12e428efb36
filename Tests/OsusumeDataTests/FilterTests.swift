import XCTest
import OsusumeCore
@testable import OsusumeData

final class FilterTests: XCTestCase {
    override class func setUp() { ProgressReporter.quietByDefault = true }

    static let day: Int64 = 86_400

    /// Rows (user, item, day, rating):
    /// 0 u1 a 1 5 · 1 u1 b 2 3 · 2 u1 c 3 4 · 3 u2 a 4 2 · 4 u2 c 5 5 · 5 u3 d 6 4 ·
    /// 6 u4 a 7 – · 7 u5 e 8 1 · 8 u5 a 9 3
    func sample() -> InteractionLog {
        makeLog([
            ("u1", "a", 1 * Self.day, 5), ("u1", "b", 2 * Self.day, 3), ("u1", "c", 3 * Self.day, 4),
            ("u2", "a", 4 * Self.day, 2), ("u2", "c", 5 * Self.day, 5), ("u3", "d", 6 * Self.day, 4),
            ("u4", "a", 7 * Self.day, nil), ("u5", "e", 8 * Self.day, 1), ("u5", "a", 9 * Self.day, 3),
        ])
    }

    func testRatingThreshold() throws {
        let (log, report) = try RatingThresholdFilter(minimum: 4).apply(to: sample())
        XCTAssertEqual(pairs(log), ["u1-a", "u1-c", "u2-c", "u3-d"])
        XCTAssertEqual(log.ratings, [5, 4, 5, 4])
        // Compacted: only surviving ids, in their original relative order.
        XCTAssertEqual(log.userIDs.ids, ["u1", "u2", "u3"])
        XCTAssertEqual(log.itemIDs.ids, ["a", "c", "d"])
        XCTAssertEqual(log.items, [0, 1, 1, 2])
        XCTAssertEqual(
            report,
            FilterReport(
                filter: "rating ≥ 4.0", interactionsBefore: 9, interactionsAfter: 4, usersBefore: 5, usersAfter: 3,
                itemsBefore: 5, itemsAfter: 3, rounds: 1))
        let kept = try RatingThresholdFilter(minimum: 4, keepUnrated: true).apply(to: sample()).log
        XCTAssertEqual(pairs(kept), ["u1-a", "u1-c", "u2-c", "u3-d", "u4-a"])
        XCTAssertThrowsError(try RatingThresholdFilter(minimum: 4).apply(to: makeLog([("u", "i", 1, nil)]))) { e in
            XCTAssertTrue("\(e)".contains("no ratings"))
        }
    }

    func testMinimumInteractionsIsOnePass() throws {
        let (log, report) = try MinimumInteractionsFilter(perUser: 2, perItem: 2).apply(to: sample())
        // u5-a survives: counts are taken once on the input (u5 had 2 before e was removed).
        XCTAssertEqual(pairs(log), ["u1-a", "u1-c", "u2-a", "u2-c", "u5-a"])
        XCTAssertEqual(report.usersAfter, 3); XCTAssertEqual(report.itemsAfter, 2)
    }

    func testKCoreRepeatsUntilStable() throws {
        let (log, report) = try KCoreFilter(2).apply(to: sample())
        // Round 1 drops b, d, e (one interaction each) and u3, u4; u5 is left with 1, dropped in round 2.
        XCTAssertEqual(pairs(log), ["u1-a", "u1-c", "u2-a", "u2-c"])
        XCTAssertEqual(report.rounds, 2)
        XCTAssertEqual(report.interactionsAfter, 4)
        XCTAssertEqual(log.userIDs.ids, ["u1", "u2"]); XCTAssertEqual(log.itemIDs.ids, ["a", "c"])
        // Already a 2-core: one round, nothing removed.
        let again = try KCoreFilter(2).apply(to: log)
        XCTAssertEqual(again.report.rounds, 1); XCTAssertEqual(again.log.count, 4)
        // Different thresholds for users and items.
        XCTAssertEqual(pairs(try KCoreFilter(userCore: 3, itemCore: 1).apply(to: sample()).log), ["u1-a", "u1-b", "u1-c"])
    }

    func testRecentActivity() throws {
        XCTAssertEqual(pairs(try RecentActivityFilter(.lastDays(2)).apply(to: sample()).log), ["u4-a", "u5-e", "u5-a"])
        XCTAssertEqual(pairs(try RecentActivityFilter(.since(8 * Self.day)).apply(to: sample()).log), ["u5-e", "u5-a"])
        var noTime = sample(); noTime.hasTimestamps = false
        XCTAssertThrowsError(try RecentActivityFilter(.lastDays(2)).apply(to: noTime))
    }

    func testDeduplication() throws {
        let log = makeLog([("u1", "x", 1, 1), ("u1", "y", 2, 2), ("u2", "x", 2, 3), ("u1", "x", 3, 4), ("u3", "z", 5, 5), ("u3", "z", 5, 6)])
        let last = try DeduplicationFilter(keep: .last).apply(to: log).log
        XCTAssertEqual(pairs(last), ["u1-y", "u2-x", "u1-x", "u3-z"])
        XCTAssertEqual(last.ratings, [2, 3, 4, 6]) // equal times: the later row is "last"
        let first = try DeduplicationFilter(keep: .first).apply(to: log).log
        XCTAssertEqual(pairs(first), ["u1-x", "u1-y", "u2-x", "u3-z"])
        XCTAssertEqual(first.ratings, [1, 2, 3, 5])
    }

    func testEmptyResultNamesTheFilter() {
        XCTAssertThrowsError(try FilterPipeline.apply([KCoreFilter(2), RatingThresholdFilter(minimum: 10)], to: sample())) { e in
            guard case OsusumeError.emptyData(let m) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("rating ≥ 10.0 left no interactions"), m)
        }
    }

    func testPipelineReportsEachStep() throws {
        let (log, reports) = try FilterPipeline.apply([RatingThresholdFilter(minimum: 3), KCoreFilter(userCore: 1, itemCore: 2)], to: sample())
        XCTAssertEqual(reports.map(\.interactionsAfter), [6, 4])
        XCTAssertEqual(reports.map(\.interactionsBefore), [9, 6])
        XCTAssertEqual(pairs(log), ["u1-a", "u1-c", "u2-c", "u5-a"])
        XCTAssertEqual(log.userIDs.ids, ["u1", "u2", "u5"])
    }

    func testCompactedKeepsRowsAndDropsUnusedIDs() {
        var log = sample()
        _ = log.itemIDs.intern("never-used")
        let c = log.filtered { $0 >= 5 }.compacted()
        XCTAssertEqual(pairs(c), ["u3-d", "u4-a", "u5-e", "u5-a"])
        XCTAssertEqual(c.userIDs.ids, ["u3", "u4", "u5"])
        XCTAssertEqual(c.itemIDs.ids, ["a", "d", "e"])
        XCTAssertEqual(c.timestamps, Array(log.timestamps[5...]))
    }
}
