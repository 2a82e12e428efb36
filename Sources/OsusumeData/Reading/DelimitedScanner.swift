import OsusumeCore

/// How a delimited text file separates records and fields.
public struct DelimitedFormat: Sendable, Equatable {
    public enum Separator: Sendable, Equatable {
        /// One byte such as `,`, tab or `|`.
        case byte(UInt8)
        /// A multi-byte separator such as MovieLens `::`.
        case sequence([UInt8])
        /// Runs of spaces and tabs; leading and trailing blanks are ignored (SASRec files).
        case whitespace
    }

    public var separator: Separator
    /// RFC 4180 quoting: a field that starts with `"` runs to the matching `"`, may contain
    /// separators and line breaks, and writes a quote as `""`.
    public var quoting: Bool

    public init(separator: Separator, quoting: Bool = false) {
        self.separator = separator; self.quoting = quoting
    }

    public static let csv = DelimitedFormat(separator: .byte(UInt8(ascii: ",")), quoting: true)
    public static let tsv = DelimitedFormat(separator: .byte(UInt8(ascii: "\t")))
    public static let pipe = DelimitedFormat(separator: .byte(UInt8(ascii: "|")))
    public static let doubleColon = DelimitedFormat(separator: .sequence(Array("::".utf8)))
    public static let whitespace = DelimitedFormat(separator: .whitespace)

    /// A single-byte separator with optional quoting.
    public static func delimiter(_ byte: UInt8, quoting: Bool = false) -> DelimitedFormat {
        DelimitedFormat(separator: .byte(byte), quoting: quoting)
    }
}

/// Where one field lies in the file's bytes (quotes excluded).
public struct FieldSpan: Sendable, Equatable {
    public var start: Int
    public var end: Int
    /// The field was quoted and holds `""` pairs that stand for one `"`.
    public var hasEscapedQuotes: Bool
}

/// One record (usually one line) of a delimited file, valid only inside the scanning callback.
/// Accessors that convert fields throw `OsusumeError.malformed` naming the file and line.
public struct Record {
    @usableFromInline let base: UnsafeBufferPointer<UInt8>
    @usableFromInline let spans: UnsafeBufferPointer<FieldSpan>
    public let encoding: TextEncoding
    public let path: String
    /// 1-based line number where the record starts.
    public let line: Int
    /// 0-based number of the record among the non-blank records of the file (0 = header, if any).
    public let index: Int

    @inlinable public var count: Int { spans.count }

    /// The raw bytes of field `i` (quotes removed, `""` not yet unescaped).
    @inlinable public func bytes(_ i: Int) -> UnsafeBufferPointer<UInt8> {
        let s = spans[i]
        return UnsafeBufferPointer(rebasing: base[s.start..<s.end])
    }

    @inlinable public func isEmpty(_ i: Int) -> Bool { spans[i].start == spans[i].end }

    /// Field `i` as text, quotes unescaped.
    public func string(_ i: Int) -> String {
        let s = spans[i]
        if !s.hasEscapedQuotes { return TextFile.decode(bytes(i), encoding) }
        var out = [UInt8](); out.reserveCapacity(s.end - s.start)
        var p = s.start
        while p < s.end {
            out.append(base[p])
            p += (base[p] == UInt8(ascii: "\"") && p + 1 < s.end && base[p + 1] == UInt8(ascii: "\"")) ? 2 : 1
        }
        return out.withUnsafeBufferPointer { TextFile.decode($0, encoding) }
    }

    /// Field `i` as text with surrounding spaces removed.
    public func trimmedString(_ i: Int) -> String {
        let s = string(i)
        return s.trimmingASCIIWhitespace()
    }

    /// All fields as text.
    public func strings() -> [String] { (0..<count).map(string) }

    /// An error for this record's line.
    public func malformed(_ problem: String) -> OsusumeError {
        .malformed(file: path, line: line, problem: problem)
    }

