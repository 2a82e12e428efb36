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
