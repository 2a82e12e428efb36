import XCTest
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import OsusumeCore
import OsusumeModels
import OsusumeStore
@testable import OsusumeServe

final class RouteTests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }

    struct Setup {
        let app: Application<RouterResponder<BasicRequestContext>>
        let service: RecommendationService
        let store: SQLiteEventStore
        let metrics: ServeMetrics
    }

    func setup(apiKey: String? = "secret", maxBody: Int = 4096) throws -> Setup {
        let store = try Fixture.temporaryStore()
        let service = RecommendationService(models: try Fixture.modelSet(), loader: { try Fixture.modelSet(["ease", "itemknn"]) }, store: store)
        var options = ServeOptions()
        options.apiKey = apiKey
        options.maxBodyBytes = maxBody
        let metrics = ServeMetrics()
        let router = buildRouter(service: service, options: options, metrics: metrics)
        return Setup(app: Application(router: router), service: service, store: store, metrics: metrics)
    }

    func json(_ response: TestResponse) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any], String(buffer: response.body))
    }

    func body(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }
    let jsonHeaders: HTTPFields = [.contentType: "application/json"]

    func testRecommendationsForKnownAndAnonymousUsers() async throws {
        let s = try setup()
        try await s.app.test(.router) { client in
            try await client.execute(uri: "/v1/users/u0/recommendations?k=4", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                let o = try self.json(r)
                XCTAssertEqual(o["user"] as? String, "u0")
                let items = try XCTUnwrap(o["items"] as? [[String: Any]])
                XCTAssertEqual(items.count, 4)
                XCTAssertNotNil(items[0]["slot"] as? String)
                XCTAssertNotNil(items[0]["because"] as? [[String: Any]])
                XCTAssertNotNil((items[0]["item"] as? [String: Any])?["title"] as? String)
            }
            try await client.execute(
                uri: "/v1/recommendations", method: .post, headers: self.jsonHeaders,
                body: self.body(#"{"history": [1, "Finding Nemo", "amelie"], "k": 5}"#)
            ) { r in
                XCTAssertEqual(r.status, .ok, String(buffer: r.body))
                let o = try self.json(r)
                XCTAssertEqual(o["stage"] as? String, "few")
                XCTAssertEqual((o["history"] as? [[String: Any]])?.compactMap { $0["id"] as? String }, ["1", "2", "9"])
                let items = try XCTUnwrap(o["items"] as? [[String: Any]])
                XCTAssertEqual(items.count, 5)
                let personal = items.filter { $0["slot"] as? String == "personal" }
                XCTAssertFalse(personal.isEmpty)
                let because = personal[0]["because"] as? [[String: Any]] ?? []
                XCTAssertFalse(because.isEmpty, "a personal item says which favourites it comes from")
            }
            try await client.execute(
                uri: "/v1/recommendations", method: .post, headers: self.jsonHeaders,
                body: self.body(#"{"history": []}"#)
            ) { r in
                XCTAssertEqual(r.status, .ok)
                let o = try self.json(r)
                XCTAssertEqual(o["stage"] as? String, "none")
                XCTAssertEqual((o["items"] as? [Any])?.count, 10, "default k")
            }
            try await client.execute(uri: "/v1/users/u3/recommendations?blend=ease:1,content:0.5&k=2", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(try self.json(r)["blend"] as? String, "ease:0.666667,content:0.333333")
            }
        }
    }

    func testItemsSearchAndSimilar() async throws {
        let s = try setup()
        try await s.app.test(.router) { client in
            try await client.execute(uri: "/v1/items?q=AM%C3%89LIE", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                let items = try XCTUnwrap(self.json(r)["items"] as? [[String: Any]])
                XCTAssertEqual(items.map { $0["id"] as? String }, ["9"])
                XCTAssertEqual(items[0]["imageURL"] as? String, "https://images.example/amelie.jpg")
            }
            try await client.execute(uri: "/v1/items?q=heat&limit=5", method: .get) { r in
                XCTAssertEqual((try self.json(r)["items"] as? [[String: Any]])?.map { $0["id"] as? String }, ["7", "12"])
            }
            try await client.execute(uri: "/v1/items/5", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                let o = try self.json(r)
                XCTAssertEqual((o["item"] as? [String: Any])?["title"] as? String, "Godfather, The (1972)")
                XCTAssertEqual((o["item"] as? [String: Any])?["genres"] as? [String], ["Crime", "Drama"])
            }
            try await client.execute(uri: "/v1/items/5/similar?k=3", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual((try self.json(r)["similar"] as? [Any])?.count, 3)
            }
        }
    }

    func testBadInputGetsTheRightStatusAndAJSONMessage() async throws {
        let s = try setup(maxBody: 256)
        try await s.app.test(.router) { client in
            func expect(
                _ uri: String, method: HTTPRequest.Method = .get, body: String? = nil, headers: HTTPFields = [:],
                status: HTTPResponse.Status, mentions: String, line: UInt = #line
            ) async throws {
                try await client.execute(uri: uri, method: method, headers: headers, body: body.map { self.body($0) }) { r in
                    XCTAssertEqual(r.status, status, "\(method) \(uri): \(String(buffer: r.body))", line: line)
                    let message = (try? self.json(r))?["error"] as? String ?? ""
                    XCTAssertTrue(message.localizedCaseInsensitiveContains(mentions), "\(uri): '\(message)' should mention '\(mentions)'", line: line)
                }
            }
            try await expect("/v1/users/nobody/recommendations", status: .notFound, mentions: "nobody")
            try await expect("/v1/items/999", status: .notFound, mentions: "999")
            try await expect("/v1/items/999/similar", status: .notFound, mentions: "999")
            // Unknown entries (a stale favourite) are left out and reported; the rest is answered.
            try await client.execute(
                uri: "/v1/recommendations", method: .post,
                body: self.body(#"{"history": ["no such title", "424242", "1"], "k": 3}"#)
            ) { r in
                XCTAssertEqual(r.status, .ok, String(buffer: r.body))
                let body = try self.json(r)
                let ignored = body["ignored"] as? [[String: String]] ?? []
                XCTAssertEqual(ignored.map { $0["ref"] ?? "" }, ["no such title", "424242"], "\(ignored)")
                XCTAssertTrue(ignored.last?["reason"]?.contains("unknown item") == true, "\(ignored)")
                XCTAssertEqual((body["history"] as? [[String: Any]])?.compactMap { $0["id"] as? String }, ["1"])
            }
            try await client.execute(uri: "/v1/recommendations", method: .post, body: self.body(#"{"history": ["424242"], "k": 3}"#)) { r in
                XCTAssertEqual(r.status, .ok, "nothing known: answered as an empty history")
                XCTAssertEqual(try self.json(r)["stage"] as? String, "none")
            }
            try await expect("/v1/recommendations", method: .post, body: #"{"history": [1,"#, status: .badRequest, mentions: "malformed JSON")
            try await expect("/v1/recommendations", method: .post, body: #"{"k": 3}"#, status: .badRequest, mentions: "history")
            try await expect("/v1/recommendations", method: .post, body: #"{"history": [{"x": 1}]}"#, status: .badRequest, mentions: "malformed")
            try await expect("/v1/recommendations", method: .post, body: "", status: .badRequest, mentions: "JSON")
            try await expect("/v1/recommendations", method: .post, body: #"{"history": [], "k": 1000}"#, status: .badRequest, mentions: "k must be")
            try await expect("/v1/users/u0/recommendations?k=0", status: .badRequest, mentions: "k must be")
            try await expect("/v1/users/u0/recommendations?k=abc", status: .badRequest, mentions: "k must be")
            try await expect("/v1/users/u0/recommendations?blend=nope:1", status: .badRequest, mentions: "nope")
            try await expect("/v1/users/u0/recommendations?mix=lots", status: .badRequest, mentions: "slot mix")
            let big = #"{"history": ["# + String(repeating: #""1","#, count: 100) + #""1"]}"#
            try await expect("/v1/recommendations", method: .post, body: big, status: .contentTooLarge, mentions: "limit")
            try await expect("/v1/no/such/route", status: .notFound, mentions: "not found")
        }
    }

    func testWriteRoutesNeedTheKey() async throws {
        let s = try setup()
        let feedback = #"{"user": "u1", "item": "5", "kind": "rating", "rating": 4.5, "at": "2024-05-01T12:00:00Z"}"#
        try await s.app.test(.router) { client in
            try await client.execute(uri: "/v1/feedback", method: .post, headers: self.jsonHeaders, body: self.body(feedback)) { r in
                XCTAssertEqual(r.status, .unauthorized)
                XCTAssertEqual(r.headers[.wwwAuthenticate], "Bearer")
            }
            try await client.execute(uri: "/v1/feedback", method: .post, headers: [.authorization: "Bearer wrong"], body: self.body(feedback)) { r in
                XCTAssertEqual(r.status, .unauthorized)
            }
            try await client.execute(uri: "/v1/admin/reload", method: .post) { r in XCTAssertEqual(r.status, .unauthorized) }
            try await client.execute(uri: "/v1/feedback", method: .post, headers: [.authorization: "Bearer secret"], body: self.body(feedback)) { r in
                XCTAssertEqual(r.status, .created, String(buffer: r.body))
                XCTAssertEqual(try self.json(r)["stored"] as? Bool, true)
            }
            try await client.execute(
                uri: "/v1/feedback", method: .post, headers: [.authorization: "Bearer secret"],
                body: self.body(#"{"user": "u1", "item": "nope", "kind": "like"}"#)
            ) { r in
                XCTAssertEqual(r.status, .notFound)
            }
            try await client.execute(
                uri: "/v1/feedback", method: .post, headers: [.authorization: "Bearer secret"],
                body: self.body(#"{"user": "u1", "item": "5", "kind": "poke"}"#)
            ) { r in
                XCTAssertEqual(r.status, .badRequest)
            }
            try await client.execute(uri: "/v1/admin/reload", method: .post, headers: [.authorization: "Bearer secret"]) { r in
                XCTAssertEqual(r.status, .ok, String(buffer: r.body))
                XCTAssertEqual((try self.json(r)["models"] as? [[String: Any]])?.compactMap { $0["name"] as? String }, ["ease", "itemknn", "content"])
            }
        }
        let rows = try await s.store.recent(limit: 100)
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows[0].event.at, 1_714_564_800)
        XCTAssertEqual(s.service.models.personalNames, ["ease", "itemknn", "content"])
    }

    func testWriteRoutesAreOffWithoutAKey() async throws {
        let s = try setup(apiKey: nil)
        try await s.app.test(.router) { client in
            for (uri, b) in [("/v1/feedback", #"{"user":"u","item":"5","kind":"like"}"#), ("/v1/admin/reload", "")] {
                for auth in ["", "Bearer ", "Bearer anything"] {
                    let headers: HTTPFields = auth.isEmpty ? [:] : [.authorization: auth]
                    try await client.execute(uri: uri, method: .post, headers: headers, body: self.body(b)) { r in
                        XCTAssertEqual(r.status, .forbidden, "\(uri) with '\(auth)'")
                    }
                }
            }
        }
        let stored = try await s.store.count()
        XCTAssertEqual(stored, 0)
    }

    func testHealthMetricsAndPage() async throws {
        let s = try setup()
        try await s.app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(try self.json(r)["status"] as? String, "ok")
            }
            _ = try await client.execute(uri: "/v1/items/1", method: .get)
            _ = try await client.execute(uri: "/v1/items/nope", method: .get)
            try await client.execute(uri: "/metrics", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                let text = String(buffer: r.body)
                XCTAssertTrue(text.contains(#"osusume_http_requests_total{method="GET",route="/v1/items/{id}",status="200"} 1"#), text)
                XCTAssertTrue(text.contains(#"osusume_http_requests_total{method="GET",route="/v1/items/{id}",status="404"} 1"#), text)
                XCTAssertTrue(text.contains(#"osusume_http_request_duration_seconds_count{route="/v1/items/{id}"} 2"#), text)
                XCTAssertTrue(text.contains(#"osusume_model_info{name="ease",kind="ease""#), text)
                XCTAssertTrue(text.contains("# TYPE osusume_http_request_duration_seconds histogram"), text)
                XCTAssertTrue(text.contains(#"osusume_http_request_duration_seconds_bucket{route="/v1/items/{id}",le="+Inf"} 2"#), text)
                XCTAssertTrue(text.contains("osusume_model_reloads_total 0"), text)
                // Every sample line is `name{labels} value` with a number for the value.
                for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                    XCTAssertNotNil(Double(line.split(separator: " ").last ?? ""), String(line))
                }
            }
            // After a reload the served models' series follow: the new set is listed, the
            // reload is counted, and nothing of the old set lingers.
            _ = try await s.service.reload()
            try await client.execute(uri: "/metrics", method: .get) { r in
                let text = String(buffer: r.body)
                XCTAssertTrue(text.contains("osusume_model_reloads_total 1"), text)
                XCTAssertTrue(text.contains(#"osusume_model_info{name="itemknn",kind="itemknn""#), text)
                XCTAssertEqual(text.components(separatedBy: "osusume_model_info{").count - 1, 3, text) // ease, itemknn, content
            }
            try await client.execute(uri: "/", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(r.headers[.contentType], "text/html; charset=utf-8")
                let html = String(buffer: r.body)
                XCTAssertTrue(html.contains("id=\"search\""))
                XCTAssertFalse(html.contains("<script src=\"http"), "no external scripts")
                XCTAssertFalse(html.contains("<link rel=\"stylesheet\" href=\"http"), "no external styles")
            }
        }
    }
}
