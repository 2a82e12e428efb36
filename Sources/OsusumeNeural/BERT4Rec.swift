import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels
import OsusumeTensor

/// BERT4Rec (Sun et al. 2019): a bidirectional Transformer trained by cloze — random positions
/// are replaced by a [MASK] token and predicted (softmax over all items up to `sampledAbove`
/// items, a logQ-corrected sampled softmax above, or gBCE on request). At inference a [MASK]
/// is appended to the history and its prediction gives the scores. Options: genre embeddings
/// added to item embeddings, and no position embeddings.
public final class BERT4Rec: EpochTrainable {
    public struct Config: ModelConfig {
        /// Longest input (the history's last maxLength − 1 items and the [MASK] at inference).
        public var maxLength = 200
        public var dim = 64
        public var blocks = 2
        public var heads = 2
        public var feedForward = 256
        public var dropout = 0.1
        public var activation = "gelu"
        /// Post-LN blocks with an input layer norm, as BERT (false), or pre-LN (true).
        public var normFirst = false
        public var positions = true
        /// Add the mean of each item's genre embeddings (from the catalog) to its embedding.
        public var genres = false
        /// Probability that a position is masked in training.
        public var maskProbability = 0.2
        /// Probability that a training window instead has only its last item masked (the
        /// inference situation).
        public var lastMaskProbability = 0.1
        /// "auto" (full softmax up to `sampledAbove` items, sampled softmax above), "ce",
        /// "sampled-ce" (softmax over the target and `negatives` items shared by the batch, drawn
        /// `popularityShare` by popularity, logQ-corrected) or "gbce" (gSASRec's generalised BCE
        /// over `negatives` uniform items, calibration `gbceT`).
        public var loss = "auto"
        public var sampledAbove = 16_384
        public var negatives = 1024
        public var popularityShare = 0.5
        /// Positions that share one set of negatives: each group of this many positions gets its
        /// own set, so a batch meets many more distinct negatives at the same cost.
        public var negativeGroupRows = 256
        public var gbceT = 0.75
        /// Label smoothing ε of the full softmax (0: none): the target keeps 1 − ε, the rest is
        /// spread over all items. Full softmax only.
        public var labelSmoothing = 0.0
        public var ceChunkRows = 128
        public var allWindows = false
        public var batchSize = 128
        public var learningRate = 2e-3
        public var weightDecay = 0.0
        public var schedule = "cosine"
        /// Linear warm-up of the learning rate (at most a tenth of training).
        public var warmupSteps = 0
        public var clipNorm = 5.0
        /// The cosine's low-rate end is where BERT4Rec gains most: on ML-1M 300 epochs gave a mean
        /// NDCG@10 of 0.1607 over three seeds, 200 epochs 0.1568 (docs/sequential.md).
        public var epochs = 300
        public var patience = 10
        public var validateEvery = 4
        public var threads = 0
        public init() {}
    }

    /// Prediction head: dense → GELU → layer norm, then the tied item table plus a bias.
    final class Network: Module {
        let encoder: SequenceEncoder
        let transform: Linear
        let norm: LayerNorm
        let outputBias: Tensor

        init(encoder: SequenceEncoder, dim: Int, tokens: Int) {
            self.encoder = encoder
            transform = Linear(dim, dim)
            norm = LayerNorm(dim)
            outputBias = Tensor.zeros([tokens]).trainable()
        }

        func head(_ h: Tensor) -> Tensor { norm(gelu(transform(h))) }
    }

    public static let kind = "bert4rec"
    public let config: Config
    public var trainingCurve: TrainingCurve?
    public private(set) var itemCount = 0

    var net: Network?
    var optimizer: Adam?
    var windows: [SequenceWindow] = []
    var seed: UInt64 = 42
    var lossFunction: SequenceLossFunction?
    var maskToken: Int32 { Int32(itemCount + 1) }

    public init(config: Config) { self.config = config }

