import Foundation
import Yams

/// Reads a policy from YAML, validating every field and reporting each problem with its position.
public enum PolicyLoader {
    public static let supportedVersion = 1

    /// Loads and validates; throws `PolicyError` listing every error. Warnings come back with the policy.
    public static func load(file path: String) throws -> (policy: Policy, warnings: [PolicyDiagnostic]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PolicyError(diagnostics: [
                PolicyDiagnostic(file: path, line: 0, column: 0, message: "cannot read policy file")
            ])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PolicyError(diagnostics: [
                PolicyDiagnostic(file: path, line: 1, column: 1, message: "policy is not UTF-8 text")
            ])
        }
        return try parse(yaml: text, file: path)
    }

    public static func parse(yaml: String, file: String) throws -> (policy: Policy, warnings: [PolicyDiagnostic]) {
        var reader = PolicyReader(file: file)
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch {
            throw PolicyError(diagnostics: [reader.diagnostic(forYAMLError: error)])
        }
        let policy = reader.read(root)
        let errors = reader.diagnostics.filter { !$0.isWarning }
        guard errors.isEmpty, let policy else { throw PolicyError(diagnostics: errors) }
        return (policy, reader.diagnostics.filter(\.isWarning))
    }
}

/// The validating walk over the YAML tree. Collects all problems rather than stopping at the first.
struct PolicyReader {
    let file: String
    var diagnostics: [PolicyDiagnostic] = []

    init(file: String) { self.file = file }

    mutating func error(_ node: Node?, _ message: String) {
        let m = node?.mark
        diagnostics.append(PolicyDiagnostic(file: file, line: m?.line ?? 1, column: m?.column ?? 1, message: message))
    }

    mutating func warning(_ node: Node?, _ message: String) {
        let m = node?.mark
        diagnostics.append(
            PolicyDiagnostic(file: file, line: m?.line ?? 1, column: m?.column ?? 1, message: message, isWarning: true))
    }

    func diagnostic(forYAMLError error: Error) -> PolicyDiagnostic {
        if let y = error as? YamlError {
            switch y {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
                .composer(_, let problem, let mark, _):
                return PolicyDiagnostic(
                    file: file, line: mark.line, column: mark.column, message: "YAML syntax: \(problem)")
            default: break
            }
        }
        return PolicyDiagnostic(file: file, line: 1, column: 1, message: "YAML: \(error)")
    }

    // MARK: typed field access

    /// The fields of a mapping node; unknown keys and duplicates are errors.
    mutating func fields(_ node: Node, _ what: String, allowed: Set<String>) -> [String: (key: Node, value: Node)]? {
        guard let map = node.mapping else { error(node, "\(what) must be a mapping"); return nil }
        var out: [String: (Node, Node)] = [:]
        for (k, v) in map {
            guard let name = k.scalar?.string else { error(k, "\(what): keys must be plain strings"); continue }
            if !allowed.contains(name) { error(k, "\(what): unknown field '\(name)'"); continue }
            if out[name] != nil { error(k, "\(what): duplicate field '\(name)'"); continue }
            out[name] = (k, v)
        }
        return out
    }

    mutating func string(_ node: Node?, _ field: String, in parent: Node) -> String? {
        guard let node else { error(parent, "missing field '\(field)'"); return nil }
        guard let s = node.scalar?.string, !s.isEmpty else {
            error(node, "field '\(field)' must be a non-empty string"); return nil
        }
        return s
    }

    mutating func int(_ node: Node?, _ field: String, in parent: Node) -> Int? {
        guard let node else { error(parent, "missing field '\(field)'"); return nil }
        guard let s = node.scalar?.string, let v = Int(s) else {
            error(node, "field '\(field)' must be an integer"); return nil
        }
        return v
    }

    mutating func bool(_ node: Node?, _ field: String) -> Bool? {
        guard let node else { return nil }
        switch node.scalar?.string.lowercased() {
        case "true", "yes": return true
        case "false", "no": return false
        default: error(node, "field '\(field)' must be true or false"); return nil
        }
    }

    mutating func stringList(_ node: Node, _ field: String) -> [(String, Node)] {
        if let s = node.scalar?.string { return [(s, node)] }
        guard let seq = node.sequence else {
            error(node, "field '\(field)' must be a string or a list of strings"); return []
        }
        var out: [(String, Node)] = []
        for item in seq {
            guard let s = item.scalar?.string, !s.isEmpty else {
                error(item, "field '\(field)': entries must be strings"); continue
            }
            out.append((s, item))
        }
        return out
    }

    mutating func sequence(_ node: Node?, _ field: String) -> [Node] {
        guard let node else { return [] }
        if case .scalar(let s) = node, s.string.isEmpty || s.string == "~" || s.string == "null" { return [] }
        guard let seq = node.sequence else { error(node, "'\(field)' must be a list"); return [] }
        return Array(seq)
    }
}
