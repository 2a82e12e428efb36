import Foundation
import OsusumeCore

/// One person's MyAnimeList list export (`<myanimelist><myinfo>…</myinfo><anime>…</anime>…`),
/// read with a small scanner for this flat layout (no XML library needed). Per `<anime>`:
/// `series_animedb_id` (the MAL id, required), `series_title` (CDATA or text), `series_type`,
/// `my_score` (0 = not scored → NaN), `my_status` (`Completed`, `Watching`, `On-Hold`,
/// `Dropped`, `Plan to Watch`, or codes 1–6), `my_finish_date` / `my_start_date`
/// (`YYYY-MM-DD`, `0000-00-00` = unknown) and, in older exports, `my_last_updated` (Unix time).
///
/// The result has one user (`myinfo/user_name`). The time of an entry is its finish date, else
/// its last update, else its start date; entries with none get the earliest known time; no times
/// at all → file order. "Plan to Watch" entries are left out unless `includePlanned`.
public struct MALXMLImporter: DatasetImporter {
    public let format = "mal-xml"
    public let expects = "a MyAnimeList list export (.xml with <myanimelist>)"
    public var includePlanned: Bool

    public init(includePlanned: Bool = false) { self.includePlanned = includePlanned }

    public func detect(path: String) -> String? {
        guard DataPath.isFile(path), let head = DataPath.head(path) else { return nil }
        return String(decoding: head, as: UTF8.self).contains("<myanimelist") ? "MyAnimeList list export" : nil
    }

    public func load(path: String) throws -> Dataset {
        try load(file: TextFile(path: path))
    }

    /// An element's children as name → text, with the line where the element starts.
    struct Element { var line: Int; var children: [String: String] }

    public func load(file: TextFile) throws -> Dataset {
        let text = file.text
        let path = file.path
        guard text.contains("<myanimelist") else { throw OsusumeError.file(path, problem: "no <myanimelist> element: not a MyAnimeList export") }
        let info = try MALXMLImporter.elements(named: "myinfo", in: text, path: path).first
        let userID = info?.children["user_name"].flatMap { $0.isEmpty ? nil : $0 } ?? info?.children["user_id"] ?? DataPath.datasetName(path)

        struct Entry { var item: String; var time: Int64?; var score: Float }
        var entries: [Entry] = []
        var catalog = Catalog()
        var planned = 0
        var seen = Set<String>()
        for a in try MALXMLImporter.elements(named: "anime", in: text, path: path) {
            func fail(_ problem: String) -> OsusumeError { .malformed(file: path, line: a.line, problem: problem) }
            guard let id = a.children["series_animedb_id"]?.trimmingASCIIWhitespace(), !id.isEmpty else {
                throw fail("<anime> without <series_animedb_id>")
            }
            guard Int(id) != nil else { throw fail("series_animedb_id is not an integer: '\(id)'") }
            let status = (a.children["my_status"] ?? "").trimmingASCIIWhitespace()
            if (status.lowercased() == "plan to watch" || status == "6") && !includePlanned { planned += 1; continue }
            if !seen.insert(id).inserted { throw fail("anime \(id) is listed twice") }
            var score = Float.nan
            if let s = a.children["my_score"]?.trimmingASCIIWhitespace(), !s.isEmpty {
                guard let v = Float(s), v.isFinite else { throw fail("my_score is not a number: '\(s)'") }
                guard v >= 0 && v <= 10 && v == v.rounded() else { throw fail("my_score \(s) is not a MyAnimeList score (0 for none, or 1–10)") }
                if v > 0 { score = v }
            }
            var time: Int64? = MALXMLImporter.date(a.children["my_finish_date"])
            if time == nil, let u = a.children["my_last_updated"].flatMap({ Int64($0.trimmingASCIIWhitespace()) }), u > 0 { time = u }
            if time == nil { time = MALXMLImporter.date(a.children["my_start_date"]) }
            entries.append(Entry(item: id, time: time, score: score))

            var item = CatalogItem(id: id, title: HTMLEntities.decode(a.children["series_title"] ?? ""))
            if let t = a.children["series_type"], !t.isEmpty { item.type = t }
            // 0 is how the export writes "not known yet".
            if let e = a.children["series_episodes"].flatMap({ Int($0) }), e > 0 { item.episodes = e }
            item.links["mal"] = id
            catalog.upsert(item)
        }
        if planned > 0 { logLine("mal-xml: left out \(planned) 'Plan to Watch' entries") }
        if entries.isEmpty { throw OsusumeError.emptyData("\(path): the list has no entries\(planned > 0 ? " besides \(planned) planned ones" : "")") }

        var log = InteractionLog()
        let known = entries.compactMap(\.time)
        let earliest = known.min() ?? 0
        for e in entries {
            log.append(user: userID, item: e.item, timestamp: known.isEmpty ? nil : (e.time ?? earliest), rating: e.score)
        }
        log.hasTimestamps = !known.isEmpty
        log.hasRatings = entries.contains { !$0.score.isNaN }
        return Dataset(name: DataPath.datasetName(path), format: format, log: log, catalog: catalog)
    }

