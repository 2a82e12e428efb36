import Foundation
import OsusumeCore

/// Pieces shared by the MovieLens importers.
public enum MovieLens {
    /// The year in a MovieLens title such as "Toy Story (1995)" or "Babylon 5 (1994-1998)"
    /// (the first year of a range); nil when the title ends without one.
    public static func year(fromTitle title: String) -> Int? {
        let t = title.trimmingASCIIWhitespace()
        guard t.hasSuffix(")"), let open = t.lastIndex(of: "(") else { return nil }
        let inside = t[t.index(after: open)..<t.index(before: t.endIndex)]
        let digits = inside.prefix { $0.isASCII && $0.isNumber }
        guard digits.count == 4, let y = Int(digits) else { return nil }
        let rest = inside.dropFirst(4)
        // Allow "1994-1998", "1994–", "2006–2007"; reject things like "(1995 version)".
        if !rest.isEmpty, !(rest.first == "-" || rest.first == "–") { return nil }
        return y
    }

    /// Genres from a `|`-separated list; "(no genres listed)" means none.
    public static func genres(_ field: String) -> [String] {
        if field.isEmpty || field == "(no genres listed)" { return [] }
        return field.split(separator: "|").map(String.init)
    }

    /// Adds `tag` to the item's tags unless it is already there (ignoring case).
    static func addTag(_ tag: String, to item: inout CatalogItem) {
        let t = tag.trimmingASCIIWhitespace()
        if t.isEmpty { return }
        let lower = t.lowercased()
        if !item.tags.contains(where: { $0.lowercased() == lower }) { item.tags.append(t) }
    }
}

/// Finds columns of a header record by name (case-insensitive).
struct HeaderColumns {
    let names: [String]
    let lowered: [String]

    init(_ record: Record) {
        names = record.strings().map { $0.trimmingASCIIWhitespace() }
        lowered = names.map { $0.lowercased() }
    }

    func index(_ candidates: String...) -> Int? {
        for c in candidates { if let i = lowered.firstIndex(of: c.lowercased()) { return i } }
        return nil
    }

    func require(_ record: Record, _ candidates: String...) throws -> Int {
        for c in candidates { if let i = lowered.firstIndex(of: c.lowercased()) { return i } }
        throw record.malformed("header has no column \(candidates.map { "'\($0)'" }.joined(separator: " or ")); found \(names.joined(separator: ","))")
    }
}

/// GroupLens MovieLens CSV releases (ml-latest-small, ml-latest, ml-20m, ml-25m, ml-32m):
/// a folder with ratings.csv (`userId,movieId,rating,timestamp`) and optionally movies.csv,
/// tags.csv and links.csv. The path may also be ratings.csv itself.
public struct MovieLensCSVImporter: DatasetImporter {
    public let format = "movielens-csv"
    public let expects = "folder with ratings.csv (userId,movieId,rating,timestamp), movies.csv, tags.csv, links.csv"

    public init() {}

    func folder(_ path: String) -> String? {
        if DataPath.isDirectory(path) { return DataPath.isFile(DataPath.join(path, "ratings.csv")) ? path : nil }
        return DataPath.lastComponent(path) == "ratings.csv" ? DataPath.folder(of: path) : nil
    }

    public func detect(path: String) -> String? {
        guard let dir = folder(path), let header = DataPath.firstLine(DataPath.join(dir, "ratings.csv")) else { return nil }
        let h = header.lowercased()
        guard h.hasPrefix("userid,movieid") else { return nil }
        let extra = ["movies.csv", "tags.csv", "links.csv"].filter { DataPath.isFile(DataPath.join(dir, $0)) }
        return "ratings.csv" + (extra.isEmpty ? "" : " with " + extra.joined(separator: ", "))
    }

    public func load(path: String) throws -> Dataset {
        guard let dir = folder(path) else {
            throw OsusumeError.file(path, problem: "movielens-csv needs a folder containing ratings.csv")
        }
        var catalog = Catalog()
        let movies = DataPath.join(dir, "movies.csv")
        if DataPath.isFile(movies) { try readMovies(movies, into: &catalog) }
        // With movies.csv, every rating must name one of its movies: an id outside the catalog
        // is a broken file, not a new item.
        let known: Set<Int64>? = catalog.count == 0 ? nil : Set(catalog.items.compactMap { Int64($0.id) })
        let log = try readRatings(DataPath.join(dir, "ratings.csv"), knownMovies: known)
        let tags = DataPath.join(dir, "tags.csv")
        if DataPath.isFile(tags) { try readTags(tags, into: &catalog) }
        let links = DataPath.join(dir, "links.csv")
        if DataPath.isFile(links) { try readLinks(links, into: &catalog) }
        return Dataset(name: DataPath.datasetName(dir), format: format, log: log, catalog: catalog)
    }

