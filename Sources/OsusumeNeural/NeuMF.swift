import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels
import OsusumeTensor

/// NeuMF (He et al., "Neural Collaborative Filtering", WWW 2017): a GMF branch (user ⊙ item
/// embeddings) and an MLP branch over concatenated user and item embeddings, joined by one
/// output unit and trained with binary cross-entropy against sampled negatives.
///
/// Side features enter the MLP branch as extra inputs, each projected by a learned linear map:
/// user features (categorical fields such as ML-1M's gender, age and occupation, one-hot),
/// item features (genre multi-hot, release decade) and any dense vector per item read from
/// `itemVectors` (e.g. a poster or text embedding). With `pretrainEpochs` > 0, GMF and MLP are
/// first trained alone and the joint model starts from both, output weights scaled by α and
/// 1 − α, as in the paper.
///
/// NeuMF learns one embedding per training user, so it cannot score a new or anonymous user:
/// `canScoreNewUsers` is false; the evaluator refuses held-out-user protocols for it and the
/// server blends such requests from the other models.
public final class NeuMF: EpochTrainable {
    public struct Config: ModelConfig {
        /// GMF embedding size (the paper's "predictive factors").
        public var gmfDim: Int = 32
        /// MLP widths: the first is the size of the concatenated user+item embeddings (each half
        /// of it), then the hidden layers (ReLU), the last feeding the output unit.
        public var mlpLayers: [Int] = [128, 64, 32]
        /// Use the data's user features (categorical fields with at most 100 values).
        public var userFeatures: Bool = true
        /// Use the catalog's genres and release decade.
        public var itemFeatures: Bool = true
        /// A file of dense item vectors, one line per item: `itemID v1 v2 …` (spaces, tabs or
        /// commas). Items without a line get zeros. Empty: none.
        public var itemVectors: String = ""
        /// Width each feature group is projected to before joining the MLP input.
        public var featureDim: Int = 16
        /// Sampled negatives per positive interaction.
        public var negatives: Int = 4
        public var learningRate: Double = 1e-3
        /// L2 penalty (Adam's coupled decay).
        public var weightDecay: Double = 0
        /// Positive interactions per step (each with its negatives).
        public var batchSize: Int = 1024
        public var epochs: Int = 30
        public var patience: Int = 3
        public var validateEvery: Int = 1
        /// Epochs of GMF-only and then MLP-only training before the joint model (0: none).
        public var pretrainEpochs: Int = 0
        /// Share of the GMF branch in the joint output after pretraining.
        public var alpha: Double = 0.5
        public init() {}
    }
    public static let kind = "neumf"
    public let config: Config
    public var trainingCurve: TrainingCurve?
    public private(set) var itemCount = 0
    public private(set) var userCount = 0
    /// NeuMF has one learned embedding per training user and nothing for anyone else.
    public var canScoreNewUsers: Bool { false }

    var net: NeuMFNetwork?
    private var optimizer: Adam?
    private var positives: CSRMatrix?
    private var seed: UInt64 = 42
    /// Feature tables (not trained): users × userFeatureWidth, items × itemFeatureWidth.
    private var userFeatureTable: Tensor?
    private var itemFeatureTable: Tensor?
    private var userFeatureNames: [String] = []
    private var itemFeatureNames: [String] = []

    public init(config: Config) { self.config = config }

    public func fit(_ data: TrainingData) throws {
        try Trainer.run(
            self, data: data,
            config: TrainerConfig(epochs: config.epochs, patience: config.patience, validateEvery: config.validateEvery))
        optimizer = nil; positives = nil
    }

