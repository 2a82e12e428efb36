import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels
import OsusumeTensor

/// A multi-task denoising autoencoder over the user's presence and rating vectors.
///
/// Input: the presence vector (L2-normalised binary history) concatenated with a rating vector
/// in "hybrid" normalisation — z = (r − μ̃ᵤ − bᵢ) / σ, with μ̃ᵤ the user's mean shrunk towards
/// the global mean, bᵢ the item's shrunk mean deviation from its raters' means and σ the global
/// standard deviation (so the heads learn what the biases miss); unwatched items are 0 in both halves,
/// watched-but-unrated items are present with rating 0, so the two stay distinct. Each step a
/// fraction (`holdOut`) of each profile is removed from the input and must be reconstructed.
/// Encoder (tanh; swish optional) with Gaussian noise at the bottleneck; two heads from the bottleneck:
/// presence logits (multinomial NLL against the whole profile) and normalised ratings (Huber
/// loss on the held-out rated items only; unrated items are masked out). The two losses are
/// weighted by learned homoscedastic uncertainty (Kendall et al., CVPR 2018): Σ exp(−sₜ)·Lₜ + sₜ. Ranking score: log P(item) +
/// `ratingMix` · predicted z-rating (the rating term only when the model was trained with
/// ratings). Any history, with or without ratings, is scored by one forward pass.
public final class MultiTaskDAE: EpochTrainable, ExplainableRecommender, RatingPredictor {
    public struct Config: ModelConfig {
        /// Encoder widths after the input; the last is the bottleneck. Each head mirrors them.
        public var hiddenDims: [Int] = [600, 200]
        /// Fraction of each profile removed from the input per step (the denoising target).
        public var holdOut: Double = 0.25
        /// Standard deviation of the Gaussian noise added at the bottleneck while training. With
        /// the tanh code (in [−1, 1]) 1 ranked best on ml-100k (0 → 1.5 swept, docs/autoencoders.md).
        public var bottleneckNoise: Double = 1
        /// Activation of the hidden layers (relu, gelu, swish, tanh or sigmoid). tanh, as
        /// Multi-VAE: swish ranked clearly lower on every data set measured (docs/autoencoders.md).
        public var activation = "tanh"
        /// Activation of the bottleneck code. A bounded one (tanh) keeps the bottleneck noise
        /// meaningful: an unbounded code can outgrow the noise by scaling up.
        public var bottleneckActivation = "tanh"
        /// Weight of the predicted (normalised) rating in the ranking score; 0 ranks by presence only.
        public var ratingMix: Double = 0.1
        /// Huber threshold, in global standard deviations.
        public var huberDelta: Double = 1
        /// The rating task's share in the uncertainty weighting: the objective is
        /// exp(−s₁)·L_presence + s₁ + exp(−s₂)·L_rating + share·s₂, whose optimum weights the
        /// rating loss to contribute `share` against the presence loss's 1 (1: Kendall et al.).
        public var ratingTaskShare: Double = 1
        /// Pseudo-ratings at the global mean added to each user's mean (shrinkage).
        public var userMeanShrinkage: Double = 5
        public var learningRate: Double = 1e-3
        public var weightDecay: Double = 0
        /// Users per step. 100 (five times as many steps per epoch as 500) ranked higher on the
        /// anime sample and kept ml-100k and ml-latest-small above Multi-VAE (docs/autoencoders.md).
        public var batchSize: Int = 100
        public var epochs: Int = 100
        public var patience: Int = 10
        public var validateEvery: Int = 1
        public init() {}
    }
    public static let kind = "multitaskdae"
    public let config: Config
    public private(set) var itemCount: Int = 0
    public var trainingCurve: TrainingCurve?
    var network: MultiTaskDAENetwork?
    private var rows: AutoencoderRows?
    private var optimizer: Adam?
    private var rng = SeededRandom(seed: 1)
    private var steps: UInt64 = 0
    /// Global rating mean and standard deviation, and whether training saw any ratings.
    public private(set) var ratingMean: Float = 0
    public private(set) var ratingScale: Float = 1
    public private(set) var trainedWithRatings = false
    /// Per-item shrunk mean deviation of ratings from the raters' (shrunk) means.
    public private(set) var itemBias: [Float] = []
    /// Scale of the rating head's correction to the baseline (fitted on validation ratings).
    public private(set) var ratingGain: Float = 1

    public init(config: Config) { self.config = config }

