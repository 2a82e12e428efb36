import Foundation
import OsusumeCore
import OsusumeKernels

/// Float32 buffers recycled across training steps. A step allocates the same sizes every time, so
/// handing freed buffers back (instead of to `free`, which unmaps large blocks) avoids page
/// faults and zero-filling on every step.
public enum BufferPool {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    nonisolated(unsafe) private static var pooled = 0
    /// Buffers below this many floats go straight to malloc/free.
    static let minPooledCount = 4096
    /// Upper bound on the bytes kept for reuse; beyond it freed buffers are released.
    nonisolated(unsafe) public static var limitBytes = 2 << 30

    static func take(_ count: Int) -> UnsafeMutablePointer<Float> {
        let n = Swift.max(count, 1)
        if n >= minPooledCount {
            lock.lock()
            if var list = free[n], let p = list.popLast() {
                free[n] = list
                pooled -= n * 4
                lock.unlock()
                return p
            }
            lock.unlock()
        }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, n * 4) == 0, let raw else { fatalError("out of memory allocating \(n) floats") }
        return raw.bindMemory(to: Float.self, capacity: n)
    }

    static func give(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
        let n = Swift.max(count, 1)
        if n >= minPooledCount {
            lock.lock()
            if pooled + n * 4 <= limitBytes {
                free[n, default: []].append(p)
                pooled += n * 4
                lock.unlock()
                return
            }
            lock.unlock()
        }
        Foundation.free(p)
    }

    /// Releases every pooled buffer back to the system.
    public static func drain() {
        lock.lock()
        for (_, list) in free { for p in list { Foundation.free(p) } }
        free = [:]
        pooled = 0
        lock.unlock()
    }

    /// Bytes currently held for reuse.
    public static var pooledBytes: Int { lock.lock(); defer { lock.unlock() }; return pooled }
}

/// Owns one float buffer; returns it to the pool when the last tensor (or view) lets go.
final class TensorStorage {
    let pointer: UnsafeMutablePointer<Float>
    let capacity: Int
    init(capacity: Int, zeroed: Bool) {
        self.capacity = capacity
        pointer = BufferPool.take(capacity)
        if zeroed { pointer.initialize(repeating: 0, count: Swift.max(capacity, 1)) }
    }
    deinit { BufferPool.give(pointer, capacity) }
}

/// A Float32 tensor: contiguous, row-major, with a shape. Tensors are values in spirit: ops make
/// new tensors and never change their inputs (only optimizers and `load` write into parameters).
/// `reshape` and splitting along the first axis are views that share storage.
public final class Tensor {
    /// Sizes of each axis; `[]` for a scalar.
    public let shape: [Int]
    /// Number of elements.
    public let count: Int
    let storage: TensorStorage
    let offset: Int

    /// Whether gradients flow to this tensor. Parameters set it; op results inherit it while
    /// recording.
    public var requiresGrad: Bool = false
    /// Accumulated gradient during a backward pass (internal bookkeeping of the tape).
    var grad: Tensor?
    /// True when `grad` was created by the accumulator and may be updated in place.
    var gradOwned = false
    /// For row-sparse gradients: the (sorted, unique) rows that `storage` holds, each of
    /// `shape[1...]` values. The logical value is zero in every other row.
    public internal(set) var sparseRows: [Int32]?

