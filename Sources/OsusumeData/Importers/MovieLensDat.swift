import Foundation
import OsusumeCore

/// GroupLens ML-1M / ML-10M `::`-separated files: ratings.dat
/// (`UserID::MovieID::Rating::Timestamp`, required), movies.dat (`MovieID::Title::Genres`,
/// usually latin-1), users.dat (`UserID::Gender::Age::Occupation::Zip`, into
/// `Dataset.userFeatures`) and tags.dat (`UserID::MovieID::Tag::Timestamp`, ML-10M).
/// The path is the folder or ratings.dat.
public struct MovieLensDatImporter: DatasetImporter {
    public let format = "movielens-dat"
    public let expects = "folder with ratings.dat (UserID::MovieID::Rating::Timestamp), movies.dat, users.dat"

    public init() {}

    func folder(_ path: String) -> String? {
        if DataPath.isDirectory(path) { return path }
        return DataPath.lastComponent(path) == "ratings.dat" ? DataPath.folder(of: path) : nil
    }

    public func detect(path: String) -> String? {
        guard let dir = folder(path), let line = DataPath.firstLine(DataPath.join(dir, "ratings.dat")),
            line.contains("::")
        else { return nil }
        let extra = ["movies.dat", "users.dat", "tags.dat"].filter { DataPath.isFile(DataPath.join(dir, $0)) }
        return "ratings.dat" + (extra.isEmpty ? "" : " with " + extra.joined(separator: ", "))
    }

    public func diagnose(path: String) -> String? {
        guard DataPath.isDirectory(path), !DataPath.isFile(DataPath.join(path, "ratings.dat")) else { return nil }
        let present = ["movies.dat", "users.dat"].filter { DataPath.isFile(DataPath.join(path, $0)) }
        if present.isEmpty { return nil }
        return "Found \(present.joined(separator: " and ")) but no ratings.dat, which movielens-dat needs."
    }

    public func load(path: String) throws -> Dataset {
        guard let dir = folder(path) else {
            throw OsusumeError.file(path, problem: "movielens-dat needs a folder containing ratings.dat")
        }
        let ratingsPath = DataPath.join(dir, "ratings.dat")
        guard DataPath.isFile(ratingsPath) else {
            let present = DataPath.listing(dir)
            throw OsusumeError.file(
                dir,
                problem:
                    "no ratings.dat here; movielens-dat needs ratings.dat (UserID::MovieID::Rating::Timestamp). Found: \(present.isEmpty ? "nothing" : present.joined(separator: ", ")). A SASRec sequence file (.txt) can be loaded with format sasrec."
            )
        }
        var catalog = Catalog()
        let movies = DataPath.join(dir, "movies.dat")
        if DataPath.isFile(movies) { try MovieLensDatImporter.readMovies(movies, into: &catalog) }
        // With movies.dat, a rating of a movie it does not list is a broken file, not a new item.
        let log = try readRatings(ratingsPath, knownMovies: catalog.count == 0 ? nil : Set(catalog.items.map(\.id)))
        let tags = DataPath.join(dir, "tags.dat")
        if DataPath.isFile(tags) {
            let file = try TextFile(path: tags)
            try file.forEachRecord(.doubleColon) { r in
                try r.expectFields(4, "UserID::MovieID::Tag::Timestamp")
                let tag = r.string(2)
                catalog.modify(r.trimmedString(1)) { MovieLens.addTag(tag, to: &$0) }
            }
        }
        var userFeatures: [String: [String: String]] = [:]
        let users = DataPath.join(dir, "users.dat")
        if DataPath.isFile(users) {
            let file = try TextFile(path: users)
            try file.forEachRecord(.doubleColon) { r in
                try r.expectFields(5, "UserID::Gender::Age::Occupation::Zip")
                userFeatures[r.trimmedString(0)] = [
                    "gender": r.string(1), "age": r.string(2),
                    "occupation": r.string(3), "zip": r.string(4),
                ]
            }
        }
        return Dataset(name: DataPath.datasetName(dir), format: format, log: log, catalog: catalog, userFeatures: userFeatures)
    }

    /// ratings.dat; with `knownMovies` (movies.dat was read), every MovieID must be one of them.
    func readRatings(_ path: String, knownMovies: Set<String>? = nil) throws -> InteractionLog {
        let file = try TextFile(path: path)
        var b = LogBuilder()
        b.reserve(file.bytes.count / 22)
        try file.forEachRecord(.doubleColon) { r in
            try r.expectFields(4, "UserID::MovieID::Rating::Timestamp")
            let rating = try r.rating(2, in: 0.5...5, scale: "MovieLens rates 0.5–5 stars")
            let ts = try r.int(3, "timestamp")
            _ = try r.integerID(0, "UserID")
            let movie = try r.integerID(1, "MovieID")
            if let known = knownMovies, !known.contains(String(movie)) { throw r.malformed("MovieID \(movie) is not in movies.dat") }
            let u = b.users.intern(r.bytes(0), encoding: r.encoding)
            let i = b.items.intern(r.bytes(1), encoding: r.encoding)
            b.append(user: u, item: i, timestamp: ts, rating: Float(rating))
        }
        return b.build(hasTimestamps: true, hasRatings: true)
    }

    /// Reads `MovieID::Title::Genres` lines (ML-1M and ML-10M movies.dat) into `catalog`.
    public static func readMovies(_ path: String, into catalog: inout Catalog) throws {
        let file = try TextFile(path: path)
        try file.forEachRecord(.doubleColon) { r in
            try r.expectFields(3, "MovieID::Title::Genres")
            let id = String(try r.integerID(0, "MovieID"))
            if catalog[id] != nil { throw r.malformed("MovieID \(id) appears twice") }
            let title = r.string(1)
            catalog.upsert(
                CatalogItem(
                    id: id, title: title, genres: MovieLens.genres(r.string(2)),
                    year: MovieLens.year(fromTitle: title)))
        }
    }
}

