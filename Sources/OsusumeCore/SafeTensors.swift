import Foundation

/// The safetensors format (https://github.com/huggingface/safetensors): 8-byte little-endian
/// header length N, N bytes of JSON header `{name: {dtype, shape, data_offsets:[begin,end]}, …,
/// "__metadata__": {string: string}}`, then the raw little-endian tensor bytes.
public struct SafeTensors {
    public enum DType: String, Sendable {
        case f32 = "F32", f64 = "F64", f16 = "F16", bf16 = "BF16"
        case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"
        public var size: Int {
            switch self {
            case .f64, .i64: return 8
            case .f32, .i32: return 4
            case .f16, .bf16, .i16: return 2
            case .i8, .u8, .bool: return 1
            }
        }
    }

    public struct Entry: Sendable {
        public var dtype: DType
        public var shape: [Int]
        public var bytes: Data
        /// Where the bytes start in `mapping`, for tensors read from a mapped file.
        public var fileOffset: Int? = nil
        public var count: Int { shape.reduce(1, *) }
    }

    public var tensors: [String: Entry] = [:]
    public var metadata: [String: String] = [:]
    /// The mapped file the tensors were read from (`init(mapping:)`), which their bytes share.
    public private(set) var mapping: MappedFile?

    public init() {}

    // MARK: adding and reading tensors

    public mutating func set(_ name: String, floats: [Float], shape: [Int]) {
        precondition(shape.reduce(1, *) == floats.count, "shape \(shape) does not match \(floats.count) values")
        tensors[name] = Entry(dtype: .f32, shape: shape, bytes: floats.withUnsafeBytes { Data($0) })
    }

    public mutating func set(_ name: String, floats: FloatBuffer, shape: [Int]) {
        precondition(shape.reduce(1, *) == floats.count, "shape \(shape) does not match \(floats.count) values")
        tensors[name] = Entry(dtype: .f32, shape: shape, bytes: floats.withUnsafeBufferPointer { Data(buffer: $0) })
    }

    public mutating func set(_ name: String, int32s: [Int32], shape: [Int]) {
        precondition(shape.reduce(1, *) == int32s.count)
        tensors[name] = Entry(dtype: .i32, shape: shape, bytes: int32s.withUnsafeBytes { Data($0) })
    }

    public mutating func set(_ name: String, int64s: [Int64], shape: [Int]) {
        precondition(shape.reduce(1, *) == int64s.count)
        tensors[name] = Entry(dtype: .i64, shape: shape, bytes: int64s.withUnsafeBytes { Data($0) })
    }

