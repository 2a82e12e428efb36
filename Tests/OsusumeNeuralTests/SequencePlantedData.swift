import Foundation
import OsusumeCore
import OsusumeData

/// Seeded synthetic sequences with a planted transition: after item i comes item (i + 1) mod n
/// with probability `follow`, otherwise a random unseen item. The last item of each sequence is
/// held out as the test target (history: everything before). Popularity is nearly uniform, so
/// it cannot find the target; a sequential model that learns the transition can. Each item has
/// a genre (its index mod 6) for the genre-embedding option.
struct SequencePlantedData {
    var log = InteractionLog()
    var catalog = Catalog()
    var cases: [EvalCase] = []
    let items: Int

    init(users: Int = 300, items: Int = 100, length: Int = 15, follow: Float = 0.85, seed: UInt64 = 3) {
        self.items = items
        var rng = SeededRandom(seed: seed)
        for i in 0..<items {
            _ = log.itemIDs.intern("i\(i)")
            catalog.upsert(CatalogItem(id: "i\(i)", genres: ["g\(i % 6)"]))
        }
        for u in 0..<users {
            var seq: [Int] = [rng.nextInt(items)]
            var seen: Set<Int> = [seq[0]]
            while seq.count < length + 1 {
                var next = (seq.last! + 1) % items
                if rng.nextFloat() >= follow || seen.contains(next) {
                    repeat { next = rng.nextInt(items) } while seen.contains(next)
                }
                seq.append(next)
                seen.insert(next)
            }
            let target = seq.removeLast()
            for (t, i) in seq.enumerated() { log.append(user: "u\(u)", item: "i\(i)", timestamp: Int64(t), rating: nil) }
            let uIdx = log.userIDs.index(of: "u\(u)")!
            cases.append(
                EvalCase(
                    user: uIdx, history: seq.map { log.itemIDs.index(of: "i\($0)")! },
                    targets: [log.itemIDs.index(of: "i\(target)")!]))
        }
        log.hasTimestamps = true
    }
}
