import Foundation
import Hummingbird
import OsusumeCore

/// `GET /v1/items?q=`, `GET /v1/items/{id}`, `GET /v1/items/{id}/similar?k=`.
extension ServeRoutes {
    struct ItemDetail: Encodable {
        var item: ItemSummary
        var tags: [String]
        var links: [String: String]
        /// Users with the item in their history (or the popularity model's score).
        var popularity: Float
    }
    struct SimilarResponse: Encodable {
        var item: ItemSummary
        var similar: [ItemSummary]
    }
    struct SearchResults: Encodable {
        var query: String
        var items: [ItemSummary]
    }

    func addItemRoutes(to router: Router<BasicRequestContext>) {
        router.get("/v1/items") { request, _ -> Response in
            let q = request.query("q") ?? ""
            guard q.utf8.count <= 200 else { throw APIError(.badRequest, "q is limited to 200 bytes") }
            let limit = try request.intQuery("limit", default: 10, range: 1...options.maxSearchResults)
            return jsonResponse(SearchResults(query: q, items: service.search(q, limit: limit)))
        }
        router.get("/v1/items/:id") { _, context -> Response in
            let id = try context.parameters.require("id")
            let set = service.models
            guard let i = set.itemIDs.index(of: id) else { throw OsusumeError.unknownID(kind: "item", id: id) }
            let c = set.catalog[id]
            return jsonResponse(
                ItemDetail(
                    item: set.items[Int(i)], tags: c?.tags ?? [], links: c?.links ?? [:],
                    popularity: set.popularity[Int(i)]))
        }
        router.get("/v1/items/:id/similar") { request, context -> Response in
            let id = try context.parameters.require("id")
            let k = try request.intQuery("k", default: options.defaultK, range: 1...service.limits.maxK)
            let r = try service.similar(to: id, k: k)
            return jsonResponse(SimilarResponse(item: r.item, similar: r.similar))
        }
    }
}
