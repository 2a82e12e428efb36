import Foundation
import Hummingbird
import OsusumeAPI

/// `GET /v1/users/{id}/recommendations` and `POST /v1/recommendations`.
extension ServeRoutes {
    func addRecommendationRoutes(to router: Router<BasicRequestContext>) {
        router.get("/v1/users/:id/recommendations") { request, context -> Response in
            let id = try context.parameters.require("id")
            let k = try request.intQuery("k", default: options.defaultK, range: 1...service.limits.maxK)
            let includeSeen = try request.boolQuery("include_seen")
            let result = try await service.recommend(
                user: id, k: k, blend: request.query("blend"), mix: request.query("mix"),
                includeSeen: includeSeen)
            return jsonResponse(result)
        }
        router.post("/v1/recommendations") { request, context -> Response in
            let body = try await request.decodeJSON(RecommendationBody.self, limit: options.maxBodyBytes)
            let k = body.k ?? options.defaultK
            try service.validate(k: k)
            guard body.history != nil || body.user != nil else { throw APIError(.badRequest, "give a history, a user, or both") }
            let result = try await service.recommend(
                history: (body.history ?? []).map(\.value), user: body.user?.value, k: k,
                blend: body.blend, mix: body.mix, includeSeen: body.includeSeen ?? false)
            return jsonResponse(result)
        }
    }
}

extension Request {
    /// A boolean query parameter (true, false, 1, 0); false when absent.
    func boolQuery(_ name: String) throws -> Bool {
        guard let raw = query(name), !raw.isEmpty else { return false }
        switch raw.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw APIError(.badRequest, "\(name) must be true or false, got '\(raw.prefix(20))'")
        }
    }
}
