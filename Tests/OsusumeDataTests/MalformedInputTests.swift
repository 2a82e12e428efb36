import XCTest
import OsusumeCore
@testable import OsusumeData

/// Every format refuses what it does not define, with the file, the line and the reason; a
/// lenient read skips such lines and says how many of each kind.
final class MalformedInputTests: XCTestCase {
    override func setUp() { ProgressReporter.quietByDefault = true }

    struct Case {
        var name: String
        var files: [String: String]
        /// The path loaded, relative to the case's folder.
        var load: String
        var format: String?
        /// The file named in the error (last path component), its line (nil: a whole-file error) and the reason.
        var file: String
        var line: Int?
        var problem: String
    }

    static let mlMovies = "movieId,title,genres\n1,Toy Story (1995),Animation\n2,Heat (1995),Action\n"
    static let mlDatMovies = "1::Toy Story (1995)::Animation\n2::Heat (1995)::Action\n"
    static let item100k = "1|Toy Story (1995)|01-Jan-1995||url|" + (0..<19).map { $0 == 3 ? "1" : "0" }.joined(separator: "|") + "\n"
    static let animeCatalog = "anime_id,name,genre,type,episodes,rating,members\n5114,Fullmetal Alchemist: Brotherhood,Action,TV,64,9.26,793665\n"
    static let caserecInfo = "anime_ids\tname\tgenre\ttype\tepisodes\trating\tmembers\n1\tDeath Note\tMystery\tTV\t37\t8.71\t1013917\n"
    static func malXML(_ anime: String) -> String {
        "<?xml version=\"1.0\"?>\n<myanimelist>\n<myinfo><user_name>kei</user_name></myinfo>\n<anime>\n\(anime)\n</anime>\n</myanimelist>\n"
    }

