import Foundation
import OsusumeCore

/// One feedback event as received: who, what, which kind, and optionally a rating and when it
/// happened (client time, seconds since 1970).
public struct FeedbackEvent: Codable, Sendable, Equatable {
    public var user: String
    public var item: String
    public var kind: String
    public var rating: Double?
    /// When it happened, seconds since 1970 (the time of receipt when absent).
    public var at: Double?
    /// A key the client chooses once per event (an idempotency key): an event whose key is
    /// already stored is not stored again, so a request retried after a lost answer cannot
    /// count twice.
    public var key: String?

    public init(user: String, item: String, kind: String, rating: Double? = nil, at: Double? = nil, key: String? = nil) {
        self.user = user; self.item = item; self.kind = kind; self.rating = rating; self.at = at; self.key = key
    }

    /// The kinds of feedback the store accepts.
    public static let kinds: Set<String> = ["view", "click", "like", "dislike", "favourite", "rating", "watch", "skip", "purchase"]
    public static let maxIDLength = 256
    public static let maxKeyLength = 128

    /// Checks bounds: non-empty ids of bounded length without control characters, a known kind,
    /// a finite rating in [-100, 100] (required for "rating"), a time between 1970 and 2100.
    public func validate() throws {
        try Self.checkID(user, name: "user")
        try Self.checkID(item, name: "item")
        guard Self.kinds.contains(kind) else {
            throw OsusumeError.invalidArgument("kind must be one of \(Self.kinds.sorted().joined(separator: ", ")), got '\(kind.prefix(40))'")
        }
        if let r = rating { guard r.isFinite, abs(r) <= 100 else { throw OsusumeError.invalidArgument("rating must be a number in [-100, 100]") } }
        if kind == "rating" && rating == nil { throw OsusumeError.invalidArgument("kind 'rating' needs a rating") }
        if let t = at { guard t.isFinite, t >= 0, t < 4_102_444_800 else { throw OsusumeError.invalidArgument("at must be seconds since 1970, before 2100") } }
        if let k = key { try Self.checkID(k, name: "key", maxLength: Self.maxKeyLength) }
    }

    /// An id as the stores keep it: 1 to `maxLength` bytes, no control characters (PostgreSQL
    /// refuses NUL in text, and SQLite would cut the value there).
    public static func checkID(_ v: String, name: String, maxLength: Int = maxIDLength) throws {
        guard !v.isEmpty, v.utf8.count <= maxLength else {
            throw OsusumeError.invalidArgument("\(name) must be 1 to \(maxLength) bytes")
        }
        guard !v.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw OsusumeError.invalidArgument("\(name) must not contain control characters")
        }
    }
}

/// A stored event: its id in the store (increasing in commit order), the event with its time
/// filled in, and the time the store received it.
public struct StoredFeedback: Codable, Sendable, Equatable {
    public var id: Int64
    public var event: FeedbackEvent
    public var receivedAt: Double

    public init(id: Int64, event: FeedbackEvent, receivedAt: Double) {
        self.id = id; self.event = event; self.receivedAt = receivedAt
    }

    /// When it happened (client time, else receipt).
    public var time: Double { event.at ?? receivedAt }
}
