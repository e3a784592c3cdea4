import ConvoyDispatcher
import ConvoyHTTP1
import ConvoyNetwork
import ConvoyRouter

#if canImport(Glibc)
import Glibc
#endif

/// One downstream connection through the proxy: Envoy's HTTP connection manager and router filter
/// for HTTP/1.1, where a connection carries one stream at a time.
///
/// For each request: route it (virtual host by `Host`, first matching rule), answer locally
/// (direct response, redirect, 404, upstream failure) or pick a weighted destination and a host,
/// rewrite the head for upstream (hop-by-hop fields removed, `x-forwarded-for`/`-proto`,
/// `x-request-id`, rewrites, header changes), take a pooled upstream connection and stream both
/// bodies through, pausing reads on either side while the other side's write buffer is above its
/// high watermark. Timeouts: request headers, stream idle, route timeout; the codec handles the
/// connection idle timeout.
///
/// Upgrades (WebSocket, and any protocol but `h2c`, on a bodyless request): `Upgrade` and
/// `Connection: upgrade` go upstream; a 101 goes back to the client and from then on bytes flow
/// raw both ways until either side closes, under the stream idle timeout only (the route timeout
/// ends at the 101, as Envoy's never starts before the request ends). Any other answer is an
/// ordinary response after which the connection closes. No retries or mirrors for upgrades.
///
/// CORS (a route's ``CorsPolicy``, forwarding routes only): allowed preflights are answered here,
/// and responses to allowed origins, local replies included, carry the policy's fields.
///
/// Confined to the worker's thread. The codec keeps the session alive while the connection is
/// open; the worker forgets it when the connection closes.
final class DownstreamSession: ReadFilter, ConnectionCallbacks, HTTP1ServerCodecDelegate, HTTP1ClientCodecDelegate, UpstreamPoolWaiter {
    // Strong, and no lasting cycle: the worker forgets a session when its connection closes or
    // parks, and aborts every session before its loop ends. A `let` of a live object is used
    // without a retain; through unowned(unsafe) Swift retained the worker around each use.
    private let worker: ProxyWorker
    /// The worker's dispatcher, held here too: read through `worker`, each use cost a retain and
    /// a release of the dispatcher.
    private let dispatcher: Dispatcher
    private let connection: Connection
    private let slot: ListenerSlot
    /// The clusters of the configuration the current stream started with (a reload does not move
    /// a stream in progress).
    @exclusivity(unchecked) private var streamClusters: [WorkerCluster] = []
    @exclusivity(unchecked) private var codec: HTTP1ServerCodec!
    /// The client a PROXY protocol header named, if one did.
    @exclusivity(unchecked) private var proxiedClient: SocketAddress?
    /// The client: the source a PROXY protocol header named, else the socket's peer. Stored, not
    /// computed, so a request reads it like any field.
    @exclusivity(unchecked) private var remoteAddress: SocketAddress?
    /// `remoteAddress` without its port, as `x-forwarded-for` gets it.
    @exclusivity(unchecked) private var clientAddress: String
    /// The connection must open with a PROXY protocol header that has not arrived yet.
    @exclusivity(unchecked) private var awaitingProxyHeader: Bool

    // The stream in progress (one at a time).
    @exclusivity(unchecked) private var streamActive = false
    @exclusivity(unchecked) private var route: Route?
    @exclusivity(unchecked) private var destination: WeightedDestination?
    @exclusivity(unchecked) private var requestMethod = HTTPMethod.get
    @exclusivity(unchecked) private var upstreamHead: HTTPRequestHead?
    @exclusivity(unchecked) private var requestHasBody = false
    /// An upgrade or CONNECT request: what follows its head belongs to a tunnel, so it never ends
    /// by itself, and a local answer cannot wait for its end.
    @exclusivity(unchecked) private var requestIsUpgrade = false
    @exclusivity(unchecked) private var requestComplete = false
    /// Request body that arrived before an upstream connection did; made on first use.
    @exclusivity(unchecked) private var pendingBody: IOBuffer?
    @exclusivity(unchecked) private var pendingTrailers: HTTPHeaders?
    @exclusivity(unchecked) private var deferredReply: (status: Int, headers: HTTPHeaders, body: String)?
    @exclusivity(unchecked) private var cluster: WorkerCluster?
    @exclusivity(unchecked) private var hostIndex = 0
    @exclusivity(unchecked) private var hostAddress: SocketAddress?
    @exclusivity(unchecked) private var pool: UpstreamPool?
    @exclusivity(unchecked) private var waitingForPool = false
    @exclusivity(unchecked) private var upstream: UpstreamConnection?
    @exclusivity(unchecked) private var responseStarted = false
    @exclusivity(unchecked) private var responseTrailers: HTTPHeaders?
    @exclusivity(unchecked) private var bodylessResponseHead: HTTPResponseHead?
    @exclusivity(unchecked) private var downstreamPausedForUpstream = false
    @exclusivity(unchecked) private var upstreamPausedForDownstream = false
    @exclusivity(unchecked) private var lastActivity = MonotonicInstant(nanoseconds: 0)
    /// The stream asks to switch to this protocol (the request's `Upgrade`), forwarded upstream.
    @exclusivity(unchecked) private var upgradeProtocol: String?
    /// The upstream answered 101: bytes flow raw both ways until either side closes.
    @exclusivity(unchecked) private var tunnelOpen = false
    /// The request's `Origin`, when the route's CORS policy allows it: its response gets the
    /// policy's fields.
    @exclusivity(unchecked) private var corsOrigin: String?
    /// The `statPrefix` the stream is counted under, when its route's match names one.
    @exclusivity(unchecked) private var routeStatName: String?

    @exclusivity(unchecked) private var routeTimer: DeadlineTimer?

