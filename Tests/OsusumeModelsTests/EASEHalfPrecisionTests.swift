import Foundation
import XCTest
import OsusumeCore
import OsusumeData
import OsusumeKernels
@testable import OsusumeModels

/// EASE with B in float16: half the file, the same ranking to within rounding, served from the
/// mapped file, and the same scores from every vector width.
final class EASEHalfPrecisionTests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }

    func testFloatToHalfRoundsAsIEEE() {
        var rng = SeededRandom(seed: 5)
        var values: [Float] = [0, -0, 1, -1, 0.5, 65504, 65520, 1e-8, 6e-8, 3e-5, -2.5e-6, .infinity, -.infinity, 1e10, 0.1, 1 / 3]
        for _ in 0..<20_000 { values.append((rng.nextFloat() - 0.5) * powf(2, Float(rng.nextInt(40)) - 25)) }
        for v in values {
            #if arch(x86_64) || arch(arm64)
            XCTAssertEqual(SafeTensors.floatToHalf(v), Float16(v).bitPattern, "\(v)")
            #endif
            let back = SafeTensors.halfToFloat(SafeTensors.floatToHalf(v))
            if abs(v) <= 65504 && abs(v) >= 6.2e-5 { XCTAssertEqual(back, v, accuracy: abs(v) / 1024, "\(v)") }
        }
        XCTAssertTrue(SafeTensors.halfToFloat(SafeTensors.floatToHalf(.nan)).isNaN)
    }

    func testHalfPrecisionEASEScoresLikeFloatAndIsServedFromTheMappedFile() throws {
        let data = PlantedData()
        let full = EASE(config: .init())
        try full.fit(TrainingData(log: data.log))
        var c = EASE.Config()
        c.precision = "f16"
        let half = EASE(config: c)
        try half.fit(TrainingData(log: data.log))
        XCTAssertNotNil(half.halfWeights)
        XCTAssertTrue(half.weights.isEmpty)
        let largest = full.weights.map(abs).max()!
        for h: [Int32] in [[1], [2, 40, 77], Array(0..<60)] {
            let a = full.score(ScoringQuery(history: h)), b = half.score(ScoringQuery(history: h))
            for j in 0..<a.count { XCTAssertEqual(a[j], b[j], accuracy: 2e-3 * largest * Float(h.count), "history \(h.count), item \(j)") }
        }
        // Saved as F16 (half the bytes), loaded as a view of the mapped file, scoring the same.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("osusume-f16-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let dataset = Dataset(name: "planted", format: "test", log: data.log)
        try TrainedModel.wrap(half, fittedOn: dataset, fitSeconds: 0).save(to: dir)
        try TrainedModel.wrap(full, fittedOn: dataset, fitSeconds: 0).save(to: dir.appendingPathComponent("f32"))
        let size = { (url: URL) in (try FileManager.default.attributesOfItem(atPath: url.appendingPathComponent("weights.safetensors").path)[.size] as! Int) }
        XCTAssertLessThan(Double(try size(dir)), 0.51 * Double(try size(dir.appendingPathComponent("f32"))))
        let loaded = try TrainedModel.load(from: dir, kinds: .standard).model as! EASE
        XCTAssertTrue(loaded.halfWeights!.isMapped)
        let q = ScoringQuery(history: [3, 9, 27])
        XCTAssertEqual(loaded.score(q), half.score(q))
        XCTAssertEqual(loaded.contributions(of: 5, for: q), half.contributions(of: 5, for: q))
        // Every vector width gives the portable result.
        let initial = osk_simd_level()
        defer { _ = osk_set_simd_level(initial) }
        _ = osk_set_simd_level(0)
        let reference = loaded.score(ScoringQuery(history: Array(0..<37)))
        for level: Int32 in [2, 3] {
            _ = osk_set_simd_level(level)
            let s = loaded.score(ScoringQuery(history: Array(0..<37)))
            for j in 0..<s.count { XCTAssertEqual(s[j], reference[j], accuracy: 1e-5, "simd \(osk_simd_level()), item \(j)") }
        }
        var bad = c
        bad.precision = "f8"
        XCTAssertThrowsError(try EASE(config: bad).fit(TrainingData(log: data.log)))
    }
}
