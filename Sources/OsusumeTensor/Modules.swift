import Foundation
import OsusumeCore

/// Base class of layers, in the style of MLX's `Module`: subclasses keep their parameters as
/// `Tensor` properties and their sub-layers as `Module` (or `[Module]`) properties, and implement
/// `callAsFunction`. Parameters are found by reflection and named by dotted paths
/// ("blocks.0.attention.query.weight"), which are also the names used by optimizers and files.
open class Module {
    /// Training mode (dropout active). Set for a whole tree with `train()` / `eval()`.
    public var training = true

    public init() {}

    /// Every parameter tensor, by dotted name, in declaration order.
    public func namedParameters() -> [(String, Tensor)] {
        var out: [(String, Tensor)] = []
        collect(prefix: "", into: &out)
        return out
    }

    /// Parameters that receive gradients (`requiresGrad`).
    public func trainableParameters() -> [(String, Tensor)] { namedParameters().filter { $0.1.requiresGrad } }

    /// Stops (or, with `false`, restarts) gradients for every parameter of this module: a frozen
    /// part still passes gradients through to its inputs but computes none for its own weights.
    public func freeze(_ frozen: Bool = true) {
        for (_, p) in namedParameters() { p.requiresGrad = !frozen }
    }

    /// Direct sub-modules by name (array elements are named by index).
    public func children() -> [(String, Module)] {
        var out: [(String, Module)] = []
        for (label, value) in storedProperties() {
            if let m = value as? Module { out.append((label, m)) } else if let ms = value as? [Module] { for (i, m) in ms.enumerated() { out.append(("\(label).\(i)", m)) } }
        }
        return out
    }

    /// Total number of parameter values.
    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.1.count } }

    /// Sets training mode on this module and every sub-module.
    public func train(_ on: Bool = true) {
        training = on
        for (_, c) in children() { c.train(on) }
    }

    /// Evaluation mode: `train(false)`.
    public func eval() { train(false) }

    private func storedProperties() -> [(String, Any)] {
        var mirrors: [Mirror] = []
        var m: Mirror? = Mirror(reflecting: self)
        while let cur = m { mirrors.append(cur); m = cur.superclassMirror }
        var out: [(String, Any)] = []
        for mirror in mirrors.reversed() {
            for child in mirror.children {
                guard let label = child.label, !label.hasPrefix("$"), !label.hasPrefix("_") else { continue }
                out.append((label, child.value))
            }
        }
        return out
    }

    private func collect(prefix: String, into out: inout [(String, Tensor)]) {
        for (label, value) in storedProperties() {
            if let t = value as? Tensor {
                out.append((prefix + label, t))
            } else if let m = value as? Module {
                m.collect(prefix: prefix + label + ".", into: &out)
            } else if let ms = value as? [Module] {
                for (i, m) in ms.enumerated() { m.collect(prefix: prefix + label + ".\(i).", into: &out) }
            }
        }
    }
}

/// y = x Wᵀ + b, with W of shape [outputs, inputs] as in PyTorch. Initialised uniformly in
/// ±1/√inputs (PyTorch's default).
public final class Linear: Module {
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inputs: Int, _ outputs: Int, bias: Bool = true, seed: UInt64? = nil) {
        var rng = SeededRandom(seed: seed ?? Engine.nextSeed())
        let bound = 1 / Float(inputs).squareRoot()
        weight = Tensor.randomUniform([outputs, inputs], low: -bound, high: bound, rng: &rng).trainable()
        self.bias = bias ? Tensor.randomUniform([outputs], low: -bound, high: bound, rng: &rng).trainable() : nil
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }

    /// The same map for a sparse input (see `sparseLinear`).
    public func callAsFunction(_ x: SparseRows) -> Tensor { sparseLinear(x, weight: weight, bias: bias) }
}

/// A lookup table of `count` vectors of size `dim`, initialised from N(0, std²). With
/// `sparseGradients` its gradient holds only the rows used, and optimizers update only those.
public final class Embedding: Module {
    public let weight: Tensor
    public var sparseGradients: Bool

    public init(_ count: Int, _ dim: Int, std: Float = 1, sparseGradients: Bool = false, seed: UInt64? = nil) {
        weight = Tensor.randomNormal([count, dim], std: std, seed: seed ?? Engine.nextSeed()).trainable()
        self.sparseGradients = sparseGradients
    }

