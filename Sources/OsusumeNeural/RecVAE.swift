import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels
import OsusumeTensor

/// RecVAE (Shenbin et al., WSDM 2020): a Multi-VAE with a densely connected encoder (swish and
/// layer norm, each layer fed the sum of the earlier ones), a linear decoder, a composite prior
/// (a mixture of N(0, I), the posterior of the previous epoch's encoder and a wide N(0, e¹⁰)),
/// a KL weight proportional to the user's history size (γ·|x|), and alternating updates: each
/// epoch runs `encoderPasses` passes that update only the encoder (input dropout on), refreshes
/// the prior's copy of the encoder, then `decoderPasses` passes that update only the decoder.
/// Scores from the latent mean, so any history is scored by one forward pass (fold-in).
public final class RecVAE: EpochTrainable, ExplainableRecommender {
    public struct Config: ModelConfig {
        public var hiddenDim: Int = 600
        public var latentDim: Int = 200
        /// Input dropout during encoder passes.
        public var dropout: Double = 0.5
        /// KL weight per history item (γ).
        public var gamma: Double = 0.005
        public var encoderPasses: Int = 3
        public var decoderPasses: Int = 1
        public var learningRate: Double = 5e-4
        public var batchSize: Int = 500
        public var epochs: Int = 50
        public var patience: Int = 5
        public var validateEvery: Int = 1
        public init() {}
    }
    public static let kind = "recvae"
    public let config: Config
    public private(set) var itemCount: Int = 0
    public var trainingCurve: TrainingCurve?
    var network: RecVAENetwork?
    /// The encoder of the previous epoch, used by the composite prior (not trained directly).
    var priorEncoder: RecVAEEncoder?
    private var rows: AutoencoderRows?
    private var encoderOptimizer: Adam?
    private var decoderOptimizer: Adam?
    private var rng = SeededRandom(seed: 1)
    private var steps: UInt64 = 0

    static let mixtureWeights: [Float] = [3 / 20, 3 / 4, 1 / 10]
    static let wideLogVariance: Float = 10

    public init(config: Config) { self.config = config }

    public func fit(_ data: TrainingData) throws {
        try Trainer.run(
            self, data: data,
            config: TrainerConfig(
                epochs: config.epochs, patience: config.patience,
                validateEvery: config.validateEvery))
        rows = nil; encoderOptimizer = nil; decoderOptimizer = nil
    }

    public func prepare(_ data: TrainingData) throws {
        guard data.log.itemCount > 0, data.log.count > 0 else { throw OsusumeError.emptyData("recvae: no interactions to fit") }
        guard config.hiddenDim > 0, config.latentDim > 0 else { throw OsusumeError.invalidArgument("recvae: hiddenDim and latentDim must be > 0") }
        guard (0..<1).contains(config.dropout) else { throw OsusumeError.invalidArgument("recvae: dropout must be in [0, 1)") }
        itemCount = data.log.itemCount
        Engine.seed(data.seed)
        rng = SeededRandom(seed: data.seed ^ 0x4EC)
        network = RecVAENetwork(items: itemCount, hidden: config.hiddenDim, latent: config.latentDim, dropout: Float(config.dropout), rng: &rng)
        priorEncoder = RecVAEEncoder(items: itemCount, hidden: config.hiddenDim, latent: config.latentDim, dropout: 0, rng: &rng)
        try priorEncoder!.load(network!.encoder.stateDict())
        rows = AutoencoderRows(log: data.log)
        encoderOptimizer = Adam(learningRate: Float(config.learningRate))
        decoderOptimizer = Adam(learningRate: Float(config.learningRate))
        steps = 0
    }

    /// log N(z; μ, e^logVar) elementwise.
    private func logNormal(_ z: Tensor, mean: Tensor?, logVariance: Tensor?) -> Tensor {
        let log2pi = Float(Foundation.log(2 * Double.pi))
        let d = mean.map { z - $0 } ?? z
        guard let logVariance else { return (square(d) + log2pi) * -0.5 }
        return (logVariance + log2pi + square(d) / exp(logVariance)) * -0.5
    }

