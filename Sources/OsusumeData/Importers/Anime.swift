import Foundation
import OsusumeCore

/// HTML character references as found in MyAnimeList titles (`Gintama&#039;`, `&amp;`, `&quot;`).
public enum HTMLEntities {
    static let named: [String: String] = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{00A0}"]

    /// `text` with named (`&amp;`), decimal (`&#039;`) and hex (`&#x27;`) references replaced;
    /// anything that is not a valid reference is left as it is.
    public static func decode(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let after = rest[rest.index(after: amp)...]
            if let semi = after.prefix(10).firstIndex(of: ";") {
                let name = after[..<semi]
                var replacement: String? = nil
                if name.hasPrefix("#x") || name.hasPrefix("#X") {
                    if let v = UInt32(name.dropFirst(2), radix: 16), let s = Unicode.Scalar(v) { replacement = String(Character(s)) }
                } else if name.hasPrefix("#") {
                    if let v = UInt32(name.dropFirst()), let s = Unicode.Scalar(v) { replacement = String(Character(s)) }
                } else {
                    replacement = named[String(name)]
                }
                if let r = replacement {
                    out += r
                    rest = after[after.index(after: semi)...]
                    continue
                }
            }
            out += "&"
            rest = after
        }
        out += rest
        return out
    }
}

/// Shared reading of MyAnimeList catalog rows (`anime_id,name,genre,type,episodes,rating,members`).
enum AnimeCatalog {
    static func item(id: String, name: String, genre: String, type: String) -> CatalogItem {
        CatalogItem(
            id: id, title: HTMLEntities.decode(name),
            genres: genre.split(separator: ",").map { String($0).trimmingASCIIWhitespace() }.filter { !$0.isEmpty },
            type: type.isEmpty ? nil : type)
    }

    /// A MyAnimeList score: 1–10, or −1 for "watched, not rated" where the file has those.
    static func rating(_ r: Record, _ i: Int, allowUnrated: Bool) throws -> Double {
        let v = try r.double(i, "rating")
        if allowUnrated && v == -1 { return v }
        guard v >= 1 && v <= 10 && v == v.rounded() else {
            throw r.malformed("rating \(r.trimmedString(i)) is not a MyAnimeList score (whole numbers 1–10\(allowUnrated ? ", or -1 for watched but not rated" : ""))")
        }
        return v
    }

    /// Reads a catalog file with a header naming anime_id (or anime_ids), name, genre and type.
    static func read(_ path: String, format: DelimitedFormat, malIDsAreItemIDs: Bool, into catalog: inout Catalog) throws {
        var cid = 0, cname = 1, cgenre = 2, ctype = 3, width = 7
        var cepisodes: Int? = 4
        try TextFile(path: path).forEachRecord(format) { r in
            if r.index == 0 {
                let h = HeaderColumns(r)
                cid = try h.require(r, "anime_id", "anime_ids"); cname = try h.require(r, "name")
                cgenre = try h.require(r, "genre"); ctype = try h.require(r, "type")
                cepisodes = h.index("episodes")
                width = r.count
                return
            }
            try r.expectFields(width, "as many as the header")
            let id = String(try r.integerID(cid, "anime id"))
            if catalog[id] != nil { throw r.malformed("anime id \(id) appears twice") }
            var item = AnimeCatalog.item(id: id, name: r.string(cname), genre: r.string(cgenre), type: r.trimmedString(ctype))
            if malIDsAreItemIDs { item.links["mal"] = id }
            if let c = cepisodes {
                // MyAnimeList writes "Unknown" for series still airing; anything else must be a count.
                let e = r.trimmedString(c)
                if let n = Int(e), n >= 0 {
                    item.episodes = n
                } else if !e.isEmpty && e != "Unknown" {
                    throw r.malformed("episodes must be a whole number or 'Unknown', got '\(e)'")
                }
            }
            catalog.upsert(item)
        }
    }
}

/// The Kaggle "Anime Recommendations Database" (MyAnimeList): anime.csv (`anime_id,name,genre,
/// type,episodes,rating,members`, names with HTML entities, decoded here) and rating.csv
/// (`user_id,anime_id,rating`, where rating -1 means watched but not rated: kept as an
/// interaction with a NaN rating). The path is the folder or the ratings file; ids are MAL ids.
public struct AnimeCSVImporter: DatasetImporter {
    public let format = "anime-csv"
    public let expects = "folder with anime.csv and rating.csv (user_id,anime_id,rating; -1 = unrated)"

    public init() {}

    static let ratingFileNames = ["rating.csv", "ratings.csv", "rating_complete.csv"]

    /// (folder, ratings file) for `path`.
    func locate(_ path: String) -> (String, String)? {
        if DataPath.isDirectory(path) {
            guard DataPath.isFile(DataPath.join(path, "anime.csv")) else { return nil }
            for n in AnimeCSVImporter.ratingFileNames where DataPath.isFile(DataPath.join(path, n)) {
                return (path, DataPath.join(path, n))
            }
            return nil
        }
        guard DataPath.isFile(path), path.hasSuffix(".csv"),
            DataPath.firstLine(path)?.lowercased().hasPrefix("user_id,anime_id") == true
        else { return nil }
        return (DataPath.folder(of: path), path)
    }

