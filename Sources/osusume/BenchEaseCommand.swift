import ArgumentParser
import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels

struct BenchEaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ease",
        abstract: "Time EASE's exact fit on a data set against the LAPACK bound at its catalog size.",
        discussion: """
            The bound is a Cholesky factorisation and inverse (spotrf + spotri) of an SPD matrix of the \
            catalog's size, the part of the fit no implementation can skip; it is measured in the same \
            run, just before the fit, so the ratio compares like with like.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "EASE's λ.") var lambda: Double = 500

    func run() throws {
        global.apply()
        let t0 = Date()
        let d = try dataOptions.load()
        let importSeconds = Date().timeIntervalSince(t0)
        let n = d.log.itemCount
        try MemoryBudget.require(n * n * 4, for: "the LAPACK bound at \(n) items", advice: "use a smaller catalog")
        logLine("bench ease: \(d.name), \(d.log.userCount) users, \(n) items, \(d.log.count) interactions (import \(String(format: "%.1f", importSeconds)) s)")
        let bound = Self.lapackSeconds(n: n)
        logLine(String(format: "bench ease: LAPACK spotrf + spotri at n = %d: %.1f s", n, bound))
        var config = EASE.Config()
        config.lambda = lambda
        config.solver = "primal"
        let ease = EASE(config: config)
        let t1 = Date()
        try ease.fit(TrainingData(log: d.log))
        let fit = Date().timeIntervalSince(t1)
        let ratio = fit / bound
        if global.json {
            try printJSON(
                [
                    "dataset": datasetJSON(d, filters: dataOptions.filterDescription), "items": n, "threads": Threads.count,
                    "import_s": importSeconds, "lapack_bound_s": bound, "ease_fit_s": fit, "ratio": ratio,
                ] as [String: Any])
        } else {
            print(String(format: "EASE exact fit at %d items: %.1f s; LAPACK bound (Cholesky + inverse) %.1f s; ratio %.2f (%d threads)", n, fit, bound, ratio, Threads.count))
        }
    }

    /// Seconds for spotrf + spotri of a diagonally dominant (so SPD) n × n matrix.
    static func lapackSeconds(n: Int) -> Double {
        var a = [Float](repeating: 0, count: n * n)
        a.withUnsafeMutableBufferPointer { ap in
            let p = SharedPointer(ap.baseAddress!)
            Threads.parallelFor(n, minChunk: 64) { _, rows in
                for i in rows {
                    for j in 0..<n {
                        // Symmetric: the value depends on the pair only.
                        let h = UInt64(min(i, j)) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(max(i, j)) &* 0xBF58_476D_1CE4_E5B9
                        p.base[i * n + j] = i == j ? Float(n) : Float(h >> 40) / 16_777_216
                    }
                }
            }
        }
        let t = Date()
        _ = try? a.withUnsafeMutableBufferPointer { try LAPACK.invertSPD($0.baseAddress!, n: n) }
        return Date().timeIntervalSince(t)
    }
}