    public func trainEpoch(_ epoch: Int, report: (Int, Int, Float) -> Void) throws -> Float {
        guard let network, let priorEncoder, let rows, let encoderOptimizer, let decoderOptimizer else {
            throw OsusumeError.invalidArgument("recvae: prepare was not called")
        }
        let passes = max(1, config.encoderPasses) + max(0, config.decoderPasses)
        let batch = max(1, config.batchSize)
        var total = 0.0, batches = 0
        var lastPassLoss = 0.0, lastPassBatches = 0
        let active = rows.items.filter { !$0.isEmpty }.count
        let work = passes * active
        var done = 0
        for pass in 0..<passes {
            let encoderPass = pass < max(1, config.encoderPasses)
            if pass == max(1, config.encoderPasses) {
                // The prior's copy of the encoder follows the encoder after its passes.
                try priorEncoder.load(network.encoder.stateDict())
            }
            network.train()
            if !encoderPass { network.encoder.eval() }
            let order = rows.shuffledUsers(&rng)
            lastPassLoss = 0; lastPassBatches = 0
            var lo = 0
            while lo < order.count {
                let users = order[lo..<min(order.count, lo + batch)]
                let lists = users.map { rows.items[$0] }
                let x = AutoencoderInput.sparse(lists, itemCount: itemCount, normalize: true)
                let target = AutoencoderInput.sparse(lists, itemCount: itemCount, normalize: false)
                let noise = Tensor.randomNormal([users.count, config.latentDim], seed: rng.next())
                let loss: Float
                if encoderPass {
                    let (oldMean, oldLogVar) = withoutGradients { priorEncoder(x) }
                    let klWeight = Tensor(shape: [users.count], scalars: lists.map { Float(config.gamma) * Float(Set($0).count) })
                    let w = Self.mixtureWeights.map { Foundation.log($0) }
                    // The decoder is fixed during encoder passes: no gradient is computed for it.
                    network.decoder.freeze()
                    defer { network.decoder.freeze(false) }
                    let (value, grads) = valueAndGrad(network) { net in
                        let (mu, logVar) = net.encoder(x)
                        let z = mu + noise * exp(logVar * 0.5)
                        let standard = logNormal(z, mean: nil, logVariance: nil) + w[0]
                        // Clamped so that a very narrow old posterior cannot overflow exp.
                        let previous = clamp(logNormal(z, mean: oldMean, logVariance: oldLogVar), min: -80, max: 60) + w[1]
                        let wide = logNormal(z, mean: nil, logVariance: Tensor.full([1], Self.wideLogVariance)) + w[2]
                        let logPrior = log(exp(standard) + exp(previous) + exp(wide))
                        let kl = mean(sum(logNormal(z, mean: mu, logVariance: logVar) - logPrior, axis: 1) * klWeight)
                        return multinomialNLL(net.decoder(z), target) + kl
                    }
                    encoderOptimizer.update(network, grads)
                    loss = value
                } else {
                    let z = withoutGradients { () -> Tensor in
                        let (mu, logVar) = network.encoder(x)
                        return mu + noise * exp(logVar * 0.5)
                    }
                    let (value, grads) = valueAndGrad(network) { net in multinomialNLL(net.decoder(z), target) }
                    decoderOptimizer.update(network, grads)
                    loss = value
                }
                steps += 1
                total += Double(loss); batches += 1
                lastPassLoss += Double(loss); lastPassBatches += 1
                lo += users.count
                done += users.count
                report(done, work, Float(total / Double(batches)))
            }
        }
        network.eval()
        // The epoch's loss: the mean over the last pass (decoder reconstruction when there is one).
        return Float(lastPassLoss / Double(max(1, lastPassBatches)))
    }

    public func score(_ queries: [ScoringQuery], into scores: UnsafeMutablePointer<Float>) {
        guard let network else { scores.initialize(repeating: 0, count: queries.count * itemCount); return }
        network.eval()
        scoreInChunks(queries, itemCount: itemCount, into: scores) { chunk in
            let x = AutoencoderInput.sparse(chunk.map(\.history), itemCount: itemCount, normalize: true)
            return network.decoder(network.encoder(x).mean)
        }
    }

