import Foundation
import OsusumeCore
import OsusumeKernels

/// Settings of the engine benchmark: one training step of a SASRec-shaped model.
public struct EngineBenchmarkOptions: Codable, Sendable {
    public var threads = 2
    public var steps = 10
    public var warmup = 2
    public var batch = 128
    public var length = 200
    public var dim = 64
    public var heads = 2
    public var blocks = 2
    /// Rows of the item table (row 0 is padding) and size of the softmax.
    public var items = 3416
    public var dropout: Float = 0.2
    /// Rows per chunk of the full cross-entropy.
    public var ceChunkRows = 128
    public var seed: UInt64 = 1
    public init() {}
}

/// What one benchmark run measured. Times are seconds; the step time is the median over the
/// timed steps (after warm-up), as are its forward/backward/update parts.
public struct EngineBenchmarkReport: Codable, Sendable {
    public var options: EngineBenchmarkOptions
    public var stepSeconds: Double
    public var stepSecondsMin: Double
    public var stepSecondsMax: Double
    public var forwardSeconds: Double
    public var backwardSeconds: Double
    public var updateSeconds: Double
    /// Matrix-product FLOPs of the step, analytically: forward with full (unmasked) attention,
    /// backward counted as twice the forward.
    public var flopsPerStep: Double
    public var achievedGFLOPS: Double
    /// sgemm through the engine's threaded product, measured in the same run.
    public var sgemmGFLOPS: Double
    public var sgemmShape: String
    /// sgemm at the step's largest shape (all positions × all items × dim).
    public var sgemmScoringGFLOPS: Double
    public var sgemmScoringShape: String
    /// Peak resident memory (VmHWM) over the timed steps, reset after warm-up.
    public var peakResidentBytes: Int
    public var parameterCount: Int
    public var firstLoss: Float
    public var lastLoss: Float
    public var threads: Int
    public var simd: String
    public var openblasCoretype: String?
}

/// The SASRec-shaped model of the benchmark (the same model `bench/peers/engine.py` builds in
/// PyTorch): item and position embeddings, pre-LN Transformer blocks with causal attention and a
/// ReLU feed-forward of width dim, a final layer norm, and full-softmax cross-entropy over all
/// items at every position with the item table tied as output layer.
final class BenchmarkSASRec: Module {
    let items: Embedding
    let positions: Embedding
    let blocks: [TransformerBlock]
    let norm: LayerNorm
    let dropout: Dropout
    let dim: Int
    let ceChunkRows: Int

    init(_ o: EngineBenchmarkOptions) {
        items = Embedding(o.items, o.dim, std: 0.02, seed: o.seed)
        positions = Embedding(o.length, o.dim, std: 0.02, seed: o.seed + 1)
        blocks = (0..<o.blocks).map { _ in
            TransformerBlock(dim: o.dim, heads: o.heads, hidden: o.dim, dropout: o.dropout, activation: .relu)
        }
        norm = LayerNorm(o.dim)
        dropout = Dropout(o.dropout)
        dim = o.dim
        ceChunkRows = o.ceChunkRows
    }

    func loss(_ seqs: IndexTensor, _ positionIDs: IndexTensor, _ targets: IndexTensor) -> Tensor {
        var h = dropout(items(seqs) * Float(dim).squareRoot() + positions(positionIDs))
        for block in blocks { h = block(h, causal: true) }
        return chunkedCrossEntropy(hidden: norm(h), weight: items.weight, targets: targets, chunkRows: ceChunkRows)
    }
}

public enum EngineBenchmark {
    /// Analytic matrix-product FLOPs of one training step.
    public static func flops(_ o: EngineBenchmarkOptions) -> Double {
        let n = Double(o.batch * o.length), d = Double(o.dim), l = Double(o.length), b = Double(o.batch)
        let perBlock = 8 * n * d * d + 4 * n * d * d + 4 * b * l * l * d
        let forward = Double(o.blocks) * perBlock + 2 * n * d * Double(o.items)
        return 3 * forward
    }

