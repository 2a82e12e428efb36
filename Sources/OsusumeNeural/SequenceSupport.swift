import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels
import OsusumeTensor

// Shared machinery of the sequential models (SASRec, BERT4Rec): token layout, training windows,
// length-bucketed batches, the Transformer encoder, checkpoints and batched scoring.
//
// Tokens: 0 is padding, item i is token i + 1; BERT4Rec adds [MASK] = itemCount + 1.
// Inputs are left-padded and positions count back from the end (the last item always sits at
// position maxLength − 1, as in the original SASRec), so cropping a batch to its longest window
// changes nothing but the work done.

/// A training window: consecutive tokens of one user's history.
struct SequenceWindow {
    var user: Int
    var tokens: [Int32]
}

enum SequenceWindows {
    /// Cuts each history (item indices) into windows of at most `size` tokens. The last window ends
    /// at the history's end; earlier ones step back by `step`. With `allWindows` false only the
    /// most recent window is kept (the original SASRec truncation). Histories shorter than
    /// `minimum` are skipped.
    static func make(_ sequences: [[Int32]], size: Int, step: Int, minimum: Int, allWindows: Bool) -> [SequenceWindow] {
        var out: [SequenceWindow] = []
        for (u, seq) in sequences.enumerated() where seq.count >= minimum {
            var end = seq.count
            while end > 0 {
                let start = max(0, end - size)
                if end - start < minimum { break }
                out.append(SequenceWindow(user: u, tokens: seq[start..<end].map { $0 + 1 }))
                if !allWindows || start == 0 { break }
                end -= step
            }
        }
        return out
    }

    /// Batches of window indices: shuffled, sorted by length within pools of 32 batches (windows
    /// of similar length share a batch, so little padding is computed), then the batch order is
    /// shuffled. Deterministic in `rng`.
    static func batches(lengths: [Int], batchSize: Int, rng: inout SeededRandom) -> [[Int]] {
        var order = Array(0..<lengths.count)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.nextInt(i + 1)) }
        let pool = batchSize * 32
        var batches: [[Int]] = []
        var p = 0
        while p < order.count {
            let slice = order[p..<min(order.count, p + pool)].sorted { (lengths[$0], $0) < (lengths[$1], $1) }
            var b = 0
            while b < slice.count {
                batches.append(Array(slice[(slice.startIndex + b)..<min(slice.endIndex, slice.startIndex + b + batchSize)]))
                b += batchSize
            }
            p += pool
        }
        for i in stride(from: batches.count - 1, to: 0, by: -1) { batches.swapAt(i, rng.nextInt(i + 1)) }
        return batches
    }
}

/// A left-padded batch: tokens [B, L], positions counted back from `maxLength`, key flags.
struct PaddedBatch {
    var tokens: IndexTensor
    var positions: IndexTensor
    var keep: [Bool]
    var length: Int
    var count: Int

    /// Left-pads `rows` to the longest one (at least 1). Each row must hold ≤ `maxLength` tokens.
    /// Positions count back from the window's end (the last token is `maxLength − 1`, as the
    /// original SASRec) or, with `fromStart`, forward from each row's first token (as a
    /// right-padded batch numbers them), which tells the model how far into the window it is.
    init(_ rows: [[Int32]], maxLength: Int, fromStart: Bool = false) {
        let length = max(1, rows.map(\.count).max() ?? 1)
        precondition(length <= maxLength)
        var tok = [Int32](repeating: 0, count: rows.count * length)
        var keep = [Bool](repeating: false, count: rows.count * length)
        // Back from the end: slot j of every row is position maxLength − length + j.
        let first = Int32(maxLength - length)
        var pos =
            fromStart
            ? [Int32](repeating: 0, count: rows.count * length)
            : (0..<rows.count * length).map { first + Int32($0 % length) }
        for (r, row) in rows.enumerated() {
            let pad = length - row.count
            for (j, t) in row.enumerated() {
                tok[r * length + pad + j] = t; keep[r * length + pad + j] = true
                if fromStart { pos[r * length + pad + j] = Int32(j) }
            }
        }
        self.tokens = IndexTensor(tok, shape: [rows.count, length])
        self.positions = IndexTensor(pos, shape: [rows.count, length])
        self.keep = keep
        self.length = length
        self.count = rows.count
    }
}

/// The blocks a sequence encoder stacks.
enum SequenceLayers: String, CaseIterable {
    /// Transformer blocks as `normFirst` and `queryNorm` describe them.
    case transformer
    /// LiGR's pre-LN blocks with sigmoid-gated residuals and a SwiGLU feed-forward.
    case ligr
    /// HSTU's blocks: gated pointwise attention with a relative position bias, no feed-forward.
    case hstu
}