    public func contributions(of item: Int32, for query: ScoringQuery) -> [Float] {
        holdOutContributions(of: item, for: query, itemCount: itemCount) { self.score($0, into: $1) }
    }

    public func checkpointState() throws -> SafeTensors {
        guard let network, let priorEncoder else { throw OsusumeError.invalidArgument("recvae: nothing to save before fit") }
        var st = AutoencoderCheckpoint.save(network, counters: [steps, rng.next()], config: config, kind: Self.kind)
        for (name, t) in priorEncoder.namedParameters() { st.set("_prior." + name, t) }
        return st
    }

    public func restoreCheckpoint(_ state: SafeTensors) throws {
        if network == nil { try buildNetwork(for: state) }
        var weights = state
        var prior = SafeTensors()
        for name in state.tensors.keys where name.hasPrefix("_prior.") {
            prior.tensors[String(name.dropFirst("_prior.".count))] = state.tensors[name]
            weights.tensors[name] = nil
        }
        let c = try AutoencoderCheckpoint.load(weights, into: network!)
        if c.count == 2 { steps = c[0]; rng = SeededRandom(seed: c[1]) }
        if !prior.tensors.isEmpty { try priorEncoder!.load(prior) }
    }

    public func state() throws -> SafeTensors { try checkpointState() }

    public func restore(_ state: SafeTensors) throws {
        try buildNetwork(for: state)
        try restoreCheckpoint(state)
    }

    private func buildNetwork(for state: SafeTensors) throws {
        let (_, shape) = try state.floats("decoder.weight")
        guard shape.count == 2 else { throw OsusumeError.modelFile("recvae: decoder.weight has shape \(shape)") }
        itemCount = shape[0]
        var r = SeededRandom(seed: 0)
        network = RecVAENetwork(items: itemCount, hidden: config.hiddenDim, latent: config.latentDim, dropout: Float(config.dropout), rng: &r)
        priorEncoder = RecVAEEncoder(items: itemCount, hidden: config.hiddenDim, latent: config.latentDim, dropout: 0, rng: &r)
        network!.eval()
    }
}

/// RecVAE's encoder: five swish + layer-norm layers, each fed the sum of the earlier outputs,
/// then the latent mean and log-variance.
final class RecVAEEncoder: Module {
    let layers: [Linear]
    let norms: [LayerNorm]
    let mean: Linear
    let logVariance: Linear
    let inputDropout: Dropout

    init(items: Int, hidden: Int, latent: Int, dropout: Float, rng: inout SeededRandom) {
        var layers: [Linear] = []
        for i in 0..<5 {
            let l = Linear(i == 0 ? items : hidden, hidden, seed: rng.next())
            AutoencoderInput.xavier(l, rng: &rng)
            layers.append(l)
        }
        self.layers = layers
        norms = (0..<5).map { _ in LayerNorm(hidden, eps: 0.1) }
        mean = Linear(hidden, latent, seed: rng.next())
        logVariance = Linear(hidden, latent, seed: rng.next())
        AutoencoderInput.xavier(mean, rng: &rng)
        AutoencoderInput.xavier(logVariance, rng: &rng)
        inputDropout = Dropout(dropout)
    }

    func callAsFunction(_ x: SparseRows) -> (mean: Tensor, logVariance: Tensor) {
        var h = norms[0](swish(layers[0](inputDropout(x))))
        var runningSum = h
        for i in 1..<5 {
            h = norms[i](swish(layers[i](h) + runningSum))
            runningSum = runningSum + h
        }
        return (mean(h), logVariance(h))
    }
}

/// Encoder plus the linear decoder latent → item logits.
final class RecVAENetwork: Module {
    let encoder: RecVAEEncoder
    let decoder: Linear

    init(items: Int, hidden: Int, latent: Int, dropout: Float, rng: inout SeededRandom) {
        encoder = RecVAEEncoder(items: items, hidden: hidden, latent: latent, dropout: dropout, rng: &rng)
        decoder = Linear(latent, items, seed: rng.next())
        AutoencoderInput.xavier(decoder, rng: &rng)
    }
}
