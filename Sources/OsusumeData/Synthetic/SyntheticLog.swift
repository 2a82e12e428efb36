import Foundation
import OsusumeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A deterministic synthetic interaction log of any size, written as a MovieLens-style folder
/// (`ratings.csv` with userId, movieId, rating, timestamp and `movies.csv` with movieId, title,
/// genres), so every command reads it with `--format movielens-csv`.
///
/// Its marginals follow MovieLens: item weights and user activity are log-normal (σ 2.0 and 1.3,
/// at least 20 items per user, at most a third of the catalog), σ chosen so that the written log
/// matches ML-1M where it counts: the most popular item has 0.38% of the interactions (ML-1M
/// 0.34%), the top 1% of items 8.9% (8.2%), and log user activity spreads with σ 0.95 (0.99).
/// Planted in it, for a good model to find and Popularity not:
/// - **tastes**: items fall into clusters of about 100 (`genres` = `Taste<k>`); a user has a main
///   and a second taste and takes 55% and 20% of their items from them (by popularity within the
///   taste), the rest by global popularity;
/// - **sequels**: within a taste the items form series in id order; 30% of the time a user's
///   next item is the first item after their previous one in its taste that they have not seen;
/// - **time**: each user starts at a uniform time in 2000–2020; gaps are exponential with a mean
///   of two hours, with a 5% chance of a break of about a month (shortened for heavy users so
///   that their histories end around 2024 rather than decades later);
/// - **ratings** in half stars from 0.5 to 5: 3.5 + 0.5 in the main taste + the item's quality
///   (σ 0.5) + the user's bias (σ 0.4) + noise (σ 0.7), rounded and clamped.
///
/// The same spec and seed give the same bytes on every machine, whatever the thread count.
public struct SyntheticLogSpec: Sendable, Equatable {
    public var users: Int
    public var items: Int
    public var interactions: Int
    public var seed: UInt64

    public init(users: Int, items: Int, interactions: Int, seed: UInt64 = 42) {
        self.users = users; self.items = items; self.interactions = interactions; self.seed = seed
    }

    /// Named sizes: `ml-20m` (MovieLens-20M: 138,493 users, 27,278 items, 20,000,263
    /// interactions), `mal` (the public MyAnimeList dumps: 300,000 users, 17,000 items, 60M),
    /// `ml-1m` (6,040 users, 3,706 items, 1,000,209) and `small` (610 users, 9,724 items, 100,836,
    /// ml-latest-small's size).
    public static let presets: [String: SyntheticLogSpec] = [
        "ml-20m": .init(users: 138_493, items: 27_278, interactions: 20_000_263),
        "mal": .init(users: 300_000, items: 17_000, interactions: 60_000_000),
        "ml-1m": .init(users: 6_040, items: 3_706, interactions: 1_000_209),
        "small": .init(users: 610, items: 9_724, interactions: 100_836),
    ]

    /// The minimum a user has, as in MovieLens.
    public static let minPerUser = 20

    /// Checks that the sizes can be met: every user needs 20 items and at most a third of the
    /// catalog, and ids must fit 32 bits.
    public func validate() throws {
        guard users > 0, items >= 3 * Self.minPerUser else {
            throw OsusumeError.invalidArgument("synth: needs at least 1 user and \(3 * Self.minPerUser) items (got \(users) users, \(items) items)")
        }
        guard users < Int(Int32.max), items < Int(Int32.max) else { throw OsusumeError.invalidArgument("synth: at most \(Int32.max - 1) users and items") }
        guard interactions >= users * Self.minPerUser else {
            throw OsusumeError.invalidArgument("synth: \(interactions) interactions cannot give \(users) users \(Self.minPerUser) each (need ≥ \(users * Self.minPerUser))")
        }
        guard interactions <= users * (items / 3) else {
            throw OsusumeError.invalidArgument("synth: \(interactions) interactions need more than a third of the \(items) items per user on average; use more users or items")
        }
    }
}

/// Writes the log a `SyntheticLogSpec` describes.
public enum SyntheticLog {
    static let tasteSize = 100
    static let mainTasteShare: Float = 0.55
    static let secondTasteShare: Float = 0.20
    static let sequelChance: Float = 0.30
    static let itemSigma: Float = 2.0
    static let userSigma: Float = 1.3
    /// Users are generated in blocks of this many, each from its own seed, so the output does
    /// not depend on the thread count.
    static let block = 2048

    /// What was written.
    public struct Summary: Sendable {
        public var users: Int, items: Int, interactions: Int, bytes: Int
    }

    /// The catalog-wide draws: each item's taste, popularity weight and quality, and the
    /// samplers built from them.
    struct Catalog {
        var taste: [Int32]
        var quality: [Float]
        var year: [Int32]
        var global: AliasTable
        var byTaste: [AliasTable]
        var tasteItems: [[Int32]]
        var tasteCount: Int
    }

