import Foundation
import OsusumeCore

/// SASRec / BERT4Rec / S3-Rec sequence files, a `.txt` file in one of two layouts:
/// - one line per user, `user item item …`, items in time order (ml-1m.txt, Beauty.txt);
/// - one pair per line, `user item`, each user's lines in time order (kang205/SASRec's ml-1m.txt).
/// Both read the same way, as SASRec's own loader does: the first field is the user, the rest
/// are items appended to that user's sequence in file order (a user's lines need not be adjacent).
/// There are no timestamps: each interaction's timestamp is its position in the file
/// (`hasTimestamps == false`), which keeps every user's time order.
public struct SASRecImporter: DatasetImporter {
    public let format = "sasrec"
    public let expects = "a .txt file with lines 'user item item …' or 'user item'"

    /// Which of the two layouts a file uses.
    public enum Layout: String, Sendable {
        /// One line per user.
        case sequencePerLine = "sequence per line"
        /// One `user item` pair per line.
        case pairPerLine = "pair per line"
    }

    public init() {}

    public func detect(path: String) -> String? {
        guard DataPath.isFile(path), path.lowercased().hasSuffix(".txt"), let head = DataPath.head(path) else { return nil }
        // The first few complete lines must be whitespace-separated integers, at least two a line.
        var lines = head.split(separator: 10, omittingEmptySubsequences: true)
        if head.count == 4096, lines.count > 1 { lines.removeLast() }
        guard !lines.isEmpty else { return nil }
        var maxFields = 0
        for line in lines.prefix(20) {
            let fields = line.split(whereSeparator: { $0 == 32 || $0 == 9 || $0 == 13 })
            guard fields.count >= 2, fields.allSatisfy({ $0.allSatisfy { $0 >= 48 && $0 <= 57 } }) else { return nil }
            maxFields = max(maxFields, fields.count)
        }
        return maxFields > 2 ? "user sequences, one per line" : "user item pairs"
    }

    public func load(path: String) throws -> Dataset {
        var (dataset, layout) = try loadWithLayout(path: path)
        logLine("sasrec: \(DataPath.lastComponent(path)) has \(layout.rawValue)")
        try attachSideInformation(to: &dataset, beside: path)
        return dataset
    }

    /// The SASRec preprocessing of ML-1M leaves `sas_to_original_items.txt` and
    /// `sas_to_original_users.txt` (`sasID originalID` per line) beside the sequence file; with
    /// the original movies.dat / users.dat there too, titles, genres, years and user features
    /// (gender, age, occupation, zip) are attached under the SASRec ids.
    func attachSideInformation(to dataset: inout Dataset, beside path: String) throws {
        let dir = DataPath.folder(of: path)
        let itemMap = DataPath.join(dir, "sas_to_original_items.txt"), movies = DataPath.join(dir, "movies.dat")
        if DataPath.isFile(itemMap) && DataPath.isFile(movies) {
            var original = Catalog()
            try MovieLensDatImporter.readMovies(movies, into: &original)
            var attached = 0
            for (sasID, originalID) in try Self.readIDMap(itemMap) {
                guard var item = original[originalID] else { continue }
                item.id = sasID
                item.links["movielens"] = originalID
                dataset.catalog.upsert(item)
                attached += 1
            }
            logLine("sasrec: titles and genres of \(attached) items from movies.dat via sas_to_original_items.txt")
        }
        let userMap = DataPath.join(dir, "sas_to_original_users.txt"), users = DataPath.join(dir, "users.dat")
        if DataPath.isFile(userMap) && DataPath.isFile(users) {
            var byOriginal: [String: [String: String]] = [:]
            try TextFile(path: users).forEachRecord(.doubleColon) { r in
                try r.expectFields(5, "UserID::Gender::Age::Occupation::Zip")
                byOriginal[r.trimmedString(0)] = [
                    "gender": r.string(1), "age": r.string(2),
                    "occupation": r.string(3), "zip": r.string(4),
                ]
            }
            for (sasID, originalID) in try Self.readIDMap(userMap) {
                if let f = byOriginal[originalID] { dataset.userFeatures[sasID] = f }
            }
            logLine("sasrec: features of \(dataset.userFeatures.count) users from users.dat via sas_to_original_users.txt")
        }
    }

    static func readIDMap(_ path: String) throws -> [(String, String)] {
        var pairs: [(String, String)] = []
        try TextFile(path: path).forEachRecord(.whitespace) { r in
            try r.expectFields(2, "sasID originalID")
            pairs.append((r.trimmedString(0), r.trimmedString(1)))
        }
        return pairs
    }

    /// Loads the file and says which layout it had: `pairPerLine` when every line is one pair
    /// and some user spans several lines.
    public func loadWithLayout(path: String) throws -> (dataset: Dataset, layout: Layout) {
        let file = try TextFile(path: path)
        var b = LogBuilder()
        b.reserve(file.bytes.count / 5)
        var maxFields = 0, lines = 0
        try file.forEachRecord(.whitespace) { r in
            if r.count < 2 { throw r.malformed("expected a user id followed by at least one item id, found \(r.count) field") }
            // The format's ids are integers (checked before anything is added, so a lenient read
            // skips the whole line): a word here is a broken file or another format.
            _ = try r.integerID(0, "user id")
            for k in 1..<r.count { _ = try r.integerID(k, "item \(k)") }
            let u = b.users.intern(r.bytes(0), encoding: r.encoding)
            for k in 1..<r.count {
                let i = b.items.intern(r.bytes(k), encoding: r.encoding)
                b.append(user: u, item: i, timestamp: nil, rating: .nan)
            }
            maxFields = max(maxFields, r.count)
            lines += 1
        }
        let log = b.build(hasTimestamps: false, hasRatings: false)
        let layout: Layout = (maxFields == 2 && lines > log.userCount) ? .pairPerLine : .sequencePerLine
        let dataset = Dataset(name: DataPath.datasetName(path), format: format, log: log)
        return (dataset, layout)
    }
}
