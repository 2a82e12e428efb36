import Foundation
import OsusumeCore

// Declarative blending of several models' scores: pure functions over score vectors. Serving
// composes them per request and `Ensemble` per batch, so a blend measured offline is the blend served.

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

/// Vectorised passes over score vectors that skip non-finite entries (excluded items are −∞).
/// Eight lanes at a time; the moments are summed in Float within blocks of 1,024 entries and
/// in Double across blocks, which is as exact as summing in Double for score vectors.
public enum FiniteStats {
    typealias V = SIMD8<Float>

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always) static func finiteMask(_ v: V) -> SIMDMask<SIMD8<Int32>> {
        (v .> -.infinity) .& (v .< .infinity) // false for ±∞ and NaN
    }

    public static func moments(_ scores: UnsafeBufferPointer<Float>) -> (count: Int, sum: Double, squares: Double) {
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

    public static func minMax(_ scores: UnsafeBufferPointer<Float>) -> (min: Float, max: Float) {
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
    public static func accumulateAffine(
        _ scores: UnsafeBufferPointer<Float>, multiplier m: Float, offset: Float,
        into out: UnsafeMutablePointer<Float>, count: Int
    ) {
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
