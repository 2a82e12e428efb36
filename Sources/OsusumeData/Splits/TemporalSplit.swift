import OsusumeCore

/// A global time split. Interactions before the test cut-off are history; a user's distinct
/// items at or after it, not already in that user's history, are the test targets. With a
/// validation cut-off (earlier than the test one), validation targets are the items in
/// [validation cut-off, test cut-off) and `train` holds only what comes before the validation
/// cut-off; without one, `train` is everything before the test cut-off.
/// Test histories include the validation window. Users need at least one history and one
/// target interaction to get a case. Needs real timestamps.
public struct TemporalSplit: DataSplitter {
    public enum Cutoff: Sendable, Equatable, CustomStringConvertible {
        /// Seconds since 1970: rows with a timestamp before it come before the cut.
        case timestamp(Int64)
        /// The timestamp of the interaction at this fraction of all interactions in time order
        /// (0.8: about 80% come before; ties at the cut make it slightly fewer).
        case quantile(Double)

        public var description: String {
            switch self {
            case .timestamp(let t): return "\(DataDate.isoDay(t))"
            case .quantile(let q): return "q\(q)"
            }
        }
    }

    public var testCutoff: Cutoff
    public var validationCutoff: Cutoff?

    public init(test: Cutoff = .quantile(0.8), validation: Cutoff? = nil) {
        self.testCutoff = test; self.validationCutoff = validation
    }

    public var name: String {
        "temporal(test=\(testCutoff)" + (validationCutoff.map { ", validation=\($0)" } ?? "") + ")"
    }

    /// The cut-off as a timestamp for `log`.
    public func resolve(_ c: Cutoff, in log: InteractionLog) throws -> Int64 {
        switch c {
        case .timestamp(let t): return t
        case .quantile(let q):
            guard q > 0, q < 1 else { throw OsusumeError.invalidArgument("\(name): quantile \(q) must be between 0 and 1") }
            let sorted = log.timestamps.sorted()
            return sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))]
        }
    }

    public func split(_ log: InteractionLog) throws -> SplitResult {
        guard log.hasTimestamps else {
            throw OsusumeError.invalidArgument("\(name): the data has no timestamps (only file order), so a global time cut-off means nothing; use leave-one-out")
        }
        guard log.count > 0 else { throw OsusumeError.emptyData("\(name): the log is empty") }
        let testTime = try resolve(testCutoff, in: log)
        let validationTime = try validationCutoff.map { try resolve($0, in: log) }
        if let v = validationTime, v >= testTime {
            throw OsusumeError.invalidArgument("\(name): the validation cut-off (\(v)) must come before the test cut-off (\(testTime))")
        }
        let trainEnd = validationTime ?? testTime
        var validation: [EvalCase] = [], test: [EvalCase] = []
        for (u, rows) in log.rowsByUser().enumerated() {
            if let v = validationTime,
                let c = cutCase(
                    log, user: u, history: rows.filter { log.timestamps[$0] < v },
                    window: rows.filter { log.timestamps[$0] >= v && log.timestamps[$0] < testTime })
            {
                validation.append(c)
            }
            if let c = cutCase(
                log, user: u, history: rows.filter { log.timestamps[$0] < testTime },
                window: rows.filter { log.timestamps[$0] >= testTime })
            {
                test.append(c)
            }
        }
        let train = log.filtered { log.timestamps[$0] < trainEnd }
        if train.count == 0 { throw OsusumeError.emptyData("\(name): no interactions before the cut-off \(DataDate.isoDay(trainEnd))") }
        return SplitResult(name: name, train: train, validation: validation, test: test)
    }

    /// A case whose targets are the distinct items of `window` not in `history` (first occurrence).
    func cutCase(_ log: InteractionLog, user: Int, history: [Int], window: [Int]) -> EvalCase? {
        guard !history.isEmpty else { return nil }
        var seen = Set(history.map { log.items[$0] })
        let targets = window.filter { seen.insert(log.items[$0]).inserted }
        guard !targets.isEmpty else { return nil }
        return log.evalCase(user: Int32(user), history: history, targets: targets)
    }
}
