import Foundation
import Hummingbird
import OsusumeCore

/// `POST /v1/feedback`: stored durably before it is acknowledged (201).
extension ServeRoutes {
    struct FeedbackBody: Decodable {
        var user: FlexibleID
        var item: FlexibleID
        var kind: String
        var rating: Double?
        /// Seconds since 1970, or an ISO 8601 date-time.
        var at: FlexibleTime?
    }
    struct FlexibleTime: Decodable {
        var seconds: Double
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(Double.self) { seconds = s; return }
            if let text = try? c.decode(String.self) {
                let f = ISO8601DateFormatter()
                if let d = f.date(from: text) { seconds = d.timeIntervalSince1970; return }
                f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                if let d = f.date(from: text) { seconds = d.timeIntervalSince1970; return }
            }
            throw DecodingError.typeMismatch(Double.self, .init(codingPath: decoder.codingPath, debugDescription: "expected seconds since 1970 or an ISO 8601 time"))
        }
    }
    struct Stored: Encodable {
        var stored = true
        var id: Int64
        var receivedAt: Double
    }

    func addFeedbackRoutes(to router: Router<BasicRequestContext>) {
        router.post("/v1/feedback") { request, _ -> Response in
            try request.requireAPIKey(options.apiKey)
            let body = try await request.decodeJSON(FeedbackBody.self, limit: options.maxBodyBytes)
            let event = FeedbackEvent(user: body.user.value, item: body.item.value, kind: body.kind, rating: body.rating, at: body.at?.seconds)
            try event.validate()
            guard service.models.itemIDs.contains(event.item) else { throw OsusumeError.unknownID(kind: "item", id: event.item) }
            let stored = try await store.record(event)
            metrics.recordFeedbackStored()
            return jsonResponse(Stored(id: stored.id, receivedAt: stored.receivedAt), status: .created)
        }
    }
}
