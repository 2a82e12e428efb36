import XCTest
import OsusumeCore
@testable import OsusumeData

final class OtherImporterTests: XCTestCase {
    override class func setUp() { ProgressReporter.quietByDefault = true }

    func testSASRecSequencesAndPairsGiveTheSameLog() throws {
        let t = try TempFolder()
        let seq = try t.write("seq.txt", "1 1 2 3\n2 4 1\r\n3 2\n")
        let pairsFile = try t.write("pairs.txt", "1 1\n1 2\n1 3\n2 4\n2 1\n3 2\n")
        let a = try SASRecImporter().loadWithLayout(path: seq)
        let b = try SASRecImporter().loadWithLayout(path: pairsFile)
        XCTAssertEqual(a.layout, .sequencePerLine)
        XCTAssertEqual(b.layout, .pairPerLine)
        for d in [a.dataset, b.dataset] {
            XCTAssertEqual(pairs(d.log), ["1-1", "1-2", "1-3", "2-4", "2-1", "3-2"])
            XCTAssertEqual(d.log.timestamps, [0, 1, 2, 3, 4, 5])
            XCTAssertFalse(d.log.hasTimestamps); XCTAssertFalse(d.log.hasRatings)
            XCTAssertEqual(d.log.sequences().map { $0.map { d.log.itemIDs.id(of: $0) } }, [["1", "2", "3"], ["4", "1"], ["2"]])
        }
        XCTAssertEqual(try DatasetLoader.detect(path: seq).format, "sasrec")
        XCTAssertEqual(try DatasetLoader.detect(path: pairsFile).format, "sasrec")
        let bad = try t.write("bad.txt", "1 1 2\n2\n")
        assertMalformed(try SASRecImporter().load(path: bad), file: "bad.txt", line: 2, problem: "at least one item")
    }

    func testSASRecAttachesCatalogAndUserFeaturesThroughIDMaps() throws {
        let t = try TempFolder()
        let seq = try t.write("ml/ml-mini.txt", "1 1 2\n2 2 1\n")
        try t.write("ml/sas_to_original_items.txt", "1 1193\n2 661\n")
        try t.write("ml/sas_to_original_users.txt", "1 7\n2 3\n")
        try t.write("ml/movies.dat", "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n661::James and the Giant Peach (1996)::Animation|Children's|Musical\n")
        try t.write("ml/users.dat", "3::M::25::15::55117\n7::F::1::10::48067\n")
        let d = try SASRecImporter().load(path: seq)
        XCTAssertEqual(d.catalog["1"]?.title, "One Flew Over the Cuckoo's Nest (1975)")
        XCTAssertEqual(d.catalog["2"]?.genres, ["Animation", "Children's", "Musical"])
        XCTAssertEqual(d.catalog["2"]?.year, 1996)
        XCTAssertEqual(d.catalog["1"]?.links["movielens"], "1193")
        XCTAssertEqual(d.userFeatures["1"]?["gender"], "F"); XCTAssertEqual(d.userFeatures["2"]?["occupation"], "15")
        try t.write("ml/sas_to_original_users.txt", "1 7\n2\n")
        assertMalformed(try SASRecImporter().load(path: seq), file: "sas_to_original_users.txt", line: 2, problem: "sasID originalID")
    }

    func testRecBole() throws {
        let t = try TempFolder()
        let dir = try t.sub("ml-mini")
        try t.write("ml-mini/ml-mini.inter", "user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n186\t302\t\t891717742.0\n")
        try t.write(
            "ml-mini/ml-mini.item",
            "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n242\tKolya\t1996\tComedy\n302\tL.A. Confidential\t1997\tCrime Film-Noir Mystery Thriller\n")
        try t.write("ml-mini/ml-mini.user", "user_id:token\tage:token\tgender:token\n196\t49\tM\n")
        XCTAssertEqual(try DatasetLoader.detect(path: dir).format, "recbole")
        let d = try DatasetLoader.load(path: dir)
        XCTAssertEqual(d.name, "ml-mini")
        XCTAssertEqual(pairs(d.log), ["196-242", "186-302"])
        XCTAssertEqual(d.log.ratings[0], 3); XCTAssertTrue(d.log.ratings[1].isNaN)
        XCTAssertEqual(d.log.timestamps, [881250949, 891717742])
        XCTAssertEqual(d.catalog["302"], CatalogItem(id: "302", title: "L.A. Confidential", genres: ["Crime", "Film-Noir", "Mystery", "Thriller"], year: 1997))
        XCTAssertEqual(d.userFeatures["196"], ["age": "49", "gender": "M"])
        // The .inter file itself works too; no timestamp column means file order.
        let only = try t.write("x/beauty.inter", "user_id:token\titem_id:token\nA\tB\nA\tC\n")
        let e = try DatasetLoader.load(path: only)
        XCTAssertFalse(e.log.hasTimestamps); XCTAssertFalse(e.log.hasRatings)
        XCTAssertEqual(pairs(e.log), ["A-B", "A-C"])
        try t.write("ml-mini/ml-mini.inter", "user_id:token\titem_id:token\trating:float\n1\t2\t3\n1\t3\n")
        assertMalformed(try RecBoleImporter().load(path: dir), file: "ml-mini.inter", line: 3, problem: "expected 3 fields")
        try t.write("ml-mini/ml-mini.inter", "user_id\titem_id\n1\t2\n")
        assertMalformed(try RecBoleImporter().load(path: dir), file: "ml-mini.inter", line: 1, problem: "has no type")
    }

