import Foundation
import Hummingbird
import OsusumeAPI
import OsusumeCore
import OsusumeData
import OsusumeStore

/// `POST /v1/feedback`: one event or an array of them, validated whole (nothing of a rejected
/// batch is stored) and committed before the `201`.
extension ServeRoutes {
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
            let (events, isBatch) = try payload.events(maxBatch: options.maxBatchEvents)
            let set = service.models
            for (n, event) in events.enumerated() where !set.acceptsFeedback(item: event.item) {
                throw APIError(.notFound, (isBatch ? "events[\(n)]: " : "") + "unknown item '\(event.item)': neither the models nor the catalog (--data) know it")
            }
            let stored = try await store.append(events)
            metrics.recordFeedbackStored(count: stored.count)
            if !isBatch, let s = stored.first {
                return jsonResponse(Stored(id: s.id, receivedAt: s.receivedAt), status: .created)
            }
            return jsonResponse(
                StoredBatch(stored: stored.count, ids: stored.map(\.id), receivedAt: stored.first?.receivedAt ?? 0),
                status: .created)
        }
    }
}
