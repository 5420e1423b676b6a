import ArgumentParser
import Foundation
import Glibc
import ProtContainer
import ProtCrypto
import ProtMount
import ProtPolicy
import ProtShare
import ProtStore
import ProtSystem

struct RevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a share: the key service refuses from now on and the grant leaves the file.",
        discussion: """
            PATH (inside a mount) revokes every share of the file, or the one named by --share. SHARE-ID revokes \
            through the mount given by --store MOUNTPOINT, or, with the store not mounted, through the store itself \
            (--store STORE, unlocked with its passphrase). Needs to be the sharer or to hold owner. What revocation \
            cannot do: take back a copy already decrypted, or (until the share's offline period ends) an answer a \
            recipient kept for offline use. See docs/THREAT-MODEL.md.
            """)

    @Argument(help: "A file inside a protfs mount, or a share id.") var target: String
    @Option(help: "Only this share of the file.") var share: String?
    @Option(name: .customLong("to"), help: "Revoke only this recipient (name or e-mail).") var to: String?
    @Option(help: "With a share id: the mountpoint or (not mounted) the store directory.") var store: String?
    @OptionGroup var credentials: CredentialOptions

    var isShareId: Bool { ShareBook.isValidId(target) && !FileManager.default.fileExists(atPath: target) }

    func validate() throws {
        if isShareId && store == nil { throw ValidationError("a share id needs --store MOUNTPOINT|STORE") }
        if let s = share, !ShareBook.isValidId(s) { throw ValidationError("--share: not a share id") }
    }

    func run() throws {
        if isShareId, let store {
            let abs = Actor.absolute(store)
            if let (mount, rel) = MountControl.containing(abs), rel == "/" {
                return try report(
                    mount.ask(
                        mount.mountpoint, prefix: RevokeRequest.xattr,
                        request: RevokeRequest(shareId: target, recipient: to)))
            }
            return try revokeInStore(abs)
        }
        let abs = Actor.absolute(target)
        guard let (mount, _) = MountControl.containing(abs) else {
            throw CommandFailure("\(target) is neither a share id nor inside a protfs mount")
        }
        try report(mount.ask(abs, prefix: RevokeRequest.xattr, request: RevokeRequest(shareId: share, recipient: to)))
    }

    func report(_ a: ControlAnswer) throws {
        guard a.ok else { throw CommandFailure(a.error ?? "revocation refused") }
        Out.warn(
            "revoked share\((a.revoked ?? []).count == 1 ? "" : "s") "
                + "\((a.revoked ?? []).joined(separator: ", "))\(to.map { " for \($0)" } ?? "")"
        )
    }

    /// With the store not mounted: mark the record and take the grants out of the file where it was shared.
    func revokeInStore(_ root: String) throws {
        if let m = MountTable.mountpoints(ofStore: root).first {
            throw CommandFailure("\(root) is mounted at \(m): revoke through the mount (--store \(m))")
        }
        let s = try credentials.unlock(root)
        let book = ShareBook(store: s)
        guard var r = try book.load(target) else { throw CommandFailure("no share \(target) in \(root)") }
        let who = try book.revoke(&r, recipient: to, now: currentTimeNanos())
        var cleaned = "grant left in place (file not found at \(r.path))"
        let fd = Glibc.open(root + r.path, O_RDWR | O_CLOEXEC)
        if fd >= 0 {
            defer { close(fd) }
            if let c = try? Container.open(fd: fd, keys: s.keyLookup), Hex.encode(c.fileId) == r.fileId {
                let f = c.fields
                try c.rewriteHeader(
                    Sharing.removingGrants(f, shareId: Hex.decode(r.id), recipient: who),
                    kek: try s.labelKey(f.labelId, version: f.labelKeyVersion))
                cleaned = "grant removed from \(r.path)"
            }
        }
        let ledger = try s.openLedger()
        defer { ledger.close() }
        try ledger.append(
            Actor.event(.revoke, path: r.path, label: r.label, detail: "share=\(r.id) recipient=\(who?.name ?? "*")"))
        Out.warn("revoked share \(r.id)\(who.map { " for \($0.name)" } ?? ""); \(cleaned)")
    }
}