    /// Throws unless the record has exactly `n` fields.
    public func expectFields(_ n: Int, _ what: String = "") throws {
        if count != n {
            throw malformed("expected \(n) fields\(what.isEmpty ? "" : " (\(what))"), found \(count)")
        }
    }

    /// Throws unless the record has at least `n` fields.
    public func expectFields(atLeast n: Int, _ what: String = "") throws {
        if count < n {
            throw malformed("expected at least \(n) fields\(what.isEmpty ? "" : " (\(what))"), found \(count)")
        }
    }

    /// Field `i` as an integer; `name` says which column in the error.
    @inlinable public func int(_ i: Int, _ name: String) throws -> Int64 {
        if let v = NumberParsing.int(bytes(i)) { return v }
        throw malformed("\(name) is not an integer: '\(string(i))'")
    }

    /// Field `i` as a finite number.
    @inlinable public func double(_ i: Int, _ name: String) throws -> Double {
        if let v = NumberParsing.double(bytes(i)) { return v }
        throw malformed("\(name) is not a number: '\(string(i))'")
    }

    /// Field `i` as the id of a format whose ids are whole numbers (MovieLens, SASRec, MyAnimeList):
    /// anything else is an error, never a new id.
    @inlinable public func integerID(_ i: Int, _ name: String) throws -> Int64 {
        if isEmpty(i) { throw malformed("\(name) is empty") }
        guard let v = NumberParsing.int(bytes(i)) else { throw malformed("\(name) is not an integer: '\(string(i))'") }
        if v < 0 { throw malformed("\(name) is negative: \(v)") }
        return v
    }

    /// Field `i` as a rating on the format's scale `range`; `scale` names it in the error.
    public func rating(_ i: Int, in range: ClosedRange<Double>, scale: String, _ name: String = "rating") throws -> Double {
        let v = try double(i, name)
        guard range.contains(v) else {
            throw malformed("\(name) \(Self.plain(v)) is outside \(Self.plain(range.lowerBound))–\(Self.plain(range.upperBound)) (\(scale))")
        }
        return v
    }

    /// A number as written in an error: whole values without ".0"; a value too large for a 64-bit
    /// integer (a malformed field can hold anything) stays a Double rather than trapping.
    static func plain(_ v: Double) -> String { v == v.rounded() && abs(v) < 9.2e18 ? String(Int64(v)) : String(v) }

    /// Field `i` as a number of seconds (or years…) that must fit a 64-bit integer; decimals are
    /// cut. A huge value is an error, never an overflow.
    public func wholeNumber(_ i: Int, _ name: String) throws -> Int64 {
        if let v = NumberParsing.int(bytes(i)) { return v }
        let d = try double(i, name)
        guard abs(d) < 9.2e18 else { throw malformed("\(name) \(string(i)) is out of range") }
        return Int64(d)
    }

    /// Field `i` as a finite number, or nil when the field is empty.
    @inlinable public func optionalDouble(_ i: Int, _ name: String) throws -> Double? {
        if NumberParsing.isBlank(bytes(i)) { return nil }
        return try double(i, name)
    }
}

extension TextFile {
    /// Calls `body` for each record in file order. Blank lines (empty, or only a line break)
    /// are skipped; everything else reaches `body`, so no data line is dropped unnoticed.
    /// Line breaks are LF or CRLF. Throws `OsusumeError.malformed` for broken quoting. Under a
    /// lenient read (`SkippedLines.current`), a malformed error `body` throws for a record after
    /// the first is counted there and the record skipped.
    public func forEachRecord(_ format: DelimitedFormat, _ body: (Record) throws -> Void) throws {
        let lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r"), quote = UInt8(ascii: "\"")
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
        let whitespace: Bool, sep0: UInt8, sepRest: [UInt8]
        switch format.separator {
        case .byte(let b): whitespace = false; sep0 = b; sepRest = []
        case .sequence(let s):
            precondition(!s.isEmpty, "empty separator")
            whitespace = false; sep0 = s[0]; sepRest = Array(s.dropFirst())
        case .whitespace: whitespace = true; sep0 = space; sepRest = []
        }
        let quoting = format.quoting && !whitespace
        let path = self.path, encoding = self.encoding
        let skipped = SkippedLines.current
        var spans = [FieldSpan](); spans.reserveCapacity(64)