    public func prepare(_ data: TrainingData) throws {
        guard data.log.count > 0 else { throw OsusumeError.emptyData("neumf: no interactions to fit") }
        guard config.gmfDim > 0, config.mlpLayers.count >= 2, config.mlpLayers.allSatisfy({ $0 > 0 }), config.mlpLayers[0] % 2 == 0 else {
            throw OsusumeError.invalidArgument("neumf: gmfDim must be > 0 and mlpLayers at least two positive widths, the first even (got \(config.mlpLayers))")
        }
        guard config.negatives >= 1, config.batchSize >= 1, config.featureDim >= 1 else {
            throw OsusumeError.invalidArgument("neumf: negatives, batchSize and featureDim must be ≥ 1")
        }
        itemCount = data.log.itemCount; userCount = data.log.userCount
        seed = data.seed
        let x = data.log.csr()
        guard (0..<x.rows).contains(where: { x.rowPointers[$0 + 1] - x.rowPointers[$0] < itemCount }) else {
            throw OsusumeError.invalidArgument("neumf: every user has every item; there are no negatives to sample")
        }
        positives = x
        try buildFeatures(data)
        Engine.seed(seed)
        net = makeNetwork()
        if config.pretrainEpochs > 0 { try pretrain() }
        optimizer = Adam(learningRate: Float(config.learningRate), weightDecay: Float(config.weightDecay))
    }

    func makeNetwork() -> NeuMFNetwork {
        NeuMFNetwork(
            users: userCount, items: itemCount, gmfDim: config.gmfDim, mlpLayers: config.mlpLayers,
            userFeatureWidth: userFeatureTable?.shape[1] ?? 0, itemFeatureWidth: itemFeatureTable?.shape[1] ?? 0,
            featureDim: config.featureDim)
    }

    // MARK: features

    private func buildFeatures(_ data: TrainingData) throws {
        userFeatureTable = nil; itemFeatureTable = nil; userFeatureNames = []; itemFeatureNames = []
        if config.userFeatures, !data.userFeatures.isEmpty {
            // One-hot columns for each field value; fields with more than 100 values (zip codes)
            // are identifiers, not features, and are left out.
            var values: [String: Set<String>] = [:]
            for f in data.userFeatures.values { for (k, v) in f { values[k, default: []].insert(v) } }
            var columns: [String: Int] = [:]
            for field in values.keys.sorted() where values[field]!.count <= 100 {
                for v in values[field]!.sorted() { columns["\(field)=\(v)"] = userFeatureNames.count; userFeatureNames.append("\(field)=\(v)") }
            }
            if !userFeatureNames.isEmpty {
                let w = userFeatureNames.count
                var table = [Float](repeating: 0, count: userCount * w)
                var covered = 0
                for u in 0..<userCount {
                    guard let f = data.userFeatures[data.log.userIDs.id(of: Int32(u))] else { continue }
                    covered += 1
                    for (k, v) in f { if let c = columns["\(k)=\(v)"] { table[u * w + c] = 1 } }
                }
                userFeatureTable = Tensor(shape: [userCount, w], scalars: table)
                logLine("neumf: \(w) user feature columns (\(values.keys.sorted().filter { values[$0]!.count <= 100 }.joined(separator: ", "))), \(covered) of \(userCount) users covered")
            }
        }
        var itemColumns: [[Float]] = [] // per feature group: items × width, flattened
        var widths: [Int] = []
        if config.itemFeatures, !data.catalog.isEmpty {
            let genres = Set(data.catalog.items.flatMap(\.genres)).sorted()
            let decades = Set(data.catalog.items.compactMap { $0.year.map { $0 / 10 * 10 } }).sorted()
            let w = genres.count + decades.count
            if w > 0 {
                let gIndex = Dictionary(uniqueKeysWithValues: genres.enumerated().map { ($1, $0) })
                let dIndex = Dictionary(uniqueKeysWithValues: decades.enumerated().map { ($1, $0) })
                var table = [Float](repeating: 0, count: itemCount * w)
                for i in 0..<itemCount {
                    guard let item = data.catalog[data.log.itemIDs.id(of: Int32(i))] else { continue }
                    let gs = item.genres.compactMap { gIndex[$0] }
                    for g in gs { table[i * w + g] = 1 / Float(gs.count) }
                    if let y = item.year, let d = dIndex[y / 10 * 10] { table[i * w + genres.count + d] = 1 }
                }
                itemColumns.append(table); widths.append(w)
                itemFeatureNames += genres.map { "genre=\($0)" } + decades.map { "decade=\($0)" }
            }
        }
        if !config.itemVectors.isEmpty {
            let (table, w) = try Self.readItemVectors(config.itemVectors, ids: data.log.itemIDs, itemCount: itemCount)
            itemColumns.append(table); widths.append(w)
            itemFeatureNames += (0..<w).map { "vector.\($0)" }
        }
        if !widths.isEmpty {
            let total = widths.reduce(0, +)
            var table = [Float](repeating: 0, count: itemCount * total)
            var offset = 0
            for (cols, w) in zip(itemColumns, widths) {
                for i in 0..<itemCount { for c in 0..<w { table[i * total + offset + c] = cols[i * w + c] } }
                offset += w
            }
            itemFeatureTable = Tensor(shape: [itemCount, total], scalars: table)
            logLine("neumf: \(total) item feature columns")
        }
    }

