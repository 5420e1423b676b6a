import Foundation
import Yams

extension PolicyReader {
    static let rootFields: Set<String> = [
        "version", "name", "description", "default_label", "labels", "folders", "auto", "detectors",
        "ledger_retention"
    ]
    static let labelFields: Set<String> = [
        "id", "name", "rank", "parent", "description", "justify_downgrade", "expiry", "rights"
    ]
    static let folderFields: Set<String> = ["path", "label"]
    static let autoFields: Set<String> = ["detector", "min_count", "label", "folders"]
    static let detectorFields: Set<String> = ["id", "type", "keywords", "pattern", "max_length"]

    mutating func read(_ root: Node?) -> Policy? {
        guard let root else { error(nil, "policy is empty"); return nil }
        guard let f = fields(root, "policy", allowed: Self.rootFields) else { return nil }
        if let v = int(f["version"]?.value, "version", in: root), v != PolicyLoader.supportedVersion {
            error(
                f["version"]?.value,
                "unsupported policy version \(v) (this protfs reads version \(PolicyLoader.supportedVersion))")
        }
        let name = f["name"].flatMap { string($0.value, "name", in: root) } ?? "unnamed"

        let labelNodes = sequence(f["labels"]?.value, "labels")
        if labelNodes.isEmpty {
            error(f["labels"]?.value ?? root, "empty label list: a policy needs at least one label")
        }
        var labels: [Label] = []
        var labelNode: [String: Node] = [:]
        for n in labelNodes {
            guard let (l, idNode) = readLabel(n) else { continue }
            if labelNode[l.id] != nil { error(idNode, "duplicate label id '\(l.id)'"); continue }
            labelNode[l.id] = idNode
            labels.append(l)
        }
        checkParents(labels, labelNode)

        let custom = sequence(f["detectors"]?.value, "detectors").compactMap { readDetector($0) }
        var detectorIds = Set(BuiltinDetector.allCases.map(\.rawValue))
        var customOK: [DetectorDefinition] = []
        for (d, node) in custom {
            if detectorIds.contains(d.id) { error(node, "duplicate detector id '\(d.id)'"); continue }
            detectorIds.insert(d.id)
            customOK.append(d)
        }

        let ids = Set(labels.map(\.id))
        let parents = Set(labels.compactMap(\.parent))
        func checkTarget(_ id: String, _ node: Node?, _ what: String) -> Bool {
            if !ids.contains(id) { error(node, "\(what): unknown label '\(id)'"); return false }
            if parents.contains(id) {
                error(node, "\(what): label '\(id)' has sub-labels and cannot be applied; use one of them");
                return false
            }
            return true
        }

        var defaultLabel = labels.sorted { $0.rank < $1.rank }.first { !parents.contains($0.id) }?.id ?? ""
        if let dn = f["default_label"]?.value, let d = string(dn, "default_label", in: root),
            checkTarget(d, dn, "default_label")
        {
            defaultLabel = d
        }

        var retention = Policy.defaultLedgerRetention
        if let rn = f["ledger_retention"]?.value {
            let t = rn.scalar?.string ?? ""
            if let d = TimeSpec.duration(t) {
                retention = d
            } else {
                error(rn, "bad ledger_retention '\(t)': a duration such as 90d, 26w or 7y")
            }
        }

        var folderRules: [FolderRule] = []
        var seenPatterns: [String: Node] = [:]
        for n in sequence(f["folders"]?.value, "folders") {
            guard let rf = fields(n, "folder rule", allowed: Self.folderFields) else { continue }
            guard let pathText = string(rf["path"]?.value, "path", in: n),
                let label = string(rf["label"]?.value, "label", in: n)
            else { continue }
            guard let pattern = PathPattern(pathText) else {
                error(
                    rf["path"]?.value,
                    "bad folder pattern '\(pathText)': must start with '/' and contain no empty, '.' or '..' segments");
                continue
            }
            if seenPatterns[pattern.text] != nil {
                error(rf["path"]?.value, "two folder rules with the same pattern '\(pattern.text)'"); continue
            }
            seenPatterns[pattern.text] = n
            if checkTarget(label, rf["label"]?.value, "folder rule \(pathText)") {
                folderRules.append(FolderRule(pattern: pattern, label: label))
            }
        }

        var autoRules: [AutoRule] = []
        for n in sequence(f["auto"]?.value, "auto") {
            guard let af = fields(n, "auto rule", allowed: Self.autoFields) else { continue }
            guard let det = string(af["detector"]?.value, "detector", in: n),
                let label = string(af["label"]?.value, "label", in: n)
            else { continue }
            if !detectorIds.contains(det) {
                error(
                    af["detector"]?.value,
                    "unknown detector '\(det)' (built-ins: "
                        + "\(BuiltinDetector.allCases.map(\.rawValue).joined(separator: ", ")))"
                ); continue
            }
            var minCount = 1
            if let mc = af["min_count"] {
                guard let v = int(mc.value, "min_count", in: n) else { continue }
                if v < 1 { error(mc.value, "min_count must be at least 1"); continue }
                minCount = v
            }
            var folders: [PathPattern] = []
            if let fl = af["folders"] {
                for (t, tn) in stringList(fl.value, "folders") {
                    if let p = PathPattern(t) { folders.append(p) } else { error(tn, "bad folder pattern '\(t)'") }
                }
            }
            if checkTarget(label, af["label"]?.value, "auto rule") {
                autoRules.append(AutoRule(detector: det, minCount: minCount, label: label, folders: folders))
            }
        }
        return Policy(
            name: name, defaultLabel: defaultLabel, labels: labels, folderRules: folderRules,
            autoRules: autoRules, customDetectors: customOK, ledgerRetention: retention)
    }

