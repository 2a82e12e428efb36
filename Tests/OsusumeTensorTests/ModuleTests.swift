import XCTest
import OsusumeCore
@testable import OsusumeTensor

/// Gradient checks through every module, with respect to its input and all of its parameters.
final class ModuleTests: XCTestCase {
    func check(
        _ module: Module, _ inputs: [Tensor] = [], file: StaticString = #filePath, line: UInt = #line,
        _ f: () -> Tensor
    ) {
        checkGradients(inputs + module.trainableParameters().map { $0.1 }, samples: 8, file: file, line: line, f)
    }

    func testLinear() {
        let layer = Linear(4, 3, seed: 1)
        let x = randn([2, 4], seed: 2)
        check(layer, [x]) { layer(x) }
        XCTAssertEqual(layer.namedParameters().map { $0.0 }, ["weight", "bias"])
    }

    func testFrozenModulePassesGradientsThroughButGetsNone() {
        let first = Linear(4, 3, seed: 1), second = Linear(3, 2, seed: 2)
        let x = randn([5, 4], seed: 3)
        second.freeze()
        XCTAssertEqual(second.trainableParameters().count, 0)
        let (_, frozen) = valueAndGrad(wrt: first.trainableParameters().map(\.1) + second.namedParameters().map(\.1)) {
            sum(second(tanh(first(x))))
        }
        XCTAssertNotNil(frozen[0], "the layer below a frozen one still learns")
        second.freeze(false)
        XCTAssertEqual(second.trainableParameters().count, 2)
        // valueAndGrad over the model's trainable parameters leaves the frozen part out.
        final class Pair: Module { let a: Linear, b: Linear; init(_ a: Linear, _ b: Linear) { self.a = a; self.b = b } }
        let model = Pair(first, second)
        model.b.freeze()
        let (_, grads) = valueAndGrad(model) { m in sum(m.b(tanh(m.a(x)))) }
        XCTAssertEqual(grads.names, ["a.bias", "a.weight"])
        model.b.freeze(false)
        let (_, all) = valueAndGrad(model) { m in sum(m.b(tanh(m.a(x)))) }
        XCTAssertEqual(all.names, ["a.bias", "a.weight", "b.bias", "b.weight"])
    }

    func testEmbedding() {
        let emb = Embedding(7, 3, seed: 3)
        let idx = IndexTensor([1, 6, 1, 2])
        check(emb) { emb(idx) }
        let sparse = Embedding(7, 3, sparseGradients: true, seed: 3)
        check(sparse) { sparse(idx) }
    }

