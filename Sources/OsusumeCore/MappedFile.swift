import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory. Pages are read from disk when first touched and
/// shared with every other process that maps the same file, so several servers on one machine
/// hold one copy of a large model, and opening it costs no reading.
public final class MappedFile: @unchecked Sendable {
    public let base: UnsafeRawPointer
    public let count: Int
    public let path: String

    public init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw OsusumeError.file(path, problem: "cannot open (errno \(errno))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw OsusumeError.file(path, problem: "cannot stat (errno \(errno))") }
        let size = Int(st.st_size)
        guard size > 0 else { throw OsusumeError.file(path, problem: "is empty") }
        guard let p = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            throw OsusumeError.file(path, problem: "cannot be mapped (errno \(errno))")
        }
        base = UnsafeRawPointer(p)
        count = size
        self.path = path
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), count) }

    /// The bytes as `Data` without a copy; the `Data` keeps the mapping alive.
    public var data: Data {
        Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: count, deallocator: .custom { [self] _, _ in withExtendedLifetime(self) {} })
    }
}

/// Read-only floats: an array (a model just fitted) or a view into a mapped file (a model
/// loaded for serving), behind one interface.
public struct FloatBuffer: RandomAccessCollection, @unchecked Sendable {
    private let array: [Float]
    private let mapped: UnsafePointer<Float>?
    private let owner: AnyObject?
    public let count: Int

    public init(_ values: [Float] = []) {
        array = values; mapped = nil; owner = nil; count = values.count
    }

    /// `count` floats at `pointer`, which `owner` keeps valid.
    public init(mapped pointer: UnsafePointer<Float>, count: Int, owner: AnyObject) {
        array = []; mapped = pointer; self.owner = owner; self.count = count
    }

    /// Whether the values live in a mapped file rather than this process's own memory.
    public var isMapped: Bool { mapped != nil }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }
    @inlinable public func index(after i: Int) -> Int { i + 1 }
    @inlinable public func index(before i: Int) -> Int { i - 1 }

    public subscript(i: Int) -> Float {
        precondition(i >= 0 && i < count, "index \(i) out of 0..<\(count)")
        if let m = mapped { return m[i] }
        return array[i]
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        if let m = mapped { return try withExtendedLifetime(owner) { try body(UnsafeBufferPointer(start: m, count: count)) } }
        return try array.withUnsafeBufferPointer(body)
    }

    /// The values as an array (a copy when mapped).
    public var values: [Float] { mapped == nil ? array : withUnsafeBufferPointer { Array($0) } }
}

/// Read-only IEEE float16 values (their bits), in an array or in a mapped file, like
/// `FloatBuffer`: half the memory of float32 where that precision is enough.
public struct HalfBuffer: @unchecked Sendable {
    private let array: [UInt16]
    private let mapped: UnsafePointer<UInt16>?
    private let owner: AnyObject?
    public let count: Int

    public init(_ bits: [UInt16] = []) {
        array = bits; mapped = nil; owner = nil; count = bits.count
    }

    public init(mapped pointer: UnsafePointer<UInt16>, count: Int, owner: AnyObject) {
        array = []; mapped = pointer; self.owner = owner; self.count = count
    }

    /// Rounds each float to the nearest float16.
    public init(rounding values: FloatBuffer) {
        self.init(values.withUnsafeBufferPointer { $0.map { SafeTensors.floatToHalf($0) } })
    }

    public var isMapped: Bool { mapped != nil }

    /// Value `i` as a Float.
    public subscript(i: Int) -> Float {
        precondition(i >= 0 && i < count, "index \(i) out of 0..<\(count)")
        return SafeTensors.halfToFloat(mapped.map { $0[i] } ?? array[i])
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<UInt16>) throws -> R) rethrows -> R {
        if let m = mapped { return try withExtendedLifetime(owner) { try body(UnsafeBufferPointer(start: m, count: count)) } }
        return try array.withUnsafeBufferPointer(body)
    }
}
