import XCTest
import OsusumeCore
@testable import OsusumeData

final class UserListImporterTests: XCTestCase {
    override class func setUp() { ProgressReporter.quietByDefault = true }

    /// A trimmed AniList `MediaListCollection` answer as the GraphQL API returns it.
    static let aniList = """
        {"data":{"MediaListCollection":{
          "user":{"id":5432,"name":"hikari","mediaListOptions":{"scoreFormat":"POINT_100"}},
          "lists":[
            {"name":"Completed","status":"COMPLETED","isCustomList":false,"entries":[
              {"mediaId":5114,"score":95,"status":"COMPLETED","updatedAt":1600000000,
               "completedAt":{"year":2019,"month":4,"day":2},
               "media":{"id":5114,"idMal":5114,"title":{"romaji":"Hagane no Renkinjutsushi: FULLMETAL ALCHEMIST","english":"Fullmetal Alchemist: Brotherhood"},
                        "genres":["Action","Adventure","Drama"],"coverImage":{"large":"https://img.anili.st/5114.jpg"},
                        "format":"TV","startDate":{"year":2009,"month":4,"day":5}}},
              {"mediaId":21,"score":0,"status":"COMPLETED","updatedAt":1500000000,
               "completedAt":{"year":null,"month":null,"day":null},
               "media":{"id":21,"idMal":21,"title":{"romaji":"ONE PIECE","english":null},"genres":["Action"],
                        "coverImage":{"large":"https://img.anili.st/21.jpg"},"format":"TV","startDate":{"year":1999}}}
            ]},
            {"name":"Planning","status":"PLANNING","isCustomList":false,"entries":[
              {"mediaId":1,"score":0,"status":"PLANNING","updatedAt":1610000000,"completedAt":{"year":null,"month":null,"day":null},
               "media":{"id":1,"title":{"romaji":"Cowboy Bebop"},"genres":[],"format":"TV","startDate":{"year":1998}}}
            ]},
            {"name":"Favourites","isCustomList":true,"entries":[
              {"mediaId":5114,"score":95,"status":"COMPLETED","updatedAt":1600000000,
               "media":{"id":5114,"title":{"romaji":"Hagane no Renkinjutsushi: FULLMETAL ALCHEMIST"}}}
            ]}
          ]}}}
        """

    func testAniListJSON() throws {
        let t = try TempFolder()
        let f = try t.write("hikari.json", UserListImporterTests.aniList)
        XCTAssertEqual(try DatasetLoader.detect(path: f).format, "anilist-json")
        let d = try DatasetLoader.load(path: f)
        XCTAssertEqual(d.log.userIDs.ids, ["hikari"])
        // One Piece has no completion date: its updatedAt orders it first. The custom-list repeat is dropped.
        XCTAssertEqual(d.log.sequences()[0].map { d.log.itemIDs.id(of: $0) }, ["21", "5114"])
        XCTAssertEqual(pairs(d.log), ["hikari-5114", "hikari-21"])
        XCTAssertEqual(d.log.timestamps, [DataDate.seconds(year: 2019, month: 4, day: 2), 1_500_000_000])
        XCTAssertEqual(d.log.ratings[0], 9.5) // POINT_100 → 10-point scale
        XCTAssertTrue(d.log.ratings[1].isNaN) // 0 = not scored
        XCTAssertTrue(d.log.hasTimestamps && d.log.hasRatings)
        let fma = try XCTUnwrap(d.catalog["5114"])
        XCTAssertEqual(fma.title, "Fullmetal Alchemist: Brotherhood")
        XCTAssertEqual(fma.genres, ["Action", "Adventure", "Drama"])
        XCTAssertEqual(fma.imageURL, "https://img.anili.st/5114.jpg")
        XCTAssertEqual(fma.type, "TV"); XCTAssertEqual(fma.year, 2009)
        XCTAssertEqual(fma.links, ["anilist": "5114", "mal": "5114"])
        XCTAssertEqual(d.catalog["21"]?.title, "ONE PIECE")
        XCTAssertNil(d.catalog["1"])
        // Planned entries are included on request.
        XCTAssertEqual(try AniListJSONImporter(includePlanned: true).load(path: f).log.count, 3)

        let bad = try t.write("bad.json", "{\"data\":{\"MediaListCollection\":{\"lists\":[{\"entries\":[{\"score\":3}]}]}}}")
        XCTAssertThrowsError(try AniListJSONImporter().load(path: bad)) { e in XCTAssertTrue("\(e)".contains("entries[0] has no mediaId"), "\(e)") }
        let broken = try t.write("broken.json", "{\"data\": [")
        XCTAssertThrowsError(try AniListJSONImporter().load(path: broken)) { e in XCTAssertTrue("\(e)".contains("not valid JSON"), "\(e)") }
    }

