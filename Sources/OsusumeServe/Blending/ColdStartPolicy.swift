import Foundation
import OsusumeCore
import OsusumeModels

/// Which models and which slot mix serve a history, by its length: no history gets popular and
/// new items; a short history leans on item-to-item and content models, which need little
/// evidence; a longer one on the personal models.
public struct ColdStartPolicy: Codable, Sendable, Equatable {
    public enum Stage: String, Codable, Sendable {
        /// No history: nothing personal to go on.
        case none
        /// A few items (fewer than `establishedAt`).
        case few
        /// Enough history for the personal models.
        case established
    }

    /// History length from which the personal models lead.
    public var establishedAt: Int = 5
    public var emptyMix = SlotMix(personal: 0, popular: 6, new: 4)
    public var fewBlend = WeightedBlend([
        .init(model: "itemknn", weight: 0.4), .init(model: "content", weight: 0.35),
        .init(model: "ease", weight: 0.25),
    ])
    public var fewMix = SlotMix(personal: 8, popular: 1, new: 1)
    public var establishedBlend = WeightedBlend([
        .init(model: "ease", weight: 0.6), .init(model: "itemknn", weight: 0.3),
        .init(model: "content", weight: 0.1),
    ])
    public var establishedMix = SlotMix(personal: 9, popular: 0, new: 1)

    public init() {}

    public func stage(forHistoryLength n: Int) -> Stage {
        n <= 0 ? .none : (n < establishedAt ? .few : .established)
    }

    /// The blend (nil for no history) and the mix for a history of `length`, restricted to the
    /// personal models `available`. When none of the stage's models is available, the available
    /// ones are weighed equally.
    public func plan(historyLength length: Int, available: [String]) -> (stage: Stage, blend: WeightedBlend?, mix: SlotMix) {
        let stage = stage(forHistoryLength: length)
        switch stage {
        case .none:
            return (stage, nil, emptyMix)
        case .few, .established:
            let preferred = stage == .few ? fewBlend : establishedBlend
            let blend =
                preferred.restricted(to: Set(available))
                ?? WeightedBlend(available.map { .init(model: $0, weight: 1 / Float(available.count)) }, normalisation: preferred.normalisation)
            return (stage, available.isEmpty ? nil : blend, stage == .few ? fewMix : establishedMix)
        }
    }
}
