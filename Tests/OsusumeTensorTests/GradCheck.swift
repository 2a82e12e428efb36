import XCTest
import OsusumeCore
@testable import OsusumeTensor

/// Finite-difference gradient checking. The function's output is reduced to a scalar with fixed
/// random weights (so every output element matters); central differences are evaluated in Float32
/// but accumulated in Double, and compared with the tape's gradients with a tolerance suited to
/// Float32.
func checkGradients(
    _ inputs: [Tensor], step h: Float = 3e-3, atol: Double = 3e-3, rtol: Double = 2e-2,
    samples: Int = 24, file: StaticString = #filePath, line: UInt = #line,
    _ f: () -> Tensor
) {
    var weights: Tensor?
    func scalarize(_ out: Tensor) -> Tensor {
        if weights == nil || weights!.shape != out.shape {
            weights = Tensor.randomUniform(out.shape, low: -1, high: 1, seed: 99)
        }
        return out.count == 1 ? sum(out) : sum(out * weights!)
    }
    func value() -> Double {
        withoutGradients {
            let out = f()
            if weights == nil || weights!.shape != out.shape { _ = scalarize(out) }
            let w = out.count == 1 ? nil : weights!
            var s = 0.0
            for i in 0..<out.count { s += Double(out.data[i]) * Double(w?.data[i] ?? 1) }
            return s
        }
    }
    let (_, grads) = valueAndGrad(wrt: inputs) { scalarize(f()) }
    XCTAssertTrue(Tape.entries.isEmpty, "tape left non-empty", file: file, line: line)
    for (n, x) in inputs.enumerated() {
        let g = grads[n].map { densify($0) }
        var indices = Array(0..<x.count)
        if x.count > samples {
            var rng = SeededRandom(seed: UInt64(7 + n))
            indices = (0..<samples).map { _ in rng.nextInt(x.count) }
        }
        for i in indices {
            let orig = x.data[i]
            x.data[i] = orig + h
            let plus = value()
            x.data[i] = orig - h
            let minus = value()
            x.data[i] = orig
            let numeric = (plus - minus) / (2 * Double(h))
            let analytic = Double(g?.data[i] ?? 0)
            let tol = atol + rtol * Swift.max(Swift.abs(numeric), Swift.abs(analytic))
            if Swift.abs(numeric - analytic) > tol {
                XCTFail("input \(n) \(x.shape) element \(i): analytic \(analytic), numeric \(numeric)", file: file, line: line)
                return
            }
        }
    }
}

func randn(_ shape: [Int], seed: UInt64, std: Float = 1) -> Tensor { Tensor.randomNormal(shape, std: std, seed: seed) }

func assertClose(_ a: [Float], _ b: [Float], tol: Float = 1e-5, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (i, (x, y)) in zip(a, b).enumerated() where Swift.abs(x - y) > tol * Swift.max(1, Swift.abs(y)) {
        XCTFail("element \(i): \(x) vs \(y)", file: file, line: line)
        return
    }
}