    func testAnimeCSV() throws {
        let t = try TempFolder()
        let dir = try t.sub("anime")
        try t.write(
            "anime/anime.csv",
            "anime_id,name,genre,type,episodes,rating,members\r\n32281,Kimi no Na wa.,\"Drama, Romance, School, Supernatural\",Movie,1,9.37,200630\r\n9969,Gintama&#039;,\"Action, Comedy\",TV,51,9.16,151266\r\n6,Trigun &amp; &quot;more&quot;,,,Unknown,,1\r\n"
        )
        try t.write("anime/rating.csv", "user_id,anime_id,rating\n1,32281,-1\n1,9969,10\n2,6,8\n")
        XCTAssertEqual(try DatasetLoader.detect(path: dir).format, "anime-csv")
        let d = try DatasetLoader.load(path: dir)
        XCTAssertEqual(pairs(d.log), ["1-32281", "1-9969", "2-6"])
        XCTAssertTrue(d.log.ratings[0].isNaN) // -1: watched, not rated
        XCTAssertEqual(Array(d.log.ratings[1...]), [10, 8])
        XCTAssertTrue(d.log.hasRatings)
        XCTAssertEqual(d.catalog["9969"], CatalogItem(id: "9969", title: "Gintama'", genres: ["Action", "Comedy"], type: "TV", episodes: 51, links: ["mal": "9969"]))
        XCTAssertEqual(d.catalog["32281"]?.genres, ["Drama", "Romance", "School", "Supernatural"])
        XCTAssertEqual(d.catalog["6"]?.title, "Trigun & \"more\"")
        XCTAssertEqual(d.catalog["6"]?.genres, [])
        XCTAssertNil(d.catalog["6"]?.type)
        XCTAssertNil(d.catalog["6"]?.episodes, "'Unknown' episodes: still airing")
        try t.write("anime/anime.csv", "anime_id,name,genre,type,episodes,rating,members\r\n32281,Kimi no Na wa.,Drama,Movie,one,9.37,200630\r\n")
        assertMalformed(try AnimeCSVImporter().load(path: dir), file: "anime.csv", line: 2, problem: "episodes must be a whole number")
        try t.write(
            "anime/anime.csv",
            "anime_id,name,genre,type,episodes,rating,members\r\n32281,Kimi no Na wa.,Drama,Movie,1,9.37,200630\r\n9969,Gintama,Action,TV,51,9.16,151266\r\n6,Trigun,,,Unknown,,1\r\n")
        try t.write("anime/rating.csv", "user_id,anime_id,rating\n1,32281,-1\n1,9969,ten\n")
        assertMalformed(try AnimeCSVImporter().load(path: dir), file: "rating.csv", line: 3, problem: "rating is not a number")
        // Without a ratings file the loader says what is missing.
        try FileManager.default.removeItem(atPath: dir + "/rating.csv")
        try t.write("anime/sample/anime_history.dat", "User_ID\tAnime_ID\tFeedback\n1\t1\t1\n")
        XCTAssertThrowsError(try DatasetLoader.load(path: dir)) { e in
            XCTAssertTrue("\(e)".contains("no rating.csv"), "\(e)")
            XCTAssertTrue("\(e)".contains("sample is format anime-caserec"), "\(e)")
        }
    }

    func testAnimeCaseRec() throws {
        let t = try TempFolder()
        let dir = try t.sub("caserec")
        try t.write("caserec/anime_history.dat", "User_ID\tAnime_ID\tFeedback\n1\t1\t1\n1\t2\t1\n2\t1\t1\n")
        try t.write("caserec/anime_ratings.dat", "User_ID\tAnime_ID\tFeedback\n1\t1\t8\n3\t2\t7\n2\t1\t5\n")
        try t.write(
            "caserec/anime_info.dat",
            "anime_ids\tname\tgenre\ttype\tepisodes\trating\tmembers\n1\tKimi no Na wa.\tDrama, Romance\tMovie\t1\t9.37\t200630\n2\tGintama&#039;\tAction\tTV\t51\t9.16\t151266\n")
        try t.write("caserec/caserec_id_to_mal_anime_id.csv", "caserec_anime_id,mal_anime_id,name\n1,32281,Kimi no Na wa.\n2,9969,\"Gintama', the movie, \"\"x\"\"\"\n")
        XCTAssertEqual(try DatasetLoader.detect(path: dir).format, "anime-caserec")
        let d = try DatasetLoader.load(path: dir)
        // A rating without a history row is appended as an interaction.
        XCTAssertEqual(pairs(d.log), ["1-1", "1-2", "2-1", "3-2"])
        XCTAssertEqual(d.log.ratings[0], 8); XCTAssertTrue(d.log.ratings[1].isNaN); XCTAssertEqual(Array(d.log.ratings[2...]), [5, 7])
        XCTAssertEqual(d.catalog["2"], CatalogItem(id: "2", title: "Gintama'", genres: ["Action"], type: "TV", episodes: 51, links: ["mal": "9969"]))
        XCTAssertEqual(d.catalog["1"]?.links["mal"], "32281")
        try t.write("caserec/anime_ratings.dat", "User_ID\tAnime_ID\tFeedback\n1\t1\t8\n\n2\t1\n")
        assertMalformed(try AnimeCaseRecImporter().load(path: dir), file: "anime_ratings.dat", line: 4, problem: "expected 3 fields")
    }

