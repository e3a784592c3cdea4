import ConvoyDispatcher
import ConvoyHTTP1
import ConvoyNetwork
import ConvoyRouter

/// One mirrored copy of a request (Envoy's shadow): sent to the mirror cluster with `-shadow` on
/// the authority, its response read and thrown away. It never touches the client's stream: the
/// client does not wait for it, its failures are only counted, and a mirror that cannot keep up
/// (more than the connection buffer limit of request body waiting) or outlives its timeout is
/// dropped. The worker keeps it alive until it ends. Confined to the worker's thread.
final class MirrorStream: UpstreamPoolWaiter, HTTP1ClientCodecDelegate {
    // Strong, and no lasting cycle: the worker forgets a mirror when it ends, and a stopping
    // worker's pools end every mirror (closing its connection or failing its wait).
    private let worker: ProxyWorker
    private let cluster: WorkerCluster
    @exclusivity(unchecked) private var head: HTTPRequestHead?
    private let hasBody: Bool
    @exclusivity(unchecked) private var pendingBody = IOBuffer()
    @exclusivity(unchecked) private var requestComplete: Bool
    @exclusivity(unchecked) private var pool: UpstreamPool?
    @exclusivity(unchecked) private var upstream: UpstreamConnection?
    @exclusivity(unchecked) private var hostIndex = 0
    @exclusivity(unchecked) private var hostAddress: SocketAddress?
    @exclusivity(unchecked) private var timer: DeadlineTimer?
    @exclusivity(unchecked) private var finished = false

    /// A mirror of `head` (already prepared for upstream) to `cluster`. Call ``start(for:timeout:)``.
    init(worker: ProxyWorker, cluster: WorkerCluster, head: HTTPRequestHead, hasBody: Bool) {
        self.worker = worker
        self.cluster = cluster
        var head = head
        head.headers.set(name: "host", value: MirrorPolicy.shadowAuthority(head.headers["host"] ?? ""))
        self.head = head
        self.hasBody = hasBody
        requestComplete = !hasBody
    }

    /// Picks a host and asks its pool for a connection; gives up after `timeout`.
    func start(for request: RouteRequest, timeout: Duration) {
        guard let host = cluster.pickHost(hash: cluster.requestHash(request), random: &worker.random) else { return finish(failed: true) }
        hostIndex = host
        let address = cluster.hosts[host].address
        hostAddress = address
        cluster.requestStarted(host: host)
        timer = try? DeadlineTimer(dispatcher: worker.dispatcher) { [unowned self] in self.finish(failed: true) }
        timer?.enable(after: timeout)
        let pool = worker.pool(for: address, cluster: cluster.config)
        self.pool = pool
        if let connection = pool.acquire(self) { attach(connection) }
    }

    /// More request body (copied by the caller: the original goes to the real upstream).
    func send(_ body: IOBuffer) {
        guard !finished else { return }
        if let upstream {
            upstream.codec.sendBody(body)
            if upstream.connection.writeBuffer.count > worker.configuration.bootstrap.connectionBufferLimit {
                finish(failed: true)  // the mirror does not keep up: drop it rather than buffer without bound
            }
        } else {
            pendingBody.move(from: body)
            if pendingBody.count > worker.configuration.bootstrap.connectionBufferLimit { finish(failed: true) }
        }
    }

    /// The request ended (with optional trailers).
    func end(trailers: HTTPHeaders?) {
        guard !finished, hasBody else { return }
        requestComplete = true
        upstream?.codec.sendEnd(trailers: trailers)
    }

    /// Drops the copy (the original request was cut short).
    func cancel() {
        finish(failed: true)
    }

    func pool(_ pool: UpstreamPool, didProvide connection: UpstreamConnection) {
        guard !finished else { return pool.release(connection) }
        attach(connection)
    }

    func pool(_ pool: UpstreamPool, didFail failure: UpstreamFailure) {
        self.pool = nil
        finish(failed: true)
    }

    private func attach(_ connection: UpstreamConnection) {
        upstream = connection
        connection.codec.delegate = self  // no session: the mirror never slows the client down
        guard let head else { return }
        self.head = nil
        connection.codec.sendRequestHead(head, endStream: !hasBody)
        if !pendingBody.isEmpty { connection.codec.sendBody(pendingBody) }
        if hasBody && requestComplete { connection.codec.sendEnd(trailers: nil) }
    }

    func clientCodec(_ codec: HTTP1ClientCodec, didReceiveHead head: inout HTTPResponseHead) {}

    func clientCodec(_ codec: HTTP1ClientCodec, didReceiveBody body: IOBuffer) {
        body.drain(body.count)
    }

    func clientCodec(_ codec: HTTP1ClientCodec, didReceiveTrailers trailers: HTTPHeaders) {}

    func clientCodecDidReceiveEnd(_ codec: HTTP1ClientCodec) {
        finish(failed: false)
    }

    func clientCodec(_ codec: HTTP1ClientCodec, streamDidReset reason: HTTP1StreamReset) {
        finish(failed: true)
    }

    private func finish(failed: Bool) {
        guard !finished else { return }
        finished = true
        timer?.disable()
        if let upstream {
            self.upstream = nil
            upstream.codec.delegate = nil
            if failed || !requestComplete { upstream.connection.close(.noFlush) }
            pool?.release(upstream)
        } else if let pool {
            pool.cancel(self)
        }
        if let hostAddress { cluster.requestFinished(host: hostIndex, address: hostAddress) }
        if failed { worker.count { $0.mirrorFailures += 1 } }
        worker.mirrorEnded(self)
    }
}
