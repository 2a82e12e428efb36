import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels
import OsusumeTensor

/// LightGCN (He, Deng, Wang, Li, Zhang and Wang, SIGIR 2020): user and item embeddings smoothed
/// over the user–item graph by `layers` propagations with the symmetric normalised adjacency
/// Â = D^-½ A D^-½ and no weights or non-linearities; the final embedding is the mean of the
/// layers, the score a dot product, and the loss BPR with L2 on the batch's layer-0 embeddings.
/// Each step propagates the whole graph forward and back (sparse products on the tensor engine).
///
/// Any history is scored by folding it into the graph: a user's layer k + 1 is Σᵢ Âᵤᵢ · item
/// layer k over the history (weights from the training degrees), their layer 0 the trained
/// embedding for a training user and zero for a new one. For a training user's own history this
/// is exactly the trained model.
public final class LightGCN: EpochTrainable {
    public struct Config: ModelConfig {
        public var dim = 64
        /// Propagations (the paper's K).
        public var layers = 3
        /// With 8,192 triples a step (a quarter of the propagations of the paper's 2,048 per
        /// epoch), 0.005 rather than the paper's 0.001 (ML-1M: NDCG@10 0.0418 after 60 epochs).
        public var learningRate = 5e-3
        /// λ of the L2 penalty on the batch's layer-0 embeddings: λ/2 · ‖·‖² / batch size.
        public var regularization = 1e-4
        /// (user, item, other item) triples per step; each step propagates the whole graph.
        public var batchSize = 8192
        /// Standard deviation of the normal initialisation of every layer-0 embedding: the scale
        /// of RecBole's Xavier initialisation (the original code's 0.1 tested lower on ML-1M:
        /// NDCG@10 0.0405, mean of two seeds, against 0.0421 of three; validation level).
        public var initStd = 0.02
        public var epochs = 100
        public var patience = 5
        public var validateEvery = 5
        /// Engine threads (0: leave the engine's setting).
        public var threads = 0
        public init() {}
    }

    public static let kind = "lightgcn"
    public let config: Config
    public var trainingCurve: TrainingCurve?
    public private(set) var itemCount = 0
    var userCount = 0

    final class Network: Module {
        let table: Embedding
        init(nodes: Int, dim: Int, std: Float, seed: UInt64) { table = Embedding(nodes, dim, std: std, seed: seed) }
    }

    var net: Network?
    var optimizer: Adam?
    var adjacency = SparseRows(columnCount: 0)
    var userItems: [[Int32]] = []
    var pairs: [(user: Int32, item: Int32)] = []
    var seed: UInt64 = 42
    // What scoring needs, refreshed after every epoch and saved: layer-0 user embeddings, item
    // layers 0…K, the mean item embedding, and the item degrees of the training graph.
    var userEgo: [Float] = []
    var itemLayers: [Float] = []
    var itemFinal: [Float] = []
    var itemDegree: [Float] = []

    public init(config: Config) { self.config = config }

    public func fit(_ data: TrainingData) throws {
        try Trainer.run(
            self, data: data,
            config: TrainerConfig(epochs: config.epochs, patience: config.patience, validateEvery: config.validateEvery))
    }

    public func prepare(_ data: TrainingData) throws {
        guard config.dim > 0, config.layers >= 0, config.batchSize > 0, config.learningRate > 0, config.regularization >= 0,
            config.initStd > 0
        else {
            throw OsusumeError.invalidArgument("lightgcn: dim, batchSize, learningRate and initStd must be > 0, layers and regularization ≥ 0")
        }
        let log = data.log
        guard log.itemCount > 1, log.count > 0 else { throw OsusumeError.emptyData("lightgcn: needs interactions and at least two items") }
        if config.threads > 0 { Engine.threads = config.threads }
        userCount = log.userCount
        itemCount = log.itemCount
        seed = data.seed
        Engine.seed(seed)
        // The graph counts a user–item pair once, however often it was logged.
        let x = log.csr()
        userItems = (0..<x.rows).map { u in Array(Set(x.colIndices[x.rowPointers[u]..<x.rowPointers[u + 1]])).sorted() }
        var degree = [Float](repeating: 0, count: itemCount)
        for items in userItems { for i in items { degree[Int(i)] += 1 } }
        itemDegree = degree
        pairs = userItems.enumerated().flatMap { u, items in items.map { (Int32(u), $0) } }
        adjacency = Self.normalisedAdjacency(userItems: userItems, itemDegree: degree)
        net = Network(nodes: userCount + itemCount, dim: config.dim, std: Float(config.initStd), seed: seed ^ 0x6C67)
        optimizer = Adam(learningRate: Float(config.learningRate))
        refreshScoring()
    }

