import Glibc

/// A POSIX error number: the one type errno travels in (swift-system's `Errno` is the model). A system call
/// that fails gives one (`Errno.current`, `valueOrErrno`); a FUSE reply takes its `rawValue`.
public struct Errno: Error, RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's errno, read now: take it before any other call can overwrite it.
    public static var current: Errno { Errno(errno) }

    public var description: String { String(cString: strerror(rawValue)) }

    public static let io = Errno(EIO)
    public static let accessDenied = Errno(EACCES)
    public static let notPermitted = Errno(EPERM)
    public static let nameTooLong = Errno(ENAMETOOLONG)
    public static let fileTooLarge = Errno(EFBIG)
    public static let exists = Errno(EEXIST)
}

/// Runs a system call that answers -1 and sets errno on failure, again while it is interrupted by a signal
/// (EINTR), and returns its result or the error. The one EINTR loop of the code base.
public func valueOrErrno<I: FixedWidthInteger>(retryOnInterrupt: Bool = true, _ call: () -> I) -> Result<I, Errno> {
    while true {
        let r = call()
        if r != -1 { return .success(r) }
        let e = Errno.current
        if retryOnInterrupt && e.rawValue == EINTR { continue }
        return .failure(e)
    }
}

/// `valueOrErrno` for callers that test the raw result: the call's own answer, retried while EINTR, with
/// errno left as the call set it.
public func retryingInterrupts<I: FixedWidthInteger>(_ call: () -> I) -> I {
    while true {
        let r = call()
        if r == -1 && errno == EINTR { continue }
        return r
    }
}

/// Writes all of `bytes` to `fd`: short writes continue, EINTR is retried; a write of nothing is EIO.
public func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Result<Void, Errno> {
    var done = 0
    while done < bytes.count {
        switch valueOrErrno({ Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done) }) {
        case .success(0): return .failure(.io)
        case .success(let n): done += n
        case .failure(let e): return .failure(e)
        }
    }
    return .success(())
}
