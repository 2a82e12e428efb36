import OsusumeCore

/// Short-vector kernels for the matrix-factorisation models (ALS, BPR): one factor vector is
/// tens to a few hundred floats, too short for a BLAS call to pay, so these are SIMD loops.
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

    /// y += alpha · x
    @inline(__always)
    static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let a = SIMD16<Float>(repeating: alpha)
        var i = 0
        while i + 16 <= n {
            let yv = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<Float>.self)
            let xv = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: yv + a * xv, as: SIMD16<Float>.self)
            i += 16
        }
        while i < n {
            y[i] += alpha * x[i]
            i += 1
        }
    }

    /// y = A·x for a symmetric n×n row-major A.
    @inline(__always)
    static func symv(_ a: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for r in 0..<n { y[r] = dot(a + r * n, x, n) }
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