    /// The learned uncertainty weights exp(−s) of the presence and rating losses.
    public var taskWeights: (presence: Float, rating: Float)? {
        guard let network else { return nil }
        return (Foundation.exp(-network.presenceLogVariance.scalars[0]), Foundation.exp(-network.ratingLogVariance.scalars[0]))
    }

    public func fit(_ data: TrainingData) throws {
        try Trainer.run(
            self, data: data,
            config: TrainerConfig(
                epochs: config.epochs, patience: config.patience,
                validateEvery: config.validateEvery))
        rows = nil; optimizer = nil
        calibrateRatingGain(data.validation)
    }

    /// Least-squares gain of the rating head's residual on the validation cases' rated targets,
    /// clipped to [0, 1]: the head's correction is kept as far as it helps on data it was not
    /// trained on (early stopping follows the ranking metric, not the rating error).
    func calibrateRatingGain(_ validation: [EvalCase]) {
        ratingGain = 1
        guard trainedWithRatings else { return }
        var cases: [(ScoringQuery, [Int32], [Float])] = []
        for c in validation {
            guard let tr = c.targetRatings else { continue }
            let rated = c.targets.indices.filter { $0 < tr.count && !tr[$0].isNaN }
            if !rated.isEmpty { cases.append((ScoringQuery(user: c.user, history: c.history, ratings: c.historyRatings), rated.map { c.targets[$0] }, rated.map { tr[$0] })) }
        }
        guard !cases.isEmpty else { return }
        let predicted = predictRatings(cases.map(\.0), items: cases.map(\.1))
        var num = 0.0, den = 0.0
        for (k, c) in cases.enumerated() {
            let m = userMean(c.0.ratings)
            for (j, item) in c.1.enumerated() {
                let base = m + itemBias[Int(item)]
                let residual = Double(predicted[k][j] - base)
                num += Double(c.2[j] - base) * residual; den += residual * residual
            }
        }
        ratingGain = den > 0 ? Float(min(1, max(0, num / den))) : 0
        logLine(String(format: "multitaskdae: rating head gain %.3f (least squares on %d validation ratings)", ratingGain, cases.reduce(0) { $0 + $1.1.count }))
    }

    public func prepare(_ data: TrainingData) throws {
        guard data.log.itemCount > 0, data.log.count > 0 else { throw OsusumeError.emptyData("multitaskdae: no interactions to fit") }
        guard config.hiddenDims.allSatisfy({ $0 > 0 }), !config.hiddenDims.isEmpty else {
            throw OsusumeError.invalidArgument("multitaskdae: hiddenDims must be positive widths, got \(config.hiddenDims)")
        }
        guard (0..<1).contains(config.holdOut) else { throw OsusumeError.invalidArgument("multitaskdae: holdOut must be in [0, 1)") }
        guard config.bottleneckNoise >= 0 else { throw OsusumeError.invalidArgument("multitaskdae: bottleneckNoise must be ≥ 0, got \(config.bottleneckNoise)") }
        itemCount = data.log.itemCount
        Engine.seed(data.seed)
        rng = SeededRandom(seed: data.seed ^ 0x3DAE)
        network = try makeNetwork(&rng)
        rows = AutoencoderRows(log: data.log)
        // Global statistics of the known ratings.
        var n = 0, s = 0.0, ss = 0.0
        if data.log.hasRatings {
            for r in data.log.ratings where !r.isNaN { n += 1; s += Double(r); ss += Double(r) * Double(r) }
        }
        trainedWithRatings = n > 0
        ratingMean = n > 0 ? Float(s / Double(n)) : 0
        let variance = n > 1 ? (ss - s * s / Double(n)) / Double(n - 1) : 1
        ratingScale = Float(max(variance, 1e-6).squareRoot())
        // Item biases: mean of (rating − user's shrunk mean) with the same shrinkage towards 0.
        var deviation = [Double](repeating: 0, count: itemCount), counts = [Double](repeating: 0, count: itemCount)
        if trainedWithRatings {
            for u in 0..<rows!.userCount {
                let m = userMean(rows!.ratings[u])
                for (k, i) in rows!.items[u].enumerated() where !rows!.ratings[u][k].isNaN {
                    deviation[Int(i)] += Double(rows!.ratings[u][k] - m); counts[Int(i)] += 1
                }
            }
        }
        let k = config.userMeanShrinkage
        itemBias = (0..<itemCount).map { Float(deviation[$0] / (counts[$0] + max(k, 1e-9))) }
        optimizer = Adam(learningRate: Float(config.learningRate), weightDecay: Float(config.weightDecay))
        steps = 0
    }