    // Retries of the stream in progress.
    @exclusivity(unchecked) private var retryPolicy: RetryPolicy?
    /// The request's consistent-hash key in the destination cluster, for host picks on retries.
    @exclusivity(unchecked) private var requestHash: UInt64?
    /// The head prepared for upstream, kept to send again on a retry.
    @exclusivity(unchecked) private var requestTemplate: HTTPRequestHead?
    /// Every request-body byte handed upstream so far, while a retry could still replay them.
    @exclusivity(unchecked) private var replayBody: IOBuffer?
    /// False once a body byte went upstream without being kept in `replayBody` (too large).
    @exclusivity(unchecked) private var replayable = true
    /// Retries made (0 during the first try).
    @exclusivity(unchecked) private var attempt = 0
    @exclusivity(unchecked) private var triedHosts: [Int] = []
    @exclusivity(unchecked) private var awaitingRetry = false
    /// The cluster whose retry budget this stream holds a slot of.
    @exclusivity(unchecked) private var retrySlot: WorkerCluster?
    /// What the current upstream connection had done when this try got it.
    @exclusivity(unchecked) private var attemptStart = (bytesWritten: UInt64(0), bytesRead: UInt64(0), reused: false)
    @exclusivity(unchecked) private var retryTimer: DeadlineTimer?

    /// When the stream's head arrived, and when its current try's head went upstream (latency).
    @exclusivity(unchecked) private var streamStart = MonotonicInstant(nanoseconds: 0)
    @exclusivity(unchecked) private var attemptSent = MonotonicInstant(nanoseconds: 0)
    @exclusivity(unchecked) private var responseCounted = false
    /// The stream's access-log record, when there is an access log.
    @exclusivity(unchecked) private var logEntry: AccessLogEntry?
    /// Mirror copies of the stream in progress, fed its request body.
    @exclusivity(unchecked) private var mirrors: [MirrorStream] = []

    // Fault injection: a delayed request waits here before it is forwarded.
    @exclusivity(unchecked) private var faultDelaying = false
    @exclusivity(unchecked) private var afterFaultDelay: (() -> Void)?
    @exclusivity(unchecked) private var faultTimer: DeadlineTimer?
    @exclusivity(unchecked) private var perTryTimer: DeadlineTimer?
    /// The connection's one timer (a timer costs an idle connection ~300 bytes; the codec's own
    /// idle timer is off). During a stream it is the stream idle timeout; between streams it
    /// covers both the connection idle timeout (since `idleSince`) and the request-headers
    /// timeout (since a request's first byte): it is armed for the shorter and, when it fires,
    /// works out which one ran out — so a busy keep-alive connection never re-arms libevent's
    /// timer per request.
    @exclusivity(unchecked) private var streamTimer: DeadlineTimer?
    @exclusivity(unchecked) private var betweenStreams = true
    @exclusivity(unchecked) private var idleSince = MonotonicInstant(nanoseconds: 0)
    @exclusivity(unchecked) private var firstByteAt: MonotonicInstant?
    /// The worker's park would not take the connection this time between streams.
    @exclusivity(unchecked) private var parkRefused = false

    /// The worker's count of session objects alive (a leak check), held strongly so that a
    /// session released after its worker still has it.
    private let liveSessions: LiveObjectCount

    deinit {
        liveSessions.value -= 1
    }

    /// A session for `connection`. `awaitingProxyHeader`: its first bytes are a PROXY protocol
    /// header (a connection just accepted with the Bootstrap's `proxyProtocol` on);
    /// `proxiedClient`: the client such a header named earlier (a connection woken from the park).
    init(worker: ProxyWorker, connection: Connection, slot: ListenerSlot, awaitingProxyHeader: Bool, proxiedClient: SocketAddress?) {
        liveSessions = worker.liveSessions
        liveSessions.value += 1
        self.worker = worker
        dispatcher = worker.dispatcher
        self.connection = connection
        self.slot = slot
        self.awaitingProxyHeader = awaitingProxyHeader
        self.proxiedClient = proxiedClient
        remoteAddress = proxiedClient ?? connection.remoteAddress
        clientAddress = remoteAddress?.host ?? ""
        let bootstrap = worker.configuration.bootstrap
        connection.setBufferLimit(bootstrap.connectionBufferLimit)
        connection.setNoDelay(true)
        connection.addReadFilter(self)
        connection.addCallbacks(self)
        codec = HTTP1ServerCodec(connection: connection, limits: bootstrap.requestLimits, delegate: self)
        codec.idleTimeout = nil  // the session's timer covers the idle phase
    }

    // MARK: - Downstream connection

    func onNewConnection(_ connection: Connection) -> FilterStatus {
        enterBetweenStreams()
        firstByteAt = idleSince  // from accept, the first request's head must come in time
        armBetweenStreams()
        return .continue
    }

    /// Bytes arrived: a request's head is now being read; its timeout counts from the first byte.
    func onData(_ data: IOBuffer, endStream: Bool) -> FilterStatus {
        if awaitingProxyHeader, !readProxyHeader(data, endStream: endStream) { return .stopIteration }
        if betweenStreams, firstByteAt == nil { firstByteAt = dispatcher.approximateMonotonicTime }
        return .continue
    }

    /// Takes the PROXY protocol header off the front of `data`; true once it is gone and what
    /// follows may be parsed as HTTP. A connection without a valid header is closed, as Envoy's
    /// listener filter does; one still waiting for the rest of it falls under the request headers
    /// timeout, armed at accept.
    private func readProxyHeader(_ data: IOBuffer, endStream: Bool) -> Bool {
        switch ProxyProtocolHeader.parse(data.linearize(ProxyProtocolHeader.prefixLength), available: data.count) {
        case .complete(let length, let source):
            data.drain(length)
            awaitingProxyHeader = false
            if let source {
                proxiedClient = source
                remoteAddress = source
                clientAddress = source.host
            }
            return true
        case .needMore where !endStream:
            return false
        case .needMore where data.isEmpty:
            connection.close(.noFlush)  // connected and left without a byte: a TCP health check, not an error
            return false
        case .needMore:
            refuseProxyHeader("the connection closed before its PROXY protocol header was complete")
            return false
        case .invalid(let reason):
            refuseProxyHeader(reason)
            return false
        }
    }

    private func refuseProxyHeader(_ reason: String) {
        worker.count { $0.downstreamProxyProtocolErrors += 1 }
        worker.logger.debug("closing connection from \(connection.remoteAddress?.description ?? "?"): \(reason)")
        connection.close(.noFlush)
    }

    private func enterBetweenStreams() {
        betweenStreams = true
        parkRefused = false
        idleSince = dispatcher.approximateMonotonicTime
        firstByteAt = connection.readBuffer.isEmpty ? nil : idleSince
    }

