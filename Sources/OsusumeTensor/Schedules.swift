import Foundation

/// Learning rate as a function of the optimizer step (0-based).
public enum LearningRateSchedule: Sendable, Codable, Equatable {
    /// The same rate at every step.
    case constant(Float)
    /// Linear warm-up from 0 to `peak` over `warmup` steps, then cosine decay to `final` at `total`.
    case warmupCosine(peak: Float, warmup: Int, total: Int, final: Float = 0)
    /// Linear warm-up from 0 to `peak` over `warmup` steps, then linear decay to `final` at `total`.
    case warmupLinear(peak: Float, warmup: Int, total: Int, final: Float = 0)

    public func rate(at step: Int) -> Float {
        switch self {
        case .constant(let lr): return lr
        case let .warmupCosine(peak, warmup, total, final):
            if step < warmup { return peak * Float(step + 1) / Float(warmup) }
            let span = Swift.max(1, total - warmup)
            let t = Swift.min(1, Float(step - warmup) / Float(span))
            return final + (peak - final) * 0.5 * (1 + Foundation.cos(Float.pi * t))
        case let .warmupLinear(peak, warmup, total, final):
            if step < warmup { return peak * Float(step + 1) / Float(warmup) }
            let span = Swift.max(1, total - warmup)
            let t = Swift.min(1, Float(step - warmup) / Float(span))
            return peak + (final - peak) * t
        }
    }
}
