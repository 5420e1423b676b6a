import ArgumentParser
import Foundation
import Glibc
import ProtPolicy
import ProtLedger

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Validate label policies and explain their decisions.",
        subcommands: [Check.self, Explain.self])

    static func load(_ file: String) throws -> Policy {
        do {
            let (p, warnings) = try PolicyLoader.load(file: file)
            for w in warnings { FileHandle.standardError.write(Data((w.description + "\n").utf8)) }
            return p
        } catch let e as PolicyError {
            FileHandle.standardError.write(Data((e.description + "\n").utf8))
            throw ExitCode(2)
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a policy; print its label tree, folder map and rules.",
            discussion: "Problems are printed as FILE:LINE:COL: message and the exit status is 2.")

        @Argument(help: "The policy file (YAML).") var file: String

        func run() throws {
            let p = try PolicyCommand.load(file)
            Out.line("\(file): policy '\(p.name)' is valid")
            Out.line("labels (rank, rights):")
            func show(_ parent: String?, _ depth: Int) {
                for l in p.children(of: parent) {
                    let grants = l.grants.map { "\($0.grantee)=\($0.rights)" }.joined(separator: " ")
                    var extra = p.isApplicable(l.id) ? "" : " [heading, not applied]"
                    if l.justifyDowngrade { extra += " [downgrade needs justification]" }
                    if let e = l.expiry {
                        switch e {
                        case .afterLabeling(let s): extra += " [expires \(s / 86_400)d after labeling]"
                        case .on(let t): extra += " [expires \(EventFormat.isoTime(t * 1_000_000_000).prefix(10))]"
                        }
                    }
                    Out.line(
                        String(repeating: "  ", count: depth + 1) + "\(l.id) (\(l.rank))\(extra)"
                            + (grants.isEmpty ? "" : "  \(grants)"))
                    show(l.id, depth + 1)
                }
            }
            show(nil, 0)
            Out.line("folders:")
            Out.line("  / (default) -> \(p.defaultLabel)")
            for r in p.folderRules.sorted(by: { $0.pattern.text < $1.pattern.text }) {
                Out.line("  \(r.pattern.text) -> \(r.label)")
            }
            Out.line("auto-classification:")
            for r in p.autoRules {
                let scope = r.folders.isEmpty ? "" : " in \(r.folders.map(\.text).joined(separator: ", "))"
                Out.line("  \(r.detector) >= \(r.minCount)\(scope) -> \(r.label)")
            }
        }
    }

    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the label a path would get, why, and the rights an identity would hold.")

        @Argument(help: "The policy file (YAML).") var file: String
        @Argument(help: "A path inside the share, e.g. /finance/q3.xlsx.") var path: String
        @Option(help: "Scan this file's content with the policy's detectors.") var content: String?
        @Option(help: "Explain for this local user (uid, groups from the system).") var user: String?
        @Option(help: "Explain for this uid.") var uid: UInt32?
        @Option(help: "Primary gid (with --uid).") var gid: UInt32?
        @Option(help: "Supplementary groups, names or numbers, comma-separated (with --uid).") var groups: String?

        func validate() throws {
            if user != nil && (uid != nil || gid != nil || groups != nil) {
                throw ValidationError("use --user or --uid/--gid/--groups, not both")
            }
            guard path.hasPrefix("/") else {
                throw ValidationError("PATH must start with '/' (a path inside the share)")
            }
        }

        func identity() throws -> Identity {
            if let user {
                guard let id = Identity.user(user) else { throw ValidationError("no such user '\(user)'") }
                return id
            }
            guard let uid else { return Identity.current }
            var gs: [UInt32] = []
            for g in (groups ?? "").split(separator: ",") {
                if let n = UInt32(g) {
                    gs.append(n)
                } else if let gr = getgrnam(String(g)) {
                    gs.append(gr.pointee.gr_gid)
                } else {
                    throw ValidationError("no such group '\(g)'")
                }
            }
            return Identity(uid: uid, gid: gid ?? uid, groups: gs)
        }

        func run() throws {
            let p = try PolicyCommand.load(file)
            let who = try identity()
            var counts: [String: Int] = [:]
            if let content {
                let scanner = try ContentScanner(p.detectorDefinitions)
                guard let fh = FileHandle(forReadingAtPath: content) else {
                    throw ValidationError("cannot read \(content)")
                }
                while let chunk = try fh.read(upToCount: 1 << 20), !chunk.isEmpty { scanner.feed(Array(chunk)) }
                counts = scanner.finish()
            }
            let c = p.classify(path: path, detectorCounts: counts)
            Out.line("path:    \(path)")
            Out.line("label:   \(c.label) (\(p.label(c.label)?.name ?? "?"))")
            Out.line("folder:  \(c.folderLabel) from \(c.folderRule.map { "rule \($0)" } ?? "the share default")")
            if counts.isEmpty { Out.line("content: \(content == nil ? "not scanned" : "no detector hits")") }
            for (d, n) in counts.sorted(by: { $0.key < $1.key }) { Out.line("detected: \(d) x\(n)") }
            for f in c.fired {
                Out.line(
                    "rule:    \(f.detector) x\(f.count) -> "
                        + "\(f.label)\(f.label == c.label && c.raisedByDetector ? " (raised the label)" : "")"
                )
            }
            let rights = p.rights(of: who, label: c.label, fileOwner: nil)
            let ownerRights = p.rights(of: who, label: c.label, fileOwner: who.uid)
            Out.line(
                "who:     uid \(who.uid) gid \(who.gid) groups \(who.groups.map(String.init).joined(separator: ","))")
            Out.line("rights:  \(rights) (as the file's creator: \(ownerRights))")
        }
    }
}
