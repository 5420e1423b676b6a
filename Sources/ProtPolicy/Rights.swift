/// Rights a filesystem can enforce. Raw values are stored in container grants: never renumber.
public struct Rights: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let view = Rights(rawValue: 1 << 0)  // RMS VIEW
    public static let edit = Rights(rawValue: 1 << 1)  // RMS EDIT / DOCEDIT
    public static let export = Rights(rawValue: 1 << 2)  // RMS EXPORT / EXTRACT
    public static let share = Rights(rawValue: 1 << 3)  // RMS FORWARD
    public static let owner = Rights(rawValue: 1 << 4)  // RMS OWNER / EDITRIGHTSDATA
    public static let audit = Rights(rawValue: 1 << 5)  // RMS VIEWRIGHTSDATA

    public static let all: Rights = [.view, .edit, .export, .share, .owner, .audit]

    static let names: [(String, Rights)] = [
        ("view", .view), ("edit", .edit), ("export", .export),
        ("share", .share), ("owner", .owner), ("audit", .audit)
    ]

    /// The permission levels of Azure Information Protection, accepted as shorthands.
    static let levels: [(String, Rights)] = [
        ("viewer", [.view]),
        ("reviewer", [.view, .edit, .share]),
        ("co-author", [.view, .edit, .export, .share, .audit]),
        ("co-owner", .all)
    ]

    /// Parses a right name or a permission level.
    public static func parse(_ word: String) -> Rights? {
        let w = word.lowercased()
        if let r = names.first(where: { $0.0 == w }) { return r.1 }
        if let l = levels.first(where: { $0.0 == w }) { return l.1 }
        return nil
    }

    /// `owner` implies every other right.
    public var effective: Rights { contains(.owner) ? .all : self }

    /// What is left once content has expired: holders of `owner` keep everything, everyone else nothing.
    public var afterExpiry: Rights { contains(.owner) ? self : [] }

    public var description: String {
        let parts = Rights.names.filter { contains($0.1) }.map(\.0)
        return parts.isEmpty ? "none" : parts.joined(separator: ",")
    }
}
