import Foundation
import OsusumeCore
import OsusumeData

/// Content-based recommendations from the catalog: each item is a TF-IDF vector over its genres,
/// tags, kind and decade (binary term frequency, smoothed IDF, L2-normalised); a user's profile is
/// the mean of the history's vectors; an item's score is the cosine between profile and item.
///
/// It needs no interactions beyond the item list, so it scores items nobody has seen yet and
/// histories of one or two items — the cold-start cases where collaborative models are weakest.
/// The score decomposes exactly over the history (`contributions`): item j's score is
/// Σₕ (v_h · v_j) / (|H| ‖p‖).
public final class ContentBased: ExplainableRecommender, @unchecked Sendable {
    public struct Config: ModelConfig {
        /// Weight of genre features.
        public var genreWeight: Double = 1
        /// Weight of free-form tag features.
        public var tagWeight: Double = 0.5
        /// Weight of the item's kind (anime: TV, Movie, OVA…) and of its decade.
        public var metaWeight: Double = 0.25
        /// Features carried by fewer items than this are dropped (noise from one-off tags).
        public var minFeatureItems: Int = 2
        public init() {}
    }
    public static let kind = "content"
    public let config: Config
    public private(set) var itemCount = 0
    /// Item vectors (CSR over features), unit length where an item has any feature.
    private var rowPtr: [Int] = [0], rowFeature: [Int32] = [], rowWeight: [Float] = []
    /// The same matrix by feature (postings), which is what scoring walks.
    private var colPtr: [Int] = [0], colItem: [Int32] = [], colWeight: [Float] = []
    public private(set) var featureNames: [String] = []

    public init(config: Config) { self.config = config }

    public func fit(_ data: TrainingData) throws {
        try fit(itemIDs: data.log.itemIDs, catalog: data.catalog)
    }

