import ArgumentParser
import Foundation
import OsusumeCore
import OsusumeData
import OsusumeStore

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Work with the event store: back-fill it from a file, count what it holds.",
        subcommands: [EventsImportCommand.self, EventsExportCommand.self, EventsCountCommand.self])
}

struct EventsImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Back-fill the event store from a file of events.",
        discussion: """
            JSON lines ({"user": "1", "item": "50", "kind": "like", "rating": 4.5, "at": 1700000000, "key": "e-1"}) \
            or CSV with a header naming user, item, kind and optionally rating, at (seconds since 1970) and \
            key. Every line is checked first; a bad line stops the import with its line number and nothing \
            is stored. An event whose key is already stored is not stored again, so an import can be rerun.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The file (.jsonl / .json lines, or .csv).")
    var file: String
    @Option(help: "The event store: a SQLite file or a postgres:// URL.")
    var store = "feedback.sqlite"
    @Option(help: "Events committed per transaction.")
    var chunk = 50_000

    func run() throws {
        global.apply()
        let events = try EventFile.read(path: file)
        guard !events.isEmpty else { throw OsusumeError.emptyData("\(file): no events") }
        let url = store, size = max(1, chunk)
        let start = Date()
        let stored: Int = try blocking {
            let s = try await EventStores.open(url)
            var done = 0
            for lo in stride(from: 0, to: events.count, by: size) {
                let part = Array(events[lo..<min(events.count, lo + size)])
                do { done += try await s.append(part).count } catch {
                    await s.close()
                    throw OsusumeError.file(url, problem: "stopped after \(done) of \(events.count) events were committed: \(error)")
                }
                if events.count > size { logLine("committed \(done) / \(events.count) events") }
            }
            await s.close()
            return done
        }
        let seconds = Date().timeIntervalSince(start)
        if global.json {
            try printJSON(["file": file, "store": url, "events": stored, "seconds": seconds] as [String: Any])
        } else {
            print(String(format: "stored %d events from %@ in %.2fs (%.0f events/s)", stored, file, seconds, Double(stored) / max(seconds, 1e-9)))
        }
    }
}

struct EventsExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the stored events as JSON lines (the format `events import` reads), oldest first.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "The event store: a SQLite file or a postgres:// URL.")
    var store = "feedback.sqlite"
    @Option(help: "Only this user's events.")
    var user: String?
    @Option(help: "Only events with a larger id.")
    var after: Int64 = 0

    func run() throws {
        global.apply()
        let url = store, user = self.user, after = self.after
        let events = try blocking {
            let s = try await EventStores.open(url)
            defer { Task { await s.close() } }
            if let user { return try await s.events(user: user, after: after) }
            return try await s.allEvents(after: after, through: try await s.maxID())
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out = Data()
        for e in events {
            struct Line: Encodable { var id: Int64; var user: String; var item: String; var kind: String; var rating: Double?; var at: Double?; var key: String? }
            out.append(
                try encoder.encode(
                    Line(
                        id: e.id, user: e.event.user, item: e.event.item, kind: e.event.kind, rating: e.event.rating,
                        at: e.event.at, key: e.event.key)))
            out.append(0x0A)
            if out.count > 1 << 20 { FileHandle.standardOutput.write(out); out.removeAll(keepingCapacity: true) }
        }
        FileHandle.standardOutput.write(out)
    }
}

struct EventsCountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "count", abstract: "Count the stored events and show the model versions.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "The event store: a SQLite file or a postgres:// URL.")
    var store = "feedback.sqlite"

    func run() throws {
        global.apply()
        let url = store
        let (count, last, versions, current) = try blocking {
            let s = try await EventStores.open(url)
            let r = (try await s.count(), try await s.maxID(), try await s.versions(), try await s.currentVersion()?.version)
            await s.close()
            return r
        }
        if global.json {
            try printJSON(
                [
                    "store": url, "events": count, "last_id": last, "current_version": current.map { Int($0) } as Any,
                    "versions": versions.map { ["version": $0.version, "events_through": $0.eventsThrough, "paths": $0.paths] as [String: Any] },
                ]
                    as [String: Any])
            return
        }
        print("\(count) events (last id \(last)) in \(url)")
        for v in versions {
            print("version \(v.version)\(v.version == current ? " (current)" : ""): events through \(v.eventsThrough); \(v.paths.joined(separator: ", "))")
        }
    }
}

/// Reads a file of feedback events, checking every line.
enum EventFile {
    static func read(path: String) throws -> [FeedbackEvent] {
        guard let data = FileManager.default.contents(atPath: path) else { throw OsusumeError.file(path, problem: "cannot read the file") }
        let text = String(decoding: data, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        var out: [FeedbackEvent] = []
        if path.lowercased().hasSuffix(".csv") {
            guard let header = lines.first, !header.isEmpty else { throw OsusumeError.malformed(file: path, line: 1, problem: "expected a header naming user, item, kind") }
            let names = header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let u = names.firstIndex(of: "user"), let i = names.firstIndex(of: "item"), let k = names.firstIndex(of: "kind") else {
                throw OsusumeError.malformed(file: path, line: 1, problem: "the header must name user, item and kind; got '\(header.prefix(80))'")
            }
            let r = names.firstIndex(of: "rating"), a = names.firstIndex(of: "at"), key = names.firstIndex(of: "key")
            for (n, line) in lines.enumerated().dropFirst() where !line.isEmpty {
                let f = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                guard f.count == names.count else {
                    throw OsusumeError.malformed(file: path, line: n + 1, problem: "expected \(names.count) fields, got \(f.count)")
                }
                func number(_ idx: Int?, _ what: String) throws -> Double? {
                    guard let idx, !f[idx].isEmpty else { return nil }
                    guard let v = Double(f[idx]) else { throw OsusumeError.malformed(file: path, line: n + 1, problem: "\(what) '\(f[idx].prefix(20))' is not a number") }
                    return v
                }
                let e = FeedbackEvent(
                    user: f[u], item: f[i], kind: f[k], rating: try number(r, "rating"), at: try number(a, "at"),
                    key: key.flatMap { f[$0].isEmpty ? nil : f[$0] })
                do { try e.validate() } catch { throw OsusumeError.malformed(file: path, line: n + 1, problem: "\(error)") }
                out.append(e)
            }
            return out
        }
        let decoder = JSONDecoder()
        struct Line: Decodable {
            var user: Flexible; var item: Flexible; var kind: String; var rating: Double?; var at: Double?; var key: String?
            struct Flexible: Decodable {
                var value: String
                init(from d: Decoder) throws {
                    let c = try d.singleValueContainer()
                    if let s = try? c.decode(String.self) { value = s } else { value = String(try c.decode(Int64.self)) }
                }
            }
        }
        for (n, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let l: Line
            do { l = try decoder.decode(Line.self, from: Data(line.utf8)) } catch let e as DecodingError {
                let problem: String
                switch e {
                case .keyNotFound(let key, _): problem = "missing field '\(key.stringValue)'"
                case .typeMismatch(_, let c), .valueNotFound(_, let c):
                    problem = "wrong type for '\(c.codingPath.map(\.stringValue).joined(separator: "."))' (user and item: text or integer; rating and at: numbers)"
                default: problem = "not a JSON object with user, item and kind"
                }
                throw OsusumeError.malformed(file: path, line: n + 1, problem: problem)
            }
            let e = FeedbackEvent(user: l.user.value, item: l.item.value, kind: l.kind, rating: l.rating, at: l.at, key: l.key)
            do { try e.validate() } catch { throw OsusumeError.malformed(file: path, line: n + 1, problem: "\(error)") }
            out.append(e)
        }
        return out
    }
}
