import Foundation
import OsusumeCore

/// Writes a split as plain files, so that another tool can be measured on exactly the same
/// train / validation / test parts (the peer benchmarks read them):
///
/// - `train.tsv`: `user<TAB>item<TAB>rating` per training interaction, original ids, each user's
///   interactions in time order (rating empty when unknown);
/// - `validation.jsonl`, `test.jsonl`: one case per line,
///   `{"user":"…","history":["…",…],"targets":["…",…]}` (the history is what the model is given,
///   the targets what it should rank high);
/// - `split.json`: the splitter's name and the counts.
///
/// The directory is written atomically (complete or not at all).
public enum SplitExport {
    public static func write(_ split: SplitResult, to directory: URL) throws {
        let log = split.train
        try AtomicFile.writeDirectory(at: directory) { dir in
            var train = ""
            train.reserveCapacity(log.count * 16)
            for rows in log.rowsByUser() {
                for r in rows {
                    train += log.userIDs.id(of: log.users[r])
                    train += "\t"
                    train += log.itemIDs.id(of: log.items[r])
                    train += "\t"
                    if log.hasRatings, r < log.ratings.count, !log.ratings[r].isNaN { train += String(log.ratings[r]) }
                    train += "\n"
                }
            }
            try Data(train.utf8).write(to: dir.appendingPathComponent("train.tsv"))
            for (name, cases) in [("validation", split.validation), ("test", split.test)] {
                var out: [UInt8] = []
                func list(_ items: [Int32]) {
                    out.append(UInt8(ascii: "["))
                    for (k, i) in items.enumerated() {
                        if k > 0 { out.append(UInt8(ascii: ",")) }
                        JSONString.append(log.itemIDs.id(of: i), to: &out)
                    }
                    out.append(UInt8(ascii: "]"))
                }
                for c in cases {
                    out.append(contentsOf: Array("{\"user\":".utf8))
                    JSONString.append(log.userIDs.id(of: c.user), to: &out)
                    out.append(contentsOf: Array(",\"history\":".utf8)); list(c.history)
                    out.append(contentsOf: Array(",\"targets\":".utf8)); list(c.targets)
                    out.append(contentsOf: Array("}\n".utf8))
                }
                try Data(out).write(to: dir.appendingPathComponent("\(name).jsonl"))
            }
            let summary: [String: Any] = [
                "split": split.name,
                "trainInteractions": log.count,
                "trainUsers": log.userCounts().filter { $0 > 0 }.count,
                "items": log.itemCount,
                "validationCases": split.validation.count,
                "testCases": split.test.count,
            ]
            let json = try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys])
            try json.write(to: dir.appendingPathComponent("split.json"))
        }
    }
}
