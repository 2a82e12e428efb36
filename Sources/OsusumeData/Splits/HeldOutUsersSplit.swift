import OsusumeCore

/// Strong generalisation (Liang et al. 2018, Multi-VAE): some users are held out entirely for
/// validation and others for test; none of their interactions are in `train`. Each held-out
/// user's interactions are split into a fold-in history (`foldInFraction`, 80% by default,
/// chosen at random or the earliest ones) and targets (the rest, at least one, in time order).
///
/// Only users with at least `minimumItems` interactions (2 or more: one history, one target)
/// can be held out; others always stay in train. A fraction counts all users with
/// interactions; asking for more held-out users than are eligible is an error.
/// Seeded: the same seed gives the same users and the same fold-in split.
public struct HeldOutUsersSplit: DataSplitter {
    public enum Amount: Sendable, Equatable, CustomStringConvertible {
        case users(Int)
        case fraction(Double)
        public var description: String {
            switch self {
            case .users(let n): return "\(n)"
            case .fraction(let f): return "\(f)"
            }
        }
    }
    public enum FoldIn: String, Sendable { case random, time }

    public var validationUsers: Amount
    public var testUsers: Amount
    public var foldInFraction: Double
    public var foldIn: FoldIn
    public var minimumItems: Int
    public var seed: UInt64

    public init(
        validationUsers: Amount, testUsers: Amount, foldInFraction: Double = 0.8, foldIn: FoldIn = .random,
        minimumItems: Int = 2, seed: UInt64 = 42
    ) {
        self.validationUsers = validationUsers; self.testUsers = testUsers
        self.foldInFraction = foldInFraction; self.foldIn = foldIn; self.minimumItems = minimumItems; self.seed = seed
    }

    public var name: String {
        "held-out-users(validation=\(validationUsers), test=\(testUsers), fold-in=\(foldInFraction) \(foldIn.rawValue), seed=\(seed))"
    }

    func count(_ a: Amount, of total: Int) throws -> Int {
        switch a {
        case .users(let n):
            guard n >= 0 else { throw OsusumeError.invalidArgument("\(name): a user count must not be negative") }
            return n
        case .fraction(let f):
            guard f >= 0, f < 1 else { throw OsusumeError.invalidArgument("\(name): fraction \(f) must be in [0, 1)") }
            return Int((f * Double(total)).rounded())
        }
    }

    public func split(_ log: InteractionLog) throws -> SplitResult {
        guard foldInFraction > 0, foldInFraction < 1 else {
            throw OsusumeError.invalidArgument("\(name): foldInFraction must be between 0 and 1")
        }
        let byUser = log.rowsByUser()
        let active = byUser.filter { !$0.isEmpty }.count
        let nValidation = try count(validationUsers, of: active), nTest = try count(testUsers, of: active)
        let eligible = (0..<byUser.count).filter { byUser[$0].count >= max(2, minimumItems) }
        guard nValidation + nTest <= eligible.count else {
            throw OsusumeError.invalidArgument(
                "\(name): asked for \(nValidation) validation and \(nTest) test users, but only \(eligible.count) users have at least \(max(2, minimumItems)) interactions")
        }
        var rng = SeededRandom(seed: seed)
        var order = eligible
        seededShuffle(&order, using: &rng)
        let validationSet = order[..<nValidation].sorted()
        let testSet = order[nValidation..<nValidation + nTest].sorted()

        var inTrain = [Bool](repeating: true, count: log.count)
        func cases(_ users: [Int]) -> [EvalCase] {
            users.map { u in
                let rows = byUser[u]
                for r in rows { inTrain[r] = false }
                let n = rows.count
                let nTargets = min(n - 1, max(1, Int((Double(n) * (1 - foldInFraction)).rounded())))
                var isTarget = [Bool](repeating: false, count: n)
                switch foldIn {
                case .time:
                    for k in (n - nTargets)..<n { isTarget[k] = true }
                case .random:
                    var positions = Array(0..<n)
                    for k in 0..<nTargets {
                        let j = k + uniformIndex(below: n - k, using: &rng)
                        positions.swapAt(k, j)
                        isTarget[positions[k]] = true
                    }
                }
                let history = (0..<n).filter { !isTarget[$0] }.map { rows[$0] }
                let targets = (0..<n).filter { isTarget[$0] }.map { rows[$0] }
                return log.evalCase(user: Int32(u), history: history, targets: targets)
            }
        }
        let validation = cases(validationSet)
        let test = cases(testSet)
        return SplitResult(name: name, train: log.filtered { inTrain[$0] }, validation: validation, test: test)
    }
}
