import Glibc

/// A folder pattern such as `/finance/**` or `/hr/*/reviews`: `*` is one path segment (shell glob within it),
/// `**` any number of segments. A rule whose pattern matches a folder also covers everything below it.
public struct PathPattern: Hashable, Sendable, CustomStringConvertible {
    public let text: String
    let segments: [String]

    public init?(_ text: String) {
        guard text.hasPrefix("/"), !text.contains("//") || text == "/" else { return nil }
        self.text = text
        segments = text.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
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
    public func covers(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        for n in 0...parts.count where Self.match(segments[...], parts[0..<n]) { return true }
        return false
    }

    private static func match(_ pat: ArraySlice<String>, _ parts: ArraySlice<String>) -> Bool {
        guard let first = pat.first else { return parts.isEmpty }
        if first == "**" {
            for k in 0...parts.count where match(pat.dropFirst(), parts.dropFirst(k)) { return true }
            return false
        }
        guard let part = parts.first, fnmatch(first, part, 0) == 0 else { return false }
        return match(pat.dropFirst(), parts.dropFirst())
    }
}
