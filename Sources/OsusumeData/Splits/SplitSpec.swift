import Foundation
import OsusumeCore

/// A split named the way a person asks for one (`--split temporal --test-fraction 0.1`), turned
/// into the splitter that does it. The command line and any other front end share this, so a
/// name means the same split everywhere.
public struct SplitSpec: Sendable, Equatable {
    /// leave-one-out (loo), temporal, held-out-users (heldout) or random.
    public var name: String
    /// Seed of the randomised splits (held-out users, random).
    public var seed: UInt64
    /// held-out-users: users held out for validation and for test, each (default: 10% each).
    public var heldOutUsers: Int?
    /// temporal and random: share of interactions for test, and as much for validation.
    public var testFraction: Double
    /// leave-one-out only: false trains on the validation item too and leaves no validation part
    /// (HSTU's protocol; models train their whole schedule).
    public var validation: Bool

    public static let names = ["leave-one-out", "temporal", "held-out-users", "random"]

    public init(
        name: String = "leave-one-out", seed: UInt64 = 42, heldOutUsers: Int? = nil, testFraction: Double = 0.1,
        validation: Bool = true
    ) {
        self.name = name; self.seed = seed; self.heldOutUsers = heldOutUsers; self.testFraction = testFraction
        self.validation = validation
    }

    /// The splitter, or an error naming the setting that is out of range.
    public func splitter() throws -> any DataSplitter {
        func checkFraction() throws {
            guard testFraction > 0, testFraction < 0.5 else {
                throw OsusumeError.invalidArgument("--test-fraction must be in (0, 0.5) (test and validation take that share each), got \(testFraction)")
            }
        }
        let kind = name.lowercased()
        if !validation, kind != "leave-one-out", kind != "loo" {
            throw OsusumeError.invalidArgument("--no-validation applies to leave-one-out only, not to the \(name) split")
        }
        switch kind {
        case "leave-one-out", "loo":
            return LeaveOneOutSplit(validation: validation)
        case "temporal":
            try checkFraction()
            return TemporalSplit(test: .quantile(1 - testFraction), validation: .quantile(1 - 2 * testFraction))
        case "held-out-users", "heldout":
            if let n = heldOutUsers, n < 1 { throw OsusumeError.invalidArgument("--held-out must be at least 1 user, got \(n)") }
            let n: HeldOutUsersSplit.Amount = heldOutUsers.map { .users($0) } ?? .fraction(0.1)
            return HeldOutUsersSplit(validationUsers: n, testUsers: n, seed: seed)
        case "random":
            try checkFraction()
            return RandomRatioSplit(train: 1 - 2 * testFraction, validation: testFraction, test: testFraction, seed: seed)
        default:
            throw OsusumeError.invalidArgument("unknown split '\(name)': use \(Self.names.joined(separator: ", "))")
        }
    }
}
