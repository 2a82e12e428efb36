import Foundation
import OsusumeCore
import OsusumeData

/// A user to score: the history (time order) and, for models that keep per-user state, the user's
/// index in the training data (nil for a new or anonymous user).
public struct ScoringQuery: Sendable {
    public var user: Int32?
    public var history: [Int32]
    public var ratings: [Float]?
    public init(user: Int32? = nil, history: [Int32], ratings: [Float]? = nil) {
        self.user = user; self.history = history; self.ratings = ratings
    }
}

/// What `fit` gets: the training interactions with their catalog, and an optional validation
/// callback for models that stop early (the evaluator supplies it; it returns NDCG@10).
public struct TrainingData: @unchecked Sendable {
    public var log: InteractionLog
    public var catalog: Catalog
    public var userFeatures: [String: [String: String]]
    public var validation: [EvalCase]
    public var validate: ((any Recommender) -> Double)?
    /// Where a model that trains for a while keeps checkpoints (resume after an interruption).
    public var checkpointDirectory: URL?
    public var seed: UInt64

    public init(
        log: InteractionLog, catalog: Catalog = Catalog(), userFeatures: [String: [String: String]] = [:],
        validation: [EvalCase] = [], validate: ((any Recommender) -> Double)? = nil,
        checkpointDirectory: URL? = nil, seed: UInt64 = 42
    ) {
        self.log = log; self.catalog = catalog; self.userFeatures = userFeatures
        self.validation = validation; self.validate = validate
        self.checkpointDirectory = checkpointDirectory; self.seed = seed
    }
}

/// Hyper-parameters of a model: Codable with defaults, overridable by `key=value` strings.
public protocol ModelConfig: Codable, Sendable {
    init()
}

extension ModelConfig {
    /// A copy with `settings` applied. Keys must exist; values are parsed by the type of the
    /// default (number, bool, string). An unknown key or bad value is an error naming the key.
    public func applying(_ settings: [String: String]) throws -> Self {
        if settings.isEmpty { return self }
        let data = try JSONEncoder().encode(self)
        guard var dict = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { return self }
        // Property types come from the default values (Mirror), so a Bool is never mistaken
        // for a number whatever the platform's JSON bridging does.
        var kinds: [String: Any] = [:]
        for child in Mirror(reflecting: self).children {
            if let label = child.label { kinds[label.hasPrefix("_") ? String(label.dropFirst()) : label] = child.value }
        }
        for (key, raw) in settings.sorted(by: { $0.key < $1.key }) {
            guard let current = kinds[key] else {
                throw OsusumeError.invalidArgument("unknown setting '\(key)'; valid: \(kinds.keys.sorted().joined(separator: ", "))")
            }
            // By declared type, not by value: a nil optional casts to every optional type
            // (`nil is Bool?` holds for a `Double?`).
            let kind = type(of: current)
            func declared(_ types: Any.Type...) -> Bool { types.contains { $0 == kind } }
            if declared(Bool.self, Bool?.self) {
                switch raw.lowercased() {
                case "true", "yes", "1", "on": dict[key] = true
                case "false", "no", "0", "off": dict[key] = false
                default: throw OsusumeError.invalidArgument("setting '\(key)' expects true or false, got '\(raw)'")
                }
            } else if declared(Int.self, Int?.self) {
                guard let v = Int(raw) else { throw OsusumeError.invalidArgument("setting '\(key)' expects an integer, got '\(raw)'") }
                dict[key] = v
            } else if declared(Float.self, Double.self, Float?.self, Double?.self) {
                guard let v = Double(raw), v.isFinite else { throw OsusumeError.invalidArgument("setting '\(key)' expects a number, got '\(raw)'") }
                dict[key] = v
            } else if declared(String.self, String?.self) {
                dict[key] = raw
            } else if declared([Int].self) {
                let parts = raw.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard parts.allSatisfy({ $0 != nil }) else { throw OsusumeError.invalidArgument("setting '\(key)' expects integers separated by commas, got '\(raw)'") }
                dict[key] = parts.map { $0! }
            } else {
                throw OsusumeError.invalidArgument("setting '\(key)' cannot be set from the command line")
            }
        }
        let out = try JSONSerialization.data(withJSONObject: dict)
        do { return try JSONDecoder().decode(Self.self, from: out) } catch {
            throw OsusumeError.invalidArgument("settings \(settings) do not fit the model's configuration: \(error)")
        }
    }

