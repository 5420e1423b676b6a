import Foundation
import ProtCrypto
import ProtSystem

/// Remembers the nonces of accepted requests for the request window, so each request is answered once.
final class ReplayGuard: @unchecked Sendable {
    private let lock = PthreadMutex()
    private var seen: [String: Int64] = [:]
    private var lastPrune: Int64 = 0
    let window: Int64

    init(windowSeconds: Int64) { window = windowSeconds }

    /// True the first time a nonce is offered within the window.
    func admit(_ nonce: String, now: Int64) -> Bool {
        lock.locked {
            if now - lastPrune > window {
                seen = seen.filter { now - $0.value <= 2 * window }
                lastPrune = now
            }
            if seen[nonce] != nil { return false }
            seen[nonce] = now
            return true
        }
    }
}

/// A token bucket per identity: `rate` requests a second on average, bursts of `burst`.
final class RateLimiter: @unchecked Sendable {
    private let lock = PthreadMutex()
    private var buckets: [String: (tokens: Double, at: Double)] = [:]
    let rate: Double, burst: Double

    init(perSecond rate: Double, burst: Double) { self.rate = rate; self.burst = burst }

    func allow(_ who: String, now: Double) -> Bool {
        guard rate > 0 else { return true }
        return lock.locked {
            if buckets.count > 100_000 { buckets = buckets.filter { now - $0.value.at < 60 } }
            var b = buckets[who] ?? (burst, now)
            b.tokens = min(burst, b.tokens + (now - b.at) * rate)
            b.at = now
            let ok = b.tokens >= 1
            if ok { b.tokens -= 1 }
            buckets[who] = b
            return ok
        }
    }
}
