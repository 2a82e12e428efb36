import ArgumentParser
import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels

struct RecommendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recommend",
        abstract: "Top-k recommendations for a known user, or for an ad-hoc history of item ids or titles.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Model directory written by train or quickstart.")
    var model: String
    @Option(help: "A user id known to the model.")
    var user: String?
    @Option(help: "Items the user liked, ids or titles, separated by '|' or ','. ('|' first, as titles may contain commas.)")
    var history: String?
    @Option(help: "How many items.")
    var k = 10

    func run() throws {
        global.apply()
        guard k > 0 && k <= 1000 else { throw ValidationError("--k must be between 1 and 1000") }
        let trained = try TrainedModel.load(from: URL(fileURLWithPath: model), kinds: modelKinds)
        let (hist, userIndex, ignored) = try resolveHistory(trained)
        for g in ignored { FileHandle.standardError.write(Data("left out of the history: '\(g.ref)': \(g.reason)\n".utf8)) }
        // A history with nothing known is an empty one: the most watched titles stand in.
        let recs = hist.isEmpty && userIndex == nil ? trained.mostPopular(k: k) : trained.recommend(history: hist, user: userIndex, k: k)
        let explainer = trained.model as? any ExplainableRecommender
        let query = ScoringQuery(user: userIndex, history: hist)
        func because(_ item: Int32) -> [Int32] {
            guard let e = explainer, !hist.isEmpty else { return [] }
            return Explanation.meaningful(e.contributions(of: item, for: query)).map { hist[$0] }
        }
        if global.json {
            try printJSON(
                [
                    "model": trained.manifest.kind,
                    "history": hist.map { itemJSON(trained, $0) },
                    "ignored": ignored.map { ["ref": $0.ref, "reason": $0.reason] },
                    "recommendations": recs.map { r -> [String: Any] in
                        var o = itemJSON(trained, r.item); o["score"] = Double(r.score)
                        o["because"] = because(r.item).map { trained.itemIDs.id(of: $0) }
                        return o
                    },
                ] as [String: Any])
        } else {
            if hist.isEmpty {
                print("no known history: the most watched titles")
            } else {
                print("history (\(hist.count) items, most recent last):")
                for h in hist.suffix(10) { print("  \(trained.title(of: h))") }
            }
            print("\nrecommended by \(trained.manifest.kind):")
            for (i, r) in recs.enumerated() {
                let b = because(r.item).map { TitleKey.display(trained.title(of: $0)) }
                print(String(format: "%2d. %@", i + 1, trained.title(of: r.item)) + (b.isEmpty ? "" : "  — because you liked " + b.joined(separator: "; ")))
            }
        }
    }

    /// The history to score and who it belongs to; history entries the model does not know are
    /// left out and returned, as the server does.
    func resolveHistory(_ trained: TrainedModel) throws -> ([Int32], Int32?, [IgnoredRef]) {
        switch (user, history) {
        case (let u?, nil):
            let idx = try trained.userIndex(u)
            return (trained.histories[Int(idx)], idx, [])
        case (nil, let h?):
            let sep: Character = h.contains("|") ? "|" : ","
            let refs = h.split(separator: sep).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !refs.isEmpty else { throw ValidationError("--history is empty") }
            guard trained.model.canScoreNewUsers else {
                throw ValidationError(
                    "\(trained.manifest.kind) scores only users it was trained on (one learned vector per user, no fold-in); give --user ID, or use a model that scores any history (ease, itemknn, multvae, sasrec)"
                )
            }
            let (items, ignored) = OsusumeModels.resolveHistory(refs) { try trained.resolveItem($0) }
            return (items, nil, ignored)
        case (nil, nil): throw ValidationError("give --user or --history")
        default: throw ValidationError("give either --user or --history, not both")
        }
    }
}

func itemJSON(_ t: TrainedModel, _ item: Int32) -> [String: Any] {
    let id = t.itemIDs.id(of: item)
    let title = t.title(of: item)
    var o: [String: Any] = ["id": id, "title": title, "displayTitle": TitleKey.display(title)]
    if let c = t.catalog[id] {
        if !c.genres.isEmpty { o["genres"] = c.genres }
        if let y = c.year { o["year"] = y }
        if let u = c.imageURL { o["image"] = u }
        if let type = c.type { o["type"] = type }
        if let e = c.episodes { o["episodes"] = e }
    }
    return o
}

struct SimilarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "similar",
        abstract: "Items most similar to one item (\"more like this\").")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Model directory written by train or quickstart.")
    var model: String
    @Option(help: "The item: id or title.")
    var item: String
    @Option(help: "How many items.")
    var k = 10

    func run() throws {
        global.apply()
        guard k > 0 && k <= 1000 else { throw ValidationError("--k must be between 1 and 1000") }
        let trained = try TrainedModel.load(from: URL(fileURLWithPath: model), kinds: modelKinds)
        let i = try trained.resolveItem(item)
        let sims = trained.similar(to: i, k: k)
        if global.json {
            try printJSON(
                [
                    "item": itemJSON(trained, i),
                    "similar": sims.map { r -> [String: Any] in
                        var o = itemJSON(trained, r.item); o["score"] = Double(r.score); return o
                    },
                ] as [String: Any])
        } else {
            print("more like \(trained.title(of: i)):")
            for (n, r) in sims.enumerated() { print(String(format: "%2d. %@  (%.3f)", n + 1, trained.title(of: r.item), r.score)) }
        }
    }
}
