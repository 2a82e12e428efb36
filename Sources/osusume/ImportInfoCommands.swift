import ArgumentParser
import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Read a data set in any supported format, filter it, and write it as RecBole atomic files.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Output folder (NAME.inter, NAME.item, NAME.user are written into it).")
    var out: String
    @Option(help: "Base name of the files (default: the data set's name).")
    var name: String?

    func run() throws {
        global.apply()
        let t0 = Date()
        let d = try dataOptions.load()
        let loadSeconds = Date().timeIntervalSince(t0)
        let base = name ?? d.name
        try RecBoleAtomicWriter.write(d, to: URL(fileURLWithPath: out), name: base)
        if global.json {
            try printJSON(
                [
                    "dataset": datasetJSON(d, filters: dataOptions.filterDescription), "out": out, "name": base,
                    "timings": ["load_s": loadSeconds],
                ] as [String: Any])
        } else {
            print("wrote \(out)/\(base).inter (\(d.log.count) interactions)" + (d.catalog.isEmpty ? "" : ", \(base).item (\(d.catalog.count) items)"))
        }
    }
}

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Describe a data set (counts, density, activity, time span) or a saved model.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Describe this model directory instead of a data set.")
    var model: String?

    func run() throws {
        global.apply()
        if let model {
            let t = try TrainedModel.load(from: URL(fileURLWithPath: model), kinds: modelKinds)
            let manifest = try encodeToJSONObject(t.manifest)
            if global.json {
                try printJSON(manifest)
            } else {
                let data = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            }
            return
        }
        let t0 = Date()
        let d = try dataOptions.load()
        let seconds = Date().timeIntervalSince(t0)
        let log = d.log
        let uc = log.userCounts().sorted(), ic = log.itemCounts().sorted()
        func median(_ a: [Int]) -> Int { a.isEmpty ? 0 : a[a.count / 2] }
        let density = Double(log.count) / Double(max(1, log.userCount * log.itemCount))
        var info: [String: Any] = [
            "name": d.name, "format": d.format, "users": log.userCount, "items": log.itemCount,
            "interactions": log.count, "density": density, "catalog_items": d.catalog.count,
            "per_user": ["min": uc.first ?? 0, "median": median(uc), "max": uc.last ?? 0],
            "per_item": ["min": ic.first ?? 0, "median": median(ic), "max": ic.last ?? 0],
            "has_ratings": log.hasRatings, "has_timestamps": log.hasTimestamps, "load_s": seconds,
        ]
        if log.hasTimestamps, let lo = log.timestamps.min(), let hi = log.timestamps.max() {
            let f = ISO8601DateFormatter()
            info["time_span"] = [f.string(from: Date(timeIntervalSince1970: TimeInterval(lo))), f.string(from: Date(timeIntervalSince1970: TimeInterval(hi)))]
        }
        if log.hasRatings {
            var hist: [String: Int] = [:]
            for r in log.ratings where !r.isNaN { hist[String(r), default: 0] += 1 }
            info["ratings"] = hist
        }
        var genres: [String: Int] = [:]
        for c in d.catalog.items { for g in c.genres { genres[g, default: 0] += 1 } }
        if !genres.isEmpty { info["top_genres"] = genres.sorted { $0.value > $1.value }.prefix(10).map { [$0.key, $0.value] as [Any] } }
        if global.json {
            try printJSON(info)
        } else {
            print("\(d.name) (\(d.format)), loaded in \(fmt(seconds, 2))s")
            print("  \(log.userCount) users, \(log.itemCount) items, \(log.count) interactions, density \(fmt(density * 100, 3))%")
            print("  per user: min \(uc.first ?? 0), median \(median(uc)), max \(uc.last ?? 0); per item: min \(ic.first ?? 0), median \(median(ic)), max \(ic.last ?? 0)")
            if let span = info["time_span"] as? [String] { print("  time span: \(span[0]) – \(span[1])") }
            print("  ratings: \(log.hasRatings ? "yes" : "no"); catalog: \(d.catalog.count) items")
            if let g = info["top_genres"] as? [[Any]] { print("  top genres: " + g.map { "\($0[0]) (\($0[1]))" }.joined(separator: ", ")) }
        }
    }
}
