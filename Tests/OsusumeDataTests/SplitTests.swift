import XCTest
import OsusumeCore
@testable import OsusumeData

final class SplitTests: XCTestCase {
    /// Item ids of a case's history and targets.
    func ids(_ log: InteractionLog, _ c: EvalCase) -> (String, [String], [String]) {
        (log.userIDs.id(of: c.user), c.history.map { log.itemIDs.id(of: $0) }, c.targets.map { log.itemIDs.id(of: $0) })
    }

    func testSplitSpecNamesTheSplitters() throws {
        XCTAssertTrue(try SplitSpec(name: "loo").splitter() is LeaveOneOutSplit)
        XCTAssertTrue(try SplitSpec(name: "Leave-One-Out").splitter() is LeaveOneOutSplit)
        let temporal = try XCTUnwrap(try SplitSpec(name: "temporal", testFraction: 0.2).splitter() as? TemporalSplit)
        XCTAssertTrue(temporal.name.contains("0.8") && temporal.name.contains("0.6"), temporal.name)
        let random = try XCTUnwrap(try SplitSpec(name: "random", seed: 7, testFraction: 0.1).splitter() as? RandomRatioSplit)
        XCTAssertEqual(random.testRatio, 0.1, accuracy: 1e-12)
        XCTAssertEqual(random.trainRatio, 0.8, accuracy: 1e-12)
        XCTAssertEqual(random.seed, 7)
        XCTAssertTrue(try SplitSpec(name: "heldout", heldOutUsers: 3).splitter() is HeldOutUsersSplit)
        // Out of range and unknown: errors naming the setting, never a silent default.
        for bad in [
            SplitSpec(name: "temporal", testFraction: 0.5), SplitSpec(name: "random", testFraction: 0),
            SplitSpec(name: "held-out-users", heldOutUsers: 0), SplitSpec(name: "kfold"),
        ] {
            XCTAssertThrowsError(try bad.splitter()) { e in
                let m = "\(e)"
                XCTAssertTrue(m.contains("--test-fraction") || m.contains("--held-out") || m.contains("unknown split 'kfold'"), m)
            }
        }
    }

    func testLeaveOneOut() throws {
        // u1 in time order: b(1) c(2) d(2, tie: file order) a(3); u2 has 2 rows; u3 all tied.
        let log = makeLog([
            ("u1", "a", 3, 5), ("u1", "b", 1, 4), ("u2", "x", 1, 3), ("u1", "c", 2, 3), ("u1", "d", 2, 2),
            ("u2", "y", 2, 1), ("u3", "a", 1, 1), ("u3", "b", 1, 2), ("u3", "c", 1, 3),
        ])
        let s = try LeaveOneOutSplit().split(log)
        XCTAssertEqual(s.name, "leave-one-out")
        XCTAssertEqual(pairs(s.train), ["u1-b", "u2-x", "u1-c", "u2-y", "u3-a"])
        XCTAssertEqual(s.train.itemIDs, log.itemIDs) // same id space
        XCTAssertEqual(s.validation.count, 2); XCTAssertEqual(s.test.count, 2)
        XCTAssertTrue(ids(log, s.validation[0]) == ("u1", ["b", "c"], ["d"]))
        XCTAssertTrue(ids(log, s.test[0]) == ("u1", ["b", "c", "d"], ["a"]))
        XCTAssertTrue(ids(log, s.validation[1]) == ("u3", ["a"], ["b"]))
        XCTAssertTrue(ids(log, s.test[1]) == ("u3", ["a", "b"], ["c"]))
        XCTAssertEqual(s.test[0].historyRatings, [4, 3, 2]); XCTAssertEqual(s.test[0].targetRatings, [5])
        XCTAssertEqual(s.validation[0].historyRatings, [4, 3]); XCTAssertEqual(s.validation[0].targetRatings, [2])
        // Without ratings the cases carry none.
        var implicit = log; implicit.hasRatings = false
        XCTAssertNil(try LeaveOneOutSplit().split(implicit).test[0].historyRatings)

        // Without validation the second-to-last items are trained on; the test cases do not change.
        let noValidation = try XCTUnwrap(try SplitSpec(name: "loo", validation: false).splitter() as? LeaveOneOutSplit)
        let n = try noValidation.split(log)
        XCTAssertTrue(n.name.hasPrefix("leave-one-out, no validation"), n.name)
        XCTAssertEqual(pairs(n.train), ["u1-b", "u2-x", "u1-c", "u1-d", "u2-y", "u3-a", "u3-b"])
        XCTAssertTrue(n.validation.isEmpty)
        XCTAssertEqual(n.test, s.test)
        XCTAssertThrowsError(try SplitSpec(name: "temporal", validation: false).splitter()) { e in
            XCTAssertTrue("\(e)".contains("--no-validation applies to leave-one-out only"), "\(e)")
        }
    }

