import ArgumentParser
import Foundation
import OsusumeCore
import OsusumeData
import OsusumeStore
import OsusumeModels

/// Options every command shares: threads, quiet, JSON output.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Threads for Osusume's loops and BLAS (default: all cores, or OSUSUME_THREADS).")
    var threads: Int?

    @Flag(help: "Print one JSON document on stdout instead of tables.")
    var json = false

    @Flag(name: .shortAndLong, help: "No progress or log lines on stderr.")
    var quiet = false

    func apply() {
        if let t = threads { Threads.count = t } else { Threads.count = Threads.count }
        if quiet { ProgressReporter.quietByDefault = true }
    }
}

/// Where the data comes from and how it is filtered.
struct DataOptions: ParsableArguments {
    @Option(help: "Data set: a folder or file. Default: the bundled MovieLens ml-latest-small.")
    var data: String?

    @Option(help: "Format (default: detected). One of: \(DatasetLoader.formats.joined(separator: ", ")).")
    var format: String?

    @Flag(help: "Skip malformed data lines instead of stopping at the first one; how many of each kind is logged and recorded in the model manifest.")
    var lenient = false

    @Option(name: .customLong("min-rating"), help: "Keep only interactions rated at least this (explicit → implicit).")
    var minRating: Float?

    @Option(name: .customLong("min-user"), help: "Drop users with fewer interactions than this.")
    var minUser: Int?

    @Option(name: .customLong("min-item"), help: "Drop items with fewer interactions than this.")
    var minItem: Int?

    @Option(name: .customLong("kcore"), help: "Iterative k-core: every user and item keeps at least k interactions.")
    var kcore: Int?

    @Option(name: .customLong("recent-days"), help: "Keep only the last N days of activity.")
    var recentDays: Double?

    @Option(help: "An event store (SQLite file or postgres:// URL) whose feedback events join --data (without --data: the events alone; see --event-rule).")
    var events: String?

    @Option(name: .customLong("event-rule"), help: "What each event kind means: kind=keep|drop|NUMBER pairs, e.g. 'view=drop,like=5,minRating=3' (default: dislike and skip drop, others keep).")
    var eventRule: String?

    var filters: DataFilterSpec {
        DataFilterSpec(minRating: minRating, minUser: minUser, minItem: minItem, kcore: kcore, recentDays: recentDays)
    }

    /// Where the data comes from and how it is filtered, as recorded in a model's manifest.
    /// `--events` without `--data` means the stored events alone; neither means the bundled data.
    func source() throws -> TrainingSource {
        let path = try data ?? (events == nil ? BundledData.path() : nil)
        return TrainingSource(
            data: path.map { URL(fileURLWithPath: $0).standardizedFileURL.path }, format: format, filters: filters,
            eventRule: eventRule, lenient: lenient ? true : nil)
    }

    /// Loads the data set, joins the stored events, and filters, logging what each step did.
    /// Returns the id of the last event included (0 without a store).
    func loadWithEvents() throws -> (dataset: Dataset, eventsThrough: Int64) {
        let start = Date()
        if let rule = eventRule { _ = try EventRule(spec: rule) }
        var stored: [StoredFeedback] = []
        var through: Int64 = 0
        if let url = events {
            let store = try EventStores.openBlocking(url)
            (stored, through) = try blocking {
                let m = try await store.maxID()
                let e = try await store.allEvents(through: m)
                await store.close()
                return (e, m)
            }
            logLine("read \(stored.count) events from \(store.location)")
        }
        let d = try source().load(events: stored, log: { logLine($0) }).dataset
        logLine(
            String(
                format: "loaded %@ (%@): %d users, %d items, %d interactions in %.2fs", d.name, d.format,
                d.log.userCount, d.log.itemCount, d.log.count, Date().timeIntervalSince(start)))
        return (d, through)
    }

    /// Loads and filters the data set (with the stored events, when given).
    func load() throws -> Dataset { try loadWithEvents().dataset }

    var filterDescription: String { filters.description }
}

