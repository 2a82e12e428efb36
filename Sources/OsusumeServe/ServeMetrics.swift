import Foundation

/// Request counters and latency histograms, rendered in the Prometheus text format. Routes are
/// labelled by their template (`/v1/items/{id}`), never by raw paths, to bound the label set.
public final class ServeMetrics: @unchecked Sendable {
    /// Histogram bucket bounds in seconds.
    public static let buckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

    private struct RequestKey: Hashable { var method: String; var route: String; var status: Int }
    private struct Histogram { var counts: [Int]; var sum: Double = 0; var count: Int = 0 }

    private let lock = NSLock()
    private var requests: [RequestKey: Int] = [:]
    private var latencies: [String: Histogram] = [:]
    private var feedbackStored = 0
    public let startedAt = Date()

    public init() {}

    /// Records one finished request.
    public func record(method: String, route: String, status: Int, seconds: Double) {
        var bucket = Self.buckets.count
        for (i, b) in Self.buckets.enumerated() where seconds <= b { bucket = i; break }
        lock.lock(); defer { lock.unlock() }
        requests[RequestKey(method: method, route: route, status: status), default: 0] += 1
        var h = latencies[route] ?? Histogram(counts: Array(repeating: 0, count: Self.buckets.count + 1))
        h.counts[bucket] += 1; h.sum += seconds; h.count += 1
        latencies[route] = h
    }

    public func recordFeedbackStored(count: Int = 1) { lock.lock(); feedbackStored += count; lock.unlock() }

    /// Requests counted so far for a route (all methods and statuses).
    public func requestCount(route: String) -> Int {
        lock.lock(); defer { lock.unlock() }
        return requests.filter { $0.key.route == route }.values.reduce(0, +)
    }

    /// The exposition text, with the served models' identity and the reload count.
    /// `extra` is appended as it is (lines already in the exposition format).
    public func render(models: [ModelIdentity], loadedAt: Date, reloads: Int, extra: String = "") -> String {
        lock.lock()
        let requests = self.requests, latencies = self.latencies, feedback = feedbackStored
        lock.unlock()
        var out = ""
        out += "# HELP osusume_http_requests_total HTTP requests by method, route template and status.\n"
        out += "# TYPE osusume_http_requests_total counter\n"
        for (k, v) in requests.sorted(by: { ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status) }) {
            out += "osusume_http_requests_total{method=\"\(escape(k.method))\",route=\"\(escape(k.route))\",status=\"\(k.status)\"} \(v)\n"
        }
        out += "# HELP osusume_http_request_duration_seconds Time from request to response, by route template.\n"
        out += "# TYPE osusume_http_request_duration_seconds histogram\n"
        for (route, h) in latencies.sorted(by: { $0.key < $1.key }) {
            var cumulative = 0
            for (i, b) in Self.buckets.enumerated() {
                cumulative += h.counts[i]
                out += "osusume_http_request_duration_seconds_bucket{route=\"\(escape(route))\",le=\"\(b)\"} \(cumulative)\n"
            }
            out += "osusume_http_request_duration_seconds_bucket{route=\"\(escape(route))\",le=\"+Inf\"} \(h.count)\n"
            out += "osusume_http_request_duration_seconds_sum{route=\"\(escape(route))\"} \(h.sum)\n"
            out += "osusume_http_request_duration_seconds_count{route=\"\(escape(route))\"} \(h.count)\n"
        }
        out += "# HELP osusume_model_info The models being served (value 1), with their identity.\n"
        out += "# TYPE osusume_model_info gauge\n"
        for m in models {
            out += "osusume_model_info{name=\"\(escape(m.name))\",kind=\"\(escape(m.kind))\",source=\"\(escape(m.source))\",items=\"\(m.items)\",fingerprint=\"\(escape(m.fingerprint))\",created_at=\"\(escape(m.createdAt))\"} 1\n"
        }
        out += "# HELP osusume_models_loaded_timestamp_seconds When the current models were swapped in.\n"
        out += "# TYPE osusume_models_loaded_timestamp_seconds gauge\n"
        out += "osusume_models_loaded_timestamp_seconds \(loadedAt.timeIntervalSince1970)\n"
        out += "# HELP osusume_model_reloads_total Model reloads since start.\n"
        out += "# TYPE osusume_model_reloads_total counter\n"
        out += "osusume_model_reloads_total \(reloads)\n"
        out += "# HELP osusume_feedback_stored_total Feedback events stored since start.\n"
        out += "# TYPE osusume_feedback_stored_total counter\n"
        out += "osusume_feedback_stored_total \(feedback)\n"
        out += "# HELP osusume_uptime_seconds Seconds since the server started.\n"
        out += "# TYPE osusume_uptime_seconds gauge\n"
        out += "osusume_uptime_seconds \(Date().timeIntervalSince(startedAt))\n"
        out += extra
        return out
    }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
