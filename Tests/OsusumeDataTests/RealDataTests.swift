import XCTest
import OsusumeCore
@testable import OsusumeData

/// Counts from the PROVENANCE.md files of the real data sets.
final class RealDataTests: XCTestCase {
    override class func setUp() { ProgressReporter.quietByDefault = true }

    func testMovieLensLatestSmallBundled() throws {
        let dir = TestPaths.packageRoot + "/data/ml-latest-small"
        XCTAssertEqual(try DatasetLoader.detect(path: dir).format, "movielens-csv")
        let d = try DatasetLoader.load(path: dir)
        XCTAssertEqual(d.log.count, 100_836)
        XCTAssertEqual(d.log.userCount, 610)
        XCTAssertEqual(d.log.itemCount, 9_724)
        XCTAssertEqual(d.catalog.count, 9_742)
        XCTAssertEqual(d.log.userCounts().min(), 20)
        XCTAssertEqual(Set(d.log.ratings), Set(stride(from: Float(0.5), through: 5, by: 0.5)))
        XCTAssertEqual(d.log.timestamps.min(), DataDate.seconds(year: 1996, month: 3, day: 29, hour: 18, minute: 36, second: 55))
        XCTAssertEqual(d.log.timestamps.max(), DataDate.seconds(year: 2018, month: 9, day: 24, hour: 14, minute: 27, second: 30))
        XCTAssertTrue(d.log.itemIDs.ids.allSatisfy { d.catalog[$0] != nil }) // every rated movie is in movies.csv
        XCTAssertEqual(d.catalog.items.filter { $0.links["imdb"] != nil }.count, 9_742)
        XCTAssertEqual(d.catalog["1"]?.links, ["imdb": "0114709", "tmdb": "862"])
        XCTAssertEqual(d.catalog["1"]?.year, 1995)
        XCTAssertEqual(d.catalog["7789"]?.title, "11'09\"01 - September 11 (2002)")
        let tagged = d.catalog.items.filter { !$0.tags.isEmpty }
        XCTAssertGreaterThan(tagged.count, 1000)
        XCTAssertLessThanOrEqual(tagged.reduce(0) { $0 + $1.tags.count }, 3_683)
        // Leave-one-out: every user has ≥ 20 ratings, so one case each.
        let s = try LeaveOneOutSplit().split(d.log)
        XCTAssertEqual(s.test.count, 610); XCTAssertEqual(s.train.count, 100_836 - 2 * 610)
    }

    func testMovieLens100K() throws {
        let d = try DatasetLoader.load(path: try TestPaths.sharedData("ml-100k"))
        XCTAssertEqual(d.format, "movielens-100k")
        XCTAssertEqual(d.log.count, 100_000); XCTAssertEqual(d.log.userCount, 943); XCTAssertEqual(d.log.itemCount, 1_682)
        XCTAssertEqual(d.catalog.count, 1_682); XCTAssertEqual(d.userFeatures.count, 943)
        let histogram = Dictionary(grouping: d.log.ratings, by: { $0 }).mapValues(\.count)
        XCTAssertEqual(histogram, [1: 6_110, 2: 11_370, 3: 27_145, 4: 34_174, 5: 21_201])
        XCTAssertEqual(d.catalog["1"]?.genres, ["Animation", "Children's", "Comedy"])
        XCTAssertTrue(d.catalog.items.contains { $0.title.contains("é") }) // latin-1 decoded
    }

    func testBeautySequences() throws {
        let path = try TestPaths.sharedData("beauty/Beauty.txt")
        XCTAssertEqual(try DatasetLoader.detect(path: path).format, "sasrec")
        let d = try DatasetLoader.load(path: path)
        XCTAssertEqual(d.log.userCount, 22_363)
        XCTAssertEqual(d.log.count, 198_502)
        XCTAssertEqual(d.log.itemCount, 12_101)
        let lengths = d.log.userCounts()
        XCTAssertEqual(lengths.min(), 5); XCTAssertEqual(lengths.max(), 204)
        let s = try LeaveOneOutSplit().split(d.log)
        XCTAssertEqual(s.test.count, 22_363); XCTAssertEqual(s.validation.count, 22_363)
        XCTAssertEqual(s.train.count, 198_502 - 2 * 22_363)
    }