/// The original GroupLens ML-100k layout: u.data (tab-separated `user item rating timestamp`),
/// u.item (`|`-separated, latin-1: id, title, release date, video release date, IMDb URL and
/// 19 genre flags named by u.genre), u.user (`id|age|gender|occupation|zip`). The path is
/// the folder or u.data.
public struct MovieLens100KImporter: DatasetImporter {
    public let format = "movielens-100k"
    public let expects = "folder with u.data (user item rating timestamp, tab-separated), u.item, u.genre, u.user"

    /// The genre order of ML-100k, used when u.genre is absent.
    public static let defaultGenres = [
        "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
        "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
        "Romance", "Sci-Fi", "Thriller", "War", "Western",
    ]

    public init() {}

    func folder(_ path: String) -> String? {
        if DataPath.isDirectory(path) { return path }
        return DataPath.lastComponent(path) == "u.data" ? DataPath.folder(of: path) : nil
    }

    public func detect(path: String) -> String? {
        guard let dir = folder(path), DataPath.isFile(DataPath.join(dir, "u.data")) else { return nil }
        let extra = ["u.item", "u.genre", "u.user"].filter { DataPath.isFile(DataPath.join(dir, $0)) }
        return "u.data" + (extra.isEmpty ? "" : " with " + extra.joined(separator: ", "))
    }

    public func load(path: String) throws -> Dataset {
        guard let dir = folder(path), DataPath.isFile(DataPath.join(dir, "u.data")) else {
            throw OsusumeError.file(path, problem: "movielens-100k needs a folder containing u.data")
        }
        var genreNames = MovieLens100KImporter.defaultGenres
        let genrePath = DataPath.join(dir, "u.genre")
        if DataPath.isFile(genrePath) {
            var names: [Int: String] = [:]
            try TextFile(path: genrePath).forEachRecord(.pipe) { r in
                try r.expectFields(2, "name|index")
                names[Int(try r.int(1, "genre index"))] = r.string(0)
            }
            if !names.isEmpty {
                guard names.keys.min() == 0, names.keys.max() == names.count - 1 else {
                    throw OsusumeError.file(genrePath, problem: "genre indices are not 0..<\(names.count)")
                }
                genreNames = (0..<names.count).map { names[$0]! }
            }
        }

        var catalog = Catalog()
        let itemPath = DataPath.join(dir, "u.item")
        if DataPath.isFile(itemPath) {
            try TextFile(path: itemPath).forEachRecord(.pipe) { r in
                try r.expectFields(5 + genreNames.count, "id|title|release date|video release date|IMDb URL|\(genreNames.count) genre flags")
                var genres: [String] = []
                for g in 0..<genreNames.count {
                    let flag = try r.int(5 + g, "genre flag '\(genreNames[g])'")
                    guard flag == 0 || flag == 1 else { throw r.malformed("genre flag '\(genreNames[g])' is \(flag), expected 0 or 1") }
                    // "unknown" marks a movie without genres rather than a genre.
                    if flag == 1 && genreNames[g] != "unknown" { genres.append(genreNames[g]) }
                }
                let id = String(try r.integerID(0, "movie id"))
                if catalog[id] != nil { throw r.malformed("movie id \(id) appears twice") }
                let title = r.string(1)
                let released = DataDate.parseDayMonthNameYear(r.trimmedString(2))
                let url = r.trimmedString(4)
                var item = CatalogItem(
                    id: id, title: title, genres: genres,
                    year: MovieLens.year(fromTitle: title) ?? released.map { DataDate.civil(fromDays: Int($0 / 86_400)).year },
                    releasedAt: released)
                if !url.isEmpty { item.links["imdb_url"] = url }
                catalog.upsert(item)
            }
        }

        var userFeatures: [String: [String: String]] = [:]
        // u.data, after u.item: with u.item, every rated item must be one of its movies.
        let known: Set<String>? = catalog.count == 0 ? nil : Set(catalog.items.map(\.id))
        let data = try TextFile(path: DataPath.join(dir, "u.data"))
        var b = LogBuilder()
        b.reserve(data.bytes.count / 18)
        try data.forEachRecord(.tsv) { r in
            try r.expectFields(4, "user item rating timestamp")
            let rating = try r.rating(2, in: 1...5, scale: "ML-100k rates 1–5 stars")
            let ts = try r.int(3, "timestamp")
            _ = try r.integerID(0, "user id")
            let item = try r.integerID(1, "item id")
            if let known, !known.contains(String(item)) { throw r.malformed("item id \(item) is not in u.item") }
            let u = b.users.intern(r.bytes(0), encoding: r.encoding)
            let i = b.items.intern(r.bytes(1), encoding: r.encoding)
            b.append(user: u, item: i, timestamp: ts, rating: Float(rating))
        }
        let log = b.build(hasTimestamps: true, hasRatings: true)

        let userPath = DataPath.join(dir, "u.user")
        if DataPath.isFile(userPath) {
            try TextFile(path: userPath).forEachRecord(.pipe) { r in
                try r.expectFields(5, "id|age|gender|occupation|zip")
                userFeatures[r.trimmedString(0)] = [
                    "age": r.string(1), "gender": r.string(2),
                    "occupation": r.string(3), "zip": r.string(4),
                ]
            }
        }
        return Dataset(name: DataPath.datasetName(dir), format: format, log: log, catalog: catalog, userFeatures: userFeatures)
    }
}
