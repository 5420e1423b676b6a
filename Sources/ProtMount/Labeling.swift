import Glibc
import ProtAccess
import ProtContainer
import ProtLedger
import ProtPolicy
import ProtStore
import ProtSystem

extension Filesystem {
    /// After a handle that wrote is released: run the auto-classification rules over the content and raise
    /// the label if one fires. A header rewrap, never a re-encryption.
    func classifyAfterWrite(_ h: Handle) {
        let c = h.file.container
        var counts = h.streamedCounts(fileSize: c.size)
        if counts == nil {
            let scanner = ContentScanner(detectors)
            var off: UInt64 = 0
            var buf = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                // Holes are skipped; a zero fed where one was keeps a match from spanning it.
                let next = c.nextData(from: off)
                if next > off { [UInt8(0)].withUnsafeBytes { scanner.feed($0) }; off = next }
                guard let n = try? buf.withUnsafeMutableBytes({ try c.read(into: $0, at: off) }), n > 0 else { break }
                buf.withUnsafeBytes { scanner.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                off += UInt64(n)
            }
            counts = scanner.finish()
        }
        let path = sharePath(h.inode)
        let current = c.fields.labelId
        let decision = store.policy.classify(path: Self.text(path), detectorCounts: counts ?? [:], existing: current)
        guard decision.label != current else { return }
        let why = decision.fired.filter { $0.label == decision.label }.map { "\($0.detector) x\($0.count)" }.joined(
            separator: ", ")
        relabel(
            h.file, h.inode, to: decision.label, method: .auto, caller: h.caller, path: path,
            detail: "auto: \(why.isEmpty ? "folder rule" : why)")
    }

    /// A raise by the policy (auto-classification, a move): logs it and rewraps the content key under the
    /// higher label; the kernel's cached pages of the file are dropped, so handles opened before are judged
    /// again under the new label.
    func relabel(
        _ file: OpenFile, _ node: Inode, to label: String, method: LabelingMethod, caller: Caller,
        path: [UInt8], detail: String
    ) {
        let row = caller.event(
            .relabel, .allowed, path: path, label: label,
            previousLabel: file.container.fields.labelId, detail: detail)
        // Done even when the ledger cannot take its row: skipping it would leave what the rule found (card
        // numbers) under a label more people may read, and every access under the new label needs rows of
        // its own, which fail closed.
        if !record(row) { log.error("relabel \(Self.text(path)) to \(label): the ledger refused its row") }
        _ = rewrap(file, node, to: label, method: method, caller: caller, path: path)
    }

    /// The header rewrite of a relabel whose row is committed; on failure, a row saying it was not done.
    func rewrap(
        _ file: OpenFile, _ node: Inode, to label: String, method: LabelingMethod, caller: Caller,
        path: [UInt8]
    ) -> Int32 {
        let c = file.container
        do {
            var f = c.fields
            let now = currentTimeNanos()
            f.labelId = label
            f.labelKeyVersion = store.currentKeyVersion(label)
            f.method = method
            f.labeledAt = now
            f.expiry = store.policy.label(label)?.expiry?.deadline(labeledAt: now)
            try c.rewriteHeader(f, kek: try store.labelKey(label, version: f.labelKeyVersion))
        } catch {
            log.error("relabel \(Self.text(path)) to \(label): \(error)")
            _ = record(
                caller.event(
                    .relabel, .error, path: path, label: label, previousLabel: c.fields.labelId,
                    detail: "not done: \(error)"))
            return EIO
        }
        dropCachedContent(node.ino)
        return 0
    }

    /// A manual relabel (xattr or `protfs label set`): the decider's rule (`owner`; a downgrade the policy
    /// guards needs a justification), then the rewrap.
    func manualRelabel(_ node: Inode, to label: String, justification: String?, caller: Caller) -> Int32 {
        let path = sharePath(node)
        do {
            return try withOpenFile(node) { file in
                let op = Action.relabel(to: label, justification: justification)
                let decision = decide(caller, op, on: .file(file.container.fields), path: path)
                if let e = commit(decision) { return e }
                guard case .success(let allowed) = decision, allowed.row != nil else { return 0 }  // same label
                return rewrap(file, node, to: label, method: .manual, caller: caller, path: path)
            }
        } catch { return integrityFailure(caller, path: path, label: nil, error) }
    }

    /// Sticky labels: a file moved into a more sensitive folder is raised to that folder's label; moved into
    /// a less sensitive one, it keeps its label.
    func raiseAfterMove(_ node: Inode, caller: Caller, path: [UInt8]) {
        guard node.isRegular else { return }
        let folder = store.policy.folderLabel(for: Self.text(path)).label
        _ = try? withOpenFile(node) { file in
            let current = file.container.fields.labelId
            if store.policy.rank(folder) > store.policy.rank(current) {
                relabel(
                    file, node, to: folder, method: .folder, caller: caller, path: path,
                    detail: "moved into a more sensitive folder")
            }
        }
    }
}
