import ArgumentParser
import ConvoyProxy
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `convoy`: an HTTP/1.1 proxy configured with Istio's Gateway, VirtualService, DestinationRule
/// and ServiceEntry objects.
@main
struct ConvoyCommand: ParsableCommand {
    static let version = ProxyServer.version

    static let configuration = CommandConfiguration(
        commandName: "convoy",
        abstract: "An HTTP/1.1 proxy configured with Istio's traffic objects.",
        version: version,
        subcommands: [Run.self, Check.self, Version.self],
        defaultSubcommand: Run.self)
}

extension ConvoyCommand {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the proxy (without -c: the built-in canary demo configuration).")

        @Option(name: [.short, .customLong("config")], help: "A YAML or JSON file, or a directory of them.")
        var config: String?

        @Option(help: "Worker threads (default: the Bootstrap's concurrency, else one per core).")
        var concurrency: Int?

        @Option(help: "trace, debug, info, notice, warning, error or critical.")
        var logLevel: String = "info"

        func run() throws {
            let logLevelControl = LogLevelControl(.info)
            let logger = try makeLogger(logLevel, control: logLevelControl)
            let loaded: ProxyConfiguration
            do throws(ConfigurationError) {
                if let config {
                    loaded = try ProxyConfiguration.load(path: config)
                } else {
                    loaded = try ProxyConfiguration.parse(DemoConfiguration.yaml, file: "<built-in demo>")
                }
            } catch {
                printDiagnostics(error.diagnostics)
                throw ExitCode(1)
            }
            for warning in loaded.warnings { logger.warning("\(warning)") }
            if let concurrency, concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
            let server = try ProxyServer(
                configuration: loaded, configurationPath: config, concurrency: concurrency, logger: logger, logLevel: logLevelControl)
            try server.run()
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate configuration: print every problem with file:line:column, exit 1 on errors.")

        @Option(name: [.short, .customLong("config")], help: "A YAML or JSON file, or a directory of them.")
        var config: String

        func run() throws {
            do throws(ConfigurationError) {
                let loaded = try ProxyConfiguration.load(path: config)
                printDiagnostics(loaded.warnings)
                print("\(config): OK: \(counted(loaded.listeners.count, "listener")), \(counted(loaded.clusters.count, "cluster")), \(counted(loaded.warnings.count, "warning"))")
            } catch {
                printDiagnostics(error.diagnostics)
                let summary = "\(config): \(counted(error.errors.count, "error"))\n"
                _ = summary.withCString { write(2, $0, strlen($0)) }
                throw ExitCode(1)
            }
        }
    }

    struct Version: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the version.")

        func run() {
            print("convoy \(ConvoyCommand.version)")
        }
    }
}

private func printDiagnostics(_ diagnostics: [ConfigDiagnostic]) {
    for diagnostic in diagnostics {
        let line = diagnostic.description + "\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}

/// The process's logger, on standard error, at `level` — adjustable later through `control`
/// (the admin's `POST /logging`).
private func makeLogger(_ level: String, control: LogLevelControl? = nil) throws -> Logger {
    guard let parsed = Logger.Level(rawValue: level) else {
        throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
    }
    let control = control ?? LogLevelControl(parsed)
    control.level = parsed
    LoggingSystem.bootstrap { label in
        var stream = StreamLogHandler.standardError(label: label)
        stream.logLevel = .trace  // the adjustable wrapper decides
        return AdjustableLogHandler(wrapping: stream, control: control)
    }
    return Logger(label: "convoy")
}

/// "1 error", "3 errors".
private func counted(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)\(count == 1 ? "" : "s")"
}
