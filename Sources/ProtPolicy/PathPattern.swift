import Glibc

/// A folder pattern such as `/finance/**` or `/hr/*/reviews`: `*` is one path segment (shell glob within it),
/// `**` any number of segments. A rule whose pattern matches a folder also covers everything below it.
public struct PathPattern: Hashable, Sendable, CustomStringConvertible {
    public let text: String
    let segments: [String]
    /// Literal segments compare as strings; only real globs go to fnmatch (this runs on every create).
    let compiled: [Segment]

    public init?(_ text: String) {
        guard text.hasPrefix("/"), !text.contains("//") || text == "/" else { return nil }
        self.text = text
        segments = text.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        compiled = segments.map {
            $0 == "**" ? .deep : ($0.contains("*") || $0.contains("?") || $0.contains("[")) ? .glob($0) : .literal($0)
        }
        guard !segments.contains(where: { $0 == "." || $0 == ".." }) else { return nil }
    }

    public var description: String { text }

    /// More literal segments wins, then more single-segment wildcards, then fewer `**`.
    public var specificity: (Int, Int, Int) {
        let literal = segments.filter { !$0.contains("*") && !$0.contains("?") && !$0.contains("[") }.count
        let deep = segments.filter { $0 == "**" }.count
        return (literal, segments.count - literal - deep, -deep)
    }

    public static func moreSpecific(_ a: PathPattern, than b: PathPattern) -> Bool {
        a.specificity > b.specificity
    }

    /// True when the pattern matches `path` or one of its ancestor folders.
    public func covers(_ path: String) -> Bool { covers(parts: Self.components(path)) }

    /// The segments of a path, split once for all the rules judged against it.
    public static func components(_ path: String) -> [Substring] { path.split(separator: "/") }

    public func covers(parts: [Substring]) -> Bool {
        for n in 0...parts.count where Self.match(compiled[...], parts[0..<n]) { return true }
        return false
    }

    enum Segment: Hashable, Sendable { case literal(String), glob(String), deep }


    private static func match(_ pat: ArraySlice<Segment>, _ parts: ArraySlice<Substring>) -> Bool {
        guard let first = pat.first else { return parts.isEmpty }
        switch first {
        case .deep:
            for k in 0...parts.count where match(pat.dropFirst(), parts.dropFirst(k)) { return true }
            return false
        case .literal(let l):
            guard let part = parts.first, part == l else { return false }
        case .glob(let g):
            guard let part = parts.first, fnmatch(g, String(part), 0) == 0 else { return false }
        }
        return match(pat.dropFirst(), parts.dropFirst())
    }
}