    /// The user's shrunk mean rating from the rated items of a history.
    func userMean(_ ratings: [Float]?) -> Float {
        var n = 0, s: Float = 0
        for r in ratings ?? [] where !r.isNaN { n += 1; s += r }
        let k = Float(config.userMeanShrinkage)
        return (s + k * ratingMean) / (Float(n) + k + (n == 0 && k == 0 ? 1 : 0))
    }

    /// Sparse rows over 2·items: L2-normalised presence, then z-ratings (absent where unrated
    /// or not in the list; an item listed twice keeps its last rating).
    private func input(_ lists: [[Int32]], _ ratings: [[Float]?], means: [Float]) -> SparseRows {
        let n = itemCount
        var out = SparseRows(columnCount: 2 * n)
        // last[i]: the position of item i's last occurrence in the current list, valid where
        // stamp[i] == r + 1 (one pair of arrays for the whole batch instead of a map per row).
        var last = [Int](repeating: 0, count: n), stamp = [Int32](repeating: 0, count: n)
        for (r, list) in lists.enumerated() {
            let mark = Int32(r + 1)
            var order: [Int32] = []
            for (k, i) in list.enumerated() where i >= 0 && Int(i) < n {
                if stamp[Int(i)] != mark { stamp[Int(i)] = mark; order.append(i) }
                last[Int(i)] = k
            }
            let v = order.isEmpty ? 0 : 1 / Float(order.count).squareRoot()
            var cols = order, vals = [Float](repeating: v, count: order.count)
            for i in order {
                let k = last[Int(i)]
                if let rs = ratings[r], k < rs.count, !rs[k].isNaN {
                    cols.append(Int32(n) + i)
                    vals.append((rs[k] - means[r] - itemBias[Int(i)]) / ratingScale)
                }
            }
            out.appendRow(columns: cols, values: vals)
        }
        return out
    }

    public func trainEpoch(_ epoch: Int, report: (Int, Int, Float) -> Void) throws -> Float {
        guard let network, let rows, let optimizer else { throw OsusumeError.invalidArgument("multitaskdae: prepare was not called") }
        network.train()
        defer { network.eval() }
        let n = itemCount
        let order = rows.shuffledUsers(&rng)
        let batch = max(1, config.batchSize)
        let keepProbability = Float(1 - config.holdOut)
        let delta = Float(config.huberDelta)
        let share = Float(config.ratingTaskShare)
        var total = 0.0, batches = 0
        var lo = 0
        while lo < order.count {
            let users = Array(order[lo..<min(order.count, lo + batch)])
            let b = users.count
            // The kept part of each profile is the input; the whole profile is the target.
            var keptLists: [[Int32]] = [], keptRatings: [[Float]?] = [], means: [Float] = []
            var target = [Float](repeating: 0, count: b * n)
            var ratingTarget = [Float](repeating: 0, count: b * n)
            var ratingMask = [Float](repeating: 0, count: b * n)
            var rated = 0
            for (r, u) in users.enumerated() {
                let items = rows.items[u], ratings = rows.ratings[u]
                means.append(userMean(ratings))
                var kl: [Int32] = [], kr: [Float] = []
                var heldOut: [Int] = []
                for (k, i) in items.enumerated() {
                    target[r * n + Int(i)] = 1
                    if rng.nextFloat() < keepProbability { kl.append(i); kr.append(ratings[k]) } else { heldOut.append(k) }
                }
                if kl.isEmpty, let k = heldOut.popLast() { kl = [items[k]]; kr = [ratings[k]] }
                // The rating head learns from the held-out rated items only: a rating in the
                // input would otherwise just be copied through.
                for k in heldOut where !ratings[k].isNaN {
                    let i = Int(items[k])
                    ratingTarget[r * n + i] = (ratings[k] - means[r] - itemBias[i]) / ratingScale
                    if ratingMask[r * n + i] == 0 { rated += 1 }
                    ratingMask[r * n + i] = 1
                }
                keptLists.append(kl); keptRatings.append(kr)
            }
            let x = input(keptLists, keptRatings, means: means)
            let presenceTarget = Tensor(shape: [b, n], scalars: target)
            let mask = Tensor(shape: [b, n], scalars: ratingMask)
            let zTarget = Tensor(shape: [b, n], scalars: ratingTarget)
            let noise = Tensor.randomNormal([b, network.bottleneck], std: Float(config.bottleneckNoise), seed: rng.next())
            let ratingScaleUp = Float(b * n) / Float(max(1, rated))
            let (loss, grads) = valueAndGrad(network) { net in
                let (presence, ratingPrediction) = net(x, noise: noise)
                let s1 = net.presenceLogVariance
                var totalLoss = exp(-s1) * multinomialNLL(presence, presenceTarget) + s1
                if rated > 0 {
                    // Masked Huber: unrated entries are 0 on both sides; rescale the mean to rated entries.
                    let huber = huberLoss(ratingPrediction * mask, zTarget, delta: delta) * ratingScaleUp
                    let s2 = net.ratingLogVariance
                    totalLoss = totalLoss + exp(-s2) * huber + s2 * share
                }
                return sum(totalLoss)
            }
            optimizer.update(network, grads)
            steps += 1
            total += Double(loss); batches += 1
            lo += b
            report(lo, order.count, Float(total / Double(batches)))
        }
        return Float(total / Double(max(1, batches)))
    }

