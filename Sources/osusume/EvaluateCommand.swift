import ArgumentParser
import Foundation
import OsusumeCore
import OsusumeData
import OsusumeEval
import OsusumeModels

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Fit a model on a split's training part and measure it on the test part.",
        discussion: "Full ranking over all items is the default; sampled protocols are labelled in every output.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var splitOptions: SplitOptions
    @Option(help: "Model: \(modelKinds.names.joined(separator: ", ")).")
    var model: String?
    @Option(help: "Evaluate a model saved by `evaluate --save` on the same data, filters and split, without fitting it again (e.g. under another protocol).")
    var load: String?
    @OptionGroup var settings: ModelSettings
    @Option(name: .customLong("protocol"), help: "full (default), uniform-N or popular-N (sampled negatives).")
    var evaluationProtocol = "full"
    @Option(help: "Cut-offs, comma-separated.")
    var k = "10,20"
    @Option(help: "Also save the fitted model to this directory.")
    var save: String?
    @Option(help: "Keep training checkpoints here so an interrupted run resumes.")
    var checkpoints: String?
    @Option(help: "Write an HTML report (metric table, charts, training curve) to this file.")
    var report: String?
    @Option(name: .customLong("model-seed"), help: "Seed of the model's initialisation and shuffling (default: the split seed), to repeat a fit on the same split.")
    var modelSeed: UInt64?
    @Option(help: "Evaluate a seeded sample of this many test users (large logs); labelled SAMPLED USERS in every output.")
    var users: Int?

    func run() throws {
        global.apply()
        guard (model == nil) != (load == nil) else { throw ValidationError("give either --model (fit and evaluate) or --load (evaluate a saved fit)") }
        if load != nil {
            guard try settings.dictionary().isEmpty, checkpoints == nil, save == nil, modelSeed == nil else {
                throw ValidationError("--load evaluates a saved model as it is: --set, --checkpoints, --save and --model-seed do not apply")
            }
        }
        // Check the model and its settings before spending time on the data.
        let saved = try load.map { try TrainedModel.load(from: URL(fileURLWithPath: $0), kinds: modelKinds) }
        let m: any Recommender
        if let saved { m = saved.model } else { m = try modelKinds.make(model!, settings: settings.dictionary(model: model)) }
        let tLoad = Date()
        let dataset = try dataOptions.load()
        let loadSeconds = Date().timeIntervalSince(tLoad)
        let splitter = try splitOptions.splitter()
        let tSplit = Date()
        let split = try splitter.split(dataset.log)
        let splitSeconds = Date().timeIntervalSince(tSplit)
        try saved?.requireFitted(on: split.train)
        var options = EvaluationOptions()
        options.ks = try parseKs(k)
        options.evaluationProtocol = try EvaluationProtocol(parsing: evaluationProtocol)
        options.showProgress = !global.quiet
        options.sampleUsers = users
        let result = try Experiment.run(
            m, dataset: dataset, split: split, options: options, seed: modelSeed ?? splitOptions.splitSeed,
            checkpointDirectory: checkpoints.map { URL(fileURLWithPath: $0) }, alreadyFitted: saved != nil)
        if let save {
            var fittedOn = dataset
            fittedOn.log = split.train
            let trained = TrainedModel.wrap(m, fittedOn: fittedOn, fitSeconds: result.fitSeconds)
            try trained.save(to: URL(fileURLWithPath: save))
            logLine("saved model to \(save)")
        }
        let r = result.report
        if let report {
            let page = HTMLReport(
                title: "Osusume: \(type(of: m).kind) on \(dataset.name)",
                context: [
                    "data: \(dataset.name), \(dataset.log.userCount) users, \(dataset.log.itemCount) items, \(dataset.log.count) interactions; filters: \(dataOptions.filterDescription)",
                    "split: \(split.name)", "model: \(type(of: m).kind) \(configString(m.configDictionary))",
                ],
                entries: [
                    HTMLReport.Entry(
                        name: type(of: m).kind, report: r, fitSeconds: result.fitSeconds,
                        curve: (m as? any EpochTrainable)?.trainingCurve)
                ])
            try AtomicFile.write(Data(page.render().utf8), to: URL(fileURLWithPath: report))
            logLine("wrote report \(report)")
        }
        if global.json {
            var extra: [String: Any] = [:]
            if let rr = result.ratings { extra["ratings"] = try encodeToJSONObject(rr) }
            try printJSON(
                extra.merging(
                    [
                        "dataset": datasetJSON(dataset, filters: dataOptions.filterDescription),
                        "split": split.name,
                        "protocol": r.evaluationProtocol,
                        "protocol_explanation": r.protocolExplanation,
                        "model": type(of: m).kind,
                        // A loaded fit's seed is not known here; say where it came from instead.
                        "model_seed": load == nil ? (modelSeed ?? splitOptions.splitSeed) as Any : NSNull(),
                        "loaded_from": load.map { $0 as Any } ?? NSNull(),
                        "config": m.configDictionary,
                        "cases": r.cases,
                        "sampled_from": r.sampledFrom.map { $0 as Any } ?? NSNull(),
                        "metrics": r.metrics,
                        "groups": try encodeToJSONObject(r.groups),
                        "timings": [
                            "load_s": loadSeconds, "split_s": splitSeconds, "fit_s": result.fitSeconds, "evaluate_s": r.seconds,
                            "fit_cpu_s": result.fitCPUSeconds, "evaluate_cpu_s": result.evaluateCPUSeconds,
                        ],
                        "threads": Threads.count,
                    ] as [String: Any]
                ) { $1 })
        } else {
            print("\(dataset.name): \(dataset.log.userCount) users, \(dataset.log.itemCount) items, \(dataset.log.count) interactions (filters: \(dataOptions.filterDescription))")
            print("split: \(split.name); protocol: \(r.protocolExplanation); \(r.cases) test users")
            print("model: \(type(of: m).kind) \(configString(m.configDictionary))\(modelSeed.map { " (model seed \($0))" } ?? "")")
            print("")
            print(metricsTable([(type(of: m).kind, r)], ks: r.ks))
            print("")
            if let rr = result.ratings {
                print(
                    String(
                        format: "ratings of %d held-out rated targets: RMSE %.4f, MAE %.4f (user-mean + item-bias baseline: RMSE %.4f, MAE %.4f)",
                        rr.ratedTargets, rr.rmse, rr.mae, rr.baselineRMSE, rr.baselineMAE))
            }
            print(
                String(
                    format: "fit %.2fs (%.2fs CPU), evaluate %.2fs (%.2fs CPU), %d threads", result.fitSeconds, result.fitCPUSeconds,
                    r.seconds, result.evaluateCPUSeconds, Threads.count))
        }
    }
}

