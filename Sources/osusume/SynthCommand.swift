import ArgumentParser
import Foundation
import OsusumeCore
import OsusumeData

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write a deterministic synthetic log of any size as a MovieLens-style folder.",
        discussion: """
            ratings.csv (userId, movieId, rating, timestamp) and movies.csv, read with --format movielens-csv. \
            Popularity and activity follow MovieLens's spread; tastes, sequels, time and ratings are planted \
            for models to find (see docs/scale.md). Presets: ml-20m (138,493 users, 27,278 items, 20M), \
            mal (300,000 users, 17,000 items, 60M), ml-1m, small; --users/--items/--interactions override them.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "Sizes to start from: \(SyntheticLogSpec.presets.keys.sorted().joined(separator: ", ")).")
    var preset: String?
    @Option(help: "Users.") var users: Int?
    @Option(help: "Items.") var items: Int?
    @Option(help: "Interactions.") var interactions: Int?
    @Option(help: "Seed: the same seed and sizes give the same files.") var seed: UInt64 = 42
    @Option(help: "Output folder (replaced atomically). Default: synth-<preset>.") var out: String?

    func run() throws {
        global.apply()
        var spec: SyntheticLogSpec
        if let p = preset {
            guard let s = SyntheticLogSpec.presets[p] else {
                throw ValidationError("unknown preset '\(p)'; one of: \(SyntheticLogSpec.presets.keys.sorted().joined(separator: ", "))")
            }
            spec = s
        } else {
            guard users != nil, items != nil, interactions != nil else { throw ValidationError("give --preset, or --users, --items and --interactions") }
            spec = SyntheticLogSpec(users: 0, items: 0, interactions: 0)
        }
        if let u = users { spec.users = u }
        if let i = items { spec.items = i }
        if let n = interactions { spec.interactions = n }
        spec.seed = seed
        let folder = out ?? "synth-\(preset ?? "custom")"
        let progress = ProgressReporter("synth", total: spec.users)
        let start = Date()
        let summary = try SyntheticLog.write(spec, to: URL(fileURLWithPath: folder)) { progress.update($0) }
        let seconds = Date().timeIntervalSince(start)
        progress.finish(String(format: "%d users in %.1fs", spec.users, seconds))
        if global.json {
            try printJSON(
                [
                    "out": folder, "users": summary.users, "items": summary.items, "interactions": summary.interactions,
                    "bytes": summary.bytes, "seconds": seconds, "seed": Int(seed),
                ] as [String: Any])
        } else {
            print(
                "wrote \(folder): \(summary.users) users, \(summary.items) items, \(summary.interactions) interactions, "
                    + String(format: "%.0f MB in %.1fs (read it with --data %@ --format movielens-csv)", Double(summary.bytes) / 1e6, seconds, folder))
        }
    }
}
