import XCTest
import OsusumeCore
@testable import OsusumeTensor

/// A small SASRec-like model used by the tests (the benchmark has the full-size one).
final class TinySASRec: Module {
    let items: Embedding
    let positions: Embedding
    let blocks: [TransformerBlock]
    let norm: LayerNorm
    let dropout: Dropout
    let dim: Int

    init(items: Int, length: Int, dim: Int, heads: Int, blocks: Int, dropout: Float) {
        self.items = Embedding(items, dim, std: 0.1, seed: 1)
        self.positions = Embedding(length, dim, std: 0.1, seed: 2)
        self.blocks = (0..<blocks).map { _ in TransformerBlock(dim: dim, heads: heads, hidden: dim, dropout: dropout, activation: .relu) }
        self.norm = LayerNorm(dim)
        self.dropout = Dropout(dropout)
        self.dim = dim
    }

    func loss(_ seqs: IndexTensor, _ targets: IndexTensor) -> Tensor {
        let b = seqs.shape[0], l = seqs.shape[1]
        let pos = IndexTensor((0..<(b * l)).map { Int32($0 % l) }, shape: [b, l])
        var h = dropout(items(seqs) * Float(dim).squareRoot() + positions(pos))
        for block in blocks { h = block(h, causal: true) }
        return chunkedCrossEntropy(hidden: norm(h), weight: items.weight, targets: targets, chunkRows: 5)
    }
}

final class MLP: Module {
    let layer1 = Linear(2, 32, seed: 1)
    let layer2 = Linear(32, 32, seed: 2)
    let layer3 = Linear(32, 1, seed: 3)
    func callAsFunction(_ x: Tensor) -> Tensor { layer3(tanh(layer2(tanh(layer1(x))))) }
}

final class TrainingTests: XCTestCase {
    func testMLPLearnsPlantedFunction() {
        // y = sin(2·x0) + x1² − 0.5 on [-1, 1]².
        var rng = SeededRandom(seed: 1)
        let n = 256
        var xs: [Float] = [], ys: [Float] = []
        for _ in 0..<n {
            let a = rng.nextFloat() * 2 - 1, b = rng.nextFloat() * 2 - 1
            xs += [a, b]
            ys.append(Foundation.sin(2 * a) + b * b - 0.5)
        }
        let x = Tensor(shape: [n, 2], scalars: xs), y = Tensor(shape: [n, 1], scalars: ys)
        let model = MLP()
        let optimizer = Adam(schedule: .warmupCosine(peak: 0.01, warmup: 20, total: 600, final: 1e-4))
        let initial = withoutGradients { mseLoss(model(x), y).item }
        var loss: Float = 0
        for _ in 0..<600 {
            let (l, grads) = valueAndGrad(model) { model in mseLoss(model(x), y) }
            optimizer.update(model, grads)
            loss = l
        }
        XCTAssertGreaterThan(initial, 0.1)
        XCTAssertLessThan(loss, 2e-3, "final loss \(loss)")
    }

    func runTinyTraining(threads: Int) -> [Float] {
        Threads.count = threads
        Engine.seed(42)
        let model = TinySASRec(items: 13, length: 8, dim: 8, heads: 2, blocks: 2, dropout: 0.2)
        let optimizer = AdamW(learningRate: 1e-2)
        let seqs = IndexTensor((0..<24).map { Int32($0 * 7 % 12 + 1) }, shape: [3, 8])
        let targets = IndexTensor((0..<24).map { Int32(($0 * 7 + 1) % 12 + 1) }, shape: [3, 8])
        var losses: [Float] = []
        for _ in 0..<5 {
            var (l, grads) = valueAndGrad(model) { model in model.loss(seqs, targets) }
            grads.clipNorm(1)
            optimizer.update(model, grads)
            losses.append(l)
        }
        return losses + model.namedParameters().flatMap { $0.1.scalars }
    }

    func testSameSeedAndThreadsGiveBitwiseSameResult() {
        let a = runTinyTraining(threads: 2), b = runTinyTraining(threads: 2)
        XCTAssertEqual(a, b)
        XCTAssertLessThan(a[4], a[0])
        Threads.count = 2
    }

