/// A configuration that cannot be used, with every problem found (errors and warnings, in file
/// order). Any thread.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// Everything found; at least one is an error. Any thread.
    public let diagnostics: [ConfigDiagnostic]

    /// An error carrying `diagnostics`. Any thread.
    public init(diagnostics: [ConfigDiagnostic]) {
        self.diagnostics = diagnostics
    }

    /// The errors only. Any thread.
    public var errors: [ConfigDiagnostic] { diagnostics.filter { $0.severity == .error } }

    /// One diagnostic per line. Any thread.
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
