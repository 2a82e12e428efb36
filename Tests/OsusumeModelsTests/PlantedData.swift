import OsusumeCore
import OsusumeData

/// Seeded synthetic interactions with planted structure: items form clusters, each user draws
/// most of their items from one cluster, a few from a global popular head. A model that learns
/// co-occurrence finds a held-out item of the user's cluster; Popularity cannot.
struct PlantedData {
    var log = InteractionLog()
    var cases: [EvalCase] = []
    let clusters: Int
    let itemsPerCluster: Int

    init(users: Int = 300, clusters: Int = 8, itemsPerCluster: Int = 25, perUser: Int = 12, popular: Int = 10, seed: UInt64 = 1) {
        self.clusters = clusters
        self.itemsPerCluster = itemsPerCluster
        var rng = SeededRandom(seed: seed)
        let items = clusters * itemsPerCluster + popular
        for i in 0..<items { _ = log.itemIDs.intern("i\(i)") }
        for u in 0..<users {
            let c = u % clusters
            var chosen: [Int] = []
            var seen = Set<Int>()
            while chosen.count < perUser + 1 {
                let i: Int
                if rng.nextFloat() < 0.2 {
                    i = clusters * itemsPerCluster + rng.nextInt(popular) // popular noise
                } else {
                    i = c * itemsPerCluster + rng.nextInt(itemsPerCluster)
                }
                if seen.insert(i).inserted { chosen.append(i) }
            }
            // Hold out the last in-cluster item as the test target.
            let targetPos = chosen.lastIndex { $0 < clusters * itemsPerCluster }!
            let target = chosen.remove(at: targetPos)
            for (t, i) in chosen.enumerated() { log.append(user: "u\(u)", item: "i\(i)", timestamp: Int64(t), rating: nil) }
            let uIdx = log.userIDs.index(of: "u\(u)")!
            cases.append(
                EvalCase(
                    user: uIdx, history: chosen.map { log.itemIDs.index(of: "i\($0)")! },
                    targets: [log.itemIDs.index(of: "i\(target)")!]))
        }
        log.hasTimestamps = true
    }
}