    /// Arms the timer for the nearest of the connection idle, request-headers and parking
    /// deadlines.
    private func armBetweenStreams() {
        let timeouts = worker.timeoutNanoseconds
        var deadline = UInt64.max
        if timeouts.connectionIdle > 0 { deadline = idleSince.nanoseconds &+ timeouts.connectionIdle }
        if timeouts.requestHeaders > 0 {
            let start = firstByteAt ?? dispatcher.approximateMonotonicTime
            deadline = min(deadline, start.nanoseconds &+ timeouts.requestHeaders)
        }
        if mayPark { deadline = min(deadline, idleSince.nanoseconds &+ ProxyWorker.parkAfterNanoseconds) }
        arm(until: deadline == .max ? nil : MonotonicInstant(nanoseconds: deadline))
    }

    /// Nothing is on its way in and parking was not refused since the stream ended.
    private var mayPark: Bool { firstByteAt == nil && !parkRefused }

    /// Hands the idle connection's socket to the worker's park: this session, its codec and its
    /// connection go away, and a new session takes the socket when the client sends again.
    private func park() {
        let idle = worker.timeoutNanoseconds.connectionIdle
        let closeAt = idle > 0 ? MonotonicInstant(nanoseconds: idleSince.nanoseconds &+ idle) : nil
        guard !codec.isReceivingHead, worker.park(self, connection: connection, slot: slot, proxiedClient: proxiedClient, closeAt: closeAt) else {
            parkRefused = true
            return armBetweenStreams()
        }
        streamTimer = nil
        codec.delegate = nil  // the connection went without a close event: the codec cannot let go itself
    }

    private func arm(until deadline: MonotonicInstant?) {
        guard let deadline else { return streamTimer?.disable() ?? () }
        if streamTimer == nil {
            streamTimer = try? DeadlineTimer(dispatcher: dispatcher) { [unowned self] in self.streamTimerFired() }
        }
        streamTimer?.enable(at: deadline)
    }

    private func streamTimerFired() {
        guard betweenStreams else { return streamIdleCheck() }
        guard !streamActive, connection.state == .open else { return }
        let bootstrap = worker.configuration.bootstrap
        let now = dispatcher.approximateMonotonicTime
        if let first = firstByteAt, let headers = bootstrap.requestHeadersTimeout, now - first >= headers {
            return headersTimedOut()
        }
        if !codec.isReceivingHead, let idle = bootstrap.connectionIdleTimeout, now - idleSince >= idle {
            // No request for the connection idle timeout: close, as Envoy's idle_timeout does.
            return connection.close(.flushWrite)
        }
        if mayPark, now.nanoseconds &- idleSince.nanoseconds >= ProxyWorker.parkAfterNanoseconds { return park() }
        armBetweenStreams()  // woken for the other deadline, or early: wait for what is left
    }

    private func headersTimedOut() {
        guard !streamActive, connection.state == .open else { return }
        if awaitingProxyHeader || !codec.isReceivingHead {
            connection.close(.noFlush)  // no request (or no whole PROXY header) before the first one's deadline
            return
        }
        let text = "Request Timeout: the request head did not arrive within the request headers timeout\n"
        let head = HTTPResponseHead(status: 408, headers: ["Content-Type": "text/plain", "Content-Length": String(text.utf8.count), "Connection": "close"])
        let output = IOBuffer()
        HTTP1Encoder.writeResponseHead(head, endStream: false, into: output)
        output.append(Array(text.utf8))
        connection.write(output)
        connection.close(.flushWriteAndDelay)
    }

    func onEvent(_ event: ConnectionEvent) {
        guard event != .connected else { return }
        slot.connectionsOpen -= 1
        streamTimer = nil
        if streamActive { abandonStream() }
        worker.sessionClosed(self)
    }

    /// The client is not reading the response: stop reading the upstream.
    func onAboveWriteBufferHighWatermark() {
        guard let upstream, !upstreamPausedForDownstream else { return }
        upstreamPausedForDownstream = true
        upstream.connection.readDisable(true)
    }

    func onBelowWriteBufferLowWatermark() {
        guard upstreamPausedForDownstream else { return }
        upstreamPausedForDownstream = false
        upstream?.connection.readDisable(false)
    }

    /// Closes the connection at once (worker shutdown).
    func abort() {
        connection.close(.noFlush)
    }

    /// Graceful drain: an idle connection closes now, a busy one after its current response
    /// (which says `Connection: close`).
    func drain() {
        codec.shutdownNotice()
    }

    /// A connection accepted while the server drains: each response is its last.
    func closeAfterEveryResponse() {
        codec.keepsAlive = false
    }

    // MARK: - Request from downstream

