/// One evaluation case: a user, the history the model is shown (time order), the items to find.
public struct EvalCase: Sendable, Equatable {
    public var user: Int32
    public var history: [Int32]
    public var targets: [Int32]
    /// Ratings aligned with `history` where the source has them (NaN where unknown).
    public var historyRatings: [Float]?
    /// Ratings aligned with `targets` where the source has them (for rating-prediction metrics).
    public var targetRatings: [Float]?

    public init(user: Int32, history: [Int32], targets: [Int32], historyRatings: [Float]? = nil, targetRatings: [Float]? = nil) {
        self.user = user; self.history = history; self.targets = targets
        self.historyRatings = historyRatings; self.targetRatings = targetRatings
    }
}

/// The outcome of splitting a log: what models fit on, and the cases that validate and test them.
/// All parts share the id space of the log that was split.
public struct SplitResult: Sendable {
    /// Splitter name and parameters, e.g. "leave-one-out" or "temporal(cutoff=…)".
    public var name: String
    public var train: InteractionLog
    public var validation: [EvalCase]
    public var test: [EvalCase]

    public init(name: String, train: InteractionLog, validation: [EvalCase], test: [EvalCase]) {
        self.name = name; self.train = train; self.validation = validation; self.test = test
    }
}

/// A seeded, deterministic way to split a log into train / validation / test.
public protocol DataSplitter: Sendable {
    /// Name with parameters, printed next to every metric.
    var name: String { get }
    func split(_ log: InteractionLog) throws -> SplitResult
}
