import Foundation

/// A block of a sequence encoder: [B, L, D] hidden states in, the same shape out.
public protocol SequenceBlock: Module {
    func callAsFunction(_ x: Tensor, causal: Bool, keyPadding: [Bool]?) -> Tensor
}

extension TransformerBlock: SequenceBlock {}

/// HSTU's block (Zhai et al. 2024, "Actions Speak Louder than Words"), causal only. From the
/// normalised input n = norm(x), one map gives the query, key and value and another the gate,
/// each through silu; pointwise attention (`pointwiseSelfAttention`: silu weights scaled by
/// 1 / maxLength, a learned bias per distance, no softmax) mixes the values; its output is
/// normalised, gated and projected back onto the residual stream:
/// x + W_o drop(u ⊙ norm(attention(q, k, v))). There is no feed-forward layer; the two norms have
/// no parameters, as in HSTU's code.
public final class HSTUBlock: Module, SequenceBlock {
    public let query: Linear
    public let key: Linear
    public let value: Linear
    public let gate: Linear
    public let output: Linear
    /// One attention bias per distance i − j (0 ..< maxLength), shared by the heads.
    public let relativeBias: Tensor
    public let dropout: Dropout
    public let heads: Int
    let scale: Float

    public init(dim: Int, heads: Int, maxLength: Int, dropout: Float = 0) {
        precondition(dim % heads == 0, "dimension \(dim) is not divisible by \(heads) heads")
        precondition(maxLength > 0, "maxLength must be positive")
        query = Linear(dim, dim)
        key = Linear(dim, dim)
        value = Linear(dim, dim)
        gate = Linear(dim, dim)
        output = Linear(dim, dim)
        relativeBias = Tensor.zeros([maxLength]).trainable()
        self.dropout = Dropout(dropout)
        self.heads = heads
        scale = 1 / Float(maxLength)
    }

    public func callAsFunction(_ x: Tensor, causal: Bool = true, keyPadding: [Bool]? = nil) -> Tensor {
        precondition(causal, "HSTU blocks are causal")
        let n = layerNorm(x, weight: nil, bias: nil, eps: 1e-6)
        let qkv = swish(
            stackedLinear(
                n, weights: [query.weight, key.weight, value.weight], biases: [query.bias, key.bias, value.bias]))
        let attended = pointwiseSelfAttention(
            qkv, relativeBias: relativeBias, heads: heads, scale: scale, keyPadding: keyPadding)
        let gated = swish(gate(n)) * layerNorm(attended, weight: nil, bias: nil, eps: 1e-6)
        return x + output(dropout(gated))
    }
}