    static let cases: [Case] = [
        // MovieLens ratings.csv / movies.csv
        Case(
            name: "ml-csv rating not a number", files: ["ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,1\n1,2,good,2\n", "movies.csv": mlMovies],
            load: ".", format: "movielens-csv", file: "ratings.csv", line: 3, problem: "rating is not a number: 'good'"),
        Case(
            name: "ml-csv rating off the scale", files: ["ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,1\n1,2,7,2\n", "movies.csv": mlMovies],
            load: ".", format: "movielens-csv", file: "ratings.csv", line: 3, problem: "rating 7 is outside 0.5–5"),
        Case(
            name: "ml-csv movieId not an integer", files: ["ratings.csv": "userId,movieId,rating,timestamp\n1,tt0114709,4.0,1\n", "movies.csv": mlMovies],
            load: ".", format: "movielens-csv", file: "ratings.csv", line: 2, problem: "movieId is not an integer: 'tt0114709'"),
        Case(
            name: "ml-csv userId not an integer", files: ["ratings.csv": "userId,movieId,rating,timestamp\nu1,1,4.0,1\n", "movies.csv": mlMovies],
            load: ".", format: "movielens-csv", file: "ratings.csv", line: 2, problem: "userId is not an integer"),
        Case(
            name: "ml-csv negative id", files: ["ratings.csv": "userId,movieId,rating,timestamp\n-4,1,4.0,1\n", "movies.csv": mlMovies],
            load: ".", format: "movielens-csv", file: "ratings.csv", line: 2, problem: "userId is negative"),
        Case(
            name: "ml-csv movie not in movies.csv", files: ["ratings.csv": "userId,movieId,rating,timestamp\n1,99,4.0,1\n", "movies.csv": mlMovies],
            load: ".", format: "movielens-csv", file: "ratings.csv", line: 2, problem: "movieId 99 is not in movies.csv"),
        Case(
            name: "ml-csv timestamp not an integer", files: ["ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,yesterday\n", "movies.csv": mlMovies],
            load: ".", format: "movielens-csv", file: "ratings.csv", line: 2, problem: "timestamp is not an integer"),
        Case(
            name: "ml-csv missing field", files: ["ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0\n", "movies.csv": mlMovies],
            load: ".", format: "movielens-csv", file: "ratings.csv", line: 2, problem: "expected 4 fields"),
        Case(
            name: "ml-csv header without movieId", files: ["ratings.csv": "userId,item,rating,timestamp\n1,1,4.0,1\n", "movies.csv": mlMovies],
            load: ".", format: "movielens-csv", file: "ratings.csv", line: 1, problem: "no column 'movieId'"),
        Case(
            name: "ml-csv empty ratings", files: ["ratings.csv": "", "movies.csv": mlMovies],
            load: ".", format: "movielens-csv", file: "ratings.csv", line: 1, problem: "no ratings"),
        Case(
            name: "ml-csv quote never closed", files: ["ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,1\n", "movies.csv": "movieId,title,genres\n1,\"Toy Story (1995),Animation\n"],
            load: ".", format: "movielens-csv", file: "movies.csv", line: 2, problem: "never closed"),
        Case(
            name: "ml-csv duplicate movie", files: ["ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,1\n", "movies.csv": mlMovies + "1,Jumanji (1995),Adventure\n"],
            load: ".", format: "movielens-csv", file: "movies.csv", line: 4, problem: "movieId 1 appears twice"),
        Case(
            name: "ml-csv movieId in movies.csv not an integer", files: ["ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,1\n", "movies.csv": mlMovies + "x3,Jumanji (1995),Adventure\n"],
            load: ".", format: "movielens-csv", file: "movies.csv", line: 4, problem: "movieId is not an integer"),
        // MovieLens ::-separated (ML-1M, ML-10M)
        Case(
            name: "ml-dat rating off the scale", files: ["ratings.dat": "1::1::5::1\n1::2::6::2\n", "movies.dat": mlDatMovies],
            load: ".", format: "movielens-dat", file: "ratings.dat", line: 2, problem: "rating 6 is outside 0.5–5"),
        Case(
            name: "ml-dat rating too large for an integer", files: ["ratings.dat": "1::1::5::1\n1::2::55555555555555555555555::2\n", "movies.dat": mlDatMovies],
            load: ".", format: "movielens-dat", file: "ratings.dat", line: 2, problem: "rating 5.5555555555555555e+22 is outside 0.5–5"),
        Case(
            name: "ml-dat UserID not an integer", files: ["ratings.dat": "1::1::5::1\nalice::2::4::2\n", "movies.dat": mlDatMovies],
            load: ".", format: "movielens-dat", file: "ratings.dat", line: 2, problem: "UserID is not an integer: 'alice'"),
        Case(
            name: "ml-dat movie not in movies.dat", files: ["ratings.dat": "1::1::5::1\n1::3::4::2\n", "movies.dat": mlDatMovies],
            load: ".", format: "movielens-dat", file: "ratings.dat", line: 2, problem: "MovieID 3 is not in movies.dat"),
        Case(
            name: "ml-dat missing field", files: ["ratings.dat": "1::1::5::1\n1::2::4\n", "movies.dat": mlDatMovies],
            load: ".", format: "movielens-dat", file: "ratings.dat", line: 2, problem: "expected 4 fields"),
        Case(
            name: "ml-dat empty", files: ["ratings.dat": "\n\n", "movies.dat": mlDatMovies],
            load: ".", format: "movielens-dat", file: "case", line: nil, problem: "no interactions"),
        // ML-100k
        Case(
            name: "100k rating off the scale", files: ["u.data": "1\t1\t0\t1\n", "u.item": item100k],
            load: ".", format: "movielens-100k", file: "u.data", line: 1, problem: "rating 0 is outside 1–5"),
        Case(
            name: "100k item not in u.item", files: ["u.data": "1\t1\t3\t1\n1\t2\t3\t1\n", "u.item": item100k],
            load: ".", format: "movielens-100k", file: "u.data", line: 2, problem: "item id 2 is not in u.item"),
        Case(
            name: "100k user not an integer", files: ["u.data": "1\t1\t3\t1\nx\t1\t3\t1\n", "u.item": item100k],
            load: ".", format: "movielens-100k", file: "u.data", line: 2, problem: "user id is not an integer"),
        Case(
            name: "100k genre flag not 0/1", files: ["u.data": "1\t1\t3\t1\n", "u.item": item100k.replacingOccurrences(of: "|1|", with: "|2|")],
            load: ".", format: "movielens-100k", file: "u.item", line: 1, problem: "expected 0 or 1"),
        // SASRec
        Case(
            name: "sasrec word among the items", files: ["seq.txt": "1 5 6 7\n2 5 abc 9\n"],
            load: "seq.txt", format: "sasrec", file: "seq.txt", line: 2, problem: "item 2 is not an integer: 'abc'"),
        Case(
            name: "sasrec user not an integer", files: ["seq.txt": "1 5 6\nbob 5 6\n"],
            load: "seq.txt", format: "sasrec", file: "seq.txt", line: 2, problem: "user id is not an integer: 'bob'"),
        Case(
            name: "sasrec user without items", files: ["seq.txt": "1 5 6\n2\n"],
            load: "seq.txt", format: "sasrec", file: "seq.txt", line: 2, problem: "expected a user id followed by at least one item id"),
        Case(
            name: "sasrec empty", files: ["seq.txt": ""],
            load: "seq.txt", format: "sasrec", file: "seq.txt", line: nil, problem: "no interactions"),
        // RecBole atomic files
        Case(
            name: "recbole field without type", files: ["x.inter": "user_id\titem_id\n1\t2\n"],
            load: "x.inter", format: "recbole", file: "x.inter", line: 1, problem: "has no type"),
        Case(
            name: "recbole rating not a number", files: ["x.inter": "user_id:token\titem_id:token\trating:float\n1\t2\t3\n1\t3\tfive\n"],
            load: "x.inter", format: "recbole", file: "x.inter", line: 3, problem: "rating is not a number: 'five'"),
        Case(
            name: "recbole timestamp overflow", files: ["x.inter": "user_id:token\titem_id:token\ttimestamp:float\n1\t2\t1e300\n"],
            load: "x.inter", format: "recbole", file: "x.inter", line: 2, problem: "timestamp 1e300 is out of range"),
        Case(
            name: "recbole header only", files: ["x.inter": "user_id:token\titem_id:token\n"],
            load: "x.inter", format: "recbole", file: "x.inter", line: nil, problem: "no interactions"),
        // Kaggle anime.csv + rating.csv
        Case(
            name: "anime rating off the scale", files: ["anime.csv": animeCatalog, "rating.csv": "user_id,anime_id,rating\n1,5114,10\n1,5114,11\n"],
            load: ".", format: "anime-csv", file: "rating.csv", line: 3, problem: "rating 11 is not a MyAnimeList score"),
        Case(
            name: "anime anime_id not an integer", files: ["anime.csv": animeCatalog, "rating.csv": "user_id,anime_id,rating\n1,fma,10\n"],
            load: ".", format: "anime-csv", file: "rating.csv", line: 2, problem: "anime_id is not an integer: 'fma'"),
        Case(
            name: "anime episodes not a count", files: ["anime.csv": animeCatalog.replacingOccurrences(of: ",64,", with: ",sixty,"), "rating.csv": "user_id,anime_id,rating\n1,5114,10\n"],
            load: ".", format: "anime-csv", file: "anime.csv", line: 2, problem: "episodes must be a whole number or 'Unknown'"),
        Case(
            name: "anime catalog id twice", files: ["anime.csv": animeCatalog + "5114,FMA again,Action,TV,64,9.26,1\n", "rating.csv": "user_id,anime_id,rating\n1,5114,10\n"],
            load: ".", format: "anime-csv", file: "anime.csv", line: 3, problem: "anime id 5114 appears twice"),
        // CaseRecommender anime sample
        Case(
            name: "caserec anime not in anime_info", files: ["anime_history.dat": "User_ID\tAnime_ID\tFeedback\n1\t1\t1\n1\t2\t1\n", "anime_info.dat": caserecInfo],
            load: ".", format: "anime-caserec", file: "anime_history.dat", line: 3, problem: "Anime_ID 2 is not in anime_info.dat"),
        Case(
            name: "caserec history feedback not 1", files: ["anime_history.dat": "User_ID\tAnime_ID\tFeedback\n1\t1\t7\n", "anime_info.dat": caserecInfo],
            load: ".", format: "anime-caserec", file: "anime_history.dat", line: 2, problem: "feedback is 7, expected 1"),
        Case(
            name: "caserec rating off the scale",
            files: ["anime_history.dat": "User_ID\tAnime_ID\tFeedback\n1\t1\t1\n", "anime_ratings.dat": "User_ID\tAnime_ID\tFeedback\n1\t1\t0\n", "anime_info.dat": caserecInfo],
            load: ".", format: "anime-caserec", file: "anime_ratings.dat", line: 2, problem: "rating 0 is not a MyAnimeList score"),
        // MyAnimeList XML export
        Case(
            name: "mal-xml score off the scale", files: ["list.xml": malXML("<series_animedb_id>1</series_animedb_id><my_score>42</my_score><my_status>Completed</my_status>")],
            load: "list.xml", format: "mal-xml", file: "list.xml", line: 4, problem: "my_score 42 is not a MyAnimeList score"),
        Case(
            name: "mal-xml id not an integer", files: ["list.xml": malXML("<series_animedb_id>bebop</series_animedb_id><my_status>Completed</my_status>")],
            load: "list.xml", format: "mal-xml", file: "list.xml", line: 4, problem: "series_animedb_id is not an integer"),
        // AniList JSON export
        Case(
            name: "anilist score off its scale",
            files: [
                "list.json":
                    "{\"data\":{\"MediaListCollection\":{\"user\":{\"mediaListOptions\":{\"scoreFormat\":\"POINT_5\"}},\"lists\":[{\"entries\":[{\"mediaId\":1,\"score\":9,\"status\":\"COMPLETED\",\"media\":{\"id\":1,\"title\":{\"romaji\":\"x\"}}}]}]}}}"
            ],
            load: "list.json", format: "anilist-json", file: "list.json", line: nil, problem: "score 9.0 is outside the POINT_5 scale"),
        // Generic CSV
        Case(
            name: "csv empty user", files: ["log.csv": "user,item\na,b\n,c\n"],
            load: "log.csv", format: "csv", file: "log.csv", line: 3, problem: "user is empty"),
        Case(
            name: "csv timestamp not a date", files: ["log.csv": "user,item,timestamp\na,b,2020-01-01\na,c,yesterday\n"],
            load: "log.csv", format: "csv", file: "log.csv", line: 3, problem: "neither a number nor an ISO-8601 date"),
        Case(
            name: "csv timestamp overflow", files: ["log.csv": "user,item,timestamp\na,b,1e30\n"],
            load: "log.csv", format: "csv", file: "log.csv", line: 2, problem: "timestamp 1e30 is out of range"),
        Case(
            name: "csv text after a closing quote", files: ["log.csv": "user,item\na,\"b\"x\n"],
            load: "log.csv", format: "csv", file: "log.csv", line: 2, problem: "after the closing quote"),
    ]

