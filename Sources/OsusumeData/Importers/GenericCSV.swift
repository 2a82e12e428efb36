import Foundation
import OsusumeCore

/// A column of a delimited file, by header name or 0-based index.
public enum ColumnRef: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, CustomStringConvertible {
    case name(String)
    case index(Int)

    public init(stringLiteral value: String) { self = .name(value) }
    public init(integerLiteral value: Int) { self = .index(value) }

    /// "3" means index 3, anything else a header name (for command-line options).
    public init(parsing text: String) { self = Int(text).map { .index($0) } ?? .name(text) }

    public var description: String {
        switch self {
        case .name(let n): return "'\(n)'"
        case .index(let i): return "column \(i)"
        }
    }
}

/// How to read a generic delimited interaction file (format `csv`).
public struct CSVOptions: Sendable, Equatable {
    public enum TimestampKind: Sendable, Equatable {
        /// Integers or decimals are seconds since 1970; otherwise ISO-8601 dates are tried.
        case automatic
        /// Seconds since 1970 (decimals are truncated).
        case unixSeconds
        /// Milliseconds since 1970.
        case unixMilliseconds
        /// ISO-8601 dates or date-times (`2020-05-01`, `2020-05-01T12:00:00Z`).
        case iso8601
    }

    public var delimiter: UInt8
    public var hasHeader: Bool
    /// RFC 4180 quotes (on by default).
    public var quoting: Bool
    public var userColumn: ColumnRef
    public var itemColumn: ColumnRef
    public var ratingColumn: ColumnRef?
    public var timestampColumn: ColumnRef?
    public var timestampKind: TimestampKind

    public init(
        delimiter: UInt8 = UInt8(ascii: ","), hasHeader: Bool = true, quoting: Bool = true,
        userColumn: ColumnRef = .index(0), itemColumn: ColumnRef = .index(1),
        ratingColumn: ColumnRef? = nil, timestampColumn: ColumnRef? = nil,
        timestampKind: TimestampKind = .automatic
    ) {
        self.delimiter = delimiter; self.hasHeader = hasHeader; self.quoting = quoting
        self.userColumn = userColumn; self.itemColumn = itemColumn
        self.ratingColumn = ratingColumn; self.timestampColumn = timestampColumn; self.timestampKind = timestampKind
    }

    /// Options guessed from a header line: the delimiter is the most frequent of `,` tab `;` `|`,
    /// and columns are found by common names (user/user_id/userId, item/item_id/movieId,
    /// rating/score, timestamp/time/date). nil when no user and item columns are recognisable.
    public static func guess(headerLine: String) -> CSVOptions? {
        let candidates: [UInt8] = [UInt8(ascii: ","), UInt8(ascii: "\t"), UInt8(ascii: ";"), UInt8(ascii: "|")]
        let bytes = Array(headerLine.utf8)
        guard let delimiter = candidates.max(by: { a, b in bytes.filter { $0 == a }.count < bytes.filter { $0 == b }.count }),
            bytes.contains(delimiter)
        else { return nil }
        let names = headerLine.split(separator: Character(Unicode.Scalar(delimiter)), omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"")).lowercased() }
        func find(_ options: [String]) -> ColumnRef? {
            for o in options { if let i = names.firstIndex(of: o) { return .index(i) } }
            return nil
        }
        guard let user = find(["user", "user_id", "userid", "uid", "customer_id", "visitorid", "reviewerid"]),
            let item = find(["item", "item_id", "itemid", "iid", "movieid", "movie_id", "product_id", "productid", "asin", "anime_id", "book_id", "isbn"])
        else { return nil }
        return CSVOptions(
            delimiter: delimiter, hasHeader: true, userColumn: user, itemColumn: item,
            ratingColumn: find(["rating", "score", "stars", "feedback", "book-rating"]),
            timestampColumn: find(["timestamp", "time", "date", "datetime", "unix_timestamp", "created_at"]))
    }
}

/// A generic delimited interaction file with column mapping (`CSVOptions`). Without options,
/// the header is used to guess the delimiter and columns (see `CSVOptions.guess`).
/// Empty ratings are NaN; without a timestamp column, file order is the time order.
public struct GenericCSVImporter: DatasetImporter {
    public let format = "csv"
    public let expects = "a delimited file with a header naming user and item columns (or explicit column options)"
    public var options: CSVOptions?

