import Foundation
import OsusumeCore

/// The reverse-mode tape. Ops append one entry per result while recording; a backward pass walks
/// the entries in reverse, handing each result's gradient to the closure that knows how to pass it
/// on to the op's inputs. Recording happens only inside `valueAndGrad`, so plain calls (inference)
/// record nothing and allocate no tape. One recording thread per process at a time.
enum Tape {
    struct Entry {
        let output: Tensor
        let backward: (Tensor) -> Void
    }
    nonisolated(unsafe) static var entries: [Entry] = []
    nonisolated(unsafe) static var recording = false
    nonisolated(unsafe) static var paused = 0
    /// While a backward closure runs: whether the gradient it was handed is held by no one else
    /// (so an op passing it on unchanged to a single input may hand over ownership too).
    nonisolated(unsafe) static var gradientOwned = false

    @inline(__always) static var isActive: Bool { recording && paused == 0 }

    /// True when an op on these inputs must be recorded.
    @inline(__always) static func needs(_ a: Tensor) -> Bool { isActive && a.requiresGrad }
    @inline(__always) static func needs(_ a: Tensor, _ b: Tensor) -> Bool { isActive && (a.requiresGrad || b.requiresGrad) }
    @inline(__always) static func needs(_ inputs: [Tensor]) -> Bool { isActive && inputs.contains { $0.requiresGrad } }

    /// Marks `output` as differentiable and records how to send its gradient back.
    @inline(__always) static func record(_ output: Tensor, _ backward: @escaping (Tensor) -> Void) {
        output.requiresGrad = true
        entries.append(Entry(output: output, backward: backward))
    }

    /// Runs the backward pass from a scalar `loss`, seeding it with `seed` (default 1). Entries are
    /// released as they are consumed, so saved activations are freed progressively.
    static func backward(from loss: Tensor, seed: Float = 1) {
        precondition(loss.count == 1, "backward needs a scalar loss, shape is \(loss.shape)")
        let wasRecording = recording
        recording = false
        defer { recording = wasRecording }
        loss.grad = Tensor.full(loss.shape, seed)
        while let e = entries.popLast() {
            guard let g = e.output.grad else { continue }
            gradientOwned = e.output.gradOwned
            e.output.grad = nil
            e.backward(g)
        }
    }
}

/// Adds `g` to `t`'s gradient (when `t` wants one). `owned` says `g` is a fresh buffer nobody else
/// holds, so it may later be updated in place.
func accumulateGrad(_ t: Tensor, _ g: Tensor, owned: Bool = false) {
    guard t.requiresGrad else { return }
    precondition(g.count == t.count || g.sparseRows != nil, "gradient of \(g.shape) for tensor of \(t.shape)")
    guard let existing = t.grad else {
        t.grad = g.shape == t.shape || g.sparseRows != nil ? g : g.reshaped(t.shape)
        t.gradOwned = owned
        return
    }
    if existing.sparseRows != nil || g.sparseRows != nil {
        if let a = existing.sparseRows, let b = g.sparseRows {
            t.grad = mergeRowSparse(existing, a, g, b)
        } else {
            let dense = existing.sparseRows == nil ? (t.gradOwned ? existing : existing.detached()) : densify(existing)
            addInto(dense, g)
            t.grad = dense
        }
        t.gradOwned = true
        return
    }
    if t.gradOwned {
        addInto(existing, g)
    } else {
        let sum = Tensor(uninitialized: t.shape)
        elementwise(existing.data, g.data, sum.data, existing.count) { $0 + $1 }
        t.grad = sum
        t.gradOwned = true
    }
}

/// Adds a gradient to `t`'s without a separate sum: `write(c, beta)` must store its result plus
/// beta · c into c (a product with BLAS's beta, a kernel that accumulates). An owned dense gradient
/// receives it in place (beta 1); an unowned one is copied first (beta 1); without a gradient the
/// result fills a fresh buffer (beta 0).
func accumulateGradInPlace(_ t: Tensor, _ write: (UnsafeMutablePointer<Float>, Float) -> Void) {
    guard t.requiresGrad else { return }
    if let existing = t.grad, existing.sparseRows == nil, existing.count == t.count {
        if t.gradOwned { write(existing.data, 1); return }
        let sum = Tensor(uninitialized: t.shape)
        sum.data.update(from: existing.data, count: t.count)
        write(sum.data, 1)
        t.grad = sum
        t.gradOwned = true
        return
    }
    let fresh = Tensor(uninitialized: t.shape)
    write(fresh.data, 0)
    accumulateGrad(t, fresh, owned: true)
}

/// dense += g (g dense or row-sparse).
func addInto(_ dense: Tensor, _ g: Tensor) {
    if let rows = g.sparseRows {
        let width = dense.count / Swift.max(dense.shape[0], 1)
        for (i, r) in rows.enumerated() {
            let dst = dense.data + Int(r) * width, src = g.data + i * width
            for j in 0..<width { dst[j] += src[j] }
        }
    } else {
        elementwise(dense.data, g.data, dense.data, dense.count) { $0 + $1 }
    }
}

