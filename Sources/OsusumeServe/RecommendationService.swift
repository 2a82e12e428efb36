import Foundation
import OsusumeCore
import OsusumeData
import OsusumeModels
import OsusumeStore

/// One recommended item with where it came from and why.
public struct RecommendedItem: Codable, Sendable, Equatable {
    public var item: ItemSummary
    /// The blended personal score (the source's own score for popular and new items).
    public var score: Float
    public var slot: Slot
    /// The history items that account for a meaningful share of this item's score (at most
    /// three, strongest first); empty for slot items and when no single one stands out.
    public var because: [ItemRef]
    /// Why the item is in the list, in words and as a kind.
    public var reason: Reason
}

/// Why an item is recommended.
public struct Reason: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// Named history items drive its score ("Because you liked …").
        case history
        /// Personal, but no single history item stands out: the history as a whole.
        case profile
        /// Placed by the popular slot.
        case popular
        /// Placed by the new slot.
        case new
    }
    public var kind: Kind
    public var text: String

    /// The reason for an item of `slot` explained by `because`.
    public static func of(slot: Slot, because: [ItemRef]) -> Reason {
        switch slot {
        case .popular: return Reason(kind: .popular, text: "Popular with everyone")
        case .new: return Reason(kind: .new, text: "New in the catalog")
        case .personal:
            let names = because.map(\.displayTitle)
            guard let last = names.last else { return Reason(kind: .profile, text: "Fits your history as a whole") }
            let list = names.count == 1 ? last : names.dropLast().joined(separator: ", ") + " and " + last
            return Reason(kind: .history, text: "Because you liked " + list)
        }
    }
}

/// The answer to a recommendation request.
public struct RecommendationResult: Codable, Sendable, Equatable {
    /// The known user, when asked for one.
    public var user: String?
    public var stage: ColdStartPolicy.Stage
    /// The blend used for the personal slot ("" when there was none).
    public var blend: String
    /// How the list was made, as a sentence for people.
    public var summary: String
    public var mix: String
    public var history: [ItemRef]
    public var items: [RecommendedItem]
    /// History entries of the request that were left out (an id the models do not know, a title
    /// that matches nothing or several), with the reason; the rest was answered.
    public var ignored: [IgnoredRef] = []
}

/// Bounds on what one request may ask for.
public struct ServiceLimits: Sendable {
    public var maxK = 100
    public var maxHistory = 500
    /// History items considered for hold-out ablation (the most recent), per request.
    public var maxAblation = 30
    /// A user's stored events read per request (the most recent), so one very active user
    /// cannot make their requests unbounded.
    public var maxEventsPerRequest = 1_000
    public init() {}
}

/// A reference holder whose value is swapped atomically: readers take the current value under a
/// short lock and then work without it, so a reload never blocks or drops a request.
final class Swappable<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ new: Value) { lock.lock(); value = new; lock.unlock() }
    /// Changes the value under the lock.
    func update(_ body: (inout Value) -> Void) { lock.lock(); body(&value); lock.unlock() }
}

/// The recommendation logic behind the HTTP routes: holds the current `ModelSet`, reads each
/// user's events stored since the models were trained into their history, blends models by the
/// cold-start policy (or a requested blend), fills the slot mix, and explains each item.
public final class RecommendationService: @unchecked Sendable {
    private let current: Swappable<ModelSet>
    private let loader: (@Sendable () async throws -> ModelSet)?
    private let reloadLock = NSLock()
    private var reloading = false
    public let policy: ColdStartPolicy
    /// A fixed slot mix for every request, instead of the policy's per stage.
    public let fixedMix: SlotMix?
    public let limits: ServiceLimits
    /// Where feedback events are stored; nil serves training histories only.
    public let store: (any EventStore)?
    /// What each event kind means; nil: the rule the served models were trained with.
    public let ruleOverride: EventRule?
    private let reloadCounter = Swappable(0)
    private let storeReadFailures = Swappable(0)
    /// After a failed read the store is not asked again until then, so requests are answered
    /// from memory at once while it is down.
    private let storeDownUntil = Swappable(Date.distantPast)

