import XCTest
@testable import OsusumeData

final class CSRMatrixTests: XCTestCase {
    func testRowsSortedDuplicatesKeepLastValueAndTransposeRoundTrips() {
        // Row 0 given out of order with (0, 2) twice: the later value 7 wins.
        let m = CSRMatrix(
            rows: 3, cols: 4, rowIndices: [0, 2, 0, 0, 1, 2, 0], colIndices: [3, 1, 2, 0, 1, 0, 2],
            values: [1, 2, 5, 4, 6, 8, 7])
        XCTAssertEqual(m.rowPointers, [0, 3, 4, 6])
        XCTAssertEqual(Array(m.row(0)), [0, 2, 3]); XCTAssertEqual(Array(m.rowValues(0)), [4, 7, 1])
        XCTAssertEqual(Array(m.row(1)), [1]); XCTAssertEqual(Array(m.rowValues(1)), [6])
        XCTAssertEqual(Array(m.row(2)), [0, 1]); XCTAssertEqual(Array(m.rowValues(2)), [8, 2])
        let t = m.transposed()
        XCTAssertEqual(t.rows, 4); XCTAssertEqual(Array(t.row(0)), [0, 2]); XCTAssertEqual(Array(t.rowValues(0)), [4, 8])
        XCTAssertEqual(Array(t.row(3)), [0])
        let back = t.transposed()
        XCTAssertEqual(back.rowPointers, m.rowPointers); XCTAssertEqual(back.colIndices, m.colIndices)
        XCTAssertEqual(back.values, m.values)
        // Without values every entry is 1, and the tuple initialiser agrees.
        let ones = CSRMatrix(rows: 3, cols: 4, rowIndices: [0, 0, 0], colIndices: [3, 3, 1], values: nil)
        XCTAssertEqual(Array(ones.row(0)), [1, 3]); XCTAssertEqual(ones.values, [1, 1])
        let tuples = CSRMatrix(rows: 3, cols: 4, entries: [(0, 3, 1), (2, 1, 2), (0, 2, 5), (0, 0, 4), (1, 1, 6), (2, 0, 8), (0, 2, 7)])
        XCTAssertEqual(tuples.colIndices, m.colIndices); XCTAssertEqual(tuples.values, m.values)
    }
}
