import Foundation
import Glibc
import ProtAccess
import ProtContainer
import ProtCrypto
import ProtLedger
import ProtPolicy
import ProtShare
import ProtStore
import ProtSystem

/// `protfs share` and `protfs revoke` through the mount. The CLI asks with a getxattr whose name carries a
/// descriptor of its own holding the request (`user.protfs.share.FD`); the answer is the attribute's value,
/// a JSON result with a readable error. The decision uses the caller's identity as the kernel reports it.
extension Filesystem {
    static let sharePrefix = ShareRequest.xattr + "."
    static let revokePrefix = RevokeRequest.xattr + "."

    /// Handles a control attribute, or returns nil when `name` is not one.
    func controlXattr(_ node: Inode, _ name: String, _ caller: Caller) -> [UInt8]? {
        let result: ControlAnswer
        if name == RecipientListing.xattr && node === inodes.root {
            let lines = store.recipients().compactMap { $0.problem == nil ? $0.identity?.line : nil }
            return Array(lines.joined(separator: "\n").utf8)
        } else if name.hasPrefix(Self.sharePrefix), let fd = Int32(name.dropFirst(Self.sharePrefix.count)) {
            result = share(node, requestFd: fd, caller: caller)
        } else if name.hasPrefix(Self.revokePrefix), let fd = Int32(name.dropFirst(Self.revokePrefix.count)) {
            result = revoke(node, requestFd: fd, caller: caller)
        } else {
            return nil
        }
        return Array((try? JSONEncoder().encode(result)) ?? Data())
    }

    private func share(_ node: Inode, requestFd: Int32, caller: Caller) -> ControlAnswer {
        guard node.isRegular else { return .failure("only files can be shared") }
        let bytes: [UInt8]
        switch CallerFiles.read(pid: caller.pid, uid: caller.uid, fd: requestFd, limit: ShareRequest.maxBytes) {
        case .success(let b): bytes = b
        case .failure(let why): return .failure("unreadable share request: \(why)")
        }
        guard let req = try? JSONDecoder().decode(ShareRequest.self, from: Data(bytes)) else {
            return .failure("unreadable share request")
        }
        let path = sharePath(node)
        do {
            return try withOpenFile(node) { file -> ControlAnswer in
                let c = file.container
                let before = c.fields
                let asked = Rights(rawValue: req.rights)
                let rights = store.rights(of: caller.identity, header: before).effective
                let decision = decide(caller, .share(asked: asked), on: .file(before), path: path)
                guard case .success = decision else {
                    _ = commit(decision)
                    guard rights.contains(.share) else {
                        return .failure(
                            "you do not hold the share right on \(Self.text(path)) (you hold \(rights)); "
                                + "the refusal is logged")
                    }
                    return .failure("you cannot give rights you do not hold: asked \(asked), you hold \(rights)")
                }
                var output: Int32? = nil
                if let ofd = req.outputFd {
                    switch CallerFiles.take(pid: caller.pid, uid: caller.uid, fd: ofd, .write) {
                    case .success(let o): output = o
                    case .failure(let why): return .failure("the output file is refused: \(why)")
                    }
                }
                defer { if let output { close(output) } }
                let sharer = userName(uid: caller.uid) ?? "uid:\(caller.uid)"
                let plan = try Sharing(store: store).plan(
                    req, container: c, path: Self.text(path), sharerUid: caller.uid,
                    sharer: sharer, now: currentTimeNanos())
                if !rights.contains(.owner),
                    let why = headerRoomRefusal(plan.fields, shareId: req.shareId, caller: caller)
                {
                    _ = record(caller.event(.deny, .denied, path: path, label: before.labelId, detail: "share: \(why)"))
                    return .failure(why)
                }
                // The row first: a share gives others access, so none is made that the ledger cannot record (a
                // failure after it adds an error row below).
                let row = caller.event(
                    .share, .allowed, path: path, label: before.labelId, detail: Sharing.ledgerDetail(plan.record))
                guard record(row) else { return .failure("the ledger cannot record this share; nothing was shared") }
                let kek = try store.labelKey(before.labelId, version: before.labelKeyVersion)
                try c.rewriteHeader(plan.fields, kek: kek)
                do {
                    try ShareBook(store: store).save(plan.record)
                    if let output { try PortableCopy.write(c, envelope: plan.envelope, to: output) }
                } catch {
                    try? c.rewriteHeader(before, kek: kek)
                    Glibc.unlink(ShareBook.directory(store.root) + "/\(plan.record.id).share")
                    throw error
                }
                return ControlAnswer(ok: true, shareId: plan.record.id, tracked: plan.record.tracked)
            }
        } catch ContainerError.headerFull {
            _ = record(caller.event(.share, .error, path: path, detail: "not done: the header has no room"))
            return .failure("the header of \(Self.text(path)) has no room for more grants; revoke old shares first")
        } catch let e as ShareError {
            _ = record(caller.event(.share, .error, path: path, detail: "\(e)"))
            return .failure("\(e)")
        } catch {
            _ = record(caller.event(.share, .error, path: path, detail: "\(error)"))
            return .failure("\(error)")
        }
    }

    /// Someone other than the owner may keep at most this many live grants in one file's header...
    static let grantsPerSharer = 16
    /// ...and never take its last 1.5 KiB: room for a full hole list (1,026 bytes), a relabel to the longest
    /// label id, and the owner's own shares. 1 KiB did not hold a full hole list (attack review).
    static let ownerReserve = 1536