    func testGenericCSV() throws {
        let t = try TempFolder()
        let f = try t.write("events.csv", "when;who;what;stars\n2020-05-01T10:00:00Z;alice;\"Book; 1\";5\n2020-05-02;bob;b2;\n1588500000;alice;b2;3.5\n")
        let opts = CSVOptions(delimiter: UInt8(ascii: ";"), userColumn: "who", itemColumn: "what", ratingColumn: "stars", timestampColumn: 0)
        let d = try DatasetLoader.load(path: f, csv: opts)
        XCTAssertEqual(pairs(d.log), ["alice-Book; 1", "bob-b2", "alice-b2"])
        XCTAssertEqual(d.log.timestamps, [1_588_327_200, 1_588_377_600, 1_588_500_000])
        XCTAssertEqual(d.log.ratings[0], 5); XCTAssertTrue(d.log.ratings[1].isNaN); XCTAssertEqual(d.log.ratings[2], 3.5)
        XCTAssertTrue(d.log.hasTimestamps && d.log.hasRatings)

        // Guessed from the header; also detected as csv.
        let g = try t.write("plain.tsv", "user_id\titem_id\trating\n1\t10\t4\n2\t10\t5\n")
        XCTAssertEqual(try DatasetLoader.detect(path: g).format, "csv")
        let e = try DatasetLoader.load(path: g)
        XCTAssertEqual(pairs(e.log), ["1-10", "2-10"]); XCTAssertEqual(e.log.ratings, [4, 5])

        // No header, columns by index.
        let h = try t.write("nohead.csv", "x,1,9\ny,2,8\n")
        let n = try DatasetLoader.load(path: h, csv: CSVOptions(hasHeader: false, userColumn: 1, itemColumn: 2))
        XCTAssertEqual(pairs(n.log), ["1-9", "2-8"])
        XCTAssertThrowsError(try DatasetLoader.load(path: h, csv: CSVOptions(hasHeader: false, userColumn: "user", itemColumn: 2)))

        let bad = try t.write("bad.csv", "user,item,time\na,b,2020-01-01\na,c,yesterday\n")
        assertMalformed(
            try DatasetLoader.load(path: bad, csv: CSVOptions(userColumn: "user", itemColumn: "item", timestampColumn: "time")),
            file: "bad.csv", line: 3, problem: "neither a number nor an ISO-8601 date: 'yesterday'")
        assertMalformed(
            try DatasetLoader.load(path: bad, csv: CSVOptions(userColumn: "user", itemColumn: "missing")),
            file: "bad.csv", line: 1, problem: "no column 'missing'")
    }

    func testLoaderErrors() throws {
        let t = try TempFolder()
        XCTAssertThrowsError(try DatasetLoader.load(path: t.path + "/nothing")) { e in
            XCTAssertEqual(e as? OsusumeError, .file(t.path + "/nothing", problem: "not found"))
        }
        XCTAssertThrowsError(try DatasetLoader.load(path: t.path, format: "parquet")) { e in
            XCTAssertTrue("\(e)".contains("unknown data format 'parquet'"))
        }
        let dir = try t.sub("empty")
        XCTAssertThrowsError(try DatasetLoader.load(path: dir)) { e in
            XCTAssertTrue("\(e)".contains("an empty folder"), "\(e)")
        }
        // A folder that is two formats at once must be named explicitly.
        try t.write("both/ratings.csv", "userId,movieId,rating,timestamp\n1,1,4,1\n")
        try t.write("both/u.data", "1\t1\t4\t1\n")
        XCTAssertThrowsError(try DatasetLoader.load(path: t.path + "/both")) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains("movielens-csv") && m.contains("movielens-100k") && m.contains("several formats"), m)
        }
        XCTAssertEqual(try DatasetLoader.load(path: t.path + "/both", format: "movielens-100k").format, "movielens-100k")
        XCTAssertEqual(
            Set(DatasetLoader.formats),
            [
                "movielens-csv", "movielens-dat", "movielens-100k", "sasrec", "recbole", "anime-csv",
                "anime-caserec", "anilist-json", "mal-xml", "csv",
            ])
    }
}
