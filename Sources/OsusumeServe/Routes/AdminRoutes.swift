import Foundation
import Hummingbird

/// `POST /v1/admin/reload`: loads the models again and swaps them in without dropping requests.
extension ServeRoutes {
    struct Reloaded: Encodable {
        var reloaded = true
        var models: [ModelIdentity]
        var seconds: Double
    }

    func addAdminRoutes(to router: Router<BasicRequestContext>) {
        router.post("/v1/admin/reload") { request, _ -> Response in
            try request.requireAPIKey(options.apiKey)
            let start = Date()
            let set = try await service.reload()
            return jsonResponse(Reloaded(models: set.identities, seconds: Date().timeIntervalSince(start)))
        }
    }
}