    static func catalog(_ spec: SyntheticLogSpec) -> Catalog {
        var rng = SeededRandom(seed: spec.seed ^ 0xC47A_1065)
        let n = spec.items
        let tasteCount = max(1, n / tasteSize)
        var weight = [Double](repeating: 0, count: n)
        var taste = [Int32](repeating: 0, count: n), quality = [Float](repeating: 0, count: n), year = [Int32](repeating: 0, count: n)
        for i in 0..<n {
            weight[i] = Double(expf(itemSigma * rng.nextGaussian()))
            taste[i] = Int32(rng.nextInt(tasteCount))
            quality[i] = 0.5 * rng.nextGaussian()
            year[i] = Int32(1950 + rng.nextInt(70))
        }
        var tasteItems = [[Int32]](repeating: [], count: tasteCount)
        for i in 0..<n { tasteItems[Int(taste[i])].append(Int32(i)) }
        let byTaste = tasteItems.map { members in AliasTable(weights: members.map { weight[Int($0)] }) }
        return Catalog(taste: taste, quality: quality, year: year, global: AliasTable(weights: weight), byTaste: byTaste, tasteItems: tasteItems, tasteCount: tasteCount)
    }

    /// Interactions per user: 20 + a log-normal share of the rest, summing to the spec exactly,
    /// each at most a third of the catalog.
    static func activity(_ spec: SyntheticLogSpec) -> [Int] {
        var rng = SeededRandom(seed: spec.seed ^ 0xAC71_7172)
        let cap = spec.items / 3
        let extra = spec.interactions - spec.users * SyntheticLogSpec.minPerUser
        var w = (0..<spec.users).map { _ in Double(expf(userSigma * rng.nextGaussian())) }
        var counts = [Int](repeating: SyntheticLogSpec.minPerUser, count: spec.users)
        var left = extra
        // Hand out the extra in proportion to the weights; users at the cap drop out and the
        // rest share what they could not take.
        while left > 0 {
            let total = w.reduce(0, +)
            guard total > 0 else { break }
            var given = 0
            for u in 0..<spec.users where w[u] > 0 {
                let share = min(Int(Double(left) * w[u] / total), cap - counts[u])
                counts[u] += share
                given += share
                if counts[u] >= cap { w[u] = 0 }
            }
            if given == 0 {
                // Rounding left a remainder smaller than the number of users: one each.
                for u in 0..<spec.users where left > given && counts[u] < cap {
                    counts[u] += 1
                    given += 1
                }
            }
            left -= given
        }
        return counts
    }

    /// Writes `ratings.csv` and `movies.csv` into `directory` (replaced atomically).
    /// `progress` is called with the users written so far.
    @discardableResult
    public static func write(_ spec: SyntheticLogSpec, to directory: URL, progress: ((Int) -> Void)? = nil) throws -> Summary {
        try spec.validate()
        let cat = catalog(spec)
        let counts = activity(spec)
        var bytes = 0
        try AtomicFile.writeDirectory(at: directory) { dir in
            var movies = "movieId,title,genres\n"
            movies.reserveCapacity(spec.items * 40)
            for i in 0..<spec.items { movies += "\(i + 1),Synthetic \(i + 1) (\(cat.year[i])),Taste\(cat.taste[i])\n" }
            try Data(movies.utf8).write(to: dir.appendingPathComponent("movies.csv"))
            bytes += movies.utf8.count
            let path = dir.appendingPathComponent("ratings.csv").path
            guard let file = fopen(path, "wb") else { throw OsusumeError.file(path, problem: "could not be created") }
            defer { fclose(file) }
            let header = Array("userId,movieId,rating,timestamp\n".utf8)
            fwrite(header, 1, header.count, file)
            bytes += header.count
            let blocks = (spec.users + block - 1) / block
            // Blocks are made in parallel, a few at a time, and written in order.
            let wave = max(1, Threads.count) * 2
            var next = 0
            while next < blocks {
                let these = Array(next..<min(blocks, next + wave))
                var out = [[UInt8]](repeating: [], count: these.count)
                out.withUnsafeMutableBufferPointer { op in
                    let base = SharedPointer(op.baseAddress!)
                    DispatchQueue.concurrentPerform(iterations: these.count) { k in
                        base[k] = makeBlock(these[k], spec: spec, catalog: cat, counts: counts)
                    }
                }
                for chunk in out {
                    if fwrite(chunk, 1, chunk.count, file) != chunk.count { throw OsusumeError.file(path, problem: "write failed (disk full?)") }
                    bytes += chunk.count
                }
                next += these.count
                progress?(min(spec.users, next * block))
            }
            if fflush(file) != 0 { throw OsusumeError.file(path, problem: "write failed (disk full?)") }
        }
        return Summary(users: spec.users, items: spec.items, interactions: counts.reduce(0, +), bytes: bytes)
    }

