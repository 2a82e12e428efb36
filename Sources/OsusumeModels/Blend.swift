import Foundation
import OsusumeCore

// Declarative blending of several models' scores, the slot mix that fills a recommendation list
// from several sources, and the cold-start policy that picks both from the history's length.
// Pure functions over score vectors: serving composes them, tests pin them down.

/// How one model's scores are put on a common scale before weighting. Statistics are taken over
/// the candidate items only (scores that are finite), so excluded items do not skew them.
public enum ScoreNormalisation: String, Codable, Sendable, CaseIterable {
    /// Raw scores.
    case none
    /// (s − min) / (max − min), into [0, 1].
    case minMax = "minmax"
    /// (s − mean) / standard deviation.
    case zScore = "zscore"
    /// s / max |s|, which keeps zero at zero (a sparse model's "no evidence").
    case maxAbs = "maxabs"

    /// The affine map s ↦ (s − shift) · scale this normalisation applies to `scores`.
    public func affine(_ scores: UnsafeBufferPointer<Float>) -> (shift: Float, scale: Float) {
        switch self {
        case .none: return (0, 1)
        case .minMax:
            let (lo, hi) = FiniteStats.minMax(scores)
            guard lo < hi else { return (lo.isFinite ? lo : 0, 0) }
            return (lo, 1 / (hi - lo))
        case .zScore:
            let (n, sum, squares) = FiniteStats.moments(scores)
            guard n > 1 else { return (n == 1 ? Float(sum) : 0, 0) }
            let mean = sum / Double(n)
            let variance = max(0, squares / Double(n) - mean * mean)
            guard variance > 1e-12 * max(1, mean * mean) else { return (Float(mean), 0) }
            return (Float(mean), Float(1 / variance.squareRoot()))
        case .maxAbs:
            var m: Float = 0
            for s in scores where s.isFinite { m = max(m, abs(s)) }
            return (0, m > 0 ? 1 / m : 0)
        }
    }
}

/// A weighted sum of normalised model scores: `score = Σ wₘ · norm(sₘ)`.
///
/// Written as a spec string, `"ease:0.6,content:0.4"` with an optional normalisation suffix
/// `"…;norm=minmax"` (default z-score), so a blend can be named on a command line or in a query.
public struct WeightedBlend: Codable, Sendable, Equatable, CustomStringConvertible {
    public struct Component: Codable, Sendable, Equatable {
        public var model: String
        public var weight: Float
        public init(model: String, weight: Float) { self.model = model; self.weight = weight }
    }
    public var components: [Component]
    public var normalisation: ScoreNormalisation

    public init(_ components: [Component], normalisation: ScoreNormalisation = .zScore) {
        self.components = components; self.normalisation = normalisation
    }