    func testLayerNormAndDropout() {
        let ln = LayerNorm(5)
        let x = randn([3, 5], seed: 4)
        ln.weight.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = 1 + 0.1 * Float(i) } }
        check(ln, [x]) { ln(x) }
        let drop = Dropout(0.5)
        Engine.seed(5)
        let y = drop(x)
        XCTAssertNotEqual(y.scalars, x.scalars)
        drop.eval()
        XCTAssertEqual(drop(x).scalars, x.scalars)
    }

    func testMultiHeadAttention() {
        let mha = MultiHeadAttention(dim: 8, heads: 2)
        let x = randn([2, 4, 8], seed: 6)
        check(mha, [x]) { mha(x, causal: true) }
        let mem = randn([2, 3, 8], seed: 7)
        check(mha, [x, mem]) { mha(x, keys: mem, keyPadding: [true, true, false, true, false, true]) }
        XCTAssertEqual(mha.namedParameters().map { $0.0 }.prefix(3), ["query.weight", "query.bias", "key.weight"])
    }

    func testFeedForward() {
        for act in [Activation.relu, .gelu, .swish, .tanh, .sigmoid] {
            let ff = FeedForward(dim: 4, hidden: 6, activation: act)
            let x = randn([3, 4], seed: 8)
            check(ff, [x]) { ff(x) }
        }
        // Training with dropout: the fused relu + dropout draws the seed the unfused layers would.
        let ff = FeedForward(dim: 4, hidden: 6, activation: .relu, dropout: 0.4)
        let x = randn([3, 4], seed: 8)
        Engine.seed(21)
        let fused = ff(x).scalars
        Engine.seed(21)
        let composed = ff.linear2(dropout(relu(ff.linear1(x)), probability: 0.4, seed: Engine.nextSeed()))
        XCTAssertEqual(fused, composed.scalars)
        check(ff, [x]) {
            Engine.seed(22); return ff(x)
        }
    }

    func testTransformerBlocks() {
        for normFirst in [true, false] {
            let block = TransformerBlock(dim: 8, heads: 2, hidden: 12, dropout: 0, normFirst: normFirst)
            let x = randn([2, 5, 8], seed: 9)
            check(block, [x]) { block(x, causal: true) }
        }
        // The original SASRec layout: normalised queries over raw keys and values.
        let sasrec = TransformerBlock(dim: 8, heads: 2, hidden: 12, dropout: 0, queryNorm: true)
        let x = randn([2, 5, 8], seed: 10)
        check(sasrec, [x]) { sasrec(x, causal: true, keyPadding: [false, true, true, true, true, true, true, true, true, true]) }
        // Against the unpacked composition (separate projections, unfused attention).
        let q = sasrec.norm1(x), att = sasrec.attention
        let a = att.output(scaledDotProductAttention(query: att.query(q), key: att.key(x), value: att.value(x), heads: 2, causal: true))
        let n = sasrec.norm2(q + a)
        assertClose(sasrec(x, causal: true).scalars, (n + sasrec.feedForward(n)).scalars)
        assertClose(att(q, keys: x, values: x, causal: true).scalars, a.scalars)
        let block = TransformerBlock(dim: 8, heads: 2, hidden: 12)
        let names = block.namedParameters().map { $0.0 }
        XCTAssertTrue(names.contains("attention.output.weight"))
        XCTAssertTrue(names.contains("feedForward.linear2.bias"))
        XCTAssertTrue(names.contains("norm2.weight"))
        XCTAssertEqual(block.parameterCount, 4 * (64 + 8) + (8 * 12 + 12) + (12 * 8 + 8) + 4 * 8)
    }

    func testGatedResidualBlockWithSwiGLU() {
        let ligr = TransformerBlock(
            dim: 8, heads: 2, hidden: 12, dropout: 0, activation: .swish, gatedResidual: true, gatedLinearUnit: true)
        let x = randn([2, 5, 8], seed: 11)
        check(ligr, [x]) { ligr(x, causal: true) }
        // Against the composition written out: gates of the un-normalised inputs, SwiGLU without biases.
        let ff = ligr.feedForward
        XCTAssertNil(ff.linear1.bias)
        let h = x + sigmoid(ligr.attentionGate!(x)) * ligr.attention(ligr.norm1(x), causal: true)
        let n = ligr.norm2(h)
        let swiglu = ff.linear2(swish(ff.linear1(n)) * ff.up!(n))
        assertClose(ligr(x, causal: true).scalars, (h + sigmoid(ligr.feedForwardGate!(h)) * swiglu).scalars)
        // Gates (2 × (64 + 8)) and the third projection (8 × 12) on top of the attention's 4 × (64 + 8),
        // the two feed-forward matrices without biases and the two norms.
        XCTAssertEqual(ligr.parameterCount, 4 * (64 + 8) + 3 * (8 * 12) + 2 * (64 + 8) + 4 * 8)
        // Plain blocks keep their parameter names (files written before gates existed still load).
        XCTAssertFalse(TransformerBlock(dim: 8, heads: 2, hidden: 12).namedParameters().contains { $0.0.contains("Gate") })
    }

    func testHSTUBlock() {
        let block = HSTUBlock(dim: 8, heads: 2, maxLength: 5, dropout: 0)
        let x = randn([2, 5, 8], seed: 12)
        // The bias starts at zero; move it so that its gradient is checked away from the start.
        for t in 0..<5 { block.relativeBias.data[t] = Float(t) * 0.1 - 0.2 }
        check(block, [x]) { block(x, causal: true, keyPadding: [false, true, true, true, true, true, true, true, true, true]) }
        // Against the composition written out: silu projections of the parameter-free norm, the
        // gate on the normalised attention output, the projection added to the input.
        let n = layerNorm(x, weight: nil, bias: nil, eps: 1e-6)
        let qkv = concat([swish(block.query(n)), swish(block.key(n)), swish(block.value(n))], axis: 2)
        let a = pointwiseSelfAttention(qkv, relativeBias: block.relativeBias, heads: 2, scale: 1 / 5)
        let y = x + block.output(swish(block.gate(n)) * layerNorm(a, weight: nil, bias: nil, eps: 1e-6))
        assertClose(block(x, causal: true).scalars, y.scalars)
        XCTAssertEqual(block.parameterCount, 5 * (64 + 8) + 5)
        // Blocks kept as `SequenceBlock`s are still found as sub-modules.
        final class Stack: Module {
            let blocks: [any SequenceBlock] = [HSTUBlock(dim: 8, heads: 2, maxLength: 5), TransformerBlock(dim: 8, heads: 2, hidden: 12)]
        }
        let names = Stack().namedParameters().map { $0.0 }
        XCTAssertTrue(names.contains("blocks.0.relativeBias"), "\(names)")
        XCTAssertTrue(names.contains("blocks.1.attention.query.weight"), "\(names)")
    }

    func testNestedModuleNamesAndTrainMode() {
        final class Net: Module {
            let blocks = [Linear(2, 2, seed: 1), Linear(2, 2, seed: 2)]
            let drop = Dropout(0.1)
        }
        let net = Net()
        XCTAssertEqual(net.namedParameters().map { $0.0 }, ["blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias"])
        net.eval()
        XCTAssertFalse(net.drop.training)
        XCTAssertFalse(net.blocks[1].training)
    }

    func testSmallSASRecShapedModel() {
        let model = TinySASRec(items: 11, length: 6, dim: 8, heads: 2, blocks: 2, dropout: 0)
        let seqs = IndexTensor((0..<12).map { Int32($0 % 10 + 1) }, shape: [2, 6])
        let targets = IndexTensor((0..<12).map { Int32(($0 + 3) % 10 + 1) }, shape: [2, 6])
        checkGradients(model.trainableParameters().map { $0.1 }, samples: 4) { model.loss(seqs, targets) }
    }
}