    func serverCodec(_ codec: HTTP1ServerCodec, didReceiveHead head: inout HTTPRequestHead) {
        var refusedTarget: String?
        if !head.convertAbsoluteFormTarget() {  // routes see the URL's host and path, as the upstream will
            refusedTarget = "the request target is absolute-form but not an http(s) URL with a host\n"
        }
        let normalization = worker.pathNormalization
        if refusedTarget == nil, normalization != .none, head.targetMayNeedNormalizing || normalization != .base {
            switch head.withTargetBytes({ normalization.normalize($0) }) {
            case .unchanged: break
            case .normalized(let target): head.target = target  // what routes match and what goes upstream, as in Envoy
            case .rejected(let reason): refusedTarget = reason
            }
        }
        streamActive = true
        requestComplete = false
        responseStarted = false
        requestMethod = head.method
        requestHasBody = head.framing != .none
        requestIsUpgrade = head.isUpgrade
        if head.isUpgrade { upgradeProtocol = Self.tunnelledUpgrade(head) }
        worker.count { $0.requests += 1 }
        streamStart = dispatcher.approximateMonotonicTime
        let trustedHops = worker.numTrustedProxies
        let client = trustedHops > 0 ? Self.forwardedClient(head.headers, trustedHops: trustedHops) ?? remoteAddress : remoteAddress
        if let accessLog = worker.accessLog { startLogEntry(head, format: accessLog.format, client: client) }
        touch()
        betweenStreams = false
        let streamIdle = worker.timeoutNanoseconds.streamIdle
        arm(until: streamIdle > 0 ? MonotonicInstant(nanoseconds: streamStart.nanoseconds &+ streamIdle) : nil)

        if let refusedTarget { return reply(400, refusedTarget) }
        guard let table = slot.routes else {
            return reply(404, "no route: the listener is no longer configured\n")
        }
        if head.method == .connect {  // Envoy's default without a CONNECT upgrade configured
            return reply(403, "CONNECT is not supported: convoy proxies HTTP requests and upgrades\n")
        }
        streamClusters = worker.clusters
        let request = RouteRequest(head: head, scheme: "http", listenerPort: connection.localAddress?.port ?? 0, sourceAddress: client)
        guard let selection = table.route(for: request) else {
            logEntry?.flags = "NR"
            return reply(404, "no route for host '\(request.authority ?? "")' and path '\(head.target)'\n")
        }
        let route = table[selection]
        self.route = route
        logEntry?.routeName = route.name
        if route.hasStatPrefixes, let name = route.statPrefix(for: request) {
            routeStatName = name
            worker.count { $0.routes[name, default: RouteStats()].requests += 1 }
        }
        switch route.action {
        case .directResponse(let status, let body):
            reply(status, String(decoding: body, as: UTF8.self), contentType: body.isEmpty ? nil : "text/plain")
        case .redirect(let redirect):
            var headers = HTTPHeaders()
            headers.add(name: "Location", value: redirect.location(for: request, matchedPrefixLength: selection.matchedPrefixLength))
            reply(redirect.code, "", headers: headers)
        case .forward(let destinations):
            if let cors = route.cors, let origin = head.headers["origin"] {
                if CorsPolicy.isPreflight(head) {
                    if cors.allows(origin: origin) { return reply(200, "", headers: cors.preflightFields(origin: origin)) }
                    if !cors.forwardsUnmatchedPreflights { return reply(200, "") }
                } else if cors.allows(origin: origin) {
                    corsOrigin = origin
                }
            }
            // Sticky canary: with a consistent-hash key, the weighted pick follows the key, so a
            // client stays on its subset while the weights stay the same (Istio picks at random).
            let stickyDraw = destinations.destinations.count > 1
                ? streamClusters[destinations.destinations[0].clusterIndex].requestHash(request).map { StableHash.mix($0 ^ 0x9e37_79b9) }
                : nil
            let destination = destinations.pick(stickyDraw ?? worker.random.next())
            self.destination = destination
            if let fault = route.fault {
                let aborts = fault.drawsAbort(&worker.random)
                if let delay = fault.delay, fault.drawsDelay(&worker.random) {
                    worker.count { $0.faultDelays += 1 }
                    logEntry?.flags = "DI"
                    faultDelaying = true
                    let delayedHead = head
                    afterFaultDelay = { [unowned self] in
                        if aborts {
                            self.abortByFault(fault, flags: "DI,FI")
                        } else {
                            var head = delayedHead
                            self.forward(&head, request: request, route: route, selection: selection, destination: destination)
                            head.headers.recycle()
                        }
                    }
                    if faultTimer == nil {
                        faultTimer = try? DeadlineTimer(dispatcher: dispatcher) { [unowned self] in self.faultDelayEnded() }
                    }
                    faultTimer?.enable(after: delay)
                    return
                }
                if aborts { return abortByFault(fault, flags: "FI") }
            }
            forward(&head, request: consume request, route: route, selection: selection, destination: destination)
        }
    }

    /// The protocol a request may switch to through the proxy: its `Upgrade` value, unless that
    /// is `h2c` (dropped with the other hop-by-hop fields, as Envoy does), the request is CONNECT,
    /// or it has a body.
    private static func tunnelledUpgrade(_ head: HTTPRequestHead) -> String? {
        guard head.method != .connect, head.framing == .none, let upgrade = head.headers["upgrade"] else { return nil }
        return upgrade.lowercased() == "h2c" ? nil : upgrade
    }

    /// How long a mirror copy may take when the route has no timeout.
    static let mirrorTimeout = Duration.seconds(30)

    private func faultDelayEnded() {
        guard streamActive, faultDelaying, let next = afterFaultDelay else { return }
        faultDelaying = false
        afterFaultDelay = nil
        next()
    }

    private func abortByFault(_ fault: FaultInjection, flags: String) {
        worker.count { $0.faultAborts += 1 }
        logEntry?.flags = flags
        var headers = HTTPHeaders()
        headers.add(name: "x-convoy-response-flags", value: flags)
        reply(fault.abortStatus ?? 503, "fault filter abort\n", headers: headers)
    }

    /// Edits `head` in place for upstream (`request`, which shares its storage, is let go of
    /// first, unless a mirror needs it) and starts the first try.
    private func forward(_ head: inout HTTPRequestHead, request: consuming RouteRequest, route: Route, selection: RouteSelection, destination: WeightedDestination) {
        let rewrittenTarget = route.rewrite?.rewrittenTarget(request, matchedPrefixLength: selection.matchedPrefixLength)
        requestHash = streamClusters[destination.clusterIndex].requestHash(request)
        let mirrorRequest = route.mirrors.isEmpty || upgradeProtocol != nil ? nil : request
        _ = consume request
        if let rewrittenTarget { head.target = rewrittenTarget }
        prepareUpstreamHeaders(&head.headers, route: route, destination: destination)
        head.version = .http11
        upstreamHead = head
        if logEntry != nil {
            logEntry?.upstreamCluster = destination.clusterName
            if let id = head.headers["x-request-id"] { logEntry?.requestHeaders["x-request-id"] = id }
        }
        retryPolicy = upgradeProtocol == nil ? route.retryPolicy : nil
        attempt = 0
        if retryPolicy != nil {
            requestTemplate = head
            replayBody = requestHasBody ? IOBuffer() : nil
            replayable = true
        }

        worker.count { $0.upstreamRequests += 1 }
        if let mirrorRequest {
            startMirrors(route, request: mirrorRequest, head: head)
        }
        if let timeout = route.timeout {  // covers every try
            if routeTimer == nil {
                routeTimer = try? DeadlineTimer(dispatcher: dispatcher) { [unowned self] in self.routeTimedOut() }
            }
            routeTimer?.enable(after: timeout)
        }
        startAttempt()
    }

    private func startMirrors(_ route: Route, request: RouteRequest, head: HTTPRequestHead) {
        for policy in route.mirrors where policy.draws(&worker.random) {
            let mirror = MirrorStream(worker: worker, cluster: streamClusters[policy.clusterIndex], head: head, hasBody: requestHasBody)
            worker.mirrorStarted(mirror)
            if requestHasBody { mirrors.append(mirror) }
            mirror.start(for: request, timeout: route.timeout ?? Self.mirrorTimeout)
        }
    }

