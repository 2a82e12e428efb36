import Foundation
import OsusumeCore

/// A direct JSON writer for the hot responses: recommendation lists are encoded on every request,
/// and Foundation's `JSONEncoder` (boxing every value through `Encodable`) cost about a quarter of
/// a request's CPU time. Output matches the types' `Codable` form (same keys, `null`s omitted).
struct JSONBytes {
    var bytes: [UInt8] = []

    init(capacity: Int = 4096) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ s: String) { JSONString.append(s, to: &bytes) }

    mutating func number(_ v: Float) {
        let x = v.isFinite ? v : 0
        if x == x.rounded(), abs(x) < 1e7 { bytes.append(contentsOf: String(Int(x)).utf8) } else { bytes.append(contentsOf: x.description.utf8) }
    }

    mutating func number(_ v: Int) { bytes.append(contentsOf: String(v).utf8) }

    mutating func item(_ s: ItemSummary) {
        raw("{\"id\":"); string(s.id)
        raw(",\"title\":"); string(s.title)
        raw(",\"displayTitle\":"); string(s.displayTitle)
        if let y = s.year { raw(",\"year\":"); number(y) }
        raw(",\"genres\":[")
        for (i, g) in s.genres.enumerated() { if i > 0 { raw(",") }; string(g) }
        raw("]")
        if let u = s.imageURL { raw(",\"imageURL\":"); string(u) }
        if let t = s.type { raw(",\"type\":"); string(t) }
        if let e = s.episodes { raw(",\"episodes\":"); number(e) }
        raw("}")
    }

    mutating func ref(_ r: ItemRef) {
        raw("{\"id\":"); string(r.id); raw(",\"title\":"); string(r.title)
        raw(",\"displayTitle\":"); string(r.displayTitle); raw("}")
    }

    mutating func result(_ r: RecommendationResult) {
        raw("{")
        if let u = r.user { raw("\"user\":"); string(u); raw(",") }
        raw("\"stage\":"); string(r.stage.rawValue)
        raw(",\"blend\":"); string(r.blend)
        raw(",\"summary\":"); string(r.summary)
        raw(",\"mix\":"); string(r.mix)
        raw(",\"history\":[")
        for (i, h) in r.history.enumerated() { if i > 0 { raw(",") }; ref(h) }
        raw("],\"items\":[")
        for (i, x) in r.items.enumerated() {
            if i > 0 { raw(",") }
            raw("{\"item\":"); item(x.item)
            raw(",\"score\":"); number(x.score)
            raw(",\"slot\":"); string(x.slot.rawValue)
            raw(",\"because\":[")
            for (j, b) in x.because.enumerated() { if j > 0 { raw(",") }; ref(b) }
            raw("],\"reason\":{\"kind\":"); string(x.reason.kind.rawValue)
            raw(",\"text\":"); string(x.reason.text); raw("}}")
        }
        raw("],\"ignored\":[")
        for (i, g) in r.ignored.enumerated() {
            if i > 0 { raw(",") }
            raw("{\"ref\":"); string(g.ref); raw(",\"reason\":"); string(g.reason); raw("}")
        }
        raw("]}")
    }
}
