import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels
import OsusumeTensor

/// SASRec (Kang & McAuley 2018): causal self-attention over a user's recent items, learned
/// positions, scores from the shared item embeddings. Trained to predict the next item at every
/// position with full cross-entropy (the default up to `sampledAbove` items), a sampled softmax
/// over negatives shared by the batch with the logQ correction (the default above), gSASRec's
/// gBCE, or BCE with one sampled negative (the original).
public final class SASRec: EpochTrainable {
    public struct Config: ModelConfig {
        /// Longest input window; longer histories are cut into windows (`allWindows`) or truncated.
        public var maxLength = 200
        /// 128 (with `feedForward` 128) ranked above 64 on ML-1M (test NDCG@10 0.1791–0.1816 against
        /// 0.1755, docs/sequential.md) at about 1.7× the epoch time.
        public var dim = 128
        /// 4 (with `warmupSteps` 200) ranked above 3 on ML-1M in every run (test NDCG@10 0.1907–0.1918,
        /// mean 0.1911, against 0.1876–0.1886, mean 0.1880; docs/sequential.md eleventh measurement)
        /// at about 1.16× the epoch time.
        public var blocks = 4
        public var heads = 1
        /// Width of the position-wise feed-forward layer.
        public var feedForward = 128
        /// 0.2 with label smoothing 0.1 ranked above 0.1 on ML-1M validation (mean best NDCG@10 0.2042
        /// against 0.2034) and test NDCG@10 (0.1939 against 0.1915; docs/sequential.md fourteenth
        /// measurement); alone, without smoothing, it ranked below (twelfth).
        public var dropout = 0.2
        /// relu, gelu, swish, tanh or sigmoid.
        public var activation = "relu"
        /// The original SASRec code's blocks (the default): attention queries normalised, keys
        /// and values not, residuals taken from the normalised inputs, a final norm. With relu it
        /// ranked above pre-LN + gelu on ML-1M (docs/sequential.md).
        public var queryNorm = true
        /// "transformer" (the blocks `queryNorm` and `normFirst` describe), "ligr": LiGR's
        /// pre-LN blocks with sigmoid-gated residuals and a SwiGLU feed-forward of width
        /// `feedForward` (as in eSASRec, Tikhonovich et al. 2025), or "hstu": HSTU's blocks
        /// (Zhai et al. 2024; gated pointwise attention with a bias per distance, no
        /// feed-forward). `activation`, `queryNorm` and `normFirst` are used by "transformer" only.
        public var layers = "transformer"
        /// When `queryNorm` is false: pre-LN blocks with a final layer norm (true) or post-LN
        /// blocks with an input norm.
        public var normFirst = true
        /// Learned position embeddings.
        public var positions = true
        /// Number positions from the first item of each window (true, as the right-padded SASRec+
        /// code; it ranked higher on ML-1M) or back from its last item (false, the original
        /// SASRec's left-padded numbering).
        public var positionsFromStart = true
        /// Multiply item embeddings by √dim at the input, as the original SASRec.
        public var scaleEmbeddings = true
        /// "auto" (full softmax up to `sampledAbove` items, sampled softmax above), "ce" (full
        /// softmax over all items), "sampled-ce" (softmax over the target and `negatives` sampled
        /// items), "gbce" (gSASRec's generalised BCE over `negatives` uniform items) or "bce" (one
        /// sampled negative per position, the original).
        public var loss = "auto"
        /// Above this many items "auto" trains with the sampled softmax: the full softmax's
        /// rows × items logits would cost several times the encoder (ML-20M: 27k items).
        public var sampledAbove = 16_384
        /// Negatives for "sampled-ce" and "gbce": per batch, or per position with `negativeSampling=row`.
        public var negatives = 1024
        /// "batch": sets of negatives shared by `negativeGroupRows` positions, drawn from
        /// `popularityShare` popularity + the rest uniform, logQ-corrected (one matrix product);
        /// "row": uniform negatives per position among the items the user has not seen, no
        /// correction (the earlier sampled-ce; rows × negatives × dim memory).
        public var negativeSampling = "batch"
        /// Share of the sampled-softmax negatives drawn by popularity (gbce: always uniform).
        public var popularityShare = 0.5
        /// Positions that share one set of negatives: each group of this many positions gets its
        /// own set, so a batch meets many more distinct negatives at the same cost.
        public var negativeGroupRows = 256
        /// gBCE calibration t in [0, 1]: β = α·(t·(1 − 1/α) + 1/α), α = negatives / (items − 1).
        public var gbceT = 0.75
        /// Label smoothing ε of the full softmax (0: none): the target keeps 1 − ε, the rest is
        /// spread over all items. Unset: 0.1 with the full softmax, none with the other losses
        /// (an explicit ε above 0 with them is an error). 0.1 ranked higher than none on ML-1M
        /// validation and test, mean of three seeds (docs/sequential.md thirteenth measurement).
        public var labelSmoothing: Double?
        /// Rows per chunk of the full cross-entropy (the rows × items logits exist one chunk at a time).
        public var ceChunkRows = 512
        /// Train on every window of long histories (true) or only the most recent one.
        public var allWindows = true
        public var batchSize = 128
        public var learningRate = 2e-3
        public var weightDecay = 0.0
        /// constant, cosine or linear (after `warmupSteps`, decaying over `epochs`).
        public var schedule = "cosine"
        /// Linear warm-up of the learning rate (at most a tenth of training). Without it 4 blocks
        /// stayed on the popularity plateau (loss 7.38) for 10 epochs on two of three ML-1M seeds.
        public var warmupSteps = 200
        /// Clip gradients to this global norm (0: no clipping).
        public var clipNorm = 0.0
        public var epochs = 50
        /// Validations without improvement of validation NDCG@10 before stopping (0: never).
        public var patience = 8
        public var validateEvery = 2
        /// Engine threads (0: leave the engine's setting).
        public var threads = 0
        public init() {}
    }