    func testEveryMalformedInputIsRefusedWithFileLineAndReason() throws {
        XCTAssertGreaterThanOrEqual(Self.cases.count, 30)
        var report: [String] = []
        for c in Self.cases {
            let t = try TempFolder()
            let dir = try t.sub("case")
            for (name, text) in c.files { try t.write("case/" + name, text) }
            let path = c.load == "." ? dir : dir + "/" + c.load
            do {
                _ = try DatasetLoader.load(path: path, format: c.format)
                XCTFail("\(c.name): loaded without an error")
            } catch let e as OsusumeError {
                let message = e.description
                report.append("\(c.name): \(message.replacingOccurrences(of: t.path + "/", with: ""))")
                XCTAssertTrue(message.contains(c.problem), "\(c.name): '\(message)' does not mention '\(c.problem)'")
                if let line = c.line {
                    guard case let .malformed(file, got, _) = e else { XCTFail("\(c.name): not a line error: \(message)"); continue }
                    XCTAssertEqual((file as NSString).lastPathComponent, c.file, c.name)
                    XCTAssertEqual(got, line, c.name)
                } else {
                    XCTAssertTrue(message.contains(c.file), "\(c.name): '\(message)' does not name \(c.file)")
                }
            }
        }
        print("malformed inputs refused (\(report.count) kinds):\n  " + report.joined(separator: "\n  "))
    }