    /// Parses `"ease:0.6,content:0.4;norm=minmax"`. A component without a weight weighs 1.
    public init(spec: String) throws {
        var parts = spec.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        var normalisation = ScoreNormalisation.zScore
        if let i = parts.firstIndex(where: { $0.hasPrefix("norm=") }) {
            let name = String(parts.remove(at: i).dropFirst(5)).lowercased()
            guard let n = ScoreNormalisation(rawValue: name) else {
                throw OsusumeError.invalidArgument("blend: unknown normalisation '\(name)'; one of \(ScoreNormalisation.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            normalisation = n
        }
        guard parts.count == 1, !parts[0].isEmpty else {
            throw OsusumeError.invalidArgument("blend: expected 'model:weight,…[;norm=zscore]', got '\(spec)'")
        }
        var components: [Component] = []
        for item in parts[0].split(separator: ",") {
            let pair = item.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let name = pair.first, !name.isEmpty else { throw OsusumeError.invalidArgument("blend: empty model name in '\(spec)'") }
            var weight: Float = 1
            if pair.count == 2 {
                guard let w = Float(pair[1]), w.isFinite, w >= 0 else {
                    throw OsusumeError.invalidArgument("blend: weight of '\(name)' must be a number ≥ 0, got '\(pair[1])'")
                }
                weight = w
            }
            guard !components.contains(where: { $0.model == name }) else {
                throw OsusumeError.invalidArgument("blend: model '\(name)' appears twice")
            }
            components.append(Component(model: name, weight: weight))
        }
        guard components.contains(where: { $0.weight > 0 }) else {
            throw OsusumeError.invalidArgument("blend: at least one weight must be > 0")
        }
        self.init(components, normalisation: normalisation)
    }

    public var description: String {
        components.map { "\($0.model):\(Self.format($0.weight))" }.joined(separator: ",")
            + (normalisation == .zScore ? "" : ";norm=\(normalisation.rawValue)")
    }

    private static func format(_ w: Float) -> String {
        w == w.rounded() ? String(Int(w)) : String(format: "%g", Double(w))
    }

    /// The blend restricted to `available` models with positive weight, weights rescaled to sum
    /// to 1; nil when nothing is left.
    public func restricted(to available: Set<String>) -> WeightedBlend? {
        let kept = components.filter { available.contains($0.model) && $0.weight > 0 }
        let total = kept.reduce(Float(0)) { $0 + $1.weight }
        guard total > 0 else { return nil }
        return WeightedBlend(kept.map { Component(model: $0.model, weight: $0.weight / total) }, normalisation: normalisation)
    }

    /// Blends `inputs` (one score vector per component, in order, all of length `count`) into
    /// `out`. Non-finite input scores (excluded items) stay −∞ in the output. Returns each
    /// component's effective multiplier (weight × normalisation scale), which is what turns a
    /// model's own contributions into contributions to the blended score.
    @discardableResult
    public func combine(_ inputs: [UnsafeBufferPointer<Float>], count: Int, into out: UnsafeMutablePointer<Float>) -> [Float] {
        precondition(inputs.count == components.count, "one score vector per component")
        out.initialize(repeating: 0, count: count)
        var multipliers: [Float] = []
        for (c, scores) in zip(components, inputs) {
            let (shift, scale) = normalisation.affine(scores)
            let m = c.weight * scale
            multipliers.append(m)
            // A finite score contributes; an excluded one (−∞) poisons the sum on purpose.
            FiniteStats.accumulateAffine(scores, multiplier: m, offset: -shift * m, into: out, count: count)
        }
        return multipliers
    }
}

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
            let pieces = part.contains(":") ? part.split(separator: ":").map(String.init)
                                             : part.split(separator: " ").map(String.init).reversed()
            guard pieces.count == 2, let slot = Slot(rawValue: pieces[0].trimmingCharacters(in: .whitespaces).lowercased()),
                  let n = Int(pieces[1].trimmingCharacters(in: .whitespaces)), n >= 0 else {
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

/// Which models and which slot mix serve a history, by its length: no history gets popular and
/// new items; a short history leans on item-to-item and content models, which need little
/// evidence; a longer one on the personal models.
public struct ColdStartPolicy: Codable, Sendable, Equatable {
    public enum Stage: String, Codable, Sendable {
        /// No history: nothing personal to go on.
        case none
        /// A few items (fewer than `establishedAt`).
        case few
        /// Enough history for the personal models.
        case established
    }

    /// History length from which the personal models lead.
    public var establishedAt: Int = 5
    public var emptyMix = SlotMix(personal: 0, popular: 6, new: 4)
    public var fewBlend = WeightedBlend([.init(model: "itemknn", weight: 0.4), .init(model: "content", weight: 0.35),
                                         .init(model: "ease", weight: 0.25)])
    public var fewMix = SlotMix(personal: 8, popular: 1, new: 1)
    public var establishedBlend = WeightedBlend([.init(model: "ease", weight: 0.6), .init(model: "itemknn", weight: 0.3),
                                                 .init(model: "content", weight: 0.1)])
    public var establishedMix = SlotMix(personal: 9, popular: 0, new: 1)

    public init() {}

    public func stage(forHistoryLength n: Int) -> Stage {
        n <= 0 ? .none : (n < establishedAt ? .few : .established)
    }

    /// The blend (nil for no history) and the mix for a history of `length`, restricted to the
    /// personal models `available`. When none of the stage's models is available, the available
    /// ones are weighed equally.
    public func plan(historyLength length: Int, available: [String]) -> (stage: Stage, blend: WeightedBlend?, mix: SlotMix) {
        let stage = stage(forHistoryLength: length)
        switch stage {
        case .none:
            return (stage, nil, emptyMix)
        case .few, .established:
            let preferred = stage == .few ? fewBlend : establishedBlend
            let blend = preferred.restricted(to: Set(available))
                ?? WeightedBlend(available.map { .init(model: $0, weight: 1 / Float(available.count)) }, normalisation: preferred.normalisation)
            return (stage, available.isEmpty ? nil : blend, stage == .few ? fewMix : establishedMix)
        }
    }
}

/// Vectorised passes over score vectors that skip non-finite entries (excluded items are −∞).
/// Eight lanes at a time; the moments are summed in Float within blocks of 1,024 entries and
/// in Double across blocks, which is as exact as summing in Double for score vectors.
enum FiniteStats {
    typealias V = SIMD8<Float>

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always) static func finiteMask(_ v: V) -> SIMDMask<SIMD8<Int32>> {
        (v .> -.infinity) .& (v .< .infinity)   // false for ±∞ and NaN
    }

    static func moments(_ scores: UnsafeBufferPointer<Float>) -> (count: Int, sum: Double, squares: Double) {
        guard let base = scores.baseAddress else { return (0, 0, 0) }
        let n = scores.count
        var count = 0, sum = 0.0, squares = 0.0
        var i = 0
        while i + 8 <= n {
            let blockEnd = min(i + 1024, n - n % 8)
            var s = V(), q = V(), c = SIMD8<Int32>()
            while i < blockEnd {
                let v = load(base + i)
                let ok = finiteMask(v)
                let x = V(repeating: 0).replacing(with: v, where: ok)
                s += x; q += x * x
                c &+= SIMD8<Int32>(repeating: 0).replacing(with: 1, where: ok)
                i += 8
            }
            sum += Double(s.sum()); squares += Double(q.sum()); count += Int(c.wrappedSum())
        }
        while i < n {
            let x = base[i]
            if x.isFinite { count += 1; sum += Double(x); squares += Double(x) * Double(x) }
            i += 1
        }
        return (count, sum, squares)
    }

    static func minMax(_ scores: UnsafeBufferPointer<Float>) -> (min: Float, max: Float) {
        guard let base = scores.baseAddress else { return (.infinity, -.infinity) }
        let n = scores.count
        var lo = V(repeating: .infinity), hi = V(repeating: -.infinity)
        var i = 0
        while i + 8 <= n {
            let v = load(base + i)
            let ok = finiteMask(v)
            lo = pointwiseMin(lo, V(repeating: .infinity).replacing(with: v, where: ok))
            hi = pointwiseMax(hi, V(repeating: -.infinity).replacing(with: v, where: ok))
            i += 8
        }
        var l = lo.min(), h = hi.max()
        while i < n { let x = base[i]; if x.isFinite { l = Swift.min(l, x); h = Swift.max(h, x) }; i += 1 }
        return (l, h)
    }

    /// out[i] += scores[i] · multiplier + offset for finite scores, out[i] = −∞ otherwise.
    static func accumulateAffine(_ scores: UnsafeBufferPointer<Float>, multiplier m: Float, offset: Float,
                                 into out: UnsafeMutablePointer<Float>, count: Int) {
        guard let base = scores.baseAddress else { return }
        let vm = V(repeating: m), vo = V(repeating: offset), minusInf = V(repeating: -.infinity)
        var i = 0
        while i + 8 <= count {
            let v = load(base + i)
            let o = load(out + i)
            let r = (o + (v * vm + vo)).replacing(with: minusInf, where: .!finiteMask(v))
            UnsafeMutableRawPointer(out + i).storeBytes(of: r, as: V.self)
            i += 8
        }
        while i < count { let x = base[i]; out[i] += x.isFinite ? x * m + offset : -.infinity; i += 1 }
    }
}
