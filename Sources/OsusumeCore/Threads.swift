import Foundation

/// Thread settings for the whole process: Osusume's own parallel loops and BLAS.
public enum Threads {
    nonisolated(unsafe) private static var _count: Int = {
        if let s = ProcessInfo.processInfo.environment["OSUSUME_THREADS"], let n = Int(s), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Threads used by `parallelFor` and BLAS. Set once at start-up (the CLI's `--threads`).
    public static var count: Int {
        get { _count }
        set { _count = max(1, newValue); BLAS.threads = _count }
    }

    /// Runs `body(chunkIndex, range)` over `0..<n` split into at most `count` contiguous chunks
    /// (or `chunks` if given). Chunking depends only on n and the chunk count, so results that
    /// are combined per chunk are reproducible for a given thread count.
    public static func parallelFor(
        _ n: Int, chunks: Int? = nil, minChunk: Int = 1,
        _ body: (_ chunk: Int, _ range: Range<Int>) -> Void
    ) {
        if n <= 0 { return }
        let want = chunks ?? count
        let c = max(1, min(want, (n + minChunk - 1) / max(1, minChunk)))
        if c == 1 { body(0, 0..<n); return }
        let base = n / c, extra = n % c
        DispatchQueue.concurrentPerform(iterations: c) { i in
            let lo = i * base + min(i, extra)
            let hi = lo + base + (i < extra ? 1 : 0)
            body(i, lo..<hi)
        }
    }
}

/// A mutable pointer that may be shared across the chunks of a `parallelFor` whose chunks write
/// disjoint ranges.
public struct SharedPointer<T>: @unchecked Sendable {
    public let base: UnsafeMutablePointer<T>
    public init(_ base: UnsafeMutablePointer<T>) { self.base = base }
    public subscript(i: Int) -> T {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }
}