    /// Reads `itemID v1 v2 …` lines; every line must have the same number of values.
    static func readItemVectors(_ path: String, ids: IDMap, itemCount: Int) throws -> ([Float], Int) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw OsusumeError.file(path, problem: "cannot read the item vectors file")
        }
        var width = -1
        var rows: [Int32: [Float]] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," || $0 == "\r" })
            if fields.isEmpty { continue }
            let values = fields.dropFirst().map { Float($0) }
            guard fields.count >= 2, values.allSatisfy({ $0 != nil && $0!.isFinite }) else {
                throw OsusumeError.file(path, problem: "line \(n + 1): expected an item id followed by numbers")
            }
            if width < 0 { width = values.count }
            guard values.count == width else {
                throw OsusumeError.file(path, problem: "line \(n + 1): \(values.count) values where earlier lines have \(width)")
            }
            if let i = ids.index(of: String(fields[0])) { rows[i] = values.map { $0! } }
        }
        guard width > 0 else { throw OsusumeError.file(path, problem: "no item vectors found") }
        var table = [Float](repeating: 0, count: itemCount * width)
        for (i, v) in rows { for c in 0..<width { table[Int(i) * width + c] = v[c] } }
        logLine("neumf: item vectors of width \(width) for \(rows.count) of \(itemCount) items from \(path)")
        return (table, width)
    }

    // MARK: training

    /// Positives in a seeded order, each followed by `negatives` unseen items.
    private func epochBatches(_ rng: inout SeededRandom) -> (users: [Int32], items: [Int32], labels: [Float], positives: Int) {
        guard let x = positives else { return ([], [], [], 0) }
        var order = Array(0..<x.nonZeros)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.nextInt(i + 1)) }
        var rowOf = [Int32](repeating: 0, count: x.nonZeros)
        for u in 0..<x.rows { for p in x.rowPointers[u]..<x.rowPointers[u + 1] { rowOf[p] = Int32(u) } }
        let per = 1 + config.negatives
        var users = [Int32](repeating: 0, count: order.count * per)
        var items = [Int32](repeating: 0, count: order.count * per)
        var labels = [Float](repeating: 0, count: order.count * per)
        x.colIndices.withUnsafeBufferPointer { cols in
            for (k, p) in order.enumerated() {
                let u = Int(rowOf[p])
                let lo = x.rowPointers[u], hi = x.rowPointers[u + 1]
                users[k * per] = Int32(u); items[k * per] = cols[p]; labels[k * per] = 1
                for n in 1..<per {
                    var j: Int32
                    repeat { j = Int32(rng.nextInt(itemCount)) } while Self.contains(cols, lo, hi, j)
                    users[k * per + n] = Int32(u); items[k * per + n] = j
                }
            }
        }
        return (users, items, labels, order.count)
    }

    @inline(__always) static func contains(_ cols: UnsafeBufferPointer<Int32>, _ lo: Int, _ hi: Int, _ v: Int32) -> Bool {
        var a = lo, b = hi
        while a < b { let m = (a + b) >> 1; if cols[m] < v { a = m + 1 } else { b = m } }
        return a < hi && cols[a] == v
    }

    public func trainEpoch(_ epoch: Int, report: (Int, Int, Float) -> Void) throws -> Float {
        guard let net, let optimizer else { throw OsusumeError.invalidArgument("neumf: prepare was not called") }
        return runEpoch(epoch, net: net, optimizer: optimizer, branch: .joint, report: report)
    }

    private func runEpoch(
        _ epoch: Int, net: NeuMFNetwork, optimizer: Adam, branch: NeuMFNetwork.Branch,
        report: (Int, Int, Float) -> Void
    ) -> Float {
        var rng = SequenceSupport.epochRandom(seed: seed ^ (branch == .joint ? 0 : branch == .gmf ? 0x6D6 : 0x313), epoch: epoch)
        let b = epochBatches(&rng)
        let per = 1 + config.negatives
        let rowsPerStep = config.batchSize * per
        var total = 0.0, steps = 0
        var lo = 0
        net.train()
        defer { net.eval() }
        while lo < b.users.count {
            let hi = min(b.users.count, lo + rowsPerStep)
            let users = IndexTensor(Array(b.users[lo..<hi])), items = IndexTensor(Array(b.items[lo..<hi]))
            let labels = Tensor(shape: [hi - lo], scalars: Array(b.labels[lo..<hi]))
            let (loss, grads) = valueAndGrad(net) { n in
                binaryCrossEntropyWithLogits(
                    n.logits(
                        users: users, items: items, userFeatures: self.userFeatureTable,
                        itemFeatures: self.itemFeatureTable, branch: branch), labels)
            }
            optimizer.update(net, grads)
            total += Double(loss); steps += 1
            lo = hi
            report(lo / per, b.positives, Float(total / Double(steps)))
        }
        return Float(total / Double(max(1, steps)))
    }

    /// GMF alone, then MLP alone, each for `pretrainEpochs`; then the output weights are scaled
    /// so the joint output starts as α·GMF + (1 − α)·MLP.
    private func pretrain() throws {
        guard let net else { return }
        for branch in [NeuMFNetwork.Branch.gmf, .mlp] {
            let opt = Adam(learningRate: Float(config.learningRate), weightDecay: Float(config.weightDecay))
            for e in 1...config.pretrainEpochs {
                let progress = ProgressReporter("neumf pretrain \(branch) \(e)/\(config.pretrainEpochs)", total: 1)
                let loss = runEpoch(e, net: net, optimizer: opt, branch: branch) { done, total, running in
                    progress.updateTotal(total)
                    progress.update(min(done, total - 1), [("loss", String(format: "%.4f", running))])
                }
                progress.finish(String(format: "loss %.4f", loss))
            }
        }
        net.scaleOutputs(gmf: Float(config.alpha), mlp: Float(1 - config.alpha))
    }

    // MARK: scoring

    /// Known users only (by training index); a query without one gets zeros, which the
    /// evaluator and server never ask for (see `canScoreNewUsers`).
    public func score(_ queries: [ScoringQuery], into out: UnsafeMutablePointer<Float>) {
        let n = itemCount
        out.initialize(repeating: 0, count: queries.count * n)
        guard let net else { return }
        net.eval()
        let known = queries.enumerated().compactMap { (k, q) -> (Int, Int32)? in
            guard let u = q.user, u >= 0, Int(u) < userCount else { return nil }
            return (k, u)
        }
        // The first MLP layer is linear in [user part; item part]: its item half is computed once
        // for all items, so scoring a user costs the remaining layers only.
        withoutGradients {
            let itemSide = net.itemSide(itemFeatures: itemFeatureTable) // (gmf [n, g], mlp [n, h1])
            var lo = 0
            let group = max(1, 65_536 / max(1, n))
            while lo < known.count {
                let members = Array(known[lo..<min(known.count, lo + group)])
                let scores = net.scoreAllItems(users: members.map(\.1), itemSide: itemSide, userFeatures: userFeatureTable)
                scores.withUnsafeBufferPointer { sp in
                    for (r, (k, _)) in members.enumerated() { (out + k * n).update(from: sp.baseAddress! + r * n, count: n) }
                }
                lo += members.count
            }
        }
    }

    // MARK: state

    public func checkpointState() throws -> SafeTensors {
        guard let net else { throw OsusumeError.invalidArgument("neumf: nothing to save before fit") }
        var st =
            optimizer.map { SequenceSupport.checkpoint(net, $0, extra: [:]) }
            ?? {
                var s = SafeTensors(); for (name, t) in net.namedParameters() { s.set("model." + name, t) }; return s
            }()
        if let t = userFeatureTable { st.set("features.user", t) }
        if let t = itemFeatureTable { st.set("features.item", t) }
        st.metadata["users"] = String(userCount); st.metadata["items"] = String(itemCount)
        st.metadata["user_features"] = userFeatureNames.joined(separator: "\n")
        st.metadata["item_features"] = itemFeatureNames.joined(separator: "\n")
        return st
    }

    public func restoreCheckpoint(_ state: SafeTensors) throws {
        if net == nil { try rebuild(from: state) }
        try SequenceSupport.restoreCheckpoint(state, into: net!, optimizer ?? Adam())
    }

    public func state() throws -> SafeTensors {
        var st = try checkpointState()
        for name in st.tensors.keys where name.hasPrefix("adam.") { st.tensors[name] = nil }
        st.metadata["step"] = nil
        return st
    }

    public func restore(_ state: SafeTensors) throws {
        try rebuild(from: state)
        try SequenceSupport.restoreCheckpoint(state, into: net!, Adam())
        net!.eval()
    }

    private func rebuild(from state: SafeTensors) throws {
        guard let u = state.metadata["users"].flatMap(Int.init), let i = state.metadata["items"].flatMap(Int.init) else {
            throw OsusumeError.modelFile("neumf: the weights file lacks the user and item counts")
        }
        userCount = u; itemCount = i
        userFeatureTable = state.tensors["features.user"] != nil ? try state.tensor("features.user") : nil
        itemFeatureTable = state.tensors["features.item"] != nil ? try state.tensor("features.item") : nil
        userFeatureNames = state.metadata["user_features"].map { $0.isEmpty ? [] : $0.components(separatedBy: "\n") } ?? []
        itemFeatureNames = state.metadata["item_features"].map { $0.isEmpty ? [] : $0.components(separatedBy: "\n") } ?? []
        net = makeNetwork()
    }
}

