import ProtCrypto

/// The hash chain: hash = SHA-256(prev_hash || canonical(row)). The canonical encoding is fixed-order,
/// length-prefixed and distinguishes NULL from empty, so no two different rows encode alike.
public enum ChainHash {
    public static let genesis = [UInt8](repeating: 0, count: 32)

    public static func canonical(_ e: LedgerEvent) -> [UInt8] {
        var out: [UInt8] = Array("protfs-ledger-v1".utf8)
        func int(_ v: Int64?) {
            guard let v else { out.append(0); return }
            out.append(1)
            for s in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: UInt64(bitPattern: v) >> UInt64(s))) }
        }
        func bytes(_ b: [UInt8]?) {
            guard let b else { out.append(0); return }
            out.append(1)
            let n = UInt32(b.count)
            for s in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: n >> UInt32(s))) }
            out += b
        }
        func text(_ t: String?) { bytes(t.map { Array($0.utf8) }) }
        int(e.seq); int(e.time); text(e.kind.rawValue); text(e.outcome.rawValue)
        int(e.uid); text(e.user); int(e.gid); int(e.pid); text(e.process)
        bytes(e.path); bytes(e.newPath); text(e.label); text(e.previousLabel)
        int(e.bytesRead); int(e.bytesWritten); text(e.detail)
        return out
    }

    public static func hash(_ e: LedgerEvent, prev: [UInt8]) -> [UInt8] {
        Digest.sha256(prev + canonical(e))
    }
}
