import XCTest
import OsusumeCore
import OsusumeData
import OsusumeModels
@testable import OsusumeServe

final class BlendTests: XCTestCase {
    func testBlendSpecParsesAndPrints() throws {
        let b = try WeightedBlend(spec: "ease:0.6, content:0.4;norm=minmax")
        XCTAssertEqual(b.components.map(\.model), ["ease", "content"])
        XCTAssertEqual(b.components.map(\.weight), [0.6, 0.4])
        XCTAssertEqual(b.normalisation, .minMax)
        XCTAssertEqual(b.description, "ease:0.6,content:0.4;norm=minmax")
        XCTAssertEqual(try WeightedBlend(spec: "itemknn").components, [.init(model: "itemknn", weight: 1)])
        for bad in ["", "ease:-1", "ease:x", "ease,ease", "ease:0", "ease;norm=nope"] {
            XCTAssertThrowsError(try WeightedBlend(spec: bad), bad)
        }
    }

    func testNormalisationThenWeights() {
        // Two models on very different scales: after min-max each contributes by its weight only.
        let a: [Float] = [0, 5, 10], b: [Float] = [1000, 3000, 2000]
        let blend = WeightedBlend([.init(model: "a", weight: 0.5), .init(model: "b", weight: 0.5)], normalisation: .minMax)
        var out = [Float](repeating: 0, count: 3)
        let mult = out.withUnsafeMutableBufferPointer { op in
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in blend.combine([ap, bp], count: 3, into: op.baseAddress!) } }
        }
        XCTAssertEqual(out[0], 0, accuracy: 1e-6)
        XCTAssertEqual(out[1], 0.25 + 0.5, accuracy: 1e-6)
        XCTAssertEqual(out[2], 0.5 + 0.25, accuracy: 1e-6)
        XCTAssertEqual(mult[0], 0.05, accuracy: 1e-6)
        XCTAssertEqual(mult[1], 0.5 / 2000, accuracy: 1e-9)
    }

    func testExcludedItemsStayExcludedAndDoNotSkewStatistics() {
        let a: [Float] = [-.infinity, 1, 3]
        var out = [Float](repeating: 0, count: 3)
        let blend = WeightedBlend([.init(model: "a", weight: 1)], normalisation: .zScore)
        out.withUnsafeMutableBufferPointer { op in a.withUnsafeBufferPointer { _ = blend.combine([$0], count: 3, into: op.baseAddress!) } }
        XCTAssertEqual(out[0], -.infinity)
        XCTAssertEqual(out[1], -1, accuracy: 1e-6) // mean 2, sd 1 over the finite scores
        XCTAssertEqual(out[2], 1, accuracy: 1e-6)
    }

    func testVectorisedStatisticsMatchScalarReferenceWithNonFiniteEntries() {
        var rng = SeededRandom(seed: 5)
        for n in [0, 1, 7, 8, 9, 1023, 1024, 1025, 2500] {
            var v = (0..<n).map { _ in Float(rng.nextInt(2000)) / 100 - 10 }
            for i in stride(from: 3, to: n, by: 11) { v[i] = -.infinity }
            for i in stride(from: 5, to: n, by: 97) { v[i] = .nan }
            let finite = v.filter(\.isFinite)
            v.withUnsafeBufferPointer { vp in
                let m = FiniteStats.moments(vp)
                XCTAssertEqual(m.count, finite.count, "n=\(n)")
                XCTAssertEqual(m.sum, finite.reduce(0) { $0 + Double($1) }, accuracy: 1e-3, "n=\(n)")
                XCTAssertEqual(m.squares, finite.reduce(0) { $0 + Double($1) * Double($1) }, accuracy: 1e-2, "n=\(n)")
                let mm = FiniteStats.minMax(vp)
                XCTAssertEqual(mm.min, finite.min() ?? .infinity); XCTAssertEqual(mm.max, finite.max() ?? -.infinity)
                var out = (0..<n).map { Float($0) }
                out.withUnsafeMutableBufferPointer { FiniteStats.accumulateAffine(vp, multiplier: 2, offset: -1, into: $0.baseAddress!, count: n) }
                for i in 0..<n { XCTAssertEqual(out[i], v[i].isFinite ? Float(i) + (v[i] * 2 + -1) : -.infinity, "n=\(n) i=\(i)") }
            }
        }
    }

    func testRestrictedRenormalisesOverAvailableModels() {
        let b = WeightedBlend([.init(model: "itemknn", weight: 0.4), .init(model: "content", weight: 0.35), .init(model: "ease", weight: 0.25)])
        let r = b.restricted(to: ["ease", "content"])!
        XCTAssertEqual(r.components.map(\.model), ["content", "ease"])
        XCTAssertEqual(r.components[0].weight, 0.35 / 0.6, accuracy: 1e-6)
        XCTAssertNil(b.restricted(to: ["pop"]))
    }

    func testSlotMixParsesBothForms() throws {
        XCTAssertEqual(try SlotMix(spec: "2 popular + 3 new + 5 personal"), SlotMix(personal: 5, popular: 2, new: 3))
        XCTAssertEqual(try SlotMix(spec: "personal:5,popular:2,new:3"), SlotMix(personal: 5, popular: 2, new: 3))
        XCTAssertThrowsError(try SlotMix(spec: "5 favourite"))
        XCTAssertThrowsError(try SlotMix(spec: "personal:0"))
    }

    func testSlotMixDeduplicatesAndSpillsOver() {
        let mix = SlotMix(personal: 5, popular: 2, new: 3)
        let picked = mix.fill(
            k: 10,
            candidates: [
                .personal: [1, 2, 3, 4, 5, 6, 7],
                .popular: [1, 2, 10, 11, 12],
                .new: [20], // only one new item: two places go to personal
            ])
        XCTAssertEqual(picked.count, 10)
        XCTAssertEqual(Set(picked.map(\.item)).count, 10, "no duplicates")
        XCTAssertEqual(picked.filter { $0.slot == .popular }.map(\.item), [10, 11])
        XCTAssertEqual(picked.filter { $0.slot == .new }.map(\.item), [20])
        XCTAssertEqual(picked.filter { $0.slot == .personal }.map(\.item), [1, 2, 3, 4, 5, 6, 7])
    }

    func testSlotMixScalesToK() {
        let mix = SlotMix(personal: 5, popular: 2, new: 3)
        XCTAssertEqual(mix.scaled(to: 20), [.personal: 10, .popular: 4, .new: 6])
        XCTAssertEqual(mix.scaled(to: 10), [.personal: 5, .popular: 2, .new: 3])
        XCTAssertEqual(mix.scaled(to: 3).values.reduce(0, +), 3)
        XCTAssertEqual(mix.scaled(to: 1), [.personal: 1])
    }

    func testColdStartStages() {
        let p = ColdStartPolicy()
        let none = p.plan(historyLength: 0, available: ["ease", "content"])
        XCTAssertEqual(none.stage, .none)
        XCTAssertNil(none.blend)
        XCTAssertEqual(none.mix.counts[.personal], nil)
        let few = p.plan(historyLength: 2, available: ["ease", "itemknn", "content"])
        XCTAssertEqual(few.stage, .few)
        let w = Dictionary(uniqueKeysWithValues: few.blend!.components.map { ($0.model, $0.weight) })
        XCTAssertGreaterThan(w["itemknn"]! + w["content"]!, w["ease"]!, "item-based and content-based lead a short history")
        let many = p.plan(historyLength: 20, available: ["ease", "itemknn", "content"])
        XCTAssertEqual(many.stage, .established)
        let w2 = Dictionary(uniqueKeysWithValues: many.blend!.components.map { ($0.model, $0.weight) })
        XCTAssertGreaterThan(w2["ease"]!, w2["content"]!)
        // A model outside the policy's list is still used when it is all there is.
        XCTAssertEqual(p.plan(historyLength: 3, available: ["bpr"]).blend?.components.map(\.model), ["bpr"])
    }
}