    /// - Parameters:
    ///   - models: the first model set.
    ///   - loader: builds a fresh model set for `reload()` (nil: reload is unavailable).
    ///   - policy: which models and which slot mix serve a history, by its length.
    ///   - fixedMix: one slot mix for every request instead of the policy's.
    ///   - limits: bounds on what one request may ask for.
    ///   - store: the event store whose events extend users' histories.
    ///   - rule: what each event kind means (nil: the rule the models were trained with).
    public init(
        models: ModelSet, loader: (@Sendable () async throws -> ModelSet)? = nil, policy: ColdStartPolicy = ColdStartPolicy(),
        fixedMix: SlotMix? = nil, limits: ServiceLimits = ServiceLimits(), store: (any EventStore)? = nil,
        rule: EventRule? = nil
    ) {
        current = Swappable(models); self.loader = loader
        self.policy = policy; self.fixedMix = fixedMix; self.limits = limits
        self.store = store; self.ruleOverride = rule
    }

    /// The event rule for a model set: the override, else the one its models were trained with.
    public func rule(for set: ModelSet) -> EventRule { ruleOverride ?? set.eventRule }

    /// The model set requests are answered from right now.
    public var models: ModelSet { current.get() }
    public var reloads: Int { reloadCounter.get() }
    /// Requests answered without their stored events because the store could not be read.
    public var eventReadFailures: Int { storeReadFailures.get() }

    // MARK: reload

    /// Builds a new model set with the loader and swaps it in. Requests in flight finish on the
    /// set they started with; new ones get the new set. Concurrent reloads are refused.
    @discardableResult
    public func reload() async throws -> ModelSet {
        guard let loader else { throw ServiceError.unavailable("reload: this server was started without model paths") }
        guard beginReload() else { throw ServiceError.conflict("a reload is already in progress") }
        defer { endReload() }
        let fresh = try await loader()
        replace(with: fresh)
        return fresh
    }

    private func beginReload() -> Bool {
        reloadLock.lock(); defer { reloadLock.unlock() }
        if reloading { return false }
        reloading = true
        return true
    }

    private func endReload() { reloadLock.lock(); reloading = false; reloadLock.unlock() }

    /// Swaps in an already built model set.
    public func replace(with models: ModelSet) {
        current.set(models)
        reloadCounter.set(reloadCounter.get() + 1)
    }

    // MARK: recommending

    /// Checks a requested list length.
    public func validate(k: Int) throws {
        guard k >= 1 && k <= limits.maxK else { throw OsusumeError.invalidArgument("k must be between 1 and \(limits.maxK), got \(k)") }
    }

    /// A user's history as a request sees it: their training history, then their stored events
    /// (the latest `maxEventsPerRequest`) in time order. Events the models trained on are
    /// already in the history and are not added twice; dropped kinds (a dislike) exclude their
    /// item whenever they were stored, also after a retrain has trained on them; events a
    /// training filter left out come back here.
    public struct UserHistory: Sendable {
        public var history: [Int32]
        public var excluded: Set<Int32>
        public var knownUser: Bool
        /// Events read from the store for this request.
        public var events: Int
        /// The store could not be read: the history is the training history alone.
        public var storeUnavailable = false
    }

    public func userHistory(_ id: String, set: ModelSet) async -> UserHistory {
        let known = set.userIDs.index(of: id)
        let base = known.map { set.histories[Int($0)] } ?? []
        var memoryOnly = UserHistory(history: base, excluded: [], knownUser: known != nil, events: 0)
        guard let store else { return memoryOnly }
        memoryOnly.storeUnavailable = true
        if storeDownUntil.get() > Date() { storeReadFailures.update { $0 += 1 }; return memoryOnly }
        let events: [StoredFeedback]
        do { events = try await store.events(user: id, after: 0, latest: limits.maxEventsPerRequest) } catch {
            // Reads go on from memory while the store is down.
            storeReadFailures.update { $0 += 1 }
            if error is EventStoreUnavailable { storeDownUntil.set(Date().addingTimeInterval(2)) }
            return memoryOnly
        }
        let ext = EventMerge.extend(history: base, with: events, rule: rule(for: set)) { set.itemIDs.index(of: $0) }
        return UserHistory(history: ext.history, excluded: ext.excluded, knownUser: known != nil, events: events.count)
    }

