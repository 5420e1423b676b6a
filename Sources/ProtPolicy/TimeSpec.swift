import Foundation

/// Durations (`90d`, `12h`, `2w`, `1y`) and dates (`2027-01-31`, `2027-01-31T12:00:00Z`) as policies write them.
public enum TimeSpec {
    public static func duration(_ text: String) -> Int64? {
        guard let unit = text.last, let n = Int64(text.dropLast()), n > 0 else { return nil }
        let seconds: Int64
        switch unit {
        case "s": seconds = 1
        case "m": seconds = 60
        case "h": seconds = 3600
        case "d": seconds = 86_400
        case "w": seconds = 7 * 86_400
        case "y": seconds = 365 * 86_400
        default: return nil
        }
        let (v, overflow) = n.multipliedReportingOverflow(by: seconds)
        return overflow ? nil : v
    }

    /// Seconds since the epoch, UTC.
    public static func date(_ text: String) -> Int64? {
        let full = ISO8601DateFormatter()
        if let d = full.date(from: text) { return Int64(d.timeIntervalSince1970) }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        if text.count == 10, let d = day.date(from: text) { return Int64(d.timeIntervalSince1970) }
        return nil
    }
}

/// When labeled content stops being readable by anyone but its owners.
public enum ContentExpiry: Sendable, Equatable {
    case afterLabeling(seconds: Int64)
    case on(epochSeconds: Int64)

    /// The expiry instant in nanoseconds for content labeled at `labeledAt` (nanoseconds).
    public func deadline(labeledAt: Int64) -> Int64 {
        switch self {
        case .afterLabeling(let s): return labeledAt &+ s &* 1_000_000_000
        case .on(let t): return t &* 1_000_000_000
        }
    }
}
