import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels
import OsusumeStore

/// An item as the API shows it: what a list or a card needs, precomputed once per model set.
public struct ItemSummary: Codable, Sendable, Equatable {
    public var id: String
    /// The catalog's title, also the sort title ("Matrix, The (1999)").
    public var title: String
    /// The title as a person reads it ("The Matrix"); the year is a field of its own.
    public var displayTitle: String
    public var year: Int?
    public var genres: [String]
    public var imageURL: String?
    /// The kind of item where the catalog has one (anime: TV, Movie, OVA, …).
    public var type: String?
    /// Episodes, for series.
    public var episodes: Int?
}

/// A reference to a history item in an explanation or an echo of the request.
public struct ItemRef: Codable, Sendable, Equatable {
    public var id: String
    public var title: String
    public var displayTitle: String
}

/// Identity of one served model, for `/healthz`, `/metrics` and responses.
public struct ModelIdentity: Codable, Sendable, Equatable {
    public var name: String
    public var kind: String
    public var source: String
    public var items: Int
    /// The training data's fingerprint (or "catalog" for models built from the catalog).
    public var fingerprint: String
    public var createdAt: String
}

/// One model in the served item space. Models fitted on the same data share the item space of
/// the first model; a model with other ids is mapped by external id.
public final class ServedModel: @unchecked Sendable {
    public let name: String
    public let recommender: any Recommender
    public let identity: ModelIdentity
    /// Served item index → the model's index (−1 when the model lacks the item); nil when equal.
    let toModel: [Int32]?
    /// The model's user ids, for models that keep per-user state.
    let userIDs: IDMap?

    init(name: String, recommender: any Recommender, identity: ModelIdentity, toModel: [Int32]?, userIDs: IDMap?) {
        self.name = name; self.recommender = recommender; self.identity = identity
        self.toModel = toModel; self.userIDs = userIDs
    }

    var kind: String { identity.kind }
    var explainable: (any ExplainableRecommender)? { recommender as? any ExplainableRecommender }

    /// The history in the model's own item space.
    func modelHistory(_ history: [Int32]) -> [Int32] {
        guard let map = toModel else { return history }
        return history.compactMap { h in h >= 0 && Int(h) < map.count && map[Int(h)] >= 0 ? map[Int(h)] : nil }
    }

    func modelItem(_ item: Int32) -> Int32? {
        guard let map = toModel else { return item }
        return item >= 0 && Int(item) < map.count && map[Int(item)] >= 0 ? map[Int(item)] : nil
    }

    /// Scores of every served item for a history (served space); 0 for items the model lacks.
    func scores(history: [Int32], userID: String?, into out: UnsafeMutablePointer<Float>, count: Int) {
        let h = modelHistory(history)
        let n = recommender.itemCount
        let user = userID.flatMap { userIDs?.index(of: $0) }
        let query = ScoringQuery(user: user, history: h)
        if toModel == nil && n == count {
            recommender.score([query], into: out)
            return
        }
        let own = recommender.score(query)
        for i in 0..<count {
            let m = toModel?[i] ?? Int32(i)
            out[i] = m >= 0 && Int(m) < own.count ? own[Int(m)] : 0
        }
    }
}

/// Everything one generation of the service answers from: the item space and catalog, the
/// personal models, popularity and recency lists, the users' histories and the title index.
/// Immutable once built, so requests read it without locks; a reload builds a new one.
public final class ModelSet: @unchecked Sendable {
    public let itemIDs: IDMap
    public let items: [ItemSummary]
    public let catalog: Catalog
    public let userIDs: IDMap
    public let histories: [[Int32]]
    /// Personal models (everything but popularity and recency), in load order.
    public let personal: [ServedModel]
    /// Number of users with each item in their history (or the loaded `pop` model's scores).
    public let popularity: [Float]
    /// Items by popularity, most popular first.
    public let popularOrder: [Int32]
    /// Recent items (the newest few percent by release), most popular first.
    public let newOrder: [Int32]
    public let identities: [ModelIdentity]
    public let search: TitleSearchIndex
    public let loadedAt: Date
    /// Stored events up to this id are in every model's training data; later ones are folded
    /// into users' histories at request time.
    public let eventsThrough: Int64
    /// Items of the `--data` catalog the models do not know yet (new titles): feedback about
    /// them is accepted and stored, and the next retrain learns them.
    public let newCatalogItems: Set<String>
    /// What each event kind means to these models: the rule the first was trained with.
    public let eventRule: EventRule
    /// The model version (in the event store) this set was loaded from; 0 when none.
    public internal(set) var version: Int64 = 0