    /// Recommendations for a user: their training history plus their stored events. A user the
    /// models never saw but who has events gets personal recommendations from those events.
    /// Items in the history are not recommended back unless `includeSeen`.
    public func recommend(user id: String, k: Int, blend: String? = nil, mix: String? = nil, includeSeen: Bool = false) async throws -> RecommendationResult {
        try validate(k: k)
        try FeedbackEvent.checkID(id, name: "user")
        let set = models
        let h = await userHistory(id, set: set)
        guard h.knownUser || !h.history.isEmpty || !h.excluded.isEmpty else {
            if h.storeUnavailable { throw ServiceError.unavailable("user '\(id)' is known only by stored events, and the event store is unavailable") }
            throw OsusumeError.unknownID(kind: "user", id: id)
        }
        var r = try recommend(
            set: set, history: h.history, userID: id, k: k, blend: blend, mix: mix,
            exclude: includeSeen ? h.excluded : h.excluded.union(h.history))
        r.user = id
        return r
    }

    /// Recommendations for a new or anonymous user from a history of item ids or titles; with
    /// `user`, that user's history and events come first.
    public func recommend(
        history refs: [String], user: String? = nil, k: Int, blend: String? = nil, mix: String? = nil,
        includeSeen: Bool = false
    ) async throws -> RecommendationResult {
        guard refs.count <= limits.maxHistory else {
            throw OsusumeError.invalidArgument("history has \(refs.count) items; at most \(limits.maxHistory)")
        }
        let set = models
        var history: [Int32] = []
        var excluded = Set<Int32>()
        if let user {
            try FeedbackEvent.checkID(user, name: "user")
            let h = await userHistory(user, set: set)
            history = h.history; excluded = h.excluded
        }
        let (given, ignored) = resolveHistory(refs, set: set)
        var seen = Set(history)
        for i in given where seen.insert(i).inserted { history.append(i) }
        var result = try recommend(
            set: set, history: history, userID: user, k: k, blend: blend, mix: mix,
            exclude: includeSeen ? excluded : excluded.union(history))
        result.user = user
        result.ignored = ignored
        return result
    }

    /// Synchronous form without the store, for a history given in full.
    public func recommend(history refs: [String], k: Int, blend: String? = nil, mix: String? = nil) throws -> RecommendationResult {
        guard refs.count <= limits.maxHistory else {
            throw OsusumeError.invalidArgument("history has \(refs.count) items; at most \(limits.maxHistory)")
        }
        let set = models
        let (given, ignored) = resolveHistory(refs, set: set)
        var history: [Int32] = []
        var seen = Set<Int32>()
        for i in given where seen.insert(i).inserted { history.append(i) }
        var result = try recommend(set: set, history: history, userID: nil, k: k, blend: blend, mix: mix, exclude: Set(history))
        result.ignored = ignored
        return result
    }

    /// Resolves a request's history entries (ids or titles), leaving out and reporting those the
    /// served models do not know (`resolveHistory` in OsusumeModels, as the command line does).
    func resolveHistory(_ refs: [String], set: ModelSet) -> (items: [Int32], ignored: [IgnoredRef]) {
        OsusumeModels.resolveHistory(refs) { try set.resolveItem($0) }
    }

