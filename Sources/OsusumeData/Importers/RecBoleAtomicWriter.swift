import Foundation
import OsusumeCore

/// Writes a data set as RecBole atomic files (`NAME.inter`, `NAME.item`, `NAME.user`), the
/// interchange format `osusume import` produces: readable by Osusume's `recbole` importer and by
/// RecBole itself. Tab-separated with typed headers; token sequences separated by spaces.
public enum RecBoleAtomicWriter {
    public static func write(_ d: Dataset, to folder: URL, name: String) throws {
        let log = d.log
        var inter = "user_id:token\titem_id:token\ttimestamp:float"
        if log.hasRatings { inter += "\trating:float" }
        inter += "\n"
        inter.reserveCapacity(log.count * 24)
        for r in 0..<log.count {
            inter += log.userIDs.id(of: log.users[r]) + "\t" + log.itemIDs.id(of: log.items[r]) + "\t" + String(log.timestamps[r])
            if log.hasRatings { inter += "\t" + (log.ratings[r].isNaN ? "" : formatRating(log.ratings[r])) }
            inter += "\n"
        }
        try AtomicFile.write(Data(inter.utf8), to: folder.appendingPathComponent("\(name).inter"))
        if !d.catalog.isEmpty {
            var item = "item_id:token\ttitle:token_seq\tgenre:token_seq\trelease_year:token\ttype:token\timage_url:token\n"
            for c in d.catalog.items {
                item +=
                    [
                        clean(c.id), clean(c.title), c.genres.map { clean($0).replacingOccurrences(of: " ", with: "_") }.joined(separator: " "),
                        c.year.map(String.init) ?? "", clean(c.type ?? ""), clean(c.imageURL ?? ""),
                    ].joined(separator: "\t") + "\n"
            }
            try AtomicFile.write(Data(item.utf8), to: folder.appendingPathComponent("\(name).item"))
        }
        if !d.userFeatures.isEmpty {
            let keys = Set(d.userFeatures.values.flatMap { $0.keys }).sorted()
            var user = (["user_id:token"] + keys.map { "\($0):token" }).joined(separator: "\t") + "\n"
            for (id, f) in d.userFeatures.sorted(by: { $0.key < $1.key }) {
                user += ([clean(id)] + keys.map { clean(f[$0] ?? "") }).joined(separator: "\t") + "\n"
            }
            try AtomicFile.write(Data(user.utf8), to: folder.appendingPathComponent("\(name).user"))
        }
    }

    private static func clean(_ s: String) -> String {
        s.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
    }

    private static func formatRating(_ r: Float) -> String {
        r == r.rounded() ? String(Int(r)) : String(r)
    }
}
