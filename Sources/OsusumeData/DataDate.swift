/// Calendar arithmetic for timestamps in files (UTC, proleptic Gregorian), without Foundation's
/// date formatters, which are slow and locale-dependent.
public enum DataDate {
    /// Seconds since 1970-01-01 UTC of a civil date and time.
    public static func seconds(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) -> Int64 {
        Int64(daysFromCivil(year: year, month: month, day: day)) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// Days since 1970-01-01 (Howard Hinnant's algorithm).
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// (year, month, day) of a day count since 1970-01-01.
    public static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// "YYYY-MM-DD" of a timestamp in seconds.
    public static func isoDay(_ t: Int64) -> String {
        let days = Int((t >= 0 ? t : t - 86_399) / 86_400)
        let c = civil(fromDays: days)
        func pad(_ v: Int, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, w - s.count)) + s }
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))"
    }

    /// Parses ISO-8601 dates and times: `2020-05-01`, `2020-05-01T12:30`, `2020-05-01 12:30:15`,
    /// with optional fractional seconds (dropped) and `Z` or `±HH:MM` / `±HHMM` offset.
    /// Returns seconds since 1970 UTC, or nil when the text is not such a date.
    public static func parseISO8601<C: Collection>(_ text: C) -> Int64? where C.Element == UInt8 {
        let b = Array(text)
        var p = 0
        func number(_ width: Int) -> Int? {
            guard p + width <= b.count else { return nil }
            var v = 0
            for k in 0..<width {
                let d = Int(b[p + k]) - 48
                if d < 0 || d > 9 { return nil }
                v = v * 10 + d
            }
            p += width
            return v
        }
        func expect(_ c: Character) -> Bool {
            if p < b.count, b[p] == c.asciiValue! { p += 1; return true }
            return false
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year)
        else { return nil }
        var hour = 0, minute = 0, second = 0, offset = 0
        if p < b.count, b[p] == UInt8(ascii: "T") || b[p] == UInt8(ascii: " ") {
            p += 1
            guard let h = number(2), expect(":"), let m = number(2), h < 24, m < 60 else { return nil }
            hour = h; minute = m
            if expect(":") {
                guard let s = number(2), s <= 60 else { return nil }
                second = s
                if expect(".") || expect(",") {
                    let start = p
                    while p < b.count, b[p] >= 48, b[p] <= 57 { p += 1 }
                    if p == start { return nil }
                }
            }
            if expect("Z") {
            } else if p < b.count, b[p] == UInt8(ascii: "+") || b[p] == UInt8(ascii: "-") {
                let sign = b[p] == UInt8(ascii: "-") ? -1 : 1
                p += 1
                guard let oh = number(2) else { return nil }
                _ = expect(":")
                let om = number(2) ?? 0
                offset = sign * (oh * 3600 + om * 60)
            }
        }
        guard p == b.count else { return nil }
        return seconds(year: year, month: month, day: day, hour: hour, minute: minute, second: second) - Int64(offset)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Parses the ML-100k release date form `01-Jan-1995`.
    public static func parseDayMonthNameYear(_ s: String) -> Int64? {
        let parts = s.split(separator: "-")
        guard parts.count == 3, let d = Int(parts[0]), let y = Int(parts[2]) else { return nil }
        let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        guard let m = months.firstIndex(of: parts[1].lowercased()), d >= 1, d <= daysIn(month: m + 1, year: y) else { return nil }
        return seconds(year: y, month: m + 1, day: d)
    }
}
