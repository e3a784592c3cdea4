import ConvoyDispatcher
import ConvoyHTTP1
import ConvoyNetwork
import ConvoyRouter

/// Active health checks of every endpoint whose cluster has a ``HealthCheckPolicy``, run on one
/// worker's dispatcher (Envoy runs them on its main thread); each health change is handed to
/// `report`, which tells every worker. One probe per endpoint address at a time, each on a new
/// connection (`Connection: close`). Confined to its dispatcher's thread.
final class HealthChecker {
    private let dispatcher: Dispatcher
    private let report: (SocketAddress, Bool) -> Void
    private let count: (HealthCheckEvent) -> Void
    @exclusivity(unchecked) private var probes: [SocketAddress: HealthProbe] = [:]

    /// What the checker counts.
    enum HealthCheckEvent { case passed, failed, becameUnhealthy, becameHealthy }

    init(dispatcher: Dispatcher, report: @escaping (SocketAddress, Bool) -> Void, count: @escaping (HealthCheckEvent) -> Void) {
        self.dispatcher = dispatcher
        self.report = report
        self.count = count
    }

    /// Checks exactly the endpoints of `clusters` that have a policy (probes of endpoints that
    /// went away stop; new ones start at once).
    func update(clusters: [WorkerCluster]) {
        var wanted: [SocketAddress: (policy: HealthCheckPolicy, authority: String)] = [:]
        for cluster in clusters {
            guard let policy = cluster.config.healthCheck else { continue }
            for host in cluster.hosts where wanted[host.address] == nil {
                wanted[host.address] = (policy, cluster.config.serviceHost)
            }
        }
        for address in probes.keys where wanted[address] == nil {
            probes.removeValue(forKey: address)?.stop()
        }
        for (address, target) in wanted where probes[address] == nil {
            let probe = HealthProbe(
                dispatcher: dispatcher, address: address, authority: target.authority, policy: target.policy,
                report: { [report] healthy in report(address, healthy) }, count: count)
            probes[address] = probe
            probe.start()
        }
    }

    /// Stops every probe.
    func stop() {
        for probe in probes.values { probe.stop() }
        probes.removeAll()
    }
}

/// The checks of one endpoint: a probe every `interval`, thresholds, the health it reported.
final class HealthProbe: HTTP1ClientCodecDelegate, ConnectionCallbacks {
    private let dispatcher: Dispatcher
    private let address: SocketAddress
    private let authority: String
    private let policy: HealthCheckPolicy
    private let report: (Bool) -> Void
    private let count: (HealthChecker.HealthCheckEvent) -> Void
    @exclusivity(unchecked) private var healthy = true
    @exclusivity(unchecked) private var passesInARow = 0
    @exclusivity(unchecked) private var failuresInARow = 0
    @exclusivity(unchecked) private var connection: ClientConnection?
    @exclusivity(unchecked) private var codec: HTTP1ClientCodec?
    @exclusivity(unchecked) private var status: Int?
    @exclusivity(unchecked) private var intervalTimer: TimerEvent?
    @exclusivity(unchecked) private var timeoutTimer: TimerEvent?
    @exclusivity(unchecked) private var stopped = false

    init(dispatcher: Dispatcher, address: SocketAddress, authority: String, policy: HealthCheckPolicy,
         report: @escaping (Bool) -> Void, count: @escaping (HealthChecker.HealthCheckEvent) -> Void) {
        self.dispatcher = dispatcher
        self.address = address
        self.authority = authority
        self.policy = policy
        self.report = report
        self.count = count
    }

    func start() {
        intervalTimer = try? TimerEvent(dispatcher: dispatcher) { [unowned self] in self.probe() }
        timeoutTimer = try? TimerEvent(dispatcher: dispatcher) { [unowned self] in self.finish(passed: false) }
        probe()
    }

    func stop() {
        stopped = true
        intervalTimer = nil
        timeoutTimer = nil
        closeConnection()
    }

    private func probe() {
        guard !stopped, connection == nil else { return }
        status = nil
        timeoutTimer?.enable(after: policy.timeout)
        do {
            let connection = try ClientConnection(dispatcher: dispatcher, remoteAddress: address, connectTimeout: policy.timeout)
            let codec = HTTP1ClientCodec(connection: connection, delegate: self)
            connection.addCallbacks(self)
            self.connection = connection
            self.codec = codec
            connection.connect()
        } catch {
            finish(passed: false)
        }
    }

    func onEvent(_ event: ConnectionEvent) {
        switch event {
        case .connected:
            var head = HTTPRequestHead(method: .get, target: policy.path, headers: ["Host": authority, "User-Agent": "convoy-health-check"])
            head.headers.add(name: "Connection", value: "close")
            codec?.sendRequestHead(head, endStream: true)
        case .remoteClose, .localClose:
            if connection != nil { finish(passed: false) }  // closed before a whole answer
        }
    }

    func onAboveWriteBufferHighWatermark() {}
    func onBelowWriteBufferLowWatermark() {}

    func clientCodec(_ codec: HTTP1ClientCodec, didReceiveHead head: inout HTTPResponseHead) {
        if !head.isInformational { status = head.status }
    }

    func clientCodec(_ codec: HTTP1ClientCodec, didReceiveBody body: IOBuffer) {
        body.drain(body.count)
    }

    func clientCodec(_ codec: HTTP1ClientCodec, didReceiveTrailers trailers: HTTPHeaders) {}

    func clientCodecDidReceiveEnd(_ codec: HTTP1ClientCodec) {
        finish(passed: status.map { (200...299).contains($0) } ?? false)
    }

    func clientCodec(_ codec: HTTP1ClientCodec, streamDidReset reason: HTTP1StreamReset) {
        finish(passed: false)
    }

    private func finish(passed: Bool) {
        guard !stopped, connection != nil || !passed else { return }
        timeoutTimer?.disable()
        closeConnection()
        count(passed ? .passed : .failed)
        if passed {
            passesInARow += 1
            failuresInARow = 0
            if !healthy, passesInARow >= policy.healthyThreshold {
                healthy = true
                count(.becameHealthy)
                report(true)
            }
        } else {
            failuresInARow += 1
            passesInARow = 0
            if healthy, failuresInARow >= policy.unhealthyThreshold {
                healthy = false
                count(.becameUnhealthy)
                report(false)
            }
        }
        intervalTimer?.enable(after: policy.interval)
    }

    private func closeConnection() {
        guard let connection else { return }
        self.connection = nil
        codec?.delegate = nil
        codec = nil
        connection.close(.noFlush)
    }
}
