import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels
import OsusumeTensor

/// Multi-VAE (Liang et al., WWW 2018): a variational autoencoder over the user's item vector
/// with a multinomial likelihood. Encoder: L2-normalised history with dropout → tanh hidden
/// layers → mean and log-variance of the latent; decoder: latent → tanh hidden layers → item
/// logits. Loss: multinomial NLL + β·KL, with β annealed linearly from 0 to `betaCap` over
/// `annealSteps` updates. Scoring uses the latent mean (no sampling), so any history is scored
/// by one forward pass (fold-in).
public final class MultVAE: EpochTrainable, ExplainableRecommender {
    public struct Config: ModelConfig {
        /// Encoder widths after the input; the last is the latent size ([600, 200] gives
        /// items → 600 → 200 → 600 → items).
        public var hiddenDims: [Int] = [600, 200]
        /// Dropout on the input vector while training.
        public var dropout: Double = 0.5
        /// Largest KL weight β (Liang et al.'s anneal cap).
        public var betaCap: Double = 0.2
        /// Updates over which β grows linearly from 0 to `betaCap` (Liang et al.: 200,000).
        public var annealSteps: Int = 200_000
        /// Standard deviation of the reparameterisation noise ε in z = μ + ε·σ while training
        /// (1 in Liang et al.; RecBole 1.2.1's MultiVAE draws ε with 0.01).
        public var epsilonStd: Double = 1
        /// tanh on the encoder's output, bounding mean and log-variance to [−1, 1] (RecBole 1.2.1's
        /// MultiVAE applies its tanh after every encoder layer, the last included).
        public var boundedLatent = false
        public var learningRate: Double = 1e-3
        public var weightDecay: Double = 0
        /// Users per step.
        public var batchSize: Int = 500
        public var epochs: Int = 100
        public var patience: Int = 10
        public var validateEvery: Int = 1
        public init() {}
    }
    public static let kind = "multivae"
    public let config: Config
    public private(set) var itemCount: Int = 0
    public var trainingCurve: TrainingCurve?
    var network: MultVAENetwork?
    private let training = MultinomialAutoencoderTraining(kind: MultVAE.kind)

    public init(config: Config) { self.config = config }

    /// The KL weight of the next update.
    public var beta: Float {
        config.annealSteps <= 0 ? Float(config.betaCap) : Float(min(config.betaCap, Double(training.steps) / Double(config.annealSteps)))
    }

    public func fit(_ data: TrainingData) throws {
        try training.fit(self, data, epochs: config.epochs, patience: config.patience, validateEvery: config.validateEvery)
    }

    public func prepare(_ data: TrainingData) throws {
        guard config.epsilonStd >= 0 else { throw OsusumeError.invalidArgument("multivae: epsilonStd must be ≥ 0") }
        itemCount = try training.start(
            data, hiddenDims: config.hiddenDims, dropout: config.dropout, learningRate: config.learningRate,
            weightDecay: config.weightDecay, seedSalt: 0x7AE)
        network = MultVAENetwork(
            items: itemCount, hidden: config.hiddenDims, dropout: Float(config.dropout),
            boundedLatent: config.boundedLatent, rng: &training.rng)
    }

    public func trainEpoch(_ epoch: Int, report: (Int, Int, Float) -> Void) throws -> Float {
        guard let network else { throw OsusumeError.invalidArgument("multivae: prepare was not called") }
        return try training.epoch(network, batchSize: config.batchSize, report: report) { x, target, users in
            let b = beta
            let noise = Tensor.randomNormal([users, network.latent], std: Float(config.epsilonStd), seed: training.rng.next())
            return valueAndGrad(network) { net in
                let (mu, logVar) = net.encode(x)
                let z = mu + noise * exp(logVar * 0.5)
                return multinomialNLL(net.decode(z), target) + gaussianKL(mean: mu, logVariance: logVar) * b
            }
        }
    }

    public func score(_ queries: [ScoringQuery], into scores: UnsafeMutablePointer<Float>) {
        guard let network else { scores.initialize(repeating: 0, count: queries.count * itemCount); return }
        network.eval()
        scoreInChunks(queries, itemCount: itemCount, into: scores) { chunk in
            let x = AutoencoderInput.sparse(chunk.map(\.history), itemCount: itemCount, normalize: true)
            return network.decode(network.encode(x).mean)
        }
    }

    public func contributions(of item: Int32, for query: ScoringQuery) -> [Float] {
        holdOutContributions(of: item, for: query, itemCount: itemCount) { self.score($0, into: $1) }
    }

    public func checkpointState() throws -> SafeTensors {
        guard let network else { throw OsusumeError.invalidArgument("multivae: nothing to save before fit") }
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
        let (_, shape) = try state.floats("encoder.0.weight")
        guard shape.count == 2 else { throw OsusumeError.modelFile("multivae: encoder.0.weight has shape \(shape)") }
        itemCount = shape[1]
        var r = SeededRandom(seed: 0)
        network = MultVAENetwork(
            items: itemCount, hidden: config.hiddenDims, dropout: Float(config.dropout),
            boundedLatent: config.boundedLatent, rng: &r)
        network!.eval()
    }
}

/// Encoder items → hidden… → 2·latent (mean, log-variance); decoder latent → reversed hidden… →
/// items; tanh between hidden layers.
final class MultVAENetwork: Module {
    let encoder: [Linear]
    let decoder: [Linear]
    let inputDropout: Dropout
    let latent: Int

    let boundedLatent: Bool

    init(items: Int, hidden: [Int], dropout: Float, boundedLatent: Bool = false, rng: inout SeededRandom) {
        latent = hidden.last!
        self.boundedLatent = boundedLatent
        func layers(_ dims: [Int], _ rng: inout SeededRandom) -> [Linear] {
            (0..<(dims.count - 1)).map { i in
                let l = Linear(dims[i], dims[i + 1], seed: rng.next())
                AutoencoderInput.xavier(l, rng: &rng)
                return l
            }
        }
        encoder = layers([items] + hidden.dropLast() + [2 * latent], &rng)
        decoder = layers([latent] + hidden.dropLast().reversed() + [items], &rng)
        inputDropout = Dropout(dropout)
    }

    func encode(_ x: SparseRows) -> (mean: Tensor, logVariance: Tensor) {
        var h = encoder[0](inputDropout(x))
        for layer in encoder.dropFirst() { h = layer(tanh(h)) }
        if boundedLatent { h = tanh(h) }
        let parts = split(h, sizes: [latent, latent], axis: 1)
        return (parts[0], parts[1])
    }

    func decode(_ z: Tensor) -> Tensor {
        var h = z
        for (i, layer) in decoder.enumerated() {
            h = layer(h)
            if i < decoder.count - 1 { h = tanh(h) }
        }
        return h
    }
}
