import XCTest
import OsusumeCore
import OsusumeData
import OsusumeModels
@testable import OsusumeServe

final class ExplanationTests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }

    func testOnlyMeaningfulSharesAreNamed() {
        // Positive evidence 0.95: 15 % is 0.1425 and half the top 0.25, so 0.5 and 0.3 are named.
        XCTAssertEqual(Explanation.meaningful([0.5, 0.3, 0.1, 0.05, -0.2]), [0, 1])
        // One dominant item: the others, though each over 15 %, are under half of it.
        XCTAssertEqual(Explanation.meaningful([0.6, 0.25, 0.15]), [0])
        // Evidence spread thin over many items: nothing stands out, nothing is named.
        XCTAssertEqual(Explanation.meaningful([Float](repeating: 0.05, count: 20)), [])
        // At most `limit`, strongest first; ties go to the more recent (later) history item.
        XCTAssertEqual(Explanation.meaningful([0.25, 0.25, 0.25, 0.25]), [3, 2, 1])
        XCTAssertEqual(Explanation.meaningful([0.2, 0.7, 0.1], limit: 1), [1])
        // Nothing positive, or not finite: nothing named.
        XCTAssertEqual(Explanation.meaningful([-1, 0, -.infinity]), [])
        XCTAssertEqual(Explanation.meaningful([]), [])
    }

    func testReasonsSayWhyInWords() {
        let a = ItemRef(id: "1", title: "Matrix, The (1999)", displayTitle: "The Matrix")
        let b = ItemRef(id: "2", title: "Heat (1995)", displayTitle: "Heat")
        let c = ItemRef(id: "3", title: "Up (2009)", displayTitle: "Up")
        XCTAssertEqual(Reason.of(slot: .personal, because: [a]), Reason(kind: .history, text: "Because you liked The Matrix"))
        XCTAssertEqual(Reason.of(slot: .personal, because: [a, b]).text, "Because you liked The Matrix and Heat")
        XCTAssertEqual(Reason.of(slot: .personal, because: [a, b, c]).text, "Because you liked The Matrix, Heat and Up")
        XCTAssertEqual(Reason.of(slot: .personal, because: []).kind, .profile)
        XCTAssertEqual(Reason.of(slot: .popular, because: []).kind, .popular)
        XCTAssertEqual(Reason.of(slot: .new, because: []).kind, .new)
    }

    func testSlotItemsGiveTheirSlotsReasonNotTheFavourites() throws {
        let service = RecommendationService(models: try Fixture.modelSet(["ease", "itemknn"]))
        let r = try service.recommend(history: ["1", "2", "3"], k: 10, mix: "personal:4,popular:3,new:3")
        XCTAssertEqual(Set(r.items.map(\.slot)), [.personal, .popular, .new])
        for x in r.items {
            switch x.slot {
            case .personal:
                XCTAssertTrue([.history, .profile].contains(x.reason.kind))
                XCTAssertEqual(x.reason.kind == .history, !x.because.isEmpty)
            case .popular: XCTAssertEqual(x.reason.kind, .popular); XCTAssertEqual(x.because, [])
            case .new: XCTAssertEqual(x.reason.kind, .new); XCTAssertEqual(x.because, [])
            }
        }
        XCTAssertTrue(r.summary.hasPrefix("A short history: 4 picked for you by "), r.summary)
        XCTAssertTrue(r.summary.contains("popular with everyone") && r.summary.contains("new in the catalog"), r.summary)
        XCTAssertFalse(r.summary.contains("zscore") || r.summary.contains(":0."), "no technical text: \(r.summary)")
    }

    /// On planted data the named history items are the ones that drive the score: removing them
    /// from the history lowers the item's rank in at least 90 % of cases; removing as many of the
    /// history items that were not named does so far less often.
    func testNamedItemsDriveTheScore() throws {
        let planted = PlantedClusters(clusters: 8, itemsPerCluster: 25, users: 600, seed: 7)
        let dataset = Dataset(name: "planted", format: "test", log: planted.log, catalog: planted.catalog)
        let models = try ["ease", "itemknn"].map { kind -> (String, TrainedModel) in
            ("memory:\(kind)", try TrainedModel.fit(try ModelKinds.standard.make(kind, settings: kind == "ease" ? ["lambda": "50"] : [:]), dataset: dataset))
        }
        let set = try ModelSet(models: models)
        let service = RecommendationService(models: set)
        let blend = "ease:0.6,itemknn:0.4"
        var rng = SeededRandom(seed: 99)
        var personal = 0, explained = 0, lowered = 0, controlTrials = 0, controlLowered = 0
        func rank(_ item: Int32, history: [Int32], exclude: Set<Int32>) throws -> Int {
            let r = try service.recommend(set: set, history: history, userID: nil, k: 100, blend: blend, mix: "personal:100", exclude: exclude)
            return r.items.firstIndex { $0.item.id == set.items[Int(item)].id } ?? Int.max
        }
        for _ in 0..<80 {
            let history = planted.testHistory(&rng).compactMap { set.itemIDs.index(of: $0) }
            let seen = Set(history)
            let full = try service.recommend(set: set, history: history, userID: nil, k: 10, blend: blend, mix: "personal:10", exclude: seen)
            for (position, x) in full.items.enumerated() where x.slot == .personal {
                personal += 1
                guard !x.because.isEmpty, let item = set.itemIDs.index(of: x.item.id) else { continue }
                explained += 1
                let named = Set(x.because.compactMap { set.itemIDs.index(of: $0.id) })
                XCTAssertLessThanOrEqual(named.count, 3)
                if try rank(item, history: history.filter { !named.contains($0) }, exclude: seen) > position { lowered += 1 }
                // Control: as many history items that were not named, at random.
                let others = history.filter { !named.contains($0) }
                if others.count >= named.count {
                    var pool = others
                    for i in stride(from: pool.count - 1, to: 0, by: -1) { pool.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
                    let removed = Set(pool.prefix(named.count))
                    controlTrials += 1
                    if try rank(item, history: history.filter { !removed.contains($0) }, exclude: seen) > position { controlLowered += 1 }
                }
            }
        }
        let rate = Double(lowered) / Double(max(1, explained))
        let controlRate = Double(controlLowered) / Double(max(1, controlTrials))
        print(
            "explanations on planted data: \(explained) of \(personal) personal items named history items; removing them lowered the rank in \(lowered) (\(String(format: "%.1f", 100 * rate)) %); removing as many unnamed ones: \(controlLowered) of \(controlTrials) (\(String(format: "%.1f", 100 * controlRate)) %)"
        )
        XCTAssertGreaterThan(Double(explained), 0.5 * Double(personal), "most personal items on planted data have a clear reason")
        XCTAssertGreaterThanOrEqual(rate, 0.9)
        XCTAssertLessThan(controlRate, rate - 0.2, "the named items matter more than others from the same history")
    }
}