    /// Â over users then items: Âᵤᵢ = Âᵢᵤ = 1 / √(deg u · deg i).
    static func normalisedAdjacency(userItems: [[Int32]], itemDegree: [Float]) -> SparseRows {
        let users = userItems.count, nodes = users + itemDegree.count
        var userPart = SparseRows(columnCount: nodes)
        for items in userItems {
            let du = Float(items.count)
            userPart.appendRow(columns: items.map { Int32(users) + $0 }, values: items.map { 1 / (du * itemDegree[Int($0)]).squareRoot() })
        }
        // Rows of the transpose from `users` on are the items' rows.
        let itemPart = userPart.transposed()
        var a = SparseRows(columnCount: nodes)
        for u in 0..<users { a.appendRow(columns: userItems[u].map { Int32(users) + $0 }, values: rowValues(userPart, u)) }
        for i in users..<nodes { a.appendRow(columns: rowColumns(itemPart, i), values: rowValues(itemPart, i)) }
        return a
    }

    private static func rowColumns(_ a: SparseRows, _ r: Int) -> [Int32] { Array(a.columns[a.offsets[r]..<a.offsets[r + 1]]) }
    private static func rowValues(_ a: SparseRows, _ r: Int) -> [Float] { Array(a.values[a.offsets[r]..<a.offsets[r + 1]]) }

    /// The mean of layers 0…K of every node's embedding.
    func propagate(_ e0: Tensor) -> (final: Tensor, layers: [Tensor]) {
        var layer = e0, total = e0, layers = [e0]
        for _ in 0..<config.layers {
            layer = sparseMatmul(adjacency, layer, transposed: adjacency)
            layers.append(layer)
            total = total + layer
        }
        return (total * (1 / Float(config.layers + 1)), layers)
    }

