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

    static func ledgerPath(store: String, override: String?) throws -> String {
        if let override { return override }
        return Store.ledgerPath(try resolve(store))
    }
}
