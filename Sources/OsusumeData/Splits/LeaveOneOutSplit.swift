import OsusumeCore

// Conventions shared by all splitters in this module:
// - `SplitResult.train` keeps the id space of the input log, so an item seen only in validation
//   or test still has an index (models get a column for it, it just has no training data).
// - Cases are listed in user-index order; histories and targets are in time order
//   (timestamp, then file order).
// - When the log has ratings, cases carry `historyRatings` and `targetRatings`.

extension InteractionLog {
    /// An evaluation case from row numbers, with ratings when the log has them.
    func evalCase(user: Int32, history: [Int], targets: [Int]) -> EvalCase {
        EvalCase(
            user: user, history: history.map { items[$0] }, targets: targets.map { items[$0] },
            historyRatings: hasRatings ? history.map { ratings[$0] } : nil,
            targetRatings: hasRatings ? targets.map { ratings[$0] } : nil)
    }

    /// The rows in `rows` sorted into time order (timestamp, then row).
    func timeOrdered(_ rows: [Int]) -> [Int] {
        rows.sorted { (timestamps[$0], $0) < (timestamps[$1], $1) }
    }
}

/// Leave-one-out, the SASRec / BERT4Rec / RecBole convention: in each user's time order
/// (ties keep file order) the last item is the test target, the second-to-last the validation
/// target and the rest are training data. The validation case's history is the training items;
/// the test case's history is the training items plus the validation item. `train` holds only
/// the training rows. Users with fewer than 3 interactions stay entirely in train and get no
/// cases (as in SASRec's `data_partition`). No randomness is involved.
///
/// With `validation` false the second-to-last item is trained on as well and there are no
/// validation cases, as in HSTU's code (generative-recommenders trains on every item but the
/// last): models that stop early then train their whole schedule. The test cases are the same
/// as with validation, so the two figures sit side by side.
public struct LeaveOneOutSplit: DataSplitter {
    public var validation: Bool

    public init(validation: Bool = true) { self.validation = validation }

    public var name: String { validation ? "leave-one-out" : "leave-one-out, no validation (second-to-last item trained on)" }

    public func split(_ log: InteractionLog) throws -> SplitResult {
        var inTrain = [Bool](repeating: true, count: log.count)
        var validationCases: [EvalCase] = [], test: [EvalCase] = []
        for (u, rows) in log.rowsByUser().enumerated() where rows.count >= 3 {
            let n = rows.count
            inTrain[rows[n - 1]] = false
            if validation {
                inTrain[rows[n - 2]] = false
                validationCases.append(log.evalCase(user: Int32(u), history: Array(rows[..<(n - 2)]), targets: [rows[n - 2]]))
            }
            test.append(log.evalCase(user: Int32(u), history: Array(rows[..<(n - 1)]), targets: [rows[n - 1]]))
        }
        return SplitResult(name: name, train: log.filtered { inTrain[$0] }, validation: validationCases, test: test)
    }
}
