import Foundation
import OsusumeAPI
import OsusumeCore
import OsusumeData
import OsusumeModels

// libFuzzer harnesses for the parsers that read outside input: every importer, the CSV scanner,
// safetensors, model manifests, feedback events and the HTTP API's request bodies. Built with
// `-sanitize=fuzzer,address -DFUZZING` by scripts/fuzz.sh, libFuzzer drives
// `LLVMFuzzerTestOneInput`; built plainly, `osusume-fuzz HARNESS FILE…` replays inputs (a crash
// found by the fuzzer becomes a regression input under Tests/FuzzRegressions). A harness must
// never crash: bad input has to come back as a thrown error.

/// The harness named by OSUSUME_FUZZ_TARGET (fuzzing) or the first argument (replay).
enum Harness: String, CaseIterable {
    case csvScanner = "csv-scanner"
    case movielensCSV = "movielens-csv", movielensDat = "movielens-dat", movielens100k = "movielens-100k"
    case sasrec, recbole, animeCSV = "anime-csv", animeCaseRec = "anime-caserec"
    case anilistJSON = "anilist-json", malXML = "mal-xml", csv
    case safetensors, manifest, feedback, requests

    /// A scratch folder per process, removed at exit: importers read files, so the input is
    /// written there.
    static let scratch: String = {
        let dir = NSTemporaryDirectory() + "osusume-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: Harness.scratch) }
        return dir
    }()

    static let movies = "movieId,title,genres\n1,Toy Story (1995),Animation\n2,Heat (1995),Action\n"

    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let path = Harness.scratch + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    func folder(_ name: String, _ files: [String: [UInt8]]) -> String {
        let dir = Harness.scratch + "/" + name
        try? FileManager.default.removeItem(atPath: dir)
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (f, b) in files { FileManager.default.createFile(atPath: dir + "/" + f, contents: Data(b)) }
        return dir
    }

    /// Runs one input; errors are the expected outcome of bad input.
    func run(_ input: [UInt8]) {
        do {
            switch self {
            case .csvScanner:
                var fields = 0
                try TextFile(path: "input", bytes: input).forEachRecord(.csv) { r in
                    fields += r.count; _ = r.strings()
                }
            case .movielensCSV:
                _ = try DatasetLoader.load(path: folder("ml", ["ratings.csv": input, "movies.csv": Array(Harness.movies.utf8)]), format: rawValue)
            case .movielensDat:
                _ = try DatasetLoader.load(path: folder("dat", ["ratings.dat": input]), format: rawValue)
            case .movielens100k:
                _ = try DatasetLoader.load(path: folder("100k", ["u.data": input]), format: rawValue)
            case .sasrec:
                _ = try DatasetLoader.load(path: write("seq.txt", input), format: rawValue, lenient: input.first.map { $0 & 1 == 1 } ?? false)
            case .recbole:
                _ = try DatasetLoader.load(path: write("x.inter", input), format: rawValue)
            case .animeCSV:
                _ = try DatasetLoader.load(path: folder("anime", ["anime.csv": input, "rating.csv": Array("user_id,anime_id,rating\n1,1,5\n".utf8)]), format: rawValue)
            case .animeCaseRec:
                _ = try DatasetLoader.load(path: folder("caserec", ["anime_history.dat": input]), format: rawValue)
            case .anilistJSON:
                _ = try DatasetLoader.load(path: write("list.json", input), format: rawValue)
            case .malXML:
                _ = try DatasetLoader.load(path: write("list.xml", input), format: rawValue)
            case .csv:
                _ = try DatasetLoader.load(path: write("log.csv", input), format: rawValue, lenient: input.first.map { $0 & 1 == 1 } ?? false)
            case .safetensors:
                let st = try SafeTensors(data: Data(input))
                for name in st.tensors.keys { _ = try? st.floats(name) }
            case .manifest:
                _ = try JSONDecoder().decode(ModelManifest.self, from: Data(input))
            case .feedback:
                let events = try JSONDecoder().decode([FeedbackEvent].self, from: Data(input))
                for e in events { try? e.validate() }
            case .requests:
                // The server decodes every request body with these types (OsusumeAPI).
                let data = Data(input)
                if let payload = try? JSONDecoder().decode(FeedbackPayload.self, from: data) { _ = try? payload.events(maxBatch: 1_000) }
                _ = try? JSONDecoder().decode(RecommendationBody.self, from: data)
                _ = try JSONDecoder().decode(RollbackBody.self, from: data)
            }
        } catch {}
    }
}

#if FUZZING
private let fuzzHarness: Harness = {
    let name = ProcessInfo.processInfo.environment["OSUSUME_FUZZ_TARGET"] ?? ""
    guard let h = Harness(rawValue: name) else {
        FileHandle.standardError.write(Data("OSUSUME_FUZZ_TARGET must be one of: \(Harness.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
        exit(2)
    }
    ProgressReporter.quietByDefault = true
    return h
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzHarness.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

// SwiftPM links an executable's entry point as `<module>_main`; hand it to libFuzzer's driver.
@_cdecl("osusume_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in fuzzOne(data, size) }
}
#else
@main
struct Replay {
    static func main() {
        let args = CommandLine.arguments.dropFirst()
        guard let name = args.first, let h = Harness(rawValue: name) else {
            print("usage: osusume-fuzz HARNESS FILE…  (replays inputs; scripts/fuzz.sh fuzzes)\nharnesses: \(Harness.allCases.map(\.rawValue).joined(separator: ", "))")
            exit(2)
        }
        ProgressReporter.quietByDefault = true
        var n = 0
        for path in args.dropFirst() {
            guard let d = FileManager.default.contents(atPath: path) else { print("cannot read \(path)"); exit(1) }
            h.run([UInt8](d)); n += 1
        }
        print("\(name): \(n) inputs replayed without a crash")
    }
}
#endif
