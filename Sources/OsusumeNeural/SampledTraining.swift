import Foundation
import OsusumeCore
import OsusumeData
import OsusumeTensor

// The losses of the sequential models on large catalogs: full softmax, sampled softmax with the
// logQ correction, or gSASRec's gBCE, and the negative sampler they share. The full softmax costs
// rows × items × dim per step; the sampled losses cost rows × negatives × dim whatever the catalog.

/// How a sequential model's training loss is computed, resolved from its `loss` setting.
enum SequenceLoss: Equatable {
    /// Softmax over the whole catalog.
    case full
    /// Softmax over the target and `negatives` items shared by the batch, logQ-corrected.
    case sampledSoftmax
    /// gBCE against `negatives` uniform items shared by the batch, calibration `t`.
    case gbce(t: Double)

    /// Resolves `name` ("auto", "ce", "sampled-ce", "gbce"; `extra` names a model's own losses,
    /// returned as nil for the model to handle). "auto" means the full softmax up to `sampledAbove`
    /// items and the sampled softmax above; the choice is logged.
    static func resolve(
        _ name: String, model: String, itemCount: Int, sampledAbove: Int, negatives: Int, groupRows: Int = 256,
        gbceT: Double, extra: [String] = []
    ) throws -> SequenceLoss? {
        let names = ["auto", "ce", "sampled-ce", "gbce"] + extra
        guard names.contains(name) else {
            throw OsusumeError.invalidArgument("\(model): loss must be \(names.joined(separator: ", ")), got '\(name)'")
        }
        guard negatives > 0 else { throw OsusumeError.invalidArgument("\(model): negatives must be at least 1, got \(negatives)") }
        guard (0...1).contains(gbceT) else { throw OsusumeError.invalidArgument("\(model): gbceT must be in [0, 1], got \(gbceT)") }
        switch name {
        case "ce": return .full
        case "sampled-ce": return .sampledSoftmax
        case "gbce": return .gbce(t: gbceT)
        case "auto":
            if itemCount > sampledAbove {
                logLine(
                    "\(model): \(itemCount) items > sampledAbove \(sampledAbove): sampled softmax, \(negatives) "
                        + "negatives per \(groupRows) positions, logQ-corrected (loss=ce for the full softmax)")
                return .sampledSoftmax
            }
            return .full
        default: return nil
        }
    }

    /// A model's label smoothing ε: `epsilon` when set (in [0, 1), and above 0 only with the full
    /// softmax: the sampled losses see a few hundred items, so ε spread over the catalog has no
    /// meaning there), else `unset` with the full softmax and 0 with any other loss.
    static func smoothing(_ epsilon: Double?, unset: Double, loss: SequenceLoss?, model: String) throws -> Float {
        guard let epsilon else { return loss == .full ? Float(unset) : 0 }
        guard epsilon >= 0 && epsilon < 1 else {
            throw OsusumeError.invalidArgument("\(model): labelSmoothing must be in [0, 1), got \(epsilon)")
        }
        if epsilon > 0 && loss != .full {
            throw OsusumeError.invalidArgument(
                "\(model): labelSmoothing applies to the full softmax only (loss=ce, or auto up to sampledAbove items)")
        }
        return Float(epsilon)
    }

    /// gSASRec's β for `negatives` of `itemCount` items: α·(t·(1 − 1/α) + 1/α), α = negatives / (items − 1).
    static func gbceBeta(t: Double, negatives: Int, itemCount: Int) -> Float {
        let alpha = min(1, Double(negatives) / Double(max(1, itemCount - 1)))
        return Float(alpha * (t * (1 - 1 / alpha) + 1 / alpha))
    }
}

/// Draws a batch's shared negatives (tokens item + 1, with replacement) from a mixture of the
/// uniform and the popularity distributions, with each draw's log expected count, log(k·q).
/// Popular negatives are the hard ones a full softmax would push down most; the uniform share
/// keeps the long tail in the sample.
struct NegativeSampler {
    let itemCount: Int
    let popularityShare: Double
    /// Cumulative popularity over items (counts + 1, so no item has probability zero).
    private let cumulative: [Double]
    private let probability: [Double]

