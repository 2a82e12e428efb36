import ArgumentParser
import Foundation
import OsusumeCore
import OsusumeData
import OsusumeEval
import OsusumeModels

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Search a model's settings on the validation part, then measure the winner once on the test part.",
        discussion: """
            Models trained by epochs get successive halving, the others random search; trial 0 is the \
            defaults. Selection reads only the validation cases; the test part is evaluated once, for \
            the winner. The winner's settings go to --out (JSON) for `train` and `evaluate --settings-from`.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var splitOptions: SplitOptions
    @Option(help: "Model: \(modelKinds.names.joined(separator: ", ")).")
    var model: String?
    @Option(
        help: ArgumentHelp(
            "Blend these models instead (comma-separated, e.g. ease,sasrec): each is fitted once, the blend's weights are chosen on validation.",
            discussion: "Member settings are --set member.key=value (sasrec.epochs=50)."))
    var ensemble: String?
    @Option(help: "With --ensemble: the step of the grid over the weights.")
    var step = 0.05
    @OptionGroup var settings: ModelSettings
    @Option(
        name: .customLong("range"), parsing: .upToNextOption,
        help: "A setting to search: key=low:high[:log|int|logint] or key=a|b|c (repeatable; default: the model's usual ranges).")
    var ranges: [String] = []
    @Option(help: "Time budget in minutes (no trial starts after it).")
    var budget = 15.0
    @Option(help: "At most this many fits.")
    var trials: Int?
    @Option(help: "Write the trials and the winner's settings and test metrics to this JSON file.")
    var out: String?
    @Option(help: "Write an HTML report (the winner's test metrics, every trial and its validation curve).")
    var report: String?

    func run() throws {
        global.apply()
        if splitOptions.noValidation {
            throw ValidationError("tune chooses on the validation part, and --no-validation leaves none")
        }
        if let ensemble {
            guard model == nil else { throw ValidationError("give --model or --ensemble, not both") }
            return try runEnsemble(ensemble)
        }
        guard let model else { throw ValidationError("give --model (one model's settings) or --ensemble (a blend's weights)") }
        let fixed = try settings.dictionary(model: model)
        _ = try modelKinds.make(model, settings: fixed)
        let space: SearchSpace
        if ranges.isEmpty {
            guard let d = SearchSpace.defaults(for: model) else {
                throw ValidationError("\(model) has no default search ranges; give them with --range key=low:high")
            }
            space = d
        } else {
            space = try SearchSpace.parse(ranges)
        }
        guard budget > 0, trials.map({ $0 > 0 }) ?? true else { throw ValidationError("--budget and --trials must be positive") }
        let dataset = try dataOptions.load()
        let split = try splitOptions.splitter().split(dataset.log)
        logLine("tune \(model): \(space.dimensions.keys.sorted().map { "\($0) \(space.dimensions[$0]!.description)" }.joined(separator: ", ")); budget \(budget) min")
        let result = try Tuner.run(
            kind: model, kinds: modelKinds, dataset: dataset, split: split, space: space, fixed: fixed,
            budgetSeconds: budget * 60, maxTrials: trials ?? .max, seed: splitOptions.splitSeed,
            log: { if !global.quiet { logLine($0) } })
        // The test part, once, for the winner.
        var options = EvaluationOptions()
        options.ks = [10, 20]
        options.showProgress = !global.quiet
        let winner = try modelKinds.make(model, settings: result.settings)
        let test = try Experiment.run(winner, dataset: dataset, split: split, options: options, seed: splitOptions.splitSeed)
        let r = test.report
        let best = result.trials[result.winner]
        if let out {
            var doc = try encodeToJSONObject(result) as? [String: Any] ?? [:]
            doc["split"] = split.name
            doc["protocol"] = r.protocolExplanation
            doc["test"] = ["metrics": r.metrics, "cases": r.cases, "fit_s": test.fitSeconds] as [String: Any]
            try AtomicFile.write(try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys]), to: URL(fileURLWithPath: out))
            logLine("wrote \(out) (use it with --settings-from)")
        }
        if let report {
            let rows = result.trials.sorted { ($0.rung, $0.validationNDCG10) > ($1.rung, $1.validationNDCG10) }
            let page = HTMLReport(
                title: "Osusume: tuning \(model) on \(dataset.name)",
                context: [
                    "split: \(split.name); selection on \(split.validation.count) validation cases (NDCG@10, full ranking); the test part measured once, for the winner",
                    "method: \(result.method); budget \(budget) min, \(result.trials.count) fits in \(String(format: "%.0f", result.seconds)) s",
                    "winner: trial \(best.number), \(configString(result.settings))",
                ],
                entries: [HTMLReport.Entry(name: "\(model) (tuned)", report: r, fitSeconds: test.fitSeconds, curve: (winner as? any EpochTrainable)?.trainingCurve)],
                sections: [
                    HTMLReport.Section(
                        title: "Trials (best first within the longest fits)",
                        header: ["trial", "epochs", "validation NDCG@10", "seconds", "settings"],
                        rows: rows.map { t in
                            [
                                "\(t.number)\(t.number == result.winner ? " (winner)" : "")", t.epochs.map(String.init) ?? "–",
                                t.error == nil ? String(format: "%.4f", t.validationNDCG10) : "failed", String(format: "%.1f", t.seconds),
                                Tuner.configLine(t.settings),
                            ]
                        },
                        curveCaption: "validation NDCG@10 by epoch, one line per trial",
                        curves: rows.map { $0.curve.map { ($0[0], $0[1]) } })
                ])
            try AtomicFile.write(Data(page.render().utf8), to: URL(fileURLWithPath: report))
            logLine("wrote report \(report)")
        }
        if global.json {
            try printJSON([
                "model": model, "method": result.method, "trials": result.trials.count, "winner": best.number,
                "settings": result.settings, "validation_ndcg10": best.validationNDCG10, "protocol": r.protocolExplanation,
                "split": split.name, "test_metrics": r.metrics, "seconds": result.seconds,
            ])
        } else {
            print("\(dataset.name): tuned \(model) by \(result.method), \(result.trials.count) fits in \(String(format: "%.0f", result.seconds)) s")
            print("winner: trial \(best.number) (validation NDCG@10 \(String(format: "%.4f", best.validationNDCG10))): \(configString(result.settings))")
            print("split: \(split.name); protocol: \(r.protocolExplanation); \(r.cases) test users (measured once, for the winner)")
            print("")
            print(metricsTable([("\(model) tuned", r)], ks: r.ks))
        }
    }
}
