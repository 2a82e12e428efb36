import ArgumentParser
import Foundation
import OsusumeCore
import OsusumeData
import OsusumeEval
import OsusumeModels

extension TuneCommand {
    /// `tune --ensemble a,b`: fits each member once on the training part (its own validation
    /// early stopping as usual), chooses the blend's weights and normalisation on the validation
    /// part, then measures the blend once on the test part, beside each member's own figure.
    func runEnsemble(_ list: String) throws {
        let kinds = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        guard kinds.count >= 2, Set(kinds).count == kinds.count else {
            throw ValidationError("--ensemble takes two or more different models, e.g. ease,sasrec; got '\(list)'")
        }
        guard settings.settingsFrom == nil else {
            throw ValidationError("--settings-from names one model's settings; with --ensemble give them as --set member.key=value")
        }
        guard step > 0, step <= 0.5 else { throw ValidationError("--step must be in (0, 0.5]") }
        var perMember: [String: [String: String]] = [:]
        for (key, value) in try settings.dictionary() {
            guard let dot = key.firstIndex(of: "."), kinds.contains(String(key[..<dot])) else {
                throw ValidationError("with --ensemble, --set takes member.key=value for a member (\(kinds.joined(separator: ", "))), e.g. \(kinds[0]).epochs=50; got '\(key)'")
            }
            perMember[String(key[..<dot]), default: [:]][String(key[key.index(after: dot)...])] = value
        }
        // Every member is built (and its settings checked) before any fit starts.
        let models = try kinds.map { try modelKinds.make($0, settings: perMember[$0] ?? [:]) }
        let dataset = try dataOptions.load()
        let split = try splitOptions.splitter().split(dataset.log)
        var options = EvaluationOptions()
        options.ks = [10, 20]
        options.showProgress = !global.quiet
        var memberResults: [ExperimentResult] = []
        for (kind, model) in zip(kinds, models) {
            logLine("tune ensemble: fitting \(kind)")
            memberResults.append(try Experiment.run(model, dataset: dataset, split: split, options: options, seed: splitOptions.splitSeed))
        }
        let search = try BlendSearch.run(
            members: Array(zip(kinds, models)), validation: split.validation, step: step, seed: splitOptions.splitSeed,
            log: { if !global.quiet { logLine($0) } })
        let blend = try WeightedBlend(spec: search.blend)
        let ensembleModel = try Ensemble(members: Dictionary(uniqueKeysWithValues: zip(kinds, models)), blend: blend)
        // The test part, once, for the chosen blend.
        let report = try RankingEvaluator(trainingLog: split.train, options: options).evaluate(ensembleModel, cases: split.test, label: "evaluate ensemble")
        let fitSeconds = memberResults.map(\.fitSeconds).reduce(0, +)
        // A member alone is the blend with all weight on it (any normalisation ranks it the same).
        func memberValidation(_ i: Int) -> Double {
            search.trials.first { $0.weights[i] == 1 }?.validationNDCG10 ?? 0
        }
        let best = search.trials[search.winner]
        let rows = [("ensemble \(blend)", report)] + zip(kinds, memberResults).map { ($0, $1.report) }
        if let out {
            var doc: [String: Any] = [
                "model": "ensemble", "blend": blend.description, "split": split.name, "protocol": report.protocolExplanation,
                "validation_ndcg10": best.validationNDCG10,
                "test": ["metrics": report.metrics, "cases": report.cases, "fit_s": fitSeconds] as [String: Any],
                "search": try encodeToJSONObject(search),
            ]
            doc["members"] = zip(kinds, memberResults).enumerated().map { i, pair in
                [
                    "model": pair.0, "settings": perMember[pair.0] ?? [:], "fit_s": pair.1.fitSeconds, "validation_ndcg10": memberValidation(i),
                    "test": ["metrics": pair.1.report.metrics, "cases": pair.1.report.cases] as [String: Any],
                ] as [String: Any]
            }
            try AtomicFile.write(try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys]), to: URL(fileURLWithPath: out))
            logLine("wrote \(out)")
        }
        if let reportPath = self.report {
            let page = HTMLReport(
                title: "Osusume: blending \(kinds.joined(separator: " + ")) on \(dataset.name)",
                context: [
                    "split: \(split.name); weights chosen on \(search.validationCases) validation cases\(search.sampledFrom.map { " (a seeded sample of \($0))" } ?? "") (NDCG@10, full ranking); the test part measured once, for the chosen blend",
                    "search: \(search.method), \(search.trials.count) blends in \(String(format: "%.1f", search.seconds)) s",
                    "chosen: \(blend) (serve it with --blend '\(blend)')",
                ],
                entries: [HTMLReport.Entry(name: "ensemble \(blend)", report: report, fitSeconds: fitSeconds)]
                    + zip(kinds, memberResults).map { kind, r in
                        HTMLReport.Entry(name: kind, report: r.report, fitSeconds: r.fitSeconds, curve: (r.model as? any EpochTrainable)?.trainingCurve)
                    },
                sections: [
                    HTMLReport.Section(
                        title: "Blends tried (best 30 by validation NDCG@10)",
                        header: ["blend", "validation NDCG@10"],
                        rows: search.trials.sorted { $0.validationNDCG10 > $1.validationNDCG10 }.prefix(30).map { t in
                            ["\(t.blend)\(t.number == search.winner ? " (chosen)" : "")", String(format: "%.4f", t.validationNDCG10)]
                        })
                ])
            try AtomicFile.write(Data(page.render().utf8), to: URL(fileURLWithPath: reportPath))
            logLine("wrote report \(reportPath)")
        }
        if global.json {
            try printJSON([
                "model": "ensemble", "blend": blend.description, "method": search.method, "blends": search.trials.count,
                "validation_ndcg10": best.validationNDCG10, "protocol": report.protocolExplanation, "split": split.name,
                "test_metrics": report.metrics,
                "members": zip(kinds, memberResults).enumerated().map { i, pair in
                    ["model": pair.0, "validation_ndcg10": memberValidation(i), "test_metrics": pair.1.report.metrics] as [String: Any]
                },
            ])
        } else {
            print("\(dataset.name): blend of \(kinds.joined(separator: " + ")) chosen by \(search.method), \(search.trials.count) blends")
            print(
                "chosen: \(blend) (validation NDCG@10 \(String(format: "%.4f", best.validationNDCG10)); members alone: \(kinds.indices.map { String(format: "%@ %.4f", kinds[$0], memberValidation($0)) }.joined(separator: ", ")))"
            )
            print("split: \(split.name); protocol: \(report.protocolExplanation); \(report.cases) test users (measured once, for the chosen blend)")
            print("serve it: osusume serve \(kinds.map { "--model <\($0) model dir>" }.joined(separator: " ")) --blend '\(blend)'")
            print("")
            print(metricsTable(rows, ks: report.ks))
        }
    }
}
