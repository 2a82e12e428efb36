import Foundation
import OsusumeCore

/// The model kinds an application offers, by the name `--model` takes and a manifest records.
///
/// Whoever builds the application assembles the list and hands it to what creates or loads
/// models: `ModelKinds.standard` (the models of this module), plus `NeuralModels.all` from
/// OsusumeNeural, plus a library user's own kinds. There is no global to fill at start-up, so
/// nothing can be forgotten: a kind missing from the list is an error naming the list.
public struct ModelKinds: @unchecked Sendable {
    public private(set) var types: [String: any Recommender.Type] = [:]

    public init(_ types: [any Recommender.Type]) {
        for t in types { self.types[t.kind] = t }
    }

    /// The models of OsusumeModels: popularity, newest, ItemKNN, EASE, content-based, PureSVD,
    /// ALS and BPR.
    public static let standard = ModelKinds([
        Popularity.self, Newest.self, ItemKNN.self, EASE.self, LocalEASE.self, ContentBased.self, PureSVD.self, ALS.self, BPR.self,
    ])

    /// This list with `more` added (a kind of the same name is replaced).
    public func adding(_ more: [any Recommender.Type]) -> ModelKinds {
        var copy = self
        for t in more { copy.types[t.kind] = t }
        return copy
    }

    public var names: [String] { types.keys.sorted() }

    func type(_ kind: String) throws -> any Recommender.Type {
        guard let t = types[kind.lowercased()] else {
            throw OsusumeError.invalidArgument("unknown model '\(kind)'; available: \(names.joined(separator: ", "))")
        }
        return t
    }

    /// A new, unfitted model with its defaults overridden by `settings` (`--set key=value`).
    public func make(_ kind: String, settings: [String: String] = [:]) throws -> any Recommender {
        func build<M: Recommender>(_ t: M.Type) throws -> any Recommender {
            M(config: try M.Config().applying(settings))
        }
        return try build(try type(kind))
    }

    /// A model from a saved configuration (JSON object). Keys the saved configuration lacks (a
    /// setting added after the model was written) take today's defaults.
    public func make(_ kind: String, configJSON: Data) throws -> any Recommender {
        func build<M: Recommender>(_ t: M.Type) throws -> any Recommender {
            do {
                var json = configJSON
                if let saved = try? JSONSerialization.jsonObject(with: configJSON) as? [String: Any],
                    var merged = try? JSONSerialization.jsonObject(with: JSONEncoder().encode(M.Config())) as? [String: Any]
                {
                    merged.merge(saved) { _, savedValue in savedValue }
                    json = try JSONSerialization.data(withJSONObject: merged)
                }
                return M(config: try JSONDecoder().decode(M.Config.self, from: json))
            } catch {
                throw OsusumeError.modelFile("\(kind): configuration does not decode: \(error)")
            }
        }
        return try build(try type(kind))
    }
}
