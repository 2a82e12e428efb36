import OsusumeCore

/// Splits each user's interactions at random into train / validation / test by ratio (for
/// example 0.8 / 0.1 / 0.1). Per user with n interactions: round(n·test) test rows and
/// round(n·validation) validation rows, reduced (validation first) so that at least one row
/// stays in train; users whose share rounds to zero get no case. The validation case's history
/// is the user's training rows; the test case's history is training plus validation rows.
/// Seeded: users are processed in index order with one random stream.
public struct RandomRatioSplit: DataSplitter {
    public var trainRatio: Double
    public var validationRatio: Double
    public var testRatio: Double
    public var seed: UInt64

    public init(train: Double = 0.8, validation: Double = 0.1, test: Double = 0.1, seed: UInt64 = 42) {
        self.trainRatio = train; self.validationRatio = validation; self.testRatio = test; self.seed = seed
    }

    public var name: String { "random-ratio(\(trainRatio)/\(validationRatio)/\(testRatio), seed=\(seed))" }

    public func split(_ log: InteractionLog) throws -> SplitResult {
        let total = trainRatio + validationRatio + testRatio
        guard trainRatio > 0, validationRatio >= 0, testRatio >= 0, total > 0 else {
            throw OsusumeError.invalidArgument("\(name): ratios must be non-negative, with a positive train ratio")
        }
        let v = validationRatio / total, t = testRatio / total
        var rng = SeededRandom(seed: seed)
        var inTrain = [Bool](repeating: true, count: log.count)
        var validation: [EvalCase] = [], test: [EvalCase] = []
        for (u, rows) in log.rowsByUser().enumerated() where !rows.isEmpty {
            let n = rows.count
            var nTest = Int((Double(n) * t).rounded()), nValidation = Int((Double(n) * v).rounded())
            while nTest + nValidation > n - 1 {
                if nValidation > 0 { nValidation -= 1 } else { nTest -= 1 }
            }
            var perm = Array(0..<n)
            seededShuffle(&perm, using: &rng)
            let testRows = perm[..<nTest].sorted().map { rows[$0] }
            let validationRows = perm[nTest..<nTest + nValidation].sorted().map { rows[$0] }
            let trainRows = perm[(nTest + nValidation)...].sorted().map { rows[$0] }
            for r in testRows { inTrain[r] = false }
            for r in validationRows { inTrain[r] = false }
            if !validationRows.isEmpty {
                validation.append(log.evalCase(user: Int32(u), history: trainRows, targets: validationRows))
            }
            if !testRows.isEmpty {
                test.append(log.evalCase(user: Int32(u), history: log.timeOrdered(trainRows + validationRows), targets: testRows))
            }
        }
        return SplitResult(name: name, train: log.filtered { inTrain[$0] }, validation: validation, test: test)
    }
}
