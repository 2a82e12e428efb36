import ArgumentParser
import Foundation
import OsusumeCore
import OsusumeData
import OsusumeEval
import OsusumeModels

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks: data import, model fit and evaluation, the tensor engine.",
        subcommands: [BenchDataCommand.self, BenchEngineCommand.self, BenchServeCommand.self, BenchEventsCommand.self, BenchEaseCommand.self])
}

struct BenchDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Time importing a data set (median of several runs).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Runs.")
    var runs = 5

    func run() throws {
        global.apply()
        ProgressReporter.quietByDefault = true
        var times: [Double] = []
        var d: Dataset?
        for _ in 0..<max(1, runs) {
            let t0 = Date()
            d = try DatasetLoader.load(path: try dataOptions.data ?? BundledData.path(), format: dataOptions.format)
            times.append(Date().timeIntervalSince(t0))
        }
        times.sort()
        let median = times[times.count / 2]
        if global.json {
            try printJSON(["dataset": datasetJSON(d!, filters: "none"), "runs": times.count, "median_s": median, "min_s": times[0]] as [String: Any])
        } else {
            print(String(format: "import %@: median %.3fs, best %.3fs over %d runs (%d interactions)", d!.name, median, times[0], times.count, d!.log.count))
        }
    }
}
