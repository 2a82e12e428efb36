import OsusumeCore
import OsusumeData

/// Seeded synthetic interactions with planted structure for the autoencoder tests: items form
/// clusters, each user draws most items from one cluster and a few from a popular head; one
/// in-cluster item per user is held out as the target. With `ratings`, every interaction has a
/// rating = 3 + user bias + item bias + taste(user)·taste(item) (tastes ±0.9 within a cluster)
/// + small noise, so a model that reads the user's other ratings can predict beyond the biases.
struct AutoencoderPlantedData {
    var log = InteractionLog()
    var cases: [EvalCase] = []

    init(
        users: Int = 400, clusters: Int = 8, itemsPerCluster: Int = 25, perUser: Int = 14, popular: Int = 10,
        ratings: Bool = false, seed: UInt64 = 1
    ) {
        var rng = SeededRandom(seed: seed)
        let items = clusters * itemsPerCluster + popular
        var itemBias = [Float](repeating: 0, count: items)
        var itemTaste = [Float](repeating: 0, count: items)
        for i in 0..<items {
            _ = log.itemIDs.intern("i\(i)")
            itemBias[i] = (rng.nextFloat() - 0.5) * 1.0
            itemTaste[i] = rng.nextFloat() < 0.5 ? -0.9 : 0.9
        }
        for u in 0..<users {
            let c = u % clusters
            let userBias = (rng.nextFloat() - 0.5) * 1.0
            let userTaste: Float = rng.nextFloat() < 0.5 ? -1 : 1
            func rating(_ i: Int) -> Float {
                let r = 3 + userBias + itemBias[i] + userTaste * itemTaste[i] + (rng.nextFloat() - 0.5) * 0.2
                return min(5, max(1, r))
            }
            var chosen: [Int] = []
            var seen = Set<Int>()
            while chosen.count < perUser + 1 {
                let i =
                    rng.nextFloat() < 0.2
                    ? clusters * itemsPerCluster + rng.nextInt(popular)
                    : c * itemsPerCluster + rng.nextInt(itemsPerCluster)
                if seen.insert(i).inserted { chosen.append(i) }
            }
            let targetPos = chosen.lastIndex { $0 < clusters * itemsPerCluster }!
            let target = chosen.remove(at: targetPos)
            var historyRatings: [Float] = []
            for (t, i) in chosen.enumerated() {
                let r: Float? = ratings ? rating(i) : nil
                if let r { historyRatings.append(r) }
                log.append(user: "u\(u)", item: "i\(i)", timestamp: Int64(t), rating: r)
            }
            let uIdx = log.userIDs.index(of: "u\(u)")!
            cases.append(
                EvalCase(
                    user: uIdx, history: chosen.map { log.itemIDs.index(of: "i\($0)")! },
                    targets: [log.itemIDs.index(of: "i\(target)")!],
                    historyRatings: ratings ? historyRatings : nil,
                    targetRatings: ratings ? [rating(target)] : nil))
        }
        log.hasTimestamps = true
        log.hasRatings = ratings
    }
}
