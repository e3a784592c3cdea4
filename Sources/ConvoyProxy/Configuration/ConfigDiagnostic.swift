/// One problem found in configuration: where (file, line, column), which field (its path from the
/// document root, e.g. `VirtualService/catalog: spec.http[1].route[0].destination.subset`) and what
/// is wrong. Any thread.
public struct ConfigDiagnostic: Sendable, Equatable, CustomStringConvertible {
    /// Errors stop the configuration from loading; warnings do not.
    public enum Severity: String, Sendable, Equatable {
        /// The configuration cannot be used.
        case error
        /// Accepted, but probably not what was meant.
        case warning
    }

    /// Error or warning. Any thread.
    public let severity: Severity
    /// The file the problem is in. Any thread.
    public let file: String
    /// 1-based line (0 when unknown). Any thread.
    public let line: Int
    /// 1-based column (0 when unknown). Any thread.
    public let column: Int
    /// The object and field path, e.g. `VirtualService/catalog: spec.http[0].timeout`. Any thread.
    public let path: String
    /// What is wrong. Any thread.
    public let message: String

    /// A diagnostic. Any thread.
    public init(_ severity: Severity, file: String, line: Int, column: Int, path: String, message: String) {
        self.severity = severity
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }

    /// `file:line:column: error: path: message`, the shape compilers use. Any thread.
    public var description: String {
        let location = line > 0 ? "\(file):\(line):\(column)" : file
        let field = path.isEmpty ? "" : "\(path): "
        return "\(location): \(severity.rawValue): \(field)\(message)"
    }
}
