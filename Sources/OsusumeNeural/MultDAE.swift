import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels
import OsusumeTensor

/// Multi-DAE (Liang et al., "Variational Autoencoders for Collaborative Filtering", WWW 2018):
/// a denoising autoencoder over the user's whole item vector. Input: the L2-normalised binary
/// history with dropout; tanh layers [items → hidden… → items]; loss: multinomial negative
/// log-likelihood of the history under softmax(output). Scores any history (fold-in) by one
/// forward pass, so unknown users need no retraining.
public final class MultDAE: EpochTrainable, ExplainableRecommender {
    public struct Config: ModelConfig {
        /// Encoder widths after the input; the decoder mirrors them ([600, 200] gives
        /// items → 600 → 200 → 600 → items).
        public var hiddenDims: [Int] = [600, 200]
        /// Dropout on the input vector while training.
        public var dropout: Double = 0.5
        public var learningRate: Double = 1e-3
        /// L2 penalty on all weights (Adam's coupled decay). Liang et al.'s Multi-DAE has one (0.01
        /// chosen on held-out ML-1M validation users, docs/autoencoders.md); RecBole's has none.
        public var weightDecay: Double = 0
        /// Users per step.
        public var batchSize: Int = 500
        public var epochs: Int = 100
        /// Validations without improvement before stopping (0: never stop early).
        public var patience: Int = 10
        public var validateEvery: Int = 1
        public init() {}
    }
    public static let kind = "multidae"
    public let config: Config
    public private(set) var itemCount: Int = 0
    public var trainingCurve: TrainingCurve?
    var network: MultDAENetwork?
    private let training = MultinomialAutoencoderTraining(kind: MultDAE.kind)

    public init(config: Config) { self.config = config }

    public func fit(_ data: TrainingData) throws {
        try training.fit(self, data, epochs: config.epochs, patience: config.patience, validateEvery: config.validateEvery)
    }

    public func prepare(_ data: TrainingData) throws {
        itemCount = try training.start(
            data, hiddenDims: config.hiddenDims, dropout: config.dropout, learningRate: config.learningRate,
            weightDecay: config.weightDecay, seedSalt: 0xDAE)
        network = MultDAENetwork(items: itemCount, hidden: config.hiddenDims, dropout: Float(config.dropout), rng: &training.rng)
    }

    public func trainEpoch(_ epoch: Int, report: (Int, Int, Float) -> Void) throws -> Float {
        guard let network else { throw OsusumeError.invalidArgument("multidae: prepare was not called") }
        return try training.epoch(network, batchSize: config.batchSize, report: report) { x, target, _ in
            valueAndGrad(network) { net in multinomialNLL(net(x), target) }
        }
    }

    public func score(_ queries: [ScoringQuery], into scores: UnsafeMutablePointer<Float>) {
        guard let network else { scores.initialize(repeating: 0, count: queries.count * itemCount); return }
        network.eval()
        scoreInChunks(queries, itemCount: itemCount, into: scores) { chunk in
            network(AutoencoderInput.sparse(chunk.map(\.history), itemCount: itemCount, normalize: true))
        }
    }

    public func contributions(of item: Int32, for query: ScoringQuery) -> [Float] {
        holdOutContributions(of: item, for: query, itemCount: itemCount) { self.score($0, into: $1) }
    }

    public func checkpointState() throws -> SafeTensors {
        guard let network else { throw OsusumeError.invalidArgument("multidae: nothing to save before fit") }
        return training.checkpoint(network, config: config)
    }

    public func restoreCheckpoint(_ state: SafeTensors) throws {
        if network == nil { try buildNetwork(for: state) }
        try training.restore(state, into: network!)
    }

    public func state() throws -> SafeTensors { try checkpointState() }

    public func restore(_ state: SafeTensors) throws {
        try buildNetwork(for: state)
        try restoreCheckpoint(state)
    }

    private func buildNetwork(for state: SafeTensors) throws {
        let (_, shape) = try state.floats("layers.0.weight")
        guard shape.count == 2 else { throw OsusumeError.modelFile("multidae: layers.0.weight has shape \(shape)") }
        itemCount = shape[1]
        var r = SeededRandom(seed: 0)
        network = MultDAENetwork(items: itemCount, hidden: config.hiddenDims, dropout: Float(config.dropout), rng: &r)
        network!.eval()
    }
}

/// items → hidden… → reversed hidden… → items, tanh between layers, dropout on the input.
final class MultDAENetwork: Module {
    let layers: [Linear]
    let inputDropout: Dropout

    init(items: Int, hidden: [Int], dropout: Float, rng: inout SeededRandom) {
        let dims = [items] + hidden + hidden.dropLast().reversed() + [items]
        var layers: [Linear] = []
        for i in 0..<(dims.count - 1) {
            let l = Linear(dims[i], dims[i + 1], seed: rng.next())
            AutoencoderInput.xavier(l, rng: &rng)
            layers.append(l)
        }
        self.layers = layers
        inputDropout = Dropout(dropout)
    }

    func callAsFunction(_ x: SparseRows) -> Tensor {
        var h = layers[0](inputDropout(x))
        for layer in layers.dropFirst() { h = layer(tanh(h)) }
        return h
    }
}
