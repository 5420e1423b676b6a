import Foundation
import Glibc
import ProtCrypto
import ProtShare
import ProtSystem
import Synchronization

/// Share records as last read, with their content keys unsealed, kept while the record file is unchanged
/// (same inode, size and mtime): a revocation rewrites the file by rename, so the next request sees it.
final class RecordCache: Sendable {
    let book: ShareBook
    private let sealingKey: SecureBytes
    private let entries = Mutex<[String: (stamp: [Int64], record: ShareRecord, key: SecureBytes)]>([:])

    init(book: ShareBook) throws {
        self.book = book
        sealingKey = try book.sealingKey()
    }

    func load(_ id: String) throws -> ShareRecord? {
        guard let stamp = Self.stamp(ShareBook.directory(book.store.root) + "/\(id).share") else { return nil }
        if let e = entries.withLock({ $0[id] }), e.stamp == stamp { return e.record }
        guard let r = try book.load(id) else { return nil }
        let key = try unseal(r)
        entries.withLock { entries in
            if entries.count > 10_000 { entries.removeAll() }
            entries[id] = (stamp, r, key)
        }
        return r
    }

    /// The content key of a record returned by `load`.
    func contentKey(_ r: ShareRecord) throws -> SecureBytes {
        if let e = entries.withLock({ $0[r.id] }), e.record == r { return e.key }
        return try unseal(r)
    }

    private func unseal(_ r: ShareRecord) throws -> SecureBytes {
        try AESGCM.openKey(
            key: sealingKey, sealed: Hex.decode(r.sealedKey) ?? [],
            aad: ShareRecord.keyAAD(shareId: r.id, fileId: r.fileId))
    }

    static func stamp(_ path: String) -> [Int64]? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return [Int64(st.st_ino), Int64(st.st_size), Int64(st.st_mtim.tv_sec), Int64(st.st_mtim.tv_nsec)]
    }
}