    func makeNetwork(genreMatrix: Tensor?) throws -> Network {
        guard config.dim % config.heads == 0 else { throw OsusumeError.invalidArgument("bert4rec: dim must be divisible by heads") }
        let tokens = itemCount + 2
        let encoder = SequenceEncoder(
            tokens: tokens, maxLength: config.maxLength, dim: config.dim, blocks: config.blocks,
            heads: config.heads, feedForward: config.feedForward, dropout: Float(config.dropout),
            activation: try SequenceSupport.activation(config.activation),
            normFirst: config.normFirst, usePositions: config.positions, genreMatrix: genreMatrix)
        return Network(encoder: encoder, dim: config.dim, tokens: tokens)
    }

    public func fit(_ data: TrainingData) throws {
        try Trainer.run(
            self, data: data,
            config: TrainerConfig(epochs: config.epochs, patience: config.patience, validateEvery: config.validateEvery))
    }

    public func prepare(_ data: TrainingData) throws {
        guard config.maskProbability > 0 && config.maskProbability < 1 else {
            throw OsusumeError.invalidArgument("bert4rec: maskProbability must be in (0, 1)")
        }
        if config.threads > 0 { Engine.threads = config.threads }
        itemCount = data.log.itemCount
        let loss = try SequenceLoss.resolve(
            config.loss, model: "bert4rec", itemCount: itemCount, sampledAbove: config.sampledAbove,
            negatives: config.negatives, groupRows: config.negativeGroupRows, gbceT: config.gbceT)
        let smoothing = try SequenceLoss.smoothing(config.labelSmoothing, unset: 0, loss: loss, model: "bert4rec")
        lossFunction = loss.map {
            SequenceLossFunction(
                loss: $0, itemCounts: data.log.itemCounts(), negatives: config.negatives,
                groupRows: config.negativeGroupRows, popularityShare: config.popularityShare, chunkRows: config.ceChunkRows,
                labelSmoothing: smoothing)
        }
        seed = data.seed
        Engine.seed(seed)
        var genreMatrix: Tensor?
        if config.genres {
            genreMatrix = SequenceSupport.genreMatrix(log: data.log, catalog: data.catalog, tokens: itemCount + 2)
            if genreMatrix == nil { logLine("bert4rec: genres=true but the catalog has no genres; training without") }
        }
        net = try makeNetwork(genreMatrix: genreMatrix)
        windows = SequenceWindows.make(
            data.log.sequences(), size: config.maxLength, step: config.maxLength, minimum: 1,
            allWindows: config.allWindows)
        let steps = (windows.count + config.batchSize - 1) / config.batchSize * config.epochs
        optimizer = Adam(
            schedule: try SequenceSupport.schedule(
                config.schedule, learningRate: Float(config.learningRate),
                warmup: config.warmupSteps, totalSteps: steps, model: "bert4rec"),
            weightDecay: Float(config.weightDecay))
    }

    public func trainEpoch(_ epoch: Int, report: (Int, Int, Float) -> Void) throws -> Float {
        guard let net, let optimizer else { throw OsusumeError.invalidArgument("bert4rec: not prepared") }
        var rng = SequenceSupport.epochRandom(seed: seed, epoch: epoch)
        let batches = SequenceWindows.batches(lengths: windows.map { $0.tokens.count }, batchSize: config.batchSize, rng: &rng)
        net.train()
        var total = 0.0
        for (b, members) in batches.enumerated() {
            total += Double(step(net, optimizer, members.map { windows[$0] }, &rng))
            report(b + 1, batches.count, Float(total / Double(b + 1)))
        }
        net.eval()
        return Float(total / Double(max(1, batches.count)))
    }