/// The two branches and the output units. The output is split into one unit per branch
/// (their sum is the paper's single unit over the concatenation), so each branch can be
/// trained alone for pretraining.
final class NeuMFNetwork: Module {
    enum Branch: CustomStringConvertible {
        case gmf, mlp, joint
        var description: String { self == .gmf ? "gmf" : self == .mlp ? "mlp" : "joint" }
    }
    let userGMF: Embedding, itemGMF: Embedding
    let userMLP: Embedding, itemMLP: Embedding
    /// Projections of the user and item feature rows (empty when there are none).
    let userFeatureLayer: [Linear], itemFeatureLayer: [Linear]
    /// First MLP layer over [user emb; item emb; user features; item features], then the rest.
    let mlp: [Linear]
    let gmfOut: Linear, mlpOut: Linear
    let half: Int

    init(users: Int, items: Int, gmfDim: Int, mlpLayers: [Int], userFeatureWidth: Int, itemFeatureWidth: Int, featureDim: Int) {
        half = mlpLayers[0] / 2
        userGMF = Embedding(users, gmfDim, std: 0.01, sparseGradients: true)
        itemGMF = Embedding(items, gmfDim, std: 0.01, sparseGradients: true)
        userMLP = Embedding(users, half, std: 0.01, sparseGradients: true)
        itemMLP = Embedding(items, half, std: 0.01, sparseGradients: true)
        userFeatureLayer = userFeatureWidth > 0 ? [Linear(userFeatureWidth, featureDim, bias: false)] : []
        itemFeatureLayer = itemFeatureWidth > 0 ? [Linear(itemFeatureWidth, featureDim, bias: false)] : []
        let input = mlpLayers[0] + (userFeatureWidth > 0 ? featureDim : 0) + (itemFeatureWidth > 0 ? featureDim : 0)
        var layers: [Linear] = []
        var width = input
        for w in mlpLayers.dropFirst() { layers.append(Linear(width, w)); width = w }
        mlp = layers
        gmfOut = Linear(gmfDim, 1)
        mlpOut = Linear(width, 1)
    }

