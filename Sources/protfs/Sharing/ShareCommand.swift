import ArgumentParser
import Foundation
import Glibc
import ProtCrypto
import ProtPolicy
import ProtShare
import ProtStore
import ProtSystem

struct ShareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "share",
        abstract: "Give people access to one protected file and write a portable protected copy (.pfs) for them.",
        discussion: """
            Needs the share right on the file, through the mount. Each --to is a recipient known to the store \
            (`protfs identity add`), by name or e-mail, or a local account; a recipient whose name is also a local \
            account gets the access inside the mount at once. The portable copy opens with `protfs open` by the \
            recipient's private key: offline while the grant lasts, or (a tracked share, the default when the store \
            runs a key service) through the key service, which logs every open and honours revocation. \
            --mail writes an RFC 5322 message with the copy attached, ready for `sendmail -t`.
            """)

    @Argument(help: "The file, inside a protfs mount.") var path: String
    @Option(name: .customLong("to"), help: "A recipient: identity name, e-mail address or local account (repeatable).")
    var to: [String] = []
    @Option(help: "viewer, reviewer, co-author, co-owner, or rights such as view,export.") var access: String = "viewer"
    @Option(help: "When the access ends: a date (2027-01-31), a duration from now (30d, 12h) or 'never'.") var expires:
        String
    @Flag(help: "Tell the sharer about every attempt to open the copy (tracked shares).") var notify = false
    @Option(name: .customLong("notify-to"), help: "Where notifications go (default: the sharer's account).")
    var notifyTo: String?
    @Option(help: "Days (or a duration such as 12h) a recipient may keep the key for offline opens; default 0.")
    var offline: String?
    @Flag(name: .customLong("no-tracking"), help: "Open offline with the recipient's key, without the key service.")
    var noTracking = false
    @Flag(help: "Require the key service (fail if the store runs none).") var tracked = false
    @Option(name: .short, help: "Write the portable copy (or with --mail, the message) here.") var output: String?
    @Flag(help: "Write an RFC 5322 / MIME message with the copy attached (to stdout unless -o).") var mail = false
    @Option(help: "From address of the --mail message (default: USER@HOSTNAME).") var from: String?

    func validate() throws {
        if to.isEmpty { throw ValidationError("name at least one recipient with --to") }
        if rights == nil {
            throw ValidationError("--access: '\(access)' is not a permission level or a list of rights")
        }
        if expiry == nil {
            throw ValidationError("--expires: cannot read '\(expires)' as a date, a duration or 'never'")
        }
        if let o = offline, Self.seconds(o) == nil {
            throw ValidationError("--offline: cannot read '\(o)' as days or a duration")
        }
        if noTracking && tracked { throw ValidationError("--tracked and --no-tracking exclude each other") }
        if noTracking && offline != nil { throw ValidationError("--offline applies to tracked shares only") }
        if noTracking && notify {
            throw ValidationError("--notify needs a tracked share: offline opens reach no service")
        }
    }

    var rights: Rights? {
        let parts = access.split(separator: ",").map { Rights.parse(String($0).trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, !parts.contains(where: { $0 == nil }) else { return nil }
        return parts.reduce(Rights()) { $0.union($1!) }
    }

    /// nil: unreadable; .some(nil): never.
    var expiry: Int64?? {
        if expires == "never" { return .some(nil) }
        if let d = TimeSpec.duration(expires) { return .some(currentTimeNanos() + d * 1_000_000_000) }
        if let t = TimeSpec.date(expires) { return .some(t * 1_000_000_000) }
        return nil
    }

    static func seconds(_ text: String) -> Int64? {
        if let days = Int64(text), days >= 0 { return days * 86_400 }
        return TimeSpec.duration(text)
    }

    func run() throws {
        let abs = Actor.absolute(path)
        guard let (mount, _) = MountControl.containing(abs) else {
            throw CommandFailure("\(path) is not inside a protfs mount")
        }
        var st = stat()
        guard stat(abs, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw CommandFailure("\(path) is not a file")
        }
        let recipients = try resolve(to, known: try mount.recipients())

        let name = (abs as NSString).lastPathComponent
        let copyFd: Int32, finalPath: String?
        if mail {
            copyFd = try MountControl.scratchFile(); finalPath = nil
        } else {
            let dest = output ?? name + ".pfs"
            if let (_, _) = MountControl.containing(Actor.absolute(dest)) {
                throw CommandFailure("write the portable copy outside the mount")
            }
            guard Glibc.access(dest, F_OK) != 0 else {
                throw CommandFailure("\(dest) exists; choose another name with -o")
            }
            let tmp = dest + ".tmp-\(getpid())"
            copyFd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard copyFd >= 0 else { throw CommandFailure("\(tmp): \(String(cString: strerror(errno)))") }
            finalPath = dest
        }
        defer { close(copyFd) }
        let tmpPath = finalPath.map { $0 + ".tmp-\(getpid())" }
        let request = ShareRequest(
            shareId: try ShareRequest.newId(), recipients: recipients, rights: rights!.rawValue,
            expires: expiry!, tracked: noTracking ? false : (tracked ? true : nil),
            offlineSeconds: offline.flatMap(Self.seconds) ?? 0, notify: notify, notifyTo: notifyTo,
            outputFd: copyFd)
        let answer: ControlAnswer
        do { answer = try mount.ask(abs, prefix: ShareRequest.xattr, request: request) } catch {
            if let t = tmpPath { unlink(t) }
            throw error
        }
        guard answer.ok, let id = answer.shareId else {
            if let t = tmpPath { unlink(t) }
            throw CommandFailure(answer.error ?? "the share was refused")
        }
        let who = recipients.map(\.name).joined(separator: ", ")
        let until = expiry!.map { isoTime($0) } ?? "no expiry"
        if let dest = finalPath, let tmp = tmpPath {
            guard rename(tmp, dest) == 0 else { throw CommandFailure("\(dest): \(String(cString: strerror(errno)))") }
            Out.warn(
                "shared \(name) with \(who) (\(rights!), until \(until)); share \(id), "
                    + "\(answer.tracked == true ? "tracked" : "offline"); copy: \(dest)"
            )
        } else {
            let message = try mailMessage(copyFd: copyFd, name: name, recipients: recipients, until: until, id: id)
            if let o = output {
                try AtomicFile.write(Array(message.utf8), to: o, mode: 0o600)
            } else {
                Out.write(Array(message.utf8))
            }
            Out.warn(
                "shared \(name) with \(who) (\(rights!), until \(until)); share \(id), "
                    + "\(answer.tracked == true ? "tracked" : "offline"); message: \(output ?? "stdout")"
            )
        }
    }

    /// Each --to: a known identity (name or e-mail), which also counts inside the mount when a local account
    /// has that name; otherwise a local account alone.
    func resolve(_ names: [String], known: [PublicIdentity]) throws -> [ShareRecipient] {
        try names.map { n in
            if let id = known.first(where: { $0.name == n || ($0.email?.lowercased() == n.lowercased()) }) {
                return ShareRecipient(
                    name: id.name, email: id.email, publicKey: Hex.encode(id.publicKey),
                    localUser: getpwnam(id.name) != nil ? id.name : nil)
            }
            if getpwnam(n) != nil { return ShareRecipient(name: n, localUser: n) }
            throw CommandFailure(
                "'\(n)' is neither a recipient known to the store nor a local account; add it with `protfs identity "
                    + "add`"
            )
        }
    }

    func mailMessage(copyFd: Int32, name: String, recipients: [ShareRecipient], until: String, id: String) throws
        -> String
    {
        var st = stat()
        fstat(copyFd, &st)
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        guard bytes.withUnsafeMutableBytes({ pread(copyFd, $0.baseAddress, $0.count, 0) }) == bytes.count else {
            throw CommandFailure("cannot read back the portable copy")
        }
        let user = userNameOfCaller()
        var m = MailMessage(
            from: from ?? "\(user)@\(hostName())",
            to: recipients.map { $0.email ?? $0.name }, subject: "\(user) shared \(name) with you (protected)",
            text: """
                \(user) shared \(name) with you: \(rights!) access, until \(until).

                The attachment \(name).pfs is protected: only your protfs identity can open it.
                    protfs open \(name).pfs -o \(name)
                Opening may be recorded and reported to \(user).

                Share id: \(id)
                """)
        m.headers = [("X-Protfs-Share", id)]
        m.attachment = (name + ".pfs", "application/vnd.protfs.pfs", bytes)
        return m.rendered()
    }
}

func userNameOfCaller() -> String {
    getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid\(getuid())"
}
