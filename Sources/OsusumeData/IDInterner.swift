/// Interns ids straight from file bytes into an `IDMap`. Plain decimal ids (the common case)
/// are looked up by their integer value, in a direct table for values below `denseLimit` and a
/// dictionary above, so a `String` is built and hashed only the first time an id is seen;
/// anything else goes through its text.
public struct IDInterner: Sendable {
    public private(set) var map: IDMap
    /// dense[v] is the index of the id with value v, or -1.
    @usableFromInline var dense: [Int32] = []
    private var numeric: [Int64: Int32] = [:]
    /// Values below this use the direct table (at most 16 MiB of Int32).
    @usableFromInline static let denseLimit: Int64 = 1 << 22

    public init(_ map: IDMap = IDMap()) {
        self.map = map
        for (i, id) in map.ids.enumerated() {
            if let v = IDInterner.canonicalInteger(Array(id.utf8)) { storeNumeric(v, Int32(i)) }
        }
    }

    /// The dense index of the id in `raw` (surrounding blanks ignored), adding it if new.
    @inlinable
    public mutating func intern(_ raw: UnsafeBufferPointer<UInt8>, encoding: TextEncoding) -> Int32 {
        let trimmed = IDInterner.trim(raw)
        if let v = IDInterner.canonicalInteger(trimmed) {
            if let i = lookupNumeric(v) { return i }
            let i = internText(TextFile.decode(trimmed, encoding))
            storeNumeric(v, i)
            return i
        }
        return internText(TextFile.decode(trimmed, encoding))
    }

    /// The dense index of `id`, adding it if new.
    public mutating func intern(_ id: String) -> Int32 {
        var id = id
        let i = map.intern(id)
        if let v = id.withUTF8({ IDInterner.canonicalInteger($0) }) { storeNumeric(v, i) }
        return i
    }

    /// The dense index of the id in `raw` if it is known.
    public func lookup(_ raw: UnsafeBufferPointer<UInt8>, encoding: TextEncoding) -> Int32? {
        let trimmed = IDInterner.trim(raw)
        if let v = IDInterner.canonicalInteger(trimmed) { return lookupNumeric(v) }
        return map.index(of: TextFile.decode(trimmed, encoding))
    }

    @inlinable func lookupNumeric(_ v: Int64) -> Int32? {
        if v < IDInterner.denseLimit {
            if v < Int64(dense.count) {
                let i = dense[Int(v)]
                return i >= 0 ? i : nil
            }
            return nil
        }
        return lookupLarge(v)
    }

    @usableFromInline func lookupLarge(_ v: Int64) -> Int32? { numeric[v] }

    @usableFromInline mutating func storeNumeric(_ v: Int64, _ i: Int32) {
        if v < IDInterner.denseLimit {
            if v >= Int64(dense.count) {
                let size = Int(min(IDInterner.denseLimit, max(v + 1, Int64(dense.count) * 2, 1024)))
                dense.append(contentsOf: repeatElement(-1, count: size - dense.count))
            }
            dense[Int(v)] = i
        } else {
            numeric[v] = i
        }
    }
    @usableFromInline mutating func internText(_ s: String) -> Int32 { map.intern(s) }

    @inlinable static func trim(_ raw: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var s = 0, e = raw.count
        while s < e, raw[s] == 32 || raw[s] == 9 { s += 1 }
        while e > s, raw[e - 1] == 32 || raw[e - 1] == 9 || raw[e - 1] == 13 { e -= 1 }
        if s == 0 && e == raw.count { return raw }
        return UnsafeBufferPointer(rebasing: raw[s..<e])
    }

    /// The value of a decimal id written the one canonical way ("0", "17", not "017" or "+1"),
    /// so that equal values mean equal strings.
    @inlinable static func canonicalInteger<C: Collection>(_ b: C) -> Int64? where C.Element == UInt8 {
        let n = b.count
        if n == 0 || n > 18 { return nil }
        var v: Int64 = 0
        var first = true
        for c in b {
            let d = c &- 48
            if d > 9 { return nil }
            if first && d == 0 && n > 1 { return nil }
            first = false
            v = v * 10 + Int64(d)
        }
        return v
    }
}

/// Collects interactions in dense ids while a file is read.
public struct LogBuilder: Sendable {
    public var users = IDInterner()
    public var items = IDInterner()
    public private(set) var log = InteractionLog()

    public init() {}

    @inlinable public var count: Int { log.count }

    public mutating func reserve(_ n: Int) {
        log.users.reserveCapacity(n); log.items.reserveCapacity(n)
        log.timestamps.reserveCapacity(n); log.ratings.reserveCapacity(n)
    }

    /// Appends one interaction; `timestamp` nil means "position in the log".
    public mutating func append(user: Int32, item: Int32, timestamp: Int64?, rating: Float) {
        log.append(user: user, item: item, timestamp: timestamp ?? Int64(log.count), rating: rating)
    }

    /// The finished log with both id maps.
    public func build(hasTimestamps: Bool, hasRatings: Bool) -> InteractionLog {
        var out = log
        out.userIDs = users.map; out.itemIDs = items.map
        out.hasTimestamps = hasTimestamps; out.hasRatings = hasRatings
        return out
    }
}
