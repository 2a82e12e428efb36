import XCTest
@testable import OsusumeCore

final class CoreTests: XCTestCase {
    func testTopKOrdersAndSkipsExcluded() {
        let s: [Float] = [0.1, 0.9, -.infinity, 0.5, 0.9, .nan, 0.3]
        XCTAssertEqual(TopK.select(s, k: 3), [1, 4, 3]) // tie → lower index first
        XCTAssertEqual(TopK.select(s, k: 10), [1, 4, 3, 6, 0]) // never -inf or NaN
        XCTAssertEqual(TopK.select(s, k: 0), [])
    }

    func testTopKMatchesFullSortOnRandomData() {
        var rng = SeededRandom(seed: 11)
        for _ in 0..<20 {
            let n = 1 + rng.nextInt(300)
            let s = (0..<n).map { _ in Float(rng.nextInt(50)) }
            let k = 1 + rng.nextInt(n)
            let expected = (0..<n).sorted { s[$0] != s[$1] ? s[$0] > s[$1] : $0 < $1 }.prefix(k).map(Int32.init)
            XCTAssertEqual(TopK.select(s, k: k), Array(expected))
        }
    }

    func testSeededRandomIsReproducibleAndUniform() {
        var a = SeededRandom(seed: 5), b = SeededRandom(seed: 5)
        XCTAssertEqual((0..<10).map { _ in a.next() }, (0..<10).map { _ in b.next() })
        var r = SeededRandom(seed: 9)
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<100_000 { counts[r.nextInt(10)] += 1 }
        for c in counts { XCTAssertEqual(Double(c), 10_000, accuracy: 500) }
        let g = (0..<50_000).map { _ in Double(r.nextGaussian()) }
        let mean = g.reduce(0, +) / Double(g.count)
        let variance = g.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(g.count)
        XCTAssertEqual(mean, 0, accuracy: 0.02); XCTAssertEqual(variance, 1, accuracy: 0.03)
    }

    func testSafeTensorsRoundTripAndLayout() throws {
        var st = SafeTensors()
        st.set("w", floats: [1, 2, 3, 4, 5, 6], shape: [2, 3])
        st.set("idx", int32s: [7, -8], shape: [2])
        st.metadata = ["format": "pt"]
        let data = try st.encoded()
        // 8-byte little-endian header length, JSON header padded to 8 bytes, then the data.
        let n = data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        XCTAssertEqual(n % 8, 0)
        XCTAssertEqual(data.count, 8 + Int(n) + 6 * 4 + 2 * 4)
        let back = try SafeTensors(data: data)
        XCTAssertEqual(try back.floats("w").values, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try back.floats("w").shape, [2, 3])
        XCTAssertEqual(try back.int32s("idx").values, [7, -8])
        XCTAssertEqual(back.metadata, ["format": "pt"])
    }

    func testSafeTensorsRejectsDamagedFiles() {
        XCTAssertThrowsError(try SafeTensors(data: Data([1, 2, 3])))
        var bad = Data(); var len = UInt64(1_000).littleEndian
        withUnsafeBytes(of: &len) { bad.append(contentsOf: $0) }
        bad.append(Data("{}".utf8))
        XCTAssertThrowsError(try SafeTensors(data: bad))
        // Offsets past the end of the file.
        let header = Data(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#.utf8)
        var short = Data(); var l2 = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &l2) { short.append(contentsOf: $0) }
        short.append(header); short.append(Data(count: 8))
        XCTAssertThrowsError(try SafeTensors(data: short)) { e in XCTAssertTrue("\(e)".contains("data_offsets")) }
    }

