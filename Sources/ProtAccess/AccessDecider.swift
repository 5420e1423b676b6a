import Glibc
import ProtContainer
import ProtLedger
import ProtPolicy
import ProtSystem

/// The one place that decides which operation needs which right. Given a request it answers allow (the
/// rights held, the row to commit, whether to wait for it) or refuse (errno, the row); it touches no file,
/// no ledger and no transport, so every cell of the access matrix is a unit test (ProtAccessTests). The
/// mount's handlers decide, commit the row, do the system call and reply once.
public struct AccessDecider: Sendable {
    public let rules: AccessRules
    public let mode: LedgerMode

    public init(rules: AccessRules, mode: LedgerMode) { self.rules = rules; self.mode = mode }

    public func decide(_ r: AccessRequest, now: Int64 = currentTimeNanos()) -> AccessDecision {
        let held = rights(r.subject, r.caller, now)
        switch r.action {
        case .open(let flags):
            let (needed, _, write) = Action.needed(flags: flags)
            let kind: EventKind = write ? .openWrite : .openRead
            guard let (rights, label) = held else { return allow(.all, r.caller.event(kind, .allowed, path: r.path)) }
            guard rights.isSuperset(of: needed) else {
                let expired = r.subject.expiry.map { now >= $0 } ?? false
                let why = "\(kind.rawValue) needs \(needed); caller holds \(rights)"
                return refuse(
                    EACCES,
                    r.caller.event(
                        .deny, .denied, path: r.path, label: label,
                        detail: why + (expired ? "; content expired" : "")))
            }
            return allow(rights, r.caller.event(kind, .allowed, path: r.path, label: label))

        case .onHandle(let needed, let call):
            guard let (rights, label) = held else { return allow(.all, nil) }
            guard rights.isSuperset(of: needed) else {
                return refuse(
                    EACCES,
                    r.caller.event(
                        .deny, .denied, path: r.path, label: label,
                        detail: "\(call) on a handle opened before the label became \(label) needs \(needed); "
                            + "caller holds \(rights)"))
            }
            return allow(rights, nil)

        case .create:
            let (label, granted) = rules.folder(of: r.path, for: r.caller.identity)
            guard granted.contains(.edit) else { return deny(r, .create, label: label, .edit, granted) }
            return allow(
                granted,
                r.caller.event(
                    .create, .allowed, path: r.path, label: label,
                    detail: "labeled by folder"))

        case .mkdir:
            let label = rules.policy.folderLabel(for: String(decoding: r.path, as: UTF8.self)).label
            return allow([], r.caller.event(.mkdir, .allowed, path: r.path, label: label))
        case .symlink:
            return allow([], r.caller.event(.create, .allowed, path: r.path, detail: "symlink"))
        case .mknod(let mode):
            return allow(
                [],
                r.caller.event(
                    .create, .allowed, path: r.path,
                    detail: "special file, mode \(String(mode, radix: 8))"))
        case .rmdir:
            return allow([], r.caller.event(.rmdir, .allowed, path: r.path))

        case .unlink:
            if let refused = lacking(.edit, held, r, .unlink) { return refused }
            return allow(held?.rights ?? [], r.caller.event(.unlink, .allowed, path: r.path, label: held?.label))

        case .rename(let replaced, let crossesFolders, let exchange):
            return rename(r, held, replaced: replaced, crossesFolders: crossesFolders, exchange: exchange, now: now)

        case .link:
            if let refused = lacking(.edit, held, r, .create) { return refused }
            let to = r.newPath ?? r.path
            if let refused = folderRefusal(r.caller, .create, into: to, from: r.path) { return .failure(refused) }
            return allow(
                held?.rights ?? [],
                r.caller.event(
                    .create, .allowed, path: to,
                    detail: "hard link to \(String(decoding: r.path, as: UTF8.self))"))

        case .setattr(let change):
            let needed = change.needed
            guard let (rights, label) = held, !needed.isEmpty else { return allow(held?.rights ?? [], nil) }
            guard rights.isSuperset(of: needed) else { return deny(r, .setattr, label: label, needed, rights) }
            return allow(rights, r.caller.event(.setattr, .allowed, path: r.path, label: label, detail: change.detail))

        case .getxattr:
            if let refused = lacking(.view, held, r, .openRead) { return refused }
            return allow(held?.rights ?? [], nil)
        case .setxattr(let name), .removexattr(let name):
            if let refused = lacking(.edit, held, r, .setxattr) { return refused }
            let verb = if case .setxattr = r.action { "set" } else { "removed" }
            return allow(
                held?.rights ?? [],
                r.caller.event(
                    .setxattr, .allowed, path: r.path,
                    detail: "\(verb) \(name)"))

        case .relabel(let to, let justification):
            return relabel(r, held, to: to, justification: justification)

        case .share(let asked):
            let rights = (held?.rights ?? []).effective
            guard rights.contains(.share) else { return deny(r, .share, label: held?.label, .share, rights) }
            guard asked.isSubset(of: rights) else {
                return refuse(
                    EACCES,
                    r.caller.event(
                        .deny, .denied, path: r.path, label: held?.label,
                        detail: "share of \(asked) exceeds the caller's rights (\(rights))"))
            }
            return allow(rights, nil)

        case .revoke(let sharerUid, _):
            let rights = (held?.rights ?? []).effective
            guard r.caller.uid == sharerUid || rights.contains(.owner) else {
                return deny(r, .revoke, label: held?.label, .owner, rights)
            }
            return allow(rights, nil)
        }
    }