/// Which split and which evaluation protocol.
struct SplitOptions: ParsableArguments {
    @Option(help: "Split: \(SplitSpec.names.joined(separator: ", ")).")
    var split = "leave-one-out"

    @Option(name: .customLong("split-seed"), help: "Seed of randomised splits.")
    var splitSeed: UInt64 = 42

    @Option(name: .customLong("held-out"), help: "held-out-users: users held out for validation and for test (each).")
    var heldOut: Int?

    @Option(name: .customLong("test-fraction"), help: "temporal / random: share of interactions for test (and as much for validation).")
    var testFraction: Double = 0.1

    @Flag(
        name: .customLong("no-validation"),
        help: "leave-one-out: train on the second-to-last item too, with no validation part (HSTU's protocol; models train their whole schedule).")
    var noValidation = false

    var spec: SplitSpec {
        SplitSpec(name: split, seed: splitSeed, heldOutUsers: heldOut, testFraction: testFraction, validation: !noValidation)
    }

    func splitter() throws -> any DataSplitter { try spec.splitter() }
}

/// Model hyper-parameters given as `--set key=value`.
struct ModelSettings: ParsableArguments {
    @Option(name: .customLong("set"), parsing: .upToNextOption, help: "Model hyper-parameters, key=value (repeatable).")
    var settings: [String] = []

    @Option(name: .customLong("settings-from"), help: "Settings from a JSON file written by `osusume tune` (its \"settings\"); --set overrides them.")
    var settingsFrom: String?

    /// The settings of `--settings-from` (checked to be for `model` when given), then `--set`.
    func dictionary(model: String? = nil) throws -> [String: String] {
        var out: [String: String] = [:]
        if let settingsFrom {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: settingsFrom)) } catch {
                throw ValidationError("--settings-from \(settingsFrom): cannot read it (\(error.localizedDescription))")
            }
            guard let doc = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let values = doc["settings"] as? [String: Any] else {
                throw ValidationError("--settings-from \(settingsFrom): not a JSON object with a \"settings\" object (as `osusume tune --out` writes)")
            }
            if let model, let tunedFor = doc["model"] as? String, tunedFor != model {
                throw ValidationError("--settings-from \(settingsFrom) holds settings for \(tunedFor), not \(model)")
            }
            for (k, v) in values { out[k] = v as? String ?? "\(v)" }
        }
        for s in settings {
            guard let eq = s.firstIndex(of: "="), eq != s.startIndex else {
                throw ValidationError("--set expects key=value, got '\(s)'")
            }
            out[String(s[..<eq])] = String(s[s.index(after: eq)...])
        }
        return out
    }
}

/// The bundled default data set, found from the working directory or beside the executable.
enum BundledData {
    static func path() throws -> String {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["OSUSUME_DATA"] { return env }
        var candidates = [fm.currentDirectoryPath + "/data/ml-latest-small"]
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(dir.appendingPathComponent("data/ml-latest-small").path)
            dir = dir.deletingLastPathComponent()
        }
        for c in candidates where fm.fileExists(atPath: c + "/ratings.csv") { return c }
        throw OsusumeError.file("data/ml-latest-small", problem: "bundled data not found; run from the repository root or pass --data PATH")
    }
}

/// Writes a JSON document to stdout.
func printJSON(_ object: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
}

func encodeToJSONObject<T: Encodable>(_ v: T) throws -> Any {
    try JSONSerialization.jsonObject(with: JSONEncoder().encode(v))
}

/// Rounds metrics for display.
func fmt(_ v: Double, _ digits: Int = 4) -> String { String(format: "%.\(digits)f", v) }

/// A plain text table with aligned columns.
func renderTable(_ header: [String], _ rows: [[String]]) -> String {
    let widths = header.indices.map { c in ([header[c]] + rows.map { c < $0.count ? $0[c] : "" }).map(\.count).max() ?? 0 }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, s in
            i == 0
                ? s.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                : String(repeating: " ", count: widths[i] - s.count) + s
        }.joined(separator: "  ")
    }
    return ([line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")] + rows.map(line)).joined(separator: "\n")
}