    public func callAsFunction(_ indices: IndexTensor) -> Tensor {
        embedding(weight, indices, sparseGradient: sparseGradients)
    }
}

/// Layer normalisation over the last axis with a learned scale (`weight`) and shift (`bias`).
public final class LayerNorm: Module {
    public let weight: Tensor
    public let bias: Tensor
    public let eps: Float

    public init(_ dim: Int, eps: Float = 1e-5) {
        weight = Tensor.ones([dim]).trainable()
        bias = Tensor.zeros([dim]).trainable()
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, eps: eps) }
}

/// Dropout with probability `probability` while training; the identity in evaluation mode.
/// Masks are seeded from `Engine`'s generator, so a run is reproducible from `Engine.seed`.
public final class Dropout: Module {
    public let probability: Float

    public init(_ probability: Float) { self.probability = probability }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard training, probability > 0 else { return x }
        return dropout(x, probability: probability, seed: Engine.nextSeed())
    }

    /// `residual + self(x)` in one pass.
    public func callAsFunction(_ x: Tensor, adding residual: Tensor) -> Tensor {
        guard training, probability > 0 else { return residual + x }
        return dropoutAdd(x, probability: probability, seed: Engine.nextSeed(), residual: residual)
    }

    /// Dropout on the stored entries of a sparse input (its zeros stay zero either way).
    public func callAsFunction(_ x: SparseRows) -> SparseRows {
        guard training, probability > 0 else { return x }
        return x.dropout(probability: probability, seed: Engine.nextSeed())
    }
}

/// Activation functions by name.
public enum Activation: String, Sendable, Codable {
    case relu, gelu, swish, tanh, sigmoid

    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .relu: return OsusumeTensor.relu(x)
        case .gelu: return OsusumeTensor.gelu(x)
        case .swish: return OsusumeTensor.swish(x)
        case .tanh: return OsusumeTensor.tanh(x)
        case .sigmoid: return OsusumeTensor.sigmoid(x)
        }
    }
}

/// Multi-head attention with query/key/value/output projections and the fused attention kernel.
public final class MultiHeadAttention: Module {
    public let query: Linear
    public let key: Linear
    public let value: Linear
    public let output: Linear
    public let heads: Int

    public init(dim: Int, heads: Int) {
        precondition(dim % heads == 0, "dimension \(dim) is not divisible by \(heads) heads")
        query = Linear(dim, dim)
        key = Linear(dim, dim)
        value = Linear(dim, dim)
        output = Linear(dim, dim)
        self.heads = heads
    }

    /// Attention of `queries` [B, L, D] over `keys`/`values` [B, S, D] (self-attention when
    /// only `queries` is given).
    public func callAsFunction(
        _ queries: Tensor, keys: Tensor? = nil, values: Tensor? = nil,
        causal: Bool = false, keyPadding: [Bool]? = nil
    ) -> Tensor {
        if keys == nil && values == nil {
            // Self-attention: one stacked projection and the packed kernel.
            let qkv = stackedLinear(
                queries, weights: [query.weight, key.weight, value.weight],
                biases: [query.bias, key.bias, value.bias])
            return output(packedSelfAttention(qkv, heads: heads, causal: causal, keyPadding: keyPadding))
        }
        let k = keys ?? queries, v = values ?? k
        if k === v {
            // Keys and values from the same input: one stacked projection for both.
            let kv = stackedLinear(k, weights: [key.weight, value.weight], biases: [key.bias, value.bias])
            return output(
                keyValueAttention(
                    query: query(queries), kv: kv, heads: heads, causal: causal,
                    keyPadding: keyPadding))
        }
        let a = scaledDotProductAttention(
            query: query(queries), key: key(k), value: value(v), heads: heads,
            causal: causal, keyPadding: keyPadding)
        return output(a)
    }
}

/// Position-wise feed-forward: Linear → activation → dropout → Linear. With a gated linear unit
/// (`gatedLinearUnit`, SwiGLU when the activation is swish) the hidden layer is
/// activation(linear1(x)) ⊙ up(x), and no projection has a bias, as in LiGR's and eSASRec's blocks.
public final class FeedForward: Module {
    public let linear1: Linear
    public let linear2: Linear
    public let dropout: Dropout
    public let activation: Activation
    /// The second input projection of a gated linear unit (nil: a plain feed-forward layer).
    public let up: Linear?

