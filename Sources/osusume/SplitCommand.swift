import ArgumentParser
import Foundation
import OsusumeCore
import OsusumeData

struct SplitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Split a data set exactly as `evaluate` does and write the parts as files.",
        discussion: "train.tsv (user, item, rating), validation.jsonl and test.jsonl (user, history, targets), split.json; for measuring another tool on the same split.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var splitOptions: SplitOptions
    @Option(help: "Output folder (replaced atomically).")
    var out: String

    func run() throws {
        global.apply()
        let d = try dataOptions.load()
        let split = try splitOptions.splitter().split(d.log)
        try SplitExport.write(split, to: URL(fileURLWithPath: out))
        if global.json {
            try printJSON(
                [
                    "split": split.name, "out": out, "train": split.train.count,
                    "validation": split.validation.count, "test": split.test.count,
                ] as [String: Any])
        } else {
            print("wrote \(out): \(split.name), \(split.train.count) training interactions, \(split.validation.count) validation and \(split.test.count) test cases")
        }
    }
}
