import ConvoyRouter

/// The validated, immutable snapshot convoy runs on: listeners with their route tables, upstream
/// clusters, and bootstrap settings. Built on one thread and shared read-only with every worker.
/// Any thread.
public struct ProxyConfiguration: Sendable {
    /// convoy's own settings. Any thread.
    public let bootstrap: BootstrapSettings
    /// Listeners, one per bind address and port. Any thread.
    public let listeners: [ListenerConfig]
    /// Clusters; route destinations refer to them by index. Any thread.
    public let clusters: [ClusterConfig]
    /// Warnings found while loading (the configuration is usable). Any thread.
    public let warnings: [ConfigDiagnostic]

    /// A snapshot from parts (tests and embedders). Any thread.
    public init(bootstrap: BootstrapSettings, listeners: [ListenerConfig], clusters: [ClusterConfig], warnings: [ConfigDiagnostic] = []) {
        self.bootstrap = bootstrap
        self.listeners = listeners
        self.clusters = clusters
        self.warnings = warnings
    }

    /// Loads and validates the YAML or JSON at `path` (a file, or a directory of them). Any thread.
    /// - Throws: ``ConfigurationError`` listing every problem, when any is an error.
    public static func load(path: String) throws(ConfigurationError) -> ProxyConfiguration {
        let diagnostics = ConfigDiagnostics()
        let documents = ConfigDocument.load(path: path, diagnostics: diagnostics)
        return try ConfigurationBuilder(diagnostics: diagnostics).build(documents)
    }

    /// Validates configuration given as text; `file` names it in diagnostics. Any thread.
    /// - Throws: ``ConfigurationError`` listing every problem, when any is an error.
    public static func parse(_ text: String, file: String = "<config>") throws(ConfigurationError) -> ProxyConfiguration {
        let diagnostics = ConfigDiagnostics()
        let documents = ConfigDocument.parse(text: text, file: file, diagnostics: diagnostics)
        return try ConfigurationBuilder(diagnostics: diagnostics).build(documents)
    }
}
