/// Container format v1 geometry (docs/FORMAT.md). Everything is fixed by the version, so the plaintext
/// size follows from the ciphertext size alone and `stat` never reads a byte of the file.
public enum Layout {
    public static let magic: [UInt8] = Array("PROTFS\r\n".utf8)
    public static let version: UInt16 = 1
    public static let slotSize = 4096
    public static let slotCount = 2
    public static let headerSize = slotSize * slotCount
    public static let blockSize = 4096
    public static let sealedBlockSize = blockSize + 28
    /// The largest plaintext size whose container offsets fit in an off_t. Beyond it a truncate crashed the
    /// daemon (an overflow trap: any user with `edit` on any file could end the mount for everyone); now EFBIG.
    public static let maxPlaintextSize =
        (UInt64(Int64.max) - UInt64(headerSize)) / UInt64(sealedBlockSize) * UInt64(blockSize)

    /// Plaintext size for a container of `ciphertextSize` bytes, or nil when no valid container has that length.
    /// Content always holds at least one block; only an empty file has a block with no plaintext.
    public static func plaintextSize(ciphertextSize c: UInt64) -> UInt64? {
        guard c > UInt64(headerSize) else { return nil }
        let body = c - UInt64(headerSize)
        let full = body / UInt64(sealedBlockSize)
        let rem = body % UInt64(sealedBlockSize)
        if rem == 0 { return full * UInt64(blockSize) }
        guard rem >= 28 else { return nil }
        if rem == 28 { return full == 0 ? 0 : nil }
        return full * UInt64(blockSize) + rem - 28
    }

    public static func ciphertextSize(plaintextSize p: UInt64) -> UInt64 {
        if p == 0 { return UInt64(headerSize + 28) }
        let full = p / UInt64(blockSize), rem = p % UInt64(blockSize)
        return UInt64(headerSize) + full * UInt64(sealedBlockSize) + (rem > 0 ? rem + 28 : 0)
    }

    /// Number of blocks that hold a file of `p` plaintext bytes (an empty file has one empty block).
    public static func blockCount(plaintextSize p: UInt64) -> UInt64 {
        p == 0 ? 1 : (p + UInt64(blockSize) - 1) / UInt64(blockSize)
    }

    static func blockOffset(_ index: UInt64) -> Int64 {
        Int64(headerSize) + Int64(index) * Int64(sealedBlockSize)
    }
}
