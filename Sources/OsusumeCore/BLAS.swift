// The one place Osusume talks to BLAS/LAPACK: OpenBLAS on Linux, Accelerate on Apple platforms.
// Everything is Float32, row-major, and takes raw pointers so callers keep control of memory.
import Foundation
#if canImport(Accelerate)
import Accelerate
#else
import COpenBLAS
#endif

public enum Transpose: Sendable {
    case none, transpose
    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

public enum BLAS {
    /// C[m×n] = alpha · op(A) · op(B) + beta · C, row-major. `lda`, `ldb`, `ldc` are row strides.
    public static func sgemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            // BLAS leaves C untouched for k == 0 only when beta == 1; make beta explicit.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        cblas_sgemm(
            CblasRowMajor, transA.cblas, transB.cblas, Int32(m), Int32(n), Int32(k), alpha,
            a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// y = alpha · op(A) · x + beta · y with A an m×n row-major matrix.
    public static func sgemv(
        _ trans: Transpose, m: Int, n: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
        beta: Float = 0, y: UnsafeMutablePointer<Float>
    ) {
        if m == 0 || n == 0 { return }
        cblas_sgemv(CblasRowMajor, trans.cblas, Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }

    /// C (n×n, upper triangle, row-major) = alpha · Aᵀ·A + beta · C for A k×n row-major. The
    /// lower triangle of C is left as it was.
    public static func ssyrkUpperTransposed(
        n: Int, k: Int, alpha: Float = 1, a: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, beta: Float
    ) {
        if n == 0 || k == 0 { return }
        #if canImport(Accelerate)
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(n), Int32(k), alpha, a, Int32(n), beta, c, Int32(n))
        #else
        cblas_ssyrk(CblasRowMajor, 121, CblasTrans, Int32(n), Int32(k), alpha, a, Int32(n), beta, c, Int32(n))
        #endif
    }

    /// Number of threads BLAS calls may use. Osusume sets it from `Threads.count`.
    public static var threads: Int {
        get {
            #if canImport(Accelerate)
            return 1
            #else
            return Int(openblas_get_num_threads())
            #endif
        }
        set {
            #if !canImport(Accelerate)
            openblas_set_num_threads(Int32(max(1, newValue)))
            #endif
        }
    }
}

/// OpenBLAS picks its kernels for the CPU when the library loads. Versions that do not know a
/// newer CPU fall back to generic SSE3 ("Prescott") kernels, several times slower than the
/// AVX2/AVX-512 ones the CPU runs (measured: a Multi-VAE epoch 3.5 s → 1.0 s). The variable
/// `OPENBLAS_CORETYPE` chooses the kernels, but only before the library loads, hence a restart.
public enum BLASKernels {
    /// The kernel family OpenBLAS chose ("Haswell", "SkylakeX", "Prescott", …); nil on Apple.
    public static var coreName: String? {
        #if canImport(Accelerate)
        return nil
        #else
        guard let p = openblas_get_corename() else { return nil }
        return String(cString: p)
        #endif
    }

    /// The kernel family to ask for when OpenBLAS fell back to generic kernels on a CPU with
    /// AVX2 or AVX-512 (from /proc/cpuinfo); nil when its own choice should stand.
    public static func betterCoreType(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        #if os(Linux)
        guard environment["OPENBLAS_CORETYPE"] == nil, let name = coreName?.lowercased(),
            ["prescott", "katmai", "coppermine", "northwood", "banias", "core2", "penryn", "dunnington"].contains(name),
            let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
        #else
        return nil
        #endif
    }
}

public enum LAPACK {
    /// Inverts a symmetric positive-definite n×n matrix in place (Cholesky: spotrf + spotri) and
    /// fills both triangles. Symmetric storage means row- and column-major are the same thing.
    public static func invertSPD(_ a: UnsafeMutablePointer<Float>, n: Int) throws {
        var n32 = Int32(n), lda = Int32(n), info: Int32 = 0
        var uplo: CChar = CChar(UInt8(ascii: "L"))
        #if canImport(Accelerate)
        var nn = __CLPK_integer(n), ld = __CLPK_integer(n), inf = __CLPK_integer(0)
        spotrf_(&uplo, &nn, a, &ld, &inf)
        if inf != 0 { throw OsusumeError.numeric("Cholesky factorisation failed (info \(inf)): matrix is not positive definite; increase the regularisation") }
        spotri_(&uplo, &nn, a, &ld, &inf)
        info = Int32(inf)
        _ = (n32, lda)
        #else
        spotrf_(&uplo, &n32, a, &lda, &info)
        if info != 0 { throw OsusumeError.numeric("Cholesky factorisation failed (info \(info)): matrix is not positive definite; increase the regularisation") }
        spotri_(&uplo, &n32, a, &lda, &info)
        #endif
        if info != 0 { throw OsusumeError.numeric("inverse from Cholesky factor failed (info \(info))") }
        // Column-major "L" is row-major upper: copy the upper triangle (row-major) into the lower.
        // In 64×64 tiles, so the strided writes stay in cache.
        let tile = 64
        for i0 in stride(from: 0, to: n, by: tile) {
            for j0 in stride(from: i0, to: n, by: tile) {
                for i in i0..<min(i0 + tile, n) {
                    let row = a + i * n
                    for j in max(j0, i + 1)..<max(max(j0, i + 1), min(j0 + tile, n)) { (a + j * n)[i] = row[j] }
                }
            }
        }
    }

