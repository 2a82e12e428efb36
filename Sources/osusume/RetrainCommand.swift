import ArgumentParser
import Foundation
import OsusumeCore
import OsusumeData
import OsusumeServe
import OsusumeStore

/// The retrain settings shared by `retrain` and `serve --retrain`.
struct RetrainSettings: ParsableArguments {
    @Option(help: "Where retrained versions are written (default: a 'versions' folder beside the store).")
    var versions: String?
    @Option(name: .customLong("keep-versions"), help: "Retrained versions kept on disk (older ones are deleted).")
    var keepVersions = 5
    @Option(name: .customLong("retrain-margin"), help: "A candidate replaces the current models unless its held-out NDCG@10 is lower by more than this.")
    var margin = 0.005
    @Option(name: .customLong("holdout"), help: "Share of the new events (the most recent) held out to compare candidate and current.")
    var holdout = 0.2
    @Option(name: .customLong("min-holdout-users"), help: "Fewer held-out users than this: wait for more events.")
    var minHoldoutUsers = 20

    func validate() throws {
        guard holdout > 0, holdout < 1 else { throw ValidationError("--holdout must be in (0, 1)") }
        guard keepVersions >= 1 else { throw ValidationError("--keep-versions must be at least 1") }
        guard margin >= 0, margin.isFinite else { throw ValidationError("--retrain-margin must be ≥ 0") }
        guard minHoldoutUsers >= 1 else { throw ValidationError("--min-holdout-users must be at least 1") }
    }

    func options(store: String) -> RetrainOptions {
        var o = RetrainOptions(versionsDirectory: URL(fileURLWithPath: versionsDirectory(store: store)), kinds: modelKinds)
        o.keepVersions = keepVersions; o.margin = margin; o.holdoutFraction = holdout; o.minHoldoutUsers = minHoldoutUsers
        return o
    }

    func versionsDirectory(store: String) -> String {
        if let v = versions { return URL(fileURLWithPath: v).standardizedFileURL.path }
        if store.hasPrefix("postgres") { return URL(fileURLWithPath: "model-versions").standardizedFileURL.path }
        let path = store.hasPrefix("sqlite:") ? String(store.dropFirst(7)) : store
        return URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().appendingPathComponent("model-versions").path
    }

    /// The same settings as arguments of a `retrain` process.
    var arguments: [String] {
        var a = [
            "--keep-versions", String(keepVersions), "--retrain-margin", String(margin), "--holdout", String(holdout),
            "--min-holdout-users", String(minHoldoutUsers),
        ]
        if let v = versions { a += ["--versions", URL(fileURLWithPath: v).standardizedFileURL.path] }
        return a
    }
}

struct RetrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retrain",
        abstract: "Retrain the store's current models on their base data plus the stored events; swap only if not worse.",
        discussion: """
            Loads the current model version recorded in the event store, refits every model (same kind \
            and settings) on its recorded base data plus the events stored since, holding out the most \
            recent events; measures current and candidate on them (NDCG@10, full ranking) and makes the \
            candidate current only if it is not worse by more than --retrain-margin. Servers following \
            the store swap it in within seconds. `serve --retrain` runs this by itself.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "The event store: a SQLite file or a postgres:// URL.")
    var store = "feedback.sqlite"
    @OptionGroup var settings: RetrainSettings
    @Option(help: "Base data instead of the one recorded in the models (with --format and filters as train takes them).")
    var data: String?
    @Option(help: "Format of --data.")
    var format: String?
    @Option(name: .customLong("event-rule"), help: "Event rule with --data (default: the recorded one).")
    var eventRule: String?

    func run() throws {
        global.apply()
        var options = settings.options(store: store)
        if let d = data {
            options.baseData = TrainingSource(data: URL(fileURLWithPath: d).standardizedFileURL.path, format: format, eventRule: eventRule)
        }
        let url = store
        let opts = options
        let report: RetrainReport? = try blocking {
            let s = try await EventStores.open(url)
            defer { Task { await s.close() } }
            return try await s.withRetrainLock { try await Retrainer.run(store: s, options: opts, log: { logLine($0) }) }
        }
        guard let report else {
            throw ValidationError("another process is retraining from this store; try again when it is done")
        }
        if global.json {
            let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(report), as: UTF8.self))
        } else {
            print("\(report.decision.rawValue): \(report.reason)" + (report.toVersion.map { "; now version \($0)" } ?? ""))
        }
    }
}

/// Runs `osusume retrain` as a child process at low priority, so the server's requests keep
/// their cores and a failed retrain cannot take the server down.
enum RetrainProcess {
    /// Retrain processes still running, stopped when the server stops.
    nonisolated(unsafe) private static var running: [Int32: Process] = [:]
    private static let lock = NSLock()

    /// Stops every retrain process this server started (at shutdown).
    static func stopAll() {
        lock.lock(); let all = Array(running.values); lock.unlock()
        for p in all where p.isRunning { p.terminate() }
    }

    static func run(
        store: String, settings: RetrainSettings, threads: Int, timeout: Double,
        log: @escaping @Sendable (String) -> Void
    ) async throws -> RetrainReport {
        let exe = Bundle.main.executablePath ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/nice")
        process.arguments = ["-n", "15", exe, "retrain", "--store", store, "--json", "--threads", String(threads)] + settings.arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out; process.standardError = err
        err.fileHandleForReading.readabilityHandler = { h in
            let data = h.availableData
            guard !data.isEmpty else { return }
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") { log("retrain| \(line)") }
        }
        let output: Data = try await withCheckedThrowingContinuation { cont in
            process.terminationHandler = { _ in }
            do { try process.run() } catch { cont.resume(throwing: error); return }
            let pid = process.processIdentifier
            lock.lock(); running[pid] = process; lock.unlock()
            // A retrain that runs past its time is stopped (SIGTERM, then SIGKILL), so a hung
            // one cannot block the schedule for ever.
            Thread.detachNewThread {
                let deadline = Date().addingTimeInterval(timeout)
                while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 1) }
                guard process.isRunning else { return }
                log("retrain: still running after \(Int(timeout))s, stopping it")
                process.terminate()
                Thread.sleep(forTimeInterval: 10)
                if process.isRunning { kill(pid, SIGKILL) }
            }
            Thread.detachNewThread {
                let data = out.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                lock.lock(); running[pid] = nil; lock.unlock()
                cont.resume(returning: data)
            }
        }
        err.fileHandleForReading.readabilityHandler = nil
        guard process.terminationStatus == 0 else {
            throw OsusumeError.invalidArgument("the retrain process exited with status \(process.terminationStatus)")
        }
        guard let line = String(decoding: output, as: UTF8.self).split(separator: "\n").last,
            let report = try? JSONDecoder().decode(RetrainReport.self, from: Data(line.utf8))
        else {
            throw OsusumeError.invalidArgument("the retrain process printed no report")
        }
        return report
    }
}
