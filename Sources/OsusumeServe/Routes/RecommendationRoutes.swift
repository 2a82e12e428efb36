import Foundation
import Hummingbird

/// `GET /v1/users/{id}/recommendations` and `POST /v1/recommendations`.
extension ServeRoutes {
    struct RecommendationBody: Decodable {
        var history: [FlexibleID]
        var k: Int?
        var blend: String?
        var mix: String?
    }

    func addRecommendationRoutes(to router: Router<BasicRequestContext>) {
        router.get("/v1/users/:id/recommendations") { request, context -> Response in
            let id = try context.parameters.require("id")
            let k = try request.intQuery("k", default: options.defaultK, range: 1...service.limits.maxK)
            let result = try service.recommend(user: id, k: k, blend: request.query("blend"), mix: request.query("mix"))
            return jsonResponse(result)
        }
        router.post("/v1/recommendations") { request, context -> Response in
            let body = try await request.decodeJSON(RecommendationBody.self, limit: options.maxBodyBytes)
            let k = body.k ?? options.defaultK
            try service.validate(k: k)
            let result = try service.recommend(history: body.history.map(\.value), k: k, blend: body.blend, mix: body.mix)
            return jsonResponse(result)
        }
    }
}