    /// Runs the benchmark in this process.
    public static func run(_ o: EngineBenchmarkOptions) -> EngineBenchmarkReport {
        Engine.threads = o.threads
        Engine.seed(o.seed)
        let sgemm = measureSGEMM(m: 1024, n: 1024, k: 1024, transB: false)
        let scoring = measureSGEMM(m: o.batch * o.length, n: o.items, k: o.dim, transB: true)

        let model = BenchmarkSASRec(o)
        let optimizer = AdamW(learningRate: 1e-3, weightDecay: 0.01)
        var rng = SeededRandom(seed: o.seed &+ 17)
        let n = o.batch * o.length
        let seqs = IndexTensor((0..<n).map { _ in Int32(1 + rng.nextInt(o.items - 1)) }, shape: [o.batch, o.length])
        let targets = IndexTensor((0..<n).map { _ in Int32(1 + rng.nextInt(o.items - 1)) }, shape: [o.batch, o.length])
        let pos = IndexTensor((0..<n).map { Int32($0 % o.length) }, shape: [o.batch, o.length])
        let params = model.trainableParameters()

        var fwd: [Double] = [], bwd: [Double] = [], upd: [Double] = [], total: [Double] = []
        var first: Float = .nan, last: Float = .nan
        for step in 0..<(o.warmup + o.steps) {
            if step == o.warmup { resetPeakResident() }
            let t0 = now()
            for (_, p) in params { p.grad = nil }
            Tape.entries.removeAll(keepingCapacity: true)
            Tape.recording = true
            let loss = model.loss(seqs, pos, targets)
            Tape.recording = false
            let t1 = now()
            Tape.backward(from: loss)
            var grads = Gradients()
            for (name, p) in params { if let g = p.grad { grads[name] = g }; p.grad = nil }
            let t2 = now()
            optimizer.update(model, grads)
            let t3 = now()
            if step == 0 { first = loss.item }
            last = loss.item
            if step >= o.warmup {
                fwd.append(t1 - t0); bwd.append(t2 - t1); upd.append(t3 - t2); total.append(t3 - t0)
            }
        }
        let flops = flops(o)
        let stepTime = median(total)
        return EngineBenchmarkReport(
            options: o, stepSeconds: stepTime, stepSecondsMin: total.min() ?? 0, stepSecondsMax: total.max() ?? 0,
            forwardSeconds: median(fwd), backwardSeconds: median(bwd), updateSeconds: median(upd),
            flopsPerStep: flops, achievedGFLOPS: flops / stepTime / 1e9,
            sgemmGFLOPS: sgemm, sgemmShape: "1024×1024×1024",
            sgemmScoringGFLOPS: scoring, sgemmScoringShape: "\(n)×\(o.items)×\(o.dim) (A·Bᵀ)",
            peakResidentBytes: peakResidentBytes(), parameterCount: model.parameterCount,
            firstLoss: first, lastLoss: last, threads: Threads.count, simd: Engine.simd,
            openblasCoretype: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"])
    }

    /// GFLOP/s of the engine's threaded sgemm at m×n×k (best of a few repetitions).
    static func measureSGEMM(m: Int, n: Int, k: Int, transB: Bool) -> Double {
        let a = Tensor.randomUniform([m, k], seed: 1), b = Tensor.randomUniform(transB ? [n, k] : [k, n], seed: 2)
        let c = Tensor(uninitialized: [m, n])
        var best = Double.infinity
        let reps = Swift.max(2, Int(2e10 / (2.0 * Double(m * n * k))))
        for _ in 0..<Swift.min(reps, 20) {
            let t0 = now()
            gemm(
                .none, transB ? .transpose : .none, m: m, n: n, k: k, a: a.data, lda: k, b: b.data, ldb: transB ? k : n,
                c: c.data, ldc: n)
            best = Swift.min(best, now() - t0)
        }
        return 2.0 * Double(m) * Double(n) * Double(k) / best / 1e9
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    static func median(_ xs: [Double]) -> Double {
        guard !xs.isEmpty else { return 0 }
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// Resets the kernel's peak-RSS mark (Linux: "5" to /proc/self/clear_refs).
    static func resetPeakResident() {
        if let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
            h.write("5".data(using: .utf8)!)
            try? h.close()
        }
    }

    /// VmHWM from /proc/self/status, or getrusage's maximum where /proc is missing.
    public static func peakResidentBytes() -> Int {
        if let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
            for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
                let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
                return kb * 1024
            }
        }
        #if os(Linux)
        return 0
        #else
        var usage = rusage()
        getrusage(RUSAGE_SELF, &usage)
        return usage.ru_maxrss
        #endif
    }
}
