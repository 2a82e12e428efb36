import ArgumentParser
import Foundation
import OsusumeCore
import OsusumeModels
import OsusumeNeural

@main
struct Osusume: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "osusume",
        abstract: "Osusume (おすすめ): train, evaluate and serve recommendations from interaction logs.",
        discussion: """
            Start with `osusume quickstart`: it fits Popularity, ItemKNN and EASE on the bundled \
            MovieLens data, evaluates them (leave-one-out, full ranking) and shows recommendations.
            """,
        version: OsusumeVersion.string,
        subcommands: [
            QuickstartCommand.self, ImportCommand.self, InfoCommand.self, TrainCommand.self,
            EvaluateCommand.self, SplitCommand.self, RecommendCommand.self, SimilarCommand.self, BenchCommand.self, ServeCommand.self,
            RetrainCommand.self, EventsCommand.self, SynthCommand.self, TuneCommand.self,
        ]
    )

    static func main() {
        restartWithFasterBLASKernelsIfNeeded()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// Restarts the process once with `OPENBLAS_CORETYPE` set when OpenBLAS chose generic kernels on
/// a CPU that runs faster ones (see `BLASKernels`); the variable then also marks the restart.
func restartWithFasterBLASKernelsIfNeeded() {
    #if os(Linux)
    guard let core = BLASKernels.betterCoreType() else { return }
    setenv("OPENBLAS_CORETYPE", core, 1)
    let args = CommandLine.arguments
    var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
    argv.append(nil)
    execv("/proc/self/exe", &argv)
    // execv returns only on failure: go on with the slower kernels.
    FileHandle.standardError.write(Data("osusume: OpenBLAS uses generic kernels (\(BLASKernels.coreName ?? "?")); set OPENBLAS_CORETYPE=\(core) for speed\n".utf8))
    #endif
}

/// The model kinds this command line offers: every kind of OsusumeModels and OsusumeNeural.
let modelKinds = ModelKinds.standard.adding(NeuralModels.all)

enum OsusumeVersion { static let string = "0.1.0" }