    /// One try: a host (on a retry, preferably one not tried yet) and a pooled connection to it.
    private func startAttempt() {
        guard streamActive, let destination else { return }
        let cluster = streamClusters[destination.clusterIndex]
        let avoiding = retryPolicy?.avoidsPreviousHosts == true ? triedHosts : []
        guard let host = cluster.pickHost(hash: requestHash, random: &worker.random, avoiding: avoiding) else {
            return fail(.noHealthyUpstream)
        }
        self.cluster = cluster
        hostIndex = host
        let address = cluster.hosts[host].address
        hostAddress = address
        if attempt > 0 { upstreamHead = requestTemplate }
        cluster.requestStarted(host: host)
        cluster.stats.requests += 1
        if let perTryTimeout = retryPolicy?.perTryTimeout {
            if perTryTimer == nil {
                perTryTimer = try? DeadlineTimer(dispatcher: dispatcher) { [unowned self] in self.perTryTimedOut() }
            }
            perTryTimer?.enable(after: perTryTimeout)
        }
        let worker = self.worker
        let pool = cluster.pool(host: host) { worker.pool(for: $0, cluster: $1) }
        self.pool = pool
        waitingForPool = true
        if let connection = pool.acquire(self) {
            waitingForPool = false
            attach(connection)
        }
    }

    private func prepareUpstreamHeaders(_ headers: inout HTTPHeaders, route: Route, destination: WeightedDestination) {
        headers.removeHopByHopFields()
        headers.remove("expect")  // 100-continue was answered here
        if let upgradeProtocol {
            headers.add(name: "Connection", value: "upgrade")
            headers.add(name: "Upgrade", value: upgradeProtocol)
        }
        if let forwarded = headers["x-forwarded-for"] {
            headers.set(name: "x-forwarded-for", value: forwarded + ", " + clientAddress)
        } else {
            headers.add(name: "x-forwarded-for", value: clientAddress)
        }
        headers.set(name: "x-forwarded-proto", value: "http")
        if !headers.contains("x-request-id") {
            let worker = self.worker
            headers.add(name: "x-request-id", valueLength: RequestID.length) { RequestID.write(into: $0, &worker.random) }
        }
        if let authority = route.rewrite?.authority {
            headers.set(name: "host", value: authority)
        }
        if worker.configuration.bootstrap.newSpanPerHop {
            TraceContext.startHop(&headers, random: &worker.random)
        }
        if !route.requestHeaders.isEmpty { route.requestHeaders.apply(to: &headers) }
        if !destination.requestHeaders.isEmpty { destination.requestHeaders.apply(to: &headers) }
    }

    func serverCodec(_ codec: HTTP1ServerCodec, didReceiveBody body: IOBuffer) {
        touch()
        logEntry?.bytesReceived += body.count
        for mirror in mirrors {
            let copy = IOBuffer()
            copy.append(copyOf: body)
            mirror.send(copy)
        }
        if let upstream, upgradeProtocol == nil || tunnelOpen {
            keepForReplay(body)
            upstream.codec.sendBody(body)
        } else if waitingForPool || awaitingRetry || faultDelaying || upstream != nil {
            // Not sendable yet: no connection, or (an upgrade) no 101 yet.
            let pending = pendingBody ?? IOBuffer()
            pendingBody = pending
            pending.move(from: body)
            if pending.count > worker.configuration.bootstrap.connectionBufferLimit, !downstreamPausedForUpstream {
                downstreamPausedForUpstream = true
                connection.readDisable(true)
            }
        } else {
            body.drain(body.count)  // answered locally; the body is read and dropped
        }
    }

    func serverCodec(_ codec: HTTP1ServerCodec, didReceiveTrailers trailers: HTTPHeaders) {
        pendingTrailers = trailers
    }

    func serverCodecDidReceiveEnd(_ codec: HTTP1ServerCodec) {
        requestComplete = true
        touch()
        for mirror in mirrors { mirror.end(trailers: pendingTrailers) }
        mirrors.removeAll()
        if let deferredReply {
            self.deferredReply = nil
            sendLocalReply(deferredReply.status, deferredReply.body, headers: deferredReply.headers)
            return
        }
        if let upstream, requestHasBody {
            upstream.codec.sendEnd(trailers: pendingTrailers)
            pendingTrailers = nil
        } else if let upstream, tunnelOpen {
            upstream.codec.sendEnd()  // the client closed the tunnel: the upstream side follows
        }
    }

    func serverCodec(_ codec: HTTP1ServerCodec, streamDidReset reason: HTTP1StreamReset) {
        guard streamActive else { return }  // a close already abandoned it (`onEvent` runs first)
        abandonStream()
    }

    // MARK: - Upstream connection

    func pool(_ pool: UpstreamPool, didProvide connection: UpstreamConnection) {
        waitingForPool = false
        guard streamActive, upstreamHead != nil else {
            pool.release(connection)
            return
        }
        attach(connection)
    }

    func pool(_ pool: UpstreamPool, didFail failure: UpstreamFailure) {
        waitingForPool = false
        guard streamActive else { return }
        if case .overflow = failure {
            cluster?.stats.overflows += 1
            worker.count { $0.upstreamOverflows += 1 }
            return fail(failure)  // a circuit breaker: retrying would defeat it
        }
        reportOutcome(.localFailure)
        cluster?.stats.connectFailures += 1
        attemptFailed(failure, retryAs: .connectFailure, wroteRequestBytes: false)
    }

    private func attach(_ upstream: UpstreamConnection) {
        self.upstream = upstream
        upstream.session = self
        upstream.codec.delegate = self
        guard var head = upstreamHead.take() else { return }
        let stats = upstream.connection.stats
        attemptStart = (stats.bytesWritten, stats.bytesRead, upstream.requestsCarried > 1)
        if logEntry != nil { logEntry?.upstreamHost = hostAddress?.description ?? "" }
        let endStream = !requestHasBody
        upstream.codec.sendRequestHead(head, endStream: endStream)
        head.headers.recycle()  // the edited copy, unless the retry template still holds it
        attemptSent = dispatcher.approximateMonotonicTime
        if attempt > 0, let replayBody, !replayBody.isEmpty {
            let copy = IOBuffer()
            copy.append(copyOf: replayBody)
            upstream.codec.sendBody(copy)
        }
        guard upgradeProtocol == nil else { return }  // bytes before the 101 wait for it
        if let pendingBody {
            self.pendingBody = nil
            if !pendingBody.isEmpty {
                keepForReplay(pendingBody)
                upstream.codec.sendBody(pendingBody)
            }
        }
        if downstreamPausedForUpstream {
            downstreamPausedForUpstream = false
            connection.readDisable(false)
        }
        if requestHasBody && requestComplete {
            upstream.codec.sendEnd(trailers: pendingTrailers)
            pendingTrailers = nil
        }
    }

