import Foundation
import OsusumeCore

/// Lines a lenient read left out, by kind of problem. Importers are strict by default: the first
/// malformed line stops the import with its file, line and reason. Reading with `--lenient`
/// binds a `SkippedLines` (see `DatasetLoader.load(path:format:lenient:)`), and every malformed
/// data line of a line-based format is then skipped and counted here instead; problems with a
/// file as a whole (missing, empty, a bad header or first line, broken quoting) still stop it.
public final class SkippedLines: @unchecked Sendable, CustomStringConvertible {
    /// One kind of problem: how often it was seen and where first.
    public struct Kind: Sendable, Equatable, Codable {
        /// The problem with its values taken out ("rating is not a number: '…'").
        public var problem: String
        public var count: Int
        /// `file:line` of the first line with it, and that line's full message.
        public var first: String
    }

    /// The collector of the import running on this task (nil: strict).
    @TaskLocal public static var current: SkippedLines?

    private let lock = NSLock()
    private var byProblem: [String: Int] = [:]
    private var list: [Kind] = []

    public init() {}

    /// Records a skipped line.
    func skip(_ error: OsusumeError) {
        let kind: String
        if case let .malformed(_, _, problem) = error { kind = Self.kind(of: problem) } else { kind = error.description }
        lock.lock(); defer { lock.unlock() }
        if let i = byProblem[kind] { list[i].count += 1; return }
        byProblem[kind] = list.count
        list.append(Kind(problem: kind, count: 1, first: error.description))
    }

    /// The kinds in order of first appearance.
    public var kinds: [Kind] { lock.lock(); defer { lock.unlock() }; return list }
    public var total: Int { kinds.reduce(0) { $0 + $1.count } }

    public var description: String {
        let k = kinds
        guard !k.isEmpty else { return "lenient read: no malformed lines" }
        return "lenient read: skipped \(total) malformed line\(total == 1 ? "" : "s"): "
            + k.map { "\($0.count) × \($0.problem) (first: \($0.first))" }.joined(separator: "; ")
    }

    /// "movieId 99 is not in movies.csv" → "movieId N is not in movies.csv"; quoted values → '…'.
    static func kind(of problem: String) -> String {
        var out = ""
        var inQuote = false, lastDigit = false
        for ch in problem {
            if ch == "'" {
                if inQuote { out += "…'" } else { out.append(ch) }
                inQuote.toggle(); lastDigit = false
                continue
            }
            if inQuote { continue }
            if ch.isNumber {
                if !lastDigit { out.append("N") }
                lastDigit = true
                continue
            }
            lastDigit = false
            out.append(ch)
        }
        return out
    }
}