    mutating func readLabel(_ n: Node) -> (Label, Node)? {
        guard let lf = fields(n, "label", allowed: Self.labelFields) else { return nil }
        guard let idNode = lf["id"]?.value, let id = string(idNode, "id", in: n) else {
            if lf["id"] == nil { error(n, "label: missing field 'id'") }
            return nil
        }
        if id.range(of: "^[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)*$", options: .regularExpression) == nil
            || id.utf8.count > 255
        {
            error(idNode, "label id '\(id)' must be lowercase letters, digits, '_', '-', '.' with '/' between levels")
        }
        let name = lf["name"].flatMap { string($0.value, "name", in: n) } ?? id
        let rank = int(lf["rank"]?.value, "rank", in: n) ?? 0
        let parent = lf["parent"].flatMap { string($0.value, "parent", in: n) }
        let desc = lf["description"]?.value.scalar?.string ?? ""
        let justify = lf["justify_downgrade"].flatMap { bool($0.value, "justify_downgrade") } ?? false
        var expiry: ContentExpiry?
        if let en = lf["expiry"]?.value {
            let t = en.scalar?.string ?? ""
            if let d = TimeSpec.duration(t) {
                expiry = .afterLabeling(seconds: d)
            } else if let d = TimeSpec.date(t) {
                expiry = .on(epochSeconds: d)
            } else {
                error(en, "bad duration or date '\(t)' (use e.g. 90d, 12h, 2w, 1y or 2027-01-31)")
            }
        }
        var grants: [LabelGrant] = []
        if let rn = lf["rights"]?.value {
            if let map = rn.mapping {
                var seen = Set<Grantee>()
                for (k, v) in map {
                    let who = k.scalar?.string ?? ""
                    guard let g = Grantee.parse(who) else {
                        error(
                            k, "unknown grantee '\(who)' (use user:NAME, uid:N, group:NAME, gid:N, owner or everyone)");
                        continue
                    }
                    if !seen.insert(g).inserted { error(k, "grantee '\(who)' listed twice"); continue }
                    if !g.isResolvable {
                        warning(k, "grantee '\(who)' does not exist on this host; it matches no one here")
                    }
                    var rights: Rights = []
                    for (word, wn) in stringList(v, "rights") {
                        guard let r = Rights.parse(word) else {
                            error(
                                wn,
                                "unknown right '\(word)' (rights: view, edit, export, share, owner, audit; levels: "
                                    + "viewer, reviewer, co-author, co-owner)"
                            )
                            continue
                        }
                        rights.formUnion(r)
                    }
                    grants.append(LabelGrant(grantee: g, rights: rights))
                }
            } else {
                error(rn, "'rights' must map grantees to rights")
            }
        }
        return (
            Label(
                id: id, name: name, rank: rank, parent: parent, description: desc, justifyDowngrade: justify,
                expiry: expiry, grants: grants), idNode
        )
    }

    mutating func checkParents(_ labels: [Label], _ nodes: [String: Node]) {
        let byId = Dictionary(labels.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for l in labels {
            guard let p = l.parent else { continue }
            guard byId[p] != nil else { error(nodes[l.id], "label '\(l.id)': unknown parent label '\(p)'"); continue }
            var seen: Set<String> = [l.id]
            var cur: String? = p
            while let c = cur {
                if seen.contains(c) { error(nodes[l.id], "label '\(l.id)': parent cycle through '\(c)'"); break }
                seen.insert(c)
                cur = byId[c]?.parent
            }
        }
    }

    mutating func readDetector(_ n: Node) -> (DetectorDefinition, Node)? {
        guard let df = fields(n, "detector", allowed: Self.detectorFields) else { return nil }
        guard let idNode = df["id"]?.value, let id = string(idNode, "id", in: n),
            let type = string(df["type"]?.value, "type", in: n)
        else { return nil }
        switch type {
        case "keywords":
            guard let kn = df["keywords"]?.value else {
                error(n, "keywords detector '\(id)': missing field 'keywords'"); return nil
            }
            let words = stringList(kn, "keywords").map(\.0)
            if words.isEmpty { error(kn, "keywords detector '\(id)' has no keywords"); return nil }
            return (DetectorDefinition(id: id, kind: .keywords(words)), idNode)
        case "regex":
            guard let pn = df["pattern"]?.value, let pattern = string(pn, "pattern", in: n) else { return nil }
            if (try? NSRegularExpression(pattern: pattern)) == nil {
                error(pn, "invalid regular expression"); return nil
            }
            var maxLen = 256
            if let mn = df["max_length"] {
                guard let v = int(mn.value, "max_length", in: n) else { return nil }
                guard (1...4096).contains(v) else {
                    error(mn.value, "max_length must be between 1 and 4096"); return nil
                }
                maxLen = v
            }
            return (DetectorDefinition(id: id, kind: .regex(pattern, maxLength: maxLen)), idNode)
        default:
            error(df["type"]?.value, "unknown detector type '\(type)' (keywords or regex)")
            return nil
        }
    }
}
