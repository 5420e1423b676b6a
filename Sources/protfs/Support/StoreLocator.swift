import Foundation
import ProtMount
import ProtStore

/// Accepts a store directory or the mountpoint of a mounted store (found through /proc/mounts).
enum StoreLocator {
    static func resolve(_ arg: String) throws -> String {
        if FileManager.default.fileExists(atPath: Store.configPath(arg)) { return arg }
        let target = Actor.absolute(arg)
        for m in MountTable.entries() where (m.type == "fuse.protfs" || m.type == "fuse") && m.target == target {
            if FileManager.default.fileExists(atPath: Store.configPath(m.source)) { return m.source }
        }
        throw StoreError.notAStore(arg)
    }

    /// The store's ledger, after its mounts have committed their queued rows (so a reader sees every
    /// operation that happened before it started).
    static func ledgerPath(store: String, override: String?) throws -> String {
        let root = try? resolve(store)
        if let root { LedgerFlush.request(store: Actor.absolute(root)) }
        if let override { return override }
        guard let root else { throw StoreError.notAStore(store) }
        return Store.ledgerPath(root)
    }
}
