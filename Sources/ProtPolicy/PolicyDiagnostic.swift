/// One problem in a policy file, printed as `FILE:LINE:COL: message`.
public struct PolicyDiagnostic: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String
    public var isWarning: Bool = false

    public var description: String {
        "\(file):\(line):\(column): \(isWarning ? "warning: " : "")\(message)"
    }
}

/// A policy that failed validation; the mount refuses to start with it.
public struct PolicyError: Error, CustomStringConvertible {
    public var diagnostics: [PolicyDiagnostic]
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
