import OsusumeCore

/// "More like this", decided in one place for the command line (`osusume similar`) and the
/// server (`/v1/items/{id}/similar`).
public enum SimilarItems {
    /// The items most similar to `item`, best first, never `item` itself: the neighbours an
    /// item-neighbour model learned (ItemKNN) when it has some for this item, else the top of
    /// `scores` (what the models recommend for a one-item history: `[item]`).
    public static func rank(
        of item: Int32, k: Int, neighbours: [(item: Int32, similarity: Float)]?,
        scores: () -> [Float]
    ) -> [(item: Int32, score: Float)] {
        if let neighbours {
            let own = neighbours.lazy.filter { $0.item != item }.prefix(k).map { (item: $0.item, score: $0.similarity) }
            if !own.isEmpty { return Array(own) }
        }
        var s = scores()
        TopK.exclude([item], from: &s)
        return TopK.select(s, k: k).map { (item: $0, score: s[Int($0)]) }
    }
}
