import Foundation
import OsusumeModels

/// A self-contained HTML page (inline SVG, no scripts, no external files) comparing evaluated
/// models: the protocol, a metric table, bar charts per metric, results by user activity, and
/// training curves for models trained in epochs.
public struct HTMLReport {
    public struct Entry {
        public var name: String
        public var report: EvaluationReport
        public var fitSeconds: Double
        public var curve: TrainingCurve?
        public init(name: String, report: EvaluationReport, fitSeconds: Double, curve: TrainingCurve? = nil) {
            self.name = name; self.report = report; self.fitSeconds = fitSeconds; self.curve = curve
        }
    }

    public var title: String
    /// Lines describing the data, filters and split, shown above the results.
    public var context: [String]
    public var entries: [Entry]
    /// Further tables after the metrics (e.g. `tune`'s trials), each with optional line curves:
    /// row i's first cell is marked with the colour of curve i.
    public var sections: [Section] = []

    public struct Section {
        public var title: String
        public var header: [String]
        public var rows: [[String]]
        public var curveCaption: String
        public var curves: [[(Double, Double)]]
        public init(title: String, header: [String], rows: [[String]], curveCaption: String = "", curves: [[(Double, Double)]] = []) {
            self.title = title; self.header = header; self.rows = rows; self.curveCaption = curveCaption; self.curves = curves
        }
    }

    public init(title: String, context: [String], entries: [Entry], sections: [Section] = []) {
        self.title = title; self.context = context; self.entries = entries; self.sections = sections
    }

    static let palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"]

