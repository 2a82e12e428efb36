/// What is known about an item beyond its interactions. Keyed by the item's external id.
public struct CatalogItem: Sendable, Equatable, Codable {
    public var id: String
    public var title: String
    public var genres: [String]
    public var year: Int?
    public var tags: [String]
    /// The kind of item where a source has one (anime: TV, Movie, OVA, …).
    public var type: String?
    /// Episodes, for series (anime), when the source gives them.
    public var episodes: Int?
    public var imageURL: String?
    /// External references, e.g. ["imdb": "0114709", "tmdb": "862", "mal": "5114"].
    public var links: [String: String]
    /// Release or first-seen time in seconds since 1970, when known (for the Newest model).
    public var releasedAt: Int64?

    public init(
        id: String, title: String = "", genres: [String] = [], year: Int? = nil, tags: [String] = [],
        type: String? = nil, episodes: Int? = nil, imageURL: String? = nil, links: [String: String] = [:], releasedAt: Int64? = nil
    ) {
        self.id = id; self.title = title; self.genres = genres; self.year = year; self.tags = tags
        self.type = type; self.episodes = episodes; self.imageURL = imageURL; self.links = links; self.releasedAt = releasedAt
    }
}

public struct Catalog: Sendable {
    public private(set) var items: [CatalogItem] = []
    private var byID: [String: Int] = [:]

    public init() {}
    public init(_ items: [CatalogItem]) { for i in items { upsert(i) } }

    public var count: Int { items.count }
    public var isEmpty: Bool { items.isEmpty }

    public subscript(id: String) -> CatalogItem? { byID[id].map { items[$0] } }

    public mutating func upsert(_ item: CatalogItem) {
        if let i = byID[item.id] { items[i] = item } else { byID[item.id] = items.count; items.append(item) }
    }

    /// Applies `change` to the item `id`, creating an empty entry first if needed.
    public mutating func modify(_ id: String, _ change: (inout CatalogItem) -> Void) {
        if byID[id] == nil { upsert(CatalogItem(id: id)) }
        change(&items[byID[id]!])
    }
}

/// A data set as imported: interactions, catalog and where they came from.
public struct Dataset: Sendable {
    public var name: String
    public var format: String
    public var log: InteractionLog
    public var catalog: Catalog
    /// Per-user side information from the source (e.g. ML-1M users.dat: gender, age, occupation).
    public var userFeatures: [String: [String: String]]
    /// Malformed lines a lenient read left out, by kind (empty for a strict read).
    public var skippedLines: [SkippedLines.Kind] = []

    public init(
        name: String, format: String, log: InteractionLog, catalog: Catalog = Catalog(),
        userFeatures: [String: [String: String]] = [:]
    ) {
        self.name = name; self.format = format; self.log = log; self.catalog = catalog; self.userFeatures = userFeatures
    }
}