    /// ratings.csv; a file without the header line is read in the standard column order. Ids are
    /// integers, as MovieLens defines them; with `knownMovies`, every movieId must be one of them.
    func readRatings(_ path: String, knownMovies: Set<Int64>? = nil) throws -> InteractionLog {
        let file = try TextFile(path: path)
        var b = LogBuilder()
        b.reserve(file.bytes.count / 24)
        var cu = 0, ci = 1, cr = 2, ct = 3, width = 4
        try file.forEachRecord(.csv) { r in
            if r.index == 0, NumberParsing.int(r.bytes(0)) == nil {
                let h = HeaderColumns(r)
                cu = try h.require(r, "userId"); ci = try h.require(r, "movieId")
                cr = try h.require(r, "rating"); ct = try h.require(r, "timestamp")
                width = r.count
                return
            }
            try r.expectFields(width, "userId,movieId,rating,timestamp")
            let rating = try r.rating(cr, in: 0.5...5, scale: "MovieLens rates 0.5–5 stars")
            let ts = try r.int(ct, "timestamp")
            _ = try r.integerID(cu, "userId")
            let movie = try r.integerID(ci, "movieId")
            if let known = knownMovies, !known.contains(movie) { throw r.malformed("movieId \(movie) is not in movies.csv") }
            let u = b.users.intern(r.bytes(cu), encoding: r.encoding)
            let i = b.items.intern(r.bytes(ci), encoding: r.encoding)
            b.append(user: u, item: i, timestamp: ts, rating: Float(rating))
        }
        let log = b.build(hasTimestamps: true, hasRatings: true)
        guard log.count > 0 else {
            let skipped = SkippedLines.current.map { $0.total > 0 ? " after skipping \($0.total) malformed line\($0.total == 1 ? "" : "s") (\($0.description))" : "" } ?? ""
            throw OsusumeError.malformed(file: path, line: 1, problem: "no ratings: the file is empty or has only its header" + skipped)
        }
        return log
    }

    func readMovies(_ path: String, into catalog: inout Catalog) throws {
        let file = try TextFile(path: path)
        var cid = 0, ctitle = 1, cgenres = 2, width = 3
        try file.forEachRecord(.csv) { r in
            if r.index == 0, NumberParsing.int(r.bytes(0)) == nil {
                let h = HeaderColumns(r)
                cid = try h.require(r, "movieId"); ctitle = try h.require(r, "title"); cgenres = try h.require(r, "genres")
                width = r.count
                return
            }
            try r.expectFields(width, "movieId,title,genres")
            let id = String(try r.integerID(cid, "movieId"))
            if catalog[id] != nil { throw r.malformed("movieId \(id) appears twice") }
            let title = r.string(ctitle)
            catalog.upsert(
                CatalogItem(
                    id: id, title: title, genres: MovieLens.genres(r.string(cgenres)),
                    year: MovieLens.year(fromTitle: title)))
        }
    }

    func readTags(_ path: String, into catalog: inout Catalog) throws {
        let file = try TextFile(path: path)
        var cid = 1, ctag = 2, width = 4
        try file.forEachRecord(.csv) { r in
            if r.index == 0, NumberParsing.int(r.bytes(0)) == nil {
                let h = HeaderColumns(r)
                cid = try h.require(r, "movieId"); ctag = try h.require(r, "tag")
                width = r.count
                return
            }
            try r.expectFields(width, "userId,movieId,tag,timestamp")
            let tag = r.string(ctag)
            catalog.modify(r.trimmedString(cid)) { MovieLens.addTag(tag, to: &$0) }
        }
    }

    func readLinks(_ path: String, into catalog: inout Catalog) throws {
        let file = try TextFile(path: path)
        var cid = 0, cimdb = 1, ctmdb = 2, width = 3
        try file.forEachRecord(.csv) { r in
            if r.index == 0, NumberParsing.int(r.bytes(0)) == nil {
                let h = HeaderColumns(r)
                cid = try h.require(r, "movieId"); cimdb = try h.require(r, "imdbId"); ctmdb = try h.require(r, "tmdbId")
                width = r.count
                return
            }
            try r.expectFields(width, "movieId,imdbId,tmdbId")
            let imdb = r.trimmedString(cimdb), tmdb = r.trimmedString(ctmdb)
            catalog.modify(r.trimmedString(cid)) { item in
                if !imdb.isEmpty { item.links["imdb"] = imdb }
                if !tmdb.isEmpty { item.links["tmdb"] = tmdb }
            }
        }
    }
}
