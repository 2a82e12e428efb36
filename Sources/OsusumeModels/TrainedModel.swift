import Foundation
import OsusumeCore
import OsusumeData

/// A fitted model with everything needed to serve it without the original data: external ids,
/// the users' training histories, the catalog, and a manifest describing how it was made.
///
/// On disk it is a directory, written atomically:
/// - `manifest.json`: format version, kind, configuration, data set summary and fingerprint;
/// - `weights.safetensors`: the model's learned tensors (real safetensors format);
/// - `ids.json`: item and user ids in index order;
/// - `histories.safetensors`: users' training histories (CSR: `ptr` I64, `items` I32);
/// - `catalog.json`: catalog entries of the model's items;
/// - `curve.json`: per-epoch loss and validation metric, for models trained in epochs.
public final class TrainedModel {
    public static let formatVersion = 1

    public let model: any Recommender
    public let itemIDs: IDMap
    public let userIDs: IDMap
    /// Training history of each known user, time order.
    public let histories: [[Int32]]
    public let catalog: Catalog
    public var manifest: ModelManifest

    public init(model: any Recommender, itemIDs: IDMap, userIDs: IDMap, histories: [[Int32]], catalog: Catalog, manifest: ModelManifest) {
        self.model = model; self.itemIDs = itemIDs; self.userIDs = userIDs
        self.histories = histories; self.catalog = catalog; self.manifest = manifest
    }

    /// Fits `model` on `dataset`'s log and wraps it (`wrap`). `source` records where the data
    /// came from (what a retrain reloads), `eventsThrough` the last stored event it holds.
    public static func fit(
        _ model: any Recommender, dataset: Dataset, training: TrainingData? = nil,
        source: TrainingSource? = nil, eventsThrough: Int64 = 0
    ) throws -> TrainedModel {
        let start = Date()
        try model.fit(training ?? TrainingData(log: dataset.log, catalog: dataset.catalog, userFeatures: dataset.userFeatures))
        return wrap(model, fittedOn: dataset, fitSeconds: Date().timeIntervalSince(start), source: source, eventsThrough: eventsThrough)
    }

    /// The one place a model's manifest is made: wraps a model fitted on `dataset.log` with that
    /// log's ids and histories, the catalog entries of its items, and a manifest of kind,
    /// configuration, data summary and fingerprint (command line, evaluation and retraining alike).
    public static func wrap(
        _ model: any Recommender, fittedOn dataset: Dataset, fitSeconds: Double,
        source: TrainingSource? = nil, eventsThrough: Int64 = 0
    ) -> TrainedModel {
        let log = dataset.log
        var catalog = Catalog()
        for id in log.itemIDs.ids { if let c = dataset.catalog[id] { catalog.upsert(c) } }
        var manifest = ModelManifest(
            kind: type(of: model).kind, config: model.configJSON,
            dataset: FittedDataSummary(dataset), fitSeconds: fitSeconds)
        manifest.trainingSource = source
        manifest.eventsThrough = eventsThrough
        return TrainedModel(
            model: model, itemIDs: log.itemIDs, userIDs: log.userIDs,
            histories: log.sequences(), catalog: catalog, manifest: manifest)
    }

    // MARK: lookups

    /// The dense index of a known user.
    public func userIndex(_ id: String) throws -> Int32 {
        guard let u = userIDs.index(of: id) else { throw OsusumeError.unknownID(kind: "user", id: id) }
        return u
    }

    /// Resolves an item given by id or by title (exact, case- and accent-insensitive; then a
    /// unique prefix). An ambiguous or unknown reference is an error naming it.
    public func resolveItem(_ ref: String) throws -> Int32 {
        try titleSearch.resolveItem(ref, ids: itemIDs, describe: title(of:))
    }

    public func title(of item: Int32) -> String {
        let id = itemIDs.id(of: item)
        if let t = catalog[id]?.title, !t.isEmpty { return t }
        return id
    }

    /// Title search over the catalog, most-watched first (training histories count the views).
    public private(set) lazy var titleSearch: TitleSearchIndex = {
        var counts = [Float](repeating: 0, count: itemIDs.count)
        for h in histories { for i in h where i >= 0 && Int(i) < counts.count { counts[Int(i)] += 1 } }
        return TitleSearchIndex(titles: itemIDs.ids.map { catalog[$0]?.title ?? "" }, popularity: counts)
    }()

    // MARK: recommending

    public struct Recommendation: Sendable {
        public var item: Int32
        public var score: Float
    }

