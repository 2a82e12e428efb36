import Foundation
import Hummingbird

/// `/healthz` and `/metrics`.
extension ServeRoutes {
    struct Health: Encodable {
        var status = "ok"
        var models: [ModelIdentity]
        var items: Int
        var users: Int
        var loadedAt: String
        var reloads: Int
        var writeRoutes: String
        /// The event store, model version and retraining (absent without a store).
        var store: String?
        var live: LiveModels.Status?
    }

    func addHealthRoutes(to router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ -> Response in
            let set = service.models
            return jsonResponse(
                Health(
                    models: set.identities, items: set.itemCount, users: set.userIDs.count,
                    loadedAt: ISO8601DateFormatter().string(from: set.loadedAt), reloads: service.reloads,
                    writeRoutes: options.apiKey == nil ? "disabled (no API key)" : "enabled",
                    store: service.store?.location, live: live?.status))
        }
        router.get("/metrics") { _, _ -> Response in
            let set = service.models
            live?.updateMetrics(metrics)
            let text = metrics.render(models: set.identities, loadedAt: set.loadedAt, reloads: service.reloads)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
