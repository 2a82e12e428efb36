import OsusumeCore

/// A uniform integer in 0..<n from `rng` (multiply-shift on the high 32 bits).
///
/// Written out here rather than calling `SeededRandom.nextInt`, whose expression
/// `(next() >> 32) &* UInt64(n) >> 32` parses as `… &* (UInt64(n) >> 32)` (shifts bind tighter
/// than multiplication in Swift) and so returns 0 for every n below 2³².
@inline(__always)
func uniformIndex(below n: Int, using rng: inout SeededRandom) -> Int {
    precondition(n > 0 && n <= Int(UInt32.max), "uniformIndex: n out of range")
    return Int(((rng.next() >> 32) &* UInt64(n)) >> 32)
}

/// Fisher–Yates shuffle driven by `rng`: the same seed gives the same order on every platform.
func seededShuffle<T>(_ a: inout [T], using rng: inout SeededRandom) {
    if a.count < 2 { return }
    for k in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(k, uniformIndex(below: k + 1, using: &rng)) }
}
