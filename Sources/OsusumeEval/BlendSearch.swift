import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels

/// One candidate blend, scored on the validation part.
public struct BlendTrial: Codable, Sendable {
    public var number: Int
    /// The blend as `WeightedBlend` writes it ("ease:0.25,sasrec:0.75;norm=minmax").
    public var blend: String
    public var normalisation: String
    /// One weight per member, in member order; they sum to 1.
    public var weights: [Double]
    public var validationNDCG10: Double
}

public struct BlendSearchResult: Codable, Sendable {
    public var members: [String]
    /// "simplex grid, step 0.05, 3 normalisations".
    public var method: String
    public var trials: [BlendTrial]
    public var winner: Int
    /// Validation cases the search scored (all, or a seeded sample when the score matrix would
    /// not fit the memory bound).
    public var validationCases: Int
    public var sampledFrom: Int?
    public var seconds: Double
    public var blend: String { trials[winner].blend }
}

/// Chooses the weights (and the score normalisation) of a blend of fitted models on the
/// validation part only. Each member scores the validation users once; the search then recombines
/// those scores for every point of a grid over the weight simplex, with the evaluator's protocol
/// (history masked, full ranking, NDCG@10 from `CaseMetrics`). The grid holds each member alone
/// (its corner), so the winner is never below the best member on validation.
public enum BlendSearch {
    public static func run(
        members: [(name: String, model: any Recommender)], validation allCases: [EvalCase],
        step: Double = 0.05, normalisations: [ScoreNormalisation] = [.zScore, .minMax, .maxAbs],
        maxScoreBytes: Int = 2 << 30, seed: UInt64 = 2024, log: (String) -> Void = { _ in }
    ) throws -> BlendSearchResult {
        let start = Date()
        guard members.count >= 2 else { throw OsusumeError.invalidArgument("a blend needs at least two members, got \(members.count)") }
        guard Set(members.map(\.name)).count == members.count else {
            throw OsusumeError.invalidArgument("blend members must differ: \(members.map(\.name).joined(separator: ", "))")
        }
        guard !allCases.isEmpty else {
            throw OsusumeError.invalidArgument("the blend is chosen on the validation part, and this split has none (use leave-one-out or a split with validation)")
        }
        guard step > 0, step <= 0.5, !normalisations.isEmpty else { throw OsusumeError.invalidArgument("blend search: step must be in (0, 0.5]") }
        let n = members[0].model.itemCount
        guard members.allSatisfy({ $0.model.itemCount == n }), n > 0 else {
            throw OsusumeError.invalidArgument("blend members score different numbers of items: \(members.map { "\($0.name) \($0.model.itemCount)" }.joined(separator: ", "))")
        }
        let m = members.count
        // Every member's score matrix for the validation cases is kept; above the memory bound a
        // seeded sample of cases (in case order) is searched instead, and the result says so.
        let rowBytes = n * m * MemoryLayout<Float>.size
        var cases = allCases
        var sampledFrom: Int?
        let fit = max(1, maxScoreBytes / rowBytes)
        if fit < allCases.count {
            cases = EvalCase.seededSample(allCases, count: fit, seed: seed ^ 0xB1E2D)
            sampledFrom = allCases.count
            log("blend search: \(fit) of \(allCases.count) validation cases (the score matrices of all would exceed \(maxScoreBytes >> 20) MB)")
        }
        let c = cases.count
        // scores[member][case · n + item], history masked.
        let scores = (0..<m).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: c * n) }
        defer { for p in scores { p.deallocate() } }
        for (j, member) in members.enumerated() {
            var lo = 0
            while lo < c {
                let hi = min(c, lo + 512)
                let queries = (lo..<hi).map { ScoringQuery(user: cases[$0].user, history: cases[$0].history, ratings: cases[$0].historyRatings) }
                member.model.score(queries, into: scores[j] + lo * n)
                for r in lo..<hi { TopK.exclude(cases[r].history, from: UnsafeMutableBufferPointer(start: scores[j] + r * n, count: n)) }
                lo = hi
            }
            log("blend search: \(member.name) scored \(c) validation cases")
        }
        let grid = simplexGrid(members: m, step: step)
        let names = members.map(\.name)
        var trials: [BlendTrial] = []
        for norm in normalisations {
            for weights in grid {
                let blend = WeightedBlend(zip(names, weights).map { .init(model: $0, weight: Float($1)) }, normalisation: norm)
                let ndcg = validationNDCG(blend, scores: scores.map { SharedPointer($0) }, cases: cases, items: n)
                trials.append(
                    BlendTrial(
                        number: trials.count, blend: blend.description, normalisation: norm.rawValue, weights: weights, validationNDCG10: ndcg))
            }
            let best = trials.filter { $0.normalisation == norm.rawValue }.max { $0.validationNDCG10 < $1.validationNDCG10 }!
            log(String(format: "blend search: %@ best %@ validation NDCG@10 %.4f", norm.rawValue, best.blend, best.validationNDCG10))
        }
        // Ties go to the earlier trial (the first normalisation, then grid order).
        var winner = 0
        for t in trials where t.validationNDCG10 > trials[winner].validationNDCG10 { winner = t.number }
        return BlendSearchResult(
            members: names, method: "simplex grid, step \(step), normalisations \(normalisations.map(\.rawValue).joined(separator: ", "))",
            trials: trials, winner: winner, validationCases: c, sampledFrom: sampledFrom, seconds: Date().timeIntervalSince(start))
    }

    /// Every weight vector with `members` entries that are multiples of `step` and sum to 1.
    static func simplexGrid(members: Int, step: Double) -> [[Double]] {
        let units = max(1, Int((1 / step).rounded()))
        var out: [[Double]] = []
        var current = [Int](repeating: 0, count: members)
        func fill(_ i: Int, _ left: Int) {
            if i == members - 1 {
                current[i] = left
                out.append(current.map { Double($0) / Double(units) })
                return
            }
            for u in stride(from: left, through: 0, by: -1) {
                current[i] = u
                fill(i + 1, left - u)
            }
        }
        fill(0, units)
        return out
    }

    /// Mean NDCG@10 over `cases` of `blend` applied to the members' masked scores, ranked as the
    /// evaluator ranks (full ranking, masked items −∞ in every member).
    static func validationNDCG(_ blend: WeightedBlend, scores: [SharedPointer<Float>], cases: [EvalCase], items n: Int) -> Double {
        let c = cases.count
        var perCase = [Double](repeating: 0, count: c)
        perCase.withUnsafeMutableBufferPointer { pc in
            let out = SharedPointer(pc.baseAddress!)
            Threads.parallelFor(c) { _, range in
                var row = [Float](repeating: 0, count: n)
                // One array of member rows per thread, re-pointed for each case.
                var inputs = scores.map { UnsafeBufferPointer(start: UnsafePointer($0.base), count: n) }
                for r in range {
                    for j in inputs.indices { inputs[j] = UnsafeBufferPointer(start: UnsafePointer(scores[j].base + r * n), count: n) }
                    row.withUnsafeMutableBufferPointer { _ = blend.combine(inputs, count: n, into: $0.baseAddress!) }
                    let top = TopK.select(row, k: 10)
                    out[r] = CaseMetrics(ranked: top, targets: Set(cases[r].targets), ks: [10]).values[.ndcg]![0]
                }
            }
        }
        return perCase.reduce(0, +) / Double(max(1, c))
    }
}