/// The dense form of a row-sparse tensor.
func densify(_ t: Tensor) -> Tensor {
    guard t.sparseRows != nil else { return t }
    let d = Tensor(zeroed: t.shape)
    addInto(d, t)
    return d
}

func mergeRowSparse(_ x: Tensor, _ xr: [Int32], _ y: Tensor, _ yr: [Int32]) -> Tensor {
    let width = x.shape.dropFirst().reduce(1, *)
    var rows: [Int32] = []
    rows.reserveCapacity(xr.count + yr.count)
    var i = 0, j = 0
    while i < xr.count || j < yr.count {
        if j >= yr.count || (i < xr.count && xr[i] < yr[j]) {
            rows.append(xr[i]); i += 1
        } else if i >= xr.count || yr[j] < xr[i] {
            rows.append(yr[j]); j += 1
        } else {
            rows.append(xr[i]); i += 1; j += 1
        }
    }
    let out = Tensor(zeroed: [rows.count * width])
    var k = 0
    for (src, srcRows) in [(x, xr), (y, yr)] {
        k = 0
        for (n, r) in srcRows.enumerated() {
            while rows[k] != r { k += 1 }
            let dst = out.data + k * width, s = src.data + n * width
            for c in 0..<width { dst[c] += s[c] }
        }
    }
    let result = Tensor(shape: x.shape, storage: out.storage)
    result.sparseRows = rows
    return result
}

// MARK: public entry points

/// Whether ops are being recorded for a backward pass right now.
public var isRecordingGradients: Bool { Tape.isActive }

/// Runs `body` without recording, even inside `valueAndGrad` (inference mode).
public func withoutGradients<T>(_ body: () throws -> T) rethrows -> T {
    Tape.paused += 1
    defer { Tape.paused -= 1 }
    return try body()
}

/// Gradients of a loss by parameter name (dotted, as `Module.namedParameters` spells them).
public struct Gradients {
    public var byName: [String: Tensor]
    public init(_ byName: [String: Tensor] = [:]) { self.byName = byName }
    public subscript(name: String) -> Tensor? {
        get { byName[name] }
        set { byName[name] = newValue }
    }
    public var names: [String] { byName.keys.sorted() }

    /// √(Σ g²) over every gradient.
    public var globalNorm: Float {
        var total = 0.0
        for name in names { let g = byName[name]!; total += sumOfSquares(g.data, g.sparseRows.map { $0.count * g.shape.dropFirst().reduce(1, *) } ?? g.count) }
        return Float(total.squareRoot())
    }

    /// Scales all gradients so that their global norm is at most `maxNorm`; returns the norm
    /// before clipping.
    @discardableResult
    public mutating func clipNorm(_ maxNorm: Float) -> Float {
        let norm = globalNorm
        guard norm > maxNorm, norm > 0 else { return norm }
        let scale = maxNorm / (norm + 1e-6)
        for name in names {
            let g = byName[name]!
            let n = g.sparseRows.map { $0.count * g.shape.dropFirst().reduce(1, *) } ?? g.count
            let s = Tensor(uninitialized: [n])
            for i in 0..<n { s.data[i] = g.data[i] * scale }
            let out = Tensor(shape: g.shape, storage: s.storage)
            out.sparseRows = g.sparseRows
            byName[name] = out
        }
        return norm
    }
}

/// Evaluates `loss(model)` while recording, runs the backward pass, and returns the loss with the
/// gradient of every trainable parameter of `model` that the loss depends on.
///
///     let (loss, grads) = valueAndGrad(model) { model in crossEntropy(model(x), targets) }
///     optimizer.update(model, grads)
public func valueAndGrad<M: Module>(_ model: M, _ loss: (M) -> Tensor) -> (loss: Float, grads: Gradients) {
    let params = model.trainableParameters()
    let (value, grads) = valueAndGrad(wrt: params.map { $0.1 }) { loss(model) }
    var named = Gradients()
    for (i, (name, _)) in params.enumerated() { if let g = grads[i] { named[name] = g } }
    return (value.item, named)
}

/// Evaluates `f()` while recording and returns its (scalar) value and the gradient with respect to
/// each of `inputs` (nil where the value does not depend on it). Inputs are marked as requiring
/// gradients for the duration.
public func valueAndGrad(wrt inputs: [Tensor], _ f: () -> Tensor) -> (value: Tensor, grads: [Tensor?]) {
    precondition(!Tape.recording, "valueAndGrad cannot be nested")
    let previous = inputs.map { $0.requiresGrad }
    for t in inputs { t.requiresGrad = true; t.grad = nil }
    Tape.entries.removeAll(keepingCapacity: true)
    Tape.recording = true
    let value = f()
    Tape.recording = false
    if value.requiresGrad { Tape.backward(from: value) }
    Tape.entries.removeAll(keepingCapacity: true)
    var grads: [Tensor?] = []
    for (t, was) in zip(inputs, previous) {
        grads.append(t.grad)
        t.grad = nil
        t.requiresGrad = was
    }
    let plain = Tensor(shape: value.shape, storage: value.storage, offset: value.offset)
    return (plain, grads)
}