    /// The personal blend for a request: the named spec, or the cold-start policy's ("auto").
    private func makePlan(
        set: ModelSet, historyLength: Int, userID: String?, blend spec: String?, mix mixSpec: String?
    ) throws
        -> (stage: ColdStartPolicy.Stage, blend: WeightedBlend?, mix: SlotMix)
    {
        let usable = set.personalNames(for: userID)
        var plan = policy.plan(historyLength: historyLength, available: usable)
        if let spec = spec?.trimmingCharacters(in: .whitespaces), !spec.isEmpty, spec != "auto" {
            let requested = try WeightedBlend(spec: spec)
            for c in requested.components where set.model(named: c.model) == nil {
                throw OsusumeError.invalidArgument("blend: no model '\(c.model)' is loaded; loaded: \(set.personalNames.joined(separator: ", "))")
            }
            // Components that cannot answer for this requester drop out; with none left, the
            // policy's blend of the usable models stands in.
            plan.blend = historyLength > 0 ? (requested.restricted(to: Set(usable)) ?? plan.blend) : nil
        }
        if let m = mixSpec?.trimmingCharacters(in: .whitespaces), !m.isEmpty { plan.mix = try SlotMix(spec: m) } else if let fixed = fixedMix { plan.mix = fixed }
        return plan
    }

    func recommend(
        set: ModelSet, history: [Int32], userID: String?, k: Int, blend spec: String?, mix mixSpec: String?,
        exclude: Set<Int32>
    ) throws -> RecommendationResult {
        try validate(k: k)
        let plan = try makePlan(set: set, historyLength: history.count, userID: userID, blend: spec, mix: mixSpec)
        var candidates: [Slot: [Int32]] = [:]
        var blended = [Float]()
        var scoring: BlendScoring?
        if let blend = plan.blend, plan.mix.counts[.personal, default: 0] > 0 || plan.mix.total == 0 {
            let s = BlendScoring(set: set, blend: blend, history: history, userID: userID, exclude: exclude)
            blended = s.blended
            candidates[.personal] = TopK.select(blended, k: k)
            scoring = s
        } else if let blend = plan.blend {
            // No personal slot, but explanations still come from the blend.
            scoring = BlendScoring(set: set, blend: blend, history: history, userID: userID, exclude: exclude)
            blended = scoring!.blended
        }
        func unseen(_ list: [Int32]) -> [Int32] {
            var out: [Int32] = []; out.reserveCapacity(2 * k)
            for i in list where !exclude.contains(i) { out.append(i); if out.count >= 2 * k { break } }
            return out
        }
        candidates[.popular] = unseen(set.popularOrder)
        candidates[.new] = unseen(set.newOrder)
        let picked = plan.mix.fill(k: k, candidates: candidates)
        // Only personal items are explained by the history: a slot item is there for its slot's reason.
        let personalPicks = picked.filter { $0.slot == .personal }.map(\.item)
        let becauseLists = scoring?.topContributors(of: personalPicks, limit: 3, maxAblation: limits.maxAblation) ?? []
        var because: [Int32: [ItemRef]] = [:]
        for (item, list) in zip(personalPicks, becauseLists) { because[item] = list.map(set.ref) }
        let items = picked.map { p -> RecommendedItem in
            let score: Float
            switch p.slot {
            case .personal: score = blended.isEmpty ? 0 : blended[Int(p.item)]
            case .popular, .new: score = set.popularity[Int(p.item)]
            }
            let named = because[p.item] ?? []
            return RecommendedItem(
                item: set.items[Int(p.item)], score: score.isFinite ? score : 0, slot: p.slot,
                because: named, reason: .of(slot: p.slot, because: named))
        }
        return RecommendationResult(
            user: nil, stage: plan.stage, blend: plan.blend?.description ?? "",
            summary: Self.summary(stage: plan.stage, blend: plan.blend, items: items, set: set),
            mix: plan.mix.description, history: history.suffix(50).map(set.ref), items: items)
    }

    /// What each model goes by, in a few words, for the summary sentence.
    static let modelWords: [String: String] = [
        "ease": "titles watched together", "itemknn": "similar titles", "content": "shared genres and tags",
        "puresvd": "taste factors", "multvae": "an autoencoder of histories", "multdae": "an autoencoder of histories",
        "recvae": "an autoencoder of histories", "multitask-dae": "an autoencoder of histories and ratings",
        "neumf": "a neural model of users and titles", "sasrec": "the order you watched in", "bert4rec": "the order you watched in",
    ]