    func testLenientReadSkipsBadLinesAndCountsThemByKind() throws {
        let t = try TempFolder()
        let dir = try t.sub("ml")
        try t.write("ml/movies.csv", Self.mlMovies)
        try t.write("ml/ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,1\n1,2,good,2\n2,99,4.0,3\n2,1,bad,4\n2,2,3.5,5\n3,1,4\n")
        XCTAssertThrowsError(try DatasetLoader.load(path: dir), "strict by default")
        let d = try DatasetLoader.load(path: dir, lenient: true)
        XCTAssertEqual(d.log.count, 2, "the two good lines")
        XCTAssertEqual(d.skippedLines.map(\.problem), ["rating is not a number: '…'", "movieId N is not in movies.csv", "expected N fields (userId,movieId,rating,timestamp), found N"])
        XCTAssertEqual(d.skippedLines.map(\.count), [2, 1, 1])
        XCTAssertTrue(d.skippedLines[0].first.hasSuffix("ratings.csv:3: rating is not a number: 'good'"), d.skippedLines[0].first)

        // A lenient read still refuses a file that is broken as a whole.
        try t.write("ml/ratings.csv", "userId,item,rating,timestamp\n1,1,4.0,1\n")
        XCTAssertThrowsError(try DatasetLoader.load(path: dir, format: "movielens-csv", lenient: true)) { XCTAssertTrue("\($0)".contains("no column 'movieId'"), "\($0)") }
        // Nothing good left is an error that says what was skipped.
        try t.write("ml/ratings.csv", "userId,movieId,rating,timestamp\n1,1,good,1\n")
        XCTAssertThrowsError(try DatasetLoader.load(path: dir, lenient: true)) { e in
            XCTAssertTrue("\(e)".contains("no ratings") && "\(e)".contains("after skipping 1 malformed line"), "\(e)")
        }
        // SASRec: a line with a word is skipped whole, never half-loaded.
        let seq = try t.write("seq.txt", "1 5 6 7\n2 5 abc 9\n3 6 7\n")
        let s = try DatasetLoader.load(path: seq, format: "sasrec", lenient: true)
        XCTAssertEqual(s.log.userCount, 2)
        XCTAssertEqual(s.log.count, 5)
    }
}
