import XCTest
import OsusumeCore
@testable import OsusumeTensor

final class LossTests: XCTestCase {
    func testCrossEntropy() {
        let logits = randn([5, 6], seed: 40, std: 2)
        let t = IndexTensor([0, 3, -100, 5, 2])
        checkGradients([logits]) { crossEntropy(logits, t) }
        checkGradients([logits]) { crossEntropy(logits, t, labelSmoothing: 0.1) }
        checkGradients([logits]) { crossEntropy(logits, IndexTensor([0, 3, 1, 5, 2]), ignoreIndex: 3) }
        // Value against −log softmax of the targets (ignoring the ignored row).
        let ls = logSoftmax(logits)
        let expected = -(ls[0, 0] + ls[1, 3] + ls[3, 5] + ls[4, 2]) / 4
        XCTAssertEqual(crossEntropy(logits, t).item, expected, accuracy: 1e-5)
        // Label smoothing: (1 − ε)·nll + ε·mean(−log p).
        let eps: Float = 0.1
        var smooth: Float = 0
        for (r, c) in [(0, 0), (1, 3), (3, 5), (4, 2)] {
            var uniform: Float = 0
            for j in 0..<6 { uniform -= ls[r, j] }
            smooth += (1 - eps) * -ls[r, c] + eps * uniform / 6
        }
        XCTAssertEqual(crossEntropy(logits, t, labelSmoothing: eps).item, smooth / 4, accuracy: 1e-5)
    }

    func testChunkedCrossEntropyMatchesFullLogits() {
        let h = randn([2, 5, 4], seed: 41), w = randn([9, 4], seed: 42), bias = randn([9], seed: 43)
        let t = IndexTensor([1, 8, 0, -100, 4, 4, 2, 7, 3, 6], shape: [2, 5])
        for chunk in [1, 3, 128] {
            let fused = chunkedCrossEntropy(hidden: h, weight: w, bias: bias, targets: t, labelSmoothing: 0.05, chunkRows: chunk)
            let full = crossEntropy(linear(h, weight: w, bias: bias), t, labelSmoothing: 0.05)
            XCTAssertEqual(fused.item, full.item, accuracy: 1e-5)
        }
        checkGradients([h, w, bias]) { chunkedCrossEntropy(hidden: h, weight: w, bias: bias, targets: t, chunkRows: 3) }
        checkGradients([h, w]) { chunkedCrossEntropy(hidden: h, weight: w, targets: t, labelSmoothing: 0.1, chunkRows: 4) * 3 }
    }