    public var itemCount: Int { itemIDs.count }
    public var personalNames: [String] { personal.map(\.name) }

    /// Personal models able to answer for this requester: all of them for a known user; for a
    /// new or anonymous one (`userID` nil or unknown to the model), only models that can score
    /// a history without a learned user vector (NeuMF cannot), so blends fall back to the others.
    public func personalNames(for userID: String?) -> [String] {
        personal.filter { m in
            m.recommender.canScoreNewUsers || (userID.flatMap { m.userIDs?.index(of: $0) } != nil)
        }.map(\.name)
    }
    public func model(named name: String) -> ServedModel? { personal.first { $0.name == name } }

    /// Whether feedback may name this item: the models know it, or the catalog does.
    public func acceptsFeedback(item id: String) -> Bool { itemIDs.contains(id) || newCatalogItems.contains(id) }

    /// Builds a model set from fitted models; the first defines the item space and the users.
    /// `extraCatalog` (e.g. from `--data`) adds to or overrides the models' catalog entries.
    /// A content-based model is built from the catalog when none is given and the catalog has
    /// genres or tags.
    public init(models: [(source: String, model: TrainedModel)], extraCatalog: Catalog? = nil) throws {
        guard let primary = models.first?.model else {
            throw OsusumeError.invalidArgument("serve: at least one model is needed")
        }
        itemIDs = primary.itemIDs
        userIDs = primary.userIDs
        histories = primary.histories
        let n = itemIDs.count

        var merged = Catalog()
        for (_, m) in models { for entry in m.catalog.items where itemIDs.contains(entry.id) && merged[entry.id] == nil { merged.upsert(entry) } }
        if let extra = extraCatalog {
            for entry in extra.items where itemIDs.contains(entry.id) {
                var e = entry
                if let old = merged[entry.id] {
                    if e.title.isEmpty { e.title = old.title }
                    if e.genres.isEmpty { e.genres = old.genres }
                    if e.tags.isEmpty { e.tags = old.tags }
                    e.year = e.year ?? old.year; e.imageURL = e.imageURL ?? old.imageURL
                    e.type = e.type ?? old.type; e.releasedAt = e.releasedAt ?? old.releasedAt
                    e.links = old.links.merging(e.links) { $1 }
                }
                merged.upsert(e)
            }
        }
        catalog = merged
        let served = itemIDs
        newCatalogItems = Set(extraCatalog?.items.map(\.id).filter { !served.contains($0) } ?? [])
        items = itemIDs.ids.map { id in
            let c = merged[id]
            let title = c.map { $0.title.isEmpty ? id : $0.title } ?? id
            return ItemSummary(
                id: id, title: title, displayTitle: TitleKey.display(title), year: c?.year,
                genres: c?.genres.filter { $0 != "(no genres listed)" } ?? [], imageURL: c?.imageURL,
                type: c?.type, episodes: c?.episodes)
        }

        // Personal models; "pop" and "newest" feed the popular and new slots instead.
        var personal: [ServedModel] = []
        var identities: [ModelIdentity] = []
        var popScores: [Float]?, newestScores: [Float]?
        var usedNames = Set<String>()
        for (source, m) in models {
            let kind = type(of: m.model).kind
            var name = kind, suffix = 2
            while usedNames.contains(name) { name = "\(kind)-\(suffix)"; suffix += 1 }
            usedNames.insert(name)
            let toModel: [Int32]? =
                m.itemIDs == itemIDs
                ? nil
                : itemIDs.ids.map { m.itemIDs.index(of: $0) ?? -1 }
            let identity = ModelIdentity(
                name: name, kind: kind, source: source, items: m.itemIDs.count,
                fingerprint: m.manifest.dataset.fingerprint, createdAt: m.manifest.createdAt)
            identities.append(identity)
            let served = ServedModel(name: name, recommender: m.model, identity: identity, toModel: toModel, userIDs: m.userIDs)
            if kind == Popularity.kind || kind == Newest.kind {
                var s = [Float](repeating: 0, count: n)
                s.withUnsafeMutableBufferPointer { served.scores(history: [], userID: nil, into: $0.baseAddress!, count: n) }
                if kind == Popularity.kind { popScores = popScores ?? s } else { newestScores = newestScores ?? s }
            } else {
                personal.append(served)
            }
        }
        if !usedNames.contains(ContentBased.kind) {
            let content = ContentBased(config: .init())
            let hasFeatures = merged.items.contains { !$0.genres.isEmpty || !$0.tags.isEmpty }
            if hasFeatures, (try? content.fit(itemIDs: itemIDs, catalog: merged)) != nil {
                let identity = ModelIdentity(
                    name: ContentBased.kind, kind: ContentBased.kind, source: "built from the catalog",
                    items: n, fingerprint: "catalog", createdAt: ISO8601DateFormatter().string(from: Date()))
                identities.append(identity)
                personal.append(ServedModel(name: ContentBased.kind, recommender: content, identity: identity, toModel: nil, userIDs: nil))
            }
        }
        self.personal = personal
        self.identities = identities

        if let p = popScores {
            popularity = p
        } else {
            var counts = [Float](repeating: 0, count: n)
            for h in primary.histories { for i in Set(h) where i >= 0 && Int(i) < n { counts[Int(i)] += 1 } }
            popularity = counts
        }
        let pop = popularity
        let byPopularity = (0..<Int32(n)).sorted { (a: Int32, b: Int32) -> Bool in
            let pa = pop[Int(a)], pb = pop[Int(b)]
            return pa > pb || (pa == pb && a < b)
        }
        popularOrder = byPopularity
        newOrder = ModelSet.recentItems(n: n, byPopularity: byPopularity, newest: newestScores, catalog: merged, ids: itemIDs)
        search = TitleSearchIndex(titles: items.map(\.title), popularity: pop)
        loadedAt = Date()
        eventsThrough = models.map { $0.model.manifest.eventsThrough }.min() ?? 0
        // The spec was checked when the model was trained; an unreadable one falls back to the default.
        if let spec = primary.manifest.trainingSource?.eventRule, let rule = try? EventRule(spec: spec) { eventRule = rule } else { eventRule = EventRule() }
    }

