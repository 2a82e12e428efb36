import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum AtomicFile {
    /// Writes `data` to `url` through a temporary file in the same directory and a rename, so a
    /// reader sees either the old file or the complete new one, never a partial write.
    public static func write(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try data.write(to: tmp)
            // rename(2) replaces an existing file atomically (FileManager.replaceItemAt fails on
            // Linux when the destination exists, and removes it).
            if rename(tmp.path, url.path) != 0 {
                throw OsusumeError.file(url.path, problem: "rename failed (errno \(errno))")
            }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw OsusumeError.file(url.path, problem: "could not write: \(error.localizedDescription)")
        }
    }

    /// Like `write(_:to:)`, with the content streamed by `fill` into the temporary file (for
    /// files too large to build in memory first); the file is synced before the rename.
    public static func write(to url: URL, _ fill: (FileHandle) throws -> Void) throws {
        let dir = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        do {
            guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else { throw OsusumeError.file(tmp.path, problem: "cannot be created") }
            let handle = try FileHandle(forWritingTo: tmp)
            do {
                try fill(handle)
                try handle.synchronize()
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
            if rename(tmp.path, url.path) != 0 {
                throw OsusumeError.file(url.path, problem: "rename failed (errno \(errno))")
            }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw OsusumeError.file(url.path, problem: "could not write: \(error.localizedDescription)")
        }
    }

    /// Replaces directory `url` with a directory produced by `fill` in a temporary sibling,
    /// then renamed into place (the old one, if any, is removed after the new one is complete).
    public static func writeDirectory(at url: URL, _ fill: (URL) throws -> Void) throws {
        let fm = FileManager.default
        let parent = url.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        let tmp = parent.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
        do {
            try fill(tmp)
            if fm.fileExists(atPath: url.path) {
                let old = parent.appendingPathComponent(".\(url.lastPathComponent).old-\(UInt32.random(in: 0...UInt32.max))")
                try fm.moveItem(at: url, to: old)
                try fm.moveItem(at: tmp, to: url)
                try? fm.removeItem(at: old)
            } else {
                try fm.moveItem(at: tmp, to: url)
            }
        } catch {
            try? fm.removeItem(at: tmp)
            throw error
        }
    }
}