    /// "A short history: 8 picked for you by similar titles (itemknn, 40%) and …; 1 popular with everyone; 1 new in the catalog."
    static func summary(stage: ColdStartPolicy.Stage, blend: WeightedBlend?, items: [RecommendedItem], set: ModelSet) -> String {
        var counts: [Slot: Int] = [:]
        for x in items { counts[x.slot, default: 0] += 1 }
        var parts: [String] = []
        if let n = counts[.personal], n > 0, let blend {
            let used = blend.components.filter { $0.weight > 0 }
            let sources = used.map { c -> String in
                let kind = set.model(named: c.model)?.kind ?? c.model
                let words = modelWords[kind] ?? c.model
                return used.count == 1 ? "\(words) (\(c.model))" : "\(words) (\(c.model), \(Int((c.weight * 100).rounded()))%)"
            }
            let list = sources.count <= 1 ? sources.joined() : sources.dropLast().joined(separator: ", ") + " and " + sources.last!
            parts.append("\(n) picked for you by " + list)
        }
        if let n = counts[.popular], n > 0 { parts.append("\(n) popular with everyone") }
        if let n = counts[.new], n > 0 { parts.append("\(n) new in the catalog") }
        let lead: String
        switch stage {
        case .none: lead = "No history yet"
        case .few: lead = "A short history"
        case .established: lead = "Your history"
        }
        return parts.isEmpty ? lead + ": nothing to recommend." : lead + ": " + parts.joined(separator: "; ") + "."
    }

    // MARK: items

    /// Items similar to `item` (an id or a title), by `SimilarItems` as the command line ranks
    /// them: a loaded ItemKNN model's neighbours, else what the cold-start blend recommends for
    /// a one-item history (popularity when no model can answer).
    public func similar(to ref: String, k: Int) throws -> (item: ItemSummary, similar: [ItemSummary]) {
        try validate(k: k)
        let set = models
        let i = try set.resolveItem(ref)
        var neighbours: [(item: Int32, similarity: Float)]?
        if let knnModel = set.personal.first(where: { $0.recommender is ItemKNN }), let knn = knnModel.recommender as? ItemKNN,
            let mi = knnModel.modelItem(i)
        {
            if let map = knnModel.toModel {
                var back: [Int32: Int32] = [:]
                for (s, m) in map.enumerated() where m >= 0 { back[m] = Int32(s) }
                neighbours = knn.neighbours(of: mi).compactMap { n in back[n.item].map { (item: $0, similarity: n.similarity) } }
            } else {
                neighbours = knn.neighbours(of: mi)
            }
        }
        let ranked = SimilarItems.rank(of: i, k: k, neighbours: neighbours) {
            let plan = policy.plan(historyLength: 1, available: set.personalNames(for: nil))
            guard let blend = plan.blend else { return set.popularity }
            return BlendScoring(set: set, blend: blend, history: [i], userID: nil, exclude: [i]).blended
        }
        return (set.items[Int(i)], ranked.map { set.items[Int($0.item)] })
    }

    /// Title search for the picker.
    public func search(_ query: String, limit: Int) -> [ItemSummary] {
        let set = models
        return set.search.search(query, limit: limit).map { set.items[Int($0)] }
    }
}

/// Errors of the service's own state (as opposed to bad input).
public enum ServiceError: Error, CustomStringConvertible {
    case conflict(String)
    case unavailable(String)
    public var description: String {
        switch self {
        case .conflict(let m), .unavailable(let m): return m
        }
    }
}

/// One request's blended scores, kept to explain the items afterwards.
final class BlendScoring {
    let set: ModelSet
    let blend: WeightedBlend
    let history: [Int32]
    let userID: String?
    /// The blended score of every item; −∞ for excluded ones.
    var blended: [Float]
    /// Per component: its score vector (needed for ablation) and its multiplier in the blend.
    private var multipliers: [Float] = []
    private var models: [ServedModel] = []
    /// Per component, for models explained by ablation: the scores with the full history and
    /// with each of the last history items held out (computed once per request, on first use).
    private var ablated: [Int: (full: [Float], without: [Int: [Float]])] = [:]

