import Foundation
import ProtPolicy
import ProtSystem

/// `--since` / `--until`: ISO-8601 dates or times, or a duration before now such as `2h` or `7d`.
enum TimeArgument {
    static func parse(_ text: String, now: Int64 = currentTimeNanos()) -> Int64? {
        if let d = TimeSpec.duration(text) { return now - d * 1_000_000_000 }
        if let t = TimeSpec.date(text) { return t * 1_000_000_000 }
        return nil
    }
}
