import Foundation
import OsusumeCore

/// One named input format: how to recognise it and how to read it.
public protocol DatasetImporter: Sendable {
    /// The format's name as used on the command line, e.g. "movielens-csv".
    var format: String { get }
    /// What this format reads, in a few words (shown when detection fails).
    var expects: String { get }
    /// nil when `path` is not this format; otherwise a short note of what was found there.
    func detect(path: String) -> String?
    /// A hint when `path` is almost this format (for example a required file is missing).
    func diagnose(path: String) -> String?
    func load(path: String) throws -> Dataset
}

extension DatasetImporter {
    public func diagnose(path: String) -> String? { nil }
}

/// Reads a data set from a file or folder, by named format or by detection.
public enum DatasetLoader {
    /// Every format, most specific first. The generic `csv` format is only chosen by detection
    /// when no specific format matches.
    public static let importers: [any DatasetImporter] = [
        MovieLensCSVImporter(), MovieLensDatImporter(), MovieLens100KImporter(), SASRecImporter(),
        RecBoleImporter(), AnimeCSVImporter(), AnimeCaseRecImporter(), AniListJSONImporter(),
        MALXMLImporter(), GenericCSVImporter(),
    ]

    /// The names of all formats.
    public static var formats: [String] { importers.map(\.format) }

    public static func importer(named format: String) throws -> any DatasetImporter {
        if let i = importers.first(where: { $0.format == format.lowercased() }) { return i }
        throw OsusumeError.invalidArgument("unknown data format '\(format)'; formats: \(formats.joined(separator: ", "))")
    }

    /// Loads `path` as `format`, or detects the format when `format` is nil. Detection must be
    /// unambiguous; otherwise the error lists the candidate formats, or what was found.
    ///
    /// Strict by default: the first malformed line stops the import with its file, line and
    /// reason. `lenient` skips malformed data lines instead, counts them by kind in the result's
    /// `skippedLines` and logs the count; a file that is missing, empty or malformed as a whole
    /// still stops it. Either way a data set without a single interaction is an error.
    public static func load(path: String, format: String? = nil, lenient: Bool = false) throws -> Dataset {
        let chosen = try format.map { try importer(named: $0) } ?? detect(path: path)
        return try read(path: path, lenient: lenient) { try chosen.load(path: path) }
    }

    /// Loads a delimited file with explicit column mapping (format `csv`).
    public static func load(path: String, csv options: CSVOptions, lenient: Bool = false) throws -> Dataset {
        try read(path: path, lenient: lenient) { try GenericCSVImporter(options: options).load(path: path) }
    }

    private static func read(path: String, lenient: Bool, _ importer: () throws -> Dataset) throws -> Dataset {
        let skipped = lenient ? SkippedLines() : nil
        var dataset = try SkippedLines.$current.withValue(skipped) { try importer() }
        if let skipped {
            dataset.skippedLines = skipped.kinds
            logLine(skipped.description)
        }
        guard dataset.log.count > 0 else {
            throw OsusumeError.file(
                path,
                problem: "no interactions: the data is empty or has only headers"
                    + (skipped.map { $0.total > 0 ? " after skipping \($0.total) malformed line\($0.total == 1 ? "" : "s") (\($0.description))" : "" } ?? ""))
        }
        logLine(DatasetSummary(dataset).description)
        return dataset
    }

    /// The one importer whose detector accepts `path`.
    public static func detect(path: String) throws -> any DatasetImporter {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw OsusumeError.file(path, problem: "not found")
        }
        let specific = importers.filter { $0.format != "csv" }
        let matches = specific.compactMap { i in i.detect(path: path).map { (i, $0) } }
        if matches.count == 1 { return matches[0].0 }
        if matches.count > 1 {
            let list = matches.map { "\($0.0.format) (\($0.1))" }.joined(separator: "; ")
            throw OsusumeError.invalidArgument("\(path) could be several formats: \(list). Choose one with --format.")
        }
        let generic = GenericCSVImporter()
        if generic.detect(path: path) != nil { return generic }
        var message = "\(path): no known data format recognised."
        let hints = importers.compactMap { $0.diagnose(path: path) }
        if !hints.isEmpty { message += " " + hints.joined(separator: " ") }
        if isDir.boolValue {
            let names = DataPath.listing(path)
            let shown = names.prefix(20).joined(separator: ", ")
            message += " Found: \(names.isEmpty ? "an empty folder" : shown + (names.count > 20 ? ", …" : ""))."
        }
        message += " Formats: " + importers.map { "\($0.format) (\($0.expects))" }.joined(separator: "; ") + "."
        throw OsusumeError.invalidArgument(message)
    }
}

/// Counts that describe a loaded data set, logged after every load.
public struct DatasetSummary: Sendable, CustomStringConvertible {
    public var name: String
    public var format: String
    public var users: Int
    public var items: Int
    public var interactions: Int
    public var catalogItems: Int
    /// First and last timestamp, when the log has real timestamps.
    public var timeSpan: ClosedRange<Int64>?

    public init(_ d: Dataset) {
        name = d.name; format = d.format
        users = d.log.userCount; items = d.log.itemCount; interactions = d.log.count
        catalogItems = d.catalog.count
        if d.log.hasTimestamps, let lo = d.log.timestamps.min(), let hi = d.log.timestamps.max() { timeSpan = lo...hi }
    }

    public var description: String {
        var s = "loaded \(format) '\(name)': \(users) users, \(items) items, \(interactions) interactions"
        if catalogItems > 0 { s += ", \(catalogItems) catalog items" }
        if let t = timeSpan { s += ", \(DataDate.isoDay(t.lowerBound)) to \(DataDate.isoDay(t.upperBound))" } else { s += ", no timestamps (file order)" }
        return s
    }
}

/// Helpers for paths given to importers.
public enum DataPath {
    public static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }

    public static func isFile(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && !isDir.boolValue
    }

    public static func join(_ folder: String, _ name: String) -> String {
        (folder as NSString).appendingPathComponent(name)
    }

    public static func folder(of path: String) -> String {
        let f = (path as NSString).deletingLastPathComponent
        return f.isEmpty ? "." : f
    }

    public static func lastComponent(_ path: String) -> String {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return (p as NSString).lastPathComponent
    }

    /// The name of a data set at `path`: the folder name, or the file name without extension.
    public static func datasetName(_ path: String) -> String {
        let last = lastComponent(path)
        return isDirectory(path) ? last : (last as NSString).deletingPathExtension
    }

    /// Sorted names in a folder (empty if not a folder).
    public static func listing(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    /// The first bytes of a file (for detection), or nil.
    public static func head(_ path: String, bytes: Int = 4096) -> [UInt8]? {
        guard isFile(path), let h = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? h.close() }
        return [UInt8](h.readData(ofLength: bytes))
    }

    /// The first line of a file as text (for detection), or nil.
    public static func firstLine(_ path: String) -> String? {
        guard let h = head(path) else { return nil }
        let line = h.prefix { $0 != 10 }
        return String(decoding: line, as: UTF8.self).trimmingASCIIWhitespace()
    }
}
