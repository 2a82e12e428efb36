import Foundation
import XCTest
import OsusumeCore
@testable import OsusumeData

/// A temporary folder for generated test files, removed when the test ends.
final class TempFolder {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("osusume-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` (UTF-8) to `name` inside the folder (creating subfolders) and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, bytes: Array(text.utf8))
    }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) throws -> String {
        let p = (path as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    func sub(_ name: String) throws -> String {
        let p = (path as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }
}

enum TestPaths {
    /// The package root, from this file's location (Tests/OsusumeDataTests/…).
    static let packageRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }()

    /// /work/shared/data seen from the package root as ../shared/data; skips the test when absent.
    static func sharedData(_ sub: String) throws -> String {
        let root = URL(fileURLWithPath: packageRoot).deletingLastPathComponent().appendingPathComponent("shared/data").path
        let p = (root as NSString).appendingPathComponent(sub)
        guard FileManager.default.fileExists(atPath: p) else {
            throw XCTSkip("\(root) not found: skipping real-data test")
        }
        return p
    }
}

/// Asserts that `body` throws `OsusumeError.malformed` for `file` (last path component) and
/// `line`, with a problem containing `problem`.
func assertMalformed<T>(
    _ body: @autoclosure () throws -> T, file expectedFile: String, line expectedLine: Int,
    problem: String, sourceFile: StaticString = #filePath, sourceLine: UInt = #line
) {
    do {
        _ = try body()
        XCTFail("expected a malformed-line error at \(expectedFile):\(expectedLine)", file: sourceFile, line: sourceLine)
    } catch let OsusumeError.malformed(file, line, message) {
        XCTAssertEqual((file as NSString).lastPathComponent, expectedFile, file: sourceFile, line: sourceLine)
        XCTAssertEqual(line, expectedLine, "problem was: \(message)", file: sourceFile, line: sourceLine)
        XCTAssertTrue(message.contains(problem), "'\(message)' does not mention '\(problem)'", file: sourceFile, line: sourceLine)
        let description = OsusumeError.malformed(file: file, line: line, problem: message).description
        XCTAssertTrue(description.contains("\(expectedFile):\(expectedLine):"), description, file: sourceFile, line: sourceLine)
    } catch {
        XCTFail("expected a malformed-line error, got \(error)", file: sourceFile, line: sourceLine)
    }
}

/// External ids of a log's rows as (user, item) pairs, for readable assertions.
func pairs(_ log: InteractionLog) -> [String] {
    (0..<log.count).map { "\(log.userIDs.id(of: log.users[$0]))-\(log.itemIDs.id(of: log.items[$0]))" }
}

/// A log from "user item timestamp [rating]" strings.
func makeLog(_ rows: [(String, String, Int64, Float?)]) -> InteractionLog {
    var log = InteractionLog()
    for r in rows { log.append(user: r.0, item: r.1, timestamp: r.2, rating: r.3) }
    log.hasTimestamps = true
    log.hasRatings = rows.contains { $0.3 != nil }
    return log
}

/// Records of a file's bytes as string arrays.
func records(_ text: String, _ format: DelimitedFormat) throws -> [[String]] {
    var out: [[String]] = []
    try TextFile(path: "test.txt", bytes: Array(text.utf8)).forEachRecord(format) { out.append($0.strings()) }
    return out
}