    func testTemporal() throws {
        let log = makeLog([
            ("u1", "a", 1, nil), ("u1", "b", 2, nil), ("u2", "a", 3, nil), ("u1", "c", 5, nil), ("u2", "e", 6, nil),
            ("u3", "f", 7, nil), ("u1", "d", 8, nil), ("u2", "a", 9, nil), ("u4", "b", 1, nil),
        ])
        let s = try TemporalSplit(test: .timestamp(6), validation: .timestamp(4)).split(log)
        XCTAssertEqual(pairs(s.train), ["u1-a", "u1-b", "u2-a", "u4-b"])
        XCTAssertEqual(s.validation.count, 1)
        XCTAssertTrue(ids(log, s.validation[0]) == ("u1", ["a", "b"], ["c"]))
        XCTAssertEqual(s.test.count, 2)
        XCTAssertTrue(ids(log, s.test[0]) == ("u1", ["a", "b", "c"], ["d"]))
        // u2's later "a" is already in its history, so only "e" is a target.
        XCTAssertTrue(ids(log, s.test[1]) == ("u2", ["a"], ["e"]))
        // Quantile 0.5 of [1,1,2,3,5,6,7,8,9] is the 5th timestamp, 5.
        XCTAssertEqual(try TemporalSplit(test: .quantile(0.5)).resolve(.quantile(0.5), in: log), 5)
        let q = try TemporalSplit(test: .quantile(0.5)).split(log)
        XCTAssertEqual(pairs(q.train), ["u1-a", "u1-b", "u2-a", "u4-b"])
        XCTAssertEqual(q.validation, [])
        XCTAssertEqual(q.test.map { ids(log, $0).2 }, [["c", "d"], ["e"]])
        XCTAssertThrowsError(try TemporalSplit(test: .timestamp(4), validation: .timestamp(6)).split(log))
        var noTime = log; noTime.hasTimestamps = false
        XCTAssertThrowsError(try TemporalSplit().split(noTime))
    }

    /// Six users with five items each (item "u-k" at time k), plus one user with one item.
    func heldOutLog() -> InteractionLog {
        var rows: [(String, String, Int64, Float?)] = []
        for u in 1...6 { for k in 0..<5 { rows.append(("u\(u)", "i\(u)-\(k)", Int64(k), nil)) } }
        rows.append(("lonely", "i-x", 0, nil))
        return makeLog(rows)
    }

    func testHeldOutUsers() throws {
        let log = heldOutLog()
        let splitter = HeldOutUsersSplit(validationUsers: .users(1), testUsers: .users(2), foldIn: .time, seed: 7)
        let s = try splitter.split(log)
        XCTAssertEqual(s.validation.count, 1); XCTAssertEqual(s.test.count, 2)
        let heldOut = Set((s.validation + s.test).map(\.user))
        XCTAssertEqual(heldOut.count, 3)
        XCTAssertFalse(heldOut.contains(log.userIDs.index(of: "lonely")!)) // too few items to hold out
        // Held-out users have nothing in train; everybody else has everything there.
        XCTAssertEqual(s.train.count, log.count - 15)
        XCTAssertTrue(s.train.users.allSatisfy { !heldOut.contains($0) })
        for c in s.validation + s.test {
            let u = log.userIDs.id(of: c.user)
            // 80% fold-in by time: the first four items are history, the last is the target.
            XCTAssertTrue(ids(log, c) == (u, (0..<4).map { "i\(u.dropFirst())-\($0)" }, ["i\(u.dropFirst())-4"]))
        }
        XCTAssertEqual(s.train.itemIDs, log.itemIDs)
        // Deterministic; the seed matters.
        let again = try splitter.split(log)
        XCTAssertEqual(again.test, s.test); XCTAssertEqual(again.validation, s.validation)
        var users: Set<[Int32]> = []
        for seed in 0..<8 as Range<UInt64> {
            users.insert(try HeldOutUsersSplit(validationUsers: .users(1), testUsers: .users(2), seed: seed).split(log).test.map(\.user))
        }
        XCTAssertGreaterThan(users.count, 1)
        // Random fold-in: still one target of five, history in time order.
        let r = try HeldOutUsersSplit(validationUsers: .fraction(0.15), testUsers: .fraction(0.15), seed: 3).split(log)
        XCTAssertEqual(r.validation.count, 1); XCTAssertEqual(r.test.count, 1) // round(0.15 · 7) = 1
        for c in r.validation + r.test {
            XCTAssertEqual(c.history.count, 4); XCTAssertEqual(c.targets.count, 1)
            XCTAssertEqual(c.history, c.history.sorted())
            XCTAssertEqual(Set(c.history + c.targets).count, 5)
        }
        XCTAssertEqual(try HeldOutUsersSplit(validationUsers: .fraction(0.15), testUsers: .fraction(0.15), seed: 3).split(log).test, r.test)
        XCTAssertThrowsError(try HeldOutUsersSplit(validationUsers: .users(4), testUsers: .users(3)).split(log)) { e in
            XCTAssertTrue("\(e)".contains("only 6 users"), "\(e)")
        }
    }

