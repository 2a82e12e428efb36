import Foundation
import XCTest
import OsusumeCore
@testable import OsusumeData

final class EventMergeTests: XCTestCase {
    func stored(_ id: Int64, _ user: String, _ item: String, _ kind: String, rating: Double? = nil, at: Double) -> StoredFeedback {
        StoredFeedback(id: id, event: FeedbackEvent(user: user, item: item, kind: kind, rating: rating, at: at), receivedAt: at)
    }

    /// u1 watched a then b; u2 watched b. Ordinal timestamps (no real times), no ratings.
    func base() -> Dataset {
        var log = InteractionLog()
        log.append(user: "u1", item: "a"); log.append(user: "u1", item: "b"); log.append(user: "u2", item: "b")
        return Dataset(name: "base", format: "test", log: log)
    }

    func testRuleSpecsParseAndUnknownKindsAreRefused() throws {
        let r = try EventRule(spec: "view=drop, like=5,minRating=3")
        XCTAssertEqual(r.actions["view"], .drop)
        XCTAssertEqual(r.actions["like"], .weight(5))
        XCTAssertEqual(r.actions["dislike"], .drop, "the default stays for kinds not named")
        XCTAssertEqual(r.minRating, 3)
        XCTAssertEqual(r.action(for: FeedbackEvent(user: "u", item: "i", kind: "rating", rating: 2)), .drop, "below the floor")
        XCTAssertEqual(r.action(for: FeedbackEvent(user: "u", item: "i", kind: "rating", rating: 3)), .keep)
        XCTAssertEqual(r.rating(for: FeedbackEvent(user: "u", item: "i", kind: "like")), 5)
        XCTAssertTrue(r.rating(for: FeedbackEvent(user: "u", item: "i", kind: "watch")).isNaN)
        for bad in ["poke=keep", "like=maybe", "like", "minRating=x"] {
            XCTAssertThrowsError(try EventRule(spec: bad), bad)
        }
        XCTAssertEqual(try EventRule(spec: EventRule().description), EventRule(), "description round-trips")
    }

    func testMergeAppendsPositiveEventsAfterTheBaseInTimeOrder() {
        let events = [
            stored(2, "u2", "c", "like", at: 2_000),
            stored(1, "u2", "a", "watch", at: 1_000),
            stored(3, "u3", "a", "purchase", at: 3_000), // a new user
            stored(4, "u1", "d", "view", at: 4_000), // a new item
        ]
        let (d, report) = EventMerge.merge(base(), events: events, rule: EventRule())
        XCTAssertEqual(report.added, 4); XCTAssertEqual(report.newUsers, 1); XCTAssertEqual(report.newItems, 2)
        let seqs = d.log.sequences().enumerated().map { u, s in (d.log.userIDs.id(of: Int32(u)), s.map { d.log.itemIDs.id(of: $0) }) }
        let byUser = Dictionary(uniqueKeysWithValues: seqs)
        XCTAssertEqual(byUser["u1"], ["a", "b", "d"])
        XCTAssertEqual(byUser["u2"], ["b", "a", "c"], "events by their time, after the base rows")
        XCTAssertEqual(byUser["u3"], ["a"])
    }

    func testDislikeDropsAndCancelsEarlierInteractionsAndDuplicatesCountOnce() {
        let events = [
            stored(1, "u1", "b", "dislike", at: 1_000), // cancels the base row u1-b
            stored(2, "u2", "b", "like", rating: nil, at: 1_100), // duplicate of the base row
            stored(3, "u2", "c", "skip", at: 1_200), // dropped by kind; nothing to cancel
            stored(4, "u2", "c", "rating", rating: 4, at: 1_300),
            stored(5, "u2", "c", "rating", rating: 2, at: 1_400), // a later rating updates the row
        ]
        let (d, report) = EventMerge.merge(base(), events: events, rule: EventRule())
        XCTAssertEqual(report, EventMerge.Report(events: 5, added: 1, duplicates: 2, dropped: 2, cancelled: 1, newUsers: 0, newItems: 1))
        XCTAssertEqual(d.log.count, 3, "u1-a, u2-b, u2-c")
        let u1 = d.log.userIDs.index(of: "u1")!, b = d.log.itemIDs.index(of: "b")!, c = d.log.itemIDs.index(of: "c")!
        XCTAssertFalse((0..<d.log.count).contains { d.log.users[$0] == u1 && d.log.items[$0] == b })
        let row = (0..<d.log.count).first { d.log.items[$0] == c }!
        XCTAssertEqual(d.log.ratings[row], 2)
        XCTAssertTrue(d.log.hasRatings)
    }

    func testExtendFoldsEventsIntoAHistoryAsARequestSeesThem() {
        let index: [String: Int32] = ["a": 0, "b": 1, "c": 2, "d": 3]
        let events = [
            stored(3, "u", "c", "like", at: 30),
            stored(1, "u", "a", "view", at: 10), // already in the history
            stored(2, "u", "d", "dislike", at: 20),
            stored(4, "u", "zz", "like", at: 40), // unknown to the model
            stored(5, "u", "b", "skip", at: 50), // removes b from the history
        ]
        let ext = EventMerge.extend(history: [0, 1], with: events, rule: EventRule()) { index[$0] }
        XCTAssertEqual(ext.history, [0, 2])
        XCTAssertEqual(ext.excluded, [3, 1])
        XCTAssertEqual(ext.added, 1)
        XCTAssertEqual(ext.unknownItems, 1)
        // A like after a dislike makes the item positive again.
        let again = EventMerge.extend(
            history: [], with: [stored(1, "u", "d", "dislike", at: 1), stored(2, "u", "d", "like", at: 2)],
            rule: EventRule()
        ) { index[$0] }
        XCTAssertEqual(again.history, [3]); XCTAssertEqual(again.excluded, [])
    }

    func testTrainingSourceLoadsMergesAndFilters() throws {
        let tmp = try TempFolder()
        let path = try tmp.write("log.csv", "user,item\nu1,a\nu1,b\nu2,b\nu2,c\nu3,a\n")
        let source = TrainingSource(data: path, format: "csv", filters: DataFilterSpec(minUser: 2))
        let plain = try source.load().dataset
        XCTAssertEqual(Set(plain.log.users.map { plain.log.userIDs.id(of: $0) }), ["u1", "u2"], "u3 has one interaction")
        let merged = try source.load(events: [stored(1, "u3", "c", "like", at: 5)]).dataset
        XCTAssertEqual(Set(merged.log.users.map { merged.log.userIDs.id(of: $0) }), ["u1", "u2", "u3"], "with its event u3 passes the minimum")
        let json = try JSONEncoder().encode(source)
        XCTAssertEqual(try JSONDecoder().decode(TrainingSource.self, from: json), source)
    }
}