    init(itemCounts: [Int], popularityShare: Double) {
        itemCount = itemCounts.count
        self.popularityShare = min(1, max(0, popularityShare))
        let total = Double(itemCounts.reduce(0, +) + itemCounts.count)
        var acc = 0.0
        cumulative = itemCounts.map {
            acc += Double($0 + 1) / total; return acc
        }
        let uniform = 1 / Double(max(1, itemCounts.count)), share = self.popularityShare
        probability = itemCounts.map { (1 - share) * uniform + share * Double($0 + 1) / total }
    }

    /// `sets` × `k` tokens and their logQ = log(k·q(item)), k being the draws of one set.
    func sample(_ k: Int, sets: Int = 1, rng: inout SeededRandom) -> (tokens: [Int32], logQ: [Float]) {
        var tokens = [Int32](), logQ = [Float]()
        tokens.reserveCapacity(k * sets)
        logQ.reserveCapacity(k * sets)
        for _ in 0..<(k * sets) {
            var item: Int
            if popularityShare > 0 && Double(rng.nextFloat()) < popularityShare {
                let u = Double(rng.next() >> 11) * 0x1p-53 * (cumulative.last ?? 1)
                var lo = 0, hi = itemCount - 1
                while lo < hi { let mid = (lo + hi) / 2; if cumulative[mid] < u { lo = mid + 1 } else { hi = mid } }
                item = lo
            } else {
                item = rng.nextInt(itemCount)
            }
            tokens.append(Int32(item + 1))
            logQ.append(Float(log(Double(k) * probability[item])))
        }
        return (tokens, logQ)
    }
}

/// The sequential models' loss over hidden states and their targets: full or sampled softmax,
/// or gBCE, against the (tied) item table and optional output bias.
struct SequenceLossFunction {
    let loss: SequenceLoss
    let negatives: Int
    let sampler: NegativeSampler?
    let beta: Float
    let chunkRows: Int
    let groupRows: Int
    /// Label smoothing ε of the full softmax: the target gets 1 − ε plus ε spread evenly over
    /// every token of the table (padding and mask tokens included, a few in thousands).
    let labelSmoothing: Float

    init(
        loss: SequenceLoss, itemCounts: [Int], negatives: Int, groupRows: Int, popularityShare: Double, chunkRows: Int,
        labelSmoothing: Float = 0
    ) {
        self.loss = loss
        self.labelSmoothing = labelSmoothing
        self.negatives = negatives
        self.chunkRows = chunkRows
        self.groupRows = max(1, groupRows)
        switch loss {
        case .full: sampler = nil; beta = 1
        case .sampledSoftmax: sampler = NegativeSampler(itemCounts: itemCounts, popularityShare: popularityShare); beta = 1
        case .gbce(let t):
            // gBCE's calibration assumes uniform negatives.
            sampler = NegativeSampler(itemCounts: itemCounts, popularityShare: 0)
            beta = SequenceLoss.gbceBeta(t: t, negatives: negatives, itemCount: itemCounts.count)
        }
    }

    /// Draws the negatives for `rows` rows with a target, one set per `groupRows` (none for the
    /// full softmax); call outside the differentiated closure.
    func draw(rows: Int, _ rng: inout SeededRandom) -> (tokens: [Int32], logQ: [Float])? {
        sampler.map { $0.sample(negatives, sets: rows == 0 ? 1 : (rows - 1) / groupRows + 1, rng: &rng) }
    }

    func callAsFunction(
        hidden: Tensor, table: Tensor, bias: Tensor?, targets: IndexTensor, negatives drawn: (tokens: [Int32], logQ: [Float])?
    ) -> Tensor {
        guard let drawn else {
            return chunkedCrossEntropy(
                hidden: hidden, weight: table, bias: bias, targets: targets, labelSmoothing: labelSmoothing,
                chunkRows: chunkRows)
        }
        return sampledCrossEntropy(
            hidden: hidden, weight: table, bias: bias, targets: targets, candidates: drawn.tokens, logQ: drawn.logQ,
            groupRows: groupRows, loss: loss == .sampledSoftmax ? .softmax : .generalisedBCE(beta: beta))
    }
}
