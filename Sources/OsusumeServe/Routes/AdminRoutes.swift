import Foundation
import Hummingbird
import OsusumeAPI
import OsusumeCore
import OsusumeStore

/// `POST /v1/admin/reload`, `GET /v1/admin/versions`, `POST /v1/admin/rollback`,
/// `POST /v1/admin/retrain`.
extension ServeRoutes {
    struct Reloaded: Encodable {
        var reloaded = true
        var models: [ModelIdentity]
        var version: Int64
        var seconds: Double
    }
    struct Versions: Encodable {
        var current: Int64
        var versions: [ModelVersion]
    }
    struct RolledBack: Encodable {
        var version: Int64
        var paths: [String]
    }

    func addAdminRoutes(to router: Router<BasicRequestContext>) {
        router.post("/v1/admin/reload") { request, _ -> Response in
            try request.requireAPIKey(options.apiKey)
            let start = Date()
            let set = try await service.reload()
            return jsonResponse(Reloaded(models: set.identities, version: set.version, seconds: Date().timeIntervalSince(start)))
        }
        router.get("/v1/admin/versions") { request, _ -> Response in
            try request.requireAPIKey(options.apiKey)
            guard let live else { throw ServiceError.unavailable("this server has no event store, so no model versions") }
            return jsonResponse(Versions(current: service.models.version, versions: try await live.versions()))
        }
        router.post("/v1/admin/rollback") { request, _ -> Response in
            try request.requireAPIKey(options.apiKey)
            guard let live else { throw ServiceError.unavailable("this server has no event store, so no model versions") }
            // No body (whatever the framing) means "the version before the current one".
            let body = try await request.decodeJSONIfAny(RollbackBody.self, limit: options.maxBodyBytes) ?? RollbackBody()
            let v = try await live.rollback(to: body.version, log: { logLine($0) })
            return jsonResponse(RolledBack(version: v.version, paths: v.paths))
        }
        router.post("/v1/admin/retrain") { request, _ -> Response in
            try request.requireAPIKey(options.apiKey)
            guard let live, let run = options.retrain else { throw ServiceError.unavailable("this server was started without --retrain") }
            guard let report = await live.retrain(using: run, log: { logLine($0) }) else {
                throw ServiceError.conflict(live.status.retraining ? "a retrain is already running" : "the retrain failed: \(live.status.lastRetrainError ?? "")")
            }
            return jsonResponse(report)
        }
    }
}
