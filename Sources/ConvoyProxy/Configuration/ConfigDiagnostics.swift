/// Collects the diagnostics of one configuration load, in the order found. Confined to the loading
/// thread.
final class ConfigDiagnostics {
    private(set) var all: [ConfigDiagnostic] = []

    var hasErrors: Bool { all.contains { $0.severity == .error } }

    func add(_ diagnostic: ConfigDiagnostic) {
        all.append(diagnostic)
    }

    func error(_ node: ConfigNode, _ message: String) {
        add(node.diagnostic(.error, message))
    }

    func warning(_ node: ConfigNode, _ message: String) {
        add(node.diagnostic(.warning, message))
    }
}
