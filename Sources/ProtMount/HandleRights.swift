import CFuse3
import Dispatch
import ProtAccess
import ProtPolicy
import ProtSystem
import Synchronization

extension Filesystem {
    /// Whether the holder of `h` still holds `right`. Rights are bound at open, but a header rewritten since
    /// (a raise by a card number or a move, a manual relabel) is judged again here: a reader who held a file
    /// open across its raise kept reading the new content before. The first refusal per handle is logged.
    func stillHolds(_ h: Handle, _ right: Rights, op: String) -> Bool {
        let subject = Subject.judged(currentRights(h), label: h.file.container.fields.labelId)
        guard case .failure(let refused) = decide(h.caller, .onHandle(right, call: op), on: subject, path: h.path)
        else { return true }
        if h.firstLoss(of: right) { _ = record(refused.row) }
        return false
    }

    /// The rights of the holder of `h` under the file's current header, the revocations so far and the clock:
    /// judged again after a header change, a revocation (`rightsEpoch`) or an expiry of the label or a grant.
    func currentRights(_ h: Handle) -> Rights {
        let c = h.file.container
        let epoch = rightsEpoch.load(ordering: .acquiring), now = currentTimeNanos()
        if let rights = h.rights(judgedOn: c.headerGeneration, epoch: epoch, now: now) { return rights }
        let (fields, generation) = c.headerSnapshot
        let rights = store.rights(of: h.caller.identity, header: fields, now: now)
        let deadlines = ([fields.expiry] + fields.grants.map(\.expiry)).compactMap { $0 }.filter { $0 > now }
        h.rejudged(rights, on: generation, epoch: epoch, until: deadlines.min())
        return rights
    }

    /// After a header change that can take rights away: the kernel drops its cached pages of the file, so
    /// reads of handles opened before reach this daemon and are judged again. Sent from a thread of its own
    /// (a notification from a request thread may wait on a lock that request's caller holds), waited for up
    /// to a second so the close or rename that raised the file returns with the cache already dropped.
    func dropCachedContent(_ ino: UInt64) {
        guard let session else { return }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let se = session
        notifications.async {
            _ = fuse_lowlevel_notify_inval_inode(se, ino, 0, 0)
            done.signal()
        }
        _ = done.wait(timeout: .now() + .seconds(1))
    }
}