    /// Presence logits and predicted z-ratings for a chunk of queries.
    private func forward(_ queries: [ScoringQuery]) -> (presence: Tensor, rating: Tensor, means: [Float]) {
        let means = queries.map { userMean($0.ratings) }
        let x = input(queries.map(\.history), queries.map(\.ratings), means: means)
        let (p, r) = network!(x, noise: nil)
        return (p, r, means)
    }

    public func score(_ queries: [ScoringQuery], into scores: UnsafeMutablePointer<Float>) {
        guard network != nil else { scores.initialize(repeating: 0, count: queries.count * itemCount); return }
        network!.eval()
        let mix = trainedWithRatings ? Float(config.ratingMix) : 0
        scoreInChunks(queries, itemCount: itemCount, into: scores) { chunk in
            let (p, r, _) = forward(chunk)
            return mix == 0 ? logSoftmax(p) : logSoftmax(p) + r * mix
        }
    }

    /// Predicted ratings (in the data's rating units) of every item for each query, from the
    /// rating head: μ̃ᵤ + bᵢ + σ·z. Meaningful only for a model trained with ratings.
    public func predictRatings(_ queries: [ScoringQuery]) -> [[Float]] {
        guard network != nil else { return queries.map { _ in [Float](repeating: ratingMean, count: itemCount) } }
        network!.eval()
        var out: [[Float]] = []
        var lo = 0
        while lo < queries.count {
            let chunk = Array(queries[lo..<min(queries.count, lo + 256)])
            let (_, r, means) = withoutGradients { forward(chunk) }
            let z = r.scalars
            for (q, m) in means.enumerated() {
                out.append((0..<itemCount).map { m + itemBias[$0] + ratingGain * ratingScale * z[q * itemCount + $0] })
            }
            lo += chunk.count
        }
        return out
    }

    public var predictsRatings: Bool { trainedWithRatings }

    public func predictRatings(_ queries: [ScoringQuery], items: [[Int32]]) -> [[Float]] {
        let all = predictRatings(queries)
        return zip(all, items).map { row, list in list.map { $0 >= 0 && Int($0) < row.count ? row[Int($0)] : ratingMean } }
    }

    public func contributions(of item: Int32, for query: ScoringQuery) -> [Float] {
        holdOutContributions(of: item, for: query, itemCount: itemCount) { self.score($0, into: $1) }
    }

    public func checkpointState() throws -> SafeTensors {
        guard let network else { throw OsusumeError.invalidArgument("multitaskdae: nothing to save before fit") }
        var st = AutoencoderCheckpoint.save(network, counters: [steps, rng.next()], config: config, kind: Self.kind)
        st.set("_ratingStatistics", floats: [ratingMean, ratingScale, trainedWithRatings ? 1 : 0, ratingGain], shape: [4])
        st.set("_itemBias", floats: itemBias, shape: [itemBias.count])
        return st
    }

