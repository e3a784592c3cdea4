import ConvoyDispatcher
import ConvoyNetwork
import ConvoyRouter
import Dispatch
import Logging
import Synchronization

/// The proxy's current configuration and resolved hosts, and hot reload: the file is read and
/// validated first (a bad one is rejected with the `check` errors and the old one keeps serving),
/// its DNS names resolved, then it is swapped into worker 0 (which binds any new listener, so a
/// port 0 gets its actual port there) and every other worker in turn. Reloads, and DNS refreshes,
/// run one at a time. Any thread (SIGHUP on the main thread, `POST /reload` on the admin thread).
final class ConfigurationReloader: Sendable {
    /// What `reload()` reports.
    enum Outcome: Sendable {
        /// Now serving: a one-line summary.
        case reloaded(String)
        /// Nothing changed: why (the configuration's errors, a bind failure, no file).
        case rejected(String)
    }

    private struct State {
        var configuration: ProxyConfiguration
        var hosts: [[ResolvedHost]]
        var listenerAddresses: [SocketAddress]
    }

    /// The file or directory to read again (nil: the configuration came from elsewhere).
    let path: String?
    private let workers: [DispatcherBound<ProxyWorker>]
    private let logger: Logger
    private let lookup: HostResolver.Lookup
    private let state: Mutex<State>
    private let serial = Mutex<Int>(0)

    init(path: String?, configuration: ProxyConfiguration, hosts: [[ResolvedHost]], listenerAddresses: [SocketAddress],
         workers: [DispatcherBound<ProxyWorker>], lookup: @escaping HostResolver.Lookup, logger: Logger) {
        self.path = path
        self.lookup = lookup
        self.workers = workers
        self.logger = logger
        state = Mutex(State(configuration: configuration, hosts: hosts, listenerAddresses: listenerAddresses))
    }

    /// The configuration new requests use. Any thread.
    var configuration: ProxyConfiguration { state.withLock { $0.configuration } }

    /// The listeners' actual addresses, in configuration order. Any thread.
    var listenerAddresses: [SocketAddress] { state.withLock { $0.listenerAddresses } }

    /// Reads, validates and applies the configuration at ``path``. Any thread but a worker's
    /// (it waits for each worker).
    func reload() -> Outcome {
        serial.withLock { count in
            guard let path else { return .rejected("no configuration file to reload (convoy runs its built-in demo)") }
            let configuration: ProxyConfiguration
            do {
                configuration = try ProxyConfiguration.load(path: path)
            } catch let error as ConfigurationError {
                let text = error.errors.map(\.description).joined(separator: "\n")
                logger.error("reload rejected, the old configuration keeps serving:\n\(text)")
                return .rejected(text + "\n")
            } catch {
                return .rejected("\(error)\n")
            }
            let hosts = configuration.clusters.map { HostResolver.resolve($0, lookup: lookup, logger: logger) }
            guard let first = workers.first else { return .rejected("no workers") }
            let bound = first.sync { worker in
                Result { try worker.apply(configuration, hosts: hosts, addresses: nil) }.mapError { ApplyFailure(reason: "\($0)") }
            }
            let addresses: [SocketAddress]
            switch bound {
            case .success(let bound): addresses = bound
            case .failure(let failure):
                logger.error("reload rejected: \(failure.reason)")
                return .rejected(failure.reason + "\n")
            }
            for worker in workers.dropFirst() {
                let applied = worker.sync { worker in
                    Result { try worker.apply(configuration, hosts: hosts, addresses: addresses) }.mapError { ApplyFailure(reason: "\($0)") }
                }
                if case .failure(let failure) = applied { logger.error("reload: a worker could not bind: \(failure.reason)") }
            }
            state.withLock { $0 = State(configuration: configuration, hosts: hosts, listenerAddresses: addresses) }
            count += 1
            let summary = "reloaded (\(count)): \(configuration.listeners.count) listeners, \(configuration.clusters.count) clusters"
            logger.info("\(summary)")
            return .reloaded(summary + "\n")
        }
    }

    /// Re-resolves the DNS clusters and tells the workers of changes. Any thread but a worker's.
    func refreshDNS() {
        serial.withLock { _ in
            let (configuration, hosts) = state.withLock { ($0.configuration, $0.hosts) }
            var updated = hosts
            for (index, cluster) in configuration.clusters.enumerated() {
                guard case .dns = cluster.discovery else { continue }
                let resolved = HostResolver.resolve(cluster, lookup: lookup, logger: logger)
                guard resolved != hosts[index] else { continue }
                logger.info("DNS: \(cluster.name) now has \(resolved.map { $0.address.description })")
                updated[index] = resolved
                let name = cluster.name
                for worker in workers {
                    worker.dispatcher.post { worker.value.updateHosts(cluster: name, hosts: resolved) }
                }
            }
            state.withLock { $0.hosts = updated }
        }
    }
}

/// Why a worker could not take a new configuration.
private struct ApplyFailure: Error, Sendable {
    let reason: String
}
