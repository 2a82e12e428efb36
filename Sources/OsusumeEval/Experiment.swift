import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels

/// One fit-and-evaluate run: a model fitted on a split's training part, validated on its
/// validation cases (for models that stop early) and measured on its test cases.
public struct ExperimentResult {
    public var model: any Recommender
    public var report: EvaluationReport
    public var fitSeconds: Double
    /// CPU seconds (all threads) of the fit and of the evaluation.
    public var fitCPUSeconds: Double
    public var evaluateCPUSeconds: Double
    /// Rating prediction error, for models that predict ratings on data with rated targets.
    public var ratings: RatingReport?
}

public enum Experiment {
    /// Fits `model` on `split.train` and evaluates it on `split.test` with `options`.
    /// Models that stop early receive a validation callback (NDCG@10 on `split.validation`,
    /// full ranking) through `TrainingData.validate`. With `alreadyFitted` the model (loaded
    /// from a save of the same split's fit; the caller checks that) is only evaluated.
    public static func run(
        _ model: any Recommender, dataset: Dataset, split: SplitResult,
        options: EvaluationOptions, seed: UInt64 = 42,
        checkpointDirectory: URL? = nil, alreadyFitted: Bool = false
    ) throws -> ExperimentResult {
        if !model.canScoreNewUsers {
            let counts = split.train.userCounts()
            let unseen = (split.test + split.validation).filter { Int($0.user) >= counts.count || counts[Int($0.user)] == 0 }.count
            if unseen > 0 {
                throw OsusumeError.invalidArgument(
                    "\(type(of: model).kind) scores only users it was trained on (one learned vector per user, no fold-in), but \(unseen) evaluation users have no training interactions in this split; use leave-one-out or a temporal split, or a fold-in model (ease, multvae, sasrec)"
                )
            }
        }
        let evaluator = RankingEvaluator(trainingLog: split.train, options: options)
        var validationOptions = EvaluationOptions()
        validationOptions.ks = [10]
        validationOptions.showProgress = false
        validationOptions.batchSize = options.batchSize
        // Validation during training (early stopping) uses the same user sample size.
        validationOptions.sampleUsers = options.sampleUsers
        let validator = RankingEvaluator(trainingLog: split.train, options: validationOptions)
        let validation = split.validation
        let training = TrainingData(
            log: split.train, catalog: dataset.catalog, userFeatures: dataset.userFeatures,
            validation: validation,
            validate: validation.isEmpty
                ? nil
                : { m in
                    (try? validator.evaluate(m, cases: validation))?.metrics["NDCG@10"] ?? 0
                },
            checkpointDirectory: checkpointDirectory, seed: seed)
        let t0 = Date(), c0 = processCPUSeconds()
        if !alreadyFitted { try model.fit(training) }
        let fitSeconds = Date().timeIntervalSince(t0), c1 = processCPUSeconds()
        let report = try evaluator.evaluate(model, cases: split.test, label: "evaluate \(type(of: model).kind)")
        var ratings: RatingReport?
        if let predictor = model as? any RatingPredictor, predictor.predictsRatings {
            ratings = RatingEvaluator.evaluate(predictor, trainingLog: split.train, cases: split.test)
        }
        return ExperimentResult(
            model: model, report: report, fitSeconds: fitSeconds,
            fitCPUSeconds: c1 - c0, evaluateCPUSeconds: processCPUSeconds() - c1, ratings: ratings)
    }
}
