import Foundation

/// How much memory this process may still use, so that work too large for the machine stops
/// early with the figure instead of being killed by the kernel half-way.
///
/// The limit is the smallest of the memory available on the machine (`MemAvailable`), the
/// container's (cgroup) limit less its current use, and `OSUSUME_MEMORY_LIMIT` (bytes, or with
/// a K, M, G or T suffix) when set.
public enum MemoryBudget {
    /// Set by tests to pretend a smaller machine.
    nonisolated(unsafe) public static var testLimit: Int?

    /// Bytes this process may still allocate, or nil where nothing can be read (then nothing is
    /// refused).
    public static func available() -> Int? {
        if let t = testLimit { return t }
        var limits: [Int] = []
        if let v = ProcessInfo.processInfo.environment["OSUSUME_MEMORY_LIMIT"], let b = parseBytes(v) { limits.append(b) }
        if let info = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
            for line in info.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
                let fields = line.split(separator: " ")
                if fields.count >= 2, let kb = Int(fields[1]) { limits.append(kb * 1024) }
            }
        }
        if let max = read("/sys/fs/cgroup/memory.max"), let current = read("/sys/fs/cgroup/memory.current") {
            limits.append(Swift.max(0, max - current))
        } else if let max = read("/sys/fs/cgroup/memory/memory.limit_in_bytes"), let used = read("/sys/fs/cgroup/memory/memory.usage_in_bytes"), max < 1 << 60 {
            limits.append(Swift.max(0, max - used))
        }
        return limits.min()
    }

    /// Throws `OsusumeError.memory` when `bytes` more would not fit: "`what` needs 5.9 GB (…),
    /// 2.1 GB available; `advice`".
    public static func require(_ bytes: Int, for what: String, detail: String = "", advice: String) throws {
        guard let free = available(), bytes > free else { return }
        let parts = detail.isEmpty ? "" : " (\(detail))"
        throw OsusumeError.memory("\(what) needs \(format(bytes))\(parts), but \(format(free)) is available; \(advice)")
    }

    /// "512 KB", "3.0 GB".
    public static func format(_ bytes: Int) -> String {
        let b = Double(bytes)
        if b >= 1e9 { return String(format: "%.1f GB", b / 1e9) }
        if b >= 1e6 { return String(format: "%.0f MB", b / 1e6) }
        return String(format: "%.0f KB", b / 1e3)
    }

    /// "8G", "512M", "1000000".
    public static func parseBytes(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        guard let last = t.last else { return nil }
        let scale: Double
        var number = t
        switch last {
        case "K": scale = 1e3
        case "M": scale = 1e6
        case "G": scale = 1e9
        case "T": scale = 1e12
        default: scale = 1
        }
        if scale != 1 { number.removeLast() }
        guard let v = Double(number), v >= 0, v * scale < 9e18 else { return nil }
        return Int(v * scale)
    }

    private static func read(_ path: String) -> Int? {
        guard let s = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Int(s.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// This process's resident memory by kind (Linux `/proc/self/status`): private memory
/// (`RssAnon`) and pages of mapped files (`RssFile`), which processes mapping the same file share.
public struct ProcessMemory: Sendable, CustomStringConvertible {
    public var residentBytes: Int
    public var privateBytes: Int
    public var fileBytes: Int
    public var peakBytes: Int
    /// Resident memory with each shared page divided among the processes that map it.
    public var proportionalBytes: Int

    public static func current() -> ProcessMemory {
        var m = ProcessMemory(residentBytes: 0, privateBytes: 0, fileBytes: 0, peakBytes: 0, proportionalBytes: 0)
        if let r = try? String(contentsOfFile: "/proc/self/smaps_rollup", encoding: .utf8) {
            for line in r.split(separator: "\n") where line.hasPrefix("Pss:") {
                let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                if f.count >= 2, let kb = Int(f[1]) { m.proportionalBytes = kb * 1024 }
            }
        }
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return m }
        for line in s.split(separator: "\n") {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count >= 2, let kb = Int(f[1]) else { continue }
            switch f[0] {
            case "VmRSS:": m.residentBytes = kb * 1024
            case "RssAnon:": m.privateBytes = kb * 1024
            case "RssFile:": m.fileBytes = kb * 1024
            case "VmHWM:": m.peakBytes = kb * 1024
            default: break
            }
        }
        return m
    }

    public var description: String {
        "resident \(MemoryBudget.format(residentBytes)) (private \(MemoryBudget.format(privateBytes)), mapped files \(MemoryBudget.format(fileBytes))), proportional \(MemoryBudget.format(proportionalBytes)), peak \(MemoryBudget.format(peakBytes))"
    }

    public var json: [String: Int] {
        [
            "resident_bytes": residentBytes, "private_bytes": privateBytes, "file_bytes": fileBytes, "peak_bytes": peakBytes,
            "proportional_bytes": proportionalBytes,
        ]
    }
}