    /// Sampled losses against a plain Double computation from the full logits, with an accidental
    /// hit (candidate 4 is the target of two rows), a repeated candidate and an ignored row.
    func testSampledCrossEntropyMatchesReference() {
        let h = randn([2, 5, 4], seed: 51), w = randn([9, 4], seed: 52), bias = randn([9], seed: 53)
        let t = IndexTensor([1, 8, 0, -100, 4, 4, 2, 7, 3, 6], shape: [2, 5])
        let candidates: [Int32] = [4, 0, 5, 5, 2], logQ: [Float] = [0.3, -0.2, 1.1, 1.1, 0.5]
        let full = linear(h, weight: w, bias: bias)
        func softplus(_ x: Double) -> Double { x > 0 ? x + Foundation.log1p(Foundation.exp(-x)) : Foundation.log1p(Foundation.exp(x)) }
        var softmax = 0.0, gbce = 0.0, rows = 0.0
        for r in 0..<10 where t.values[r] >= 0 {
            let target = Int(t.values[r])
            let pos = Double(full.data[r * 9 + target])
            let negs = zip(candidates, logQ).filter { Int($0.0) != target }.map { (Double(full.data[r * 9 + Int($0.0)]), Double($0.1)) }
            let z = [pos] + negs.map { $0.0 - $0.1 }
            let m = z.max()!
            softmax += m + Foundation.log(z.reduce(0) { $0 + Foundation.exp($1 - m) }) - pos
            gbce += 0.25 * softplus(-pos) + negs.reduce(0) { $0 + softplus($1.0) }
            rows += 1
        }
        for chunk in [1, 3, 256] {
            let s = sampledCrossEntropy(hidden: h, weight: w, bias: bias, targets: t, candidates: candidates, logQ: logQ, chunkRows: chunk)
            XCTAssertEqual(Double(s.item), softmax / rows, accuracy: 1e-4)
            let g = sampledCrossEntropy(
                hidden: h, weight: w, bias: bias, targets: t, candidates: candidates, logQ: logQ,
                loss: .generalisedBCE(beta: 0.25), chunkRows: chunk)
            XCTAssertEqual(Double(g.item), gbce / rows, accuracy: 1e-4)
        }
        checkGradients([h, w, bias]) {
            sampledCrossEntropy(hidden: h, weight: w, bias: bias, targets: t, candidates: candidates, logQ: logQ, chunkRows: 3)
        }
        checkGradients([h, w]) { sampledCrossEntropy(hidden: h, weight: w, targets: t, candidates: candidates, chunkRows: 2) * 2 }
        checkGradients([h, w, bias]) {
            sampledCrossEntropy(
                hidden: h, weight: w, bias: bias, targets: t, candidates: candidates, loss: .generalisedBCE(beta: 0.4), chunkRows: 4)
        }
        // Groups: rows with a target 0…3 use the first set, 4…7 the second, 8 the third.
        let sets: [Int32] = [4, 0, 5, 1, 1, 8, 2, 3, 7], setsQ: [Float] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
        var grouped = 0.0
        for (l, r) in (0..<10).filter({ t.values[$0] >= 0 }).enumerated() {
            let target = Int(t.values[r]), g = l / 4
            let pos = Double(full.data[r * 9 + target])
            let z = [pos] + (0..<3).filter { Int(sets[g * 3 + $0]) != target }.map { Double(full.data[r * 9 + Int(sets[g * 3 + $0])]) - Double(setsQ[g * 3 + $0]) }
            let m = z.max()!
            grouped += m + Foundation.log(z.reduce(0) { $0 + Foundation.exp($1 - m) }) - pos
        }
        for chunk in [1, 3, 256] {
            let s = sampledCrossEntropy(hidden: h, weight: w, bias: bias, targets: t, candidates: sets, logQ: setsQ, groupRows: 4, chunkRows: chunk)
            XCTAssertEqual(Double(s.item), grouped / rows, accuracy: 1e-4)
        }
        checkGradients([h, w, bias]) {
            sampledCrossEntropy(hidden: h, weight: w, bias: bias, targets: t, candidates: sets, logQ: setsQ, groupRows: 4, chunkRows: 3)
        }
        checkGradients([h, w]) {
            sampledCrossEntropy(hidden: h, weight: w, targets: t, candidates: sets, groupRows: 4, loss: .generalisedBCE(beta: 0.3), chunkRows: 2)
        }
        // Every item a candidate, no correction: the sampled softmax is the full one.
        let all = (0..<9).map { Int32($0) }
        XCTAssertEqual(
            sampledCrossEntropy(hidden: h, weight: w, bias: bias, targets: t, candidates: all).item,
            chunkedCrossEntropy(hidden: h, weight: w, bias: bias, targets: t).item, accuracy: 1e-5)
    }

    func testBinaryCrossEntropyWithLogits() {
        let x = randn([3, 4], seed: 44, std: 3)
        let y = Tensor.randomUniform([3, 4], seed: 45)
        let w = Tensor.randomUniform([3, 4], low: 0.5, high: 2, seed: 46)
        checkGradients([x, y]) { binaryCrossEntropyWithLogits(x, y) }
        checkGradients([x]) { binaryCrossEntropyWithLogits(x, y, weights: w) }
        var expected: Float = 0
        for i in 0..<12 {
            let p = 1 / (1 + Foundation.exp(-x.data[i]))
            expected -= y.data[i] * Foundation.log(p) + (1 - y.data[i]) * Foundation.log(1 - p)
        }
        XCTAssertEqual(binaryCrossEntropyWithLogits(x, y).item, expected / 12, accuracy: 1e-4)
        XCTAssertEqual(binaryCrossEntropyWithLogits(Tensor([200]), Tensor([0])).item, 200, accuracy: 1e-3)
    }