    /// Solves A·x = b for a symmetric positive-definite n×n A (Cholesky, sposv): `b` becomes x,
    /// `a` its factor. Returns false when A is not positive definite.
    public static func solveSPD(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, n: Int) -> Bool {
        var uplo: CChar = CChar(UInt8(ascii: "L"))
        #if canImport(Accelerate)
        var nn = __CLPK_integer(n), one = __CLPK_integer(1), ld = __CLPK_integer(n), inf = __CLPK_integer(0)
        sposv_(&uplo, &nn, &one, a, &ld, b, &ld, &inf)
        return inf == 0
        #else
        var n32 = Int32(n), one: Int32 = 1, ld = Int32(n), info: Int32 = 0
        sposv_(&uplo, &n32, &one, a, &ld, b, &ld, &info)
        return info == 0
        #endif
    }

    /// Eigen-decomposition of a symmetric n×n matrix (row-major, overwritten by eigenvectors as
    /// columns of the column-major result, i.e. rows of the returned row-major matrix). Returns
    /// eigenvalues in ascending order; `a` then holds eigenvector i in row i.
    public static func symmetricEigen(_ a: UnsafeMutablePointer<Float>, n: Int) throws -> [Float] {
        var w = [Float](repeating: 0, count: n)
        var jobz: CChar = CChar(UInt8(ascii: "V")), uplo: CChar = CChar(UInt8(ascii: "L"))
        #if canImport(Accelerate)
        var nn = __CLPK_integer(n), ld = __CLPK_integer(n), info = __CLPK_integer(0)
        var lwork = __CLPK_integer(-1), liwork = __CLPK_integer(-1)
        var wq: Float = 0; var iwq = __CLPK_integer(0)
        ssyevd_(&jobz, &uplo, &nn, a, &ld, &w, &wq, &lwork, &iwq, &liwork, &info)
        lwork = max(__CLPK_integer(wq), __CLPK_integer(1 + 6 * n + 2 * n * n)); liwork = iwq
        var work = [Float](repeating: 0, count: Int(lwork)); var iwork = [__CLPK_integer](repeating: 0, count: Int(liwork))
        ssyevd_(&jobz, &uplo, &nn, a, &ld, &w, &work, &lwork, &iwork, &liwork, &info)
        #else
        var nn = Int32(n), ld = Int32(n), info: Int32 = 0
        var lwork: Int32 = -1, liwork: Int32 = -1
        var wq: Float = 0; var iwq: Int32 = 0
        ssyevd_(&jobz, &uplo, &nn, a, &ld, &w, &wq, &lwork, &iwq, &liwork, &info)
        // The workspace size comes back as a Float, which rounds sizes above 2²⁴ (n > ~2,900) and
        // can fall short of the documented minimum 1 + 6n + 2n².
        lwork = max(Int32(wq), Int32(1 + 6 * n + 2 * n * n)); liwork = iwq
        var work = [Float](repeating: 0, count: Int(lwork)); var iwork = [Int32](repeating: 0, count: Int(liwork))
        ssyevd_(&jobz, &uplo, &nn, a, &ld, &w, &work, &lwork, &iwork, &liwork, &info)
        #endif
        if info != 0 { throw OsusumeError.numeric("symmetric eigen-decomposition failed (info \(info))") }
        return w
    }
}
