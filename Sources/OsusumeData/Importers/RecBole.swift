import Foundation
import OsusumeCore

/// RecBole atomic files: `NAME.inter` (tab-separated, header fields `name:type` such as
/// `user_id:token  item_id:token  rating:float  timestamp:float`), optional `NAME.item`
/// (`item_id:token` plus e.g. `movie_title:token_seq`, `genre:token_seq`, `release_year:token`)
/// and `NAME.user` (`user_id:token` plus features, into `Dataset.userFeatures`).
/// The path is the folder or the .inter file.
public struct RecBoleImporter: DatasetImporter {
    public let format = "recbole"
    public let expects = "folder with NAME.inter (header user_id:token item_id:token …), optional NAME.item, NAME.user"

    public init() {}

    /// The .inter file for `path`, or an explanation of why there is none.
    func interFile(_ path: String) -> Result<String, OsusumeError> {
        if DataPath.isFile(path) {
            return path.hasSuffix(".inter")
                ? .success(path)
                : .failure(.file(path, problem: "recbole expects a .inter file or a folder containing one"))
        }
        let inters = DataPath.listing(path).filter { $0.hasSuffix(".inter") }
        let named = DataPath.lastComponent(path) + ".inter"
        if inters.contains(named) { return .success(DataPath.join(path, named)) }
        if inters.count == 1 { return .success(DataPath.join(path, inters[0])) }
        if inters.isEmpty { return .failure(.file(path, problem: "no .inter file in this folder")) }
        return .failure(.file(path, problem: "several .inter files (\(inters.joined(separator: ", "))) and none named \(named); pass the one to load"))
    }

    public func detect(path: String) -> String? {
        guard case .success(let inter) = interFile(path), let header = DataPath.firstLine(inter),
            header.contains(":token") || header.contains(":float")
        else { return nil }
        let base = (inter as NSString).deletingPathExtension
        let extra = ["item", "user"].filter { DataPath.isFile(base + "." + $0) }.map { "." + $0 }
        return DataPath.lastComponent(inter) + (extra.isEmpty ? "" : " with " + extra.joined(separator: ", "))
    }

    /// A header field `name:type`.
    struct Field {
        var name: String
        var type: String
    }

    static func fields(_ r: Record) throws -> [Field] {
        try r.strings().map { raw in
            let s = raw.trimmingASCIIWhitespace()
            guard let colon = s.lastIndex(of: ":") else {
                throw r.malformed("header field '\(s)' has no type (expected name:type such as user_id:token)")
            }
            return Field(name: String(s[..<colon]), type: String(s[s.index(after: colon)...]))
        }
    }

    public func load(path: String) throws -> Dataset {
        let inter = try interFile(path).get()
        let file = try TextFile(path: inter)
        var b = LogBuilder()
        b.reserve(file.bytes.count / 24)
        var cu = -1, ci = -1, cr: Int? = nil, ct: Int? = nil, width = 0
        try file.forEachRecord(.tsv) { r in
            if r.index == 0 {
                let f = try RecBoleImporter.fields(r)
                let names = f.map { $0.name.lowercased() }
                guard let u = names.firstIndex(of: "user_id") ?? names.firstIndex(where: { $0.contains("user") }) else {
                    throw r.malformed("header has no user_id field")
                }
                guard let i = names.firstIndex(of: "item_id") ?? names.firstIndex(where: { $0.contains("item") }) else {
                    throw r.malformed("header has no item_id field")
                }
                cu = u; ci = i
                cr = names.firstIndex(of: "rating"); ct = names.firstIndex(of: "timestamp")
                width = r.count
                return
            }
            try r.expectFields(width, "as many as the header")
            if r.isEmpty(cu) || r.isEmpty(ci) { throw r.malformed("empty user or item id") }
            let rating = try cr.map { try r.optionalDouble($0, "rating").map(Float.init) ?? .nan } ?? .nan
            let ts = try ct.map { try r.wholeNumber($0, "timestamp") }
            let u = b.users.intern(r.bytes(cu), encoding: r.encoding)
            let i = b.items.intern(r.bytes(ci), encoding: r.encoding)
            b.append(user: u, item: i, timestamp: ts, rating: rating)
        }
        if width == 0 { throw OsusumeError.file(inter, problem: "empty file (no header)") }
        let log = b.build(hasTimestamps: ct != nil, hasRatings: cr != nil)

        let base = (inter as NSString).deletingPathExtension
        var catalog = Catalog()
        if DataPath.isFile(base + ".item") { try readItems(base + ".item", into: &catalog) }
        var userFeatures: [String: [String: String]] = [:]
        if DataPath.isFile(base + ".user") {
            var cid = 0, names: [String] = []
            try TextFile(path: base + ".user").forEachRecord(.tsv) { r in
                if r.index == 0 {
                    let f = try RecBoleImporter.fields(r)
                    names = f.map(\.name)
                    cid = names.firstIndex(of: "user_id") ?? 0
                    return
                }
                try r.expectFields(names.count, "as many as the header")
                var features: [String: String] = [:]
                for k in 0..<r.count where k != cid { features[names[k]] = r.string(k) }
                userFeatures[r.trimmedString(cid)] = features
            }
        }
        return Dataset(name: DataPath.datasetName(base), format: format, log: log, catalog: catalog, userFeatures: userFeatures)
    }

    func readItems(_ path: String, into catalog: inout Catalog) throws {
        var cid = 0, ctitle: Int? = nil, cgenre: Int? = nil, cyear: Int? = nil, width = 0
        try TextFile(path: path).forEachRecord(.tsv) { r in
            if r.index == 0 {
                let f = try RecBoleImporter.fields(r)
                let names = f.map { $0.name.lowercased() }
                guard let i = names.firstIndex(of: "item_id") else { throw r.malformed("header has no item_id field") }
                cid = i
                ctitle = ["movie_title", "title", "item_name", "name"].lazy.compactMap { names.firstIndex(of: $0) }.first
                cgenre = ["genre", "genres", "class", "categories"].lazy.compactMap { names.firstIndex(of: $0) }.first
                cyear = ["release_year", "year"].lazy.compactMap { names.firstIndex(of: $0) }.first
                width = r.count
                return
            }
            try r.expectFields(width, "as many as the header")
            var item = CatalogItem(id: r.trimmedString(cid))
            if let c = ctitle { item.title = r.string(c) }
            // token_seq values are separated by spaces.
            if let c = cgenre { item.genres = r.string(c).split(separator: " ").map(String.init) }
            if let c = cyear, !r.isEmpty(c) {
                let year = try r.wholeNumber(c, "year")
                guard (0...9999).contains(year) else { throw r.malformed("year \(year) is not a year") }
                item.year = Int(year)
            }
            catalog.upsert(item)
        }
    }
}
