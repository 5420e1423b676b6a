import Glibc
import ProtSystem

/// What `protfs fsck --repair` did to one container.
public enum TailRepair: Sendable, Equatable {
    /// Cut back to the blocks that verify; `keptSize` plaintext bytes remain, `lostBytes` of ciphertext removed.
    case cut(keptSize: UInt64, lostBytes: UInt64)
    /// The damage is not a torn tail (a bad block is followed by good ones, or no header authenticates):
    /// that is tampering or media damage, not an interrupted write, and is left for a person to judge.
    case notATornTail(String)
}

extension Container {
    /// An interrupted extending write (daemon killed, power lost) can leave a container whose leading blocks
    /// verify and whose tail does not. This keeps the longest run of leading blocks that verify and seals the
    /// last of them as final. Never automatic: a cut file looks exactly like a truncation attack, so only an
    /// administrator who knows of a crash should ask for it (and it is logged).
    public static func repairTornTail(fd: Int32, keys: @escaping LabelKeyLookup) throws -> TailRepair {
        if (try? open(fd: fd, keys: keys)) != nil { return .notATornTail("the container is intact") }
        let cipherSize = try FileIO.size(fd)
        let (region, got) = try headerRegion(fd)
        guard got == Layout.headerSize else { return .notATornTail("shorter than a header") }
        let (candidates, _) = try authenticatedSlots(region, keys: .labelKeys(keys))
        guard let newest = candidates.first else { return .notATornTail("no header slot authenticates") }
        func sized(_ size: UInt64) throws -> Container {
            try Container(
                fd: fd, fields: newest.slot.fields, size: size, generation: newest.slot.generation,
                activeSlot: newest.index, headerMAC: newest.slot.mac, wrappedKey: newest.slot.wrappedKey,
                fileKey: newest.fileKey)
        }
        let whole =
            cipherSize > UInt64(Layout.headerSize)
            ? (cipherSize - UInt64(Layout.headerSize)) / UInt64(Layout.sealedBlockSize) : 0
        // A container sized for `whole` full blocks lets readBlock check every full block as non-final.
        let probe = try sized((whole + 1) * UInt64(Layout.blockSize))
        var good: UInt64 = 0
        while good < whole, (try? probe.readBlock(good)) != nil { good += 1 }
        for later in (good + 1)..<max(whole, good + 1) where (try? probe.readBlock(later)) != nil {
            return .notATornTail("block \(good) fails but block \(later) verifies")
        }
        let keptSize = good * UInt64(Layout.blockSize)
        let fixed = try sized(keptSize)
        let last = good == 0 ? 0 : good - 1
        let plain = good == 0 ? [] : try probe.readBlock(last)
        let sealed = try fixed.sealBlock(index: last, plaintext: plain, final: true)
        try sealed.withUnsafeBytes { try FileIO.pwriteFull(fd, $0, at: Layout.blockOffset(last)) }
        let newCipher = Layout.ciphertextSize(plaintextSize: keptSize)
        try FileIO.truncate(fd, newCipher)
        guard fsync(fd) == 0 else { throw ContainerError.io("fsync", .current) }
        _ = try open(fd: fd, keys: keys)  // it must open now
        return .cut(keptSize: keptSize, lostBytes: cipherSize > newCipher ? cipherSize - newCipher : 0)
    }
}
