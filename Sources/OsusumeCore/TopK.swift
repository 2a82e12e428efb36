/// Top-k selection over a score vector: a bounded min-heap, O(n log k), no full sort.
public enum TopK {
    /// The one way an item is kept out of a ranking (a user's seen items, a disliked item, the
    /// item itself for "more like this"): its score becomes −∞, which `select` never returns.
    /// Indices outside the vector are ignored.
    @inlinable
    public static func exclude<S: Sequence>(_ items: S, from scores: UnsafeMutableBufferPointer<Float>) where S.Element == Int32 {
        for i in items where i >= 0 && Int(i) < scores.count { scores[Int(i)] = -.infinity }
    }

    /// The same for a score array.
    @inlinable
    public static func exclude<S: Sequence>(_ items: S, from scores: inout [Float]) where S.Element == Int32 {
        scores.withUnsafeMutableBufferPointer { exclude(items, from: $0) }
    }

    /// Indices of the `k` largest scores, best first. Indices with `-Float.infinity` (the way
    /// callers exclude items) or NaN are never returned. Ties break toward the lower index.
    public static func select(_ scores: UnsafeBufferPointer<Float>, k: Int) -> [Int32] {
        let k = min(k, scores.count)
        if k <= 0 { return [] }
        var heapS = [Float](); heapS.reserveCapacity(k)
        var heapI = [Int32](); heapI.reserveCapacity(k)
        // "a worse than b": lower score, or equal score and higher index.
        @inline(__always) func worse(_ sa: Float, _ ia: Int32, _ sb: Float, _ ib: Int32) -> Bool {
            sa < sb || (sa == sb && ia > ib)
        }
        // Once the heap is full, most scores fall below its minimum: reject those with one
        // comparison against a copy of that minimum kept in a register.
        var floor = -Float.infinity
        for i in 0..<scores.count {
            let s = scores[i]
            if !(s > -Float.infinity) || s < floor { continue } // excludes -inf and NaN
            let idx = Int32(i)
            if heapS.count < k {
                heapS.append(s); heapI.append(idx)
                var c = heapS.count - 1
                while c > 0 {
                    let p = (c - 1) / 2
                    if worse(heapS[c], heapI[c], heapS[p], heapI[p]) {
                        heapS.swapAt(c, p); heapI.swapAt(c, p); c = p
                    } else {
                        break
                    }
                }
            } else if worse(heapS[0], heapI[0], s, idx) {
                heapS[0] = s; heapI[0] = idx
                var p = 0
                while true {
                    let l = 2 * p + 1, r = l + 1
                    var m = p
                    if l < k && worse(heapS[l], heapI[l], heapS[m], heapI[m]) { m = l }
                    if r < k && worse(heapS[r], heapI[r], heapS[m], heapI[m]) { m = r }
                    if m == p { break }
                    heapS.swapAt(p, m); heapI.swapAt(p, m); p = m
                }
                floor = heapS[0]
            }
            if heapS.count == k { floor = heapS[0] }
        }
        var order = Array(0..<heapS.count)
        order.sort { heapS[$0] > heapS[$1] || (heapS[$0] == heapS[$1] && heapI[$0] < heapI[$1]) }
        return order.map { heapI[$0] }
    }

    public static func select(_ scores: [Float], k: Int) -> [Int32] {
        scores.withUnsafeBufferPointer { select($0, k: k) }
    }

    /// The `k` best of `candidates` by `scores[candidate]`, best first (ties: earlier candidate).
    /// Candidates scored -inf or NaN are skipped.
    public static func select(among candidates: [Int32], scores: [Float], k: Int) -> [Int32] {
        if candidates.count <= k {
            return candidates.filter { scores[Int($0)] > -Float.infinity }
                .sorted { scores[Int($0)] != scores[Int($1)] ? scores[Int($0)] > scores[Int($1)] : $0 < $1 }
        }
        var gathered = candidates.map { scores[Int($0)] }
        return gathered.withUnsafeMutableBufferPointer { g in
            select(UnsafeBufferPointer(g), k: k).map { candidates[Int($0)] }
        }
    }
}
