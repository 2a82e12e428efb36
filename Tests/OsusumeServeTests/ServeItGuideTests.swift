import Foundation
import XCTest
import Hummingbird
import HummingbirdTesting
import NIOCore
import OsusumeCore
import OsusumeData
import OsusumeModels
import OsusumeStore
import OsusumeServe

/// The steps of the DocC article "Serving recommendations" (OsusumeServe.docc), run as written:
/// model files → model set → service with an event store → answers in Swift and over HTTP, and
/// feedback that changes the next answer at once.
final class ServeItGuideTests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }

    func testTheArticleSteps() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("osusume-guide-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Model files, as `osusume train --out` or `TrainedModel.save` write them.
        let kinds = ModelKinds.standard
        for kind in ["ease", "itemknn"] {
            let trained = try TrainedModel.fit(
                try kinds.make(kind, settings: kind == "ease" ? ["lambda": "1"] : [:]),
                dataset: Fixture.dataset())
            try trained.save(to: dir.appendingPathComponent(kind))
        }

        // 1. The model set: the first model defines the items and users.
        let paths = ["ease", "itemknn"].map { dir.appendingPathComponent($0).path }
        let models = try ModelSet.load(modelPaths: paths, kinds: kinds)
        // 2. The event store and 3. the service.
        let store = try await EventStores.open(dir.appendingPathComponent("feedback.sqlite").path)
        let service = RecommendationService(models: models, loader: { try ModelSet.load(modelPaths: paths, kinds: kinds) }, store: store)

        // 4. Answers in Swift.
        let forNewcomer = try await service.recommend(history: ["Toy Story", "Finding Nemo"], k: 5)
        XCTAssertEqual(forNewcomer.items.count, 5)
        XCTAssertEqual(forNewcomer.history.map(\.id), ["1", "2"])
        let similar = try service.similar(to: "Godfather", k: 3)
        XCTAssertEqual(similar.item.id, "5")
        XCTAssertEqual(similar.similar.count, 3)
        let before = try await service.recommend(user: "u0", k: 3)
        let top = try XCTUnwrap(before.items.first?.item.id)

        // 5. Over HTTP, with the key the write routes need.
        var options = ServeOptions()
        options.apiKey = "a-long-random-key"
        let app = Application(router: buildRouter(service: service, options: options))
        try await app.test(.router) { client in
            try await client.execute(
                uri: "/v1/feedback", method: .post,
                headers: [.contentType: "application/json", .authorization: "Bearer a-long-random-key"],
                body: ByteBuffer(string: #"{"user": "u0", "item": "\#(top)", "kind": "like"}"#)
            ) { r in
                XCTAssertEqual(r.status, .created, String(buffer: r.body))
            }
            // The next answer already knows: the liked item is in the history, not in the list.
            try await client.execute(uri: "/v1/users/u0/recommendations?k=3", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [String: Any])
                let ids = (o["items"] as? [[String: Any]])?.compactMap { ($0["item"] as? [String: Any])?["id"] as? String }
                XCTAssertEqual(ids?.count, 3)
                XCTAssertFalse(ids?.contains(top) ?? true, "\(top) was liked and is recommended again")
            }
        }
        await store.close()
    }
}
