import Foundation
import OsusumeCore

/// Where a recommended item came from.
public enum Slot: String, Codable, Sendable, CaseIterable {
    case personal, popular, new
}

/// How many items of each slot a list gets, e.g. 2 popular + 3 new + 5 personal. Items are
/// deduplicated across slots: the personal slot is filled first (it is the most specific), then
/// new, then popular, each skipping what is already taken. A slot that runs out of candidates
/// leaves its places to the others (personal first). The list is ordered personal, new, popular,
/// each in its source's rank order.
public struct SlotMix: Codable, Sendable, Equatable, CustomStringConvertible {
    public var counts: [Slot: Int]

    public init(_ counts: [Slot: Int]) { self.counts = counts.filter { $0.value > 0 } }

    public init(personal: Int = 0, popular: Int = 0, new: Int = 0) {
        self.init([.personal: personal, .popular: popular, .new: new])
    }

    /// Parses `"personal:5,popular:2,new:3"` or `"2 popular + 3 new + 5 personal"`.
    public init(spec: String) throws {
        var counts: [Slot: Int] = [:]
        let normalised = spec.replacingOccurrences(of: "+", with: ",")
        for raw in normalised.split(separator: ",") {
            let part = raw.trimmingCharacters(in: .whitespaces)
            if part.isEmpty { continue }
            let pieces =
                part.contains(":")
                ? part.split(separator: ":").map(String.init)
                : part.split(separator: " ").map(String.init).reversed()
            guard pieces.count == 2, let slot = Slot(rawValue: pieces[0].trimmingCharacters(in: .whitespaces).lowercased()),
                let n = Int(pieces[1].trimmingCharacters(in: .whitespaces)), n >= 0
            else {
                throw OsusumeError.invalidArgument("slot mix: expected 'personal:N,popular:N,new:N', got '\(part)'")
            }
            counts[slot, default: 0] += n
        }
        guard counts.values.contains(where: { $0 > 0 }) else {
            throw OsusumeError.invalidArgument("slot mix: '\(spec)' gives no slot a place")
        }
        self.init(counts)
    }

    public var total: Int { counts.values.reduce(0, +) }

    public var description: String {
        Slot.allCases.compactMap { s in counts[s].map { "\(s.rawValue):\($0)" } }.joined(separator: ",")
    }

    /// The counts scaled to a list of `k` (largest remainders; ties to personal, new, popular).
    public func scaled(to k: Int) -> [Slot: Int] {
        let total = self.total
        guard total > 0, k > 0 else { return [:] }
        if total == k { return counts }
        var out: [Slot: Int] = [:]
        var remainders: [(Slot, Double)] = []
        var used = 0
        for s in Slot.allCases {
            let exact = Double(counts[s] ?? 0) * Double(k) / Double(total)
            out[s] = Int(exact.rounded(.down)); used += out[s]!
            remainders.append((s, exact - exact.rounded(.down)))
        }
        for (s, _) in remainders.sorted(by: { $0.1 > $1.1 }).prefix(k - used) { out[s]! += 1 }
        return out.filter { $0.value > 0 }
    }

    /// Fills a list of `k` from ranked candidates per slot (best first; they may overlap).
    public func fill(k: Int, candidates: [Slot: [Int32]]) -> [(item: Int32, slot: Slot)] {
        let want = scaled(to: k)
        var taken = Set<Int32>()
        var picked: [Slot: [Int32]] = [:]
        var cursor: [Slot: Int] = [:]
        let priority: [Slot] = [.personal, .new, .popular]
        func take(_ slot: Slot, _ n: Int) -> Int {
            guard n > 0, let list = candidates[slot] else { return 0 }
            var got = 0, i = cursor[slot] ?? 0
            while got < n && i < list.count {
                if taken.insert(list[i]).inserted { picked[slot, default: []].append(list[i]); got += 1 }
                i += 1
            }
            cursor[slot] = i
            return got
        }
        var missing = 0
        for s in priority { missing += (want[s] ?? 0) - take(s, want[s] ?? 0) }
        // Places a slot could not fill go to the others, personal first.
        for s in priority where missing > 0 { missing -= take(s, missing) }
        return priority.flatMap { s in (picked[s] ?? []).map { ($0, s) } }
    }
}