    /// Top-k for a history (known user or ad hoc), excluding the history and `exclude`.
    public func recommend(history: [Int32], user: Int32? = nil, k: Int, exclude: Set<Int32> = []) -> [Recommendation] {
        var scores = model.score(ScoringQuery(user: user, history: history))
        TopK.exclude(history, from: &scores)
        TopK.exclude(exclude, from: &scores)
        return TopK.select(scores, k: k).map { Recommendation(item: $0, score: scores[Int($0)]) }
    }

    /// The items most users' training histories hold, for a history with nothing known.
    public func mostPopular(k: Int) -> [Recommendation] {
        var counts = [Float](repeating: 0, count: itemIDs.count)
        for h in histories { for i in Set(h) where i >= 0 && Int(i) < counts.count { counts[Int(i)] += 1 } }
        return TopK.select(counts, k: k).map { Recommendation(item: $0, score: counts[Int($0)]) }
    }

    /// Items most similar to `item` (`SimilarItems`: the model's own neighbours where it has
    /// them, else its scores for a one-item history).
    public func similar(to item: Int32, k: Int) -> [Recommendation] {
        SimilarItems.rank(of: item, k: k, neighbours: (model as? ItemKNN)?.neighbours(of: item)) {
            model.score(ScoringQuery(history: [item]))
        }.map { Recommendation(item: $0.item, score: $0.score) }
    }

    // MARK: files

    public func save(to url: URL) throws {
        let st = try model.state()
        try AtomicFile.writeDirectory(at: url) { dir in
            let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            var man = manifest
            man.formatVersion = TrainedModel.formatVersion
            try enc.encode(man).write(to: dir.appendingPathComponent("manifest.json"))
            try st.write(to: dir.appendingPathComponent("weights.safetensors"))
            try JSONSerialization.data(withJSONObject: ["items": itemIDs.ids, "users": userIDs.ids])
                .write(to: dir.appendingPathComponent("ids.json"))
            var h = SafeTensors()
            var ptr: [Int64] = [0]; var items: [Int32] = []
            for seq in histories { items += seq; ptr.append(Int64(items.count)) }
            h.set("ptr", int64s: ptr, shape: [ptr.count])
            h.set("items", int32s: items, shape: [items.count])
            try h.encoded().write(to: dir.appendingPathComponent("histories.safetensors"))
            try JSONEncoder().encode(catalog.items).write(to: dir.appendingPathComponent("catalog.json"))
            if let curve = (model as? any EpochTrainable)?.trainingCurve {
                try enc.encode(curve).write(to: dir.appendingPathComponent("curve.json"))
            }
        }
    }

    /// Throws unless this model was fitted on exactly `log` (same interactions, same item and
    /// user index space): evaluating a saved model is only honest on the split it was fitted on.
    public func requireFitted(on log: InteractionLog) throws {
        let here = FittedDataSummary.fingerprint(log)
        guard manifest.dataset.fingerprint == here, itemIDs.ids == log.itemIDs.ids, userIDs.ids == log.userIDs.ids else {
            throw OsusumeError.invalidArgument(
                "this \(manifest.kind) model was fitted on other data (training fingerprint \(manifest.dataset.fingerprint), this split's training part \(here)): evaluate a saved model only with the data, filters and split it was saved from"
            )
        }
    }

