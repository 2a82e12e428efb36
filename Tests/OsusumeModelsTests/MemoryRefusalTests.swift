import Foundation
import XCTest
import OsusumeCore
import OsusumeData
@testable import OsusumeModels

/// Work that would not fit the machine is refused before it starts, with the figure.
final class MemoryRefusalTests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }
    override func tearDown() { MemoryBudget.testLimit = nil }

    func testEASEAndPureSVDRefuseACatalogTooLargeForMemoryWithTheFigure() throws {
        let data = PlantedData()
        // 100 KB: below the items² matrix of the planted catalog.
        MemoryBudget.testLimit = 100_000
        let n = data.log.itemCount
        XCTAssertGreaterThan(n * n * 4, 100_000)
        for model in [EASE(config: .init()) as any Recommender, PureSVD(config: .init())] {
            XCTAssertThrowsError(try model.fit(TrainingData(log: data.log))) { error in
                guard case OsusumeError.memory(let message) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(message.contains("\(n) items needs"), message)
                XCTAssertTrue(message.contains("but 100 KB is available"), message)
                XCTAssertTrue(message.contains("--min-item"), message)
            }
        }
        // With room, the same fit runs.
        MemoryBudget.testLimit = nil
        XCTAssertNoThrow(try EASE(config: .init()).fit(TrainingData(log: data.log)))
    }

    func testAFileTooLargeForMemoryIsRefusedBeforeReading() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("osusume-mem-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(String(repeating: "1,2,3.0,4\n", count: 10_000).utf8).write(to: url)
        MemoryBudget.testLimit = 50_000
        XCTAssertThrowsError(try TextFile(path: url.path)) { error in
            guard case OsusumeError.memory(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("reading \(url.path) needs 200 KB"), message)
        }
        MemoryBudget.testLimit = nil
        XCTAssertEqual(try TextFile(path: url.path).bytes.count, 100_000)
    }

    func testByteSizesParse() {
        XCTAssertEqual(MemoryBudget.parseBytes("8G"), 8_000_000_000)
        XCTAssertEqual(MemoryBudget.parseBytes("512m"), 512_000_000)
        XCTAssertEqual(MemoryBudget.parseBytes("1000"), 1000)
        XCTAssertNil(MemoryBudget.parseBytes("lots"))
        XCTAssertNil(MemoryBudget.parseBytes("-1G"))
    }
}