    func testMultinomialNLL() {
        let x = randn([3, 5], seed: 47), counts = Tensor(shape: [3, 5], scalars: [1, 0, 0, 2, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 3])
        checkGradients([x]) { multinomialNLL(x, counts) }
        let reference = -sum(logSoftmax(x) * counts).item / 3
        XCTAssertEqual(multinomialNLL(x, counts).item, reference, accuracy: 1e-5)
    }

    func testMultinomialNLLWithSparseTargetsEqualsDense() {
        let x = randn([4, 5], seed: 147)
        var t = SparseRows(columnCount: 5)
        t.appendRow(columns: [0, 3], values: [1, 2])
        t.appendRow(columns: [1, 2], values: [1, 1])
        t.appendRow(columns: [], values: [])
        t.appendRow(columns: [4], values: [3])
        let dense = t.dense()
        XCTAssertEqual(multinomialNLL(x, t).item, multinomialNLL(x, dense).item, accuracy: 1e-5)
        checkGradients([x]) { multinomialNLL(x, t) }
        let (_, gs) = valueAndGrad(wrt: [x]) { multinomialNLL(x, t) * 3 }
        let (_, gd) = valueAndGrad(wrt: [x]) { multinomialNLL(x, dense) * 3 }
        assertClose(gs[0]!.scalars, gd[0]!.scalars)
        // A large batch runs in parallel chunks and still agrees.
        let big = randn([300, 200], seed: 148)
        var bt = SparseRows(columnCount: 200)
        var rng = SeededRandom(seed: 3)
        for _ in 0..<300 { let c = (0..<5).map { _ in Int32(rng.nextInt(200)) }; bt.appendRow(columns: c, values: [1, 1, 1, 1, 1]) }
        XCTAssertEqual(multinomialNLL(big, bt).item, multinomialNLL(big, bt.dense()).item, accuracy: 1e-3)
        let (_, bs) = valueAndGrad(wrt: [big]) { multinomialNLL(big, bt) }
        let (_, bd) = valueAndGrad(wrt: [big]) { multinomialNLL(big, bt.dense()) }
        assertClose(bs[0]!.scalars, bd[0]!.scalars, tol: 1e-4)
    }

    func testHuberAndMSE() {
        let p = randn([10], seed: 48, std: 2), t = randn([10], seed: 49)
        checkGradients([p, t]) { huberLoss(p, t, delta: 0.7) }
        checkGradients([p, t]) { mseLoss(p, t) }
        XCTAssertEqual(huberLoss(Tensor([3]), Tensor([0]), delta: 1).item, 2.5, accuracy: 1e-6)
        XCTAssertEqual(huberLoss(Tensor([0.5]), Tensor([0]), delta: 1).item, 0.125, accuracy: 1e-6)
    }

    func testGaussianKL() {
        let mu = randn([3, 4], seed: 50), lv = randn([3, 4], seed: 51, std: 0.5)
        checkGradients([mu, lv]) { gaussianKL(mean: mu, logVariance: lv) }
        XCTAssertEqual(gaussianKL(mean: Tensor.zeros([2, 3]), logVariance: Tensor.zeros([2, 3])).item, 0, accuracy: 1e-7)
        let composed = (-0.5 * sum(1 + lv - square(mu) - exp(lv))).item / 3
        XCTAssertEqual(gaussianKL(mean: mu, logVariance: lv).item, composed, accuracy: 1e-5)
    }
}