    init(set: ModelSet, blend: WeightedBlend, history: [Int32], userID: String?, exclude: Set<Int32>) {
        self.set = set; self.blend = blend; self.history = history; self.userID = userID
        let n = set.itemCount
        let models = blend.components.map { set.model(named: $0.model)! }
        var scores = [[Float]](repeating: [], count: models.count)
        for (c, m) in models.enumerated() {
            var s = [Float](repeating: 0, count: n)
            s.withUnsafeMutableBufferPointer { m.scores(history: history, userID: userID, into: $0.baseAddress!, count: n) }
            TopK.exclude(exclude, from: &s)
            scores[c] = s
        }
        var out = [Float](repeating: 0, count: n)
        let mult = out.withUnsafeMutableBufferPointer { op in
            withBuffers(scores) { blend.combine($0, count: n, into: op.baseAddress!) }
        }
        blended = out
        multipliers = mult
        self.models = models
    }

    /// The history items contributing a meaningful share (`Explanation.meaningful`) of `item`'s
    /// blended score, best first.
    /// Explainable models give their own contributions; the others are measured by hold-out
    /// ablation over the most recent `maxAblation` history items.
    func topContributors(of item: Int32, limit: Int, maxAblation: Int) -> [Int32] {
        topContributors(of: [item], limit: limit, maxAblation: maxAblation)[0]
    }

    /// The same for several items, sharing each model's per-request work (a content profile,
    /// the ablation scores) across them.
    func topContributors(of items: [Int32], limit: Int, maxAblation: Int) -> [[Int32]] {
        guard !history.isEmpty else { return items.map { _ in [] } }
        var totals = [[Float]](repeating: [Float](repeating: 0, count: history.count), count: items.count)
        for (c, m) in models.enumerated() where multipliers[c] != 0 {
            let perItem: [[Float]]
            if let e = m.explainable, m.toModel == nil {
                perItem = e.contributions(of: items, for: ScoringQuery(user: userID.flatMap { m.userIDs?.index(of: $0) }, history: history))
            } else {
                perItem = items.map { ablation(component: c, item: $0, maxAblation: maxAblation) }
            }
            for (k, contributions) in perItem.enumerated() {
                for h in 0..<min(history.count, contributions.count) { totals[k][h] += multipliers[c] * contributions[h] }
            }
        }
        return zip(items, totals).map { item, total in
            var t = total
            for h in t.indices where history[h] == item { t[h] = 0 }
            return Explanation.meaningful(t, limit: limit).map { history[$0] }
        }
    }

    /// Score drop of `item` when each of the last `maxAblation` history items is held out.
    private func ablation(component c: Int, item: Int32, maxAblation: Int) -> [Float] {
        let n = set.itemCount
        if ablated[c] == nil {
            let m = models[c]
            var full = [Float](repeating: 0, count: n)
            full.withUnsafeMutableBufferPointer { m.scores(history: history, userID: userID, into: $0.baseAddress!, count: n) }
            var without: [Int: [Float]] = [:]
            for h in max(0, history.count - maxAblation)..<history.count {
                var held = history; held.remove(at: h)
                var s = [Float](repeating: 0, count: n)
                // A held-out history is a new query: no per-user state that would still remember h.
                // (Models without fold-in keep the user: their score does not depend on the history.)
                let who = m.recommender.canScoreNewUsers ? nil : userID
                s.withUnsafeMutableBufferPointer { m.scores(history: held, userID: who, into: $0.baseAddress!, count: n) }
                without[h] = s
            }
            ablated[c] = (full, without)
        }
        let a = ablated[c]!
        return history.indices.map { h in a.without[h].map { a.full[Int(item)] - $0[Int(item)] } ?? 0 }
    }
}

/// Calls `body` with unsafe views of every array (nested so all stay valid together).
func withBuffers<R>(_ arrays: [[Float]], _ body: ([UnsafeBufferPointer<Float>]) -> R) -> R {
    func go(_ i: Int, _ acc: [UnsafeBufferPointer<Float>]) -> R {
        if i == arrays.count { return body(acc) }
        return arrays[i].withUnsafeBufferPointer { go(i + 1, acc + [$0]) }
    }
    return go(0, [])
}
