import CFuse3
import CLinux
import Glibc
import Synchronization

// libfuse calls these plain C functions on its worker threads; each forwards to the Filesystem its session's
// userdata holds (as passthrough_ll.c reaches its lo_data). Named functions make the C boundary obvious.

/// libfuse's userdata: the session is made (and mounted) before the daemon forks, the Filesystem only after,
/// in the daemon, so it is installed here once, before the loop starts its threads, and never changed.
final class FilesystemSlot: Sendable {
    /// Unretained: MountSession holds the filesystem until the loop has returned.
    private let held = Atomic<Unmanaged<Filesystem>?>(nil)
    func install(_ fs: Filesystem) { held.store(Unmanaged.passUnretained(fs), ordering: .releasing) }
    var filesystem: Filesystem { held.load(ordering: .acquiring)!.takeUnretainedValue() }
    var userdata: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }
}

@inline(__always)
private func fs(_ req: fuse_req_t?) -> Filesystem {
    Unmanaged<FilesystemSlot>.fromOpaque(fuse_req_userdata(req)!).takeUnretainedValue().filesystem
}

private func name(_ p: UnsafePointer<CChar>?) -> String { String(cString: p!) }

func opInit(_ userdata: UnsafeMutableRawPointer?, _ conn: UnsafeMutablePointer<fuse_conn_info>?) {
    guard let conn else { return }
    conn.pointee.max_write = 1 << 20
    conn.pointee.max_readahead = 1 << 20
    conn.pointee.max_background = 64
    conn.pointee.congestion_threshold = 48
    if conn.pointee.capable & UInt32(FUSE_CAP_SPLICE_READ) != 0 { conn.pointee.want &= ~UInt32(FUSE_CAP_SPLICE_READ) }
    if conn.pointee.capable & UInt32(FUSE_CAP_READDIRPLUS) != 0 { conn.pointee.want |= UInt32(FUSE_CAP_READDIRPLUS) }
    if conn.pointee.capable & UInt32(FUSE_CAP_PARALLEL_DIROPS) != 0 {
        conn.pointee.want |= UInt32(FUSE_CAP_PARALLEL_DIROPS)
    }
}

