import Glibc

/// What can be read from a container without keys: the label, key version and labeling method of the
/// newest header slot that parses. Unauthenticated, so only for overviews (`protfs status`): a tampered
/// header can say anything here, and every access through the mount checks the MAC before use.
public struct HeaderPeek: Sendable {
    public var labelId: String
    public var labelKeyVersion: UInt32
    public var method: LabelingMethod
    public var plaintextSize: UInt64?
}

extension Container {
    public static func peek(fd: Int32) -> HeaderPeek? {
        guard let (region, n) = try? headerRegion(fd), n == Layout.headerSize, var p = peek(headerRegion: region) else {
            return nil
        }
        p.plaintextSize = (try? FileIO.size(fd)).flatMap { Layout.plaintextSize(ciphertextSize: $0) }
        return p
    }

    /// Parses the two header slots of a container's first `Layout.headerSize` bytes (also the fuzzing entry
    /// point for the header parser: any input must give an answer or nil, never a crash).
    public static func peek(headerRegion region: [UInt8]) -> HeaderPeek? {
        guard region.count == Layout.headerSize else { return nil }
        var best: HeaderSlot?
        for i in 0..<Layout.slotCount {
            let slot = Array(region[(i * Layout.slotSize)..<((i + 1) * Layout.slotSize)])
            if let parsed = try? HeaderSlot.parse(slot), parsed.slot.generation >= (best?.generation ?? 0) {
                best = parsed.slot
            }
        }
        guard let b = best else { return nil }
        return HeaderPeek(
            labelId: b.fields.labelId, labelKeyVersion: b.fields.labelKeyVersion, method: b.fields.method,
            plaintextSize: nil)
    }
}
