import XCTest
import OsusumeCore
@testable import OsusumeData

final class ScannerTests: XCTestCase {
    func testPlainCSVWithLFAndCRLF() throws {
        XCTAssertEqual(try records("a,b,c\n1,2,3\n", .csv), [["a", "b", "c"], ["1", "2", "3"]])
        XCTAssertEqual(try records("a,b,c\r\n1,2,3\r\n", .csv), [["a", "b", "c"], ["1", "2", "3"]])
        // No final line break, CRLF without it, and a mixed file.
        XCTAssertEqual(try records("a,b\r\n1,2", .csv), [["a", "b"], ["1", "2"]])
        XCTAssertEqual(try records("a,b\n1,2\r", .csv), [["a", "b"], ["1", "2"]])
        XCTAssertEqual(try records("a,b\r\n1,2\n", .csv), [["a", "b"], ["1", "2"]])
    }

    func testEmptyFieldsAndBlankLines() throws {
        XCTAssertEqual(try records("a,,c\n,\n1,2,\n", .csv), [["a", "", "c"], ["", ""], ["1", "2", ""]])
        XCTAssertEqual(try records("a,b,", .csv), [["a", "b", ""]])
        // Blank lines are skipped but still counted for line numbers.
        var lines: [Int] = []
        try TextFile(path: "x", bytes: Array("a\n\n\r\nb\n".utf8)).forEachRecord(.csv) { lines.append($0.line) }
        XCTAssertEqual(lines, [1, 4])
    }

    func testQuotedFields() throws {
        // Commas and doubled quotes inside quotes (MovieLens movies.csv style).
        let text = "movieId,title,genres\n11,\"American President, The (1995)\",Comedy|Drama|Romance\n7789,\"11'09\"\"01 - September 11 (2002)\",Drama\n"
        XCTAssertEqual(
            try records(text, .csv),
            [
                ["movieId", "title", "genres"],
                ["11", "American President, The (1995)", "Comedy|Drama|Romance"],
                ["7789", "11'09\"01 - September 11 (2002)", "Drama"],
            ])
        // An empty quoted field, a quoted field at the end with CRLF, a quote only.
        XCTAssertEqual(try records("\"\",\"x\"\r\n\"\"\"\"\r\n", .csv), [["", "x"], ["\""]])
        // A line break inside quotes belongs to the field; the next record's line number counts it.
        var seen: [(Int, [String])] = []
        try TextFile(path: "q.csv", bytes: Array("1,\"two\nlines\",3\n4,5,6\n".utf8)).forEachRecord(.csv) { seen.append(($0.line, $0.strings())) }
        XCTAssertEqual(seen.map(\.0), [1, 3])
        XCTAssertEqual(seen.map(\.1), [["1", "two\nlines", "3"], ["4", "5", "6"]])
        // Quotes in the middle of an unquoted field are ordinary characters.
        XCTAssertEqual(try records("a\"b,c\n", .csv), [["a\"b", "c"]])
        // Without quoting, quotes are kept.
        XCTAssertEqual(try records("\"a\",b\n", .tsv), [["\"a\",b"]])
    }

    func testBrokenQuotingIsAnError() {
        assertMalformed(try records("a,b\n1,\"unclosed\n2,3\n", .csv), file: "test.txt", line: 2, problem: "never closed")
        assertMalformed(try records("a,b\n\"x\"y,2\n", .csv), file: "test.txt", line: 2, problem: "after the closing quote")
    }

    func testOtherSeparators() throws {
        XCTAssertEqual(try records("1::Toy Story (1995)::Animation|Comedy\n", .doubleColon), [["1", "Toy Story (1995)", "Animation|Comedy"]])
        // A single ':' is not a separator, and '::' at the end gives an empty last field.
        XCTAssertEqual(try records("a:b::c::\n", .doubleColon), [["a:b", "c", ""]])
        XCTAssertEqual(try records("1\t2\t3\r\n", .tsv), [["1", "2", "3"]])
        XCTAssertEqual(try records("  1  2\t3 \r\n\n 4 5\n", .whitespace), [["1", "2", "3"], ["4", "5"]])
    }

