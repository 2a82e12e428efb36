import XCTest
import OsusumeCore
import OsusumeData
import OsusumeModels
@testable import OsusumeServe

final class ServiceTests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }

    func testSearchIsCaseAndAccentInsensitiveAndRankedByPopularity() throws {
        let set = try Fixture.modelSet()
        let service = RecommendationService(models: set)
        XCTAssertEqual(service.search("AMELIE", limit: 5).map(\.id), ["9"])
        XCTAssertEqual(service.search("amélie", limit: 5).map(\.id), ["9"])
        XCTAssertEqual(service.search("the godf", limit: 5).map(\.id), ["5"])
        XCTAssertEqual(service.search("the irishman", limit: 5).map(\.id), ["11"])
        XCTAssertEqual(try service.models.resolveItem("The Irishman"), service.models.itemIDs.index(of: "11"))
        // Two "Heat"s: both match, the more popular first.
        XCTAssertEqual(service.search("heat", limit: 5).map(\.id), ["7", "12"])
        XCTAssertEqual(service.search("", limit: 1).map(\.id), ["9"], "empty query: most popular")
        XCTAssertEqual(service.search("zzz", limit: 5), [])
    }

    func testResolvesIdsAndTitles() throws {
        let set = try Fixture.modelSet()
        XCTAssertEqual(try set.resolveItem("5"), set.itemIDs.index(of: "5"))
        XCTAssertEqual(try set.resolveItem("The Godfather"), set.itemIDs.index(of: "5"))
        XCTAssertEqual(try set.resolveItem("amelie (2001)"), set.itemIDs.index(of: "9"))
        XCTAssertThrowsError(try set.resolveItem("no such film")) { XCTAssertEqual($0 as? OsusumeError, .unknownID(kind: "item", id: "no such film")) }
    }

    func testColdStartStagesAndSlots() throws {
        let service = RecommendationService(models: try Fixture.modelSet())
        let empty = try service.recommend(history: [], k: 5)
        XCTAssertEqual(empty.stage, .none)
        XCTAssertEqual(empty.items.count, 5)
        XCTAssertTrue(empty.items.allSatisfy { $0.slot != .personal && $0.because.isEmpty })
        XCTAssertTrue(empty.items.contains { $0.slot == .new })

        let few = try service.recommend(history: ["Toy Story", "2"], k: 6)
        XCTAssertEqual(few.stage, .few)
        XCTAssertTrue(few.blend.contains("content"), few.blend)
        let ids = few.items.map(\.item.id)
        XCTAssertEqual(Set(ids).count, ids.count, "deduplicated")
        XCTAssertFalse(ids.contains("1") || ids.contains("2"), "history excluded")
        let personal = few.items.filter { $0.slot == .personal }
        XCTAssertFalse(personal.isEmpty)
        let personalIDs = personal.map(\.item.id)
        let firstAnimation = personalIDs.firstIndex { ["3", "4", "10"].contains($0) } ?? .max
        let firstCrime = personalIDs.firstIndex { ["5", "6", "7", "8", "11"].contains($0) } ?? .max
        XCTAssertLessThan(firstAnimation, firstCrime, "animation titles come before crime ones: \(ids)")
        XCTAssertTrue(personal[0].because.allSatisfy { ["1", "2"].contains($0.id) })
        XCTAssertFalse(personal[0].because.isEmpty)
    }

    func testKnownUserAndExplanationsFromEASE() async throws {
        let service = RecommendationService(models: try Fixture.modelSet())
        let r = try await service.recommend(user: "u0", k: 3, mix: "personal:3")
        XCTAssertEqual(r.user, "u0")
        let history = Set(service.models.histories[0].map { service.models.itemIDs.id(of: $0) })
        for item in r.items {
            XCTAssertFalse(history.contains(item.item.id))
            XCTAssertLessThanOrEqual(item.because.count, 3)
            XCTAssertTrue(item.because.allSatisfy { history.contains($0.id) })
        }
        for (user, k, blend) in [("nobody", 3, nil), ("u0", 0, nil), ("u0", 3, "bpr:1")] as [(String, Int, String?)] {
            do { _ = try await service.recommend(user: user, k: k, blend: blend); XCTFail("\(user) k=\(k) \(blend ?? "") accepted") } catch {}
        }
    }

    func testEASEFastPathMatchesTheModel() throws {
        let set = try Fixture.modelSet()
        let ease = set.model(named: "ease")!
        let history: [Int32] = [0, 3, 5]
        var fast = [Float](repeating: 0, count: set.itemCount)
        fast.withUnsafeMutableBufferPointer { ease.scores(history: history, userID: nil, into: $0.baseAddress!, count: set.itemCount) }
        let reference = ease.recommender.score(ScoringQuery(history: history))
        for i in 0..<set.itemCount { XCTAssertEqual(fast[i], reference[i], accuracy: 1e-4) }
    }

    func testAblationExplainsModelsWithoutContributions() throws {
        // EASE is linear in the history, so holding out h lowers item j by exactly B[h, j]: the
        // ablation of an EASE that hides its contributions must agree with EASE's own.
        let ease = try Fixture.trained(["ease"])[0].model
        let opaque = TrainedModel(
            model: OpaqueModel(wrapping: ease.model), itemIDs: ease.itemIDs, userIDs: ease.userIDs,
            histories: ease.histories, catalog: ease.catalog, manifest: ease.manifest)
        let set = try ModelSet(models: [("memory", opaque)])
        XCTAssertNil(set.model(named: "opaque")!.explainable)
        let history: [Int32] = [0, 1, 4, 5]
        let scoring = BlendScoring(
            set: set, blend: WeightedBlend([.init(model: "opaque", weight: 1)]),
            history: history, userID: nil, exclude: Set(history))
        let explainable = ease.model as! any ExplainableRecommender
        for item in TopK.select(scoring.blended, k: 4) {
            let own = explainable.contributions(of: item, for: ScoringQuery(history: history))
            let expected = Explanation.meaningful(own).map { history[$0] }
            XCTAssertEqual(scoring.topContributors(of: item, limit: 3, maxAblation: 30), expected)
        }
    }

    func testModelsThatNeedAKnownUserDropOutForAnonymousRequests() async throws {
        let ease = try Fixture.trained(["ease"])[0].model
        let knownOnly = TrainedModel(
            model: KnownUsersOnlyModel(wrapping: ease.model), itemIDs: ease.itemIDs, userIDs: ease.userIDs,
            histories: ease.histories, catalog: ease.catalog, manifest: ease.manifest)
        let set = try ModelSet(models: [("memory:ease", ease), ("memory:knownonly", knownOnly)])
        XCTAssertEqual(set.personalNames(for: nil), ["ease", "content"]) // content: built from the catalog
        XCTAssertEqual(set.personalNames(for: "u0"), ["ease", "knownonly", "content"])
        let service = RecommendationService(models: set)
        let anonymous = try await service.recommend(history: ["1", "2", "3", "4", "10", "9"], k: 5, blend: "knownonly:1,ease:1")
        XCTAssertFalse(anonymous.blend.contains("knownonly"), anonymous.blend)
        XCTAssertTrue(anonymous.blend.contains("ease"), anonymous.blend)
        let fallback = try await service.recommend(history: ["1", "2"], k: 5, blend: "knownonly:1")
        XCTAssertEqual(fallback.blend.contains("ease"), true, "only an unusable model named: the policy's blend stands in")
        XCTAssertFalse(fallback.items.isEmpty)
        let known = try await service.recommend(user: "u0", k: 5, blend: "knownonly:1,ease:1")
        XCTAssertTrue(known.blend.contains("knownonly"), known.blend)
    }

    func testSimilarUsesNeighboursOrBlend() throws {
        for kinds in [["ease"], ["itemknn"]] {
            let service = RecommendationService(models: try Fixture.modelSet(kinds))
            let r = try service.similar(to: "5", k: 3)
            XCTAssertEqual(r.item.id, "5")
            XCTAssertFalse(r.similar.map(\.id).contains("5"))
            XCTAssertTrue(r.similar.prefix(2).allSatisfy { ["6", "7", "8", "11"].contains($0.id) }, "\(kinds): \(r.similar.map(\.id))")
        }
    }

    func testReloadSwapsWhileRequestsContinue() async throws {
        let service = RecommendationService(models: try Fixture.modelSet(), loader: { try Fixture.modelSet(["ease", "itemknn"]) })
        let before = service.models
        async let traffic: Int = {
            var n = 0
            for _ in 0..<200 { _ = try service.recommend(history: ["1", "5"], k: 5); n += 1 }
            return n
        }()
        try await service.reload()
        let answered = try await traffic
        XCTAssertEqual(answered, 200)
        XCTAssertFalse(service.models === before)
        XCTAssertEqual(service.models.personalNames, ["ease", "itemknn", "content"])
        XCTAssertEqual(service.reloads, 1)
    }
}