    // MARK: the two operations with more than one check

    private func rename(
        _ r: AccessRequest, _ held: (rights: Rights, label: String)?, replaced: HeaderFields?,
        crossesFolders: Bool, exchange: Bool, now: Int64
    ) -> AccessDecision {
        let to = r.newPath ?? r.path
        // Moving a file needs edit on it; replacing (or exchanging with) an existing file needs edit on it too.
        if let (rights, label) = held, !rights.contains(.edit) {
            return deny(r, .rename, label: label, .edit, rights, newPath: to)
        }
        // Moving into another folder is creating there: edit on that folder's label, as for a new file. An
        // exchange moves the other entry the other way, so it meets the first folder's rule too.
        if crossesFolders {
            if let refused = folderRefusal(r.caller, .rename, into: to, from: r.path) { return .failure(refused) }
            if exchange, let refused = folderRefusal(r.caller, .rename, into: r.path, from: to) {
                return .failure(refused)
            }
        }
        if let replaced {
            let rights = rules.rights(of: r.caller.identity, header: replaced, now: now)
            if !rights.contains(.edit) {
                return .failure(denial(r.caller, .rename, path: to, label: replaced.labelId, .edit, rights))
            }
        }
        return allow(
            held?.rights ?? [],
            r.caller.event(
                .rename, .allowed, path: r.path, newPath: to,
                label: held?.label))
    }

    private func relabel(
        _ r: AccessRequest, _ held: (rights: Rights, label: String)?, to: String,
        justification: String?
    ) -> AccessDecision {
        guard rules.policy.label(to) != nil, rules.policy.isApplicable(to) else {
            return refuse(
                EINVAL,
                r.caller.event(
                    .relabel, .error, path: r.path, label: to,
                    detail: "unknown or heading label"))
        }
        guard let (rights, current) = held else {
            return refuse(
                ENOTSUP,
                r.caller.event(
                    .relabel, .error,
                    path: r.path, label: to, detail: "only files carry labels"))
        }
        guard rights.contains(.owner) else { return deny(r, .relabel, label: current, .owner, rights) }
        if rules.policy.needsJustification(from: current, to: to) && (justification ?? "").isEmpty {
            return refuse(
                EPERM,
                r.caller.event(
                    .deny, .denied, path: r.path, label: current,
                    detail: "relabel to \(to) is a downgrade that needs a justification (value LABEL|justification)"))
        }
        if current == to { return allow(rights, nil) }
        let detail = justification.map { "manual; justification: \($0)" } ?? "manual"
        return allow(
            rights,
            r.caller.event(
                .relabel, .allowed, path: r.path, label: to, previousLabel: current,
                detail: detail))
    }

    // MARK: pieces

    /// The caller's rights on the subject and its label; nil when it has no header (mode bits decide).
    private func rights(_ s: Subject, _ caller: Caller, _ now: Int64) -> (rights: Rights, label: String)? {
        switch s {
        case .file(let f): return (rules.rights(of: caller.identity, header: f, now: now), f.labelId)
        case .judged(let rights, let label): return (rights, label)
        case .unopened(let label, let owner):
            return (rules.policy.rights(of: caller.identity, label: label, fileOwner: owner), label)
        case .plain: return nil
        }
    }

    /// The refusal when the caller may not bring an entry into the folder of `into`: `edit` on that folder's
    /// label, judged without the `owner` grant, as for a new file. Nil when allowed.
    private func folderRefusal(_ caller: Caller, _ kind: EventKind, into: [UInt8], from: [UInt8]) -> Refused? {
        let (label, granted) = rules.folder(of: into, for: caller.identity)
        guard !granted.contains(.edit) else { return nil }
        return denial(caller, kind, path: from, label: label, .edit, granted, newPath: into)
    }

    /// The refusal when the subject has a header and the caller lacks `right` on it; nil otherwise.
    private func lacking(
        _ right: Rights, _ held: (rights: Rights, label: String)?, _ r: AccessRequest,
        _ kind: EventKind
    ) -> AccessDecision? {
        guard let (rights, label) = held, !rights.contains(right) else { return nil }
        return deny(r, kind, label: label, right, rights)
    }

    private func deny(
        _ r: AccessRequest, _ kind: EventKind, label: String?, _ needed: Rights, _ had: Rights,
        newPath: [UInt8]? = nil
    ) -> AccessDecision {
        .failure(denial(r.caller, kind, path: r.path, label: label, needed, had, newPath: newPath))
    }

    private func denial(
        _ caller: Caller, _ kind: EventKind, path: [UInt8], label: String?, _ needed: Rights,
        _ had: Rights, newPath: [UInt8]? = nil
    ) -> Refused {
        Refused(
            errno: EACCES,
            row: caller.event(
                .deny, .denied, path: path, newPath: newPath, label: label,
                detail: "\(kind.rawValue) needs \(needed); caller holds \(had)"))
    }

    private func refuse(_ errno: Int32, _ row: LedgerEvent) -> AccessDecision {
        .failure(Refused(errno: errno, row: row))
    }

    private func allow(_ rights: Rights, _ row: LedgerEvent?) -> AccessDecision {
        .success(Allowed(rights: rights, row: row, waits: row.map(mode.waits) ?? false))
    }
}

extension Subject {
    var expiry: Int64? { if case .file(let f) = self { f.expiry } else { nil } }
}
