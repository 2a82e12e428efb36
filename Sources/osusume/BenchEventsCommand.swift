import ArgumentParser
import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels
import OsusumeServe
import OsusumeStore

struct BenchEventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Feedback → next list: how often and at what cost the next request reflects a just-stored event.",
        discussion: """
            For random known users, one request at a time on one thread, as `serve` answers \
            GET /v1/users/{id}/recommendations: (a) with no new events, (b) right after one event of \
            that user was committed (`watch` of the item that led their list; it must be in the history \
            and gone from the list), and for reference (c) without an event store. Uses a fresh event \
            store: a SQLite file in a temporary folder, or --store (e.g. a postgres:// URL).
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "Model directory (default: EASE fitted on the bundled data).")
    var model: String?
    @Option(help: "Event store (default: a new SQLite file).")
    var store: String?
    @Option(help: "Timed requests per case.")
    var requests = 2_000
    @Option(help: "Untimed requests first.")
    var warmup = 200
    @Option(help: "Items per list.")
    var k = 10

    func run() throws {
        global.apply()
        ProgressReporter.quietByDefault = true
        if global.threads == nil { Threads.count = 1 }
        let trained: TrainedModel
        if let m = model {
            trained = try TrainedModel.load(from: URL(fileURLWithPath: m), kinds: modelKinds)
        } else {
            trained = try TrainedModel.fit(try modelKinds.make("ease"), dataset: try DatasetLoader.load(path: try BundledData.path()))
        }
        let set = try ModelSet(models: [(model ?? "ease on the bundled data", trained)])
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("osusume-bench-events-\(UUID().uuidString)")
        let url = store ?? tmp.appendingPathComponent("events.sqlite").path
        let eventStore = try EventStores.openBlocking(url)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let withStore = RecommendationService(models: set, store: eventStore)
        let memoryOnly = RecommendationService(models: set)
        let users = set.userIDs.ids
        let n = requests, w = warmup, k = self.k
        let result: (none: [Double], fresh: [Double], noStore: [Double], reflected: Int) = try blocking {
            var rng = SeededRandom(seed: 11)
            func timed(_ body: () async throws -> Void) async rethrows -> Double {
                let s = DispatchTime.now().uptimeNanoseconds
                try await body()
                return Double(DispatchTime.now().uptimeNanoseconds - s) / 1e6
            }
            var none: [Double] = [], fresh: [Double] = [], noStore: [Double] = []
            var reflected = 0
            for r in 0..<(w + n) {
                let user = users[rng.nextInt(users.count)]
                let a = try await timed { _ = try await withStore.recommend(user: user, k: k) }
                let c = try await timed { _ = try await memoryOnly.recommend(user: user, k: k) }
                // The item that leads the list is consumed, then the next request is timed.
                let top = try await withStore.recommend(user: user, k: k).items[0].item.id
                _ = try await eventStore.append([FeedbackEvent(user: user, item: top, kind: "watch")])
                var after: RecommendationResult?
                let b = try await timed { after = try await withStore.recommend(user: user, k: k) }
                if r >= w {
                    none.append(a); fresh.append(b); noStore.append(c)
                    if let after, after.history.last?.id == top, !after.items.contains(where: { $0.item.id == top }) { reflected += 1 }
                }
            }
            await eventStore.close()
            return (none, fresh, noStore, reflected)
        }
        let rows: [(String, [Double])] = [("no new events", result.none), ("right after an event", result.fresh), ("no event store (reference)", result.noStore)]
        let ratio = latencySummary(result.fresh)["p50_ms"]! / max(1e-9, latencySummary(result.none)["p50_ms"]!)
        let ratio99 = latencySummary(result.fresh)["p99_ms"]! / max(1e-9, latencySummary(result.none)["p99_ms"]!)
        if global.json {
            try printJSON(
                [
                    "model": set.identities[0].source, "items": set.itemCount, "users": users.count, "store": eventStore.location,
                    "requests": n, "reflected": result.reflected, "p50_ratio": ratio, "p99_ratio": ratio99,
                    "cases": rows.map { ["case": $0.0, "latency": latencySummary($0.1)] as [String: Any] },
                ] as [String: Any])
            return
        }
        print("bench events: \(set.identities[0].kind) over \(set.itemCount) items, \(users.count) users, k \(k), \(eventStore.location), one thread")
        print(
            renderTable(
                ["case", "requests", "p50", "p90", "p99", "max"],
                rows.map { r in
                    let s = latencySummary(r.1)
                    return [r.0, "\(r.1.count)"] + ["p50_ms", "p90_ms", "p99_ms", "max_ms"].map { String(format: "%.3f ms", s[$0]!) }
                }))
        print(
            String(
                format: "reflected in the next request: %d of %d (%.1f%%); after an event / without: p50 %.2f×, p99 %.2f×",
                result.reflected, n, 100 * Double(result.reflected) / Double(max(1, n)), ratio, ratio99))
    }
}
