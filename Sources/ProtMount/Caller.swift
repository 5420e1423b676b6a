import CFuse3
import Foundation
import Glibc
import ProtAccess
import ProtPolicy

/// The process behind a FUSE request: identity for access decisions, names for the ledger.
extension Caller {
    init(_ req: fuse_req_t?) {
        let ctx = fuse_req_ctx(req)!.pointee
        // Supplementary groups cost a read of /proc/PID/status: done only when a group grant could change
        // a decision. A process that is gone by then has none, which can only take rights away.
        let pid = ctx.pid
        let name = Self.readProc(pid, "comm").map { String(decoding: $0.prefix { $0 != 0x0A }, as: UTF8.self) }
        self.init(
            uid: ctx.uid, gid: ctx.gid, pid: pid,
            identity: Identity(uid: ctx.uid, gid: ctx.gid) { Self.supplementaryGroups(pid) },
            processName: name ?? "?")
    }

    static func supplementaryGroups(_ pid: Int32) -> [UInt32] {
        guard let status = readProc(pid, "status", limit: 16384) else { return [] }
        let key = Array("\nGroups:".utf8)
        guard let start = status.firstRange(of: key)?.upperBound else { return [] }
        let line = status[start...].prefix { $0 != 0x0A }
        return line.split(separator: 0x20).compactMap {
            UInt32(String(decoding: $0.filter { $0 != 0x09 }, as: UTF8.self))
        }
    }

    /// One small /proc file, read with three system calls.
    static func readProc(_ pid: Int32, _ name: String, limit: Int = 256) -> [UInt8]? {
        let fd = open("/proc/\(pid)/\(name)", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: limit)
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, limit) }
        return n > 0 ? Array(buf.prefix(n)) : nil
    }
}