    public func detect(path: String) -> String? {
        guard let (_, ratings) = locate(path), DataPath.firstLine(ratings)?.lowercased().hasPrefix("user_id,anime_id") == true else { return nil }
        return "anime.csv with \(DataPath.lastComponent(ratings))"
    }

    public func diagnose(path: String) -> String? {
        guard DataPath.isDirectory(path), DataPath.isFile(DataPath.join(path, "anime.csv")), locate(path) == nil else { return nil }
        var hint = "Found anime.csv but no rating.csv (user_id,anime_id,rating), which anime-csv needs."
        let caserec = DataPath.listing(path).filter { DataPath.isFile(DataPath.join(DataPath.join(path, $0), "anime_history.dat")) }
        if !caserec.isEmpty { hint += " The subfolder \(caserec.joined(separator: ", ")) is format anime-caserec." }
        return hint
    }

    public func load(path: String) throws -> Dataset {
        guard let (dir, ratingsPath) = locate(path) else {
            throw OsusumeError.file(path, problem: diagnose(path: path) ?? "anime-csv needs a folder with anime.csv and rating.csv")
        }
        let file = try TextFile(path: ratingsPath)
        var b = LogBuilder()
        b.reserve(file.bytes.count / 14)
        var cu = 0, ci = 1, cr = 2, width = 3
        try file.forEachRecord(.csv) { r in
            if r.index == 0, NumberParsing.int(r.bytes(0)) == nil {
                let h = HeaderColumns(r)
                cu = try h.require(r, "user_id"); ci = try h.require(r, "anime_id"); cr = try h.require(r, "rating")
                width = r.count
                return
            }
            try r.expectFields(width, "user_id,anime_id,rating")
            let rating = try AnimeCatalog.rating(r, cr, allowUnrated: true)
            _ = try r.integerID(cu, "user_id")
            _ = try r.integerID(ci, "anime_id")
            let u = b.users.intern(r.bytes(cu), encoding: r.encoding)
            let i = b.items.intern(r.bytes(ci), encoding: r.encoding)
            b.append(user: u, item: i, timestamp: nil, rating: rating == -1 ? .nan : Float(rating))
        }
        let log = b.build(hasTimestamps: false, hasRatings: true)
        var catalog = Catalog()
        let animePath = DataPath.join(dir, "anime.csv")
        if DataPath.isFile(animePath) {
            try AnimeCatalog.read(animePath, format: .csv, malIDsAreItemIDs: true, into: &catalog)
        }
        return Dataset(name: DataPath.datasetName(dir), format: format, log: log, catalog: catalog)
    }
}

/// CaseRecommender's 5,000-user MyAnimeList sample: tab-separated files with a header line.
/// anime_history.dat (`User_ID Anime_ID Feedback`, every list entry) gives the interactions;
/// ratings from anime_ratings.dat (same columns, 1–10) are joined where present (NaN
/// elsewhere); anime_info.dat (`anime_ids name genre type episodes rating members`) is the
/// catalog; caserec_id_to_mal_anime_id.csv, where present, gives `links["mal"]`.
/// There are no timestamps: the order is file order. The path is the folder.
public struct AnimeCaseRecImporter: DatasetImporter {
    public let format = "anime-caserec"
    public let expects = "folder with anime_history.dat, anime_ratings.dat, anime_info.dat (tab-separated, header)"

    public init() {}

    func folder(_ path: String) -> String? {
        if DataPath.isDirectory(path) { return DataPath.isFile(DataPath.join(path, "anime_history.dat")) ? path : nil }
        return DataPath.lastComponent(path) == "anime_history.dat" ? DataPath.folder(of: path) : nil
    }

    public func detect(path: String) -> String? {
        guard let dir = folder(path) else { return nil }
        let extra = ["anime_ratings.dat", "anime_info.dat", "caserec_id_to_mal_anime_id.csv"].filter { DataPath.isFile(DataPath.join(dir, $0)) }
        return "anime_history.dat" + (extra.isEmpty ? "" : " with " + extra.joined(separator: ", "))
    }