/// The encoder both models share: item (+ optional genre) and optional position embeddings,
/// sequence blocks, and a final layer norm (pre-LN) or an input layer norm (post-LN, as BERT).
final class SequenceEncoder: Module {
    let items: Embedding
    let positions: Embedding?
    let genres: Embedding?
    let blocks: [any SequenceBlock]
    let finalNorm: LayerNorm?
    let inputNorm: LayerNorm?
    let dropout: Dropout
    /// Factor on the token embeddings before positions are added (√dim in the original SASRec,
    /// which keeps the item signal above the positions' at the 0.02 initialisation).
    let inputScale: Float
    /// Constant [tokens, genres] matrix (each item's genres, weights summing to 1). The leading
    /// underscore keeps it out of the parameters.
    let _genreMatrix: Tensor?

    init(
        tokens: Int, maxLength: Int, dim: Int, blocks: Int, heads: Int, feedForward: Int, dropout: Float,
        activation: Activation, normFirst: Bool, usePositions: Bool, genreMatrix: Tensor?, inputScale: Float = 1,
        queryNorm: Bool = false, layers: SequenceLayers = .transformer
    ) {
        items = Embedding(tokens, dim, std: 0.02)
        self.inputScale = inputScale
        positions = usePositions ? Embedding(maxLength, dim, std: 0.02) : nil
        genres = genreMatrix.map { Embedding($0.shape[1], dim, std: 0.02) }
        self.blocks = (0..<blocks).map { _ -> any SequenceBlock in
            if layers == .hstu { return HSTUBlock(dim: dim, heads: heads, maxLength: maxLength, dropout: dropout) }
            let ligr = layers == .ligr
            return TransformerBlock(
                dim: dim, heads: heads, hidden: feedForward, dropout: dropout, activation: ligr ? .swish : activation,
                normFirst: normFirst, queryNorm: queryNorm && !ligr, gatedResidual: ligr, gatedLinearUnit: ligr)
        }
        let preNorm = normFirst || queryNorm || layers != .transformer
        finalNorm = preNorm ? LayerNorm(dim) : nil
        inputNorm = preNorm ? nil : LayerNorm(dim)
        self.dropout = Dropout(dropout)
        _genreMatrix = genreMatrix
    }

    /// The token table used for input and output: item embeddings plus the mean of their genres'.
    func table() -> Tensor {
        guard let g = _genreMatrix, let genres else { return items.weight }
        return items.weight + matmul(g, genres.weight)
    }

    /// Hidden states [B, L, dim] of a padded batch.
    func callAsFunction(_ batch: PaddedBatch, table: Tensor, causal: Bool) -> Tensor {
        var h = embedding(table, batch.tokens)
        if inputScale != 1 { h = h * inputScale }
        if let positions { h = h + positions(batch.positions) }
        if let inputNorm { h = inputNorm(h) }
        h = dropout(h)
        for block in blocks { h = block(h, causal: causal, keyPadding: batch.keep) }
        if let finalNorm { h = finalNorm(h) }
        return h
    }
}

/// Rows `rows` of a [B, L, d] tensor as [rows.count, d] (a gather with gradient).
func gatherRows(_ h: Tensor, _ rows: [Int32]) -> Tensor {
    let d = h.shape.last!
    return embedding(h.reshaped([h.count / d, d]), IndexTensor(rows))
}

enum SequenceSupport {
    /// Per-token genre weights from the catalog ([tokens, genres]); nil when no item has a genre.
    static func genreMatrix(log: InteractionLog, catalog: Catalog, tokens: Int) -> Tensor? {
        var names: [String: Int] = [:]
        var perItem: [[Int]] = []
        for i in 0..<log.itemCount {
            let g = catalog[log.itemIDs.id(of: Int32(i))]?.genres ?? []
            perItem.append(
                g.map { name in
                    if let k = names[name] { return k }
                    names[name] = names.count
                    return names.count - 1
                })
        }
        guard !names.isEmpty else { return nil }
        var m = [Float](repeating: 0, count: tokens * names.count)
        for (i, gs) in perItem.enumerated() where !gs.isEmpty {
            for g in gs { m[(i + 1) * names.count + g] += 1 / Float(gs.count) }
        }
        return Tensor(shape: [tokens, names.count], scalars: m)
    }

