import Foundation
import Hummingbird

/// The web page at `/`: one self-contained file (no CDN), read once from the bundle.
extension ServeRoutes {
    static let page: ByteBuffer = {
        guard
            let url = Bundle.module.url(forResource: "index", withExtension: "html", subdirectory: "Web")
                ?? Bundle.module.url(forResource: "index", withExtension: "html"),
            let data = try? Data(contentsOf: url)
        else {
            return ByteBuffer(string: "<!doctype html><title>Osusume</title><p>The web page is missing from this build.")
        }
        return ByteBuffer(bytes: data)
    }()

    func addWebRoutes(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [
                    .contentType: "text/html; charset=utf-8",
                    .cacheControl: "no-cache",
                    // Everything comes from this server; only posters may come from the catalog's image hosts.
                    .contentSecurityPolicy: "default-src 'self'; img-src 'self' data: https: http:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'",
                ], body: .init(byteBuffer: Self.page))
        }
    }
}
