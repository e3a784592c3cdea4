import ConvoyDispatcher
import ConvoyNetwork
import ConvoyTestSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A raw upstream on its own thread, for answers no TestBackend gives (a 101, chosen headers):
/// accepts one connection, records the request head and sends `answer`; then, with `echo`, sends
/// back every byte it receives (those that came with the head first), until the proxy closes;
/// with `closeAfterAnswer` it closes at once. It notes whether the proxy closed the connection.
/// With `held`, it answers only once ``release()`` is called (a request in progress on demand).
final class RawUpstream {
    /// What the upstream thread saw.
    final class Observed: Sendable {
        let head = Mutex<String>("")
        let closedByProxy = Atomic<Bool>(false)
        let released = Atomic<Bool>(false)
    }

    let address: SocketAddress
    let observed = Observed()
    private let listener: LoopbackSocket
    private let thread: PosixThread

    init(answer: String, echo: Bool = true, closeAfterAnswer: Bool = false, held: Bool = false) throws {
        let listener = LoopbackSocket(listening: true)
        self.listener = listener
        address = listener.address
        let fd = listener.fd
        let observed = observed
        thread = try PosixThread(name: "raw-upstream") {
            let connection = accept(fd, nil, nil)
            guard connection >= 0 else { return }
            defer { close(connection) }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var received: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            let terminator: [UInt8] = Array("\r\n\r\n".utf8)
            var headEnd: Int?
            while headEnd == nil {
                let count = recv(connection, &chunk, chunk.count, 0)
                guard count > 0 else { return }
                received += chunk[0..<count]
                headEnd = (0...max(0, received.count - 4)).first { received[$0..<min($0 + 4, received.count)].elementsEqual(terminator) }
            }
            observed.head.withLock { $0 = String(decoding: received[..<(headEnd! + 4)], as: UTF8.self) }
            for _ in 0..<1_000 where held && !observed.released.load(ordering: .acquiring) { usleepMilliseconds(10) }
            let reply = Array(answer.utf8)
            _ = send(connection, reply, reply.count, Int32(MSG_NOSIGNAL))
            if closeAfterAnswer { return }
            var pending = Array(received[(headEnd! + 4)...])
            while true {
                if echo, !pending.isEmpty { _ = send(connection, pending, pending.count, Int32(MSG_NOSIGNAL)) }
                let count = recv(connection, &chunk, chunk.count, 0)
                if count == 0 { observed.closedByProxy.store(true, ordering: .releasing) }
                guard count > 0 else { return }
                pending = Array(chunk[0..<count])
            }
        }
    }

    /// True once the request head has arrived. Any thread.
    var hasRequest: Bool { !observed.head.withLock { $0 }.isEmpty }

    /// True once the proxy has closed the connection. Any thread.
    var wasClosedByProxy: Bool { observed.closedByProxy.load(ordering: .acquiring) }

    /// Lets a `held` upstream send its answer. Any thread.
    func release() {
        observed.released.store(true, ordering: .releasing)
    }

    /// Waits for the connection to end. Any thread.
    func join() {
        thread.join()
        withExtendedLifetime(listener) {}
    }

    /// The recorded head's field `name` (case-insensitive), or nil. Any thread.
    func field(_ name: String) -> String? {
        observed.head.withLock { $0 }.split(separator: "\r\n").dropFirst().first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
            .map { String($0.drop { $0 != ":" }.dropFirst()).trimmingCharacters(in: .whitespaces) }
    }
}