    public init(options: CSVOptions? = nil) { self.options = options }

    public func detect(path: String) -> String? {
        guard DataPath.isFile(path), let line = DataPath.firstLine(path), CSVOptions.guess(headerLine: line) != nil else { return nil }
        return "delimited file with header '\(line.prefix(80))'"
    }

    public func load(path: String) throws -> Dataset {
        let file = try TextFile(path: path)
        var opts: CSVOptions
        if let o = options {
            opts = o
        } else {
            let first = file.bytes.prefix { $0 != 10 }
            guard let g = CSVOptions.guess(headerLine: String(decoding: first, as: UTF8.self)) else {
                throw OsusumeError.invalidArgument("\(path): cannot tell the user and item columns from the first line; give the column options")
            }
            opts = g
        }
        let options = opts
        var b = LogBuilder()
        b.reserve(file.bytes.count / 20)
        var cu = -1, ci = -1, cr: Int? = nil, ct: Int? = nil
        var width = 0
        var sawTime = false

        func resolve(_ ref: ColumnRef, _ header: HeaderColumns?, _ r: Record) throws -> Int {
            switch ref {
            case .index(let i):
                guard i >= 0 else { throw OsusumeError.invalidArgument("column index \(i) is negative") }
                return i
            case .name(let n):
                guard let h = header else { throw OsusumeError.invalidArgument("column \(ref) is named but the file has no header (hasHeader is false)") }
                guard let i = h.index(n) else { throw r.malformed("header has no column '\(n)'; found \(h.names.joined(separator: ", "))") }
                return i
            }
        }
        let format = DelimitedFormat.delimiter(options.delimiter, quoting: options.quoting)
        try file.forEachRecord(format) { r in
            if r.index == 0 {
                let header = options.hasHeader ? HeaderColumns(r) : nil
                cu = try resolve(options.userColumn, header, r); ci = try resolve(options.itemColumn, header, r)
                cr = try options.ratingColumn.map { try resolve($0, header, r) }
                ct = try options.timestampColumn.map { try resolve($0, header, r) }
                width = r.count
                let highest = max(cu, ci, cr ?? 0, ct ?? 0)
                if highest >= width { throw r.malformed("column \(highest) does not exist: the first line has \(width) fields") }
                if options.hasHeader { return }
            }
            try r.expectFields(width, "as many as the first line")
            if r.isEmpty(cu) { throw r.malformed("user is empty") }
            if r.isEmpty(ci) { throw r.malformed("item is empty") }
            let rating = try cr.map { try r.optionalDouble($0, "rating").map(Float.init) ?? .nan } ?? .nan
            var ts: Int64? = nil
            if let c = ct {
                ts = try GenericCSVImporter.timestamp(r, c, options.timestampKind)
                sawTime = true
            }
            let u = b.users.intern(r.bytes(cu), encoding: r.encoding)
            let i = b.items.intern(r.bytes(ci), encoding: r.encoding)
            b.append(user: u, item: i, timestamp: ts, rating: rating)
        }
        let log = b.build(hasTimestamps: sawTime, hasRatings: cr != nil)
        return Dataset(name: DataPath.datasetName(path), format: self.format, log: log)
    }

    static func timestamp(_ r: Record, _ c: Int, _ kind: CSVOptions.TimestampKind) throws -> Int64 {
        let raw = r.bytes(c)
        switch kind {
        case .unixSeconds: return try r.wholeNumber(c, "timestamp")
        case .unixMilliseconds: return try r.wholeNumber(c, "timestamp") / 1000
        case .iso8601:
            if let t = DataDate.parseISO8601(IDInterner.trim(raw)) { return t }
            throw r.malformed("timestamp is not an ISO-8601 date: '\(r.string(c))'")
        case .automatic:
            if let v = NumberParsing.int(raw) { return v }
            if NumberParsing.double(raw) != nil { return try r.wholeNumber(c, "timestamp") }
            if let t = DataDate.parseISO8601(IDInterner.trim(raw)) { return t }
            throw r.malformed("timestamp is neither a number nor an ISO-8601 date: '\(r.string(c))'")
        }
    }
}
