/// Collects the diagnostics of one configuration load, in the order found. Confined to the loading
/// thread.
final class ConfigDiagnostics {
    private var found: [ConfigDiagnostic] = []

    /// Everything found, in file and position order.
    var all: [ConfigDiagnostic] {
        found.enumerated().sorted { lhs, rhs in
            let a = lhs.element, b = rhs.element
            if a.file != b.file { return lhs.offset < rhs.offset }
            if a.line != b.line { return a.line < b.line }
            if a.column != b.column { return a.column < b.column }
            return lhs.offset < rhs.offset
        }.map(\.element)
    }

    var hasErrors: Bool { found.contains { $0.severity == .error } }

    func add(_ diagnostic: ConfigDiagnostic) {
        found.append(diagnostic)
    }

    func error(_ node: ConfigNode, _ message: String) {
        add(node.diagnostic(.error, message))
    }

    func warning(_ node: ConfigNode, _ message: String) {
        add(node.diagnostic(.warning, message))
    }
}
