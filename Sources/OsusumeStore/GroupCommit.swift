import Foundation
import OsusumeData

/// Commits concurrent writes together: while one transaction is being committed, new batches
/// queue; the next transaction takes all of them. Each caller still returns only once its own
/// events are committed, and throughput no longer depends on one fsync per request.
final class GroupCommit: @unchecked Sendable {
    private struct Pending {
        var events: [FeedbackEvent]
        var continuation: CheckedContinuation<[StoredFeedback], Error>
    }
    private let lock = NSLock()
    private var queue: [Pending] = []
    private var draining = false
    private let maxEventsPerTransaction: Int
    /// Writes all events in one transaction and returns them stored, in the same order.
    private let commit: @Sendable ([FeedbackEvent]) async throws -> [StoredFeedback]

    init(maxEventsPerTransaction: Int = 10_000, commit: @escaping @Sendable ([FeedbackEvent]) async throws -> [StoredFeedback]) {
        self.maxEventsPerTransaction = maxEventsPerTransaction; self.commit = commit
    }

    func submit(_ events: [FeedbackEvent]) async throws -> [StoredFeedback] {
        if events.isEmpty { return [] }
        return try await withCheckedThrowingContinuation { cont in
            lock.lock()
            queue.append(Pending(events: events, continuation: cont))
            let start = !draining
            draining = true
            lock.unlock()
            if start { Task { await self.drain() } }
        }
    }

    /// The next group to commit; nil (and draining off) when the queue is empty.
    private func takeGroup() -> [Pending]? {
        lock.lock(); defer { lock.unlock() }
        if queue.isEmpty { draining = false; return nil }
        // A batch larger than the limit still goes whole: it must commit all or nothing.
        var take = 1, n = queue[0].events.count
        while take < queue.count, n + queue[take].events.count <= maxEventsPerTransaction { n += queue[take].events.count; take += 1 }
        let group = Array(queue.prefix(take))
        queue.removeFirst(take)
        return group
    }

    private func drain() async {
        while let group = takeGroup() {
            do {
                let stored = try await commit(group.flatMap(\.events))
                var offset = 0
                for p in group {
                    p.continuation.resume(returning: Array(stored[offset..<offset + p.events.count]))
                    offset += p.events.count
                }
            } catch {
                for p in group { p.continuation.resume(throwing: error) }
            }
        }
    }
}