    public static let kind = "sasrec"
    public let config: Config
    public var trainingCurve: TrainingCurve?
    public private(set) var itemCount = 0

    var net: SequenceEncoder?
    var optimizer: Adam?
    var windows: [SequenceWindow] = []
    var userItems: [Set<Int32>] = []
    var lossFunction: SequenceLossFunction?
    /// Per-position negatives among the user's unseen items ("bce", or "sampled-ce" by row).
    var rowSampling = false
    var seed: UInt64 = 42

    public init(config: Config) { self.config = config }

    func makeNetwork(genreMatrix: Tensor?) throws -> SequenceEncoder {
        guard config.dim % config.heads == 0 else { throw OsusumeError.invalidArgument("sasrec: dim must be divisible by heads") }
        guard let layers = SequenceLayers(rawValue: config.layers) else {
            let names = SequenceLayers.allCases.map(\.rawValue)
            throw OsusumeError.invalidArgument(
                "sasrec: layers must be \(names.dropLast().joined(separator: ", ")) or \(names.last!), got '\(config.layers)'")
        }
        return SequenceEncoder(
            tokens: itemCount + 1, maxLength: config.maxLength, dim: config.dim, blocks: config.blocks,
            heads: config.heads, feedForward: config.feedForward, dropout: Float(config.dropout),
            activation: layers == .transformer ? try SequenceSupport.activation(config.activation) : .swish,
            normFirst: config.normFirst, usePositions: config.positions, genreMatrix: genreMatrix,
            inputScale: config.scaleEmbeddings ? Float(config.dim).squareRoot() : 1,
            queryNorm: config.queryNorm, layers: layers)
    }

    public func fit(_ data: TrainingData) throws {
        try Trainer.run(
            self, data: data,
            config: TrainerConfig(epochs: config.epochs, patience: config.patience, validateEvery: config.validateEvery))
    }

