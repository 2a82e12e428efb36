import OsusumeModels

/// Registers the neural model kinds with `ModelRegistry` (the CLI and server call this once at
/// start-up, so `--model sasrec` and saved neural models resolve).
public enum NeuralModels {
    public static let all: [any Recommender.Type] = [MultDAE.self, MultVAE.self, MultiTaskDAE.self, RecVAE.self, SASRec.self, BERT4Rec.self, NeuMF.self]

    public static func register() {
        for t in all { ModelRegistry.register(t) }
    }
}
