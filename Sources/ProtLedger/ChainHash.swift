import ProtCrypto

/// The hash chain: hash = SHA-256(prev_hash || canonical(row)). The canonical encoding is fixed-order,
/// length-prefixed and distinguishes NULL from empty, so no two different rows encode alike.
public enum ChainHash {
    public static let genesis = [UInt8](repeating: 0, count: 32)
    static let domain = Array("protfs-ledger-v1".utf8)

    public static func canonical(_ e: LedgerEvent) -> [UInt8] { encode(e, after: []) }

    /// `prefix` then the canonical row, built in one buffer: the writer hashes every row it commits.
    static func encode(_ e: LedgerEvent, after prefix: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(
            prefix.count + 192 + (e.path?.count ?? 0) + (e.newPath?.count ?? 0) + (e.detail?.utf8.count ?? 0))
        out += prefix
        out += domain
        func int(_ v: Int64?) {
            guard let v else { out.append(0); return }
            out.append(1)
            withUnsafeBytes(of: UInt64(bitPattern: v).bigEndian) { out += $0 }
        }
        func length(_ n: Int) { withUnsafeBytes(of: UInt32(truncatingIfNeeded: n).bigEndian) { out += $0 } }
        func bytes(_ b: [UInt8]?) {
            guard let b else { out.append(0); return }
            out.append(1)
            length(b.count)
            out += b
        }
        func text(_ t: String?) {
            guard let t else { out.append(0); return }
            out.append(1)
            length(t.utf8.count)
            out += t.utf8
        }
        int(e.seq); int(e.time); text(e.kind.rawValue); text(e.outcome.rawValue)
        int(e.uid); text(e.user); int(e.gid); int(e.pid); text(e.process)
        bytes(e.path); bytes(e.newPath); text(e.label); text(e.previousLabel)
        int(e.bytesRead); int(e.bytesWritten); text(e.detail)
        return out
    }

    public static func hash(_ e: LedgerEvent, prev: [UInt8]) -> [UInt8] {
        Digest.sha256(encode(e, after: prev))
    }
}