    /// One cloze step: mask, predict the masked items over the whole catalog.
    func step(_ net: Network, _ optimizer: Adam, _ batch: [SequenceWindow], _ rng: inout SeededRandom) -> Float {
        var rows: [[Int32]] = []
        var maskedTargets: [[Int32?]] = []
        let p = Float(config.maskProbability)
        for w in batch {
            var tokens = w.tokens
            var target = [Int32?](repeating: nil, count: tokens.count)
            if rng.nextFloat() < Float(config.lastMaskProbability) {
                target[tokens.count - 1] = tokens[tokens.count - 1]
                tokens[tokens.count - 1] = maskToken
            } else {
                for j in 0..<tokens.count where rng.nextFloat() < p {
                    target[j] = tokens[j]; tokens[j] = maskToken
                }
                if !target.contains(where: { $0 != nil }) {
                    let j = rng.nextInt(tokens.count)
                    target[j] = tokens[j]; tokens[j] = maskToken
                }
            }
            rows.append(tokens)
            maskedTargets.append(target)
        }
        let inputs = PaddedBatch(rows, maxLength: config.maxLength)
        var positions: [Int32] = [], targets: [Int32] = []
        for (r, t) in maskedTargets.enumerated() {
            let pad = inputs.length - t.count
            for (j, v) in t.enumerated() { if let v { positions.append(Int32(r * inputs.length + pad + j)); targets.append(v) } }
        }
        guard let lossFunction else { fatalError("bert4rec: not prepared") }
        let drawn = lossFunction.draw(rows: targets.count, &rng)
        let (loss, g) = valueAndGrad(net) { net -> Tensor in
            let table = net.encoder.table()
            let h = net.encoder(inputs, table: table, causal: false)
            let hm = net.head(gatherRows(h, positions))
            return lossFunction(hidden: hm, table: table, bias: net.outputBias, targets: IndexTensor(targets), negatives: drawn)
        }
        var grads = g
        if config.clipNorm > 0 { grads.clipNorm(Float(config.clipNorm)) }
        optimizer.update(net, grads)
        return loss
    }

    public func checkpointState() throws -> SafeTensors {
        guard let net, let optimizer else { throw OsusumeError.invalidArgument("bert4rec: not prepared") }
        return SequenceSupport.checkpoint(net, optimizer, extra: ["itemCount": String(itemCount)])
    }

    public func restoreCheckpoint(_ state: SafeTensors) throws {
        guard let net, let optimizer else { throw OsusumeError.invalidArgument("bert4rec: not prepared") }
        try SequenceSupport.restoreCheckpoint(state, into: net, optimizer)
    }

    public func score(_ queries: [ScoringQuery], into out: UnsafeMutablePointer<Float>) {
        guard let net else { fatalError("bert4rec: score before fit or restore") }
        net.eval()
        let table = net.encoder.table()
        let n = itemCount, maxLength = config.maxLength, mask = maskToken
        SequenceSupport.score(
            queries, itemCount: n,
            window: { SequenceSupport.tokens($0, itemCount: n, limit: maxLength - 1) + [mask] },
            lastHidden: { rows in
                let batch = PaddedBatch(rows, maxLength: maxLength)
                let h = net.encoder(batch, table: table, causal: false)
                return net.head(gatherRows(h, (0..<rows.count).map { Int32($0 * batch.length + batch.length - 1) }))
            },
            table: table, bias: net.outputBias, into: out)
    }

    public func state() throws -> SafeTensors {
        guard let net else { throw OsusumeError.invalidArgument("bert4rec: nothing trained") }
        var st = net.stateDict()
        if let g = net.encoder._genreMatrix { st.set("genreMatrix", g) }
        st.metadata["itemCount"] = String(itemCount)
        return st
    }

    public func restore(_ state: SafeTensors) throws {
        let (_, shape) = try state.floats("encoder.items.weight")
        itemCount = shape[0] - 2
        let genres = state.tensors["genreMatrix"] != nil ? try state.tensor("genreMatrix") : nil
        net = try makeNetwork(genreMatrix: genres)
        try net!.load(state, strict: false)
        net!.eval()
    }
}
