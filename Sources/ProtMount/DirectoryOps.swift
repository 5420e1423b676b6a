import CFuse3
import Glibc
import Synchronization

extension Filesystem {
    func opendir(_ req: fuse_req_t?, _ ino: UInt64, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        guard let node = inodes.get(ino) else { return reply(req, ENOENT) }
        let fd = openat(node.fd, ".", O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { return reply(req, errno) }
        guard let dir = fdopendir(fd) else { let e = errno; close(fd); return reply(req, e) }
        let h = DirHandle(dir: dir, inode: node)
        fi.pointee.fh = UInt64(UInt(bitPattern: Unmanaged.passRetained(h).toOpaque()))
        fi.pointee.cache_readdir = 1
        fuse_reply_open(req, fi)
    }

    func releasedir(_ req: fuse_req_t?, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        Unmanaged<DirHandle>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(fi.pointee.fh))!).release()
        reply(req, 0)
    }

    /// readdir and readdirplus. With plus, every entry but . and .. counts a lookup, as the kernel expects.
    func readdir(_ req: fuse_req_t?, _ size: Int, _ offset: Int, _ fi: UnsafeMutablePointer<fuse_file_info>, plus: Bool)
    {
        let h = Unmanaged<DirHandle>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(fi.pointee.fh))!)
            .takeUnretainedValue()
        var buf = [CChar](repeating: 0, count: size)
        var used = 0
        h.stream.withLock { s in
            if offset != s.offset { seekdir(s.dir, offset); s.offset = offset }
            while true {
                errno = 0
                guard let ent = Glibc.readdir(s.dir) else { break }
                let next = Int(ent.pointee.d_off)
                let name = withUnsafePointer(to: ent.pointee.d_name) {
                    $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                }
                if isHidden(h.inode, name) { s.offset = next; continue }
                var n = 0
                if plus {
                    var e = fuse_entry_param()
                    /// Listed without attributes (ino 0: the kernel looks the name up later, in a request of its own).
                    func bare() -> Int {
                        e.attr.st_ino = UInt(ent.pointee.d_ino)
                        e.attr.st_mode = mode_t(ent.pointee.d_type) << 12
                        return buf.withUnsafeMutableBufferPointer {
                            fuse_add_direntry_plus(req, $0.baseAddress! + used, size - used, name, &e, off_t(next))
                        }
                    }
                    // Past the pressure mark, names are listed bare: each entry here would take a descriptor while the
                    // kernel holds this folder's lock, which the reclaimer needs to drop cold entries of the same
                    // folder.
                    if name == "." || name == ".." || inodes.crowded {
                        n = bare()
                    } else {
                        switch entry(h.inode, name) {
                        case .success(let (node, st)):
                            e.ino = node.ino; e.attr = st; e.attr_timeout = attrTimeout; e.entry_timeout = attrTimeout
                            n = buf.withUnsafeMutableBufferPointer {
                                fuse_add_direntry_plus(req, $0.baseAddress! + used, size - used, name, &e, off_t(next))
                            }
                            if n > size - used { inodes.forget(node.ino, 1) }
                        case .failure(let err) where err.rawValue == ENOENT:
                            s.offset = next; continue  // removed since readdir saw it
                        case .failure:
                            n = bare()  // a name is never dropped
                        }
                    }
                } else {
                    var st = stat()
                    st.st_ino = UInt(ent.pointee.d_ino)
                    st.st_mode = mode_t(ent.pointee.d_type) << 12
                    n = buf.withUnsafeMutableBufferPointer {
                        fuse_add_direntry(req, $0.baseAddress! + used, size - used, name, &st, off_t(next))
                    }
                }
                if n > size - used {
                    seekdir(s.dir, s.offset)  // this entry did not fit: return it next time
                    break
                }
                used += n
                s.offset = next
            }
        }
        buf.withUnsafeBufferPointer { _ = fuse_reply_buf(req, $0.baseAddress, used) }
    }
}