    /// The configuration as a JSON value (exact types: a Bool stays a Bool). Optional settings
    /// left unset are null rather than absent, so that they are listed with the rest.
    public func jsonValue() -> JSONValue {
        guard let d = try? JSONEncoder().encode(self), let v = try? JSONDecoder().decode(JSONValue.self, from: d) else { return .null }
        guard case .object(var object) = v else { return v }
        for key in unsetOptionalSettings() where object[key] == nil { object[key] = .null }
        return .object(object)
    }

    /// The configuration as a JSON-friendly dictionary (for manifests and `--json` output);
    /// optional settings left unset are `NSNull`.
    public func dictionary() -> [String: Any] {
        guard let d = try? JSONEncoder().encode(self),
            var o = try? JSONSerialization.jsonObject(with: d) as? [String: Any]
        else { return [:] }
        for key in unsetOptionalSettings() where o[key] == nil { o[key] = NSNull() }
        return o
    }

    /// Names of the optional settings that are nil (the encoder leaves them out).
    private func unsetOptionalSettings() -> [String] {
        Mirror(reflecting: self).children.compactMap { child in
            guard let label = child.label else { return nil }
            let value = Mirror(reflecting: child.value)
            guard value.displayStyle == .optional, value.children.isEmpty else { return nil }
            return label.hasPrefix("_") ? String(label.dropFirst()) : label
        }
    }
}

/// The one protocol every model implements: fit on a training log, score histories against all
/// items, and hand over / take back its learned state for model files. The evaluator, not the
/// model, owns the evaluation protocol.
public protocol Recommender: AnyObject {
    associatedtype Config: ModelConfig
    /// Name used by `--model` and in model files, e.g. "ease".
    static var kind: String { get }
    var config: Config { get }
    init(config: Config)

    /// Number of items scored (the training log's item count).
    var itemCount: Int { get }

    func fit(_ data: TrainingData) throws

    /// Writes `queries.count × itemCount` scores, row-major, into `scores`. Higher is better.
    /// Items in a history need not be masked here: the caller excludes them.
    func score(_ queries: [ScoringQuery], into scores: UnsafeMutablePointer<Float>)

    /// The learned state, as named tensors (written to weights.safetensors).
    func state() throws -> SafeTensors
    /// Restores learned state saved by `state()`.
    func restore(_ state: SafeTensors) throws

    /// Whether a query without a training user (a new or anonymous user's history) can be
    /// scored. False for models with one learned vector per user and no fold-in (NeuMF).
    var canScoreNewUsers: Bool { get }
}

extension Recommender {
    public var canScoreNewUsers: Bool { true }
    public var configDictionary: [String: Any] { config.dictionary() }
    public var configJSON: JSONValue { config.jsonValue() }

    /// Scores one query into a new array.
    public func score(_ query: ScoringQuery) -> [Float] {
        var out = [Float](repeating: 0, count: itemCount)
        out.withUnsafeMutableBufferPointer { score([query], into: $0.baseAddress!) }
        return out
    }
}

/// Models that can say which history items contributed most to an item's score.
public protocol ExplainableRecommender: Recommender {
    /// Contribution of each history item to `item`'s score, aligned with `query.history`.
    func contributions(of item: Int32, for query: ScoringQuery) -> [Float]
    /// The same for several items at once (a model may share work across them).
    func contributions(of items: [Int32], for query: ScoringQuery) -> [[Float]]
}

extension ExplainableRecommender {
    public func contributions(of items: [Int32], for query: ScoringQuery) -> [[Float]] {
        items.map { contributions(of: $0, for: query) }
    }
}

/// Models that predict ratings (in the data's units) besides ranking.
public protocol RatingPredictor {
    /// Whether the model saw ratings in training (otherwise its predictions mean nothing).
    var predictsRatings: Bool { get }
    /// The predicted rating of each of `items[q]` for query q.
    func predictRatings(_ queries: [ScoringQuery], items: [[Int32]]) -> [[Float]]
}