    /// Room in a header belongs to the file's owner first: 88 shares by another user holding `share` filled
    /// one before, and its owner could share it no more. Nil when the planned header is within both limits.
    func headerRoomRefusal(_ planned: HeaderFields, shareId: String, caller: Caller) -> String? {
        let book = ShareBook(store: store)
        let mine = planned.grants.filter { g in
            let id = Hex.encode(g.shareId)
            return id == shareId || (try? book.load(id))?.map { $0.sharerUid == caller.uid } == true
        }.count
        if mine > Self.grantsPerSharer {
            return "you would hold \(mine) grants in this file's header; someone other than its owner may hold "
                + "\(Self.grantsPerSharer): revoke some of your shares of it first"
        }
        if Container.headerRoom(planned) < Self.ownerReserve {
            return "the rest of this file's header is kept for its owner; ask the owner to share it, "
                + "or to revoke old shares"
        }
        return nil
    }

    private func revoke(_ node: Inode, requestFd: Int32, caller: Caller) -> ControlAnswer {
        let bytes: [UInt8]
        switch CallerFiles.read(pid: caller.pid, uid: caller.uid, fd: requestFd, limit: 4096) {
        case .success(let b): bytes = b
        case .failure(let why): return .failure("unreadable revoke request: \(why)")
        }
        guard let req = try? JSONDecoder().decode(RevokeRequest.self, from: Data(bytes)) else {
            return .failure("unreadable revoke request")
        }
        let book = ShareBook(store: store)
        let path = sharePath(node)
        do {
            if node === inodes.root {
                guard let id = req.shareId, let r = try book.load(id) else {
                    return .failure("no share \(req.shareId ?? "(none given)")")
                }
                return try revoke(
                    [r], req.recipient, caller: caller, path: Array(r.path.utf8), file: nil,
                    ino: knownInode(atSharePath: r.path))
            }
            guard node.isRegular else { return .failure("only files carry shares") }
            return try withOpenFile(node) { file in
                let ids = Set(file.container.fields.grants.map { Hex.encode($0.shareId) })
                let wanted = req.shareId.map { ids.contains($0) ? [$0] : [] } ?? Array(ids)
                let records = try wanted.compactMap { try book.load($0) }
                guard !records.isEmpty else { return .failure("\(Self.text(path)) has no share \(req.shareId ?? "")") }
                return try revoke(records, req.recipient, caller: caller, path: path, file: file, ino: node.ino)
            }
        } catch {
            _ = record(caller.event(.revoke, .error, path: path, detail: "\(error)"))
            return .failure("\(error)")
        }
    }

    /// Marks the shares revoked (the key service refuses from now on), makes their grants count for nothing
    /// here, and takes them out of the file's header when the file is at hand.
    private func revoke(
        _ records: [ShareRecord], _ recipient: String?, caller: Caller, path: [UInt8], file: OpenFile?,
        ino: UInt64? = nil
    ) throws -> ControlAnswer {
        let book = ShareBook(store: store)
        var done: [String] = []
        for var r in records {
            let subject: Subject =
                file.map { .file($0.container.fields) }
                ?? .unopened(label: r.label, owner: r.sharerUid)
            let decision = decide(caller, .revoke(sharerUid: r.sharerUid, shareId: r.id), on: subject, path: path)
            guard case .success = decision else {
                _ = commit(decision)
                return .failure("only the sharer or a holder of owner may revoke share \(r.id); the refusal is logged")
            }
            let who = try book.revoke(&r, recipient: recipient, now: currentTimeNanos())
            let idBytes = Hex.decode(r.id) ?? []
            if let who {
                for g in who.grantees { store.revoke(shareId: idBytes, grantee: g) }
            } else {
                store.revoke(shareId: idBytes, grantee: nil)
            }
            rightsEpoch.add(1, ordering: .releasing)
            if let c = file?.container {
                let f = c.fields
                try c.rewriteHeader(
                    Sharing.removingGrants(f, shareId: idBytes, recipient: who),
                    kek: try store.labelKey(f.labelId, version: f.labelKeyVersion))
            }
            if let ino { dropCachedContent(ino) }
            _ = record(
                caller.event(
                    .revoke, .allowed, path: path, label: r.label,
                    detail: "share=\(r.id) recipient=\(who?.name ?? "*")"))
            done.append(r.id)
        }
        return ControlAnswer(ok: true, revoked: done)
    }

    /// The kernel's inode number of the file at `path` in the share, if it has one (for a revoke by share id,
    /// whose file is not at hand): walked from the store root one name at a time, links not followed.
    func knownInode(atSharePath path: String) -> UInt64? {
        var dir = fcntl(inodes.root.fd, F_DUPFD_CLOEXEC, 0)
        guard dir >= 0 else { return nil }
        defer { close(dir) }
        let names = path.split(separator: "/").map(String.init)
        guard let last = names.last else { return nil }
        for name in names.dropLast() {
            let next = openat(dir, name, oPath | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard next >= 0 else { return nil }
            close(dir)
            dir = next
        }
        var st = stat()
        guard fstatat(dir, last, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        return inodes.known(st)
    }

    /// At mount: revocations recorded earlier keep counting.
    func loadRevocations() {
        let book = ShareBook(store: store)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: ShareBook.directory(store.root))) ?? []
        for name in names where name.hasSuffix(".share") {
            let r: ShareRecord
            do {
                guard let loaded = try book.load(String(name.dropLast(6))) else { continue }
                r = loaded
            } catch {
                log.warning("share record \(name) is unusable, its revocations cannot be applied: \(error)")
                continue
            }
            let id = Hex.decode(r.id) ?? []
            for who in r.revoked.keys {
                if who == "*" { store.revoke(shareId: id, grantee: nil); continue }
                guard let rec = r.recipients.first(where: { $0.name == who }) else { continue }
                for g in rec.grantees { store.revoke(shareId: id, grantee: g) }
            }
        }
    }
}