    func testML1MSequencesAndLeaveOneOut() throws {
        let path = try TestPaths.sharedData("ml-1m/ml-1m.txt")
        let d = try DatasetLoader.load(path: path)
        XCTAssertEqual(d.log.userCount, 6_040); XCTAssertEqual(d.log.count, 999_611); XCTAssertEqual(d.log.itemCount, 3_416)
        let s = try LeaveOneOutSplit().split(d.log)
        XCTAssertEqual(s.test.count, 6_040); XCTAssertEqual(s.validation.count, 6_040)
        // The last line is "6040 323 1 386 … 241 154": 154 is the test target, 241 the validation one.
        let last = try XCTUnwrap(s.test.last)
        XCTAssertEqual(d.log.userIDs.id(of: last.user), "6040")
        XCTAssertEqual(d.log.itemIDs.id(of: last.targets[0]), "154")
        XCTAssertEqual(d.log.itemIDs.id(of: last.history.last!), "241")
        XCTAssertEqual(last.history.prefix(3).map { d.log.itemIDs.id(of: $0) }, ["323", "1", "386"])
        XCTAssertEqual(last.history.count, 38)
        XCTAssertEqual(d.log.itemIDs.id(of: s.validation.last!.targets[0]), "241")
    }

    func testML1MSideFiles() throws {
        let dir = try TestPaths.sharedData("ml-1m")
        var catalog = Catalog()
        try MovieLensDatImporter.readMovies(dir + "/movies.dat", into: &catalog)
        XCTAssertEqual(catalog.count, 3_883)
        XCTAssertEqual(catalog["73"]?.title, "Misérables, Les (1995)")
        // The folder has no ratings.dat: detection explains instead of guessing.
        XCTAssertThrowsError(try DatasetLoader.load(path: dir)) { e in XCTAssertTrue("\(e)".contains("no ratings.dat"), "\(e)") }
    }

    func testAnimeCaseRec() throws {
        let dir = try TestPaths.sharedData("anime/caserec-anime-5000users")
        let d = try DatasetLoader.load(path: dir)
        XCTAssertEqual(d.format, "anime-caserec")
        XCTAssertEqual(d.log.count, 520_609); XCTAssertEqual(d.log.userCount, 5_000); XCTAssertEqual(d.log.itemCount, 7_390)
        XCTAssertEqual(d.log.ratings.filter { !$0.isNaN }.count, 419_943)
        var rated = [Bool](repeating: false, count: d.log.userCount)
        for r in 0..<d.log.count where !d.log.ratings[r].isNaN { rated[Int(d.log.users[r])] = true }
        XCTAssertEqual(rated.filter { $0 }.count, 4_714)
        XCTAssertEqual(d.catalog.count, 7_390)
        XCTAssertEqual(d.catalog.items.filter { $0.links["mal"] != nil }.count, 7_390)
        XCTAssertEqual(d.catalog["1723"]?.links["mal"], "32281") // Kimi no Na wa.
        XCTAssertFalse(d.catalog.items.contains { $0.title.contains("&#039;") })
    }

    func testAnimeCatalog() throws {
        let path = try TestPaths.sharedData("anime/anime.csv")
        var catalog = Catalog()
        try AnimeCatalog.read(path, format: .csv, malIDsAreItemIDs: true, into: &catalog)
        XCTAssertEqual(catalog.count, 12_294)
        let types = Dictionary(grouping: catalog.items, by: { $0.type ?? "" }).mapValues(\.count)
        XCTAssertEqual(types, ["TV": 3_787, "OVA": 3_311, "Movie": 2_348, "Special": 1_676, "ONA": 659, "Music": 488, "": 25])
        XCTAssertEqual(catalog.items.filter { $0.genres.isEmpty }.count, 62)
        XCTAssertEqual(catalog["9969"]?.title, "Gintama'")
        // The folder has anime.csv but no ratings: the loader points at the caserec sample.
        XCTAssertThrowsError(try DatasetLoader.load(path: try TestPaths.sharedData("anime"))) { e in
            XCTAssertTrue("\(e)".contains("anime-caserec"), "\(e)")
        }
    }
}
