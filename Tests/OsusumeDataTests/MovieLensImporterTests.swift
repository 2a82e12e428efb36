import XCTest
import OsusumeCore
@testable import OsusumeData

final class MovieLensImporterTests: XCTestCase {
    override class func setUp() { ProgressReporter.quietByDefault = true }

    func makeMovieLensCSV(_ t: TempFolder, ratings: String? = nil) throws -> String {
        let dir = try t.sub("ml-tiny")
        try t.write("ml-tiny/ratings.csv", ratings ?? "userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n1,2,3.5,964981247\r\n2,1,5.0,964983000\r\n")
        try t.write(
            "ml-tiny/movies.csv",
            """
            movieId,title,genres
            1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy
            2,"American President, The (1995)",Comedy|Drama|Romance
            3,"11'09""01 - September 11 (2002)",Drama
            4,Hyena Road,(no genres listed)

            """)
        try t.write("ml-tiny/tags.csv", "userId,movieId,tag,timestamp\n2,1,pixar,1445714994\n3,1,Pixar,1445714995\n3,1,\"funny, clever\",1445714996\n")
        try t.write("ml-tiny/links.csv", "movieId,imdbId,tmdbId\n1,0114709,862\n2,0112346,\n")
        return dir
    }

    func testMovieLensCSV() throws {
        let t = try TempFolder()
        let dir = try makeMovieLensCSV(t)
        XCTAssertEqual(try DatasetLoader.detect(path: dir).format, "movielens-csv")
        let d = try DatasetLoader.load(path: dir)
        XCTAssertEqual(d.format, "movielens-csv")
        XCTAssertEqual(d.name, "ml-tiny")
        XCTAssertEqual(pairs(d.log), ["1-1", "1-2", "2-1"])
        XCTAssertEqual(d.log.ratings, [4.0, 3.5, 5.0])
        XCTAssertEqual(d.log.timestamps, [964982703, 964981247, 964983000])
        XCTAssertTrue(d.log.hasRatings && d.log.hasTimestamps)
        XCTAssertEqual(d.catalog.count, 4)
        XCTAssertEqual(
            d.catalog["1"],
            CatalogItem(
                id: "1", title: "Toy Story (1995)", genres: ["Adventure", "Animation", "Children", "Comedy", "Fantasy"],
                year: 1995, tags: ["pixar", "funny, clever"], links: ["imdb": "0114709", "tmdb": "862"]))
        XCTAssertEqual(d.catalog["2"]?.title, "American President, The (1995)")
        XCTAssertEqual(d.catalog["2"]?.links, ["imdb": "0112346"])
        XCTAssertEqual(d.catalog["3"]?.title, "11'09\"01 - September 11 (2002)")
        XCTAssertEqual(d.catalog["3"]?.year, 2002)
        XCTAssertEqual(d.catalog["4"]?.genres, [])
        XCTAssertNil(d.catalog["4"]?.year)
        // The ratings file itself is accepted as the path.
        XCTAssertEqual(try DatasetLoader.load(path: dir + "/ratings.csv", format: "movielens-csv").log.count, 3)
    }

    func testMovieLensCSVMalformedLines() throws {
        let t = try TempFolder()
        var dir = try makeMovieLensCSV(t, ratings: "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,good,964981247\n")
        assertMalformed(try MovieLensCSVImporter().load(path: dir), file: "ratings.csv", line: 3, problem: "rating is not a number: 'good'")
        dir = try makeMovieLensCSV(t, ratings: "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n\n1,2,4.0\n")
        assertMalformed(try MovieLensCSVImporter().load(path: dir), file: "ratings.csv", line: 4, problem: "expected 4 fields")
        dir = try makeMovieLensCSV(t, ratings: "userId,movieId,rating,timestamp\r\n1,1,4.0,9649.82703\r\n")
        assertMalformed(try MovieLensCSVImporter().load(path: dir), file: "ratings.csv", line: 2, problem: "timestamp is not an integer")
        dir = try makeMovieLensCSV(t, ratings: "userId,item,rating,timestamp\n1,1,4.0,1\n")
        assertMalformed(try MovieLensCSVImporter().load(path: dir), file: "ratings.csv", line: 1, problem: "no column 'movieId'")
        // Ids are integers, and every rated movie is in movies.csv: never a silent new item.
        dir = try makeMovieLensCSV(t, ratings: "userId,movieId,rating,timestamp\n1,1,4.0,1\n1,tt0114709,4.0,2\n")
        assertMalformed(try MovieLensCSVImporter().load(path: dir), file: "ratings.csv", line: 3, problem: "movieId is not an integer")
        dir = try makeMovieLensCSV(t, ratings: "userId,movieId,rating,timestamp\n1,1,4.0,1\nu2,1,4.0,2\n")
        assertMalformed(try MovieLensCSVImporter().load(path: dir), file: "ratings.csv", line: 3, problem: "userId is not an integer")
        dir = try makeMovieLensCSV(t, ratings: "userId,movieId,rating,timestamp\n1,1,4.0,1\n1,99,4.0,2\n")
        assertMalformed(try MovieLensCSVImporter().load(path: dir), file: "ratings.csv", line: 3, problem: "movieId 99 is not in movies.csv")
        for empty in ["", "userId,movieId,rating,timestamp\n"] {
            dir = try makeMovieLensCSV(t, ratings: empty)
            assertMalformed(try MovieLensCSVImporter().load(path: dir), file: "ratings.csv", line: 1, problem: "no ratings")
        }
        dir = try makeMovieLensCSV(t)
        try t.write("ml-tiny/movies.csv", "movieId,title,genres\n1,\"Toy Story (1995),Animation\n2,Heat (1995),Action\n")
        assertMalformed(try MovieLensCSVImporter().load(path: dir), file: "movies.csv", line: 2, problem: "never closed")
        try t.write("ml-tiny/movies.csv", "movieId,title,genres\n1,Toy Story (1995),Animation\n2,\"Broken\" title,Drama\n")
        assertMalformed(try MovieLensCSVImporter().load(path: dir), file: "movies.csv", line: 3, problem: "after the closing quote")
    }

