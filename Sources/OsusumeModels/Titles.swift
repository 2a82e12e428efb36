import Foundation
import OsusumeCore
import OsusumeData

// Titles as people type and read them: one key folding, one search, one resolver and one display
// form, shared by the command line and the server.

/// Case- and accent-insensitive keys for matching typed titles.
public enum TitleKey {
    public static func normalise(_ s: String) -> String {
        let folded = s.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
        var out = ""
        var lastSpace = true
        for ch in folded.unicodeScalars {
            if CharacterSet.alphanumerics.contains(ch) { out.unicodeScalars.append(ch); lastSpace = false } else if !lastSpace { out.append(" "); lastSpace = true }
        }
        return out.trimmingCharacters(in: .whitespaces)
    }

    /// "Matrix, The" → "The Matrix" (MovieLens writes articles last).
    public static func articleFirst(_ s: String) -> String {
        for article in ["The", "A", "An", "Les", "Le", "La", "L'", "Die", "Der", "Das", "El", "Il"] {
            let suffix = ", " + article
            if s.hasSuffix(suffix) {
                let head = String(s.dropLast(suffix.count))
                return article.hasSuffix("'") ? article + head : article + " " + head
            }
        }
        return s
    }

    /// The title as a person reads it: year apart, article first ("Matrix, The (1999)" →
    /// "The Matrix"). The catalog's own form stays the sort title.
    public static func display(_ s: String) -> String { articleFirst(stripYear(s)) }

    /// "Heat (1995)" → "Heat".
    public static func stripYear(_ s: String) -> String {
        let t = s.trimmingCharacters(in: .whitespaces)
        guard t.hasSuffix(")"), let open = t.lastIndex(of: "(") else { return t }
        let inner = t[t.index(after: open)..<t.index(before: t.endIndex)]
        guard inner.count == 4 || inner.count == 9, inner.first?.isNumber == true else { return t }
        return String(t[..<open]).trimmingCharacters(in: .whitespaces)
    }
}

/// Title search for the favourites picker: case-, accent- and punctuation-insensitive (the same
/// folding as `TitleKey`), every query word must start a word of the title ("godf" finds "The
/// Godfather", "matrix the" finds "Matrix, The"), results by popularity with exact titles first.
public struct TitleSearchIndex: Sendable {
    /// Each title's words, folded, as bytes; items in popularity order.
    private let words: [[[UInt8]]]
    private let keys: [String]
    private let bareKeys: [String]
    /// "Matrix, The (1999)" also as "the matrix", the way people type it.
    private let articleKeys: [String]
    private let order: [Int32]

    public init(titles: [String], popularity: [Float]) {
        keys = titles.map(TitleKey.normalise)
        bareKeys = titles.map { TitleKey.normalise(TitleKey.stripYear($0)) }
        articleKeys = titles.map { TitleKey.normalise(TitleKey.articleFirst(TitleKey.stripYear($0))) }
        words = keys.map { $0.split(separator: " ").map { Array($0.utf8) } }
        order = (0..<Int32(titles.count)).sorted { (a: Int32, b: Int32) -> Bool in
            let pa = popularity[Int(a)], pb = popularity[Int(b)]
            return pa > pb || (pa == pb && a < b)
        }
    }

    /// Up to `limit` items matching `query`, exact titles first, then by popularity. An empty
    /// query gives the most popular items.
    public func search(_ query: String, limit: Int) -> [Int32] {
        let key = TitleKey.normalise(query)
        guard limit > 0 else { return [] }
        if key.isEmpty { return Array(order.prefix(limit)) }
        let terms = key.split(separator: " ").map { Array($0.utf8) }
        var exact: [Int32] = [], others: [Int32] = []
        for i in order {
            let w = words[Int(i)]
            guard terms.allSatisfy({ t in w.contains { $0.starts(with: t) } }) else { continue }
            if isExact(Int(i), key) { exact.append(i) } else if others.count < limit { others.append(i) }
        }
        return Array((exact + others).prefix(limit))
    }

    private func isExact(_ i: Int, _ key: String) -> Bool {
        keys[i] == key || bareKeys[i] == key || articleKeys[i] == key
    }

