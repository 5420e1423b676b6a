import CFuse3
import CLinux
import Foundation
import Glibc
import Logging
import ProtAccess
import ProtLedger
import ProtStore
import ProtSystem

/// Mounts an unlocked store and serves it until unmounted or signalled.
public enum MountSession {
    public struct Options {
        public var mountpoint: String
        public var foreground = false
        public var ledgerPath: String?
        public var fuseOptions: [String] = []
        public var threads: UInt32 = 8
        public var ledgerMode: LedgerMode = .grants
        public init(mountpoint: String) { self.mountpoint = mountpoint }
    }

    /// Runs the FUSE session. In the background mode the calling process returns (exit 0) once the mount is
    /// up; the daemon continues in a child. Returns when the filesystem is unmounted.
    public static func run(store: Store, options: Options, log: Logger) throws {
        var st = stat()
        guard stat(options.mountpoint, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw MountError.usage("mountpoint \(options.mountpoint) is not a directory")
        }
        if isMounted(options.mountpoint) { throw MountError.usage("\(options.mountpoint) is already mounted") }
        var vfs = statvfs()
        if statvfs(store.root, &vfs) == 0, vfs.f_flag & UInt(ST_RDONLY) != 0 {
            throw MountError.usage(
                "the store \(store.root) is on a read-only filesystem: protfs writes containers and the ledger "
                    + "there; copy it to writable storage"
            )
        }
        // A store local users can enter lets them change containers behind the daemon's back: closed, saying so.
        do {
            if let fixed = try RootAttributes.lockDown(root: store.root) { log.warning("\(fixed)"); warn(fixed) }
        } catch { throw MountError.usage("\(error)") }
        let ledgerPath = options.ledgerPath ?? Store.ledgerPath(store.root)
        do { try Ledger.preflight(path: ledgerPath) } catch {
            throw MountError.usage("cannot open the ledger \(ledgerPath): \(error)")
        }
        raiseDescriptorLimit()

        let opts =
            ["default_permissions", "allow_other", "fsname=\(store.root)", "subtype=protfs"] + options.fuseOptions
        let argv = ["protfs", "-o", opts.joined(separator: ",")]
        var cargs = argv.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        var args = protfs_args(Int32(argv.count), &cargs)
        var ops = lowLevelOperations()
        let slot = FilesystemSlot()
        guard let se = fuse_session_new(&args, &ops, MemoryLayout<fuse_lowlevel_ops>.size, slot.userdata) else {
            throw MountError.usage("cannot create the FUSE session (bad -o option?)")
        }
        defer { fuse_session_destroy(se) }
        guard fuse_set_signal_handlers(se) == 0 else { throw MountError.usage("cannot install signal handlers") }
        defer { fuse_remove_signal_handlers(se) }
        guard fuse_session_mount(se, options.mountpoint) == 0 else {
            throw MountError.usage("cannot mount on \(options.mountpoint) (is /dev/fuse available and are you root?)")
        }
        defer { fuse_session_unmount(se) }
        // Fork before any thread exists: the ledger's writer thread starts in the daemon only.
        fuse_daemonize(options.foreground ? 1 : 0)
        // Containers grow as root for every user: without CAP_SYS_RESOURCE (dropped before any thread exists,
        // so every thread lacks it) disk quotas count against the files' owners and the root reserve stays
        // out of reach. The descriptor limit, the one thing that needed it, is raised above.
        if protfs_drop_capability(CAP_SYS_RESOURCE) != 0 { log.warning("cannot drop CAP_SYS_RESOURCE: errno \(errno)") }

        // libfuse's handler only sets a flag and relies on the signal interrupting a FUSE thread's read() or the
        // loop's sem_wait(); delivered to a ledger thread it would be lost until the next request. Threads
        // created from here inherit the blocked mask; the loop's own threads are created after it is lifted.
        setExitSignals(blocked: true)
        // 8 MiB of SQLite pages per connection: the daemon's memory stays bounded however long the ledger grows.
        let ledger = try Ledger(path: ledgerPath, pageCacheMiB: 8)
        defer { ledger.close() }
        let fs = try Filesystem(store: store, ledger: ledger, ledgerMode: options.ledgerMode, log: log)
        fs.loadRevocations()
        slot.install(fs)
        let reclaimer = InodeReclaimer(session: se, inodes: fs.inodes)
        fs.reclaimer = reclaimer
        fs.session = se
        try ledger.append(
            LedgerEvent(
                kind: .mount, outcome: .allowed, uid: Int64(getuid()), user: userName(uid: getuid()),
                gid: Int64(getgid()), pid: Int64(getpid()), process: "protfs",
                path: Array(options.mountpoint.utf8), detail: "policy '\(store.policy.name)'"))
        log.info("mounted \(store.root) on \(options.mountpoint)")
        setExitSignals(blocked: false)
        // The session's userdata points at the slot, and the slot at the filesystem: both outlive the loop.
        let r = withExtendedLifetime((slot, fs)) { protfs_session_loop_mt(se, options.threads) }
        reclaimer.stop()
        fs.refusals.stop()
        _ = try? ledger.append(
            LedgerEvent(
                kind: .unmount, outcome: .allowed, uid: Int64(getuid()), user: userName(uid: getuid()),
                gid: Int64(getgid()), pid: Int64(getpid()), process: "protfs",
                path: Array(options.mountpoint.utf8), detail: r > 0 ? "signal \(r)" : nil))
        log.info("unmounted \(options.mountpoint)")
    }

    private static func warn(_ text: String) {
        FileHandle.standardError.write(Data("protfs: warning: \(text)\n".utf8))
    }

    /// Every inode the kernel holds costs the daemon one O_PATH descriptor, so a share with many files needs
    /// far more than the usual 1024 or 20000: root raises the hard limit to the system's nr_open.
    static func raiseDescriptorLimit() {
        let resource = Int32(RLIMIT_NOFILE.rawValue)
        var rl = rlimit()
        guard getrlimit(resource, &rl) == 0 else { return }
        let text = (try? String(contentsOfFile: "/proc/sys/fs/nr_open", encoding: .utf8))?.trimmingCharacters(
            in: .whitespacesAndNewlines)
        if let nrOpen = text.flatMap({ rlim_t($0) }), nrOpen > rl.rlim_max {
            var wanted = rlimit(rlim_cur: nrOpen, rlim_max: nrOpen)
            if setrlimit(resource, &wanted) == 0 { return }
        }
        rl.rlim_cur = rl.rlim_max
        setrlimit(resource, &rl)
    }

    private static func setExitSignals(blocked: Bool) {
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, s) }
        pthread_sigmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &set, nil)
    }

    public static func isMounted(_ mountpoint: String) -> Bool {
        let target = URL(fileURLWithPath: mountpoint).standardizedFileURL.path
        return MountTable.entries().contains { $0.target == target }
    }

    /// Unmounts with fusermount3, falling back to umount2 for root.
    public static func unmount(_ mountpoint: String) throws {
        if umount2(mountpoint, 0) == 0 { return }
        let e = errno
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/fusermount3")
        p.arguments = ["-u", mountpoint]
        try p.run(); p.waitUntilExit()
        if p.terminationStatus != 0 { throw MountError.system("unmount \(mountpoint)", Errno(e)) }
    }
}