    func testRandomRatio() throws {
        var rows: [(String, String, Int64, Float?)] = []
        for k in 0..<10 { rows.append(("a", "i\(k)", Int64(k), Float(k))) }
        for k in 0..<5 { rows.append(("b", "j\(k)", Int64(k), Float(k))) }
        for k in 0..<2 { rows.append(("c", "k\(k)", Int64(k), Float(k))) }
        let log = makeLog(rows)
        let s = try RandomRatioSplit(train: 0.8, validation: 0.1, test: 0.1, seed: 11).split(log)
        // a: 10 → 1 test, 1 validation; b: 5 → round(0.5) = 1 each; c: 2 → nothing held out.
        XCTAssertEqual(s.test.map { log.userIDs.id(of: $0.user) }, ["a", "b"])
        XCTAssertEqual(s.validation.map { log.userIDs.id(of: $0.user) }, ["a", "b"])
        XCTAssertEqual(s.train.count, 17 - 4)
        for (v, t) in zip(s.validation, s.test) {
            XCTAssertEqual(v.targets.count, 1); XCTAssertEqual(t.targets.count, 1)
            // Test history = train + validation, in time order; validation history = train.
            XCTAssertEqual(t.history, (v.history + v.targets).sorted())
            XCTAssertFalse(t.history.contains(t.targets[0]))
            let trainItems = Set((0..<s.train.count).filter { s.train.users[$0] == v.user }.map { s.train.items[$0] })
            XCTAssertEqual(Set(v.history), trainItems)
            // Ratings follow their items (rating k for item k here).
            XCTAssertEqual(t.targetRatings, t.targets.map { Float(log.itemIDs.id(of: $0).dropFirst())! })
        }
        XCTAssertEqual(try RandomRatioSplit(seed: 11).split(log).test, s.test)
        XCTAssertEqual(try RandomRatioSplit(seed: 11).split(log).train.items, s.train.items)
        // Other seeds choose other rows.
        let chosen = Set((0..<8 as Range<UInt64>).map { seed in try! RandomRatioSplit(seed: seed).split(log).test.flatMap(\.targets) })
        XCTAssertGreaterThan(chosen.count, 1)
    }

    func testExportWritesTheSplitAsFiles() throws {
        let log = makeLog([
            ("u1", "a", 1, 4), ("u1", "b", 2, nil), ("u1", "c", 3, 5), ("u1", "d", 4, 3),
            ("u\"2", "a", 1, 2), ("u\"2", "c", 2, 1), ("u\"2", "d", 3, 4),
        ])
        let s = try LeaveOneOutSplit().split(log)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("osusume-split-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try SplitExport.write(s, to: dir)
        let train = try String(contentsOf: dir.appendingPathComponent("train.tsv"), encoding: .utf8)
        XCTAssertEqual(train, "u1\ta\t4.0\nu1\tb\t\nu\"2\ta\t2.0\n")
        let test = try String(contentsOf: dir.appendingPathComponent("test.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(test.count, 2)
        XCTAssertEqual(test[0]["user"] as? String, "u1")
        XCTAssertEqual(test[0]["history"] as? [String], ["a", "b", "c"])
        XCTAssertEqual(test[0]["targets"] as? [String], ["d"])
        XCTAssertEqual(test[1]["user"] as? String, "u\"2")
        let validation = try String(contentsOf: dir.appendingPathComponent("validation.jsonl"), encoding: .utf8)
        XCTAssertEqual(validation.split(separator: "\n").count, 2)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("split.json"))) as! [String: Any]
        XCTAssertEqual(summary["split"] as? String, "leave-one-out")
        XCTAssertEqual(summary["trainInteractions"] as? Int, 3)
        XCTAssertEqual(summary["testCases"] as? Int, 2)
    }
}