        try bytes.withUnsafeBufferPointer { buf in
            try sepRest.withUnsafeBufferPointer { rest in
                let n = buf.count
                @inline(__always) func separatorLength(at p: Int) -> Int {
                    guard buf[p] == sep0 else { return 0 }
                    if rest.isEmpty { return 1 }
                    if p + rest.count >= n { return 0 }
                    for k in 0..<rest.count where buf[p + 1 + k] != rest[k] { return 0 }
                    return 1 + rest.count
                }
                var pos = 0, line = 0, index = 0
                while pos < n {
                    line += 1
                    let startLine = line
                    spans.removeAll(keepingCapacity: true)
                    var anyQuoted = false
                    if whitespace {
                        // Fields are runs of non-blank bytes.
                        while pos < n {
                            while pos < n, buf[pos] == space || buf[pos] == tab { pos += 1 }
                            if pos >= n { break }
                            let c = buf[pos]
                            if c == lf { pos += 1; break }
                            if c == cr, pos + 1 >= n || buf[pos + 1] == lf { pos += 2; break }
                            let s = pos
                            while pos < n {
                                let d = buf[pos]
                                if d == space || d == tab || d == lf { break }
                                if d == cr, pos + 1 >= n || buf[pos + 1] == lf { break }
                                pos += 1
                            }
                            spans.append(FieldSpan(start: s, end: pos, hasEscapedQuotes: false))
                        }
                        if spans.isEmpty { continue }
                    } else {
                        fields: while true {
                            if quoting, pos < n, buf[pos] == quote {
                                anyQuoted = true
                                pos += 1
                                let s = pos
                                var escaped = false
                                while true {
                                    if pos >= n {
                                        throw OsusumeError.malformed(
                                            file: path, line: startLine,
                                            problem: "quoted field \(spans.count + 1) is never closed (missing '\"')")
                                    }
                                    let c = buf[pos]
                                    if c == quote {
                                        if pos + 1 < n, buf[pos + 1] == quote { escaped = true; pos += 2; continue }
                                        break
                                    }
                                    if c == lf { line += 1 }
                                    pos += 1
                                }
                                spans.append(FieldSpan(start: s, end: pos, hasEscapedQuotes: escaped))
                                pos += 1 // closing quote
                                if pos >= n { break fields }
                                let c = buf[pos]
                                if c == lf { pos += 1; break fields }
                                if c == cr, pos + 1 >= n || buf[pos + 1] == lf { pos += 2; break fields }
                                let k = separatorLength(at: pos)
                                if k > 0 { pos += k; continue fields }
                                throw OsusumeError.malformed(
                                    file: path, line: line,
                                    problem: "unexpected text after the closing quote of field \(spans.count)")
                            }
                            let s = pos
                            var k = 0
                            while pos < n {
                                let c = buf[pos]
                                if c == lf { break }
                                if c == sep0 { k = separatorLength(at: pos); if k > 0 { break } }
                                pos += 1
                            }
                            var e = pos
                            // A CR right before the line break (or the end of the file) belongs to CRLF.
                            if k == 0, e > s, buf[e - 1] == cr { e -= 1 }
                            spans.append(FieldSpan(start: s, end: e, hasEscapedQuotes: false))
                            if pos >= n { break }
                            if k == 0 { pos += 1; break } // line feed
                            pos += k
                            if pos >= n { spans.append(FieldSpan(start: n, end: n, hasEscapedQuotes: false)); break }
                        }
                        if spans.count == 1, !anyQuoted, spans[0].start == spans[0].end { continue }
                    }
                    try spans.withUnsafeBufferPointer { sp in
                        let record = Record(base: buf, spans: sp, encoding: encoding, path: path, line: startLine, index: index)
                        // A lenient read skips a malformed data line; the first line decides the
                        // layout (a header, or the first row), so a problem there still stops it.
                        guard let skipped, index > 0 else { try body(record); return }
                        do { try body(record) } catch let e as OsusumeError {
                            guard case .malformed = e else { throw e }
                            skipped.skip(e)
                        }
                    }
                    index += 1
                }
            }
        }
    }
}

