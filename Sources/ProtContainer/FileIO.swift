import Glibc
import ProtSystem

/// Full-length pread/pwrite: short transfers and EINTR are retried, errors carry errno.
enum FileIO {
    // lseek whences glibc declares only under _GNU_SOURCE.
    static let seekData: Int32 = 3
    static let seekHole: Int32 = 4

    static func preadFull(_ fd: Int32, _ buf: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var done = 0
        while done < buf.count {
            let n = retryingInterrupts { pread(fd, buf.baseAddress! + done, buf.count - done, off_t(offset) + done) }
            if n < 0 { throw ContainerError.io("read", .current) }
            if n == 0 { break }
            done += n
        }
        return done
    }

    static func pwriteFull(_ fd: Int32, _ buf: UnsafeRawBufferPointer, at offset: Int64) throws {
        var done = 0
        while done < buf.count {
            let n = retryingInterrupts { pwrite(fd, buf.baseAddress! + done, buf.count - done, off_t(offset) + done) }
            if n < 0 { throw ContainerError.io("write", .current) }
            done += n
        }
    }

    static func size(_ fd: Int32) throws -> UInt64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ContainerError.io("fstat", .current) }
        return UInt64(st.st_size)
    }

    static func truncate(_ fd: Int32, _ length: UInt64) throws {
        guard ftruncate(fd, off_t(length)) == 0 else { throw ContainerError.io("truncate", .current) }
    }
}