    /// The warm-up is at most a tenth of training, so that a step count chosen for one log does
    /// not swallow the whole run on a small one; a shortened warm-up is logged.
    static func schedule(
        _ name: String, learningRate: Float, warmup requested: Int, totalSteps: Int, model: String
    ) throws -> LearningRateSchedule {
        guard requested >= 0 else { throw OsusumeError.invalidArgument("\(model): warmupSteps must be 0 or more, got \(requested)") }
        let warmup = effectiveWarmup(requested, totalSteps: totalSteps)
        if warmup < requested {
            logLine("\(model): warm-up of \(warmup) step\(warmup == 1 ? "" : "s") (a tenth of \(totalSteps); warmupSteps=\(requested))")
        }
        switch name {
        case "constant": return warmup > 0 ? .warmupLinear(peak: learningRate, warmup: warmup, total: Int.max / 2, final: learningRate) : .constant(learningRate)
        case "cosine": return .warmupCosine(peak: learningRate, warmup: warmup, total: totalSteps)
        case "linear": return .warmupLinear(peak: learningRate, warmup: warmup, total: totalSteps)
        default: throw OsusumeError.invalidArgument("schedule must be constant, cosine or linear, got '\(name)'")
        }
    }

    static func effectiveWarmup(_ requested: Int, totalSteps: Int) -> Int { min(requested, totalSteps / 10) }

    static func activation(_ name: String, setting: String = "activation") throws -> Activation {
        guard let a = Activation(rawValue: name) else {
            throw OsusumeError.invalidArgument("\(setting) must be relu, gelu, swish, tanh or sigmoid, got '\(name)'")
        }
        return a
    }

    /// Seeds for epoch `epoch`: the engine's generator (dropout) and the sampling generator are
    /// derived from the run's seed and the epoch alone, so a resumed run continues exactly.
    static func epochRandom(seed: UInt64, epoch: Int) -> SeededRandom {
        Engine.seed(seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)
        return SeededRandom(seed: (seed ^ 0x5A5A_1234) &+ UInt64(epoch) &* 0xD1B5_4A32_D192_ED03)
    }

    /// Weights, Adam moments and step count as one container.
    static func checkpoint(_ net: Module, _ optimizer: Adam, extra: [String: String]) -> SafeTensors {
        var st = SafeTensors()
        for (name, t) in net.namedParameters() { st.set("model." + name, t) }
        let saved = optimizer.savedState
        for (name, mv) in saved.moments {
            st.set("adam.m." + name, mv.m)
            st.set("adam.v." + name, mv.v)
        }
        st.metadata = extra
        st.metadata["step"] = String(saved.step)
        return st
    }

    static func restoreCheckpoint(_ st: SafeTensors, into net: Module, _ optimizer: Adam) throws {
        var weights = SafeTensors()
        var moments: [String: (m: Tensor, v: Tensor)] = [:]
        for name in st.tensors.keys {
            if name.hasPrefix("model.") {
                weights.tensors[String(name.dropFirst(6))] = st.tensors[name]
            } else if name.hasPrefix("adam.m.") {
                let p = String(name.dropFirst(7))
                moments[p] = (try st.tensor(name), try st.tensor("adam.v." + p))
            }
        }
        try net.load(weights)
        optimizer.restoreState(step: Int(st.metadata["step"] ?? "0") ?? 0, moments: moments)
    }

    /// Scores queries in groups of similar history length: `window` turns a history into input
    /// tokens, `lastHidden` gives [n, dim] states at the last position, which are multiplied by
    /// the token table (plus `bias`); columns 1…itemCount are written.
    static func score(
        _ queries: [ScoringQuery], itemCount: Int, group: Int = 256,
        window: ([Int32]) -> [Int32], lastHidden: ([[Int32]]) -> Tensor,
        table: Tensor, bias: Tensor?, into out: UnsafeMutablePointer<Float>
    ) {
        let rows = queries.map { window($0.history) }
        let order = rows.indices.sorted { (rows[$0].count, $0) < (rows[$1].count, $1) }
        let tokens = table.shape[0]
        var g = 0
        while g < order.count {
            let members = Array(order[g..<min(order.count, g + group)])
            let h = lastHidden(members.map { rows[$0] })
            let logits = matmul(h, table, transposeB: true)
            logits.withUnsafeBufferPointer { lp in
                for (k, q) in members.enumerated() {
                    let src = lp.baseAddress! + k * tokens + 1, dst = out + q * itemCount
                    if let bias {
                        bias.withUnsafeBufferPointer { bp in for i in 0..<itemCount { dst[i] = src[i] + bp[i + 1] } }
                    } else {
                        dst.update(from: src, count: itemCount)
                    }
                }
            }
            g += group
        }
    }

    /// Items of a history as tokens, keeping the last `limit`; unknown items are dropped.
    static func tokens(_ history: [Int32], itemCount: Int, limit: Int) -> [Int32] {
        let valid = history.filter { $0 >= 0 && Int($0) < itemCount }
        return valid.suffix(limit).map { $0 + 1 }
    }
}
