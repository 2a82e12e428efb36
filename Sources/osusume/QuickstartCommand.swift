import ArgumentParser
import Foundation
import OsusumeCore
import OsusumeData
import OsusumeEval
import OsusumeModels

struct QuickstartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quickstart",
        abstract: "Fit Popularity, ItemKNN and EASE on the bundled MovieLens data, evaluate them and show recommendations.",
        discussion: """
            Protocol: leave-one-out by timestamp (each user's last interaction is the test target, the one \
            before it validation), full ranking over all items with the user's history excluded. Afterwards \
            EASE is fitted on all the data and saved (--out) for `osusume recommend`, `similar` and `serve`.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Where to save the EASE model fitted on all the data.")
    var out = "models/quickstart-ease"
    @Option(help: "Show recommendations for this user id (default: the first user).")
    var user: String?
    @Option(help: "Models to compare, comma-separated.")
    var models = "pop,itemknn,ease"
    @Option(help: "Where to write the HTML report comparing the models.")
    var report = "models/quickstart-report.html"

    func run() throws {
        global.apply()
        let t0 = Date()
        let dataset = try dataOptions.load()
        let split = try LeaveOneOutSplit().split(dataset.log)
        var options = EvaluationOptions()
        options.ks = [10, 20]
        options.showProgress = !global.quiet
        var rows: [(String, EvaluationReport, Double)] = []
        var entries: [HTMLReport.Entry] = []
        for kind in models.split(separator: ",").map(String.init) {
            let m = try modelKinds.make(kind)
            let r = try Experiment.run(m, dataset: dataset, split: split, options: options)
            rows.append((kind, r.report, r.fitSeconds))
            entries.append(HTMLReport.Entry(name: kind, report: r.report, fitSeconds: r.fitSeconds, curve: (m as? any EpochTrainable)?.trainingCurve))
        }
        let page = HTMLReport(
            title: "Osusume quickstart: \(dataset.name)",
            context: [
                "data: \(dataset.name), \(dataset.log.userCount) users, \(dataset.log.itemCount) items, \(dataset.log.count) interactions (all ratings as interactions)",
                "split: \(split.name): last interaction per user is the test target",
            ],
            entries: entries)
        try AtomicFile.write(Data(page.render().utf8), to: URL(fileURLWithPath: report))
        // The model people will use: EASE on everything.
        let ease = try TrainedModel.fit(try modelKinds.make("ease"), dataset: dataset, source: try dataOptions.source())
        try ease.save(to: URL(fileURLWithPath: out))
        let userID = user ?? dataset.log.userIDs.id(of: 0)
        let uIdx = try ease.userIndex(userID)
        let history = ease.histories[Int(uIdx)]
        let recs = ease.recommend(history: history, user: uIdx, k: 10)
        let query = ScoringQuery(user: uIdx, history: history)
        func because(_ item: Int32) -> Int32? {
            guard let e = ease.model as? any ExplainableRecommender else { return nil }
            let c = e.contributions(of: item, for: query)
            guard let best = c.indices.max(by: { c[$0] < c[$1] }), c[best] > 0 else { return nil }
            return history[best]
        }
        let total = Date().timeIntervalSince(t0)
        if global.json {
            try printJSON(
                [
                    "dataset": datasetJSON(dataset, filters: dataOptions.filterDescription),
                    "split": split.name, "protocol": options.evaluationProtocol.description,
                    "results": rows.map { ["model": $0.0, "metrics": $0.1.metrics, "timings": ["fit_s": $0.2, "evaluate_s": $0.1.seconds]] as [String: Any] },
                    "model_saved": out,
                    "report": report,
                    "user": userID,
                    "recent_history": history.suffix(10).map { itemJSON(ease, $0) },
                    "recommendations": recs.map { r -> [String: Any] in
                        var o = itemJSON(ease, r.item); o["score"] = Double(r.score)
                        if let b = because(r.item) { o["because"] = ease.itemIDs.id(of: b) }
                        return o
                    },
                    "total_s": total,
                ] as [String: Any])
            return
        }
        print("Osusume quickstart: \(dataset.name), \(dataset.log.userCount) users, \(dataset.log.itemCount) items, \(dataset.log.count) interactions")
        print("Protocol: \(split.name), \(options.evaluationProtocol.explanation); \(rows.first?.1.cases ?? 0) test users.\n")
        print(metricsTable(rows.map { ($0.0, $0.1) }, ks: options.ks))
        print("")
        print(renderTable(["model", "fit", "evaluate"], rows.map { [$0.0, fmt($0.2, 2) + "s", fmt($0.1.seconds, 2) + "s"] }))
        print("\nUser \(userID): \(history.count) items in history. Recent history (left) and EASE's top 10 (right):\n")
        let left = history.suffix(10).reversed().map { ease.title(of: $0) }
        let right = recs.enumerated().map { String(format: "%2d. ", $0.offset + 1) + ease.title(of: $0.element.item) }
        let width = min(48, (left.map(\.count).max() ?? 10) + 2)
        print("  " + "recently watched".padding(toLength: width, withPad: " ", startingAt: 0) + "recommended")
        for i in 0..<max(left.count, right.count) {
            let l = i < left.count ? String(left[i].prefix(width - 2)) : ""
            print("  " + l.padding(toLength: width, withPad: " ", startingAt: 0) + (i < right.count ? right[i] : ""))
        }
        if let first = recs.first, let b = because(first.item) {
            print("\n\(ease.title(of: first.item)) is recommended mostly because of \(ease.title(of: b)).")
        }
        print("\nReport with charts: \(report)")
        print("Saved the EASE model (fitted on all data) to \(out). Try:")
        print("  osusume recommend --model \(out) --history \"Toy Story|Heat\"")
        print("  osusume similar --model \(out) --item \"Matrix, The\"")
        print(String(format: "\nDone in %.1fs.", total))
    }
}