    init(shape: [Int], storage: TensorStorage, offset: Int = 0) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.storage = storage
        self.offset = offset
    }

    /// A tensor with uninitialised contents (internal: kernels fill it).
    init(uninitialized shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative size in shape \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.storage = TensorStorage(capacity: count, zeroed: false)
        self.offset = 0
    }

    /// A tensor of zeros.
    init(zeroed shape: [Int]) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.storage = TensorStorage(capacity: count, zeroed: true)
        self.offset = 0
    }

    /// A tensor holding `scalars` in row-major order.
    public convenience init(shape: [Int], scalars: [Float]) {
        precondition(shape.reduce(1, *) == scalars.count, "shape \(shape) needs \(shape.reduce(1, *)) values, got \(scalars.count)")
        self.init(uninitialized: shape)
        scalars.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    /// A one-dimensional tensor.
    public convenience init(_ scalars: [Float]) { self.init(shape: [scalars.count], scalars: scalars) }

    /// A scalar (rank-0) tensor.
    public convenience init(scalar: Float) { self.init(shape: [], scalars: [scalar]) }

    /// Pointer to the first element (internal: valid while the tensor lives).
    @inline(__always) var data: UnsafeMutablePointer<Float> { storage.pointer + offset }

    public var rank: Int { shape.count }

    /// The values, copied out in row-major order.
    public var scalars: [Float] {
        if sparseRows != nil { return densify(self).scalars }
        return Array(UnsafeBufferPointer(start: data, count: count))
    }

    /// The value of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item needs a one-element tensor, shape is \(shape)")
        return data[0]
    }

    /// Element at a full index.
    public subscript(_ index: Int...) -> Float {
        precondition(index.count == rank, "index \(index) does not match shape \(shape)")
        var flat = 0
        for (i, d) in zip(index, shape) { precondition(i >= 0 && i < d, "index \(index) out of shape \(shape)"); flat = flat * d + i }
        return data[flat]
    }

    /// Read access to the contiguous values.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: data, count: count))
    }

    /// Write access to the values, in place (for parameter initialisation, loading and optimizers).
    /// Views share storage, so writing through one is seen by all.
    public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeMutableBufferPointer(start: data, count: count))
    }

    /// A copy that does not take part in autograd.
    public func detached() -> Tensor {
        let t = Tensor(uninitialized: shape)
        t.data.update(from: data, count: count)
        return t
    }

    /// Makes this tensor a trainable leaf (returns self, for chaining at creation).
    @discardableResult
    public func trainable(_ on: Bool = true) -> Tensor { requiresGrad = on; return self }
}

// MARK: creation

extension Tensor {
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(zeroed: shape) }

    public static func ones(_ shape: [Int]) -> Tensor { full(shape, 1) }

    public static func full(_ shape: [Int], _ value: Float) -> Tensor {
        let t = Tensor(uninitialized: shape)
        t.data.initialize(repeating: value, count: t.count)
        return t
    }

    /// Normal(mean, std²) values from a seeded generator.
    public static func randomNormal(_ shape: [Int], mean: Float = 0, std: Float = 1, rng: inout SeededRandom) -> Tensor {
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count { t.data[i] = mean + std * rng.nextGaussian() }
        return t
    }

    public static func randomNormal(_ shape: [Int], mean: Float = 0, std: Float = 1, seed: UInt64) -> Tensor {
        var rng = SeededRandom(seed: seed)
        return randomNormal(shape, mean: mean, std: std, rng: &rng)
    }

    /// Uniform values in [low, high) from a seeded generator.
    public static func randomUniform(_ shape: [Int], low: Float = 0, high: Float = 1, rng: inout SeededRandom) -> Tensor {
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count { t.data[i] = low + (high - low) * rng.nextFloat() }
        return t
    }

    public static func randomUniform(_ shape: [Int], low: Float = 0, high: Float = 1, seed: UInt64) -> Tensor {
        var rng = SeededRandom(seed: seed)
        return randomUniform(shape, low: low, high: high, rng: &rng)
    }

    /// start, start + step, … below end.
    public static func arange(_ start: Float, _ end: Float, step: Float = 1) -> Tensor {
        precondition(step != 0)
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        let t = Tensor(uninitialized: [n])
        for i in 0..<n { t.data[i] = start + Float(i) * step }
        return t
    }

    public static func arange(_ n: Int) -> Tensor { arange(0, Float(n)) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(count > 8 ? ", …" : "")])"
    }
}

/// Integer indices with a shape: token ids, class targets.
public struct IndexTensor: Sendable {
    public var values: [Int32]
    public var shape: [Int]
    public init(_ values: [Int32], shape: [Int]? = nil) {
        self.values = values
        self.shape = shape ?? [values.count]
        precondition(self.shape.reduce(1, *) == values.count, "shape \(self.shape) does not match \(values.count) indices")
    }
    public var count: Int { values.count }
}

/// Engine-wide settings.
public enum Engine {
    /// Threads for the engine's parallel loops. The engine splits matrix products itself and
    /// calls BLAS single-threaded inside them (OpenBLAS threads busy-wait, which would fight the
    /// engine's own threads on a small machine).
    public static var threads: Int {
        get { Threads.count }
        set { Threads.count = newValue; BLAS.threads = 1 }
    }

    /// The vector instruction set the kernels use: "avx512", "avx2" or "portable".
    public static var simd: String {
        switch Int(osk_simd_level()) {
        case 3: return "avx512";
        case 2: return "avx2";
        default: return "portable"
        }
    }
}
