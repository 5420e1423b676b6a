import ProtPolicy

/// One question for the decider: who, what, on what, where.
public struct AccessRequest: Sendable {
    public var caller: Caller
    public var action: Action
    public var subject: Subject
    /// The share path of the object (`/finance/q3.xlsx`); for a create, of the entry to be made.
    public var path: [UInt8]
    /// The destination of a rename or link.
    public var newPath: [UInt8]?

    public init(
        _ caller: Caller, _ action: Action, on subject: Subject = .plain, path: [UInt8],
        newPath: [UInt8]? = nil
    ) {
        self.caller = caller; self.action = action; self.subject = subject; self.path = path
        self.newPath = newPath
    }
}
