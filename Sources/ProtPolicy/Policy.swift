import Glibc
import ProtSystem

/// A sensitivity label with its place in the taxonomy and the rights it grants.
public struct Label: Sendable, Equatable {
    public var id: String
    public var name: String
    public var rank: Int
    public var parent: String?
    public var description: String
    public var justifyDowngrade: Bool
    public var expiry: ContentExpiry?
    public var grants: [LabelGrant]
}

public struct LabelGrant: Sendable, Equatable {
    public var grantee: Grantee
    public var rights: Rights
    public init(grantee: Grantee, rights: Rights) { self.grantee = grantee; self.rights = rights }
}

public struct FolderRule: Sendable, Equatable {
    public var pattern: PathPattern
    public var label: String
}

public struct AutoRule: Sendable, Equatable {
    public var detector: String
    public var minCount: Int
    public var label: String
    /// Empty: applies everywhere.
    public var folders: [PathPattern]
}

/// A validated label policy: taxonomy, folder map, auto-classification rules and custom detectors.
public struct Policy: Sendable, Equatable {
    public var name: String
    public var defaultLabel: String
    public var labels: [Label]
    public var folderRules: [FolderRule]
    public var autoRules: [AutoRule]
    public var customDetectors: [DetectorDefinition]
    /// Seconds every ledger row is kept at least: `audit prune` refuses to delete younger rows.
    public var ledgerRetention: Int64 = Policy.defaultLedgerRetention
    public static let defaultLedgerRetention: Int64 = 90 * 86_400

    public func label(_ id: String) -> Label? { labels.first { $0.id == id } }

    /// A parent with sub-labels is a heading, never applied to a file (as in Purview).
    public func isApplicable(_ id: String) -> Bool {
        label(id) != nil && !labels.contains { $0.parent == id }
    }

    public func children(of id: String?) -> [Label] {
        labels.filter { $0.parent == id }.sorted { $0.rank < $1.rank }
    }

    /// Every detector the auto rules use, built-ins first.
    public var detectorDefinitions: [DetectorDefinition] {
        let used = Set(autoRules.map(\.detector))
        return DetectorDefinition.builtins.filter { used.contains($0.id) }
            + customDetectors.filter { used.contains($0.id) }
    }

    /// Every built-in and custom detector, for discovery (`protfs scan` reports all sensitive-info counts).
    public var allDetectorDefinitions: [DetectorDefinition] { DetectorDefinition.builtins + customDetectors }

    /// The label a path gets from folder rules alone, and the rule that decided it (nil: the share default).
    public func folderLabel(for path: String) -> (label: String, rule: FolderRule?) {
        folderLabel(parts: PathPattern.components(path))
    }

    func folderLabel(parts: [Substring]) -> (label: String, rule: FolderRule?) {
        var best: FolderRule?
        for r in folderRules where r.pattern.covers(parts: parts) {
            if best == nil || PathPattern.moreSpecific(r.pattern, than: best!.pattern) { best = r }
        }
        return (best?.label ?? defaultLabel, best)
    }

    /// The result of classifying one file.
    public struct Classification: Sendable, Equatable {
        public var label: String
        public var folderLabel: String
        public var folderRule: String?
        /// Auto rules that fired: detector, count, label.
        public var fired: [(detector: String, count: Int, label: String)]
        /// True when a detector raised the label above both the folder label and the existing one.
        public var raisedByDetector: Bool

        public static func == (a: Self, b: Self) -> Bool {
            a.label == b.label && a.folderLabel == b.folderLabel && a.folderRule == b.folderRule
                && a.fired.map { "\($0.detector)\($0.count)\($0.label)" }
                    == b.fired.map { "\($0.detector)\($0.count)\($0.label)" }
        }
    }

    /// The highest-ranked of: the folder label, every auto rule that fired, and the label the file already has.
    /// Labels only go up automatically.
    public func classify(path: String, detectorCounts: [String: Int], existing: String? = nil) -> Classification {
        let parts = PathPattern.components(path)
        let folder = folderLabel(parts: parts)
        var fired: [(String, Int, String)] = []
        for r in autoRules {
            let n = detectorCounts[r.detector] ?? 0
            guard n >= r.minCount else { continue }
            if !r.folders.isEmpty && !r.folders.contains(where: { $0.covers(parts: parts) }) { continue }
            fired.append((r.detector, n, r.label))
        }
        var best = folder.label
        if let e = existing, rank(e) > rank(best) { best = e }
        let base = best
        for f in fired where rank(f.2) > rank(best) { best = f.2 }
        return Classification(
            label: best, folderLabel: folder.label, folderRule: folder.rule?.pattern.text,
            fired: fired.map { (detector: $0.0, count: $0.1, label: $0.2) },
            raisedByDetector: rank(best) > rank(base))
    }

    public func rank(_ id: String) -> Int { label(id)?.rank ?? Int.min }

    /// Whether moving from `from` to `to` is a downgrade that needs a justification.
    public func needsJustification(from: String, to: String) -> Bool {
        guard let f = label(from), rank(to) < f.rank else { return false }
        return f.justifyDowngrade
    }

    /// Rights `who` holds on a file with this label. After the content expiry only holders of `owner` keep any.
    /// Root is not special: it holds what the policy grants it, nothing more.
    public func rights(
        of who: Identity, label id: String, fileOwner: UInt32?, labeledAt: Int64? = nil,
        now: Int64 = currentTimeNanos(), extraGrants: [LabelGrant] = []
    ) -> Rights {
        guard let l = label(id) else { return [] }
        var r: Rights = []
        for g in l.grants + extraGrants where g.grantee.matches(who, fileOwner: fileOwner) { r.formUnion(g.rights) }
        r = r.effective
        if let exp = l.expiry, let at = labeledAt, now >= exp.deadline(labeledAt: at) {
            return r.afterExpiry
        }
        return r
    }
}
