import Foundation
import XCTest
import Hummingbird
import HummingbirdTesting
import OsusumeCore
import OsusumeData
import OsusumeModels
import OsusumeStore
import OsusumeTestSupport
@testable import OsusumeServe

/// Feedback closes the loop: what a user just did is in their next list, on every store.
final class LiveLoopTests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }

    func ids(_ r: RecommendationResult) -> [String] { r.items.map(\.item.id) }

    func testEveryEventChangesTheUsersNextListAtOnce() async throws {
        for (name, store) in try await Fixture.stores() {
            let service = RecommendationService(models: try Fixture.modelSet(), store: store)
            var reflected = 0
            for u in 0..<40 {
                let user = "u\(u)"
                let before = try await service.recommend(user: user, k: 5)
                let top = before.items[0].item.id
                _ = try await store.append([FeedbackEvent(user: user, item: top, kind: "watch")])
                let after = try await service.recommend(user: user, k: 5)
                if !ids(after).contains(top) && after.history.last?.id == top { reflected += 1 }
            }
            XCTAssertEqual(reflected, 40, "\(name): the item just watched is in the history and not offered again, for every user")
            await store.close()
        }
    }

    func testANewUserWithEventsGetsPersonalRecommendations() async throws {
        for (name, store) in try await Fixture.stores() {
            let service = RecommendationService(models: try Fixture.modelSet(), store: store)
            do { _ = try await service.recommend(user: "newcomer", k: 5); XCTFail("\(name): an unknown user without events answered") } catch {}
            _ = try await store.append(["5", "6", "7", "8", "11"].prefix(4).map { FeedbackEvent(user: "newcomer", item: $0, kind: "like") })
            let r = try await service.recommend(user: "newcomer", k: 3, mix: "personal:3")
            XCTAssertEqual(r.history.map(\.id), ["5", "6", "7", "8"], name)
            XCTAssertEqual(r.items.first?.item.id, "11", "\(name): the one crime title left leads: \(ids(r))")
            XCTAssertTrue(r.items.allSatisfy { $0.slot == .personal }, name)
            await store.close()
        }
    }

    func testDislikesExcludeAndSeenItemsComeBackOnlyWhenAsked() async throws {
        let store = try Fixture.temporaryStore()
        let service = RecommendationService(models: try Fixture.modelSet(), store: store)
        let before = try await service.recommend(user: "u0", k: 4, mix: "personal:4")
        let disliked = before.items[0].item.id
        _ = try await store.append([FeedbackEvent(user: "u0", item: disliked, kind: "dislike")])
        let after = try await service.recommend(user: "u0", k: 4, mix: "personal:4")
        XCTAssertFalse(ids(after).contains(disliked))
        XCTAssertFalse(after.history.map(\.id).contains(disliked), "a dislike is never history")
        let history = Set(after.history.map(\.id))
        let withSeen = try await service.recommend(user: "u0", k: 12, mix: "personal:12", includeSeen: true)
        XCTAssertFalse(history.isDisjoint(with: ids(withSeen)), "include_seen brings seen items back")
        XCTAssertFalse(ids(withSeen).contains(disliked), "but never a disliked one")
        // A history given in the request joins the user's own.
        let both = try await service.recommend(history: ["Heat (1995)"], user: "u0", k: 3)
        XCTAssertEqual(both.history.last?.id, "7")
    }

    func testEventsTheModelsTrainedOnAreNotAddedTwiceAndDislikesOutliveARetrain() async throws {
        let store = try Fixture.temporaryStore()
        let trained = try Fixture.trained()
        let u0 = trained[0].model.userIDs.index(of: "u0")!
        let seen = trained[0].model.itemIDs.id(of: trained[0].model.histories[Int(u0)][0])
        let early = try await store.append([
            FeedbackEvent(user: "u0", item: seen, kind: "like"),
            FeedbackEvent(user: "u0", item: "7", kind: "dislike"),
        ])
        trained[0].model.manifest.eventsThrough = early[1].id // as if the models had trained on both
        let service = RecommendationService(models: try ModelSet(models: trained), store: store)
        let set = service.models
        let h = await service.userHistory("u0", set: set)
        XCTAssertEqual(h.history, trained[0].model.histories[Int(u0)], "an event already in the training history is not added again")
        XCTAssertTrue(h.excluded.contains(set.itemIDs.index(of: "7")!), "a dislike the models trained on still excludes its item")
        let r = try await service.recommend(user: "u0", k: 12, mix: "personal:12")
        XCTAssertFalse(ids(r).contains("7"))
    }

    func testIDsWithControlCharactersAreRefused() async throws {
        let store = try Fixture.temporaryStore()
        let service = RecommendationService(models: try Fixture.modelSet(), store: store)
        do { _ = try await service.recommend(user: "u0\u{0}x", k: 3); XCTFail("a NUL in a user id was accepted") } catch let e as OsusumeError {
            XCTAssertTrue(e.description.contains("control characters"), e.description)
        }
        do { _ = try await store.append([FeedbackEvent(user: "u\u{0}", item: "1", kind: "like")]); XCTFail("stored a NUL") } catch {}
        XCTAssertEqual(service.eventReadFailures, 0, "bad input never counts as the store being down")
    }

    // MARK: routes

    func app(_ service: RecommendationService, live: LiveModels? = nil) -> Application<RouterResponder<BasicRequestContext>> {
        var options = ServeOptions()
        options.apiKey = "secret"
        options.maxBatchEvents = 50
        return Application(router: buildRouter(service: service, live: live, options: options))
    }

    func testBatchesAreAllOrNothingAndAStoreThatIsDownGives503WhileReadsGoOn() async throws {
        let store = try Fixture.temporaryStore()
        let service = RecommendationService(models: try Fixture.modelSet(), store: store)
        let auth: HTTPFields = [.authorization: "Bearer secret", .contentType: "application/json"]
        try await app(service).test(.router) { client in
            let good = #"[{"user": "u1", "item": "5", "kind": "like"}, {"user": 7, "item": 6, "kind": "rating", "rating": 4}]"#
            try await client.execute(uri: "/v1/feedback", method: .post, headers: auth, body: ByteBuffer(string: good)) { r in
                XCTAssertEqual(r.status, .created, String(buffer: r.body))
                let body = try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as! [String: Any]
                XCTAssertEqual(body["stored"] as? Int, 2)
                XCTAssertEqual((body["ids"] as? [Int])?.count, 2)
            }
            // A retried request with keys is answered with the events stored the first time.
            let keyed = #"[{"user": "u2", "item": "5", "kind": "like", "key": "a1"}]"#
            var firstIDs: [Int] = []
            for attempt in 0..<2 {
                try await client.execute(uri: "/v1/feedback", method: .post, headers: auth, body: ByteBuffer(string: keyed)) { r in
                    XCTAssertEqual(r.status, .created, String(buffer: r.body))
                    let ids = (try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as! [String: Any])["ids"] as? [Int] ?? []
                    if attempt == 0 { firstIDs = ids } else { XCTAssertEqual(ids, firstIDs) }
                }
            }
            let cases: [(String, HTTPResponse.Status, String)] = [
                (#"[{"user": "u1", "item": "5", "kind": "like"}, {"user": "u1", "item": "nope", "kind": "like"}]"#, .notFound, "events[1]: unknown item"),
                (#"[{"user": "u1", "item": "5", "kind": "like"}, {"user": "u1", "item": "5", "kind": "poke"}]"#, .badRequest, "events[1]: kind"),
                (#"[{"user": "u1", "item": "5", "kind": "like"}, {"user": "u1", "item": "5"}]"#, .badRequest, "events[1]"),
                (#"[{"user": "u1", "item": "5", "kind": "rating"}]"#, .badRequest, "events[0]: kind 'rating' needs a rating"),
                ("[]", .badRequest, "empty batch"),
                ("[" + Array(repeating: #"{"user": "u1", "item": "5", "kind": "like"}"#, count: 51).joined(separator: ",") + "]", .contentTooLarge, "at most 50"),
            ]
            for (body, status, message) in cases {
                try await client.execute(uri: "/v1/feedback", method: .post, headers: auth, body: ByteBuffer(string: body)) { r in
                    XCTAssertEqual(r.status, status, String(buffer: r.body))
                    XCTAssertTrue(String(buffer: r.body).contains(message), String(buffer: r.body))
                }
            }
        }
        let count = try await store.count()
        XCTAssertEqual(count, 3, "nothing of a rejected batch is stored, a retried key once")

        // The same server over a store that has gone away.
        let down = RecommendationService(models: try Fixture.modelSet(), store: UnavailableStore())
        try await app(down).test(.router) { client in
            try await client.execute(
                uri: "/v1/feedback", method: .post, headers: auth,
                body: ByteBuffer(string: #"{"user": "u1", "item": "5", "kind": "like"}"#)
            ) { r in
                XCTAssertEqual(r.status, .serviceUnavailable, String(buffer: r.body))
                XCTAssertEqual(r.headers[.retryAfter], "1")
            }
            try await client.execute(uri: "/v1/users/u1/recommendations", method: .get) { r in
                XCTAssertEqual(r.status, .ok, "reads are answered from memory")
            }
            try await client.execute(uri: "/v1/users/someone-new/recommendations", method: .get) { r in
                XCTAssertEqual(r.status, .serviceUnavailable, "a user known only by events cannot be answered: not a 404")
            }
        }
        XCTAssertGreaterThan(down.eventReadFailures, 0)
    }

    func testFeedbackAboutNewCatalogTitlesIsStoredForTheNextRetrain() async throws {
        let store = try Fixture.temporaryStore()
        var extra = Fixture.catalog
        extra.upsert(CatalogItem(id: "99", title: "Brand New (2026)", genres: ["Animation"], year: 2026))
        let set = try ModelSet(models: try Fixture.trained(), extraCatalog: extra)
        XCTAssertEqual(set.newCatalogItems, ["99"])
        let service = RecommendationService(models: set, store: store)
        let auth: HTTPFields = [.authorization: "Bearer secret", .contentType: "application/json"]
        try await app(service).test(.router) { client in
            try await client.execute(
                uri: "/v1/feedback", method: .post, headers: auth,
                body: ByteBuffer(string: #"[{"user": "u0", "item": "99", "kind": "watch"}, {"user": "u0", "item": "7", "kind": "like"}]"#)
            ) { r in
                XCTAssertEqual(r.status, .created, String(buffer: r.body))
            }
            try await client.execute(
                uri: "/v1/feedback", method: .post, headers: auth,
                body: ByteBuffer(string: #"{"user": "u0", "item": "98", "kind": "watch"}"#)
            ) { r in
                XCTAssertEqual(r.status, .notFound, "neither the models nor the catalog know 98")
            }
        }
        // The models cannot score the new title yet; the other event is history at once.
        let h = await service.userHistory("u0", set: set)
        XCTAssertEqual(h.events, 2)
        XCTAssertEqual(h.history.last, set.itemIDs.index(of: "7"))
    }

    // MARK: versions and retraining

    /// Models trained on the fixture file, saved, and recorded in `store` as version 1.
    func savedVersion(store: any EventStore, kinds: [String] = ["ease"]) async throws -> (ModelVersion, URL) {
        let dir = TestScratch.folder("versions")
        let source = TrainingSource(data: try Fixture.dataFile(), format: "csv")
        var paths: [String] = []
        for kind in kinds {
            let settings: [String: String] = kind == "ease" ? ["lambda": "1"] : [:]
            let m = try TrainedModel.fit(try ModelKinds.standard.make(kind, settings: settings), dataset: try source.load().dataset)
            m.manifest.trainingSource = source
            let url = dir.appendingPathComponent("start/\(kind)")
            try m.save(to: url)
            paths.append(url.path)
        }
        let v = try await LiveModels.startingVersion(store: store, modelPaths: paths)
        return (v, dir)
    }

    /// A trend the models have never seen: 60 users take up three new titles (n1, n2, n3) in
    /// turn, written round-robin so the held-out (latest) events are the last steps of everyone.
    func trendEvents(users: Int = 60) -> [[FeedbackEvent]] {
        let newItems = ["n1", "n2", "n3", "n4"]
        return (0..<4).map { step in
            (0..<users).map { u in FeedbackEvent(user: "t\(u)", item: newItems[(u + step) % 4], kind: "watch") }
        }
    }

    func testRetrainSwapsInABetterModelAndEveryServerFollows() async throws {
        for (name, store) in try await Fixture.stores() {
            let (v1, dir) = try await savedVersion(store: store)
            let load: @Sendable (ModelVersion) throws -> ModelSet = { try ModelSet.load(version: $0, kinds: ModelKinds.standard) }
            let a = RecommendationService(models: try load(v1), store: store)
            let b = RecommendationService(models: try load(v1), store: store)
            let liveA = LiveModels(service: a, store: store, load: load), liveB = LiveModels(service: b, store: store, load: load)
            for step in trendEvents() { _ = try await store.append(step) }
            var options = RetrainOptions(versionsDirectory: dir.appendingPathComponent("versions"), kinds: ModelKinds.standard)
            options.settleSeconds = 0
            let opts = options
            let report = await liveA.retrain(using: { try await Retrainer.run(store: store, options: opts) }, log: { _ in })
            let r = try XCTUnwrap(report, name)
            XCTAssertEqual(r.decision, .swapped, "\(name): \(r.reason)")
            XCTAssertEqual(r.heldOutUsers, 48, "\(name): the latest 20% of 240 events")
            XCTAssertEqual(r.current["ease"], 0, "\(name): the old model cannot rank titles it never saw")
            XCTAssertGreaterThan(r.candidate["ease"] ?? 0, 0.3, name)
            XCTAssertEqual(a.models.version, r.toVersion, "\(name): the retraining server serves the new version")
            XCTAssertTrue(a.models.itemIDs.contains("n1"), name)
            XCTAssertNotEqual(b.models.version, r.toVersion)
            try await liveB.sync()
            XCTAssertEqual(b.models.version, r.toVersion, "\(name): a second server follows the store's pointer")
            // The held-out event was not trained on: it is folded in at request time, after the
            // three the new models know (read too, not added twice).
            let t59 = await b.userHistory("t59", set: b.models)
            XCTAssertEqual(t59.events, 4, name)
            XCTAssertEqual(t59.history.map { b.models.itemIDs.id(of: $0) }, ["n4", "n1", "n2", "n3"], name)
            // Rollback returns every server to the first version.
            let back = try await liveB.rollback(to: nil)
            XCTAssertEqual(back.version, v1.version, name)
            try await liveA.sync()
            XCTAssertEqual(a.models.version, v1.version, name)
            XCTAssertEqual(b.models.version, v1.version, name)
            await store.close()
        }
    }

    func testRetrainKeepsTheCurrentModelWhenTheCandidateIsNotBetterAndWaitsForEnoughEvents() async throws {
        let store = try Fixture.temporaryStore()
        let (v1, dir) = try await savedVersion(store: store)
        var options = RetrainOptions(versionsDirectory: dir.appendingPathComponent("versions"), kinds: ModelKinds.standard)
        options.settleSeconds = 0
        _ = try await store.append(trendEvents(users: 10)[0])
        let few = try await Retrainer.run(store: store, options: options)
        XCTAssertEqual(few.decision, .skipped, few.reason)
        for step in trendEvents().dropFirst() { _ = try await store.append(step) }
        options.margin = -1 // the candidate would have to gain a whole NDCG point
        let kept = try await Retrainer.run(store: store, options: options)
        XCTAssertEqual(kept.decision, .kept, kept.reason)
        let current = try await store.currentVersion()
        XCTAssertEqual(current?.version, v1.version)
        let versions = try await store.versions()
        XCTAssertEqual(versions.count, 1, "a kept decision records no version")
    }

    func testOldRetrainedVersionsArePrunedButNeverTheGivenOnes() async throws {
        let store = try Fixture.temporaryStore()
        let (v1, dir) = try await savedVersion(store: store)
        let versionsDir = dir.appendingPathComponent("versions")
        var options = RetrainOptions(versionsDirectory: versionsDir, kinds: ModelKinds.standard)
        options.settleSeconds = 0; options.keepVersions = 1; options.minHoldoutUsers = 5
        options.margin = 1 // every candidate is taken: this test is about what is kept on disk
        var swapped: [RetrainReport] = []
        for round in 0..<3 {
            let events =
                (0..<30).map { u in FeedbackEvent(user: "r\(round)-\(u)", item: ["1", "2", "3", "4", "10"][u % 5], kind: "like") }
                + (0..<30).map { u in FeedbackEvent(user: "r\(round)-\(u)", item: ["1", "2", "3", "4", "10"][(u + 1) % 5], kind: "like") }
            _ = try await store.append(events)
            let r = try await Retrainer.run(store: store, options: options)
            XCTAssertEqual(r.decision, .swapped, r.reason)
            swapped.append(r)
        }
        let versions = try await store.versions().map(\.version)
        XCTAssertEqual(versions, [v1.version] + [swapped[2].toVersion].compactMap { $0 }, "the given version and the latest retrained one")
        XCTAssertTrue(FileManager.default.fileExists(atPath: v1.paths[0]))
        let folders = try FileManager.default.contentsOfDirectory(atPath: versionsDir.path)
        XCTAssertEqual(folders.count, 1, "the pruned versions' folders are deleted: \(folders)")
    }

    func testARollbackToAVersionThatCannotBeLoadedLeavesThePointer() async throws {
        let store = try Fixture.temporaryStore()
        let (v1, _) = try await savedVersion(store: store)
        let broken = try await store.registerVersion(paths: ["/nonexistent/osusume-model"], eventsThrough: 0, report: "")
        let load: @Sendable (ModelVersion) throws -> ModelSet = { try ModelSet.load(version: $0, kinds: ModelKinds.standard) }
        let service = RecommendationService(models: try load(v1), store: store)
        let live = LiveModels(service: service, store: store, load: load)
        do { _ = try await live.rollback(to: broken.version); XCTFail("rolled back to a version without files") } catch {}
        let current = try await store.currentVersion()
        XCTAssertEqual(current?.version, v1.version)
        XCTAssertEqual(service.models.version, v1.version)
    }

    func testRetrainScheduleSpecs() throws {
        XCTAssertEqual(try RetrainSchedule(spec: "1000 events"), RetrainSchedule(events: 1000))
        XCTAssertEqual(try RetrainSchedule(spec: "500 events, 2h"), RetrainSchedule(events: 500, interval: 7200))
        XCTAssertEqual(try RetrainSchedule(spec: "30s"), RetrainSchedule(interval: 30))
        for bad in ["", "often", "-5 events", "10x"] { XCTAssertThrowsError(try RetrainSchedule(spec: bad), bad) }
        let s = RetrainSchedule(events: 10, interval: 60)
        let now = Date()
        XCTAssertFalse(s.isDue(newEvents: 0, since: now.addingTimeInterval(-3600), now: now), "nothing new: never")
        XCTAssertTrue(s.isDue(newEvents: 10, since: now, now: now))
        XCTAssertFalse(s.isDue(newEvents: 3, since: now.addingTimeInterval(-30), now: now))
        XCTAssertTrue(s.isDue(newEvents: 3, since: now.addingTimeInterval(-61), now: now))
    }
}

/// A store whose database has gone away: every call fails as a lost connection would.
final class UnavailableStore: EventStore {
    let location = "test:unavailable"
    func fail<T>() throws -> T { throw EventStoreUnavailable("connection refused") }
    func append(_ events: [FeedbackEvent]) async throws -> [StoredFeedback] { try fail() }
    func events(user: String, after: Int64, latest: Int?) async throws -> [StoredFeedback] { try fail() }
    func events(after: Int64, through: Int64, limit: Int) async throws -> [StoredFeedback] { try fail() }
    func maxID() async throws -> Int64 { try fail() }
    func count() async throws -> Int { try fail() }
    func recent(limit: Int) async throws -> [StoredFeedback] { try fail() }
    func registerVersion(paths: [String], eventsThrough: Int64, report: String) async throws -> ModelVersion { try fail() }
    func versions() async throws -> [ModelVersion] { try fail() }
    func currentVersion() async throws -> ModelVersion? { try fail() }
    func setCurrent(version: Int64) async throws { throw EventStoreUnavailable("connection refused") }
    func deleteVersion(_ version: Int64) async throws { throw EventStoreUnavailable("connection refused") }
    func withRetrainLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T? { try fail() }
    func close() async {}
}
