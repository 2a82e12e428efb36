import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels

/// One tunable setting and the range it is drawn from.
public struct SearchDimension: Codable, Sendable, Equatable {
    public enum Scale: String, Codable, Sendable { case linear, log, integer, logInteger, choice }
    public var scale: Scale
    public var low: Double?
    public var high: Double?
    public var choices: [String]?

    public static func range(_ low: Double, _ high: Double, _ scale: Scale = .linear) -> SearchDimension {
        SearchDimension(scale: scale, low: low, high: high, choices: nil)
    }
    public static func choice(_ values: [String]) -> SearchDimension { SearchDimension(scale: .choice, low: nil, high: nil, choices: values) }

    func sample(_ rng: inout SeededRandom) -> String {
        let u = Double(rng.next() >> 11) * 0x1p-53
        switch scale {
        case .choice: return choices![min(choices!.count - 1, Int(u * Double(choices!.count)))]
        case .linear: return String(low! + u * (high! - low!))
        case .log: return String(exp(log(low!) + u * (log(high!) - log(low!))))
        case .integer: return String(Int((low! + u * (high! - low! + 1)).rounded(.down)))
        case .logInteger: return String(Int(exp(log(low!) + u * (log(high! + 1) - log(low!))).rounded(.down)))
        }
    }

    public var description: String {
        switch scale {
        case .choice: return choices!.joined(separator: "|")
        default: return "\(low!)…\(high!)\(scale == .linear ? "" : " (\(scale.rawValue))")"
        }
    }
}

/// The settings `tune` searches, each with its range.
public struct SearchSpace: Codable, Sendable, Equatable {
    public var dimensions: [String: SearchDimension]
    public init(_ dimensions: [String: SearchDimension]) { self.dimensions = dimensions }

    /// Parses `key=low:high[:log|int|logint]` or `key=a|b|c`.
    public static func parse(_ specs: [String]) throws -> SearchSpace {
        var dims: [String: SearchDimension] = [:]
        for spec in specs {
            guard let eq = spec.firstIndex(of: "="), eq != spec.startIndex else {
                throw OsusumeError.invalidArgument("search range '\(spec)': expected key=low:high[:log|int|logint] or key=a|b|c")
            }
            let key = String(spec[..<eq]), body = String(spec[spec.index(after: eq)...])
            if body.contains("|") || !body.contains(":") {
                let values = body.split(separator: "|").map(String.init)
                guard !values.isEmpty else { throw OsusumeError.invalidArgument("search range '\(spec)': no choices") }
                dims[key] = .choice(values)
                continue
            }
            let parts = body.split(separator: ":").map(String.init)
            guard parts.count == 2 || parts.count == 3, let low = Double(parts[0]), let high = Double(parts[1]), low <= high else {
                throw OsusumeError.invalidArgument("search range '\(spec)': expected key=low:high[:log|int|logint] with low ≤ high")
            }
            let scale: SearchDimension.Scale
            switch parts.count == 3 ? parts[2] : "linear" {
            case "linear": scale = .linear
            case "log": scale = .log
            case "int": scale = .integer
            case "logint": scale = .logInteger
            default: throw OsusumeError.invalidArgument("search range '\(spec)': scale must be log, int or logint, got '\(parts[2])'")
            }
            if scale == .log || scale == .logInteger, low <= 0 {
                throw OsusumeError.invalidArgument("search range '\(spec)': a log scale needs low > 0")
            }
            dims[key] = .range(low, high, scale)
        }
        return SearchSpace(dims)
    }

