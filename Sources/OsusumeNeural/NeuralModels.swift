import OsusumeModels

/// The neural model kinds, for the list an application assembles:
/// `ModelKinds.standard.adding(NeuralModels.all)`.
public enum NeuralModels {
    public static let all: [any Recommender.Type] = [MultDAE.self, MultVAE.self, MultiTaskDAE.self, RecVAE.self, SASRec.self, BERT4Rec.self, NeuMF.self, LightGCN.self]
}

extension ModelKinds {
    /// Every kind Osusume has: the standard models and the neural ones.
    public static let all = ModelKinds.standard.adding(NeuralModels.all)
}