/// A model that scores like the one it wraps but offers no contributions.
final class OpaqueModel: Recommender {
    struct Config: ModelConfig { init() {} }
    static let kind = "opaque"
    let config = Config()
    var inner: (any Recommender)?
    init(config: Config) {}
    init(wrapping m: any Recommender) { inner = m }
    var itemCount: Int { inner?.itemCount ?? 0 }
    func fit(_ data: TrainingData) throws {}
    func score(_ queries: [ScoringQuery], into scores: UnsafeMutablePointer<Float>) { inner!.score(queries, into: scores) }
    func state() throws -> SafeTensors { SafeTensors() }
    func restore(_ state: SafeTensors) throws {}
}

final class ResultJSONTests: XCTestCase {
    func testDirectWriterMatchesCodable() throws {
        let service = RecommendationService(models: try Fixture.modelSet())
        for history in [[], ["1", "Amélie"], ["5", "6", "7", "8", "11", "9"], ["1", "gone \"id\"", "Heat"]] {
            var r = try service.recommend(history: history, k: 6)
            r.user = "quote\"and\\slash\n"
            var w = JSONBytes()
            w.result(r)
            XCTAssertEqual(try JSONDecoder().decode(RecommendationResult.self, from: Data(w.bytes)), r)
        }
    }
}

/// A model that, like NeuMF, scores only users it was trained on.
final class KnownUsersOnlyModel: Recommender {
    struct Config: ModelConfig { init() {} }
    static let kind = "knownonly"
    let config = Config()
    var inner: (any Recommender)?
    init(config: Config) {}
    init(wrapping m: any Recommender) { inner = m }
    var itemCount: Int { inner?.itemCount ?? 0 }
    var canScoreNewUsers: Bool { false }
    func fit(_ data: TrainingData) throws {}
    func score(_ queries: [ScoringQuery], into scores: UnsafeMutablePointer<Float>) { inner!.score(queries, into: scores) }
    func state() throws -> SafeTensors { SafeTensors() }
    func restore(_ state: SafeTensors) throws {}
}