    public func trainEpoch(_ epoch: Int, report: (Int, Int, Float) -> Void) throws -> Float {
        guard let net, let optimizer else { throw OsusumeError.invalidArgument("lightgcn: not prepared") }
        var rng = SequenceSupport.epochRandom(seed: seed, epoch: epoch)
        var order = Array(0..<pairs.count)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.nextInt(i + 1)) }
        let batches = (order.count + config.batchSize - 1) / config.batchSize
        let users = Int32(userCount), lambda = Float(config.regularization)
        var total = 0.0
        for b in 0..<batches {
            let members = order[(b * config.batchSize)..<min(order.count, (b + 1) * config.batchSize)]
            var us: [Int32] = [], ps: [Int32] = [], ns: [Int32] = []
            for p in members {
                let (u, i) = pairs[p]
                us.append(u)
                ps.append(users + i)
                ns.append(users + sampleNegative(for: Int(u), &rng))
            }
            let n = Float(members.count)
            let (loss, g) = valueAndGrad(net) { net -> Tensor in
                let e0 = net.table.weight
                let (final, _) = propagate(e0)
                let eu = embedding(final, IndexTensor(us)), ei = embedding(final, IndexTensor(ps)), ej = embedding(final, IndexTensor(ns))
                let margin = sum(eu * (ei - ej), axes: [1])
                let penalty =
                    (sum(square(embedding(e0, IndexTensor(us)))) + sum(square(embedding(e0, IndexTensor(ps))))
                        + sum(square(embedding(e0, IndexTensor(ns))))) * (lambda / 2 / n)
                return mean(softplus(-margin)) + penalty
            }
            optimizer.update(net, g)
            total += Double(loss)
            report(b + 1, batches, Float(total / Double(b + 1)))
        }
        refreshScoring()
        return Float(total / Double(max(1, batches)))
    }

    /// An item the user has not interacted with (uniform; their items are sorted).
    private func sampleNegative(for user: Int, _ rng: inout SeededRandom) -> Int32 {
        let seen = userItems[user]
        var j = Int32(rng.nextInt(itemCount))
        var tries = 0
        while tries < 100, Self.contains(seen, j) { j = Int32(rng.nextInt(itemCount)); tries += 1 }
        return j
    }

    private static func contains(_ sorted: [Int32], _ x: Int32) -> Bool {
        var lo = 0, hi = sorted.count
        while lo < hi { let mid = (lo + hi) / 2; if sorted[mid] < x { lo = mid + 1 } else { hi = mid } }
        return lo < sorted.count && sorted[lo] == x
    }

    /// Recomputes the saved layers from the current embeddings.
    func refreshScoring() {
        guard let net else { return }
        let d = config.dim, users = userCount
        withoutGradients {
            let (final, layers) = propagate(net.table.weight)
            userEgo = Array(layers[0].scalars[0..<(users * d)])
            itemLayers = layers.flatMap { $0.scalars[(users * d)...] }
            itemFinal = Array(final.scalars[(users * d)...])
        }
    }

    public func score(_ queries: [ScoringQuery], into out: UnsafeMutablePointer<Float>) {
        let d = config.dim, items = itemCount, k = config.layers
        guard !itemFinal.isEmpty else { out.initialize(repeating: 0, count: queries.count * items); return }
        // Each query's final embedding: layer 0 trained (or zero), layer l + 1 gathered from the
        // history's item layer l, then the mean.
        var u = [Float](repeating: 0, count: queries.count * d)
        for (q, query) in queries.enumerated() {
            let history = Array(Set(query.history.filter { $0 >= 0 && Int($0) < items && itemDegree[Int($0)] > 0 }))
            var acc = [Float](repeating: 0, count: d)
            if let user = query.user, user >= 0, Int(user) < userCount {
                for e in 0..<d { acc[e] = userEgo[Int(user) * d + e] }
            }
            if !history.isEmpty {
                let du = Float(history.count)
                for l in 0..<k {
                    for i in history {
                        let w = 1 / (du * itemDegree[Int(i)]).squareRoot(), row = l * items * d + Int(i) * d
                        for e in 0..<d { acc[e] += w * itemLayers[row + e] }
                    }
                }
            }
            for e in 0..<d { u[q * d + e] = acc[e] / Float(k + 1) }
        }
        u.withUnsafeBufferPointer { up in
            itemFinal.withUnsafeBufferPointer { ip in
                BLAS.sgemm(
                    .none, .transpose, m: queries.count, n: items, k: d, a: up.baseAddress!, lda: d,
                    b: ip.baseAddress!, ldb: d, c: out, ldc: items)
            }
        }
    }

    public func checkpointState() throws -> SafeTensors {
        guard let net, let optimizer else { throw OsusumeError.invalidArgument("lightgcn: not prepared") }
        return SequenceSupport.checkpoint(net, optimizer, extra: [:])
    }

    public func restoreCheckpoint(_ state: SafeTensors) throws {
        guard let net, let optimizer else { throw OsusumeError.invalidArgument("lightgcn: not prepared") }
        try SequenceSupport.restoreCheckpoint(state, into: net, optimizer)
        refreshScoring()
    }

    public func state() throws -> SafeTensors {
        guard !itemFinal.isEmpty else { throw OsusumeError.invalidArgument("lightgcn: nothing trained") }
        var st = SafeTensors()
        st.set("userEgo", floats: userEgo, shape: [userCount, config.dim])
        st.set("itemLayers", floats: itemLayers, shape: [config.layers + 1, itemCount, config.dim])
        st.set("itemFinal", floats: itemFinal, shape: [itemCount, config.dim])
        st.set("itemDegree", floats: itemDegree, shape: [itemCount])
        return st
    }

    public func restore(_ state: SafeTensors) throws {
        let (ego, egoShape) = try state.floats("userEgo")
        let (layers, layerShape) = try state.floats("itemLayers")
        let (final, finalShape) = try state.floats("itemFinal")
        let (degree, degreeShape) = try state.floats("itemDegree")
        guard egoShape.count == 2, egoShape[1] == config.dim, layerShape == [config.layers + 1, finalShape[0], config.dim],
            finalShape.count == 2, finalShape[1] == config.dim, degreeShape == [finalShape[0]]
        else {
            throw OsusumeError.modelFile("lightgcn: saved shapes \(egoShape) \(layerShape) \(finalShape) \(degreeShape) do not match dim \(config.dim), layers \(config.layers)")
        }
        userCount = egoShape[0]
        itemCount = finalShape[0]
        userEgo = ego
        itemLayers = layers
        itemFinal = final
        itemDegree = degree
    }
}
