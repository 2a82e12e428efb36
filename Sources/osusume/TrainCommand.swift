import ArgumentParser
import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fit a model on all the (filtered) data and save it for recommend, similar and serve.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Model: \(modelKinds.names.joined(separator: ", ")).")
    var model: String
    @OptionGroup var settings: ModelSettings
    @Option(help: "Directory to write the model to (replaced atomically).")
    var out: String
    @Option(help: "Keep training checkpoints here so an interrupted run resumes.")
    var checkpoints: String?

    func run() throws {
        global.apply()
        let m = try modelKinds.make(model, settings: settings.dictionary(model: model))
        let (dataset, eventsThrough) = try dataOptions.loadWithEvents()
        let training = TrainingData(
            log: dataset.log, catalog: dataset.catalog, userFeatures: dataset.userFeatures,
            checkpointDirectory: checkpoints.map { URL(fileURLWithPath: $0) })
        let trained = try TrainedModel.fit(m, dataset: dataset, training: training, source: try dataOptions.source(), eventsThrough: eventsThrough)
        try trained.save(to: URL(fileURLWithPath: out))
        if global.json {
            try printJSON(
                [
                    "model": type(of: m).kind, "config": m.configDictionary, "out": out,
                    "dataset": datasetJSON(dataset, filters: dataOptions.filterDescription),
                    "timings": ["fit_s": trained.manifest.fitSeconds],
                ] as [String: Any])
        } else {
            print(String(format: "fitted %@ in %.2fs; saved to %@", type(of: m).kind, trained.manifest.fitSeconds, out))
        }
    }
}