    func testSGDAndAdamSteps() {
        final class One: Module { let w = Tensor([1, -2]).trainable() }
        let m = One()
        let g = Gradients(["w": Tensor([0.5, 0.5])])
        SGD(learningRate: 0.1).update(m, g)
        assertClose(m.w.scalars, [0.95, -2.05])
        let sgdm = SGD(learningRate: 0.1, momentum: 0.9)
        sgdm.update(m, g); sgdm.update(m, g)
        assertClose(m.w.scalars, [0.95 - 0.05 - 0.095, -2.05 - 0.05 - 0.095])
        // AdamW's first step moves each weight by lr·sign(g) after decay.
        let m2 = One()
        AdamW(learningRate: 0.1, weightDecay: 0.5).update(m2, Gradients(["w": Tensor([0.3, -0.2])]))
        assertClose(m2.w.scalars, [1 * 0.95 - 0.1, -2 * 0.95 + 0.1], tol: 1e-5)
        // Adam's coupled decay enters the gradient: g = 0.3 + 0.5·1 > 0, g = −0.2 + 0.5·(−2) < 0.
        let m3 = One()
        Adam(learningRate: 0.1, weightDecay: 0.5).update(m3, Gradients(["w": Tensor([0.3, -0.2])]))
        assertClose(m3.w.scalars, [0.9, -1.9], tol: 1e-5)
    }

    func testSparseAdamTouchesOnlyUsedRows() {
        final class Table: Module { let emb = Embedding(5, 2, sparseGradients: true, seed: 1) }
        let m = Table()
        let before = m.emb.weight.scalars
        let (_, grads) = valueAndGrad(m) { m in sum(m.emb(IndexTensor([3, 1, 3]))) }
        XCTAssertEqual(grads["emb.weight"]?.sparseRows, [1, 3])
        AdamW(learningRate: 0.1).update(m, grads)
        let after = m.emb.weight.scalars
        for row in 0..<5 {
            let changed = after[row * 2] != before[row * 2]
            XCTAssertEqual(changed, row == 1 || row == 3, "row \(row)")
        }
    }

    func testGradientClipping() {
        var g = Gradients(["a": Tensor([3, 0]), "b": Tensor([0, 4])])
        XCTAssertEqual(g.globalNorm, 5, accuracy: 1e-6)
        let before = g.clipNorm(1)
        XCTAssertEqual(before, 5, accuracy: 1e-6)
        XCTAssertEqual(g.globalNorm, 1, accuracy: 1e-4)
        XCTAssertEqual(g["a"]!.scalars[0], 0.6, accuracy: 1e-4)
    }

    func testSchedules() {
        XCTAssertEqual(LearningRateSchedule.constant(0.1).rate(at: 50), 0.1)
        let cos = LearningRateSchedule.warmupCosine(peak: 1, warmup: 10, total: 110, final: 0)
        XCTAssertEqual(cos.rate(at: 0), 0.1, accuracy: 1e-6)
        XCTAssertEqual(cos.rate(at: 9), 1, accuracy: 1e-6)
        XCTAssertEqual(cos.rate(at: 60), 0.5, accuracy: 1e-6)
        XCTAssertEqual(cos.rate(at: 110), 0, accuracy: 1e-6)
        let lin = LearningRateSchedule.warmupLinear(peak: 1, warmup: 10, total: 110, final: 0.2)
        XCTAssertEqual(lin.rate(at: 60), 0.6, accuracy: 1e-6)
        XCTAssertEqual(lin.rate(at: 500), 0.2, accuracy: 1e-6)
    }
}

final class BenchmarkTests: XCTestCase {
    func testEngineBenchmarkRunsAndReports() throws {
        var o = EngineBenchmarkOptions()
        o.batch = 2; o.length = 8; o.dim = 8; o.heads = 2; o.blocks = 1; o.items = 20; o.steps = 2; o.warmup = 1
        let r = EngineBenchmark.run(o)
        XCTAssertGreaterThan(r.stepSeconds, 0)
        XCTAssertEqual(r.flopsPerStep, EngineBenchmark.flops(o))
        XCTAssertGreaterThan(r.sgemmGFLOPS, 0)
        XCTAssertGreaterThan(r.peakResidentBytes, 0)
        XCTAssertTrue(r.firstLoss.isFinite && r.lastLoss.isFinite)
        let json = try JSONEncoder().encode(r)
        XCTAssertEqual(try JSONDecoder().decode(EngineBenchmarkReport.self, from: json).stepSeconds, r.stepSeconds)
        Threads.count = 2
    }
}