    public enum Resolution: Equatable { case found(Int32), ambiguous([Int32]), none }

    /// A title as a person would type it: exact (with or without the year), else one unique
    /// word-prefix match. Several exact matches pick the most popular one, since a typed title
    /// most likely means the well-known item.
    public func resolve(title: String) -> Resolution {
        let key = TitleKey.normalise(title)
        guard !key.isEmpty else { return .none }
        if let best = order.first(where: { isExact(Int($0), key) }) { return .found(best) }
        let matches = search(title, limit: 10)
        if matches.count == 1 { return .found(matches[0]) }
        return matches.isEmpty ? .none : .ambiguous(matches)
    }

    /// Resolves an item reference: an id, else a title as `resolve(title:)` reads it. Several
    /// exact matches take the most popular; an ambiguous prefix or no match is an error naming
    /// the reference (`unknownID` for no match, so callers can leave it out of a history).
    public func resolveItem(_ ref: String, ids: IDMap, describe: (Int32) -> String) throws -> Int32 {
        if let i = ids.index(of: ref) { return i }
        switch resolve(title: ref) {
        case .found(let i): return i
        case .ambiguous(let matches):
            throw OsusumeError.invalidArgument(
                "'\(ref)' matches \(matches.count) titles, e.g. "
                    + matches.prefix(3).map { "\(describe($0)) (id \(ids.id(of: $0)))" }.joined(separator: "; ") + "; be more specific or use an id")
        case .none:
            throw OsusumeError.unknownID(kind: "item", id: ref)
        }
    }
}

/// A history entry a request left out, and why.
public struct IgnoredRef: Codable, Sendable, Equatable {
    public var ref: String
    public var reason: String
    public init(ref: String, reason: String) { self.ref = ref; self.reason = reason }
}

/// Resolves a history given as ids or titles. Entries that cannot be resolved — an id the model
/// no longer knows (a stale favourite after a model or catalog change), a title that matches
/// nothing or several — are left out and reported, never failing the whole history: a history
/// with nothing known is an empty one. Duplicates keep their first place.
public func resolveHistory(_ refs: [String], resolve: (String) throws -> Int32) -> (items: [Int32], ignored: [IgnoredRef]) {
    var items: [Int32] = []
    var seen = Set<Int32>()
    var ignored: [IgnoredRef] = []
    for r in refs {
        do {
            let i = try resolve(r)
            if seen.insert(i).inserted { items.append(i) }
        } catch OsusumeError.unknownID {
            ignored.append(IgnoredRef(ref: r, reason: "unknown item: the models do not know it"))
        } catch {
            ignored.append(IgnoredRef(ref: r, reason: "\(error)"))
        }
    }
    return (items, ignored)
}

/// Which history items explain an item's score. A history item is named only when its
/// contribution is a meaningful share of the positive evidence (at least `minimumShare` of the
/// sum of positive contributions) and comparable to the strongest one (at least `minimumOfTop`
/// of it), at most `limit`, largest first (ties: the more recent). An item whose evidence is
/// spread thin over many history items gets none: nothing stands out, and listing everything
/// would say nothing.
public enum Explanation {
    public static let minimumShare: Float = 0.15
    public static let minimumOfTop: Float = 0.5

    /// Indices into the history, best first.
    public static func meaningful(
        _ contributions: [Float], limit: Int = 3, minimumShare: Float = Explanation.minimumShare,
        minimumOfTop: Float = Explanation.minimumOfTop
    ) -> [Int] {
        var positive: Float = 0, top: Float = 0
        for c in contributions where c > 0 && c.isFinite { positive += c; top = max(top, c) }
        guard positive > 0 else { return [] }
        let bar = max(minimumShare * positive, minimumOfTop * top)
        return contributions.indices
            .filter { contributions[$0].isFinite && contributions[$0] > 0 && contributions[$0] >= bar }
            .sorted { contributions[$0] > contributions[$1] || (contributions[$0] == contributions[$1] && $0 > $1) }
            .prefix(limit).map { $0 }
    }
}
