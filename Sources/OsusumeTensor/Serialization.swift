import Foundation
import OsusumeCore

extension SafeTensors {
    /// Stores a tensor as F32 under `name`.
    public mutating func set(_ name: String, _ tensor: Tensor) {
        let t = densify(tensor)
        set(name, floats: t.scalars, shape: t.shape)
    }

    /// The tensor stored under `name`, converted to Float32.
    public func tensor(_ name: String) throws -> Tensor {
        let (values, shape) = try floats(name)
        return Tensor(shape: shape, scalars: values)
    }
}

extension Module {
    /// The parameters as a safetensors container, named by dotted path.
    public func stateDict(metadata: [String: String] = [:]) -> SafeTensors {
        var st = SafeTensors()
        for (name, t) in namedParameters() { st.set(name, t) }
        st.metadata = metadata
        return st
    }

    /// Writes the parameters to a safetensors file (readable by Python's `safetensors`).
    public func save(to url: URL, metadata: [String: String] = [:]) throws {
        try stateDict(metadata: metadata).write(to: url)
    }

    /// Copies parameters from a safetensors container into this module. Every parameter must be
    /// present with the same shape; with `strict`, the file may hold nothing else.
    public func load(_ st: SafeTensors, strict: Bool = true) throws {
        let params = namedParameters()
        for (name, p) in params {
            let (values, shape) = try st.floats(name)
            guard shape == p.shape else {
                throw OsusumeError.modelFile("tensor '\(name)' has shape \(shape), the model expects \(p.shape)")
            }
            p.withUnsafeMutableBufferPointer { dst in _ = dst.update(from: values) }
        }
        if strict {
            let known = Set(params.map { $0.0 })
            if let extra = st.tensors.keys.sorted().first(where: { !known.contains($0) }) {
                throw OsusumeError.modelFile("tensor '\(extra)' is not a parameter of this model")
            }
        }
    }

    /// Reads parameters from a safetensors file written by `save` or by Python.
    public func load(from url: URL, strict: Bool = true) throws {
        try load(SafeTensors(contentsOf: url), strict: strict)
    }
}