    /// Loads a model directory; `kinds` are the model kinds the application offers (its manifest's
    /// kind must be one of them).
    public static func load(from url: URL, kinds: ModelKinds) throws -> TrainedModel {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue else {
            throw OsusumeError.file(url.path, problem: "not a model directory (expected manifest.json, weights.safetensors, …)")
        }
        func read(_ name: String) throws -> Data {
            let p = url.appendingPathComponent(name)
            do { return try Data(contentsOf: p) } catch { throw OsusumeError.file(p.path, problem: "missing or unreadable") }
        }
        let manifest: ModelManifest
        do { manifest = try JSONDecoder().decode(ModelManifest.self, from: try read("manifest.json")) } catch let e as OsusumeError { throw e } catch {
            throw OsusumeError.file(url.appendingPathComponent("manifest.json").path, problem: "invalid manifest: \(error)")
        }
        guard manifest.formatVersion <= formatVersion else {
            throw OsusumeError.modelFile("format version \(manifest.formatVersion) is newer than this build reads (\(formatVersion))")
        }
        let configData = try JSONEncoder().encode(manifest.config)
        let model: any Recommender
        do { model = try kinds.make(manifest.kind, configJSON: configData) } catch let OsusumeError.invalidArgument(why) {
            throw OsusumeError.file(url.appendingPathComponent("manifest.json").path, problem: "\(why) (the model kinds this application was built with)")
        }
        // Mapped, not read: a model's weights may be gigabytes, shared by every process serving it.
        try model.restore(try SafeTensors(mapping: url.appendingPathComponent("weights.safetensors")))
        guard let ids = try JSONSerialization.jsonObject(with: try read("ids.json")) as? [String: [String]],
            let items = ids["items"], let users = ids["users"]
        else {
            throw OsusumeError.file(url.appendingPathComponent("ids.json").path, problem: "expected {\"items\": [...], \"users\": [...]}")
        }
        guard items.count == model.itemCount else {
            throw OsusumeError.modelFile("ids.json lists \(items.count) items but the weights score \(model.itemCount)")
        }
        let h = try SafeTensors(data: try read("histories.safetensors"), source: url.appendingPathComponent("histories.safetensors").path)
        let ptr = try h.int64s("ptr").values, flat = try h.int32s("items").values
        guard ptr.count == users.count + 1, Int(ptr.last ?? -1) == flat.count else {
            throw OsusumeError.modelFile("histories.safetensors does not match ids.json")
        }
        let histories = (0..<users.count).map { Array(flat[Int(ptr[$0])..<Int(ptr[$0 + 1])]) }
        let catalogItems = (try? JSONDecoder().decode([CatalogItem].self, from: try read("catalog.json"))) ?? []
        return TrainedModel(
            model: model, itemIDs: IDMap(items), userIDs: IDMap(users), histories: histories,
            catalog: Catalog(catalogItems), manifest: manifest)
    }
}

/// Counts and a fingerprint of the data a model was fitted on.
public struct FittedDataSummary: Codable, Sendable, Equatable {
    public var name: String
    public var format: String
    public var users: Int
    public var items: Int
    public var interactions: Int
    /// FNV-1a over the interactions (user, item) in order: equal logs give equal fingerprints.
    public var fingerprint: String
    /// Malformed lines a lenient read left out, by kind (nil: read strictly, or nothing skipped).
    public var skippedLines: [SkippedLines.Kind]?

    public init(_ d: Dataset) {
        name = d.name; format = d.format
        users = d.log.userCount; items = d.log.itemCount; interactions = d.log.count
        fingerprint = FittedDataSummary.fingerprint(d.log)
        skippedLines = d.skippedLines.isEmpty ? nil : d.skippedLines
    }

    public static func fingerprint(_ log: InteractionLog) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        @inline(__always) func mix(_ v: UInt64) { h = (h ^ v) &* 0x0000_0100_0000_01B3 }
        mix(UInt64(log.userCount)); mix(UInt64(log.itemCount))
        for r in 0..<log.count { mix(UInt64(UInt32(bitPattern: log.users[r])) << 32 | UInt64(UInt32(bitPattern: log.items[r]))) }
        return String(format: "%016llx", h)
    }
}

public struct ModelManifest: Codable, Sendable {
    public var formatVersion: Int = TrainedModel.formatVersion
    public var kind: String
    public var config: JSONValue
    public var dataset: FittedDataSummary
    public var createdAt: String
    public var fitSeconds: Double
    /// Free-form notes such as the split and metrics measured when the model was made.
    public var notes: [String: JSONValue]

    public init(kind: String, config: JSONValue, dataset: FittedDataSummary, fitSeconds: Double, notes: [String: JSONValue] = [:]) {
        self.kind = kind
        self.config = config
        self.dataset = dataset
        self.createdAt = ISO8601DateFormatter().string(from: Date())
        self.fitSeconds = fitSeconds
        self.notes = notes
    }
}

/// A JSON value that round-trips through Codable (for configurations of any model).
public enum JSONValue: Codable, Sendable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

extension ModelManifest {
    /// Where the training data came from (recorded by `train`; what a retrain reloads).
    public var trainingSource: TrainingSource? {
        get {
            guard let v = notes["training"], let d = try? JSONEncoder().encode(v) else { return nil }
            return try? JSONDecoder().decode(TrainingSource.self, from: d)
        }
        set {
            guard let s = newValue, let d = try? JSONEncoder().encode(s), let v = try? JSONDecoder().decode(JSONValue.self, from: d) else {
                notes["training"] = nil; return
            }
            notes["training"] = v
        }
    }

    /// The id of the last stored feedback event in the training data (0: none): events after
    /// it are folded into users' histories at request time.
    public var eventsThrough: Int64 {
        get { if case .number(let n)? = notes["events_through"] { return Int64(n) }; return 0 }
        set { notes["events_through"] = newValue == 0 ? nil : .number(Double(newValue)) }
    }
}