/// Number parsing straight from bytes, without building strings.
public enum NumberParsing {
    @usableFromInline static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")

    @inlinable static func trimmed(_ b: UnsafeBufferPointer<UInt8>) -> (Int, Int) {
        var s = 0, e = b.count
        while s < e, b[s] == space || b[s] == tab { s += 1 }
        while e > s, b[e - 1] == space || b[e - 1] == tab || b[e - 1] == UInt8(ascii: "\r") { e -= 1 }
        return (s, e)
    }

    @inlinable public static func isBlank(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let (s, e) = trimmed(b); return s == e
    }

    /// A decimal integer with optional sign and surrounding blanks; nil if anything else or overflow.
    @inlinable public static func int(_ b: UnsafeBufferPointer<UInt8>) -> Int64? {
        var (p, e) = trimmed(b)
        if p == e { return nil }
        var negative = false
        if b[p] == UInt8(ascii: "-") || b[p] == UInt8(ascii: "+") { negative = b[p] == UInt8(ascii: "-"); p += 1 }
        if p == e { return nil }
        var v: Int64 = 0
        while p < e {
            let d = b[p] &- UInt8(ascii: "0")
            if d > 9 { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(d))
            if o1 || o2 { return nil }
            v = a; p += 1
        }
        return negative ? -v : v
    }

    @usableFromInline static let powersOfTen: [Double] = (0...22).map { pow10($0) }
    @usableFromInline static func pow10(_ k: Int) -> Double { var x = 1.0; for _ in 0..<k { x *= 10 }; return x }

    /// A finite decimal number (`4`, `3.5`, `-1`, `1e3`); nil for text, NaN or infinity.
    @inlinable public static func double(_ b: UnsafeBufferPointer<UInt8>) -> Double? {
        var (p, e) = trimmed(b)
        if p == e { return nil }
        let start = p
        var negative = false
        if b[p] == UInt8(ascii: "-") || b[p] == UInt8(ascii: "+") { negative = b[p] == UInt8(ascii: "-"); p += 1 }
        // Fast path: up to 15 significant digits with an optional fraction, which is exact.
        var mantissa: Int64 = 0, digits = 0, fraction = 0, seenDot = false, simple = true
        while p < e {
            let c = b[p]
            if c == UInt8(ascii: ".") {
                if seenDot { return nil }
                seenDot = true
            } else {
                let d = c &- UInt8(ascii: "0")
                if d > 9 { simple = false; break }
                mantissa = mantissa &* 10 &+ Int64(d); digits += 1
                if seenDot { fraction += 1 }
            }
            p += 1
        }
        if simple {
            if digits == 0 { return nil }
            if digits <= 15 {
                let v = Double(mantissa) / powersOfTen[fraction]
                return negative ? -v : v
            }
        }
        // Exponents and long numbers: let the standard library do it.
        let text = String(decoding: UnsafeBufferPointer(rebasing: b[start..<e]), as: UTF8.self)
        guard let v = Double(text), v.isFinite else { return nil }
        // Double("…") accepts forms such as "0x1p3"; require a plain decimal start.
        let first = text.utf8.first!
        if !(first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".") || (first >= 48 && first <= 57)) { return nil }
        if text.utf8.contains(where: { $0 == UInt8(ascii: "x") || $0 == UInt8(ascii: "X") }) { return nil }
        return v
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and line breaks.
    func trimmingASCIIWhitespace() -> String {
        let u = utf8
        var s = u.startIndex, e = u.endIndex
        func blank(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 }
        while s < e, blank(u[s]) { s = u.index(after: s) }
        while e > s, blank(u[u.index(before: e)]) { e = u.index(before: e) }
        if s == u.startIndex && e == u.endIndex { return self }
        return String(self[s..<e])
    }
}