    /// The newest items — by the `newest` model when loaded, else by release time or year —
    /// cut to the most recent 2% (at least 50), then ordered by popularity: new and liked.
    static func recentItems(n: Int, byPopularity: [Int32], newest: [Float]?, catalog: Catalog, ids: IDMap) -> [Int32] {
        var release = [Double](repeating: -.infinity, count: n)
        for i in 0..<n {
            if let s = newest { release[i] = Double(s[i]); continue }
            guard let c = catalog[ids.id(of: Int32(i))] else { continue }
            if let t = c.releasedAt { release[i] = Double(t) } else if let y = c.year { release[i] = Double(y - 1970) * 31_556_952 }
        }
        let dated = (0..<n).filter { release[$0].isFinite }
        guard !dated.isEmpty else { return [] }
        let pool = max(50, n / 50)
        let newestFirst = dated.sorted { release[$0] > release[$1] }
        // Keep every item tied with the last one admitted, so a year boundary is not cut at random.
        let cutoff = release[newestFirst[min(pool, newestFirst.count) - 1]]
        return byPopularity.filter { release[Int($0)] >= cutoff }
    }

    /// Loads model directories and, optionally, a data set whose catalog enriches the models'.
    public static func load(modelPaths: [String], kinds: ModelKinds, dataPath: String? = nil, dataFormat: String? = nil) throws -> ModelSet {
        guard !modelPaths.isEmpty else { throw OsusumeError.invalidArgument("serve: give at least one --model PATH") }
        let models = try modelPaths.map { ($0, try TrainedModel.load(from: URL(fileURLWithPath: $0), kinds: kinds)) }
        let extra = try dataPath.map { try DatasetLoader.load(path: $0, format: dataFormat).catalog }
        return try ModelSet(models: models, extraCatalog: extra)
    }

    /// Loads a recorded model version.
    public static func load(version: ModelVersion, kinds: ModelKinds, dataPath: String? = nil, dataFormat: String? = nil) throws -> ModelSet {
        let set = try load(modelPaths: version.paths, kinds: kinds, dataPath: dataPath, dataFormat: dataFormat)
        set.version = version.version
        return set
    }

    /// Resolves an item reference (id, or title typed by a person), as the command line does.
    public func resolveItem(_ ref: String) throws -> Int32 {
        try search.resolveItem(ref, ids: itemIDs) { items[Int($0)].title }
    }

    /// One personal model's top-k for a history of item indices, the history excluded: the
    /// scoring core of every request, without blending, slots or explanations.
    public func topK(model name: String, history: [Int32], k: Int) -> [Int32] {
        guard let m = model(named: name) else { return [] }
        var scores = [Float](repeating: 0, count: itemCount)
        scores.withUnsafeMutableBufferPointer { m.scores(history: history, userID: nil, into: $0.baseAddress!, count: itemCount) }
        TopK.exclude(history, from: &scores)
        return TopK.select(scores, k: k)
    }

    public func ref(_ item: Int32) -> ItemRef {
        let s = items[Int(item)]
        return ItemRef(id: s.id, title: s.title, displayTitle: s.displayTitle)
    }
}
