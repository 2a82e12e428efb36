import Foundation
import Hummingbird
import NIOCore
import OsusumeAPI
import OsusumeCore
import OsusumeStore

/// An error answered as JSON `{"error": "..."}` with its status.
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status; self.message = message; self.headers = headers
    }

    public var description: String { "\(status.code) \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var r = jsonResponse(["error": message], status: status)
        r.headers.append(contentsOf: headers)
        return r
    }

    /// The API's answer for any error: bad input is a 4xx naming the problem, never a 500.
    static func from(_ error: Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as OsusumeError:
            switch e {
            case .unknownID: return APIError(.notFound, e.description)
            case .invalidArgument, .malformed, .emptyData: return APIError(.badRequest, e.description)
            case .file, .numeric, .modelFile, .memory: return APIError(.internalServerError, e.description)
            }
        case let e as ServiceError:
            switch e {
            case .conflict(let m): return APIError(.conflict, m)
            case .unavailable(let m): return APIError(.serviceUnavailable, m)
            }
        case let e as EventStoreUnavailable: return APIError(.serviceUnavailable, e.description, headers: [.retryAfter: "1"])
        case is DecodingError: return APIError(.badRequest, "malformed JSON: \(describe(error as! DecodingError))")
        case let e as BadRequestBody: return APIError(.badRequest, e.message)
        case let e as BatchTooLarge: return APIError(.contentTooLarge, e.description)
        case is NIOTooManyBytesError: return APIError(.contentTooLarge, "request body too large")
        case let e as HTTPError: return APIError(e.status, e.body ?? e.status.reasonPhrase.lowercased(), headers: e.headers)
        case let e as HTTPResponseError: return APIError(e.status, e.status.reasonPhrase.lowercased())
        default: return APIError(.internalServerError, "internal error")
        }
    }
}

/// A JSON response.
func jsonResponse<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    let data = (try? encoder.encode(value)) ?? Data(#"{"error":"response could not be encoded"}"#.utf8)
    var buffer = ByteBufferAllocator().buffer(capacity: data.count)
    buffer.writeBytes(data)
    return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: buffer))
}

/// A recommendation list as JSON, through the direct writer.
func jsonResponse(_ result: RecommendationResult) -> Response {
    var w = JSONBytes()
    w.result(result)
    var buffer = ByteBufferAllocator().buffer(capacity: w.bytes.count)
    buffer.writeBytes(w.bytes)
    return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: buffer))
}

/// Turns every error thrown below it into a JSON error response.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do { return try await next(request, context) } catch {
            let api = APIError.from(error)
            if api.status == .internalServerError { context.logger.error("\(request.method) \(request.uri.path): \(error)") }
            return try api.response(from: request, context: context)
        }
    }
}

/// Counts requests and times them, by route template.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServeMetrics
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        func done(_ status: Int) {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            metrics.record(method: request.method.rawValue, route: context.endpointPath ?? "unmatched", status: status, seconds: seconds)
        }
        do {
            let response = try await next(request, context)
            done(response.status.code)
            return response
        } catch {
            done(APIError.from(error).status.code)
            throw error
        }
    }
}

// MARK: request helpers

extension Request {
    /// Reads and decodes a JSON body of at most `limit` bytes: 413 above it, 400 when malformed.
    func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int) async throws -> T {
        if let declared = headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw APIError(.contentTooLarge, "request body of \(declared) bytes exceeds the limit of \(limit)")
        }
        let buffer: ByteBuffer
        do { buffer = try await body.collect(upTo: limit) } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "request body exceeds the limit of \(limit) bytes")
        }
        guard buffer.readableBytes > 0 else { throw APIError(.badRequest, "expected a JSON body") }
        do { return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView)) } catch let e as DecodingError {
            throw APIError.from(e)
        }
    }

    /// Like `decodeJSON`, but nil for an empty body, however the body is framed.
    func decodeJSONIfAny<T: Decodable>(_ type: T.Type, limit: Int) async throws -> T? {
        let buffer: ByteBuffer
        do { buffer = try await body.collect(upTo: limit) } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "request body exceeds the limit of \(limit) bytes")
        }
        guard buffer.readableBytes > 0 else { return nil }
        do { return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView)) } catch let e as DecodingError {
            throw APIError.from(e)
        }
    }

    /// A query parameter, percent- and plus-decoded.
    func query(_ name: String) -> String? {
        uri.queryParameters[name[...]].map { String($0).replacingOccurrences(of: "+", with: " ") }
    }

    /// An integer query parameter in `range`, or `defaultValue` when absent.
    func intQuery(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) throws -> Int {
        guard let raw = query(name), !raw.isEmpty else { return defaultValue }
        guard let v = Int(raw), range.contains(v) else {
            throw APIError(.badRequest, "\(name) must be an integer between \(range.lowerBound) and \(range.upperBound), got '\(raw.prefix(20))'")
        }
        return v
    }

    /// Checks the bearer key of write and admin routes. With no key configured these routes are
    /// off (403), not open.
    func requireAPIKey(_ key: String?) throws {
        guard let key, !key.isEmpty else {
            throw APIError(.forbidden, "this route is disabled: the server has no API key configured (--api-key or OSUSUME_API_KEY)")
        }
        let challenge: HTTPFields = [.wwwAuthenticate: "Bearer"]
        guard let header = headers[.authorization] else { throw APIError(.unauthorized, "missing Authorization: Bearer <key>", headers: challenge) }
        let prefix = "Bearer "
        guard header.count > prefix.count, header.lowercased().hasPrefix(prefix.lowercased()),
            constantTimeEqual(Array(header.utf8.dropFirst(prefix.utf8.count)), Array(key.utf8))
        else {
            throw APIError(.unauthorized, "invalid API key", headers: challenge)
        }
    }
}

/// Compares secrets in time independent of where they differ.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var diff = UInt8(a.count == b.count ? 0 : 1)
    for i in 0..<max(a.count, b.count) { diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0) }
    return diff == 0
}