    /// Ranges around each model's defaults, from the values reported for it in the literature.
    public static func defaults(for kind: String) -> SearchSpace? {
        switch kind {
        case "ease": return SearchSpace(["lambda": .range(10, 5000, .log)])
        case "localease": return SearchSpace(["lambda": .range(10, 5000, .log), "neighbours": .choice(["128", "256", "512"])])
        case "itemknn": return SearchSpace(["neighbours": .range(10, 1000, .logInteger), "shrink": .range(0, 100)])
        case "puresvd": return SearchSpace(["factors": .range(8, 512, .logInteger)])
        case "als":
            return SearchSpace([
                "factors": .choice(["32", "64", "128", "256"]), "regularization": .range(0.001, 10, .log), "alpha": .range(0.5, 50, .log),
            ])
        case "bpr": return SearchSpace(["learningRate": .range(0.005, 0.2, .log), "regularization": .range(1e-5, 1e-2, .log)])
        case "multivae", "multidae":
            return SearchSpace([
                "learningRate": .range(1e-4, 1e-2, .log), "dropout": .range(0.2, 0.7), "weightDecay": .choice(["0", "0.001", "0.01"]),
            ])
        case "recvae": return SearchSpace(["learningRate": .range(1e-4, 3e-3, .log), "gamma": .range(0.001, 0.02, .log), "dropout": .range(0.2, 0.7)])
        case "sasrec", "bert4rec": return SearchSpace(["learningRate": .range(3e-4, 5e-3, .log), "dropout": .range(0.1, 0.5)])
        case "lightgcn": return SearchSpace(["learningRate": .range(1e-3, 2e-2, .log), "regularization": .range(1e-6, 1e-3, .log), "layers": .choice(["1", "2", "3"])])
        default: return nil
        }
    }

    public func sample(_ rng: inout SeededRandom) -> [String: String] {
        var out: [String: String] = [:]
        for key in dimensions.keys.sorted() { out[key] = dimensions[key]!.sample(&rng) }
        return out
    }
}

/// One fit of one candidate, scored on the validation part only.
public struct TuningTrial: Codable, Sendable {
    public var number: Int
    /// The sampled settings (trial 0: the model's defaults, so the winner is never worse on validation).
    public var settings: [String: String]
    /// Epochs given to this fit (models trained by epochs), nil otherwise.
    public var epochs: Int?
    /// Successive-halving rung (0 = the shortest fits).
    public var rung: Int
    public var validationNDCG10: Double
    public var seconds: Double
    /// (epoch, validation NDCG@10) during the fit, for models trained by epochs.
    public var curve: [[Double]]
    public var error: String?
}

public struct TuningResult: Codable, Sendable {
    public var model: String
    /// "random search" or "successive halving (η = 3)".
    public var method: String
    public var space: [String: SearchDimension]
    /// Settings held fixed for every trial (`--set`).
    public var fixed: [String: String]
    public var budgetSeconds: Double
    public var trials: [TuningTrial]
    /// The winner's settings (fixed ones included), ready for `--settings-from`.
    public var settings: [String: String]
    public var winner: Int
    public var seconds: Double
}

/// Searches a model's settings within a time or trial budget, selecting on the validation part
/// of a split only; the test part is never read here (the caller measures the winner once).
/// Models trained by epochs get successive halving (Jamieson & Talwalkar 2016; Li et al.'s
/// Hyperband brackets): each bracket fits η² candidates for a ninth of the epochs, the best third
/// for a third, the best for all of them; brackets repeat while the budget lasts. Other models get
/// random search. Trial 0 is always the defaults.
public enum Tuner {
    public static let eta = 3

