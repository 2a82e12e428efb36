import Foundation
import OsusumeCore

/// How the bytes of a text file become characters.
public enum TextEncoding: String, Sendable {
    /// Valid UTF-8 (plain ASCII included).
    case utf8
    /// Not valid UTF-8: every byte is read as one ISO-8859-1 character, which never fails.
    /// Old GroupLens files (ML-100k u.item, ML-1M movies.dat) are in this encoding.
    case latin1
}

/// A whole text file in memory as bytes, with its encoding decided once for the file.
///
/// Parsers work on the bytes directly (see `DelimitedScanner`) and turn only the fields they
/// keep into `String`s, which is what makes large rating files fast to read.
public struct TextFile: Sendable {
    /// The path as given, used in every error message.
    public let path: String
    /// The file's bytes, without a leading UTF-8 byte-order mark.
    public let bytes: [UInt8]
    public let encoding: TextEncoding

    /// Reads `path`. Throws `OsusumeError.file` when it is missing, a folder or unreadable.
    public init(path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw OsusumeError.file(path, problem: "file not found")
        }
        if isDir.boolValue { throw OsusumeError.file(path, problem: "is a folder, expected a file") }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        // The bytes, and about as much again for the columns parsed out of them.
        try MemoryBudget.require(
            2 * size, for: "reading \(path)", detail: "the file's \(MemoryBudget.format(size)) and the columns parsed from it",
            advice: "split the file, or use a machine with more memory")
        guard let bytes = TextFile.readAll(path) else { throw OsusumeError.file(path, problem: "could not be read") }
        self.init(path: path, bytes: bytes)
    }

    /// The whole file straight into one array (no second copy through `Data`).
    static func readAll(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        if fseek(f, 0, SEEK_END) == 0 {
            let size = ftell(f)
            if size > 0 { out.reserveCapacity(Int(size)) }
            rewind(f)
        }
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress!, 1, $0.count, f) }
            if n > 0 { out.append(contentsOf: chunk[0..<n]) }
            if n < chunk.count {
                if ferror(f) != 0 { return nil }
                break
            }
        }
        return out
    }

    /// Wraps bytes already in memory (tests, decompressed data). `path` names them in errors.
    public init(path: String, bytes: [UInt8]) {
        self.path = path
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            self.bytes = Array(bytes[3...])
        } else {
            self.bytes = bytes
        }
        self.encoding = TextFile.isValidUTF8(self.bytes) ? .utf8 : .latin1
    }

    /// The text of `bytes[range]` in the file's encoding.
    @inlinable
    public func string(_ range: Range<Int>) -> String {
        bytes.withUnsafeBufferPointer { TextFile.decode(UnsafeBufferPointer(rebasing: $0[range]), encoding) }
    }

    /// The whole file as text.
    public var text: String { string(0..<bytes.count) }

    /// Decodes raw bytes as UTF-8 or latin-1.
    @inlinable
    public static func decode(_ raw: UnsafeBufferPointer<UInt8>, _ encoding: TextEncoding) -> String {
        switch encoding {
        case .utf8:
            return String(decoding: raw, as: UTF8.self)
        case .latin1:
            // Latin-1 bytes are the first 256 Unicode scalars; ASCII-only text takes the fast path.
            if !raw.contains(where: { $0 >= 0x80 }) { return String(decoding: raw, as: UTF8.self) }
            var scalars = String.UnicodeScalarView()
            for b in raw { scalars.append(Unicode.Scalar(b)) }
            return String(scalars)
        }
    }

    /// True when `bytes` are well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
    public static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { p in
            let n = p.count
            var i = 0
            while i < n {
                let b = p[i]
                if b < 0x80 { i += 1; continue }
                let need: Int, minimum: UInt32
                var scalar: UInt32
                if b & 0xE0 == 0xC0 {
                    need = 1; minimum = 0x80; scalar = UInt32(b & 0x1F)
                } else if b & 0xF0 == 0xE0 {
                    need = 2; minimum = 0x800; scalar = UInt32(b & 0x0F)
                } else if b & 0xF8 == 0xF0 {
                    need = 3; minimum = 0x10000; scalar = UInt32(b & 0x07)
                } else {
                    return false
                }
                if i + need >= n { return false } // truncated sequence at the end
                for k in 1...need {
                    let c = p[i + k]
                    if c & 0xC0 != 0x80 { return false }
                    scalar = scalar << 6 | UInt32(c & 0x3F)
                }
                if scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) { return false }
                i += need + 1
            }
            return true
        }
    }
}
