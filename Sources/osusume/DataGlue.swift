import Foundation
import OsusumeCore
import OsusumeData

enum SplitFactory {
    static func make(_ name: String, seed: UInt64, heldOutUsers: Int?, testFraction: Double, log: InteractionLog) throws -> any DataSplitter {
        switch name.lowercased() {
        case "leave-one-out", "loo":
            return LeaveOneOutSplit()
        case "temporal":
            guard testFraction > 0, testFraction < 0.5 else { throw OsusumeError.invalidArgument("--test-fraction must be in (0, 0.5)") }
            return TemporalSplit(test: .quantile(1 - testFraction), validation: .quantile(1 - 2 * testFraction))
        case "held-out-users", "heldout":
            let n: HeldOutUsersSplit.Amount = heldOutUsers.map { .users($0) } ?? .fraction(0.1)
            return HeldOutUsersSplit(validationUsers: n, testUsers: n, seed: seed)
        case "random":
            return RandomRatioSplit(train: 1 - 2 * testFraction, validation: testFraction, test: testFraction, seed: seed)
        default:
            throw OsusumeError.invalidArgument("unknown split '\(name)': use leave-one-out, temporal, held-out-users or random")
        }
    }
}
