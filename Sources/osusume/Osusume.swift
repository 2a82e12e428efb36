import ArgumentParser
import Foundation
import OsusumeCore
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
        ]
    )

    static func main() {
        NeuralModels.register()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

enum OsusumeVersion { static let string = "0.1.0" }
