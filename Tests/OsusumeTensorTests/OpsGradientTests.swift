import XCTest
import OsusumeCore
@testable import OsusumeTensor

/// A finite-difference check for every op.
final class OpsGradientTests: XCTestCase {
    func testBinaryOpsWithBroadcasting() {
        let shapes: [([Int], [Int])] = [
            ([3, 4], [3, 4]), ([3, 4], [4]), ([4], [3, 4]), ([2, 3, 4], [3, 1]),
            ([2, 1, 4], [3, 1]), ([3, 4], [1]), ([1], [2, 3]),
        ]
        for (k, (sa, sb)) in shapes.enumerated() {
            let a = randn(sa, seed: UInt64(k)), b = randn(sb, seed: UInt64(100 + k))
            checkGradients([a, b]) { a + b }
            checkGradients([a, b]) { a - b }
            checkGradients([a, b]) { a * b }
            let bp = abs(b) + 0.5
            checkGradients([a, bp]) { a / bp }
        }
    }

    func testBroadcastValues() {
        let a = Tensor(shape: [2, 1, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [2, 1], scalars: [10, 20])
        XCTAssertEqual((a + b).shape, [2, 2, 3])
        XCTAssertEqual((a + b).scalars, [11, 12, 13, 21, 22, 23, 14, 15, 16, 24, 25, 26])
        XCTAssertEqual(broadcast(b, to: [2, 2]).scalars, [10, 10, 20, 20])
        let x = randn([2, 3], seed: 1)
        checkGradients([x]) { broadcast(x.reshaped([2, 1, 3]), to: [2, 4, 3]) }
    }

    func testScalarArithmetic() {
        let x = randn([5], seed: 2)
        checkGradients([x]) { 2 * x + 1 }
        checkGradients([x]) { x - 3 }
        checkGradients([x]) { 3 - x }
        checkGradients([x]) { x / 4 }
        checkGradients([x]) { -x }
        let p = abs(x) + 0.5
        checkGradients([p]) { 2 / p }
    }

    func testUnaryOps() {
        let x = randn([4, 5], seed: 3)
        checkGradients([x]) { exp(x) }
        checkGradients([x]) { tanh(x) }
        checkGradients([x]) { sigmoid(x) }
        checkGradients([x]) { gelu(x) }
        checkGradients([x]) { swish(x) }
        checkGradients([x]) { softplus(x) }
        checkGradients([x]) { square(x) }
        let away = x + Tensor(x.scalars.map { $0 >= 0 ? 0.1 : -0.1 }).reshaped([4, 5])
        checkGradients([away]) { relu(away) }
        checkGradients([away]) { abs(away) }
        checkGradients([away]) { clamp(away, min: -0.05, max: 0.05) + clamp(away, min: -10, max: 10) }
        let pos = abs(x) + 0.5
        checkGradients([pos]) { log(pos) }
        checkGradients([pos]) { sqrt(pos) }
    }

    func testUnaryValuesMatchFoundation() {
        let xs: [Float] = (0..<101).map { Float($0 - 50) * 0.37 }
        let x = Tensor(xs)
        assertClose(exp(x).scalars, xs.map { Foundation.exp($0) }, tol: 1e-6)
        assertClose(tanh(x).scalars, xs.map { Foundation.tanh($0) }, tol: 1e-6)
        assertClose(sigmoid(x).scalars, xs.map { 1 / (1 + Foundation.exp(-$0)) }, tol: 1e-6)
        assertClose(gelu(x).scalars, xs.map { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot().float)) }, tol: 1e-5)
        assertClose(softplus(x).scalars, xs.map { Foundation.log1p(Foundation.exp($0)) }, tol: 1e-5)
        let pos = Tensor(xs.map { Swift.abs($0) + 1e-3 })
        assertClose(log(pos).scalars, pos.scalars.map { Foundation.log($0) }, tol: 1e-6)
    }

    func testReductions() {
        let x = randn([2, 3, 4], seed: 4)
        checkGradients([x]) { sum(x) }
        checkGradients([x]) { mean(x) }
        checkGradients([x]) { sum(x, axis: 1) }
        checkGradients([x]) { sum(x, axes: [0, 2], keepDims: true) }
        checkGradients([x]) { mean(x, axis: -1) }
        checkGradients([x]) { max(x, axis: 1) }
        checkGradients([x]) { max(x, axis: 2, keepDims: true) }
        XCTAssertEqual(sum(x, axes: [0, 2]).shape, [3])
        let v = Tensor(shape: [2, 3], scalars: [1, 5, 2, 7, 0, 3])
        XCTAssertEqual(max(v, axis: 1).scalars, [5, 7])
        XCTAssertEqual(sum(v, axis: 0).scalars, [8, 5, 5])
        XCTAssertEqual(mean(v).item, 3, accuracy: 1e-6)
    }

    func testMatmul() {
        let a = randn([3, 4], seed: 5), b = randn([4, 5], seed: 6)
        checkGradients([a, b]) { matmul(a, b) }
        let bt = randn([5, 4], seed: 7)
        checkGradients([a, bt]) { matmul(a, bt, transposeB: true) }
        let at = randn([4, 3], seed: 8)
        checkGradients([at, b]) { matmul(at, b, transposeA: true) }
        checkGradients([at, bt]) { matmul(at, bt, transposeA: true, transposeB: true) }
        let a3 = randn([2, 3, 4], seed: 9)
        checkGradients([a3, b]) { matmul(a3, b) }
        let b3 = randn([2, 4, 5], seed: 10), b3t = randn([2, 5, 4], seed: 11)
        checkGradients([a3, b3]) { matmul(a3, b3) }
        checkGradients([a3, b3t]) { matmul(a3, b3t, transposeB: true) }
        // Values against a naive product.
        let c = matmul(a, b)
        for i in 0..<3 {
            for j in 0..<5 {
                var s: Float = 0
                for k in 0..<4 { s += a[i, k] * b[k, j] }
                XCTAssertEqual(c[i, j], s, accuracy: 1e-5)
            }
        }
    }

    func testLargeMatmulSplitsAgreeWithSerial() {
        // Shapes that take the row, column and k-split paths of the threaded product.
        for (m, n, k) in [(300, 40, 50), (20, 400, 60), (16, 16, 9000)] {
            let a = randn([m, k], seed: 12), b = randn([k, n], seed: 13)
            Threads.count = 2
            let par = matmul(a, b).scalars
            Threads.count = 1
            let ser = matmul(a, b).scalars
            Threads.count = 2
            assertClose(par, ser, tol: 1e-4)
        }
    }

    func testLinear() {
        let x = randn([2, 3, 4], seed: 14), w = randn([5, 4], seed: 15), b = randn([5], seed: 16)
        checkGradients([x, w, b]) { linear(x, weight: w, bias: b) }
        checkGradients([x, w]) { linear(x, weight: w) }
        assertClose(linear(x, weight: w, bias: b).scalars, (matmul(x, w, transposeB: true) + b).scalars)
    }

    func testSparseLinearMatchesDenseAndHasGradients() {
        // Rows of different lengths, an empty row, a repeated column and columns never used.
        var x = SparseRows(columnCount: 7)
        x.appendRow(columns: [0, 3, 6], values: [0.5, -1.25, 2])
        x.appendRow(columns: [], values: [])
        x.appendRow(columns: [3, 3, 1], values: [1, 0.5, -0.75])
        x.appendRow(columns: [5], values: [1.5])
        XCTAssertEqual(x.rowCount, 4)
        XCTAssertEqual(x.nonZeroCount, 7)
        let dense = x.dense()
        XCTAssertEqual(dense[2, 3], 1.5)
        XCTAssertEqual(dense[1, 4], 0)
        let w = randn([5, 7], seed: 40), b = randn([5], seed: 41)
        assertClose(sparseLinear(x, weight: w, bias: b).scalars, linear(dense, weight: w, bias: b).scalars)
        assertClose(sparseLinear(x, weight: w).scalars, linear(dense, weight: w).scalars)
        checkGradients([w, b]) { sparseLinear(x, weight: w, bias: b) }
        // The gradients equal the dense layer's, element for element.
        let (_, gs) = valueAndGrad(wrt: [w, b]) { sum(sparseLinear(x, weight: w, bias: b) * randn([4, 5], seed: 42)) }
        let (_, gd) = valueAndGrad(wrt: [w, b]) { sum(linear(dense, weight: w, bias: b) * randn([4, 5], seed: 42)) }
        assertClose(gs[0]!.scalars, gd[0]!.scalars)
        assertClose(gs[1]!.scalars, gd[1]!.scalars)
    }

    func testSparseLinearLargeBatchAgreesWithDenseAcrossThreads() {
        // Large enough to run in parallel chunks (forward rows, backward columns, tiled transposes).
        var rng = SeededRandom(seed: 5)
        var x = SparseRows(columnCount: 300)
        for _ in 0..<200 {
            let cols = (0..<(1 + rng.nextInt(30))).map { _ in Int32(rng.nextInt(300)) }
            x.appendRow(columns: cols, values: cols.map { _ in rng.nextGaussian() })
        }
        let w = randn([70, 300], seed: 43), b = randn([70], seed: 44), weights = randn([200, 70], seed: 45)
        let dense = x.dense()
        assertClose(sparseLinear(x, weight: w, bias: b).scalars, linear(dense, weight: w, bias: b).scalars, tol: 1e-4)
        let (_, gs) = valueAndGrad(wrt: [w, b]) { sum(sparseLinear(x, weight: w, bias: b) * weights) }
        let (_, gd) = valueAndGrad(wrt: [w, b]) { sum(linear(dense, weight: w, bias: b) * weights) }
        assertClose(gs[0]!.scalars, gd[0]!.scalars, tol: 1e-4)
        assertClose(gs[1]!.scalars, gd[1]!.scalars, tol: 1e-4)
    }

    func testSparseMatmulAgreesWithDenseAndItsTranspose() {
        var rng = SeededRandom(seed: 6)
        var a = SparseRows(columnCount: 40)
        for r in 0..<90 {
            let cols = r % 7 == 0 ? [] : (0..<(1 + rng.nextInt(12))).map { _ in Int32(rng.nextInt(40)) }
            a.appendRow(columns: cols, values: cols.map { _ in rng.nextGaussian() })
        }
        let x = randn([40, 70], seed: 46), weights = randn([90, 70], seed: 47)
        let dense = a.dense()
        assertClose(sparseMatmul(a, x).scalars, matmul(dense, x).scalars, tol: 1e-4)
        XCTAssertEqual(a.transposed().dense().scalars, transpose(dense).scalars)
        let (_, gs) = valueAndGrad(wrt: [x]) { sum(sparseMatmul(a, x) * weights) }
        let (_, gt) = valueAndGrad(wrt: [x]) { sum(sparseMatmul(a, x, transposed: a.transposed()) * weights) }
        let (_, gd) = valueAndGrad(wrt: [x]) { sum(matmul(dense, x) * weights) }
        assertClose(gs[0]!.scalars, gd[0]!.scalars, tol: 1e-4)
        XCTAssertEqual(gs[0]!.scalars, gt[0]!.scalars)
        let small = randn([40, 3], seed: 48)
        checkGradients([small]) { sparseMatmul(a, small) }
    }

    func testSparseDropoutKeepsAboutOneMinusPAndScales() {
        var x = SparseRows(columnCount: 50)
        for r in 0..<100 { x.appendRow(columns: (0..<50).map { Int32($0) }, values: [Float](repeating: Float(r % 3 + 1), count: 50)) }
        let d = x.dropout(probability: 0.4, seed: 9)
        XCTAssertEqual(d.rowCount, 100)
        let kept = Double(d.nonZeroCount) / Double(x.nonZeroCount)
        XCTAssertEqual(kept, 0.6, accuracy: 0.03)
        // Every kept entry is its original value / (1 - p); expectation is preserved.
        for r in 0..<100 {
            for p in d.offsets[r]..<d.offsets[r + 1] { XCTAssertEqual(d.values[p], Float(r % 3 + 1) / 0.6, accuracy: 1e-5) }
        }
        XCTAssertEqual(x.dropout(probability: 0, seed: 9).nonZeroCount, x.nonZeroCount)
    }

    func testShapeOps() {
        let x = randn([2, 3, 4], seed: 17)
        checkGradients([x]) { x.reshaped([6, -1]) }
        checkGradients([x]) { transpose(x) }
        checkGradients([x]) { permute(x, [2, 0, 1]) }
        XCTAssertEqual(permute(x, [2, 0, 1]).shape, [4, 2, 3])
        XCTAssertEqual(permute(x, [2, 0, 1])[3, 1, 2], x[1, 2, 3])
        let y = randn([2, 2, 4], seed: 18)
        checkGradients([x, y]) { concat([x, y], axis: 1) }
        checkGradients([x]) {
            let p = split(x, sizes: [1, 3], axis: 2); return p[0] * 2 + sum(p[1], axis: 2, keepDims: true)
        }
        checkGradients([x]) {
            let p = split(x, sizes: [1, 1], axis: 0); return p[0] * p[1]
        }
        let pieces = split(x, sizes: [2, 1], axis: 1)
        XCTAssertEqual(concat(pieces, axis: 1).scalars, x.scalars)
    }

    func testMaskedFill() {
        let x = randn([3, 4], seed: 19)
        let mask = Tensor(shape: [1, 4], scalars: [0, 1, 0, 1])
        checkGradients([x]) { maskedFill(x, mask: mask, value: -5) }
        let y = maskedFill(x, mask: mask, value: -5)
        XCTAssertEqual(y[2, 1], -5)
        XCTAssertEqual(y[2, 0], x[2, 0])
    }

    func testEmbedding() {
        let table = randn([6, 3], seed: 20)
        let idx = IndexTensor([1, 4, 1, 0, 5, 4], shape: [2, 3])
        checkGradients([table]) { embedding(table, idx) }
        XCTAssertEqual(embedding(table, idx).shape, [2, 3, 3])
        // The row-sparse gradient equals the dense one on its rows and lists only used rows.
        let (_, dense) = valueAndGrad(wrt: [table]) { sum(embedding(table, idx) * 3) }
        let (_, sparse) = valueAndGrad(wrt: [table]) { sum(embedding(table, idx, sparseGradient: true) * 3) }
        XCTAssertEqual(sparse[0]!.sparseRows, [0, 1, 4, 5])
        XCTAssertEqual(densify(sparse[0]!).scalars, dense[0]!.scalars)
        checkGradients([table]) { embedding(table, idx, sparseGradient: true) }
    }

    func testSoftmaxFamily() {
        let x = randn([3, 7], seed: 21, std: 2)
        checkGradients([x]) { softmax(x) }
        checkGradients([x]) { logSoftmax(x) }
        let s = softmax(Tensor(shape: [1, 3], scalars: [1000, 1001, 1002])).scalars
        XCTAssertEqual(s.reduce(0, +), 1, accuracy: 1e-6)
        XCTAssertFalse(s.contains { $0.isNaN })
        let ls = logSoftmax(Tensor(shape: [1, 2], scalars: [-1000, 0])).scalars
        XCTAssertEqual(ls[1], 0, accuracy: 1e-6)
        XCTAssertEqual(ls[0], -1000, accuracy: 1e-2)
    }

    func testLayerNorm() {
        let x = randn([2, 3, 6], seed: 22), w = randn([6], seed: 23), b = randn([6], seed: 24)
        checkGradients([x, w, b]) { layerNorm(x, weight: w, bias: b) }
        checkGradients([x]) { layerNorm(x, weight: nil, bias: nil) }
        // Only the affine parameters (no input gradient), and an input gradient that adds to another.
        checkGradients([w, b]) { layerNorm(x, weight: w, bias: b) }
        checkGradients([x, w]) { layerNorm(x, weight: w, bias: nil) * x }
        let y = layerNorm(x, weight: nil, bias: nil).scalars
        let row = Array(y[0..<6])
        XCTAssertEqual(row.reduce(0, +) / 6, 0, accuracy: 1e-5)
        XCTAssertEqual(row.map { $0 * $0 }.reduce(0, +) / 6, 1, accuracy: 1e-3)
    }

    func testDropout() {
        let x = randn([50, 40], seed: 25)
        checkGradients([x]) { dropout(x, probability: 0.3, seed: 7) }
        let y = dropout(Tensor.ones([100_000]), probability: 0.25, seed: 3).scalars
        let kept = Float(y.filter { $0 != 0 }.count) / Float(y.count)
        XCTAssertEqual(kept, 0.75, accuracy: 0.01)
        XCTAssertEqual(y.first { $0 != 0 }!, 1 / 0.75, accuracy: 1e-6)
        // The mask depends on the seed only, not on the thread count.
        Threads.count = 1
        let one = dropout(x, probability: 0.5, seed: 11).scalars
        Threads.count = 2
        XCTAssertEqual(one, dropout(x, probability: 0.5, seed: 11).scalars)
    }

    func testFusedDropoutVariants() {
        let x = randn([50, 40], seed: 44), r = randn([50, 40], seed: 45)
        checkGradients([x, r]) { dropoutAdd(x, probability: 0.3, seed: 7, residual: r) }
        checkGradients([x]) { reluDropout(x, probability: 0.3, seed: 7) }
        // The same masks as the unfused compositions with the same seed.
        XCTAssertEqual(
            dropoutAdd(x, probability: 0.3, seed: 8, residual: r).scalars,
            (r + dropout(x, probability: 0.3, seed: 8)).scalars)
        XCTAssertEqual(
            reluDropout(x, probability: 0.3, seed: 9).scalars,
            dropout(relu(x), probability: 0.3, seed: 9).scalars)
        // Another seed, another mask; about 1 − p kept.
        XCTAssertNotEqual(dropout(x, probability: 0.3, seed: 8).scalars, dropout(x, probability: 0.3, seed: 10).scalars)
        let kept = dropout(Tensor.ones([200_000]), probability: 0.1, seed: 12).scalars.filter { $0 != 0 }.count
        XCTAssertEqual(Double(kept) / 200_000, 0.9, accuracy: 0.003)
    }

    func testGradientProductsAccumulateIntoExistingGradients() {
        let x = randn([6, 5], seed: 46), w1 = randn([5, 5], seed: 47), w2 = randn([5, 5], seed: 48)
        // Two products into x: the second adds into the first's (owned) gradient in place.
        checkGradients([x, w1, w2]) { linear(x, weight: w1) + linear(x, weight: w2) }
        // A shared (unowned) gradient arrives first: it must be copied, not overwritten.
        checkGradients([x, w1]) { x + linear(x, weight: w1) }
        checkGradients([x, w1, w2]) {
            let y = split(stackedLinear(x, weights: [w1, w2], biases: [nil, nil]), sizes: [5, 5], axis: 1)
            return x + y[0] * y[1]
        }
    }

    func testKeyValueAttention() {
        let b = 2, l = 5, d = 8
        let q = randn([b, l, d], seed: 49), kv = randn([b, 3, 2 * d], seed: 50), kvSelf = randn([b, l, 2 * d], seed: 51)
        checkGradients([q, kv]) { keyValueAttention(query: q, kv: kv, heads: 2) }
        let pad = [false, true, true, true, true, true, true, false, true, true]
        checkGradients([q, kvSelf]) { keyValueAttention(query: q, kv: kvSelf, heads: 4, causal: true, keyPadding: pad) }
        let parts = split(kvSelf, sizes: [d, d], axis: 2)
        assertClose(
            keyValueAttention(query: q, kv: kvSelf, heads: 2, causal: true).scalars,
            scaledDotProductAttention(query: q, key: parts[0], value: parts[1], heads: 2, causal: true).scalars)
    }

    func testAttentionGradients() {
        let b = 2, l = 5, d = 8
        let q = randn([b, l, d], seed: 26), k = randn([b, l, d], seed: 27), v = randn([b, l, d], seed: 28)
        checkGradients([q, k, v]) { scaledDotProductAttention(query: q, key: k, value: v, heads: 2) }
        checkGradients([q, k, v]) { scaledDotProductAttention(query: q, key: k, value: v, heads: 2, causal: true) }
        let pad = [false, true, true, true, true, true, true, false, true, true]
        checkGradients([q, k, v]) { scaledDotProductAttention(query: q, key: k, value: v, heads: 4, causal: true, keyPadding: pad) }
        let kc = randn([b, 3, d], seed: 29), vc = randn([b, 3, d], seed: 30)
        checkGradients([q, kc, vc]) { scaledDotProductAttention(query: q, key: kc, value: vc, heads: 2) }
    }

    func testPackedSelfAttentionAndStackedLinear() {
        let b = 2, l = 5, d = 8
        let x = randn([b, l, d], seed: 36)
        let ws = (0..<3).map { randn([d, d], seed: UInt64(37 + $0), std: 0.5) }
        let bs = (0..<3).map { randn([d], seed: UInt64(40 + $0)) }
        checkGradients([x] + ws + bs) { stackedLinear(x, weights: ws, biases: bs) }
        let qkv = randn([b, l, 3 * d], seed: 43)
        checkGradients([qkv]) { packedSelfAttention(qkv, heads: 2, causal: true) }
        let pad = [true, true, false, true, true, false, true, true, true, true]
        checkGradients([qkv]) { packedSelfAttention(qkv, heads: 4, keyPadding: pad) }
        let parts = split(qkv, sizes: [d, d, d], axis: 2)
        assertClose(
            packedSelfAttention(qkv, heads: 2, causal: true).scalars,
            scaledDotProductAttention(query: parts[0], key: parts[1], value: parts[2], heads: 2, causal: true).scalars)
        let packed = stackedLinear(x, weights: ws, biases: bs)
        assertClose(packed.scalars, concat(zip(ws, bs).map { linear(x, weight: $0, bias: $1) }, axis: 2).scalars)
    }

    func testPointwiseAttentionGradients() {
        let b = 2, l = 5, d = 8
        let qkv = randn([b, l, 3 * d], seed: 44, std: 0.7)
        // Fewer distances than the window: the last bias is shared by the far keys.
        let bias = randn([3], seed: 45, std: 0.5)
        checkGradients([qkv, bias]) { pointwiseSelfAttention(qkv, relativeBias: bias, heads: 2, scale: 0.2) }
        let pad = [true, true, false, true, true, false, true, true, true, true]
        let longBias = randn([l], seed: 46, std: 0.5)
        checkGradients([qkv, longBias]) {
            pointwiseSelfAttention(qkv, relativeBias: longBias, heads: 4, scale: 0.2, keyPadding: pad)
        }
    }

    /// Against silu(Q Kᵀ + bias) / n, masked, times V, written out from plain ops; long enough
    /// (l > 64) to use causal row blocks.
    func testPointwiseAttentionMatchesComposedOps() {
        let b = 2, l = 70, d = 8, heads = 2, dh = 4, distances = 50
        let qkv = randn([b, l, 3 * d], seed: 47, std: 0.5)
        let bias = randn([distances], seed: 48, std: 0.5)
        var pad = [Bool](repeating: true, count: b * l)
        for j in [0, 3, l + 10] { pad[j] = false }
        let fused = pointwiseSelfAttention(qkv, relativeBias: bias, heads: heads, scale: 1 / Float(l), keyPadding: pad)
        let parts = split(qkv, sizes: [d, d, d], axis: 2)
        func heads4(_ t: Tensor) -> Tensor { permute(t.reshaped([b, l, heads, dh]), [0, 2, 1, 3]) }
        var biasMatrix = [Float](repeating: 0, count: l * l)
        for i in 0..<l { for j in 0...i { biasMatrix[i * l + j] = bias.data[Swift.min(i - j, distances - 1)] } }
        var visible = [Float](repeating: 0, count: b * l * l)
        for bi in 0..<b { for i in 0..<l { for j in 0...i where pad[bi * l + j] { visible[(bi * l + i) * l + j] = 1 } } }
        let scores = matmul(heads4(parts[0]), heads4(parts[1]), transposeB: true) + Tensor(shape: [l, l], scalars: biasMatrix)
        let weights = swish(scores) * Tensor(shape: [b, 1, l, l], scalars: visible) * (1 / Float(l))
        let composed = permute(matmul(weights, heads4(parts[2])), [0, 2, 1, 3]).reshaped([b, l, d])
        assertClose(fused.scalars, composed.scalars, tol: 1e-4)
    }

    func testAttentionMatchesComposedOps() {
        // Long enough (l > 64) to use causal row blocks.
        let b = 2, l = 70, d = 8, heads = 2, dh = 4
        let q = randn([b, l, d], seed: 31), k = randn([b, l, d], seed: 32), v = randn([b, l, d], seed: 33)
        let fused = scaledDotProductAttention(query: q, key: k, value: v, heads: heads, causal: true)
        func heads4(_ t: Tensor) -> Tensor { permute(t.reshaped([b, l, heads, dh]), [0, 2, 1, 3]) }
        var upper = [Float](repeating: 0, count: l * l)
        for i in 0..<l { for j in (i + 1)..<Swift.max(i + 1, l) { upper[i * l + j] = 1 } }
        let scores = matmul(heads4(q), heads4(k), transposeB: true) * (1 / Float(dh).squareRoot())
        let p = softmax(maskedFill(scores, mask: Tensor(shape: [l, l], scalars: upper), value: -Float.infinity))
        let composed = permute(matmul(p, heads4(v)), [0, 2, 1, 3]).reshaped([b, l, d])
        assertClose(fused.scalars, composed.scalars, tol: 1e-4)
    }

    func testNoTapeOutsideValueAndGrad() {
        let w = randn([3, 3], seed: 34).trainable()
        let x = randn([2, 3], seed: 35)
        _ = relu(matmul(x, w))
        XCTAssertTrue(Tape.entries.isEmpty)
        let (_, grads) = valueAndGrad(wrt: [w]) {
            let frozen = withoutGradients { matmul(x, w) }
            XCTAssertFalse(frozen.requiresGrad)
            return sum(matmul(x, w))
        }
        XCTAssertNotNil(grads[0])
        XCTAssertTrue(Tape.entries.isEmpty)
    }
}

extension Double { var float: Float { Float(self) } }
