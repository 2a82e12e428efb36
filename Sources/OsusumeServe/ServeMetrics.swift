import Foundation
import Metrics
import Prometheus

/// The server's metrics, exposed at `/metrics` in the Prometheus text format.
///
/// Requests are counted and timed through the swift-metrics API (`Counter`, `Timer`) with a
/// Prometheus factory bound to this instance's registry, so several servers in one process
/// (tests) never share figures and no global bootstrap is needed. Routes are labelled by their
/// template (`/v1/items/{id}`), never by raw paths, to bound the label set. The state of the
/// service (models served, version, retrains) is set as gauges when `/metrics` is read.
public final class ServeMetrics: @unchecked Sendable {
    /// Request-duration histogram bucket bounds in seconds.
    public static let buckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

    public let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let feedbackStored: Metrics.Counter
    private let lock = NSLock()
    /// Counters kept elsewhere as running totals (reloads, retrains): what each has been advanced to.
    private var totals: [String: (counter: Prometheus.Counter, value: Int)] = [:]
    /// Gauges with labels set at the last snapshot, by name and label values: a label set that
    /// disappears (a model no longer served) is unregistered, not left at its old value.
    private var labelledGauges: [String: Prometheus.Gauge] = [:]
    public let startedAt = Date()

    public init() {
        var f = PrometheusMetricsFactory(registry: registry)
        f.durationHistogramBuckets["osusume_http_request_duration_seconds"] = Self.buckets.map { .nanoseconds(Int64($0 * 1e9)) }
        factory = f
        feedbackStored = Metrics.Counter(label: "osusume_feedback_stored_total", factory: f)
    }

    /// Records one finished request.
    public func record(method: String, route: String, status: Int, seconds: Double) {
        Metrics.Counter(
            label: "osusume_http_requests_total",
            dimensions: [("method", method), ("route", route), ("status", String(status))], factory: factory
        ).increment()
        Metrics.Timer(label: "osusume_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            .recordSeconds(seconds)
    }

    public func recordFeedbackStored(count: Int = 1) { feedbackStored.increment(by: count) }

    /// A full metric name as one descriptor (no unit suffix added: the names carry theirs).
    static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// A gauge without labels, set to `value`.
    public func set(_ name: String, _ value: Double, help: String) {
        registry.makeGauge(descriptor: Self.descriptor(name, help)).set(value)
    }

    /// A counter that follows a running total kept elsewhere (it only ever advances).
    public func setTotal(_ name: String, _ total: Int, help: String) {
        lock.lock(); defer { lock.unlock() }
        var entry = totals[name] ?? (registry.makeCounter(descriptor: Self.descriptor(name, help)), 0)
        if total > entry.value { entry.counter.increment(by: Int64(total - entry.value)); entry.value = total }
        totals[name] = entry
    }

    /// Gauges of one labelled family, replacing the family's previous label sets.
    public func setFamily(_ name: String, help: String, _ series: [(labels: [(String, String)], value: Double)]) {
        lock.lock(); defer { lock.unlock() }
        var keep = Set<String>()
        for s in series {
            let key = name + "\u{1}" + s.labels.map { "\($0.0)=\($0.1)" }.joined(separator: "\u{1}")
            keep.insert(key)
            let g = labelledGauges[key] ?? registry.makeGauge(descriptor: Self.descriptor(name, help), labels: s.labels)
            g.set(s.value)
            labelledGauges[key] = g
        }
        for (key, g) in labelledGauges where key.hasPrefix(name + "\u{1}") && !keep.contains(key) {
            registry.unregisterGauge(g)
            labelledGauges[key] = nil
        }
    }

    /// The exposition text, after setting the gauges of the served models and the reload count.
    public func render(models: [ModelIdentity], loadedAt: Date, reloads total: Int) -> String {
        setFamily(
            "osusume_model_info", help: "The models being served (value 1), with their identity.",
            models.map { m in
                (
                    labels: [
                        ("name", m.name), ("kind", m.kind), ("source", m.source), ("items", String(m.items)),
                        ("fingerprint", m.fingerprint), ("created_at", m.createdAt),
                    ], value: 1
                )
            })
        set("osusume_models_loaded_timestamp_seconds", loadedAt.timeIntervalSince1970, help: "When the current models were swapped in.")
        set("osusume_uptime_seconds", Date().timeIntervalSince(startedAt), help: "Seconds since the server started.")
        setTotal("osusume_model_reloads_total", total, help: "Model reloads since start.")
        return registry.emitToString()
    }
}
