import Foundation
import OsusumeModels

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
        articleKeys = titles.map { TitleKey.normalise(Self.articleFirst(TitleKey.stripYear($0))) }
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

    /// "Matrix, The" → "The Matrix" (catalogs such as MovieLens put articles last).
    static func articleFirst(_ title: String) -> String {
        for article in ["The", "A", "An", "Les", "La", "Le", "L'", "Il", "Das", "Der", "Die", "El"] {
            let suffix = ", " + article
            if title.hasSuffix(suffix) { return article + (article.hasSuffix("'") ? "" : " ") + title.dropLast(suffix.count) }
        }
        return title
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
}