    /// Logits for (user, item) pairs: [rows].
    func logits(users: IndexTensor, items: IndexTensor, userFeatures: Tensor?, itemFeatures: Tensor?, branch: Branch) -> Tensor {
        let rows = users.count
        var out: Tensor?
        if branch != .mlp {
            out = gmfOut(userGMF(users) * itemGMF(items))
        }
        if branch != .gmf {
            var parts = [userMLP(users), itemMLP(items)]
            if let f = userFeatures, let layer = userFeatureLayer.first { parts.append(layer(embedding(f, users))) }
            if let f = itemFeatures, let layer = itemFeatureLayer.first { parts.append(layer(embedding(f, items))) }
            var h = concat(parts, axis: 1)
            for layer in mlp { h = relu(layer(h)) }
            let m = mlpOut(h)
            out = out.map { $0 + m } ?? m
        }
        return out!.reshaped([rows])
    }

    /// Per-item parts of the scoring: GMF item vectors times the GMF output weights, and the
    /// item half of the first MLP layer.
    func itemSide(itemFeatures: Tensor?) -> (gmf: Tensor, mlp: Tensor) {
        let items = itemGMF.weight.shape[0]
        let all = IndexTensor((0..<Int32(items)).map { $0 })
        let first = mlp[0]
        let w = first.weight // [h1, input]
        let h1 = w.shape[0]
        // Columns of the first layer: [user emb | item emb | user feat? | item feat?].
        let userFeat = userFeatureLayer.first.map { $0.weight.shape[0] } ?? 0
        let itemFeat = itemFeatureLayer.first.map { $0.weight.shape[0] } ?? 0
        var pieces = [Tensor.zeros([items, half]), itemMLP(all)]
        if userFeat > 0 { pieces.append(Tensor.zeros([items, userFeat])) }
        if let f = itemFeatures, let layer = itemFeatureLayer.first { pieces.append(layer(embedding(f, all))) } else if itemFeat > 0 { pieces.append(Tensor.zeros([items, itemFeat])) }
        let itemPart = linear(concat(pieces, axis: 1), weight: w) // no bias: the user side adds it
        precondition(itemPart.shape == [items, h1])
        return (itemGMF.weight * gmfOut.weight.reshaped([1, gmfOut.weight.count]), itemPart)
    }

