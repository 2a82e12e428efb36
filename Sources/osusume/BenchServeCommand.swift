import ArgumentParser
import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels
import OsusumeServe

struct BenchServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "In-process serving latency: top-k for random histories (p50/p99), as `serve` computes it.",
        discussion: """
            Without --model, an EASE model over --items synthetic items (random weights) is built, so the \
            figure does not depend on a data set. Three paths are timed, one request at a time on one thread: \
            the scoring core (EASE as a sum of history rows + top-k), a full request (blend, slot mix, \
            explanations) and, for reference, the model's dense `score` (a matrix product).
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "Model directory (default: a synthetic EASE model).")
    var model: String?
    @Option(help: "Items of the synthetic EASE model.")
    var items = 10_000
    @Option(help: "History length of each request.")
    var history = 50
    @Option(help: "Items per list.")
    var k = 10
    @Option(help: "Timed requests per path.")
    var requests = 2_000
    @Option(help: "Untimed requests first.")
    var warmup = 200
    @Option(help: "Blend of the full request: 'auto' (the cold-start policy, with the catalog's content model) or a spec (default: the model alone).")
    var blend: String?
    @Option(help: "Timed dense-product requests (slow; reference only). 0 skips them.")
    var dense = 30

    func run() throws {
        global.apply()
        ProgressReporter.quietByDefault = true
        if global.threads == nil { Threads.count = 1 }
        let t0 = Date()
        let trained = try model.map { try TrainedModel.load(from: URL(fileURLWithPath: $0), kinds: modelKinds) } ?? syntheticEASE(items: items)
        let set = try ModelSet(models: [(model ?? "synthetic", trained)])
        let loadSeconds = Date().timeIntervalSince(t0)
        let n = set.itemCount
        guard history < n else { throw ValidationError("--history must be below the item count (\(n))") }
        let name = set.personalNames[0]
        let service = RecommendationService(models: set)
        var rng = SeededRandom(seed: 7)
        func randomHistory() -> [Int32] {
            var seen = Set<Int32>(), out: [Int32] = []
            while out.count < history { let i = Int32(rng.nextInt(n)); if seen.insert(i).inserted { out.append(i) } }
            return out
        }
        func time(_ count: Int, _ body: ([Int32]) throws -> Void) rethrows -> [Double] {
            var out: [Double] = []
            for r in 0..<(warmup + count) {
                let h = randomHistory()
                let s = DispatchTime.now().uptimeNanoseconds
                try body(h)
                if r >= warmup { out.append(Double(DispatchTime.now().uptimeNanoseconds - s) / 1e6) }
            }
            return out
        }
        let core = time(requests) { h in _ = set.topK(model: name, history: h, k: k) }
        let full = try time(requests) { h in
            _ = try service.recommend(history: h.map { set.itemIDs.id(of: $0) }, k: k, blend: blend ?? name, mix: blend == nil ? "personal:\(k)" : nil)
        }
        let encoder = JSONEncoder()
        let encoded = try time(requests) { h in
            let r = try service.recommend(history: h.map { set.itemIDs.id(of: $0) }, k: k, blend: blend ?? name, mix: blend == nil ? "personal:\(k)" : nil)
            _ = try encoder.encode(r)
        }
        var denseTimes: [Double] = []
        if dense > 0 {
            var i = 0
            denseTimes = time(dense) { h in
                var s = trained.model.score(ScoringQuery(history: h))
                TopK.exclude(h, from: &s)
                i &+= Int(TopK.select(s, k: k).first ?? 0)
            }
        }
        let results: [(String, [Double])] = [("core: \(name) top-\(k)", core), ("full request", full), ("full request + JSON", encoded), ("dense score (reference)", denseTimes)]
        if global.json {
            try printJSON(
                [
                    "model": set.identities[0].source, "kind": set.identities[0].kind, "items": n, "history": history, "k": k,
                    "requests": requests, "threads": Threads.count, "load_s": loadSeconds, "memory": ProcessMemory.current().json,
                    "paths": results.filter { !$0.1.isEmpty }.map { ["path": $0.0, "requests": $0.1.count, "latency": latencySummary($0.1)] as [String: Any] },
                ] as [String: Any])
            return
        }
        print("bench serve: \(set.identities[0].kind) over \(n) items (\(model ?? "synthetic")), history \(history), k \(k), one thread")
        print(String(format: "loaded in %.2fs; memory: %@", loadSeconds, ProcessMemory.current().description))
        print(
            renderTable(
                ["path", "requests", "p50", "p90", "p99", "max"],
                results.filter { !$0.1.isEmpty }.map { r in
                    let s = latencySummary(r.1)
                    return [r.0, "\(r.1.count)"] + ["p50_ms", "p90_ms", "p99_ms", "max_ms"].map { String(format: "%.3f ms", s[$0]!) }
                }))
    }

    /// An EASE model with random weights over `items` items (scoring cost does not depend on the values).
    func syntheticEASE(items n: Int) throws -> TrainedModel {
        var rng = SeededRandom(seed: 1)
        var weights = [Float](repeating: 0, count: n * n)
        for i in 0..<weights.count { weights[i] = rng.nextFloat() - 0.5 }
        var st = SafeTensors()
        st.set("B", floats: weights, shape: [n, n])
        let ease = EASE(config: .init())
        try ease.restore(st)
        let ids = IDMap((0..<n).map { "i\($0)" })
        let catalog = Catalog((0..<n).map { CatalogItem(id: "i\($0)", title: "Item \($0)") })
        var log = InteractionLog(); log.itemIDs = ids
        return TrainedModel.wrap(ease, fittedOn: Dataset(name: "synthetic", format: "synthetic", log: log, catalog: catalog), fitSeconds: 0)
    }
}

/// p50, p90, p99, max and mean of latencies in milliseconds.
func latencySummary(_ t: [Double]) -> [String: Double] {
    let s = t.sorted()
    func q(_ p: Double) -> Double { s.isEmpty ? 0 : s[min(s.count - 1, Int((p * Double(s.count)).rounded(.up)) - 1)] }
    return ["p50_ms": q(0.5), "p90_ms": q(0.9), "p99_ms": q(0.99), "max_ms": s.last ?? 0, "mean_ms": s.reduce(0, +) / Double(max(1, s.count))]
}
