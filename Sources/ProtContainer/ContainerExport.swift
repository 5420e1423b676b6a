import Glibc
import ProtSystem
import ProtCrypto

/// What sharing needs from an open container, without the content key ever leaving this module unsealed:
/// a consistent copy of the ciphertext, the content key wrapped for someone else, and MACs under a key
/// derived from it (a portable copy's trailer is authenticated that way).
extension Container {
    /// Copies the container as it is now (header slots and every sealed block) to `out`, from its offset 0.
    /// Writers wait meanwhile, so the copy is one consistent version. Returns the bytes written. Holes of the
    /// backing file are skipped (SEEK_DATA), so a sparse container gives a sparse copy: a share of a 50 GiB
    /// truncated file must not write 50 GiB.
    @discardableResult
    public func exportImage(to out: Int32) throws -> UInt64 {
        try lock.reading {
            let total = Layout.ciphertextSize(plaintextSize: plaintextSize)
            var buf = [UInt8](repeating: 0, count: 1 << 20)
            var off: UInt64 = 0
            while off < total {
                let data = lseek(fd, off_t(off), FileIO.seekData)
                if data < 0 { if errno == ENXIO { break } else { throw ContainerError.io("lseek", .current) } }
                let holeAt = lseek(fd, data, FileIO.seekHole)
                off = UInt64(data)
                let end = min(total, holeAt > data ? UInt64(holeAt) : total)
                while off < end {
                    let n = Int(min(UInt64(buf.count), end - off))
                    try buf.withUnsafeMutableBytes { b in
                        let part = UnsafeMutableRawBufferPointer(rebasing: b[0..<n])
                        guard try FileIO.preadFull(fd, part, at: Int64(off)) == n else {
                            throw ContainerError.invalidLength(off)
                        }
                        try FileIO.pwriteFull(out, UnsafeRawBufferPointer(part), at: Int64(off))
                    }
                    off += UInt64(n)
                }
            }
            var st = stat()
            if fstat(out, &st) == 0, UInt64(st.st_size) < total { try FileIO.truncate(out, total) }
            return total
        }
    }

    /// The content key wrapped to an X25519 public key (for a per-person grant or a key-service answer).
    public func wrapFileKey(to recipientPublicKey: [UInt8], context: [UInt8]) throws -> [UInt8] {
        try X25519.wrap(fileKey, to: recipientPublicKey, context: context)
    }

    /// The content key sealed under `kek` (a share record's copy, so the key service can answer without the file).
    public func sealFileKey(under kek: SecureBytes, aad: [UInt8]) throws -> [UInt8] {
        try AESGCM.seal(key: kek, plaintext: fileKey.exportBytes(), aad: aad)
    }

    /// HMAC-SHA256 under a key derived from the content key for `purpose`.
    public func mac(_ data: [UInt8], purpose: String) throws -> [UInt8] {
        try Digest.hmacSHA256(
            key: try KDF.hkdf(key: fileKey, salt: fileId, info: Array("protfs v1 \(purpose)".utf8)), data: data)
    }
}