    public func render() -> String {
        guard let first = entries.first else { return "<!doctype html><p>No results.</p>" }
        let ks = first.report.ks
        var html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(esc(title))</title>
            <style>
            body{font:15px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1000px;color:#222;padding:0 1rem}
            h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
            .proto{background:#f6f8fa;border-left:4px solid #4e79a7;padding:.6rem 1rem;margin:1rem 0}
            .sampled{border-left-color:#e15759;background:#fdf0f0}
            table{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:.5rem 0;font-size:.85rem} .wrap{overflow-x:auto}
            th,td{padding:.3rem .45rem;text-align:right;border-bottom:1px solid #eee} th:first-child,td:first-child{text-align:left}
            td.best{font-weight:700} .charts{display:flex;flex-wrap:wrap;gap:1rem} figure{margin:0}
            figcaption{font-size:.85rem;color:#555;text-align:center} .legend span{display:inline-block;margin-right:1rem}
            .legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-1px}
            </style></head><body>
            <h1>\(esc(title))</h1>
            """
        // Sampled negatives or a sample of the users: marked as sampled.
        let sampled = first.report.evaluationProtocol != "full" || first.report.sampledFrom != nil
        html += "<div class=\"proto\(sampled ? " sampled" : "")\"><b>Protocol:</b> \(esc(first.report.protocolExplanation)); \(first.report.cases) test users.<br>"
        html += context.map(esc).joined(separator: "<br>") + "</div>"
        html += "<div class=\"legend\">" + entries.enumerated().map { "<span><i style=\"background:\(Self.palette[$0.offset % 8])\"></i>\(esc($0.element.name))</span>" }.joined() + "</div>"

        // Table: bold the best value of each column.
        let cols = ReportedMetrics.columns(ks: ks)
        html += "<h2>Metrics</h2><div class=\"wrap\"><table><tr><th>model</th>" + cols.map { "<th>\($0)</th>" }.joined() + "<th>fit</th><th>evaluate</th></tr>"
        for e in entries {
            html += "<tr><td>\(esc(e.name))</td>"
            for c in cols {
                let v = e.report.metrics[c] ?? .nan
                let best = c.hasPrefix(ListMetric.popularShare.rawValue) ? false : entries.allSatisfy { ($0.report.metrics[c] ?? .nan) <= v }
                html += "<td\(best && entries.count > 1 ? " class=\"best\"" : "")>\(String(format: "%.4f", v))</td>"
            }
            html += String(format: "<td>%.2fs</td><td>%.2fs</td></tr>", e.fitSeconds, e.report.seconds)
        }
        html += "</table></div>"

        html += "<h2>Accuracy at each cut-off</h2><div class=\"charts\">"
        for metric in ["NDCG", "HR", "MRR"] {
            html += barChart(caption: metric, groups: ks.map { "@\($0)" }) { e, gi in e.report.metrics["\(metric)@\(ks[gi])"] ?? 0 }
        }
        html += "</div>"

        let groups = first.report.groups.map(\.group)
        if !groups.isEmpty, let k = ks.first {
            html += "<h2>By user activity (history length)</h2><div class=\"charts\">"
            html += barChart(
                caption: "NDCG@\(k) by history length (users per group: " + first.report.groups.map { "\($0.group): \($0.users)" }.joined(separator: ", ") + ")",
                groups: groups, width: 900
            ) { e, gi in
                e.report.groups.first { $0.group == groups[gi] }?.metrics["NDCG@\(k)"] ?? 0
            }
            html += "</div>"
        }

        let curves = entries.enumerated().filter { $0.element.curve != nil && !($0.element.curve!.epochs.isEmpty) }
        if !curves.isEmpty {
            html += "<h2>Training curves</h2><div class=\"charts\">"
            html += lineChart(caption: "training loss by epoch", series: curves.map { ($0.offset, $0.element.curve!.epochs.map { (Double($0.epoch), $0.loss) }) })
            html += lineChart(caption: "validation NDCG@10 by epoch", series: curves.map { ($0.offset, $0.element.curve!.epochs.compactMap { r in r.validationNDCG10.map { (Double(r.epoch), $0) } }) })
            html += "</div>"
        }
        for section in sections {
            html += "<h2>\(esc(section.title))</h2><div class=\"wrap\"><table><tr>" + section.header.map { "<th>\(esc($0))</th>" }.joined() + "</tr>"
            for (i, row) in section.rows.enumerated() {
                let swatch =
                    i < section.curves.count && !section.curves[i].isEmpty ? "<i style=\"display:inline-block;width:.7rem;height:.7rem;margin-right:.3rem;background:\(Self.palette[i % 8])\"></i>" : ""
                html += "<tr>" + row.enumerated().map { "<td>\($0.offset == 0 ? swatch : "")\(esc($0.element))</td>" }.joined() + "</tr>"
            }
            html += "</table></div>"
            let series = section.curves.enumerated().filter { !$0.element.isEmpty }.map { ($0.offset, $0.element) }
            if !series.isEmpty { html += "<div class=\"charts\">" + lineChart(caption: section.curveCaption, series: series) + "</div>" }
        }
        html += "<p style=\"color:#777;font-size:.8rem;margin-top:2rem\">Generated by Osusume.</p></body></html>"
        return html
    }

    private func barChart(caption: String, groups: [String], width: Double = 440, value: (Entry, Int) -> Double) -> String {
        let height = 220.0, left = 48.0, bottom = 28.0, top = 10.0
        let maxV = max(1e-9, entries.flatMap { e in groups.indices.map { value(e, $0) } }.max() ?? 1) * 1.1
        let plotW = width - left - 10, plotH = height - top - bottom
        let groupW = plotW / Double(max(1, groups.count))
        let barW = max(2, (groupW * 0.8) / Double(entries.count))
        var svg = "<figure><svg width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\">"
        for t in 0...4 {
            let v = maxV * Double(t) / 4, y = top + plotH - plotH * Double(t) / 4
            svg +=
                "<line x1=\"\(left)\" x2=\"\(width - 10)\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#eee\"/><text x=\"\(left - 4)\" y=\"\(y + 4)\" font-size=\"10\" text-anchor=\"end\" fill=\"#666\">\(String(format: "%.3f", v))</text>"
        }
        for (gi, g) in groups.enumerated() {
            let gx = left + Double(gi) * groupW + groupW * 0.1
            for (ei, e) in entries.enumerated() {
                let v = value(e, gi), h = plotH * v / maxV
                svg +=
                    "<rect x=\"\(gx + Double(ei) * barW)\" y=\"\(top + plotH - h)\" width=\"\(barW - 1)\" height=\"\(h)\" fill=\"\(Self.palette[ei % 8])\"><title>\(esc(e.name)) \(esc(g)): \(String(format: "%.4f", v))</title></rect>"
            }
            svg += "<text x=\"\(left + Double(gi) * groupW + groupW / 2)\" y=\"\(height - 10)\" font-size=\"11\" text-anchor=\"middle\">\(esc(g))</text>"
        }
        return svg + "</svg><figcaption>\(esc(caption))</figcaption></figure>"
    }

    private func lineChart(caption: String, series: [(Int, [(Double, Double)])]) -> String {
        let width = 440.0, height = 220.0, left = 48.0, bottom = 28.0, top = 10.0
        let pts = series.flatMap { $0.1 }
        guard !pts.isEmpty else { return "" }
        let xMin = pts.map(\.0).min()!, xMax = max(xMin + 1, pts.map(\.0).max()!)
        let yMin = min(0, pts.map(\.1).min()!), yMax = max(yMin + 1e-9, pts.map(\.1).max()! * 1.05)
        let plotW = width - left - 10, plotH = height - top - bottom
        func sx(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotW }
        func sy(_ y: Double) -> Double { top + plotH - (y - yMin) / (yMax - yMin) * plotH }
        var svg = "<figure><svg width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\">"
        for t in 0...4 {
            let v = yMin + (yMax - yMin) * Double(t) / 4
            svg +=
                "<line x1=\"\(left)\" x2=\"\(width - 10)\" y1=\"\(sy(v))\" y2=\"\(sy(v))\" stroke=\"#eee\"/><text x=\"\(left - 4)\" y=\"\(sy(v) + 4)\" font-size=\"10\" text-anchor=\"end\" fill=\"#666\">\(String(format: "%.3f", v))</text>"
        }
        svg +=
            "<text x=\"\(left)\" y=\"\(height - 8)\" font-size=\"10\" fill=\"#666\">epoch \(Int(xMin))</text><text x=\"\(width - 10)\" y=\"\(height - 8)\" font-size=\"10\" fill=\"#666\" text-anchor=\"end\">\(Int(xMax))</text>"
        for (ei, s) in series where !s.isEmpty {
            let path = s.map { String(format: "%.1f,%.1f", sx($0.0), sy($0.1)) }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(Self.palette[ei % 8])\" stroke-width=\"2\" points=\"\(path)\"/>"
        }
        return svg + "</svg><figcaption>\(esc(caption))</figcaption></figure>"
    }

    private func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