    public func load(path: String) throws -> Dataset {
        guard let dir = folder(path) else {
            throw OsusumeError.file(path, problem: "anime-caserec needs a folder containing anime_history.dat")
        }
        var catalog = Catalog()
        let infoPath = DataPath.join(dir, "anime_info.dat")
        if DataPath.isFile(infoPath) {
            try AnimeCatalog.read(infoPath, format: .tsv, malIDsAreItemIDs: false, into: &catalog)
        }
        let mapPath = DataPath.join(dir, "caserec_id_to_mal_anime_id.csv")
        if DataPath.isFile(mapPath) {
            var cc = 0, cm = 1
            try TextFile(path: mapPath).forEachRecord(.csv) { r in
                if r.index == 0, NumberParsing.int(r.bytes(0)) == nil {
                    let h = HeaderColumns(r)
                    cc = try h.require(r, "caserec_anime_id"); cm = try h.require(r, "mal_anime_id")
                    return
                }
                try r.expectFields(atLeast: max(cc, cm) + 1, "caserec_anime_id,mal_anime_id")
                let mal = r.trimmedString(cm)
                catalog.modify(r.trimmedString(cc)) { $0.links["mal"] = mal }
            }
        }
        // With anime_info.dat, every listed anime must be one of its items: never a silent new one.
        let known: Set<String>? = catalog.count == 0 ? nil : Set(catalog.items.map(\.id))
        func checkItem(_ r: Record) throws {
            let id = try r.integerID(1, "Anime_ID")
            if let known, !known.contains(String(id)) { throw r.malformed("Anime_ID \(id) is not in anime_info.dat") }
            _ = try r.integerID(0, "User_ID")
        }
        var b = LogBuilder()
        let history = try TextFile(path: DataPath.join(dir, "anime_history.dat"))
        b.reserve(history.bytes.count / 10)
        try history.forEachRecord(.tsv) { r in
            if r.index == 0, NumberParsing.int(r.bytes(0)) == nil { return } // header
            try r.expectFields(3, "User_ID, Anime_ID, Feedback")
            try checkItem(r)
            // Every list entry is feedback 1 in this file.
            guard try r.double(2, "feedback") == 1 else { throw r.malformed("feedback is \(r.string(2)), expected 1 (a list entry)") }
            let u = b.users.intern(r.bytes(0), encoding: r.encoding)
            let i = b.items.intern(r.bytes(1), encoding: r.encoding)
            b.append(user: u, item: i, timestamp: nil, rating: .nan)
        }
        var log = b.build(hasTimestamps: false, hasRatings: false)

        let ratingsPath = DataPath.join(dir, "anime_ratings.dat")
        if DataPath.isFile(ratingsPath) {
            var users = b.users, items = b.items
            var ratedUsers: [Int32] = [], ratedItems: [Int32] = [], values: [Float] = []
            try TextFile(path: ratingsPath).forEachRecord(.tsv) { r in
                if r.index == 0, NumberParsing.int(r.bytes(0)) == nil { return }
                try r.expectFields(3, "User_ID, Anime_ID, Feedback")
                try checkItem(r)
                values.append(Float(try AnimeCatalog.rating(r, 2, allowUnrated: false)))
                ratedUsers.append(users.intern(r.bytes(0), encoding: r.encoding))
                ratedItems.append(items.intern(r.bytes(1), encoding: r.encoding))
            }
            log.userIDs = users.map; log.itemIDs = items.map
            let extra = AnimeCaseRecImporter.joinRatings(into: &log, users: ratedUsers, items: ratedItems, ratings: values)
            log.hasRatings = true
            if extra > 0 { logLine("anime-caserec: \(extra) ratings had no history row; added them as interactions") }
        }

        return Dataset(name: DataPath.datasetName(dir), format: format, log: log, catalog: catalog)
    }

    /// Sets the rating of each (user, item) row of `log` from the parallel arrays, appending
    /// pairs that have no row. Works user by user with a direct item → row table (no hashing,
    /// no sorting). Returns how many pairs were appended.
    static func joinRatings(into log: inout InteractionLog, users: [Int32], items: [Int32], ratings: [Float]) -> Int {
        func buckets(_ owners: [Int32], _ n: Int) -> (start: [Int], rows: [Int]) {
            var start = [Int](repeating: 0, count: n + 1)
            for u in owners { start[Int(u) + 1] += 1 }
            for u in 0..<n { start[u + 1] += start[u] }
            var next = start, rows = [Int](repeating: 0, count: owners.count)
            for (r, u) in owners.enumerated() { rows[next[Int(u)]] = r; next[Int(u)] += 1 }
            return (start, rows)
        }
        let history = buckets(log.users, log.userCount)
        let rated = buckets(users, log.userCount)
        var rowOfItem = [Int](repeating: -1, count: log.itemCount)
        var missing: [Int] = []
        for u in 0..<log.userCount where rated.start[u + 1] > rated.start[u] {
            let own = history.start[u]..<history.start[u + 1]
            for p in own { let r = history.rows[p]; if rowOfItem[Int(log.items[r])] < 0 { rowOfItem[Int(log.items[r])] = r } }
            for p in rated.start[u]..<rated.start[u + 1] {
                let k = rated.rows[p]
                let row = rowOfItem[Int(items[k])]
                if row >= 0 { log.ratings[row] = ratings[k] } else { missing.append(k) }
            }
            for p in own { rowOfItem[Int(log.items[history.rows[p]])] = -1 }
        }
        // A rating without a history row is still an interaction (in ratings-file order).
        for k in missing.sorted() { log.append(user: users[k], item: items[k], timestamp: Int64(log.count), rating: ratings[k]) }
        return missing.count
    }
}
