import ArgumentParser
import Foundation
import OsusumeTensor

/// `osusume bench engine`: times one training step (forward, backward, AdamW update) of a
/// SASRec-shaped model on the tensor engine. `bench/peers/engine.py` runs the same step in
/// PyTorch and compares.
struct BenchEngineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Time one training step of a SASRec-shaped model on the tensor engine.")

    @Option(help: "Threads for the engine (its parallel loops and BLAS calls).")
    var threads = 2
    @Option(help: "Timed steps (the median is reported).")
    var steps = 10
    @Option(help: "Untimed warm-up steps.")
    var warmup = 2
    @Option(help: "Sequences per batch.")
    var batch = 128
    @Option(help: "Sequence length.")
    var length = 200
    @Option(help: "Model dimension.")
    var dim = 64
    @Option(help: "Attention heads.")
    var heads = 2
    @Option(help: "Transformer blocks.")
    var blocks = 2
    @Option(help: "Items in the vocabulary (rows of the item table, softmax size).")
    var items = 3416
    @Option(help: "Dropout probability.")
    var dropout: Float = 0.2
    @Option(name: .customLong("ce-chunk"), help: "Rows per chunk of the full cross-entropy.")
    var ceChunk = 128
    @Flag(help: "Print the report as JSON on standard output.")
    var json = false

    func run() throws {
        var o = EngineBenchmarkOptions()
        o.threads = threads; o.steps = steps; o.warmup = warmup; o.batch = batch; o.length = length
        o.dim = dim; o.heads = heads; o.blocks = blocks; o.items = items; o.dropout = dropout; o.ceChunkRows = ceChunk
        guard threads > 0, steps > 0, batch > 0, length > 0, items > 1, dim % heads == 0 else {
            throw ValidationError("threads, steps, batch, length must be positive, items > 1, and dim divisible by heads")
        }
        let r = EngineBenchmark.run(o)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(r), as: UTF8.self))
            return
        }
        print(
            String(
                format: "step %.3f s (min %.3f, max %.3f): forward %.3f, backward %.3f, update %.3f",
                r.stepSeconds, r.stepSecondsMin, r.stepSecondsMax, r.forwardSeconds, r.backwardSeconds, r.updateSeconds))
        print(
            String(
                format: "%.1f GFLOP per step, %.1f GFLOP/s achieved; sgemm %.1f GFLOP/s at %@, %.1f at %@",
                r.flopsPerStep / 1e9, r.achievedGFLOPS, r.sgemmGFLOPS, r.sgemmShape, r.sgemmScoringGFLOPS, r.sgemmScoringShape))
        print(
            String(
                format: "peak resident memory %.0f MiB; %d parameters; loss %.4f → %.4f; %d threads, %@",
                Double(r.peakResidentBytes) / 1048576, r.parameterCount, r.firstLoss, r.lastLoss, r.threads, r.simd))
    }
}
