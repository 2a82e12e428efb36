import Foundation

/// Errors Osusume reports to people: each says what went wrong and, where it can, where.
public enum OsusumeError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// A malformed input line: file, 1-based line number, problem.
    case malformed(file: String, line: Int, problem: String)
    /// A file that is missing, unreadable or of the wrong kind.
    case file(String, problem: String)
    /// A bad argument or setting (unknown key, value out of range, …).
    case invalidArgument(String)
    /// An id that is not in the data or model.
    case unknownID(kind: String, id: String)
    /// Data that cannot be used (for example empty after filtering).
    case emptyData(String)
    case numeric(String)
    case modelFile(String)
    /// Work that would not fit the memory this process may use, refused before it starts.
    case memory(String)

    public var description: String {
        switch self {
        case let .malformed(file, line, problem): return "\(file):\(line): \(problem)"
        case let .file(path, problem): return "\(path): \(problem)"
        case let .invalidArgument(m): return m
        case let .unknownID(kind, id): return "unknown \(kind) '\(id)'"
        case let .emptyData(m): return m
        case let .numeric(m): return m
        case let .modelFile(m): return "model file: \(m)"
        case let .memory(m): return m
        }
    }
    public var errorDescription: String? { description }
}