    /// The CSV lines of one block of users.
    static func makeBlock(_ b: Int, spec: SyntheticLogSpec, catalog cat: Catalog, counts: [Int]) -> [UInt8] {
        var rng = SeededRandom(seed: spec.seed &+ 0x5EED_0000 &+ UInt64(b) &* 0x9E37_79B9_7F4A_7C15)
        let lo = b * block, hi = min(spec.users, lo + block)
        var out: [UInt8] = []
        out.reserveCapacity(counts[lo..<hi].reduce(0, +) * 26)
        var seen = Set<Int32>()
        var order: [Int32] = []
        let start2000: Int64 = 946_684_800, span: Int64 = 20 * 365 * 86_400
        for u in lo..<hi {
            let n = counts[u]
            let main = rng.nextInt(cat.tasteCount), second = rng.nextInt(cat.tasteCount)
            let bias = 0.4 * rng.nextGaussian()
            var t = start2000 + Int64(rng.nextInt(Int(span)))
            // A heavy user's gaps shrink so their history ends around 2024, not decades later.
            let expectedSpan = Float(n) * (0.95 * 7_200 + 0.05 * 30 * 86_400)
            let pace = min(1, Float(start2000 + span + 4 * 365 * 86_400 - t) / expectedSpan)
            seen.removeAll(keepingCapacity: true)
            order.removeAll(keepingCapacity: true)
            var previous: Int32 = -1
            while order.count < n {
                var item: Int32 = -1
                if previous >= 0, rng.nextFloat() < sequelChance {
                    item = sequel(after: previous, catalog: cat, seen: seen)
                }
                var tries = 0
                while item < 0 || seen.contains(item) {
                    let r = rng.nextFloat()
                    let source = r < mainTasteShare ? main : (r < mainTasteShare + secondTasteShare ? second : -1)
                    if source >= 0, tries < 20 {
                        let members = cat.tasteItems[source]
                        item = members.isEmpty ? Int32(cat.global.sample(&rng)) : members[cat.byTaste[source].sample(&rng)]
                    } else if tries < 200 {
                        item = Int32(cat.global.sample(&rng))
                    } else {
                        item = Int32(rng.nextInt(spec.items)) // a heavy user who has the popular items already
                    }
                    tries += 1
                }
                seen.insert(item)
                order.append(item)
                previous = item
                // Time moves on; a rating follows the user's taste and the item's quality.
                let gap = -logf(max(1e-7, rng.nextFloat())) * (rng.nextFloat() < 0.05 ? 30 * 86_400 : 7_200) * pace
                t += Int64(gap) + 1
                var rating = 3.5 + bias + cat.quality[Int(item)] + 0.7 * rng.nextGaussian()
                if cat.taste[Int(item)] == Int32(main) { rating += 0.5 }
                rating = min(5, max(0.5, (rating * 2).rounded() / 2))
                appendLine(&out, user: u + 1, item: Int(item) + 1, rating: rating, time: t)
            }
        }
        return out
    }

    /// The first item after `previous` in its taste's series that the user has not seen.
    static func sequel(after previous: Int32, catalog cat: Catalog, seen: Set<Int32>) -> Int32 {
        let members = cat.tasteItems[Int(cat.taste[Int(previous)])]
        // Members are in id order: binary search for previous, then walk on.
        var lo = 0, hi = members.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if members[mid] <= previous { lo = mid + 1 } else { hi = mid }
        }
        var k = lo
        while k < members.count, k < lo + 8 {
            if !seen.contains(members[k]) { return members[k] }
            k += 1
        }
        return -1
    }

    static func appendLine(_ out: inout [UInt8], user: Int, item: Int, rating: Float, time: Int64) {
        appendInt(&out, Int64(user)); out.append(44)
        appendInt(&out, Int64(item)); out.append(44)
        let halves = Int(rating * 2)
        appendInt(&out, Int64(halves / 2)); out.append(46); out.append(halves % 2 == 1 ? 53 : 48); out.append(44)
        appendInt(&out, time); out.append(10)
    }

    static func appendInt(_ out: inout [UInt8], _ v: Int64) {
        if v == 0 { out.append(48); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        )
        var n = 0
        var x = v
        withUnsafeMutableBytes(of: &digits) { d in
            while x > 0 {
                d[n] = UInt8(48 + x % 10)
                x /= 10
                n += 1
            }
            for k in stride(from: n - 1, through: 0, by: -1) { out.append(d[k]) }
        }
    }
}

/// Walker's alias method: draws index i with probability weights[i] / Σ weights in O(1).
struct AliasTable: Sendable {
    var probability: [Float]
    var alias: [Int32]

    init(weights: [Double]) {
        let n = weights.count
        probability = [Float](repeating: 1, count: n)
        alias = Array(0..<Int32(n))
        guard n > 0 else { return }
        let total = weights.reduce(0, +)
        var scaled = weights.map { $0 * Double(n) / total }
        var small: [Int] = [], large: [Int] = []
        for (i, p) in scaled.enumerated() { if p < 1 { small.append(i) } else { large.append(i) } }
        while let s = small.popLast(), let l = large.last {
            probability[s] = Float(scaled[s])
            alias[s] = Int32(l)
            scaled[l] -= 1 - scaled[s]
            if scaled[l] < 1 {
                large.removeLast()
                small.append(l)
            }
        }
    }

    @inline(__always) func sample(_ rng: inout SeededRandom) -> Int {
        let i = rng.nextInt(probability.count)
        return rng.nextFloat() < probability[i] ? i : Int(alias[i])
    }
}