    /// Float32 values of a tensor (converting F64/F16/BF16/integers), with its shape.
    public func floats(_ name: String) throws -> (values: [Float], shape: [Int]) {
        guard let e = tensors[name] else { throw OsusumeError.modelFile("tensor '\(name)' is missing") }
        var out = [Float](repeating: 0, count: e.count)
        e.bytes.withUnsafeBytes { raw in
            switch e.dtype {
            case .f32: for i in 0..<e.count { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))) }
            case .f64: for i in 0..<e.count { out[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))) }
            case .f16:
                for i in 0..<e.count { out[i] = SafeTensors.halfToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))) }
            case .bf16:
                for i in 0..<e.count { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))) << 16) }
            case .i64: for i in 0..<e.count { out[i] = Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))) }
            case .i32: for i in 0..<e.count { out[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))) }
            case .i16: for i in 0..<e.count { out[i] = Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: i * 2, as: Int16.self))) }
            case .i8: for i in 0..<e.count { out[i] = Float(raw.load(fromByteOffset: i, as: Int8.self)) }
            case .u8, .bool: for i in 0..<e.count { out[i] = Float(raw.load(fromByteOffset: i, as: UInt8.self)) }
            }
        }
        return (out, e.shape)
    }

    /// Int32 values of an integer tensor (I32 or I64 within range).
    public func int32s(_ name: String) throws -> (values: [Int32], shape: [Int]) {
        guard let e = tensors[name] else { throw OsusumeError.modelFile("tensor '\(name)' is missing") }
        var out = [Int32](repeating: 0, count: e.count)
        try e.bytes.withUnsafeBytes { raw in
            switch e.dtype {
            case .i32: for i in 0..<e.count { out[i] = Int32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)) }
            case .i64:
                for i in 0..<e.count {
                    let v = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))
                    guard let w = Int32(exactly: v) else { throw OsusumeError.modelFile("tensor '\(name)' has a value out of Int32 range") }
                    out[i] = w
                }
            default: throw OsusumeError.modelFile("tensor '\(name)' is \(e.dtype.rawValue), expected an integer type")
            }
        }
        return (out, e.shape)
    }

    /// Int64 values of an integer tensor (I64 or I32).
    public func int64s(_ name: String) throws -> (values: [Int64], shape: [Int]) {
        guard let e = tensors[name] else { throw OsusumeError.modelFile("tensor '\(name)' is missing") }
        var out = [Int64](repeating: 0, count: e.count)
        try e.bytes.withUnsafeBytes { raw in
            switch e.dtype {
            case .i64: for i in 0..<e.count { out[i] = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)) }
            case .i32: for i in 0..<e.count { out[i] = Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))) }
            default: throw OsusumeError.modelFile("tensor '\(name)' is \(e.dtype.rawValue), expected an integer type")
            }
        }
        return (out, e.shape)
    }

    public static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exp = Int((h >> 10) & 0x1f), mant = UInt32(h & 0x3ff)
        if exp == 0 {
            if mant == 0 { return Float(bitPattern: sign) }
            let v = Float(mant) * powf(2, -24)
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mant << 13)) }
        return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (mant << 13))
    }

    // MARK: encoding

    /// Serialises to the safetensors byte layout. Tensors are laid out in name order; the header
    /// is padded with spaces to a multiple of 8 bytes, as the reference implementation does.
    /// The header (length + JSON, padded to 8 bytes) and the tensor names in file order.
    private func encodedHeader() throws -> (header: Data, names: [String], body: Int) {
        var header: [String: Any] = [:]
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let e = tensors[name]!
            guard e.bytes.count == e.count * e.dtype.size else {
                throw OsusumeError.modelFile("tensor '\(name)' has \(e.bytes.count) bytes for shape \(e.shape)")
            }
            header[name] = ["dtype": e.dtype.rawValue, "shape": e.shape, "data_offsets": [offset, offset + e.bytes.count]]
            offset += e.bytes.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count)
        var len = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &len) { out.append(contentsOf: $0) }
        out.append(json)
        return (out, names, offset)
    }

    public func encoded() throws -> Data {
        let (header, names, body) = try encodedHeader()
        var out = Data(capacity: header.count + body)
        out.append(header)
        for name in names { out.append(tensors[name]!.bytes) }
        return out
    }

    /// Writes the file tensor by tensor (no second copy of the weights in memory, which matters
    /// for a model of several GB), through a temporary file and a rename.
    public func write(to url: URL) throws {
        let (header, names, _) = try encodedHeader()
        try AtomicFile.write(to: url) { handle in
            try handle.write(contentsOf: header)
            for name in names { try handle.write(contentsOf: tensors[name]!.bytes) }
        }
    }

    // MARK: decoding

    public init(data: Data, source: String = "safetensors") throws {
        func bad(_ m: String) -> OsusumeError { .file(source, problem: "not a valid safetensors file: \(m)") }
        guard data.count >= 8 else { throw bad("shorter than 8 bytes") }
        let n = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(data.count - 8), n < 100_000_000 else { throw bad("header length \(n) exceeds the file") }
        let headerEnd = 8 + Int(n)
        let headerData = data.subdata(in: data.startIndex + 8..<data.startIndex + headerEnd)
        guard let obj = try? JSONSerialization.jsonObject(with: headerData), let header = obj as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        let body = data.count - headerEnd
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw bad("__metadata__ must map strings to strings") }
                metadata = m
                continue
            }
            guard let d = value as? [String: Any], let dt = d["dtype"] as? String,
                let shapeAny = d["shape"] as? [Any], let offs = d["data_offsets"] as? [Any], offs.count == 2
            else {
                throw bad("entry '\(name)' lacks dtype, shape or data_offsets")
            }
            guard let dtype = DType(rawValue: dt) else { throw bad("entry '\(name)' has unsupported dtype \(dt)") }
            // Whole, non-negative and below 2^53 (what a JSON number holds exactly), so no
            // conversion or product below can overflow into a wrong size.
            func count(_ v: Any) -> Int? {
                guard let d = (v as? NSNumber)?.doubleValue, d.isFinite, d >= 0, d < 9.0e15, d == d.rounded() else { return nil }
                return Int(d)
            }
            let shape = try shapeAny.map { (v: Any) -> Int in
                guard let i = count(v) else { throw bad("entry '\(name)' has a bad shape") }
                return i
            }
            guard let b = count(offs[0]), let e = count(offs[1]), e >= b, e <= body else {
                throw bad("entry '\(name)' has data_offsets outside the file")
            }
            var elements = 1
            for d in shape {
                let (p, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow, p <= body else { throw bad("entry '\(name)': shape \(shape) is larger than the file") }
                elements = p
            }
            guard e - b == elements * dtype.size else { throw bad("entry '\(name)': \(e - b) bytes for shape \(shape) of \(dt)") }
            let start = data.startIndex + headerEnd + b
            // A slice shares the file's bytes (no copy: the point of mapping a large model).
            tensors[name] = Entry(dtype: dtype, shape: shape, bytes: data[start..<start + (e - b)], fileOffset: headerEnd + b)
        }
    }

    /// Reads a file by mapping it: the header is parsed, the tensors' bytes stay in the mapped
    /// file until used (see `floatBuffer`).
    public init(mapping url: URL) throws {
        let file: MappedFile
        do { file = try MappedFile(path: url.path) } catch { throw OsusumeError.file(url.path, problem: "cannot read: \(error)") }
        try self.init(data: file.data, source: url.path)
        mapping = file
    }

    /// A float32 tensor as a `FloatBuffer`: a view into the mapped file when the tensors were
    /// mapped and the values are stored as aligned little-endian float32, else a converted copy.
    public func floatBuffer(_ name: String) throws -> (values: FloatBuffer, shape: [Int]) {
        guard let e = tensors[name] else { throw OsusumeError.modelFile("tensor '\(name)' is missing") }
        if let file = mapping, let offset = e.fileOffset, e.dtype == .f32, UInt32(1).littleEndian == 1, offset % 4 == 0 {
            let p = (file.base + offset).assumingMemoryBound(to: Float.self)
            return (FloatBuffer(mapped: p, count: e.count, owner: file), e.shape)
        }
        let (v, shape) = try floats(name)
        return (FloatBuffer(v), shape)
    }

    /// A float16 tensor's bits as a `HalfBuffer`: a view into the mapped file when possible, else
    /// a copy. Throws unless the tensor is F16.
    public func halfBuffer(_ name: String) throws -> (values: HalfBuffer, shape: [Int]) {
        guard let e = tensors[name] else { throw OsusumeError.modelFile("tensor '\(name)' is missing") }
        guard e.dtype == .f16 else { throw OsusumeError.modelFile("tensor '\(name)' is \(e.dtype.rawValue), expected F16") }
        if let file = mapping, let offset = e.fileOffset, UInt32(1).littleEndian == 1, offset % 2 == 0 {
            return (HalfBuffer(mapped: (file.base + offset).assumingMemoryBound(to: UInt16.self), count: e.count, owner: file), e.shape)
        }
        let bits = e.bytes.withUnsafeBytes { raw in (0..<e.count).map { UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) } }
        return (HalfBuffer(bits), e.shape)
    }

    public mutating func set(_ name: String, halves: HalfBuffer, shape: [Int]) {
        precondition(shape.reduce(1, *) == halves.count, "shape \(shape) does not match \(halves.count) values")
        tensors[name] = Entry(dtype: .f16, shape: shape, bytes: halves.withUnsafeBufferPointer { Data(buffer: $0) })
    }

    /// The nearest float16 (round to nearest even; overflow to infinity), as bits.
    public static func floatToHalf(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exp = Int((bits >> 23) & 0xff), man = bits & 0x7f_ffff
        if exp == 0xff { return sign | 0x7c00 | (man != 0 ? 0x200 : 0) }
        let e = exp - 127 + 15
        if e >= 31 { return sign | 0x7c00 }
        if e <= 0 {
            // Subnormal half (or zero): shift the full mantissa into place, rounding to nearest even.
            if e < -10 { return sign }
            let full = man | 0x80_0000
            let shift = UInt32(14 - e)
            var half = full >> shift
            let rest = full & ((1 << shift) - 1), halfway = UInt32(1) << (shift - 1)
            if rest > halfway || (rest == halfway && half & 1 == 1) { half += 1 }
            return sign | UInt16(half)
        }
        var half = UInt32(e) << 10 | man >> 13
        let rest = man & 0x1fff
        if rest > 0x1000 || (rest == 0x1000 && half & 1 == 1) { half += 1 } // may carry into the exponent: still right
        return sign | UInt16(half)
    }

    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw OsusumeError.file(url.path, problem: "cannot read: \(error.localizedDescription)")
        }
        try self.init(data: data, source: url.path)
    }
}