    public init(dim: Int, hidden: Int, activation: Activation = .gelu, dropout: Float = 0, gatedLinearUnit: Bool = false) {
        linear1 = Linear(dim, hidden, bias: !gatedLinearUnit)
        linear2 = Linear(hidden, dim, bias: !gatedLinearUnit)
        self.dropout = Dropout(dropout)
        self.activation = activation
        up = gatedLinearUnit ? Linear(dim, hidden, bias: false) : nil
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        if let up { return linear2(dropout(activation(linear1(x)) * up(x))) }
        if activation == .relu, dropout.training, dropout.probability > 0 {
            return linear2(reluDropout(linear1(x), probability: dropout.probability, seed: Engine.nextSeed()))
        }
        return linear2(dropout(activation(linear1(x))))
    }
}

/// A Transformer encoder block. Pre-LN (`normFirst`, the default):
/// x + drop(attn(ln1(x))), then + drop(ff(ln2(·))). Post-LN: ln1(x + drop(attn(x))), then
/// ln2(· + drop(ff(·))). Query-norm (`queryNorm`, the original SASRec code's layout):
/// q = ln1(x), h = q + drop(attn(q over keys and values x)), n = ln2(h), then n + drop(ff(n)).
/// Gated residuals (`gatedResidual`, LiGR: Borisyuk et al. 2025, as eSASRec uses them): pre-LN
/// with each branch scaled by a learned gate (a biased linear map) of the un-normalised input,
/// h = x + σ(g1(x)) ⊙ drop(attn(ln1(x))), then h + σ(g2(h)) ⊙ drop(ff(ln2(h))).
public final class TransformerBlock: Module {
    public let attention: MultiHeadAttention
    public let feedForward: FeedForward
    public let norm1: LayerNorm
    public let norm2: LayerNorm
    public let dropout1: Dropout
    public let dropout2: Dropout
    public let normFirst: Bool
    public let queryNorm: Bool
    /// Gates of the attention and feed-forward branches (nil: plain residuals).
    public let attentionGate: Linear?
    public let feedForwardGate: Linear?

    public init(
        dim: Int, heads: Int, hidden: Int, dropout: Float = 0, activation: Activation = .gelu,
        normFirst: Bool = true, queryNorm: Bool = false, gatedResidual: Bool = false, gatedLinearUnit: Bool = false
    ) {
        precondition(!(gatedResidual && queryNorm), "gated residuals are pre-LN blocks, not query-norm ones")
        self.queryNorm = queryNorm
        attention = MultiHeadAttention(dim: dim, heads: heads)
        feedForward = FeedForward(
            dim: dim, hidden: hidden, activation: activation, dropout: dropout, gatedLinearUnit: gatedLinearUnit)
        norm1 = LayerNorm(dim)
        norm2 = LayerNorm(dim)
        dropout1 = Dropout(dropout)
        dropout2 = Dropout(dropout)
        self.normFirst = normFirst || gatedResidual
        attentionGate = gatedResidual ? Linear(dim, dim) : nil
        feedForwardGate = gatedResidual ? Linear(dim, dim) : nil
    }

    public func callAsFunction(_ x: Tensor, causal: Bool = false, keyPadding: [Bool]? = nil) -> Tensor {
        if let attentionGate, let feedForwardGate {
            let h = x + sigmoid(attentionGate(x)) * dropout1(attention(norm1(x), causal: causal, keyPadding: keyPadding))
            return h + sigmoid(feedForwardGate(h)) * dropout2(feedForward(norm2(h)))
        }
        if queryNorm {
            let q = norm1(x)
            let n = norm2(dropout1(attention(q, keys: x, values: x, causal: causal, keyPadding: keyPadding), adding: q))
            return dropout2(feedForward(n), adding: n)
        }
        if normFirst {
            let h = dropout1(attention(norm1(x), causal: causal, keyPadding: keyPadding), adding: x)
            return dropout2(feedForward(norm2(h)), adding: h)
        }
        let h = norm1(dropout1(attention(x, causal: causal, keyPadding: keyPadding), adding: x))
        return norm2(dropout2(feedForward(h), adding: h))
    }
}
