import Glibc

/// A plain mutex usable from any thread (FUSE workers included), without Foundation, for the one lock
/// that guards no Swift value (the ledger's commit turn: a SQLite connection's transactions) and must be
/// tried (`tryLock`). Unchecked: it is a lock.
public final class PthreadMutex: @unchecked Sendable {
    private let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    public init() { pthread_mutex_init(m, nil) }
    deinit { pthread_mutex_destroy(m); m.deallocate() }

    public func lock() { pthread_mutex_lock(m) }
    public func unlock() { pthread_mutex_unlock(m) }
    /// Takes the lock if it is free; false (without waiting) if another thread holds it.
    public func tryLock() -> Bool { pthread_mutex_trylock(m) == 0 }

    @inline(__always)
    public func locked<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(m)
        defer { pthread_mutex_unlock(m) }
        return try body()
    }
}