    func testSPDInverseAndSgemm() throws {
        // A = [[4, 1], [1, 3]]; A⁻¹ = [[3, -1], [-1, 4]] / 11.
        var a: [Float] = [4, 1, 1, 3]
        try a.withUnsafeMutableBufferPointer { try LAPACK.invertSPD($0.baseAddress!, n: 2) }
        XCTAssertEqual(a[0], 3 / 11, accuracy: 1e-6); XCTAssertEqual(a[1], -1 / 11, accuracy: 1e-6)
        XCTAssertEqual(a[2], -1 / 11, accuracy: 1e-6); XCTAssertEqual(a[3], 4 / 11, accuracy: 1e-6)
        var notSPD: [Float] = [1, 2, 2, 1]
        XCTAssertThrowsError(try notSPD.withUnsafeMutableBufferPointer { try LAPACK.invertSPD($0.baseAddress!, n: 2) })
        // C = A·Bᵀ with A 2×3, B 2×3.
        let x: [Float] = [1, 2, 3, 4, 5, 6], y: [Float] = [1, 0, 1, 0, 1, 0]
        var c = [Float](repeating: 0, count: 4)
        BLAS.sgemm(.none, .transpose, m: 2, n: 2, k: 3, a: x, lda: 3, b: y, ldb: 3, c: &c, ldc: 2)
        XCTAssertEqual(c, [4, 2, 10, 5])
    }

    func testAtomicWriteReplacesWholeFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("osusume-atomic-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = dir.appendingPathComponent("x.json")
        try AtomicFile.write(Data("one".utf8), to: f)
        try AtomicFile.write(Data("two".utf8), to: f)
        XCTAssertEqual(try String(contentsOf: f, encoding: .utf8), "two")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["x.json"], "no temporary files left")
    }

    func testParallelForCoversRangeOnce() {
        var hits = [Int](repeating: 0, count: 1000)
        hits.withUnsafeMutableBufferPointer { p in
            let sp = SharedPointer(p.baseAddress!)
            Threads.parallelFor(1000, chunks: 7) { _, r in for i in r { sp[i] += 1 } }
        }
        XCTAssertEqual(hits, [Int](repeating: 1, count: 1000))
    }

    func testBLASKernelChoiceRespectsAnExplicitCoreType() {
        // An explicit OPENBLAS_CORETYPE always stands (it is also what marks the one restart).
        XCTAssertNil(BLASKernels.betterCoreType(environment: ["OPENBLAS_CORETYPE": "Prescott"]))
        // Otherwise a suggestion is only ever one of the two kernel families the check knows.
        if let core = BLASKernels.betterCoreType(environment: [:]) {
            XCTAssertTrue(["SkylakeX", "Haswell"].contains(core))
        }
        #if !canImport(Accelerate)
        XCTAssertNotNil(BLASKernels.coreName)
        #endif
    }

    func testSafeTensorsMappedReadSharesTheFileAndStreamedWriteRoundTrips() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("osusume-map-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        var st = SafeTensors()
        let b = (0..<600).map { Float($0) * 0.5 - 7 }
        st.set("B", floats: FloatBuffer(b), shape: [20, 30])
        st.set("odd", int32s: [1, 2, 3], shape: [3])
        st.metadata = ["kind": "test"]
        try st.write(to: url)
        // The streamed file is byte for byte the in-memory encoding.
        XCTAssertEqual(try Data(contentsOf: url), try st.encoded())
        var mapped: FloatBuffer
        do {
            let m = try SafeTensors(mapping: url)
            XCTAssertNotNil(m.mapping)
            XCTAssertEqual(m.metadata, ["kind": "test"])
            XCTAssertEqual(try m.int32s("odd").values, [1, 2, 3])
            let (v, shape) = try m.floatBuffer("B")
            XCTAssertEqual(shape, [20, 30])
            XCTAssertTrue(v.isMapped)
            mapped = v
        }
        // The view keeps the mapping alive after the SafeTensors value is gone.
        XCTAssertEqual(Array(mapped), b)
        XCTAssertEqual(mapped.withUnsafeBufferPointer { $0.reduce(0, +) }, b.reduce(0, +))
        // Read from memory instead, the same values come as an ordinary array.
        let (copy, _) = try SafeTensors(data: try Data(contentsOf: url)).floatBuffer("B")
        XCTAssertFalse(copy.isMapped)
        XCTAssertEqual(copy.values, b)
        XCTAssertThrowsError(try SafeTensors(mapping: url.appendingPathExtension("missing")))
    }
}
