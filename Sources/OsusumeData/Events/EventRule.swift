import Foundation
import OsusumeCore

/// What each kind of feedback means to a model: one rule, used both when events join a
/// training log and when they extend a user's history at request time, so that a model is
/// served with the same meaning it was trained with.
///
/// - `keep`: a positive interaction (with the event's rating, if it has one);
/// - `weight(w)`: a positive interaction whose rating is `w` when the event carries none;
/// - `drop`: never positive; the item is excluded from the user's recommendations, and in a
///   training log it also removes the user's earlier interactions with that item.
///
/// Default: `dislike` and `skip` drop; every other kind keeps. With `minRating`, a `rating`
/// event below it is a drop as well.
public struct EventRule: Sendable, Equatable, CustomStringConvertible {
    public enum Action: Sendable, Equatable {
        case keep
        case weight(Float)
        case drop
    }

    public var actions: [String: Action]
    /// `rating` events below this count as drops (nil: every rating is positive).
    public var minRating: Double?

    public init(actions: [String: Action] = EventRule.defaultActions, minRating: Double? = nil) {
        self.actions = actions; self.minRating = minRating
    }

    public static let defaultActions: [String: Action] = [
        "view": .keep, "click": .keep, "like": .keep, "favourite": .keep, "rating": .keep,
        "watch": .keep, "purchase": .keep, "dislike": .drop, "skip": .drop,
    ]

    /// Parses `kind=keep|drop|NUMBER` pairs separated by commas, applied over the default
    /// (`minRating=N` sets the rating floor), e.g. `view=drop,like=5,minRating=3`.
    public init(spec: String) throws {
        self.init()
        for part in spec.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2 else { throw OsusumeError.invalidArgument("event rule '\(part)': expected kind=keep|drop|NUMBER") }
            if kv[0] == "minRating" {
                guard let v = Double(kv[1]), v.isFinite else { throw OsusumeError.invalidArgument("event rule: minRating expects a number, got '\(kv[1])'") }
                minRating = v
                continue
            }
            guard FeedbackEvent.kinds.contains(kv[0]) else {
                throw OsusumeError.invalidArgument("event rule: unknown kind '\(kv[0])'; kinds: \(FeedbackEvent.kinds.sorted().joined(separator: ", "))")
            }
            switch kv[1] {
            case "keep": actions[kv[0]] = .keep
            case "drop": actions[kv[0]] = .drop
            default:
                guard let w = Float(kv[1]), w.isFinite else {
                    throw OsusumeError.invalidArgument("event rule: '\(kv[0])' expects keep, drop or a number, got '\(kv[1])'")
                }
                actions[kv[0]] = .weight(w)
            }
        }
    }

    /// The action for one event, the rating floor included.
    public func action(for event: FeedbackEvent) -> Action {
        let a = actions[event.kind] ?? .drop
        if a != .drop, event.kind == "rating", let floor = minRating, let r = event.rating, r < floor { return .drop }
        return a
    }

    public func isPositive(_ event: FeedbackEvent) -> Bool { action(for: event) != .drop }

    /// The rating an event contributes to a log (NaN when none).
    public func rating(for event: FeedbackEvent) -> Float {
        if let r = event.rating { return Float(r) }
        if case .weight(let w) = action(for: event) { return w }
        return .nan
    }

    public var description: String {
        let parts = actions.keys.sorted().map { k -> String in
            switch actions[k]! {
            case .keep: return "\(k)=keep"
            case .drop: return "\(k)=drop"
            case .weight(let w): return "\(k)=\(w)"
            }
        }
        return parts.joined(separator: ",") + (minRating.map { ",minRating=\($0)" } ?? "")
    }
}