    public func restoreCheckpoint(_ state: SafeTensors) throws {
        if network == nil { try buildNetwork(for: state) }
        var weights = state
        weights.tensors["_ratingStatistics"] = nil
        weights.tensors["_itemBias"] = nil
        let c = try AutoencoderCheckpoint.load(weights, into: network!)
        if c.count == 2 { steps = c[0]; rng = SeededRandom(seed: c[1]) }
        let (stats, _) = try state.floats("_ratingStatistics")
        guard stats.count == 3 || stats.count == 4 else { throw OsusumeError.modelFile("multitaskdae: _ratingStatistics must hold 3 or 4 values") }
        ratingMean = stats[0]; ratingScale = stats[1]; trainedWithRatings = stats[2] != 0
        ratingGain = stats.count == 4 ? stats[3] : 1
        let (bias, _) = try state.floats("_itemBias")
        guard bias.count == itemCount else { throw OsusumeError.modelFile("multitaskdae: _itemBias has \(bias.count) values for \(itemCount) items") }
        itemBias = bias
    }

    public func state() throws -> SafeTensors { try checkpointState() }

    public func restore(_ state: SafeTensors) throws {
        try buildNetwork(for: state)
        try restoreCheckpoint(state)
    }

    private func buildNetwork(for state: SafeTensors) throws {
        let (_, shape) = try state.floats("presenceHead.1.weight")
        guard shape.count == 2 else { throw OsusumeError.modelFile("multitaskdae: presenceHead.1.weight has shape \(shape)") }
        itemCount = shape[0]
        var r = SeededRandom(seed: 0)
        network = try makeNetwork(&r)
        network!.eval()
    }

    private func makeNetwork(_ rng: inout SeededRandom) throws -> MultiTaskDAENetwork {
        return MultiTaskDAENetwork(
            items: itemCount, hidden: config.hiddenDims, activation: try SequenceSupport.activation(config.activation, setting: "multitaskdae: activation"),
            bottleneckActivation: try SequenceSupport.activation(config.bottleneckActivation, setting: "multitaskdae: bottleneckActivation"),
            rng: &rng)
    }
}

/// Encoder 2·items → hidden… (tanh by default) with noise at the bottleneck, and two heads bottleneck →
/// reversed hidden… → items: presence logits and normalised ratings. Holds the two learned
/// log-variances of the uncertainty weighting.
final class MultiTaskDAENetwork: Module {
    let encoder: [Linear]
    let presenceHead: [Linear]
    let ratingHead: [Linear]
    let presenceLogVariance: Tensor
    let ratingLogVariance: Tensor
    let bottleneck: Int
    let activation: Activation
    let bottleneckActivation: Activation

    init(items: Int, hidden: [Int], activation: Activation, bottleneckActivation: Activation, rng: inout SeededRandom) {
        bottleneck = hidden.last!
        self.activation = activation
        self.bottleneckActivation = bottleneckActivation
        func layers(_ dims: [Int], _ rng: inout SeededRandom) -> [Linear] {
            (0..<(dims.count - 1)).map { i in
                let l = Linear(dims[i], dims[i + 1], seed: rng.next())
                AutoencoderInput.xavier(l, rng: &rng)
                return l
            }
        }
        encoder = layers([2 * items] + hidden, &rng)
        presenceHead = layers([bottleneck] + hidden.dropLast().reversed() + [items], &rng)
        ratingHead = layers([bottleneck] + hidden.dropLast().reversed() + [items], &rng)
        // The rating head predicts what the user-mean + item-bias baseline misses: starting at
        // zero, it starts as that baseline instead of adding noise to it.
        if let last = ratingHead.last {
            last.weight.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            last.bias?.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        }
        presenceLogVariance = Tensor.zeros([1]).trainable()
        ratingLogVariance = Tensor.zeros([1]).trainable()
    }

    /// The layers after a first output `h`, with `activation` between them; the last is followed
    /// by `last` (nil: linear).
    private func run(_ layers: ArraySlice<Linear>, from h: Tensor, last: Activation?) -> Tensor {
        var h = h
        for layer in layers { h = layer(activation(h)) }
        return last.map { $0(h) } ?? h
    }

    private func run(_ layers: [Linear], _ x: Tensor, last: Activation?) -> Tensor {
        run(layers.dropFirst(), from: layers[0](x), last: last)
    }

    func callAsFunction(_ x: SparseRows, noise: Tensor?) -> (presence: Tensor, rating: Tensor) {
        var z = run(encoder.dropFirst(), from: encoder[0](x), last: bottleneckActivation)
        if let noise { z = z + noise }
        return (run(presenceHead, z, last: nil), run(ratingHead, z, last: nil))
    }
}
