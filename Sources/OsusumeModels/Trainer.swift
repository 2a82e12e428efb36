import Foundation
import OsusumeCore
import OsusumeData

/// A model trained in epochs by the shared `Trainer`: the trainer owns the loop, validation,
/// early stopping, checkpoints and the training curve; the model owns one epoch.
public protocol EpochTrainable: Recommender {
    /// Builds parameters and optimizer state for `data` (called once before the first epoch,
    /// and before a checkpoint is restored).
    func prepare(_ data: TrainingData) throws
    /// One pass over the training data. Calls `report(done, total, runningLoss)` as it goes and
    /// returns the epoch's mean loss.
    func trainEpoch(_ epoch: Int, report: (Int, Int, Float) -> Void) throws -> Float
    /// Everything needed to continue training exactly: weights, optimizer moments, RNG state.
    func checkpointState() throws -> SafeTensors
    func restoreCheckpoint(_ state: SafeTensors) throws
    /// The curve of the last `fit`, saved beside the model.
    var trainingCurve: TrainingCurve? { get set }
}

public struct TrainerConfig: Codable, Sendable, Equatable {
    public var epochs: Int
    /// Validations without improvement before stopping; 0 never stops early.
    public var patience: Int
    /// Validate every this many epochs.
    public var validateEvery: Int
    public init(epochs: Int, patience: Int = 5, validateEvery: Int = 1) {
        self.epochs = epochs; self.patience = patience; self.validateEvery = validateEvery
    }
}

public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    public var loss: Double
    /// Validation NDCG@10 (full ranking) when the epoch was validated.
    public var validationNDCG10: Double?
    public var seconds: Double
}

/// Per-epoch loss and validation metric, the best epoch, and why training stopped.
public struct TrainingCurve: Codable, Sendable, Equatable {
    public var epochs: [EpochRecord] = []
    public var bestEpoch: Int?
    public var bestValidationNDCG10: Double?
    public var stoppedEarly = false
    public var resumedFromEpoch: Int?
    public var totalSeconds: Double = 0
    public init() {}
}

public enum Trainer {
    /// Trains `model` for up to `config.epochs`, validating with `data.validate` (NDCG@10) and
    /// keeping the best weights. With `data.checkpointDirectory` set, the state after every epoch
    /// is written there (atomically) and a later run with the same directory resumes from it.
    @discardableResult
    public static func run(_ model: any EpochTrainable, data: TrainingData, config: TrainerConfig) throws -> TrainingCurve {
        guard config.epochs > 0 else { throw OsusumeError.invalidArgument("epochs must be > 0") }
        let kind = type(of: model).kind
        try model.prepare(data)
        var curve = TrainingCurve()
        var firstEpoch = 1
        var best: SafeTensors?
        var sinceImprovement = 0
        let dir = data.checkpointDirectory
        let lastURL = dir?.appendingPathComponent("\(kind)-last.safetensors")
        let bestURL = dir?.appendingPathComponent("\(kind)-best.safetensors")
        let curveURL = dir?.appendingPathComponent("\(kind)-curve.json")
        if let lastURL, let curveURL, FileManager.default.fileExists(atPath: lastURL.path),
            let saved = try? JSONDecoder().decode(TrainingCurve.self, from: Data(contentsOf: curveURL))
        {
            try model.restoreCheckpoint(try SafeTensors(contentsOf: lastURL))
            curve = saved
            firstEpoch = (saved.epochs.last?.epoch ?? 0) + 1
            curve.resumedFromEpoch = firstEpoch - 1
            if let bestURL, FileManager.default.fileExists(atPath: bestURL.path) { best = try SafeTensors(contentsOf: bestURL) }
            if let b = saved.bestEpoch { sinceImprovement = (firstEpoch - 1 - b) / max(1, config.validateEvery) }
            logLine("\(kind): resuming after epoch \(firstEpoch - 1) from \(lastURL.path)")
            if saved.stoppedEarly || firstEpoch > config.epochs {
                if let best { try model.restoreCheckpoint(best) }
                model.trainingCurve = curve
                return curve
            }
        }
        let start = Date()
        for epoch in firstEpoch...config.epochs {
            let t0 = Date()
            let progress = ProgressReporter("\(kind) epoch \(epoch)/\(config.epochs)", total: 1)
            let loss = try model.trainEpoch(epoch) { done, total, running in
                progress.updateTotal(total)
                progress.update(min(done, total - 1), [("loss", String(format: "%.4f", running))])
            }
            var record = EpochRecord(epoch: epoch, loss: Double(loss), validationNDCG10: nil, seconds: 0)
            if let validate = data.validate, epoch % max(1, config.validateEvery) == 0 || epoch == config.epochs {
                let ndcg = validate(model)
                record.validationNDCG10 = ndcg
                if ndcg > (curve.bestValidationNDCG10 ?? -1) {
                    curve.bestValidationNDCG10 = ndcg
                    curve.bestEpoch = epoch
                    best = try model.checkpointState()
                    sinceImprovement = 0
                    if let bestURL, let best { try best.write(to: bestURL) }
                } else {
                    sinceImprovement += 1
                }
            }
            record.seconds = Date().timeIntervalSince(t0)
            curve.epochs.append(record)
            let valid = record.validationNDCG10.map { String(format: " valid NDCG@10 %.4f%@", $0, curve.bestEpoch == epoch ? " (best)" : "") } ?? ""
            progress.finish(String(format: record.seconds < 10 ? "loss %.4f%@ %.2fs" : "loss %.4f%@ %.1fs", loss, valid, record.seconds))
            if config.patience > 0 && sinceImprovement >= config.patience {
                curve.stoppedEarly = true
            }
            curve.totalSeconds += record.seconds
            if let lastURL, let curveURL {
                try model.checkpointState().write(to: lastURL)
                let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
                try AtomicFile.write(try enc.encode(curve), to: curveURL)
            }
            if curve.stoppedEarly {
                logLine("\(kind): no validation improvement for \(config.patience) validations; best epoch \(curve.bestEpoch ?? 0)")
                break
            }
        }
        _ = start
        if let best { try model.restoreCheckpoint(best) }
        model.trainingCurve = curve
        return curve
    }
}
