import XCTest
import OsusumeCore
@testable import OsusumeTensor

final class SerializationTests: XCTestCase {
    final class Layer: Module { let layer = Linear(3, 2, seed: 9) }

    func testReadsFixtureWrittenByPython() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "interchange", withExtension: "safetensors", subdirectory: "Fixtures"))
        let st = try SafeTensors(contentsOf: url)
        XCTAssertEqual(st.metadata["producer"], "make_fixture.py")
        let w = try st.tensor("layer.weight")
        XCTAssertEqual(w.shape, [2, 3])
        XCTAssertEqual(w.scalars, (0..<6).map { Float($0) / 4 - 0.5 })
        XCTAssertEqual(try st.tensor("f64").scalars, [0.1, -1e10, 3.0, 2.5e-5].map { Float($0) })
        XCTAssertEqual(try st.tensor("f16").scalars, [1, -0.5, 65504, 6.103515625e-05])
        XCTAssertEqual(try st.tensor("bf16").scalars, [1, -3, 0.15625])
        XCTAssertEqual(try st.int32s("i64").values, [0, -7, 123_456_789])
        XCTAssertEqual(try st.int32s("i32").values, [1, 2, 3, -4])
        let scalar = try st.tensor("scalar")
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.item, 2.5)
        // A module loads the Python-written parameters by dotted name.
        let m = Layer()
        try m.load(st, strict: false)
        XCTAssertEqual(m.layer.weight.scalars, w.scalars)
        XCTAssertEqual(m.layer.bias!.scalars, [1.5, -2.25])
    }

    func testSaveLoadRoundTrip() throws {
        let a = TinySASRec(items: 9, length: 4, dim: 8, heads: 2, blocks: 1, dropout: 0)
        let b = TinySASRec(items: 9, length: 4, dim: 8, heads: 2, blocks: 1, dropout: 0)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("osusume-roundtrip-\(getpid()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try a.save(to: url, metadata: ["model": "tiny"])
        try b.load(from: url)
        for ((na, ta), (nb, tb)) in zip(a.namedParameters(), b.namedParameters()) {
            XCTAssertEqual(na, nb)
            XCTAssertEqual(ta.scalars, tb.scalars)
        }
        XCTAssertThrowsError(try Layer().load(from: url))
    }

    /// Writes a file for `Fixtures/check_written.py` (run by hand: see that script).
    func testWritesSafetensorsForPython() throws {
        let m = Layer()
        m.layer.weight.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = Float(i) / 4 - 0.5 } }
        m.layer.bias!.withUnsafeMutableBufferPointer {
            $0[0] = 1.5; $0[1] = -2.25
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("osusume-interchange-written.safetensors")
        try m.save(to: url, metadata: ["producer": "osusume"])
        let back = try SafeTensors(contentsOf: url)
        XCTAssertEqual(try back.tensor("layer.weight").scalars, m.layer.weight.scalars)
    }

    /// Headers that lie about sizes are errors, never a crash (the shape-product overflow was
    /// found by the fuzzer; its input is in Tests/FuzzRegressions/safetensors).
    func testMalformedHeadersAreErrors() throws {
        func file(_ header: String, body: Int) -> Data {
            var n = UInt64(header.utf8.count).littleEndian
            return Data(bytes: &n, count: 8) + Data(header.utf8) + Data(count: body)
        }
        let cases: [(Data, String)] = [
            (file(#"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}"#, body: 16), "bad shape"),
            (file(#"{"w":{"dtype":"F32","shape":[4000000000000000,4000000000000000],"data_offsets":[0,16]}}"#, body: 16), "larger than the file"),
            (file(#"{"w":{"dtype":"F32","shape":[1e300],"data_offsets":[0,4]}}"#, body: 4), "bad shape"),
            (file(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,4]}}"#, body: 8), "outside the file"),
            (file(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,1e20]}}"#, body: 8), "outside the file"),
            (file(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, body: 8), "8 bytes for shape [3]"),
        ]
        for (data, expected) in cases {
            XCTAssertThrowsError(try SafeTensors(data: data, source: "x.safetensors")) { e in
                XCTAssertTrue("\(e)".contains(expected), "\(e)")
            }
        }
    }
}