func parseKs(_ s: String) throws -> [Int] {
    let ks = s.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !ks.isEmpty, ks.allSatisfy({ $0 > 0 }) else { throw ValidationError("--k expects positive integers separated by commas, got '\(s)'") }
    return ks
}

func configString(_ c: [String: Any]) -> String {
    c.keys.sorted().map { "\($0)=\(c[$0] is NSNull ? "unset" : c[$0]!)" }.joined(separator: " ")
}

func datasetJSON(_ d: Dataset, filters: String) -> [String: Any] {
    [
        "name": d.name, "format": d.format, "users": d.log.userCount, "items": d.log.itemCount,
        "interactions": d.log.count, "filters": filters,
    ]
}

/// One row per model: the headline metrics at each K plus coverage and popularity share.
func metricsTable(_ rows: [(String, EvaluationReport)], ks: [Int]) -> String {
    let columns = ReportedMetrics.columns(ks: ks)
    // Short headers for the list metrics keep the table narrow.
    let header = ["model"] + columns.map { $0.replacingOccurrences(of: "Coverage@", with: "Cov@").replacingOccurrences(of: "PopularShare@", with: "PopShare@") }
    let body = rows.map { name, r -> [String] in
        [name] + columns.map { c in ListMetric.allCases.contains { c.hasPrefix($0.rawValue + "@") } ? fmt(r.metrics[c] ?? .nan, 3) : fmt(r.metrics[c] ?? .nan) }
    }
    return renderTable(header, body)
}
