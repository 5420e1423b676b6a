import Foundation
import ProtSystem
import Synchronization

/// Remembers the nonces of accepted requests for the request window, so each request is answered once.
final class ReplayGuard: Sendable {
    private let seen = Mutex<(nonces: [String: Int64], lastPrune: Int64)>(([:], 0))
    let window: Int64

    init(windowSeconds: Int64) { window = windowSeconds }

    /// True the first time a nonce is offered within the window.
    func admit(_ nonce: String, now: Int64) -> Bool {
        seen.withLock { [window] s in
            if now - s.lastPrune > window {
                s.nonces = s.nonces.filter { now - $0.value <= 2 * window }
                s.lastPrune = now
            }
            if s.nonces[nonce] != nil { return false }
            s.nonces[nonce] = now
            return true
        }
    }
}

/// A token bucket per identity: `rate` requests a second on average, bursts of `burst`.
final class RateLimiter: Sendable {
    private let buckets = Mutex<[String: (tokens: Double, at: Double)]>([:])
    let rate: Double, burst: Double

    init(perSecond rate: Double, burst: Double) { self.rate = rate; self.burst = burst }

    func allow(_ who: String, now: Double) -> Bool {
        guard rate > 0 else { return true }
        return buckets.withLock { [rate, burst] buckets in
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
