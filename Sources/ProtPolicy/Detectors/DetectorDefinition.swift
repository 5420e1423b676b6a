/// The detectors protfs ships, by the names policies use.
public enum BuiltinDetector: String, CaseIterable, Sendable {
    case creditCard = "credit_card"
    case iban
    case usSSN = "us_ssn"
    case email
    case privateKey = "private_key"
    case awsAccessKey = "aws_access_key"
}

/// One detector a scanner runs: a built-in, a keyword list, or a custom regular expression.
public struct DetectorDefinition: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case builtin(BuiltinDetector)
        case keywords([String])
        /// NSRegularExpression syntax; `maxLength` bounds a match so chunked scanning stays exact.
        case regex(String, maxLength: Int)
    }
    public var id: String
    public var kind: Kind

    public init(id: String, kind: Kind) { self.id = id; self.kind = kind }

    public static var builtins: [DetectorDefinition] {
        BuiltinDetector.allCases.map { DetectorDefinition(id: $0.rawValue, kind: .builtin($0)) }
    }
}
