import Foundation
import OsusumeCore

/// Every model kind Osusume knows, by the name `--model` takes.
public enum ModelRegistry {
    nonisolated(unsafe) public private(set) static var kinds: [String: any Recommender.Type] = [
        Popularity.kind: Popularity.self,
        Newest.kind: Newest.self,
        ItemKNN.kind: ItemKNN.self,
        EASE.kind: EASE.self,
        ContentBased.kind: ContentBased.self,
        PureSVD.kind: PureSVD.self,
    ]

    /// Adds a model kind (models in other modules register themselves at start-up).
    public static func register(_ type: any Recommender.Type) { kinds[type.kind] = type }

    public static var names: [String] { kinds.keys.sorted() }

    static func type(_ kind: String) throws -> any Recommender.Type {
        guard let t = kinds[kind.lowercased()] else {
            throw OsusumeError.invalidArgument("unknown model '\(kind)'; available: \(names.joined(separator: ", "))")
        }
        return t
    }

    /// A new, unfitted model with its defaults overridden by `settings` (`--set key=value`).
    public static func make(_ kind: String, settings: [String: String] = [:]) throws -> any Recommender {
        func build<M: Recommender>(_ t: M.Type) throws -> any Recommender {
            M(config: try M.Config().applying(settings))
        }
        return try build(try type(kind))
    }

    /// A model from a saved configuration (JSON object).
    public static func make(_ kind: String, configJSON: Data) throws -> any Recommender {
        func build<M: Recommender>(_ t: M.Type) throws -> any Recommender {
            do { return M(config: try JSONDecoder().decode(M.Config.self, from: configJSON)) } catch {
                throw OsusumeError.modelFile("\(kind): configuration does not decode: \(error)")
            }
        }
        return try build(try type(kind))
    }
}
