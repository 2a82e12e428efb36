import Foundation
import Hummingbird
import OsusumeCore
import OsusumeData
import OsusumeStore

/// `POST /v1/feedback`: one event or an array of them, validated whole (nothing of a rejected
/// batch is stored) and committed before the `201`.
extension ServeRoutes {
    struct FeedbackBody: Decodable {
        var user: FlexibleID
        var item: FlexibleID
        var kind: String
        var rating: Double?
        /// Seconds since 1970, or an ISO 8601 date-time.
        var at: FlexibleTime?
        /// The client's idempotency key: a retried event with a stored key is not stored again.
        var key: String?
    }
    /// A single event or a batch.
    enum FeedbackPayload: Decodable {
        case one(FeedbackBody)
        case many([FeedbackBody])
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let list = try? c.decode([FeedbackBody].self) { self = .many(list); return }
            if (try? c.decode([JSONAny].self)) != nil {
                // An array whose elements do not decode: report the first bad one with its index.
                var elements = try decoder.unkeyedContainer()
                var index = 0
                while !elements.isAtEnd {
                    do { _ = try elements.decode(FeedbackBody.self) } catch let e as DecodingError {
                        throw APIError(.badRequest, "events[\(index)]: \(APIError.from(e).message)")
                    }
                    index += 1
                }
            }
            self = .one(try c.decode(FeedbackBody.self))
        }
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
    struct StoredBatch: Encodable {
        var stored: Int
        var ids: [Int64]
        var receivedAt: Double
    }

    func addFeedbackRoutes(to router: Router<BasicRequestContext>) {
        router.post("/v1/feedback") { request, _ -> Response in
            try request.requireAPIKey(options.apiKey)
            guard let store = service.store else { throw ServiceError.unavailable("this server has no event store") }
            let payload = try await request.decodeJSON(FeedbackPayload.self, limit: options.maxFeedbackBodyBytes)
            let bodies: [FeedbackBody]
            var isBatch = false
            switch payload {
            case .one(let b): bodies = [b]
            case .many(let list):
                guard !list.isEmpty else { throw APIError(.badRequest, "an empty batch: give at least one event") }
                guard list.count <= options.maxBatchEvents else {
                    throw APIError(.contentTooLarge, "a batch holds at most \(options.maxBatchEvents) events, got \(list.count)")
                }
                bodies = list
                isBatch = true
            }
            let set = service.models
            var events: [FeedbackEvent] = []
            events.reserveCapacity(bodies.count)
            for (n, b) in bodies.enumerated() {
                let event = FeedbackEvent(user: b.user.value, item: b.item.value, kind: b.kind, rating: b.rating, at: b.at?.seconds, key: b.key)
                let prefix = isBatch ? "events[\(n)]: " : ""
                do { try event.validate() } catch let e as OsusumeError { throw APIError(.badRequest, prefix + e.description) }
                guard set.acceptsFeedback(item: event.item) else {
                    throw APIError(.notFound, prefix + "unknown item '\(event.item)': neither the models nor the catalog (--data) know it")
                }
                events.append(event)
            }
            let stored = try await store.append(events)
            metrics.recordFeedbackStored(count: stored.count)
            if !isBatch, let s = stored.first {
                return jsonResponse(Stored(id: s.id, receivedAt: s.receivedAt), status: .created)
            }
            return jsonResponse(StoredBatch(stored: stored.count, ids: stored.map(\.id), receivedAt: stored.first?.receivedAt ?? 0),
                                status: .created)
        }
    }
}

/// Any JSON value (only to tell an array apart from an object).
private struct JSONAny: Decodable {
    init(from decoder: Decoder) throws { _ = try decoder.singleValueContainer() }
}