    /// The upstream is not reading the request body: stop reading the client.
    func upstreamWriteAboveHighWatermark() {
        guard !downstreamPausedForUpstream else { return }
        downstreamPausedForUpstream = true
        connection.readDisable(true)
    }

    func upstreamWriteBelowLowWatermark() {
        guard downstreamPausedForUpstream else { return }
        downstreamPausedForUpstream = false
        connection.readDisable(false)
    }

    // MARK: - Response from upstream

    func clientCodec(_ codec: HTTP1ClientCodec, didReceiveHead head: inout HTTPResponseHead) {
        touch()
        if head.isInformational { return }  // 100 Continue was answered to the client already
        reportOutcome(.status(head.status))
        if let cluster { cluster.stats.responsesByClass[Self.statusClass(head.status)] += 1 }
        let sent = attemptSent, now = dispatcher.approximateMonotonicTime
        worker.count { $0.upstreamResponseTime.record(from: sent, to: now) }
        if logEntry != nil {
            let serviceTime = now - sent
            logEntry?.upstreamServiceMilliseconds = Int(serviceTime.components.seconds * 1000 + serviceTime.components.attoseconds / 1_000_000_000_000_000)
            for name in worker.accessLog?.format.responseHeaderNames ?? [] {
                if let value = head.headers[name] { logEntry?.responseHeaders[name] = value }
            }
        }
        if head.status == 101 { return openTunnel(&head, upstreamCodec: codec) }
        if let retryPolicy, retryPolicy.retries(.status(head.status)), mayRetry(.status(head.status), wroteRequestBytes: true) {
            // Not forwarded: this try's connection goes (its body is not read) and another one starts.
            releaseUpstream(reusable: false)
            return scheduleRetry()
        }
        // Edited in place: the head holds the only reference to its storage.
        head.headers.removeHopByHopFields()
        if let route, !route.responseHeaders.isEmpty { route.responseHeaders.apply(to: &head.headers) }
        if let destination, !destination.responseHeaders.isEmpty { destination.responseHeaders.apply(to: &head.headers) }
        if let corsOrigin, let cors = route?.cors { cors.addResponseFields(origin: corsOrigin, to: &head.headers) }
        responseStarted = true
        if head.framing == .none {
            // Sent with the end, once the upstream side is settled (sending it completes the
            // downstream stream, which may start the next pipelined request at once).
            bodylessResponseHead = head
        } else {
            countResponse(head.status)
            self.codec.sendResponseHead(head, endStream: false)
        }
    }

    /// The upstream switched protocols: the 101 goes to the client with the upgrade fields, and
    /// bytes the client sent meanwhile go upstream.
    private func openTunnel(_ head: inout HTTPResponseHead, upstreamCodec: HTTP1ClientCodec) {
        guard let upgradeProtocol, upstreamCodec.isTunnel else {
            releaseUpstream(reusable: false)
            return fail(.protocolError("101 Switching Protocols to a request that asked for no upgrade"))
        }
        let upgrade = head.headers["upgrade"] ?? upgradeProtocol
        head.headers.removeHopByHopFields()
        head.headers.add(name: "Connection", value: "Upgrade")
        head.headers.add(name: "Upgrade", value: upgrade)
        if let route, !route.responseHeaders.isEmpty { route.responseHeaders.apply(to: &head.headers) }
        if let destination, !destination.responseHeaders.isEmpty { destination.responseHeaders.apply(to: &head.headers) }
        tunnelOpen = true
        responseStarted = true
        routeTimer?.disable()
        perTryTimer?.disable()
        countResponse(101)
        self.codec.sendResponseHead(head, endStream: false)
        if let pendingBody, let upstream {
            self.pendingBody = nil
            if !pendingBody.isEmpty { upstream.codec.sendBody(pendingBody) }
        }
        if downstreamPausedForUpstream {
            downstreamPausedForUpstream = false
            connection.readDisable(false)
        }
        if requestComplete { upstream?.codec.sendEnd() }  // the client already closed its side
    }

    func clientCodec(_ codec: HTTP1ClientCodec, didReceiveBody body: IOBuffer) {
        touch()
        logEntry?.bytesSent += body.count
        self.codec.sendBody(body)
    }

    func clientCodec(_ codec: HTTP1ClientCodec, didReceiveTrailers trailers: HTTPHeaders) {
        responseTrailers = trailers
    }

    func clientCodecDidReceiveEnd(_ codec: HTTP1ClientCodec) {
        let trailers = responseTrailers
        responseTrailers = nil
        var bodylessHead = bodylessResponseHead
        bodylessResponseHead = nil
        releaseUpstream(reusable: true)
        finishUpstreamAccounting()
        if let bodylessHead { countResponse(bodylessHead.status) }
        endStream()
        if bodylessHead != nil {
            self.codec.sendResponseHead(bodylessHead!, endStream: true)
            bodylessHead!.headers.recycle()
        } else {
            self.codec.sendEnd(trailers: trailers)
        }
    }

    func clientCodec(_ codec: HTTP1ClientCodec, streamDidReset reason: HTTP1StreamReset) {
        let failure: UpstreamFailure
        switch reason {
        case .protocolError(let error): failure = .protocolError("\(error)")
        case .unexpectedResponse: failure = .protocolError("unexpected response data")
        case .connectionClosed: failure = .reset
        }
        // A reused connection that closes before any response byte is the keep-alive race (the
        // upstream closed it while the request was on its way): retried as a connect failure.
        var retryAs = RetryPolicy.Failure.reset
        var wrote = true
        if let upstream, case .connectionClosed = reason {
            let stats = upstream.connection.stats
            wrote = stats.bytesWritten > attemptStart.bytesWritten
            if attemptStart.reused, stats.bytesRead == attemptStart.bytesRead { retryAs = .connectFailure }
        }
        reportOutcome(.localFailure)
        cluster?.stats.resets += 1
        releaseUpstream(reusable: false)
        bodylessResponseHead = nil
        attemptFailed(failure, retryAs: retryAs, wroteRequestBytes: wrote)
    }

