import Foundation
import OsusumeCore
import OsusumeKernels

/// Updates a module's parameters in place from gradients named as `Module.namedParameters`.
public protocol Optimizer: AnyObject {
    /// Number of updates made so far.
    var step: Int { get }
    func update(_ model: Module, _ gradients: Gradients)
}

/// Stochastic gradient descent with optional momentum and (coupled) L2 weight decay.
public final class SGD: Optimizer {
    public var schedule: LearningRateSchedule
    public var momentum: Float
    public var weightDecay: Float
    public private(set) var step = 0
    private var velocity: [String: Tensor] = [:]

    public convenience init(learningRate: Float, momentum: Float = 0, weightDecay: Float = 0) {
        self.init(schedule: .constant(learningRate), momentum: momentum, weightDecay: weightDecay)
    }

    public init(schedule: LearningRateSchedule, momentum: Float = 0, weightDecay: Float = 0) {
        self.schedule = schedule
        self.momentum = momentum
        self.weightDecay = weightDecay
    }

    public func update(_ model: Module, _ gradients: Gradients) {
        let lr = schedule.rate(at: step)
        for (name, p) in model.trainableParameters() {
            guard let raw = gradients[name] else { continue }
            let g = densify(raw)
            let pp = p.data, pg = g.data, wd = weightDecay, mom = momentum
            if mom == 0 {
                parallelRange(p.count) { r in for i in r { pp[i] -= lr * (pg[i] + wd * pp[i]) } }
            } else {
                let v = velocity[name] ?? Tensor.zeros(p.shape)
                velocity[name] = v
                let pv = v.data
                parallelRange(p.count) { r in
                    for i in r { pv[i] = mom * pv[i] + pg[i] + wd * pp[i]; pp[i] -= lr * pv[i] }
                }
            }
        }
        step += 1
    }
}

/// Adam (Kingma & Ba). `weightDecay` is the classic L2 term added to the gradient; `AdamW`
/// decouples it. Row-sparse gradients (from `Embedding(sparseGradients: true)`) update only
/// their rows ("lazy" Adam: moments of untouched rows stay as they are).
public class Adam: Optimizer {
    public var schedule: LearningRateSchedule
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    public var weightDecay: Float
    let decoupled: Bool
    public private(set) var step = 0
    private var moments: [String: (m: Tensor, v: Tensor)] = [:]

    public convenience init(
        learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
        weightDecay: Float = 0
    ) {
        self.init(schedule: .constant(learningRate), beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay)
    }

    public init(
        schedule: LearningRateSchedule, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
        weightDecay: Float = 0
    ) {
        self.schedule = schedule
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        self.decoupled = false
    }

    init(schedule: LearningRateSchedule, beta1: Float, beta2: Float, eps: Float, weightDecay: Float, decoupled: Bool) {
        self.schedule = schedule
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        self.decoupled = decoupled
    }

    /// The learning rate the next update will use.
    public var learningRate: Float { schedule.rate(at: step) }

    /// The step count and first/second moments by parameter name (for checkpoints that resume
    /// training exactly).
    public var savedState: (step: Int, moments: [String: (m: Tensor, v: Tensor)]) { (step, moments) }

    /// Puts back a state taken with `savedState` (the tensors are copied).
    public func restoreState(step: Int, moments: [String: (m: Tensor, v: Tensor)]) {
        self.step = step
        self.moments = moments.mapValues { ($0.m.detached(), $0.v.detached()) }
    }

    public func update(_ model: Module, _ gradients: Gradients) {
        let lr = schedule.rate(at: step)
        step += 1
        let bc1 = 1 - Foundation.pow(beta1, Float(step)), bc2 = 1 - Foundation.pow(beta2, Float(step))
        for (name, p) in model.trainableParameters() {
            guard let g = gradients[name] else { continue }
            let state = moments[name] ?? (Tensor.zeros(p.shape), Tensor.zeros(p.shape))
            moments[name] = state
            let pm = state.m.data, pv = state.v.data, pp = p.data
            var grad = g.data
            var scratch: Tensor?
            if !decoupled && weightDecay != 0 {
                // Classic Adam: fold wd·p into the gradient (of the rows present).
                let dense = g.sparseRows == nil
                let n = dense ? p.count : g.sparseRows!.count * (p.count / p.shape[0])
                let s = Tensor(uninitialized: [n])
                let width = dense ? 0 : p.count / p.shape[0]
                for i in 0..<n {
                    let pi = dense ? i : Int(g.sparseRows![i / width]) * width + i % width
                    s.data[i] = grad[i] + weightDecay * pp[pi]
                }
                scratch = s
                grad = s.data
            }
            let wd = decoupled ? weightDecay : 0
            let b1 = beta1, b2 = beta2, e = eps
            if let rows = g.sparseRows {
                let width = p.count / Swift.max(p.shape[0], 1)
                for (i, r) in rows.enumerated() {
                    let o = Int(r) * width
                    osk_adamw(pp + o, grad + i * width, pm + o, pv + o, width, lr, b1, b2, e, wd, bc1, bc2)
                }
            } else {
                let gp = grad
                parallelRange(p.count) { r in
                    let o = r.lowerBound
                    osk_adamw(pp + o, gp + o, pm + o, pv + o, r.count, lr, b1, b2, e, wd, bc1, bc2)
                }
            }
            _ = scratch
        }
    }
}

/// Adam with decoupled weight decay (Loshchilov & Hutter): p ← p·(1 − lr·wd) before the Adam step,
/// as PyTorch's `AdamW`.
public final class AdamW: Adam {
    public convenience init(
        learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
        weightDecay: Float = 0.01
    ) {
        self.init(schedule: .constant(learningRate), beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay)
    }

    public override init(
        schedule: LearningRateSchedule, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
        weightDecay: Float = 0.01
    ) {
        super.init(schedule: schedule, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay, decoupled: true)
    }
}
