import Foundation
import Glibc
import ProtLedger
import ProtSystem

/// The ledger fields that describe whoever runs this CLI process.
enum Actor {
    static func event(
        _ kind: EventKind, _ outcome: Outcome = .allowed, path: String? = nil, newPath: String? = nil,
        label: String? = nil, previousLabel: String? = nil, detail: String? = nil
    ) -> LedgerEvent {
        LedgerEvent(
            kind: kind, outcome: outcome, uid: Int64(getuid()), user: userName(uid: getuid()), gid: Int64(getgid()),
            pid: Int64(getpid()), process: "protfs", path: path.map { Array($0.utf8) },
            newPath: newPath.map { Array($0.utf8) }, label: label, previousLabel: previousLabel, detail: detail)
    }

    static func absolute(_ path: String) -> String {
        ((path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path) as NSString)
            .standardizingPath
    }
}