    // MARK: - Failures, timeouts and local replies

    private func routeTimedOut() {
        guard streamActive else { return }
        if (upstream != nil || waitingForPool) && !responseStarted { reportOutcome(.localFailure) }
        cluster?.stats.timeouts += 1
        releaseUpstream(reusable: false)
        fail(.timeout)
    }

    private func perTryTimedOut() {
        guard streamActive, !awaitingRetry, !responseStarted else { return }
        worker.count { $0.upstreamPerTryTimeouts += 1 }
        cluster?.stats.perTryTimeouts += 1
        if let pool, waitingForPool {
            pool.cancel(self)
            waitingForPool = false
        }
        let wrote = upstream.map { $0.connection.stats.bytesWritten > attemptStart.bytesWritten } ?? false
        reportOutcome(.localFailure)
        releaseUpstream(reusable: false)
        attemptFailed(.timeout, retryAs: .perTryTimeout, wroteRequestBytes: wrote)
    }

    /// Starts the stream's access-log record: when, who, and the request fields the format reads.
    /// The client `trustedHops` proxies in front reported: the `trustedHops`-th address from the
    /// right of `x-forwarded-for` (all its fields, in order), as Envoy's `xff_num_trusted_hops`
    /// picks it; nil when there are fewer entries or that one is not an IP address.
    static func forwardedClient(_ headers: HTTPHeaders, trustedHops: Int) -> SocketAddress? {
        let entries = headers.values(of: "x-forwarded-for").flatMap { $0.split(separator: ",") }
        guard entries.count >= trustedHops else { return nil }
        let entry = entries[entries.count - trustedHops].trimmingCharacters(in: .whitespaces)
        return SocketAddress(ip: entry, port: 0)
    }

    private func startLogEntry(_ head: HTTPRequestHead, format: AccessLogFormat, client: SocketAddress?) {
        let entry = AccessLogEntry()
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        entry.startSeconds = Int(now.tv_sec)
        entry.startNanoseconds = Int(now.tv_nsec)
        entry.method = head.method.rawValue
        entry.path = head.target
        entry.downstreamAddress = client?.description ?? ""
        entry.downstreamDirectAddress = connection.remoteAddress?.description ?? ""
        for name in format.requestHeaderNames {
            if let value = head.headers[name] { entry.requestHeaders[name] = value }
        }
        logEntry = entry
    }

    /// Index of a status's class in the per-class counters (1xx → 0 … 5xx → 4).
    static func statusClass(_ status: Int) -> Int { min(max(status / 100, 1), 5) - 1 }

    /// Counts a response going downstream; the stream's duration is recorded when it ends.
    private func countResponse(_ status: Int) {
        responseCounted = true
        logEntry?.status = status
        worker.count { $0.responsesByClass[Self.statusClass(status)] += 1 }
        if routeStatName != nil { countRouteResponse(status) }
    }

    @inline(never)
    private func countRouteResponse(_ status: Int) {
        guard let name = routeStatName else { return }
        worker.count { $0.routes[name]?.responsesByClass[Self.statusClass(status)] += 1 }
    }

    @inline(never)
    private func recordRouteDuration(from start: MonotonicInstant, to end: MonotonicInstant) {
        guard let name = routeStatName else { return }
        worker.count { $0.routes[name]?.requestDuration.record(from: start, to: end) }
    }

    /// Tells the cluster's outlier detection how the current try went.
    private func reportOutcome(_ outcome: OutlierDetector.Outcome) {
        guard let cluster, let hostAddress else { return }
        _ = cluster.record(outcome, host: hostIndex, address: hostAddress)
    }

    // MARK: - Retries

    /// A try failed before any of its response went to the client: retry when the policy, the
    /// request body and the budget allow, else answer with `failure`.
    private func attemptFailed(_ failure: UpstreamFailure, retryAs kind: RetryPolicy.Failure, wroteRequestBytes: Bool) {
        if let retryPolicy, retryPolicy.retries(kind), mayRetry(kind, wroteRequestBytes: wroteRequestBytes) {
            return scheduleRetry()
        }
        fail(failure)
    }

    /// Whether another try is allowed: tries left, no response byte sent, the request body still
    /// held whole, a non-idempotent request not possibly acted on (the failed try wrote nothing
    /// of it, or a bodyless one was refused with a status), and room in the retry budget.
    private func mayRetry(_ kind: RetryPolicy.Failure, wroteRequestBytes: Bool) -> Bool {
        guard let retryPolicy, streamActive, !responseStarted, let cluster else { return false }
        guard attempt < retryPolicy.attempts else {
            if attempt > 0 { worker.count { $0.upstreamRetriesExhausted += 1 } }
            return false
        }
        if requestHasBody && !replayable { return false }
        if wroteRequestBytes && !requestMethod.isIdempotent {
            // It may have been acted on. Only a bodyless request the upstream answered with a
            // retriable status (it refused it) goes again.
            guard !requestHasBody, case .status = kind else { return false }
        }
        if retrySlot == nil {
            guard cluster.allowsRetry() else {
                worker.count { $0.upstreamRetryOverflows += 1 }
                cluster.stats.retryOverflows += 1
                return false
            }
            cluster.retryStarted()
            retrySlot = cluster
        }
        return true
    }

    /// Waits the jittered backoff, then starts the next try.
    private func scheduleRetry() {
        guard let retryPolicy else { return }
        triedHosts.append(hostIndex)
        finishUpstreamAccounting()
        perTryTimer?.disable()
        attempt += 1
        awaitingRetry = true
        worker.count { $0.upstreamRetries += 1 }
        retrySlot?.stats.retries += 1
        if retryTimer == nil {
            retryTimer = try? DeadlineTimer(dispatcher: dispatcher) { [unowned self] in
                guard self.awaitingRetry else { return }
                self.awaitingRetry = false
                self.startAttempt()
            }
        }
        retryTimer?.enable(after: retryPolicy.backoff(beforeRetry: attempt, random: &worker.random))
    }

