import ConvoyDispatcher
import ConvoyNetwork
import ConvoyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Listener")
struct ListenerTests {
    @Test("stops accepting at its connection limit and resumes when one closes")
    func connectionLimit() throws {
        let harness = try LoopbackHarness(connectionLimit: 2)
        let clients = try (0..<3).map { _ in try harness.connectClient() }
        #expect(harness.run { harness.accepted.count == 2 })
        for _ in 0..<30 {
            harness.dispatcher.run(.nonBlock)
            usleep(500)
        }
        #expect(harness.accepted.count == 2, "the third waits in the backlog")
        #expect(harness.listener.activeConnections == 2)
        harness.accepted[0].close(.noFlush)
        #expect(harness.run { harness.accepted.count == 3 })
        #expect(harness.listener.activeConnections == 2)
        #expect(harness.listener.acceptedConnections == 3)
        withExtendedLifetime(clients) {}
    }

    @Test("disable() stops accepting, enable() resumes")
    func disableAndEnable() throws {
        let harness = try LoopbackHarness()
        harness.listener.disable()
        let client = try harness.connectClient()
        for _ in 0..<30 {
            harness.dispatcher.run(.nonBlock)
            usleep(500)
        }
        #expect(harness.accepted.isEmpty)
        harness.listener.enable()
        #expect(harness.run { harness.accepted.count == 1 })
        withExtendedLifetime(client) {}
    }

    @Test("binding an address already in use throws a NetworkError naming it")
    func addressInUse() throws {
        let dispatcher = try Dispatcher(name: "in-use")
        let first = try Listener(dispatcher: dispatcher, address: .loopback()) { _ in }
        #expect {
            _ = try Listener(dispatcher: dispatcher, address: first.localAddress) { _ in }
        } throws: { error in
            guard let error = error as? NetworkError else { return false }
            return error.errno == EADDRINUSE && error.operation == "bind to \(first.localAddress)"
        }
    }

    @Test("SO_REUSEPORT lets two listeners share a port")
    func reusePort() throws {
        let dispatcher = try Dispatcher(name: "reuse-port")
        let first = try Listener(dispatcher: dispatcher, address: .loopback(), reusePort: true) { _ in }
        let second = try Listener(dispatcher: dispatcher, address: first.localAddress, reusePort: true) { _ in }
        #expect(second.localAddress == first.localAddress)
    }

    @Test("Unix-domain sockets work end to end")
    func unixSocket() throws {
        let path = "/tmp/convoy-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        unlink(path)
        defer { unlink(path) }
        let dispatcher = try Dispatcher(name: "unix")
        let listener = try Listener(dispatcher: dispatcher, address: .unix(path: path)) { server in _ = Echoer(server) }
        let client = try ClientConnection(dispatcher: dispatcher, remoteAddress: listener.localAddress)
        let collector = Collector(client)
        client.connect()
        client.write(IOBuffer("over a unix socket"))
        #expect(runDispatcher(dispatcher) { collector.received.count == 18 })
        #expect(collector.received == Array("over a unix socket".utf8))
    }
}

/// Socket accounting is process-wide, so this runs in a child process of its own (an exit test)
/// where no other test opens sockets. Exit codes name the failed check.
@Suite("No descriptor leaks")
struct DescriptorLeakTests {
    @Test("1 000 connections accepted, echoed and closed leave no descriptor and no connection behind")
    func thousandConnections() async {
        await #expect(processExitsWith: .success) {
            let before = openSocketCount()
            weak var weakDispatcher: Dispatcher?
            weak var weakListener: Listener?
            weak var weakServer: Connection?
            do {
                let harness = try LoopbackHarness()
                weakDispatcher = harness.dispatcher
                weakListener = harness.listener
                harness.configureAccepted = { _ = Echoer($0) }
                var finished = 0
                weak var lastClient: ClientConnection?
                for batch in 0..<10 {
                    var clients: [ClientConnection] = []
                    for _ in 0..<100 {
                        let client = try harness.connectClient()
                        let collector = Collector(client)
                        collector.onDataHook = { [unowned collector, unowned client] _, _ in
                            if collector.received.count == 4 { client.close(.noFlush) }
                        }
                        client.addEventHandler { event in if event != .connected { finished += 1 } }
                        client.write(IOBuffer("ping"))
                        clients.append(client)
                    }
                    lastClient = clients.last
                    guard harness.run(until: { finished == (batch + 1) * 100 && harness.listener.activeConnections == 0 }) else { exit(3) }
                }
                harness.dispatcher.run(.nonBlock)  // deferred deletions
                guard lastClient == nil else { exit(4) }
                guard harness.listener.acceptedConnections == 1000 else { exit(5) }
                weakServer = harness.accepted.last
            } catch {
                exit(6)
            }
            if weakServer != nil { exit(10) }
            if weakListener != nil { exit(9) }
            if weakDispatcher != nil { exit(8) }
            // The dispatcher is gone (so are its epoll and eventfd descriptors); no socket is left.
            exit(openSocketCount() == before ? 0 : 7)
        }
    }
}

/// Running out of descriptors needs a lowered `RLIMIT_NOFILE`, which is process-wide: a child
/// process of its own. Exit codes name the failed check.
@Suite("Accept failures")
struct AcceptFailureTests {
    @Test("out of descriptors: accept errors are reported as EMFILE, accepting pauses, then resumes")
    func outOfDescriptors() async {
        await #expect(processExitsWith: .success) {
            do {
                let harness = try LoopbackHarness()
                var errors: [Int32] = []
                harness.listener.onAcceptError = { errors.append($0.errno) }
                let clients = try (0..<6).map { _ in try harness.connectClient(timeout: nil) }
                // Room for about two more descriptors (other threads may take one meanwhile): some
                // accepts fail.
                var limit = rlimit()
                getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
                let original = limit
                limit.rlim_cur = rlim_t(openFileDescriptorCount() + 2)
                setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
                guard harness.run(until: { !errors.isEmpty }) else { exit(3) }
                guard errors.allSatisfy({ $0 == EMFILE }) else { exit(4) }
                guard harness.accepted.count < 6 else { exit(5) }
                // Pausing, not spinning: a burst of iterations adds no further failed accepts.
                let errorsAfterPause = errors.count
                for _ in 0..<200 { harness.dispatcher.run(.nonBlock) }
                guard errors.count == errorsAfterPause else { exit(6) }
                // Descriptors are back: after the pause the rest are accepted.
                setrlimit(Int32(RLIMIT_NOFILE.rawValue), [original])
                guard harness.run(until: { harness.accepted.count == 6 }) else { exit(7) }
                guard harness.listener.acceptErrors == UInt64(errors.count) else { exit(8) }
                withExtendedLifetime(clients) {}
            } catch {
                exit(9)
            }
            exit(0)
        }
    }
}