    static let mal = """
        <?xml version="1.0" encoding="UTF-8" ?>
        <!--
         Created by XML Export feature at MyAnimeList.net
         Version 1.1.0
        -->
        <myanimelist>
        \t<myinfo>
        \t\t<user_id>123456</user_id>
        \t\t<user_name>kaze</user_name>
        \t\t<user_export_type>1</user_export_type>
        \t\t<user_total_anime>4</user_total_anime>
        \t</myinfo>
        \t<anime>
        \t\t<series_animedb_id>1</series_animedb_id>
        \t\t<series_title><![CDATA[Cowboy Bebop]]></series_title>
        \t\t<series_type>TV</series_type>
        \t\t<series_episodes>26</series_episodes>
        \t\t<my_id>0</my_id>
        \t\t<my_watched_episodes>26</my_watched_episodes>
        \t\t<my_start_date>2015-03-01</my_start_date>
        \t\t<my_finish_date>2015-03-20</my_finish_date>
        \t\t<my_score>9</my_score>
        \t\t<my_status>Completed</my_status>
        \t\t<my_comments><![CDATA[]]></my_comments>
        \t\t<my_tags><![CDATA[]]></my_tags>
        \t\t<update_on_import>0</update_on_import>
        \t</anime>
        \t<anime>
        \t\t<series_animedb_id>9969</series_animedb_id>
        \t\t<series_title><![CDATA[Gintama']]></series_title>
        \t\t<series_type>TV</series_type>
        \t\t<my_start_date>0000-00-00</my_start_date>
        \t\t<my_finish_date>0000-00-00</my_finish_date>
        \t\t<my_score>0</my_score>
        \t\t<my_status>Watching</my_status>
        \t</anime>
        \t<anime>
        \t\t<series_animedb_id>30</series_animedb_id>
        \t\t<series_title>Shinseiki Evangelion &amp; more</series_title>
        \t\t<my_finish_date>2010-01-05</my_finish_date>
        \t\t<my_score>7</my_score>
        \t\t<my_status>Dropped</my_status>
        \t</anime>
        \t<anime>
        \t\t<series_animedb_id>5114</series_animedb_id>
        \t\t<series_title><![CDATA[Fullmetal Alchemist: Brotherhood]]></series_title>
        \t\t<my_score>0</my_score>
        \t\t<my_status>Plan to Watch</my_status>
        \t</anime>
        </myanimelist>
        """

    func testMALXML() throws {
        let t = try TempFolder()
        let f = try t.write("animelist_1600000000_-_123456.xml", UserListImporterTests.mal)
        XCTAssertEqual(try DatasetLoader.detect(path: f).format, "mal-xml")
        let d = try DatasetLoader.load(path: f)
        XCTAssertEqual(d.log.userIDs.ids, ["kaze"])
        XCTAssertEqual(pairs(d.log), ["kaze-1", "kaze-9969", "kaze-30"])
        // Gintama' has no date: it gets the earliest known time and so comes first (ties keep file order).
        let early = DataDate.seconds(year: 2010, month: 1, day: 5)
        XCTAssertEqual(d.log.timestamps, [DataDate.seconds(year: 2015, month: 3, day: 20), early, early])
        XCTAssertEqual(d.log.sequences()[0].map { d.log.itemIDs.id(of: $0) }, ["9969", "30", "1"])
        XCTAssertEqual(d.log.ratings[0], 9); XCTAssertTrue(d.log.ratings[1].isNaN); XCTAssertEqual(d.log.ratings[2], 7)
        XCTAssertEqual(d.catalog["1"], CatalogItem(id: "1", title: "Cowboy Bebop", type: "TV", episodes: 26, links: ["mal": "1"]))
        XCTAssertEqual(d.catalog["9969"]?.title, "Gintama'")
        XCTAssertEqual(d.catalog["30"]?.title, "Shinseiki Evangelion & more")
        XCTAssertNil(d.catalog["5114"])
        XCTAssertEqual(try MALXMLImporter(includePlanned: true).load(path: f).log.count, 4)

        let bad = try t.write(
            "bad.xml", "<myanimelist>\n<anime>\n<series_title>x</series_title>\n</anime>\n<anime>\n<series_animedb_id>2</series_animedb_id>\n<my_score>great</my_score>\n</anime>\n</myanimelist>\n")
        assertMalformed(try MALXMLImporter().load(path: bad), file: "bad.xml", line: 2, problem: "without <series_animedb_id>")
        let bad2 = try t.write("bad2.xml", "<myanimelist>\n<anime>\n<series_animedb_id>2</series_animedb_id>\n<my_score>great</my_score>\n</anime>\n</myanimelist>\n")
        assertMalformed(try MALXMLImporter().load(path: bad2), file: "bad2.xml", line: 2, problem: "my_score is not a number")
        let open = try t.write("open.xml", "<myanimelist>\n<anime>\n<series_animedb_id>2</series_animedb_id>\n")
        assertMalformed(try MALXMLImporter().load(path: open), file: "open.xml", line: 2, problem: "never closed")
    }
}
