import Foundation
import OsusumeData

// The JSON bodies the HTTP API accepts, decoded without any HTTP: the server's routes decode
// requests with these types, and the fuzzer (osusume-fuzz `requests`) feeds them arbitrary
// bytes. Bad input is a thrown `DecodingError` or `BadRequestBody`, never a crash.

/// A request body that is well-formed JSON but says something the API cannot accept.
public struct BadRequestBody: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// How a decoding error is told to the client: what is wrong and where.
public func describe(_ e: DecodingError) -> String {
    func path(_ c: [CodingKey]) -> String { c.isEmpty ? "" : " at " + c.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") }
    switch e {
    case .dataCorrupted(let c): return "not valid JSON" + path(c.codingPath)
    case .keyNotFound(let k, let c): return "missing field '\(k.stringValue)'" + path(c.codingPath)
    case .typeMismatch(_, let c): return "wrong type" + path(c.codingPath) + (c.debugDescription.isEmpty ? "" : " (\(c.debugDescription))")
    case .valueNotFound(_, let c): return "null value" + path(c.codingPath)
    @unknown default: return "\(e)"
    }
}

/// An item or user id given in JSON as a string or as a number.
public struct FlexibleID: Decodable, Sendable {
    public var value: String
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { value = s; return }
        if let i = try? c.decode(Int64.self) { value = String(i); return }
        throw DecodingError.typeMismatch(String.self, .init(codingPath: decoder.codingPath, debugDescription: "expected an id or a title"))
    }
}

/// A time given as seconds since 1970 or as an ISO 8601 date-time.
public struct FlexibleTime: Decodable, Sendable {
    public var seconds: Double
    public init(from decoder: Decoder) throws {
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

/// One event of `POST /v1/feedback`.
public struct FeedbackBody: Decodable, Sendable {
    public var user: FlexibleID
    public var item: FlexibleID
    public var kind: String
    public var rating: Double?
    /// Seconds since 1970, or an ISO 8601 date-time.
    public var at: FlexibleTime?
    /// The client's idempotency key: a retried event with a stored key is not stored again.
    public var key: String?

    /// The event this body describes (not yet validated).
    public var event: FeedbackEvent {
        FeedbackEvent(user: user.value, item: item.value, kind: kind, rating: rating, at: at?.seconds, key: key)
    }
}

/// The body of `POST /v1/feedback`: a single event or a batch.
public enum FeedbackPayload: Decodable, Sendable {
    case one(FeedbackBody)
    case many([FeedbackBody])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let list = try? c.decode([FeedbackBody].self) { self = .many(list); return }
        if (try? c.decode([JSONAny].self)) != nil {
            // An array whose elements do not decode: report the first bad one with its index.
            var elements = try decoder.unkeyedContainer()
            var index = 0
            while !elements.isAtEnd {
                do { _ = try elements.decode(FeedbackBody.self) } catch let e as DecodingError {
                    throw BadRequestBody("events[\(index)]: malformed JSON: \(describe(e))")
                }
                index += 1
            }
        }
        self = .one(try c.decode(FeedbackBody.self))
    }

    /// The events, each validated (`FeedbackEvent.validate`), with at most `maxBatch` in a batch.
    /// Errors name the event's index in a batch.
    public func events(maxBatch: Int) throws -> (events: [FeedbackEvent], isBatch: Bool) {
        let bodies: [FeedbackBody]
        switch self {
        case .one(let b): bodies = [b]
        case .many(let list):
            guard !list.isEmpty else { throw BadRequestBody("an empty batch: give at least one event") }
            guard list.count <= maxBatch else { throw BatchTooLarge(limit: maxBatch, count: list.count) }
            bodies = list
        }
        let isBatch = if case .many = self { true } else { false }
        var events: [FeedbackEvent] = []
        events.reserveCapacity(bodies.count)
        for (n, b) in bodies.enumerated() {
            let event = b.event
            do { try event.validate() } catch { throw BadRequestBody((isBatch ? "events[\(n)]: " : "") + "\(error)") }
            events.append(event)
        }
        return (events, isBatch)
    }
}

/// A batch with more events than the server takes (answered 413).
public struct BatchTooLarge: Error, CustomStringConvertible {
    public var limit: Int
    public var count: Int
    public var description: String { "a batch holds at most \(limit) events, got \(count)" }
}

/// The body of `POST /v1/recommendations`.
public struct RecommendationBody: Decodable, Sendable {
    public var history: [FlexibleID]?
    /// A user whose history and stored events come before `history`.
    public var user: FlexibleID?
    public var k: Int?
    public var blend: String?
    public var mix: String?
    public var includeSeen: Bool?
}

/// The body of `POST /v1/admin/rollback` (empty: the version before the current one).
public struct RollbackBody: Decodable, Sendable {
    public var version: Int64?
    public init(version: Int64? = nil) { self.version = version }
}

/// Any JSON value (only to tell an array apart from an object).
private struct JSONAny: Decodable {
    init(from decoder: Decoder) throws { _ = try decoder.singleValueContainer() }
}
