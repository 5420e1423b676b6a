import CFuse3
import Foundation
import Glibc
import ProtLedger
import ProtPolicy

/// The process behind a FUSE request: identity for access decisions, names for the ledger.
struct Caller {
    let uid: UInt32
    let gid: UInt32
    let pid: Int32
    let groups: [UInt32]
    /// Read at the request, while the process exists (a handle's close may come after it has exited).
    let processName: String

    /// Supplementary groups come from /proc through libfuse; read only for requests that decide access.
    init(_ req: fuse_req_t?) {
        let ctx = fuse_req_ctx(req)!.pointee
        uid = ctx.uid; gid = ctx.gid; pid = ctx.pid
        var buf = [gid_t](repeating: 0, count: 64)
        var n = fuse_req_getgroups(req, 64, &buf)
        if n > 64 {
            buf = [gid_t](repeating: 0, count: Int(n))
            n = fuse_req_getgroups(req, n, &buf)
        }
        groups = n > 0 ? Array(buf.prefix(Int(n))) : []
        processName = FileManager.default.contents(atPath: "/proc/\(ctx.pid)/comm")
            .map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .newlines) } ?? "?"
    }

    var identity: Identity { Identity(uid: uid, gid: gid, groups: groups) }

    func event(_ kind: EventKind, _ outcome: Outcome, path: [UInt8]?, newPath: [UInt8]? = nil, label: String? = nil,
               previousLabel: String? = nil, detail: String? = nil) -> LedgerEvent {
        LedgerEvent(kind: kind, outcome: outcome, uid: Int64(uid), user: userName(uid: uid), gid: Int64(gid), pid: Int64(pid),
                    process: processName, path: path, newPath: newPath, label: label, previousLabel: previousLabel, detail: detail)
    }
}
