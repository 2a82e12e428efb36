import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Progress of long work on stderr: a redrawn line on a terminal, plain log lines otherwise
/// (at most one every `plainInterval` seconds, plus the final one).
public final class ProgressReporter: @unchecked Sendable {
    public let label: String
    public private(set) var total: Int
    private let start = Date()
    private var lastPrint = Date.distantPast
    private let isTTY: Bool
    private let quiet: Bool
    private let plainInterval: TimeInterval
    private let lock = NSLock()

    public init(_ label: String, total: Int, quiet: Bool = ProgressReporter.quietByDefault, plainInterval: TimeInterval = 5) {
        self.label = label
        self.total = total
        self.quiet = quiet
        self.plainInterval = plainInterval
        self.isTTY = isatty(2) != 0
    }

    /// Set by the CLI's `--quiet` and by tests.
    nonisolated(unsafe) public static var quietByDefault = false

    /// Changes the total once it is known.
    public func updateTotal(_ t: Int) { lock.lock(); total = t; lock.unlock() }

    /// Ends the line with a summary, e.g. "loss 0.1234 in 3.2s".
    public func finish(_ summary: String) {
        if quiet { return }
        let line = "\(label) " + summary
        FileHandle.standardError.write(Data(((isTTY ? "\r\u{1B}[2K" : "") + line + "\n").utf8))
    }

    /// Reports `done` of `total` units with optional extra fields such as `loss=0.1234`.
    public func update(_ done: Int, _ fields: [(String, String)] = []) {
        if quiet { return }
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        let finished = done >= total
        if !finished {
            if isTTY ? now.timeIntervalSince(lastPrint) < 0.1 : now.timeIntervalSince(lastPrint) < plainInterval { return }
        }
        lastPrint = now
        let elapsed = now.timeIntervalSince(start)
        var parts = ["\(label) \(done)/\(total)"]
        if total > 0 {
            parts.append(String(format: "%3.0f%%", 100 * Double(done) / Double(total)))
        }
        for (k, v) in fields { parts.append("\(k)=\(v)") }
        if finished {
            parts.append("in " + ProgressReporter.duration(elapsed))
        } else if done > 0 {
            parts.append("ETA " + ProgressReporter.duration(elapsed / Double(done) * Double(total - done)))
        }
        let line = parts.joined(separator: " ")
        if isTTY {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line + (finished ? "\n" : "")).utf8))
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    public static func duration(_ s: Double) -> String {
        if s < 60 { return String(format: "%.1fs", s) }
        let m = Int(s) / 60, sec = Int(s) % 60
        if m < 60 { return String(format: "%dm%02ds", m, sec) }
        return String(format: "%dh%02dm", m / 60, m % 60)
    }
}

/// A line on stderr (logs never go to stdout, which carries `--json` output).
public func logLine(_ message: String) {
    if ProgressReporter.quietByDefault { return }
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// CPU time (user + system, all threads) used by this process so far, in seconds. Unlike wall
/// time it does not grow while other processes hold the cores, so figures taken on a busy
/// machine stay meaningful.
public func processCPUSeconds() -> Double {
    var usage = rusage()
    #if canImport(Glibc)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}