    public static func run(
        kind: String, kinds: ModelKinds, dataset: Dataset, split: SplitResult, space: SearchSpace,
        fixed: [String: String] = [:], budgetSeconds: Double, maxTrials: Int = .max, seed: UInt64 = 42,
        log: (String) -> Void = { _ in }
    ) throws -> TuningResult {
        guard !split.validation.isEmpty else {
            throw OsusumeError.invalidArgument("tune selects on the validation part, and this split has none (use leave-one-out or a split with validation)")
        }
        guard !space.dimensions.isEmpty else { throw OsusumeError.invalidArgument("tune: nothing to search (give --range key=low:high)") }
        let probe = try kinds.make(kind, settings: fixed)
        for key in space.dimensions.keys where probe.configDictionary[key] == nil {
            throw OsusumeError.invalidArgument("tune: \(kind) has no setting '\(key)'; its settings: \(probe.configDictionary.keys.sorted().joined(separator: ", "))")
        }
        let fullEpochs = probe is any EpochTrainable ? (probe.configDictionary["epochs"] as? Int) : nil
        var rng = SeededRandom(seed: seed ^ 0x7E_0E)
        var options = EvaluationOptions()
        options.ks = [10]
        options.showProgress = false
        let validator = RankingEvaluator(trainingLog: split.train, options: options)
        let start = Date()
        var trials: [TuningTrial] = []
        func elapsed() -> Double { Date().timeIntervalSince(start) }

        func fit(_ settings: [String: String], epochs: Int?, rung: Int) -> TuningTrial {
            var all = fixed.merging(settings) { $1 }
            if let epochs { all["epochs"] = String(epochs) }
            let t0 = Date()
            var trial = TuningTrial(
                number: trials.count, settings: settings, epochs: epochs, rung: rung, validationNDCG10: 0, seconds: 0, curve: [], error: nil)
            do {
                let model = try kinds.make(kind, settings: all)
                let training = TrainingData(
                    log: split.train, catalog: dataset.catalog, userFeatures: dataset.userFeatures, validation: split.validation,
                    validate: { m in (try? validator.evaluate(m, cases: split.validation))?.metrics["NDCG@10"] ?? 0 }, seed: seed)
                try model.fit(training)
                trial.validationNDCG10 = try validator.evaluate(model, cases: split.validation).metrics["NDCG@10"] ?? 0
                trial.curve = ((model as? any EpochTrainable)?.trainingCurve?.epochs ?? []).compactMap { r in
                    r.validationNDCG10.map { [Double(r.epoch), $0] }
                }
            } catch {
                trial.error = "\(error)"
            }
            trial.seconds = Date().timeIntervalSince(t0)
            trials.append(trial)
            log(
                "tune \(kind) trial \(trial.number)\(epochs.map { " (\($0) epochs, rung \(rung))" } ?? ""): "
                    + (trial.error.map { "failed: \($0)" } ?? String(format: "validation NDCG@10 %.4f", trial.validationNDCG10))
                    + String(format: " in %.1fs; ", trial.seconds) + configLine(settings)
                    + String(format: " [%.0f of %.0f s]", elapsed(), budgetSeconds))
            return trial
        }
        func budgetLeft() -> Bool { elapsed() < budgetSeconds && trials.count < maxTrials }

        let method: String
        if let fullEpochs, fullEpochs >= eta * eta {
            method = "successive halving (η = \(eta), \(fullEpochs / (eta * eta))/\(fullEpochs / eta)/\(fullEpochs) epochs)"
            var bracket = 0
            while budgetLeft() {
                var candidates = (0..<(eta * eta)).map { i in bracket == 0 && i == 0 ? [:] : space.sample(&rng) }
                for rung in 0...2 {
                    let epochs = rung == 2 ? fullEpochs : fullEpochs / (rung == 0 ? eta * eta : eta)
                    var scored: [(TuningTrial, [String: String])] = []
                    for c in candidates where budgetLeft() { scored.append((fit(c, epochs: epochs, rung: rung), c)) }
                    let keep = max(1, candidates.count / eta)
                    candidates = scored.filter { $0.0.error == nil }.sorted { $0.0.validationNDCG10 > $1.0.validationNDCG10 }.prefix(keep).map(\.1)
                    if rung < 2 && candidates.isEmpty { break }
                }
                bracket += 1
            }
        } else {
            method = "random search"
            var first = true
            while budgetLeft() {
                _ = fit(first ? [:] : space.sample(&rng), epochs: nil, rung: 0)
                first = false
            }
        }
        // The winner: the best validation score among the fits that ran longest.
        let ok = trials.filter { $0.error == nil }
        guard let topRung = ok.map(\.rung).max(), let best = ok.filter({ $0.rung == topRung }).max(by: { $0.validationNDCG10 < $1.validationNDCG10 }) else {
            throw OsusumeError.invalidArgument("tune: no trial finished (\(trials.first?.error ?? "budget too small for one fit"))")
        }
        var settings = fixed.merging(best.settings) { $1 }
        if let epochs = best.epochs { settings["epochs"] = String(epochs) }
        return TuningResult(
            model: kind, method: method, space: space.dimensions, fixed: fixed, budgetSeconds: budgetSeconds, trials: trials,
            settings: settings, winner: best.number, seconds: elapsed())
    }

    public static func configLine(_ s: [String: String]) -> String {
        s.isEmpty ? "defaults" : s.keys.sorted().map { "\($0)=\(shortNumber(s[$0]!))" }.joined(separator: " ")
    }

    static func shortNumber(_ s: String) -> String {
        guard s.contains("."), let v = Double(s) else { return s }
        return String(format: "%.4g", v)
    }
}