    /// Keeps a copy of request-body bytes going upstream while a retry may need them again.
    private func keepForReplay(_ body: IOBuffer) {
        guard retryPolicy != nil, replayable else { return }
        guard let replayBody, replayBody.count + body.count <= worker.configuration.bootstrap.connectionBufferLimit else {
            replayable = false
            replayBody = nil
            return
        }
        replayBody.append(copyOf: body)
    }

    private func touch() {
        lastActivity = dispatcher.approximateMonotonicTime
    }

    private func streamIdleCheck() {
        guard streamActive, let timeout = worker.configuration.bootstrap.streamIdleTimeout else { return }
        let idle = dispatcher.approximateMonotonicTime - lastActivity
        if idle < timeout {
            streamTimer?.enable(after: timeout - idle)
            return
        }
        releaseUpstream(reusable: false)
        if responseStarted {
            connection.close(.noFlush)
        } else {
            sendLocalReply(408, "stream idle timeout: no activity for \(timeout)\n", headers: HTTPHeaders())
        }
    }

    private func fail(_ failure: UpstreamFailure) {
        worker.count { $0.upstreamFailures += 1 }
        perTryTimer?.disable()
        retryTimer?.disable()
        awaitingRetry = false
        finishUpstreamAccounting()
        if let pool, waitingForPool {
            pool.cancel(self)
            waitingForPool = false
        }
        upstreamHead = nil
        pendingBody = nil
        if responseStarted {
            // Part of the response is out: the client can only learn of the failure by the close.
            connection.close(.noFlush)
            endStream()
            return
        }
        var headers = HTTPHeaders()
        let exhausted = attempt > 0 && attempt >= (retryPolicy?.attempts ?? 0)
        let flags = exhausted ? failure.responseFlag + ",URX" : failure.responseFlag
        logEntry?.flags = flags
        headers.add(name: "x-convoy-response-flags", value: flags)
        reply(failure.status, "\(failure)\n", headers: headers)
    }

    /// Answers the current request from here: at once when the request has a body still coming
    /// or is an upgrade (the codec then closes the connection), otherwise when the request has
    /// been read.
    private func reply(_ status: Int, _ body: String, headers: HTTPHeaders = HTTPHeaders(), contentType: String? = "text/plain") {
        var headers = headers
        if let contentType, !body.isEmpty { headers.set(name: "Content-Type", value: contentType) }
        if requestComplete || requestHasBody || requestIsUpgrade {
            sendLocalReply(status, body, headers: headers)
        } else {
            deferredReply = (status, headers, body)
        }
    }

    private func sendLocalReply(_ status: Int, _ body: String, headers: HTTPHeaders) {
        guard streamActive, !responseStarted else { return }
        worker.count { $0.localReplies += 1 }
        let buffer = IOBuffer(body)
        var headers = headers
        headers.set(name: "Content-Length", value: String(buffer.count))
        if let corsOrigin, let cors = route?.cors { cors.addResponseFields(origin: corsOrigin, to: &headers) }
        let head = HTTPResponseHead(status: status, headers: headers)
        countResponse(status)
        logEntry?.bytesSent += buffer.count
        endStream()
        codec.sendResponseHead(head, endStream: buffer.isEmpty)
        if !buffer.isEmpty {
            codec.sendBody(buffer)
            codec.sendEnd()
        }
    }

    private func releaseUpstream(reusable: Bool) {
        guard let upstream else { return }
        self.upstream = nil
        upstream.session = nil
        upstream.codec.delegate = nil
        if upstreamPausedForDownstream {
            upstreamPausedForDownstream = false
            upstream.connection.readDisable(false)
        }
        if tunnelOpen {
            // Bytes may still be on their way: they go out before the close, and the pool counts
            // the connection busy until then (its close event takes it out).
            upstream.connection.close(.flushWrite)
            return
        }
        if !reusable || !requestComplete {
            upstream.connection.close(.noFlush)
        }
        pool?.release(upstream)
    }

    private func finishUpstreamAccounting() {
        if let cluster, let hostAddress {
            cluster.requestFinished(host: hostIndex, address: hostAddress)
        }
        cluster = nil
        hostAddress = nil
    }

    private func endStream() {
        if responseCounted {
            responseCounted = false
            let start = streamStart, now = dispatcher.approximateMonotonicTime
            worker.count { $0.requestDuration.record(from: start, to: now) }
            if routeStatName != nil { recordRouteDuration(from: start, to: now) }
        }
        if let entry = logEntry {
            logEntry = nil
            let elapsed = dispatcher.approximateMonotonicTime - streamStart
            entry.durationMilliseconds = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
            worker.log(entry)
        }
        streamActive = false
        routeTimer?.disable()
        enterBetweenStreams()
        armBetweenStreams()
        perTryTimer?.disable()
        retryTimer?.disable()
        faultTimer?.disable()
        faultDelaying = false
        for mirror in mirrors { mirror.cancel() }  // its request will never be whole
        mirrors.removeAll()
        afterFaultDelay = nil
        awaitingRetry = false
        retryPolicy = nil
        requestHash = nil
        requestTemplate?.headers.recycle()
        requestTemplate = nil
        replayBody = nil
        attempt = 0
        triedHosts.removeAll(keepingCapacity: true)
        streamClusters = []
        if let retrySlot {
            retrySlot.retryFinished()
            self.retrySlot = nil
        }
        route = nil
        destination = nil
        upstreamHead = nil
        deferredReply = nil
        pendingTrailers = nil
        pool = nil
        if corsOrigin != nil { corsOrigin = nil }
        if routeStatName != nil { routeStatName = nil }
        if upgradeProtocol != nil {  // rare: no release of the field on every request
            upgradeProtocol = nil
            tunnelOpen = false
        }
        if downstreamPausedForUpstream {
            downstreamPausedForUpstream = false
            connection.readDisable(false)
        }
    }

    /// The client went away or broke the protocol mid-stream: drop everything upstream.
    private func abandonStream() {
        if logEntry != nil, logEntry?.flags.isEmpty == true { logEntry?.flags = "DC" }
        if let pool, waitingForPool {
            pool.cancel(self)
            waitingForPool = false
        }
        releaseUpstream(reusable: false)
        finishUpstreamAccounting()
        pendingBody = nil
        endStream()
    }
}
