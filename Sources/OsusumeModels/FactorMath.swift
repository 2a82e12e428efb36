import OsusumeCore

/// Helpers of the matrix-factorisation models (ALS, BPR). Their inner loops (one row's CG solve,
/// one BPR step) are runtime-dispatched kernels in OsusumeKernels; a factor vector is tens to a
/// few hundred floats, too short for a BLAS call to pay.
enum FactorMath {
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            acc += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self) * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
            i += 16
        }
        var s = acc.sum()
        while i < n {
            s += a[i] * b[i]
            i += 1
        }
        return s
    }

    /// Scores of `queries` (rows of `userFactors`, q × f) against every item (n × f): q × n.
    static func scores(_ userFactors: [Float], queries q: Int, items: [Float], itemCount n: Int, factors f: Int, into out: UnsafeMutablePointer<Float>) {
        userFactors.withUnsafeBufferPointer { up in
            items.withUnsafeBufferPointer { ip in
                BLAS.sgemm(.none, .transpose, m: q, n: n, k: f, a: up.baseAddress!, lda: f, b: ip.baseAddress!, ldb: f, c: out, ldc: n)
            }
        }
    }
}