final class ContentBasedTests: XCTestCase {
    func fitted() throws -> (ContentBased, IDMap) {
        var ids = IDMap()
        for i in ["a", "b", "c", "d"] { _ = ids.intern(i) }
        let catalog = Catalog([
            CatalogItem(id: "a", title: "A", genres: ["Crime", "Drama"]),
            CatalogItem(id: "b", title: "B", genres: ["Crime", "Drama"]),
            CatalogItem(id: "c", title: "C", genres: ["Animation", "Comedy"]),
            CatalogItem(id: "d", title: "D", genres: ["Animation", "Comedy", "Drama"]),
        ])
        let m = ContentBased(config: .init())
        try m.fit(itemIDs: ids, catalog: catalog)
        return (m, ids)
    }

    func testCosineOfProfileRanksSameGenresFirst() throws {
        let (m, _) = try fitted()
        let s = m.score(ScoringQuery(history: [0]))
        XCTAssertEqual(s[1], 1, accuracy: 1e-5, "identical genres → cosine 1")
        XCTAssertGreaterThan(s[3], s[2], "sharing Drama beats sharing nothing")
        XCTAssertEqual(s[2], 0, accuracy: 1e-6)
    }

    func testContributionsSumToTheScore() throws {
        let (m, _) = try fitted()
        let q = ScoringQuery(history: [0, 2])
        let s = m.score(q)
        let c = m.contributions(of: 3, for: q)
        XCTAssertEqual(c.reduce(0, +), s[3], accuracy: 1e-5)
        XCTAssertGreaterThan(c[1], c[0], "Animation/Comedy explains d more than Crime/Drama")
    }

    func testStateRoundTrips() throws {
        let (m, _) = try fitted()
        let copy = ContentBased(config: .init())
        try copy.restore(try SafeTensors(data: try m.state().encoded()))
        XCTAssertEqual(copy.score(ScoringQuery(history: [0, 3])), m.score(ScoringQuery(history: [0, 3])))
        XCTAssertEqual(copy.features(of: 0).map(\.name).sorted(), ["genre:crime", "genre:drama"])
    }
}