    /// Scores of `users` against every item: [users, items].
    func scoreAllItems(users: [Int32], itemSide: (gmf: Tensor, mlp: Tensor), userFeatures: Tensor?) -> Tensor {
        let idx = IndexTensor(users)
        let items = itemSide.gmf.shape[0]
        let itemFeat = itemFeatureLayer.first.map { $0.weight.shape[0] } ?? 0
        // User half of the first MLP layer, with its bias: [u, h1].
        var pieces = [userMLP(idx), Tensor.zeros([users.count, half])]
        if let f = userFeatures, let layer = userFeatureLayer.first { pieces.append(layer(embedding(f, idx))) }
        if itemFeat > 0 { pieces.append(Tensor.zeros([users.count, itemFeat])) }
        let userPart = mlp[0](concat(pieces, axis: 1))
        let h1 = userPart.shape[1]
        // GMF: (user ⊙ item) · w = item_scaled · userᵀ  → [items, u], transposed below.
        let gmf = matmul(userGMF(idx), itemSide.gmf, transposeB: true) + gmfOut.bias!.reshaped([1, 1]) // [u, items]
        var h = relu(userPart.reshaped([users.count, 1, h1]) + itemSide.mlp.reshaped([1, items, h1])) // [u, items, h1]
        for layer in mlp.dropFirst() { h = relu(layer(h)) }
        let m = mlpOut(h).reshaped([users.count, items])
        return gmf + m
    }

    /// Output weights for the joint model after pretraining: α·GMF + (1 − α)·MLP.
    func scaleOutputs(gmf a: Float, mlp b: Float) {
        for (t, s) in [(gmfOut.weight, a), (gmfOut.bias!, a), (mlpOut.weight, b), (mlpOut.bias!, b)] {
            t.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] *= s } }
        }
    }
}
