import Glibc
import ProtContainer
import ProtPolicy

/// What the caller asks to do, in the terms rights are granted in; nothing here knows FUSE.
public enum Action: Sendable {
    /// open(2) of an existing file with these flags (O_TRUNC counts as writing).
    case open(flags: Int32)
    /// A read, write or resize on a handle opened earlier, judged again after a header change or a revocation.
    case onHandle(Rights, call: String)
    /// A new file in the folder of the path: `edit` on the folder's label.
    case create
    /// A folder, a symbolic link or a special file (fifo, socket, device): mode bits decide, the kernel
    /// checks them; protfs logs them.
    case mkdir, symlink, mknod(mode: UInt32)
    case unlink, rmdir
    /// A move to `newPath`. `replaced` is the header of the container at the destination when there is one
    /// (an exchange swaps with it); `crossesFolders` when source and destination folders differ.
    case rename(replaced: HeaderFields?, crossesFolders: Bool, exchange: Bool)
    /// A second name for the file at `path`, at `newPath`.
    case link
    case setattr(AttributeChange)
    /// Extended attributes of the `user.` namespace other than protfs's own: part of the content.
    case getxattr(String), setxattr(String), removexattr(String)
    /// A manual relabel (`user.protfs.label`, `protfs label set`).
    case relabel(to: String, justification: String?)
    /// Giving others `asked` on the file; revoking a share made by `sharerUid`.
    case share(asked: Rights), revoke(sharerUid: UInt32, shareId: String)

    /// Rights an open with these flags needs, and whether it reads and writes.
    public static func needed(flags: Int32) -> (rights: Rights, read: Bool, write: Bool) {
        let acc = flags & O_ACCMODE
        let read = acc == O_RDONLY || acc == O_RDWR
        let write = acc == O_WRONLY || acc == O_RDWR || flags & O_TRUNC != 0
        var r: Rights = []
        if read { r.insert(.view) }
        if write { r.insert(.edit) }
        return (r, read, write)
    }
}

/// What a setattr changes (nil: unchanged).
public struct AttributeChange: Sendable, Equatable {
    public var size: Int64?
    public var mode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
    public var times = false
    /// The call behind a size change other than truncate (`fallocate`), for the row.
    public var via: String?

    public init(
        size: Int64? = nil, mode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil,
        times: Bool = false, via: String? = nil
    ) {
        self.size = size; self.mode = mode; self.uid = uid; self.gid = gid; self.times = times; self.via = via
    }

    /// Changing content (size, and times, which a backup or a reviewer trusts) needs `edit`; changing who may
    /// access (mode, owner) needs `owner`.
    public var needed: Rights {
        var r: Rights = []
        if size != nil || times { r.insert(.edit) }
        if mode != nil || uid != nil || gid != nil { r.insert(.owner) }
        return r
    }

    var detail: String {
        var what: [String] = []
        if let size { what.append(via.map { "size \(size) (\($0))" } ?? "size \(size)") }
        if let mode { what.append("mode \(String(mode & 0o7777, radix: 8))") }
        if let uid { what.append("uid \(uid)") }
        if let gid { what.append("gid \(gid)") }
        if times { what.append("times") }
        return what.joined(separator: ", ")
    }
}

/// What is known of the object an operation is on.
public enum Subject: Sendable {
    /// A container, by its authenticated header.
    case file(HeaderFields)
    /// A container whose holder's rights were judged already (an open handle's, kept current).
    case judged(Rights, label: String)
    /// A file not at hand, by the label and owner recorded for it (a revoke by share id).
    case unopened(label: String, owner: UInt32)
    /// No header: a folder, a symbolic link, a special file. Mode bits decide; the kernel checks them.
    case plain
}