    func testMovieLensDat() throws {
        let t = try TempFolder()
        let dir = try t.sub("ml-1m")
        try t.write("ml-1m/ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n")
        try t.write(
            "ml-1m/movies.dat",
            bytes: Array("1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n661::James and the Giant Peach (1996)::Animation\n73::Mis".utf8) + [0xE9]
                + Array("rables, Les (1995)::Drama|Musical\n".utf8))
        try t.write("ml-1m/users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n")
        XCTAssertEqual(try DatasetLoader.detect(path: dir).format, "movielens-dat")
        let d = try DatasetLoader.load(path: dir)
        XCTAssertEqual(pairs(d.log), ["1-1193", "1-661", "2-1193"])
        XCTAssertEqual(d.log.ratings, [5, 3, 4])
        XCTAssertEqual(d.log.timestamps, [978300760, 978302109, 978298413])
        XCTAssertEqual(d.catalog["73"]?.title, "Misérables, Les (1995)")
        XCTAssertEqual(d.catalog["73"]?.genres, ["Drama", "Musical"])
        XCTAssertEqual(d.catalog["1193"]?.year, 1975)
        XCTAssertEqual(d.userFeatures["2"], ["gender": "M", "age": "56", "occupation": "16", "zip": "70072"])

        try t.write("ml-1m/ratings.dat", "1::1193::5::978300760\n1::661::3\n")
        assertMalformed(try MovieLensDatImporter().load(path: dir), file: "ratings.dat", line: 2, problem: "expected 4 fields")
        try t.write("ml-1m/ratings.dat", "1::1193::5::978300760\n1::661::x::978302109\n")
        assertMalformed(try MovieLensDatImporter().load(path: dir), file: "ratings.dat", line: 2, problem: "rating is not a number")
    }

    func testMovieLensDatWithoutRatingsSaysSo() throws {
        let t = try TempFolder()
        let dir = try t.sub("ml-1m")
        try t.write("ml-1m/movies.dat", "1::Toy Story (1995)::Animation\n")
        try t.write("ml-1m/users.dat", "1::F::1::10::48067\n")
        XCTAssertThrowsError(try MovieLensDatImporter().load(path: dir)) { e in
            XCTAssertTrue("\(e)".contains("no ratings.dat"), "\(e)")
        }
        XCTAssertThrowsError(try DatasetLoader.load(path: dir)) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains("movies.dat and users.dat but no ratings.dat"), m)
            XCTAssertTrue(m.contains("Formats:"), m)
        }
    }

    func testMovieLens100K() throws {
        let t = try TempFolder()
        let dir = try t.sub("ml-100k")
        try t.write("ml-100k/u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t1\t878887116\n")
        let flags = (0..<19).map { $0 == 4 || $0 == 5 ? "1" : "0" }.joined(separator: "|")
        let noGenre = (0..<19).map { $0 == 0 ? "1" : "0" }.joined(separator: "|")
        try t.write(
            "ml-100k/u.item",
            bytes: Array(
                "242|Kolya (1996)|24-Jan-1997||http://us.imdb.com/M/title-exact?Kolya%20(1996)|\(flags)\n302|L.A. Confidential (1997)|01-Jan-1997||http://x|\(noGenre)\n267|unknown||||\(noGenre)\n1|Caf"
                    .utf8) + [0xE9] + Array(" (1994)|01-Jan-1994|||\(flags)\n".utf8))
        try t.write("ml-100k/u.genre", MovieLens100KImporter.defaultGenres.enumerated().map { "\($0.element)|\($0.offset)" }.joined(separator: "\n") + "\n\n")
        try t.write("ml-100k/u.user", "196|49|M|writer|55105\n186|39|F|executive|00000\n")
        XCTAssertEqual(try DatasetLoader.detect(path: dir).format, "movielens-100k")
        let d = try DatasetLoader.load(path: dir)
        XCTAssertEqual(pairs(d.log), ["196-242", "186-302", "196-302"])
        XCTAssertEqual(d.log.ratings, [3, 3, 1])
        XCTAssertEqual(d.catalog["242"]?.genres, ["Children's", "Comedy"])
        XCTAssertEqual(d.catalog["242"]?.releasedAt, DataDate.seconds(year: 1997, month: 1, day: 24))
        XCTAssertEqual(d.catalog["242"]?.year, 1996)
        XCTAssertEqual(d.catalog["302"]?.genres, [])
        XCTAssertNil(d.catalog["267"]?.year)
        XCTAssertEqual(d.catalog["1"]?.title, "Café (1994)")
        XCTAssertEqual(d.userFeatures["186"]?["occupation"], "executive")

        try t.write("ml-100k/u.item", "242|Kolya (1996)|24-Jan-1997||url|0|0\n")
        assertMalformed(try MovieLens100KImporter().load(path: dir), file: "u.item", line: 1, problem: "expected 24 fields")
        try t.write("ml-100k/u.item", "242|Kolya (1996)|24-Jan-1997||url|\(flags)\n302|L.A. Confidential (1997)|01-Jan-1997||url|\(flags)\n")
        try t.write("ml-100k/u.data", "196\t242\t3\t881250949\n186 302 3 891717742\n")
        assertMalformed(try MovieLens100KImporter().load(path: dir), file: "u.data", line: 2, problem: "expected 4 fields")
    }
}
