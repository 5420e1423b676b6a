import Foundation
import Glibc
import ProtContainer
import ProtCrypto
import ProtPolicy
import ProtSystem

extension Store {
    /// Header fields for a file newly labeled `label`; the content expiry is fixed at labeling time.
    public func newHeaderFields(label: String, owner: UInt32, method: LabelingMethod) throws -> HeaderFields {
        try requireApplicable(label)
        let now = currentTimeNanos()
        return HeaderFields(
            fileId: try Random.bytes(16), labelId: label, labelKeyVersion: currentKeyVersion(label),
            ownerUid: owner, labeledAt: now, method: method,
            expiry: policy.label(label)?.expiry?.deadline(labeledAt: now))
    }

    /// Encrypts `source` into a new container at `destination` (the administrator's offline path).
    /// The result appears only when complete: written to a temporary name, fsynced, then renamed.
    @discardableResult
    public func protect(source: String, destination: String, label: String, owner: UInt32) throws -> HeaderFields {
        let fields = try newHeaderFields(label: label, owner: owner, method: .manual)
        let src = Glibc.open(source, O_RDONLY)
        guard src >= 0 else { throw StoreError.io(source, String(cString: strerror(errno))) }
        defer { close(src) }
        return try writeAtomically(destination) { fd in
            let c = try Container.create(
                fd: fd, fields: fields, kek: try labelKey(label, version: fields.labelKeyVersion))
            try copy(
                from: { buf, off in
                    let n = pread(src, buf.baseAddress, buf.count, off_t(off))
                    if n < 0 { throw StoreError.io(source, String(cString: strerror(errno))) }
                    return n
                }, to: { try c.write($0, at: $1) })
            return c.fields
        }
    }

    /// Decrypts a container to a plain file at `destination`; every block is authenticated on the way.
    @discardableResult
    public func unprotect(source: String, destination: String) throws -> HeaderFields {
        let src = Glibc.open(source, O_RDONLY)
        guard src >= 0 else { throw StoreError.io(source, String(cString: strerror(errno))) }
        defer { close(src) }
        let c = try Container.open(fd: src, keys: keyLookup)
        return try writeAtomically(destination) { fd in
            try copy(
                from: { buf, off in try c.read(into: buf, at: UInt64(off)) },
                to: { data, off in
                    var done = 0
                    while done < data.count {
                        let n = pwrite(fd, data.baseAddress! + done, data.count - done, off_t(off) + done)
                        if n < 0 { throw StoreError.io(destination, String(cString: strerror(errno))) }
                        done += n
                    }
                })
            return c.fields
        }
    }

    private func copy(
        from read: (UnsafeMutableRawBufferPointer, Int) throws -> Int,
        to write: (UnsafeRawBufferPointer, UInt64) throws -> Void
    ) throws {
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var off = 0
        try buf.withUnsafeMutableBytes { b in
            while true {
                let n = try read(b, off)
                if n == 0 { break }
                try write(UnsafeRawBufferPointer(rebasing: b[0..<n]), UInt64(off))
                off += n
            }
        }
    }

    private func writeAtomically<R>(_ destination: String, _ body: (Int32) throws -> R) throws -> R {
        if FileManager.default.fileExists(atPath: destination) { throw StoreError.io(destination, "already exists") }
        let tmp = destination + ".protfs-tmp-\(getpid())"
        let fd = Glibc.open(tmp, O_RDWR | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw StoreError.io(tmp, String(cString: strerror(errno))) }
        do {
            let r = try body(fd)
            guard fsync(fd) == 0 else { throw StoreError.io(destination, String(cString: strerror(errno))) }
            close(fd)
            guard rename(tmp, destination) == 0 else {
                throw StoreError.io(destination, String(cString: strerror(errno)))
            }
            return r
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
    }
}

/// One file `protfs fsck` found damaged.
public struct FsckFinding: Sendable {
    public var path: String
    public var report: ContainerReport
}

extension Store {
    /// Checks every container under the store root: both header slots and every block tag.
    public func fsck(progress: ((Int, String) -> Void)? = nil) -> (checked: Int, findings: [FsckFinding]) {
        var checked = 0
        var findings: [FsckFinding] = []
        for rel in contentFiles() {
            let path = root + "/" + rel
            checked += 1
            progress?(checked, rel)
            let fd = Glibc.open(path, O_RDONLY)
            guard fd >= 0 else {
                findings.append(
                    FsckFinding(path: rel, report: ContainerReport(problems: [String(cString: strerror(errno))])))
                continue
            }
            let r = Container.check(fd: fd, keys: keyLookup)
            close(fd)
            if !r.isClean { findings.append(FsckFinding(path: rel, report: r)) }
        }
        return (checked, findings)
    }

    /// Regular files of the share, relative to the root, excluding `.protfs/`. Symlinks are not followed.
    public func contentFiles() -> [String] {
        var out: [String] = []
        guard let e = FileManager.default.enumerator(atPath: root) else { return out }
        while let rel = e.nextObject() as? String {
            if rel == Self.metaDirName { e.skipDescendants(); continue }
            var st = stat()
            guard lstat(root + "/" + rel, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            out.append(rel)
        }
        return out.sorted()
    }
}
