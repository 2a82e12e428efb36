import Foundation

/// Folders for the files a test leaves open past its own scope (stores, saved models), all under
/// one folder per test process that is removed when the process exits.
public enum TestScratch {
    public static let root: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("osusume-tests-\(getpid())")
        atexit { try? FileManager.default.removeItem(at: TestScratch.root) }
        return url
    }()

    /// A new folder name under the root, `prefix` and a UUID (created by whoever writes to it).
    public static func folder(_ prefix: String) -> URL { root.appendingPathComponent("\(prefix)-\(UUID().uuidString)") }
}
