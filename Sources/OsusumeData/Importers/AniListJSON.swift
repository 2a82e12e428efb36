import Foundation
import OsusumeCore

/// One person's AniList list export: the JSON answer of the GraphQL `MediaListCollection` query
/// (`{"data":{"MediaListCollection":{"user":…,"lists":[{"entries":[…]}]}}}`; the outer
/// `data` wrapper is optional). Each entry gives `mediaId`, `score`, `status`,
/// `updatedAt`/`completedAt`, and `media` (`title.romaji`/`english`, `genres`,
/// `coverImage.large`, `format`, `startDate.year`, `idMal`).
///
/// The result has one user, whose history is the list:
/// - the time of an entry is `completedAt` when it is a full date, else `updatedAt`; entries
///   with neither come first (they get the earliest known time); no times at all → file order;
/// - score 0 means "not scored" (NaN); with `user.mediaListOptions.scoreFormat` known, scores
///   are put on a 10-point scale (POINT_100 ÷ 10, POINT_5 × 2, POINT_3 × 10/3);
/// - PLANNING entries (not yet watched) are left out unless `includePlanned` (the count is logged);
/// - a media in several (custom) lists is kept once, at its first entry.
public struct AniListJSONImporter: DatasetImporter {
    public let format = "anilist-json"
    public let expects = "an AniList MediaListCollection JSON export (.json)"
    public var includePlanned: Bool

    public init(includePlanned: Bool = false) { self.includePlanned = includePlanned }

    public func detect(path: String) -> String? {
        guard DataPath.isFile(path), path.lowercased().hasSuffix(".json"), let head = DataPath.head(path, bytes: 65536) else { return nil }
        let text = String(decoding: head, as: UTF8.self)
        guard text.contains("\"MediaListCollection\"") || (text.contains("\"entries\"") && text.contains("\"mediaId\"")) else { return nil }
        return "AniList list export"
    }

    public func load(path: String) throws -> Dataset {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw OsusumeError.file(path, problem: DataPath.isDirectory(path) ? "is a folder, expected a .json file" : "file not found")
        }
        return try load(data: data, path: path)
    }

    /// Reads an export already in memory; `path` names it in errors and the data set.
    public func load(data: Data, path: String) throws -> Dataset {
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            throw OsusumeError.file(path, problem: "not valid JSON: \(error.localizedDescription)")
        }
        guard var collection = root as? [String: Any] else { throw OsusumeError.file(path, problem: "expected a JSON object at the top") }
        if let d = collection["data"] as? [String: Any] { collection = d }
        if let c = collection["MediaListCollection"] as? [String: Any] { collection = c }
        guard let lists = collection["lists"] as? [[String: Any]] else {
            throw OsusumeError.file(path, problem: "no MediaListCollection.lists array")
        }
        let user = collection["user"] as? [String: Any]
        let userID = (user?["name"] as? String) ?? (user?["id"].map { "\($0)" }) ?? DataPath.datasetName(path)
        let scoreFormat = (user?["mediaListOptions"] as? [String: Any])?["scoreFormat"] as? String

        struct Entry { var item: String; var time: Int64?; var score: Float }
        var entries: [Entry] = []
        var seen = Set<String>()
        var catalog = Catalog()
        var planned = 0, duplicates = 0
        for (li, list) in lists.enumerated() {
            guard let es = list["entries"] as? [[String: Any]] else {
                throw OsusumeError.file(path, problem: "lists[\(li)] has no entries array")
            }
            for (ei, e) in es.enumerated() {
                let media = e["media"] as? [String: Any] ?? [:]
                guard let idValue = e["mediaId"] ?? media["id"], let id = AniListJSONImporter.idString(idValue) else {
                    throw OsusumeError.file(path, problem: "lists[\(li)].entries[\(ei)] has no mediaId")
                }
                let status = (e["status"] as? String)?.uppercased() ?? ""
                if status == "PLANNING" && !includePlanned { planned += 1; continue }
                if !seen.insert(id).inserted { duplicates += 1; continue }
                var score = Float.nan
                if let s = double(e["score"]), s > 0 {
                    score = AniListJSONImporter.tenPointScale(Float(s), format: scoreFormat)
                    guard score <= 10 else {
                        throw OsusumeError.file(path, problem: "lists[\(li)].entries[\(ei)]: score \(s) is outside the \(scoreFormat ?? "10-point") scale")
                    }
                }
                var time: Int64? = nil
                if let c = e["completedAt"] as? [String: Any], let y = int(c["year"]), let m = int(c["month"]), let d = int(c["day"]),
                    (1...9999).contains(y), (1...12).contains(m), (1...31).contains(d)
                {
                    time = DataDate.seconds(year: y, month: m, day: d)
                } else if let u = int(e["updatedAt"]), u > 0 {
                    time = Int64(u)
                }
                entries.append(Entry(item: id, time: time, score: score))

                var item = CatalogItem(id: id)
                let title = media["title"] as? [String: Any]
                item.title = (title?["english"] as? String) ?? (title?["romaji"] as? String) ?? (title?["native"] as? String) ?? ""
                item.genres = media["genres"] as? [String] ?? []
                item.imageURL = (media["coverImage"] as? [String: Any]).flatMap { ($0["large"] ?? $0["medium"]) as? String }
                item.type = media["format"] as? String
                item.episodes = (media["episodes"] as? NSNumber)?.intValue
                if let start = media["startDate"] as? [String: Any], let y = int(start["year"]), (1...9999).contains(y) {
                    // Month and day are often unknown (null) for announced titles.
                    let m = int(start["month"]).flatMap { (1...12).contains($0) ? $0 : nil } ?? 1
                    let d = int(start["day"]).flatMap { (1...31).contains($0) ? $0 : nil } ?? 1
                    item.year = y
                    item.releasedAt = DataDate.seconds(year: y, month: m, day: d)
                }
                item.links["anilist"] = id
                if let mal = media["idMal"].flatMap(AniListJSONImporter.idString) { item.links["mal"] = mal }
                catalog.upsert(item)
            }
        }
        if planned > 0 { logLine("anilist-json: left out \(planned) PLANNING entries (not watched yet)") }
        if duplicates > 0 { logLine("anilist-json: \(duplicates) entries repeated a media already listed; kept the first") }
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

    /// JSON numbers arrive as NSNumber or as Swift numbers depending on the platform.
    func int(_ v: Any?) -> Int? {
        if let i = v as? Int { return i }
        if let n = v as? NSNumber { return n.intValue }
        return nil
    }

    func double(_ v: Any?) -> Double? {
        if let d = v as? Double { return d }
        if let i = v as? Int { return Double(i) }
        if let n = v as? NSNumber { return n.doubleValue }
        return nil
    }

    static func idString(_ v: Any) -> String? {
        if let i = v as? Int { return String(i) }
        if let n = v as? NSNumber { return String(n.int64Value) }
        if let s = v as? String, !s.isEmpty { return s }
        return nil
    }

    /// A score in the user's AniList score format on a 10-point scale.
    public static func tenPointScale(_ score: Float, format: String?) -> Float {
        switch format {
        case "POINT_100": return score / 10
        case "POINT_5": return score * 2
        case "POINT_3": return score * 10 / 3
        default: return score // POINT_10, POINT_10_DECIMAL or unknown
        }
    }
}