/// Users who each like two of several item clusters (most items from one, some from the other)
/// plus a little noise: an item's score is driven by the history items of its own cluster.
struct PlantedClusters {
    let clusters: Int, itemsPerCluster: Int
    var log = InteractionLog()
    var catalog = Catalog()

    init(clusters: Int, itemsPerCluster: Int, users: Int, seed: UInt64) {
        self.clusters = clusters; self.itemsPerCluster = itemsPerCluster
        for i in 0..<(clusters * itemsPerCluster) { catalog.upsert(CatalogItem(id: "i\(i)", title: "Title \(i)")) }
        var rng = SeededRandom(seed: seed)
        var t: Int64 = 0
        for u in 0..<users {
            for item in history(&rng, primary: 8, secondary: 4, noise: 2) {
                t += 1
                log.append(user: "u\(u)", item: item, timestamp: t, rating: nil)
            }
        }
        log.hasTimestamps = true
    }

    /// A new user's history: 4 items of one cluster, 3 of another, 2 anywhere.
    func testHistory(_ rng: inout SeededRandom) -> [String] { history(&rng, primary: 4, secondary: 3, noise: 2) }

    private func history(_ rng: inout SeededRandom, primary: Int, secondary: Int, noise: Int) -> [String] {
        let a = Int(rng.next() % UInt64(clusters))
        var b = Int(rng.next() % UInt64(clusters - 1)); if b >= a { b += 1 }
        var picked: [Int] = []
        func draw(_ n: Int, cluster: Int?) {
            let goal = picked.count + n
            var tries = 0
            while picked.count < goal && tries < 1000 {
                tries += 1
                // Within a cluster, low offsets are more popular (a skewed draw).
                let offset = Int(Double(itemsPerCluster) * pow(Double(rng.next() % 10_000) / 10_000, 1.6))
                let item = cluster.map { $0 * itemsPerCluster + offset } ?? Int(rng.next() % UInt64(clusters * itemsPerCluster))
                if !picked.contains(item) { picked.append(item) }
            }
        }
        draw(primary, cluster: a)
        draw(secondary, cluster: b)
        draw(noise, cluster: nil)
        return picked.shuffled(using: &rng).map { "i\($0)" }
    }
}