    /// `YYYY-MM-DD` as seconds; nil for empty, `0000-00-00` or partial dates.
    static func date(_ s: String?) -> Int64? {
        guard let s = s?.trimmingASCIIWhitespace(), !s.isEmpty, !s.hasPrefix("0000") else { return nil }
        return DataDate.parseISO8601(Array(s.utf8))
    }

    /// Every `<name>…</name>` element and its child elements' text (CDATA and entities decoded).
    static func elements(named name: String, in text: String, path: String) throws -> [Element] {
        let open = "<\(name)>", close = "</\(name)>"
        var out: [Element] = []
        var search = text.startIndex
        var line = 1, lineCounted = text.startIndex
        func lineOf(_ i: String.Index) -> Int {
            line += text[lineCounted..<i].utf8.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
            lineCounted = i
            return line
        }
        while let start = text.range(of: open, range: search..<text.endIndex) {
            let l = lineOf(start.lowerBound)
            guard let end = text.range(of: close, range: start.upperBound..<text.endIndex) else {
                throw OsusumeError.malformed(file: path, line: l, problem: "<\(name)> is never closed")
            }
            out.append(Element(line: l, children: try children(text[start.upperBound..<end.lowerBound], path: path, line: l)))
            search = end.upperBound
        }
        return out
    }

    static func children(_ body: Substring, path: String, line: Int) throws -> [String: String] {
        var result: [String: String] = [:]
        var rest = body
        while let lt = rest.firstIndex(of: "<") {
            rest = rest[rest.index(after: lt)...]
            guard let gt = rest.firstIndex(of: ">") else {
                throw OsusumeError.malformed(file: path, line: line, problem: "unterminated tag")
            }
            var tag = rest[..<gt].trimmingCharacters(in: .whitespaces)
            rest = rest[rest.index(after: gt)...]
            if tag.hasPrefix("!--") || tag.hasPrefix("?") || tag.hasPrefix("/") { continue }
            if tag.hasSuffix("/") { tag.removeLast(); result[tag.trimmingCharacters(in: .whitespaces)] = ""; continue }
            if let space = tag.firstIndex(of: " ") { tag = String(tag[..<space]) } // attributes
            let closing = "</\(tag)>"
            guard let end = rest.range(of: closing) else {
                throw OsusumeError.malformed(file: path, line: line, problem: "<\(tag)> is never closed")
            }
            var value = String(rest[..<end.lowerBound])
            if let cdata = value.range(of: "<![CDATA["), let cend = value.range(of: "]]>", range: cdata.upperBound..<value.endIndex) {
                value = String(value[cdata.upperBound..<cend.lowerBound])
            } else {
                value = HTMLEntities.decode(value.trimmingASCIIWhitespace())
            }
            result[tag] = value
            rest = rest[end.upperBound...]
        }
        return result
    }
}