    /// Fits from an item list and its catalog alone (serving builds one from a model's catalog).
    public func fit(itemIDs: IDMap, catalog: Catalog) throws {
        let n = itemIDs.count
        guard n > 0 else { throw OsusumeError.emptyData("content: no items") }
        // Raw features per item, with their weights.
        var vocabulary: [String: Int32] = [:]
        var names: [String] = []
        var raw: [[(Int32, Float)]] = Array(repeating: [], count: n)
        var documentFrequency: [Int] = []
        func intern(_ name: String) -> Int32 {
            if let f = vocabulary[name] { return f }
            let f = Int32(names.count)
            vocabulary[name] = f; names.append(name); documentFrequency.append(0)
            return f
        }
        for i in 0..<n {
            guard let entry = catalog[itemIDs.id(of: Int32(i))] else { continue }
            var features: [Int32: Float] = [:]
            func add(_ name: String, _ weight: Double) {
                guard weight > 0 else { return }
                let key = name.trimmingCharacters(in: .whitespaces).lowercased()
                guard !key.isEmpty, !key.hasSuffix(":") else { return }
                let f = intern(key)
                features[f] = max(features[f] ?? 0, Float(weight))
            }
            for g in entry.genres where g != "(no genres listed)" { add("genre:" + g, config.genreWeight) }
            for t in entry.tags { add("tag:" + t, config.tagWeight) }
            if let t = entry.type { add("type:" + t, config.metaWeight) }
            if let y = entry.year { add("decade:\(y / 10 * 10)", config.metaWeight) }
            for f in features.keys { documentFrequency[Int(f)] += 1 }
            raw[i] = features.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
        // IDF, the rare-feature cut, and unit length.
        let minItems = max(1, config.minFeatureItems)
        let idf = documentFrequency.map { Float(log(Double(n + 1) / Double($0 + 1)) + 1) }
        rowPtr = [0]; rowFeature = []; rowWeight = []
        for i in 0..<n {
            let kept = raw[i].filter { documentFrequency[Int($0.0)] >= minItems }.map { ($0.0, $0.1 * idf[Int($0.0)]) }
            let norm = kept.reduce(Float(0)) { $0 + $1.1 * $1.1 }.squareRoot()
            for (f, w) in kept { rowFeature.append(f); rowWeight.append(w / norm) }
            rowPtr.append(rowFeature.count)
        }
        featureNames = names
        itemCount = n
        buildPostings()
    }

    private func buildPostings() {
        let features = featureNames.isEmpty ? (rowFeature.max().map { Int($0) + 1 } ?? 0) : featureNames.count
        var count = [Int](repeating: 0, count: features + 1)
        for f in rowFeature { count[Int(f) + 1] += 1 }
        for f in 0..<features { count[f + 1] += count[f] }
        var next = count
        colItem = [Int32](repeating: 0, count: rowFeature.count)
        colWeight = [Float](repeating: 0, count: rowFeature.count)
        for i in 0..<itemCount {
            for p in rowPtr[i]..<rowPtr[i + 1] {
                let f = Int(rowFeature[p]); let q = next[f]; next[f] += 1
                colItem[q] = Int32(i); colWeight[q] = rowWeight[p]
            }
        }
        colPtr = count
    }

    /// The mean content vector of a history (sparse: features ascending with their values), its
    /// norm, and how many history items it used. Accumulated in a dense scratch row over the
    /// features, so the order of the sums (and so the scores) does not depend on hashing.
    private func profile(_ history: [Int32]) -> (features: [Int32], values: [Float], used: Int, norm: Float) {
        let featureCount = colPtr.count - 1
        var dense = [Float](repeating: 0, count: max(0, featureCount))
        var isTouched = [Bool](repeating: false, count: max(0, featureCount))
        var touched: [Int32] = []
        var used = 0
        for h in history where h >= 0 && Int(h) < itemCount {
            used += 1
            for p in rowPtr[Int(h)]..<rowPtr[Int(h) + 1] {
                let f = rowFeature[p]
                if !isTouched[Int(f)] { isTouched[Int(f)] = true; touched.append(f) }
                dense[Int(f)] += rowWeight[p]
            }
        }
        guard used > 0, !touched.isEmpty else { return ([], [], used, 0) }
        touched.sort()
        let inv = 1 / Float(used)
        var norm: Float = 0
        let values = touched.map { f -> Float in
            let m = dense[Int(f)] * inv; norm += m * m; return m
        }
        return (touched, values, used, norm.squareRoot())
    }

    public func score(_ queries: [ScoringQuery], into out: UnsafeMutablePointer<Float>) {
        let n = itemCount
        for (r, q) in queries.enumerated() {
            let row = out + r * n
            row.initialize(repeating: 0, count: n)
            let p = profile(q.history)
            guard p.norm > 0 else { continue }
            let scale = 1 / p.norm
            for (f, v) in zip(p.features, p.values) {
                let w = v * scale
                for k in colPtr[Int(f)]..<colPtr[Int(f) + 1] { row[Int(colItem[k])] += w * colWeight[k] }
            }
        }
    }

    /// Cosine similarity of two items' content vectors.
    public func similarity(_ a: Int32, _ b: Int32) -> Float {
        guard a >= 0, b >= 0, Int(a) < itemCount, Int(b) < itemCount else { return 0 }
        var i = rowPtr[Int(a)], j = rowPtr[Int(b)]
        let iEnd = rowPtr[Int(a) + 1], jEnd = rowPtr[Int(b) + 1]
        var dot: Float = 0
        // Rows are sorted by feature, so a merge walk finds the shared ones.
        while i < iEnd && j < jEnd {
            if rowFeature[i] == rowFeature[j] { dot += rowWeight[i] * rowWeight[j]; i += 1; j += 1 } else if rowFeature[i] < rowFeature[j] { i += 1 } else { j += 1 }
        }
        return dot
    }

    /// The features of `item` with their weights, strongest first (for explanations and tests).
    public func features(of item: Int32) -> [(name: String, weight: Float)] {
        guard item >= 0 && Int(item) < itemCount else { return [] }
        return (rowPtr[Int(item)]..<rowPtr[Int(item) + 1])
            .map { (Int(rowFeature[$0]) < featureNames.count ? featureNames[Int(rowFeature[$0])] : "f\(rowFeature[$0])", rowWeight[$0]) }
            .sorted { $0.1 > $1.1 }
    }

    public func contributions(of item: Int32, for query: ScoringQuery) -> [Float] {
        contributions(of: [item], for: query)[0]
    }

    /// One profile for all the items: an item's score is Σ_h sim(h, item) / (used · ‖profile‖).
    public func contributions(of items: [Int32], for query: ScoringQuery) -> [[Float]] {
        let p = profile(query.history)
        guard p.norm > 0 else { return items.map { _ in query.history.map { _ in 0 } } }
        let scale = 1 / (Float(p.used) * p.norm)
        return items.map { item in query.history.map { h in h == item ? 0 : similarity(h, item) * scale } }
    }

    public func state() throws -> SafeTensors {
        var st = SafeTensors()
        st.set("row_ptr", int64s: rowPtr.map(Int64.init), shape: [rowPtr.count])
        st.set("feature", int32s: rowFeature, shape: [rowFeature.count])
        st.set("weight", floats: rowWeight, shape: [rowWeight.count])
        st.metadata["features"] = featureNames.joined(separator: "\n")
        return st
    }

    public func restore(_ state: SafeTensors) throws {
        let ptr = try state.int64s("row_ptr").values.map { Int($0) }
        let feature = try state.int32s("feature").values
        let weight = try state.floats("weight").values
        guard let last = ptr.last, last == feature.count, feature.count == weight.count, feature.allSatisfy({ $0 >= 0 }) else {
            throw OsusumeError.modelFile("content: item vectors are inconsistent")
        }
        rowPtr = ptr; rowFeature = feature; rowWeight = weight
        itemCount = ptr.count - 1
        let names = state.metadata["features"].map { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) } ?? []
        featureNames = names.count > Int(feature.max() ?? -1) ? names : []
        buildPostings()
    }
}