    public func prepare(_ data: TrainingData) throws {
        guard ["batch", "row"].contains(config.negativeSampling) else {
            throw OsusumeError.invalidArgument("sasrec: negativeSampling must be batch or row, got '\(config.negativeSampling)'")
        }
        if config.threads > 0 { Engine.threads = config.threads }
        itemCount = data.log.itemCount
        let loss = try SequenceLoss.resolve(
            config.loss, model: "sasrec", itemCount: itemCount, sampledAbove: config.sampledAbove,
            negatives: config.negatives, groupRows: config.negativeGroupRows, gbceT: config.gbceT, extra: ["bce"])
        let smoothing = try SequenceLoss.smoothing(config.labelSmoothing, unset: 0.1, loss: loss, model: "sasrec")
        // The unset default is not in the configuration's JSON, so say what it became.
        if config.labelSmoothing == nil && smoothing > 0 { logLine("sasrec: label smoothing \(smoothing) (labelSmoothing=0 for none)") }
        rowSampling = loss == nil || (loss == .sampledSoftmax && config.negativeSampling == "row")
        lossFunction = loss.map {
            SequenceLossFunction(
                loss: $0, itemCounts: data.log.itemCounts(), negatives: config.negatives,
                groupRows: config.negativeGroupRows, popularityShare: config.popularityShare, chunkRows: config.ceChunkRows,
                labelSmoothing: smoothing)
        }
        seed = data.seed
        Engine.seed(seed)
        net = try makeNetwork(genreMatrix: nil)
        let sequences = data.log.sequences()
        // A window of maxLength inputs needs maxLength + 1 items; consecutive windows share one
        // item so that every transition is trained once.
        windows = SequenceWindows.make(
            sequences, size: config.maxLength + 1, step: config.maxLength, minimum: 2,
            allWindows: config.allWindows)
        // Only per-position sampling needs each user's items (a large log's worth of sets).
        userItems = rowSampling ? sequences.map { Set($0.map { $0 + 1 }) } : []
        let steps = (windows.count + config.batchSize - 1) / config.batchSize * config.epochs
        optimizer = Adam(
            schedule: try SequenceSupport.schedule(
                config.schedule, learningRate: Float(config.learningRate),
                warmup: config.warmupSteps, totalSteps: steps, model: "sasrec"),
            weightDecay: Float(config.weightDecay))
    }

    public func trainEpoch(_ epoch: Int, report: (Int, Int, Float) -> Void) throws -> Float {
        guard let net, let optimizer else { throw OsusumeError.invalidArgument("sasrec: not prepared") }
        var rng = SequenceSupport.epochRandom(seed: seed, epoch: epoch)
        let batches = SequenceWindows.batches(lengths: windows.map { $0.tokens.count - 1 }, batchSize: config.batchSize, rng: &rng)
        net.train()
        var total = 0.0
        for (b, members) in batches.enumerated() {
            let loss = step(net, optimizer, members.map { windows[$0] }, &rng)
            total += Double(loss)
            report(b + 1, batches.count, Float(total / Double(b + 1)))
        }
        net.eval()
        return Float(total / Double(max(1, batches.count)))
    }

