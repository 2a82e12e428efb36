import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels
import OsusumeTensor

/// What Multi-DAE and Multi-VAE share (Liang et al. present them as one family: a multinomial
/// likelihood over the user's item vector): the checks of their common settings, the training
/// state (rows, optimiser, shuffling, step count), the epoch over shuffled user batches with an
/// L2-normalised input and a binary target, and the checkpoint format. Each model brings its
/// network and its loss.
final class MultinomialAutoencoderTraining {
    let kind: String
    private(set) var rows: AutoencoderRows?
    private(set) var optimizer: Adam?
    var rng = SeededRandom(seed: 1)
    /// Updates so far (Multi-VAE anneals its KL weight by it).
    private(set) var steps: UInt64 = 0

    init(kind: String) { self.kind = kind }

    /// Checks the shared settings and starts a run on `data`; returns the item count. The
    /// caller builds its network next, drawing its initial weights from `rng`.
    func start(
        _ data: TrainingData, hiddenDims: [Int], dropout: Double, learningRate: Double, weightDecay: Double,
        seedSalt: UInt64
    ) throws -> Int {
        guard data.log.itemCount > 0, data.log.count > 0 else { throw OsusumeError.emptyData("\(kind): no interactions to fit") }
        guard !hiddenDims.isEmpty, hiddenDims.allSatisfy({ $0 > 0 }) else {
            throw OsusumeError.invalidArgument("\(kind): hiddenDims must be positive widths, got \(hiddenDims)")
        }
        guard (0..<1).contains(dropout) else { throw OsusumeError.invalidArgument("\(kind): dropout must be in [0, 1)") }
        Engine.seed(data.seed)
        rng = SeededRandom(seed: data.seed ^ seedSalt)
        rows = AutoencoderRows(log: data.log)
        optimizer = Adam(learningRate: Float(learningRate), weightDecay: Float(weightDecay))
        steps = 0
        return data.log.itemCount
    }

    /// One pass over the users in shuffled batches of `batchSize`. `step` computes a batch's
    /// loss and gradients from the normalised input and the binary target and returns the loss
    /// (the optimiser update follows here). Returns the mean batch loss.
    func epoch(
        _ network: Module, batchSize: Int, report: (Int, Int, Float) -> Void,
        step: (_ input: SparseRows, _ target: SparseRows, _ users: Int) -> (loss: Float, grads: Gradients)
    ) throws -> Float {
        guard let rows, let optimizer else { throw OsusumeError.invalidArgument("\(kind): prepare was not called") }
        network.train()
        defer { network.eval() }
        let order = rows.shuffledUsers(&rng)
        let batch = max(1, batchSize)
        var total = 0.0, batches = 0
        var lo = 0
        while lo < order.count {
            let users = order[lo..<min(order.count, lo + batch)]
            let lists = users.map { rows.items[$0] }
            let x = AutoencoderInput.sparse(lists, itemCount: rows.itemCount, normalize: true)
            let target = AutoencoderInput.sparse(lists, itemCount: rows.itemCount, normalize: false)
            let (loss, grads) = step(x, target, users.count)
            optimizer.update(network, grads)
            steps += 1
            total += Double(loss); batches += 1
            lo += users.count
            report(lo, order.count, Float(total / Double(batches)))
        }
        return Float(total / Double(max(1, batches)))
    }

    /// Trains `model` in epochs (validation, early stopping, progress and checkpoints by
    /// `Trainer`), then lets go of what only training needs.
    func fit(_ model: some EpochTrainable, _ data: TrainingData, epochs: Int, patience: Int, validateEvery: Int) throws {
        try Trainer.run(model, data: data, config: TrainerConfig(epochs: epochs, patience: patience, validateEvery: validateEvery))
        finish()
    }

    /// Training is over: the rows and the optimiser's moments are not kept with the model.
    func finish() { rows = nil; optimizer = nil }

    func checkpoint(_ network: Module, config: some ModelConfig) -> SafeTensors {
        AutoencoderCheckpoint.save(network, counters: [steps, rng.next()], config: config, kind: kind)
    }

    func restore(_ state: SafeTensors, into network: Module) throws {
        let c = try AutoencoderCheckpoint.load(state, into: network)
        if c.count == 2 { steps = c[0]; rng = SeededRandom(seed: c[1]) }
    }
}