func opLookup(_ req: fuse_req_t?, _ parent: fuse_ino_t, _ n: UnsafePointer<CChar>?) {
    fs(req).lookup(req, parent, name(n))
}
func opForget(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ nlookup: UInt64) {
    fs(req).inodes.forget(ino, UInt64(nlookup)); fuse_reply_none(req)
}
func opForgetMulti(_ req: fuse_req_t?, _ count: Int, _ forgets: UnsafeMutablePointer<fuse_forget_data>?) {
    for i in 0..<count { fs(req).inodes.forget(forgets![i].ino, UInt64(forgets![i].nlookup)) }
    fuse_reply_none(req)
}
func opGetattr(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ fi: UnsafeMutablePointer<fuse_file_info>?) {
    fs(req).getattr(req, ino)
}
func opSetattr(
    _ req: fuse_req_t?, _ ino: fuse_ino_t, _ attr: UnsafeMutablePointer<stat>?, _ toSet: Int32,
    _ fi: UnsafeMutablePointer<fuse_file_info>?
) {
    fs(req).setattr(req, ino, attr!.pointee, toSet, fi)
}
func opReadlink(_ req: fuse_req_t?, _ ino: fuse_ino_t) { fs(req).readlink(req, ino) }
func opMknod(_ req: fuse_req_t?, _ parent: fuse_ino_t, _ n: UnsafePointer<CChar>?, _ mode: mode_t, _ rdev: dev_t) {
    fs(req).mknod(req, parent, name(n), mode, rdev)
}
func opMkdir(_ req: fuse_req_t?, _ parent: fuse_ino_t, _ n: UnsafePointer<CChar>?, _ mode: mode_t) {
    fs(req).mkdir(req, parent, name(n), mode)
}
func opUnlink(_ req: fuse_req_t?, _ parent: fuse_ino_t, _ n: UnsafePointer<CChar>?) {
    fs(req).unlink(req, parent, name(n))
}
func opRmdir(_ req: fuse_req_t?, _ parent: fuse_ino_t, _ n: UnsafePointer<CChar>?) {
    fs(req).rmdir(req, parent, name(n))
}
func opSymlink(_ req: fuse_req_t?, _ link: UnsafePointer<CChar>?, _ parent: fuse_ino_t, _ n: UnsafePointer<CChar>?) {
    fs(req).symlink(req, name(link), parent, name(n))
}
func opRename(
    _ req: fuse_req_t?, _ parent: fuse_ino_t, _ n: UnsafePointer<CChar>?, _ newParent: fuse_ino_t,
    _ newName: UnsafePointer<CChar>?, _ flags: UInt32
) {
    fs(req).rename(req, parent, name(n), newParent, name(newName), flags)
}
func opLink(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ newParent: fuse_ino_t, _ newName: UnsafePointer<CChar>?) {
    fs(req).link(req, ino, newParent, name(newName))
}
func opOpen(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ fi: UnsafeMutablePointer<fuse_file_info>?) {
    fs(req).open(req, ino, fi!)
}
func opRead(
    _ req: fuse_req_t?, _ ino: fuse_ino_t, _ size: Int, _ off: off_t, _ fi: UnsafeMutablePointer<fuse_file_info>?
) { fs(req).read(req, size, Int(off), fi!) }
func opWrite(
    _ req: fuse_req_t?, _ ino: fuse_ino_t, _ buf: UnsafePointer<CChar>?, _ size: Int, _ off: off_t,
    _ fi: UnsafeMutablePointer<fuse_file_info>?
) {
    fs(req).write(req, UnsafeRawBufferPointer(start: buf, count: size), Int(off), fi!)
}
func opFlush(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ fi: UnsafeMutablePointer<fuse_file_info>?) {
    fs(req).flush(req, fi!)
}
func opRelease(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ fi: UnsafeMutablePointer<fuse_file_info>?) {
    fs(req).release(req, fi!)
}
func opFsync(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ datasync: Int32, _ fi: UnsafeMutablePointer<fuse_file_info>?) {
    fs(req).fsync(req, fi!)
}
func opOpendir(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ fi: UnsafeMutablePointer<fuse_file_info>?) {
    fs(req).opendir(req, ino, fi!)
}
func opReaddir(
    _ req: fuse_req_t?, _ ino: fuse_ino_t, _ size: Int, _ off: off_t, _ fi: UnsafeMutablePointer<fuse_file_info>?
) {
    fs(req).readdir(req, size, Int(off), fi!, plus: false)
}
func opReaddirplus(
    _ req: fuse_req_t?, _ ino: fuse_ino_t, _ size: Int, _ off: off_t, _ fi: UnsafeMutablePointer<fuse_file_info>?
) {
    fs(req).readdir(req, size, Int(off), fi!, plus: true)
}
func opReleasedir(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ fi: UnsafeMutablePointer<fuse_file_info>?) {
    fs(req).releasedir(req, fi!)
}
func opFsyncdir(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ datasync: Int32, _ fi: UnsafeMutablePointer<fuse_file_info>?) {
    fuse_reply_err(req, 0)
}
func opStatfs(_ req: fuse_req_t?, _ ino: fuse_ino_t) { fs(req).statfs(req) }
func opSetxattr(
    _ req: fuse_req_t?, _ ino: fuse_ino_t, _ n: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?, _ size: Int,
    _ flags: Int32
) {
    fs(req).setxattr(req, ino, name(n), UnsafeRawBufferPointer(start: value, count: size), flags)
}
func opGetxattr(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ n: UnsafePointer<CChar>?, _ size: Int) {
    fs(req).getxattr(req, ino, name(n), size)
}
func opListxattr(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ size: Int) { fs(req).listxattr(req, ino, size) }
func opRemovexattr(_ req: fuse_req_t?, _ ino: fuse_ino_t, _ n: UnsafePointer<CChar>?) {
    fs(req).removexattr(req, ino, name(n))
}
func opCreate(
    _ req: fuse_req_t?, _ parent: fuse_ino_t, _ n: UnsafePointer<CChar>?, _ mode: mode_t,
    _ fi: UnsafeMutablePointer<fuse_file_info>?
) {
    fs(req).create(req, parent, name(n), mode, fi!)
}
func opFallocate(
    _ req: fuse_req_t?, _ ino: fuse_ino_t, _ mode: Int32, _ off: off_t, _ len: off_t,
    _ fi: UnsafeMutablePointer<fuse_file_info>?
) {
    fs(req).fallocate(req, mode, Int(off), Int(len), fi!)
}

func lowLevelOperations() -> fuse_lowlevel_ops {
    var ops = fuse_lowlevel_ops()
    ops.`init` = opInit
    ops.lookup = opLookup
    ops.forget = opForget
    ops.forget_multi = opForgetMulti
    ops.getattr = opGetattr
    ops.setattr = opSetattr
    ops.readlink = opReadlink
    ops.mknod = opMknod
    ops.mkdir = opMkdir
    ops.unlink = opUnlink
    ops.rmdir = opRmdir
    ops.symlink = opSymlink
    ops.rename = opRename
    ops.link = opLink
    ops.open = opOpen
    ops.read = opRead
    ops.write = opWrite
    ops.flush = opFlush
    ops.release = opRelease
    ops.fsync = opFsync
    ops.opendir = opOpendir
    ops.readdir = opReaddir
    ops.readdirplus = opReaddirplus
    ops.releasedir = opReleasedir
    ops.fsyncdir = opFsyncdir
    ops.statfs = opStatfs
    ops.setxattr = opSetxattr
    ops.getxattr = opGetxattr
    ops.listxattr = opListxattr
    ops.removexattr = opRemovexattr
    ops.create = opCreate
    ops.fallocate = opFallocate
    return ops
}