    func testUTF8AndLatin1() throws {
        let utf8 = TextFile(path: "u", bytes: Array("1,Amélie (2001)\n".utf8))
        XCTAssertEqual(utf8.encoding, .utf8)
        var titles: [String] = []
        try utf8.forEachRecord(.csv) { titles.append($0.string(1)) }
        // 0xE9 alone is not UTF-8: the file is read as latin-1 (ML-1M movies.dat).
        let latin = TextFile(path: "l", bytes: Array("73::Mis".utf8) + [0xE9] + Array("rables, Les (1995)::Drama\n".utf8))
        XCTAssertEqual(latin.encoding, .latin1)
        try latin.forEachRecord(.doubleColon) { titles.append($0.string(1)) }
        XCTAssertEqual(titles, ["Amélie (2001)", "Misérables, Les (1995)"])
        // A byte-order mark is dropped.
        XCTAssertEqual(TextFile(path: "b", bytes: [0xEF, 0xBB, 0xBF] + Array("x".utf8)).text, "x")
        XCTAssertFalse(TextFile.isValidUTF8([0xC3])) // truncated
        XCTAssertFalse(TextFile.isValidUTF8([0xC0, 0x80])) // overlong
        XCTAssertFalse(TextFile.isValidUTF8([0xED, 0xA0, 0x80])) // surrogate
        XCTAssertTrue(TextFile.isValidUTF8(Array("日本語 ok".utf8)))
    }

    func testNumbers() {
        func int(_ s: String) -> Int64? { Array(s.utf8).withUnsafeBufferPointer { NumberParsing.int($0) } }
        func dbl(_ s: String) -> Double? { Array(s.utf8).withUnsafeBufferPointer { NumberParsing.double($0) } }
        XCTAssertEqual(int("978300760"), 978300760)
        XCTAssertEqual(int(" -12 "), -12)
        XCTAssertNil(int("12a")); XCTAssertNil(int("")); XCTAssertNil(int("-")); XCTAssertNil(int("99999999999999999999"))
        XCTAssertEqual(dbl("3.5"), 3.5); XCTAssertEqual(dbl("4"), 4); XCTAssertEqual(dbl("-1"), -1)
        XCTAssertEqual(dbl(".5"), 0.5); XCTAssertEqual(dbl("1e3"), 1000); XCTAssertEqual(dbl("0.1"), 0.1)
        XCTAssertEqual(dbl("978300760.0"), 978300760)
        XCTAssertNil(dbl("four")); XCTAssertNil(dbl("nan")); XCTAssertNil(dbl("inf")); XCTAssertNil(dbl("1.2.3"))
        XCTAssertNil(dbl("")); XCTAssertNil(dbl(".")); XCTAssertNil(dbl("0x10"))
    }

    func testDates() {
        XCTAssertEqual(DataDate.parseISO8601(Array("1970-01-02".utf8)), 86_400)
        XCTAssertEqual(DataDate.parseISO8601(Array("2000-03-01T00:00:00Z".utf8)), 951_868_800)
        XCTAssertEqual(DataDate.parseISO8601(Array("2000-03-01 01:30:00+01:30".utf8)), 951_868_800)
        XCTAssertEqual(DataDate.parseISO8601(Array("2000-03-01T00:00:00.123Z".utf8)), 951_868_800)
        XCTAssertNil(DataDate.parseISO8601(Array("2001-02-29".utf8)))
        XCTAssertNil(DataDate.parseISO8601(Array("2000-03-01x".utf8)))
        XCTAssertEqual(DataDate.isoDay(1_537_799_250), "2018-09-24")
        XCTAssertEqual(DataDate.parseDayMonthNameYear("01-Jan-1995"), 788_918_400)
        XCTAssertEqual(MovieLens.year(fromTitle: "Toy Story (1995)"), 1995)
        XCTAssertEqual(MovieLens.year(fromTitle: "Babylon 5 (1994-1998) "), 1994)
        XCTAssertNil(MovieLens.year(fromTitle: "Hyena Road"))
        XCTAssertEqual(HTMLEntities.decode("Gintama&#039; &amp; &quot;Q&quot; &#x41; &bogus; a&b"), "Gintama' & \"Q\" A &bogus; a&b")
    }

    func testInternerKeepsTextIDsDistinct() {
        var interner = IDInterner()
        func id(_ s: String) -> Int32 { Array(s.utf8).withUnsafeBufferPointer { interner.intern($0, encoding: .utf8) } }
        XCTAssertEqual(id("7"), 0)
        XCTAssertEqual(id("007"), 1) // a different string, so a different id
        XCTAssertEqual(id(" 7 "), 0) // blanks around an id do not count
        XCTAssertEqual(id("tt7"), 2)
        XCTAssertEqual(id("7"), 0)
        XCTAssertEqual(interner.map.ids, ["7", "007", "tt7"])
    }
}