    /// One optimisation step on a batch of windows; returns the loss.
    func step(_ net: SequenceEncoder, _ optimizer: Adam, _ batch: [SequenceWindow], _ rng: inout SeededRandom) -> Float {
        let inputs = PaddedBatch(
            batch.map { Array($0.tokens.dropLast()) }, maxLength: config.maxLength,
            fromStart: config.positionsFromStart)
        let length = inputs.length
        // Targets aligned with the left-padded inputs; -100 where there is no target.
        var targets = [Int32](repeating: -100, count: batch.count * length)
        var valid: [Int32] = []
        for (r, w) in batch.enumerated() {
            let next = w.tokens.dropFirst()
            let pad = length - next.count
            for (j, t) in next.enumerated() { targets[r * length + pad + j] = t; valid.append(Int32(r * length + pad + j)) }
        }
        let shared = rowSampling ? nil : lossFunction
        let drawn = shared?.draw(rows: valid.count, &rng)
        // Per-position negatives: uniform over the items the user has not interacted with.
        var candidates: [Int32] = []
        let negatives = config.loss == "bce" ? 1 : config.negatives
        if rowSampling {
            candidates.reserveCapacity(valid.count * (1 + negatives))
            for row in valid {
                let r = Int(row) / length
                let seen = userItems[batch[r].user]
                candidates.append(targets[Int(row)])
                for _ in 0..<negatives {
                    var t: Int32
                    repeat { t = Int32(1 + rng.nextInt(itemCount)) } while seen.contains(t) && seen.count < itemCount
                    candidates.append(t)
                }
            }
        }
        let lossName = config.loss
        let (loss, g) = valueAndGrad(net) { net -> Tensor in
            let table = net.table()
            let h = net(inputs, table: table, causal: true)
            if let shared { return shared(hidden: h, table: table, bias: nil, targets: IndexTensor(targets), negatives: drawn) }
            let d = h.shape[2], n = valid.count
            let hv = gatherRows(h, valid).reshaped([n, 1, d])
            let cand = embedding(table, IndexTensor(candidates, shape: [n, 1 + negatives]))
            let logits = matmul(hv, cand, transposeB: true).reshaped([n, 1 + negatives])
            if lossName == "bce" {
                var labels = [Float](repeating: 0, count: n * 2)
                for i in 0..<n { labels[2 * i] = 1 }
                // Mean over positions of −log σ(pos) − log(1 − σ(neg)), as the original.
                return binaryCrossEntropyWithLogits(logits, Tensor(shape: [n, 2], scalars: labels)) * 2
            }
            return crossEntropy(logits, IndexTensor([Int32](repeating: 0, count: n)))
        }
        var grads = g
        if config.clipNorm > 0 { grads.clipNorm(Float(config.clipNorm)) }
        optimizer.update(net, grads)
        return loss
    }

    public func checkpointState() throws -> SafeTensors {
        guard let net, let optimizer else { throw OsusumeError.invalidArgument("sasrec: not prepared") }
        return SequenceSupport.checkpoint(net, optimizer, extra: ["itemCount": String(itemCount)])
    }

    public func restoreCheckpoint(_ state: SafeTensors) throws {
        guard let net, let optimizer else { throw OsusumeError.invalidArgument("sasrec: not prepared") }
        try SequenceSupport.restoreCheckpoint(state, into: net, optimizer)
    }

    public func score(_ queries: [ScoringQuery], into out: UnsafeMutablePointer<Float>) {
        guard let net else { fatalError("sasrec: score before fit or restore") }
        net.eval()
        let table = net.table()
        let n = itemCount, maxLength = config.maxLength, fromStart = config.positionsFromStart
        SequenceSupport.score(
            queries, itemCount: n,
            window: { SequenceSupport.tokens($0, itemCount: n, limit: maxLength) },
            lastHidden: { rows in
                let batch = PaddedBatch(rows, maxLength: maxLength, fromStart: fromStart)
                let h = net(batch, table: table, causal: true)
                return gatherRows(h, (0..<rows.count).map { Int32($0 * batch.length + batch.length - 1) })
            },
            table: table, bias: nil, into: out)
    }

    public func state() throws -> SafeTensors {
        guard let net else { throw OsusumeError.invalidArgument("sasrec: nothing trained") }
        var st = net.stateDict()
        st.metadata["itemCount"] = String(itemCount)
        return st
    }

    public func restore(_ state: SafeTensors) throws {
        let (_, shape) = try state.floats("items.weight")
        itemCount = shape[0] - 1
        net = try makeNetwork(genreMatrix: nil)
        try net!.load(state)
        net!.eval()
    }
}
