import Foundation
import OsusumeCore
import OsusumeData

/// Item-based nearest neighbours (Sarwar et al. 2001; Deshpande & Karypis 2004): each item keeps
/// its `neighbours` most similar items; a user's score for item j sums the similarities of j's
/// neighbours that are in the history. Similarity on binary interactions:
/// cosine c_ij / (√(n_i n_j) + shrink), or Jaccard c_ij / (n_i + n_j − c_ij + shrink).
public final class ItemKNN: ExplainableRecommender {
    public struct Config: ModelConfig {
        public var neighbours: Int = 100
        public var shrink: Double = 0
        /// "cosine" or "jaccard".
        public var similarity: String = "cosine"
        public init() {}
    }
    public static let kind = "itemknn"
    public let config: Config
    public private(set) var itemCount = 0
    /// Neighbours of each item j (CSR): j's list of (i, sim(i, j)).
    private var nbrPtr: [Int] = [0], nbrIdx: [Int32] = [], nbrSim: [Float] = []
    /// The same relation indexed by the history item: i → (j, sim(i, j)) for every j having i as
    /// a neighbour. This is what scoring walks.
    private var invPtr: [Int] = [0], invIdx: [Int32] = [], invSim: [Float] = []

    public init(config: Config) { self.config = config }

    public func fit(_ data: TrainingData) throws {
        guard config.neighbours > 0 else { throw OsusumeError.invalidArgument("itemknn: neighbours must be > 0") }
        guard config.similarity == "cosine" || config.similarity == "jaccard" else {
            throw OsusumeError.invalidArgument("itemknn: similarity must be cosine or jaccard, got '\(config.similarity)'")
        }
        let x = data.log.csr() // users × items, binary
        let xt = x.transposed() // items × users
        let n = x.cols
        itemCount = n
        var counts = [Float](repeating: 0, count: n)
        for i in 0..<n { counts[i] = Float(xt.rowPointers[i + 1] - xt.rowPointers[i]) }
        let k = min(config.neighbours, max(0, n - 1))
        let shrink = Float(config.shrink)
        let jaccard = config.similarity == "jaccard"
        var lists = [[(Int32, Float)]](repeating: [], count: n)
        lists.withUnsafeMutableBufferPointer { lp in
            let out = SharedPointer(lp.baseAddress!)
            Threads.parallelFor(n, minChunk: 16) { _, range in
                // Co-occurrence counts of item j with every other item, by walking j's users.
                var acc = [Float](repeating: 0, count: n)
                var touched = [Int32]()
                var sims = [Float](repeating: -.infinity, count: n)
                for j in range {
                    touched.removeAll(keepingCapacity: true)
                    for u in xt.row(j) {
                        for i in x.row(Int(u)) {
                            if acc[Int(i)] == 0 { touched.append(i) }
                            acc[Int(i)] += 1
                        }
                    }
                    for i in touched {
                        let c = acc[Int(i)]
                        if Int(i) != j {
                            let s =
                                jaccard
                                ? c / (counts[j] + counts[Int(i)] - c + shrink)
                                : c / ((counts[j] * counts[Int(i)]).squareRoot() + shrink)
                            sims[Int(i)] = s
                        }
                        acc[Int(i)] = 0
                    }
                    // Top-k among the touched items only (the others have similarity 0).
                    let cand = TopK.select(among: touched, scores: sims, k: k).filter { sims[Int($0)] > 0 }
                    out[j] = cand.map { ($0, sims[Int($0)]) }
                    for i in touched { sims[Int(i)] = -.infinity }
                }
            }
        }
        nbrPtr = [0]; nbrIdx = []; nbrSim = []
        for j in 0..<n {
            for (i, s) in lists[j] { nbrIdx.append(i); nbrSim.append(s) }
            nbrPtr.append(nbrIdx.count)
        }
        buildInverse()
    }

    private func buildInverse() {
        let n = itemCount
        var cnt = [Int](repeating: 0, count: n + 1)
        for i in nbrIdx { cnt[Int(i) + 1] += 1 }
        for i in 0..<n { cnt[i + 1] += cnt[i] }
        var next = cnt
        invIdx = [Int32](repeating: 0, count: nbrIdx.count)
        invSim = [Float](repeating: 0, count: nbrIdx.count)
        for j in 0..<n {
            for p in nbrPtr[j]..<nbrPtr[j + 1] {
                let i = Int(nbrIdx[p]); let q = next[i]; next[i] += 1
                invIdx[q] = Int32(j); invSim[q] = nbrSim[p]
            }
        }
        invPtr = cnt
    }

    public func score(_ queries: [ScoringQuery], into out: UnsafeMutablePointer<Float>) {
        let n = itemCount
        let o = SharedPointer(out)
        Threads.parallelFor(queries.count) { _, range in
            for r in range {
                let row = o.base + r * n
                row.initialize(repeating: 0, count: n)
                // Each history item once, in a fixed order (a Set's order varies between
                // instances, which would make float sums differ in the last bit).
                for h in Array(Set(queries[r].history)).sorted() where h >= 0 && Int(h) < n {
                    for p in self.invPtr[Int(h)]..<self.invPtr[Int(h) + 1] { row[Int(self.invIdx[p])] += self.invSim[p] }
                }
            }
        }
    }

    /// The similarity list of `item`: its neighbours with their similarities, best first.
    public func neighbours(of item: Int32) -> [(item: Int32, similarity: Float)] {
        guard item >= 0 && Int(item) < itemCount else { return [] }
        return (nbrPtr[Int(item)]..<nbrPtr[Int(item) + 1]).map { (nbrIdx[$0], nbrSim[$0]) }
    }

    public func contributions(of item: Int32, for query: ScoringQuery) -> [Float] {
        guard item >= 0 && Int(item) < itemCount else { return query.history.map { _ in 0 } }
        var sim: [Int32: Float] = [:]
        for p in nbrPtr[Int(item)]..<nbrPtr[Int(item) + 1] { sim[nbrIdx[p]] = nbrSim[p] }
        return query.history.map { sim[$0] ?? 0 }
    }

    static let tensorNames = SparseItemRows.Names(rowPointers: "neighbour_ptr", columns: "neighbour_index", values: "neighbour_similarity")

    public func state() throws -> SafeTensors {
        var st = SafeTensors()
        SparseItemRows(rowPointers: nbrPtr, columns: nbrIdx, values: nbrSim).write(into: &st, names: Self.tensorNames)
        return st
    }

    public func restore(_ state: SafeTensors) throws {
        let rows = try SparseItemRows.read(from: state, names: Self.tensorNames, kind: Self.kind)
        nbrPtr = rows.rowPointers
        nbrIdx = rows.columns
        nbrSim = rows.values
        itemCount = rows.itemCount
        buildInverse()
    }
}
