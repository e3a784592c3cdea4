import ConvoyHTTP1
import ConvoyNetwork

#if canImport(Glibc)
import Glibc
#endif

/// A deliberately simple HTTP/1.1 client for tests: one blocking socket (30 s receive timeout as
/// a hang guard), requests written whole, responses parsed with ConvoyHTTP1's parser. Keep-alive:
/// several requests may use one client. Confined to the calling thread.
public final class BlockingHTTPClient {
    /// Why a request did not produce a response.
    public enum Failure: Error, Equatable {
        /// The connection closed before a complete response.
        case closed
        /// The receive timeout passed.
        case timedOut
        /// The response could not be parsed.
        case malformed(String)
    }

    private let fd: Int32
    private var parser = HTTP1Parser(role: .response)
    private let input = IOBuffer()
    private var peerClosed = false

    /// Connects to `address` (blocking). Any thread.
    public init(_ address: SocketAddress, receiveTimeoutSeconds: Int = 30) throws {
        fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw NetworkError(operation: "socket", errno: errno) }
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let result = address.withSockaddr { connect(fd, $0, $1) }
        guard result == 0 else {
            // No close here: the init has set every property, so a throw still runs deinit, which
            // closes the socket. Closing it here too closed whatever another thread had opened
            // with the same number in between.
            throw NetworkError(operation: "connect to \(address)", errno: errno)
        }
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    /// Writes raw bytes. The calling thread.
    public func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if written < 0 {
                    if errno == EINTR { continue }
                    throw NetworkError(operation: "send", errno: errno)
                }
                offset += written
            }
        }
    }

    /// Writes `text` as UTF-8. The calling thread.
    public func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    /// Sends a request (Content-Length framing when there is a body; `Host: test` unless given)
    /// and reads its response. The calling thread.
    public func request(
        _ method: String = "GET", _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) throws -> TestResponse {
        var head = "\(method) \(target) HTTP/1.1\r\n"
        if !headers.contains(where: { $0.0.lowercased() == "host" }) { head += "Host: test\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        try send(Array(head.utf8) + (body ?? []))
        return try readResponse(method: HTTPMethod(rawValue: method) ?? .get)
    }

    /// Reads one complete response (interim 1xx responses are skipped). With `keepBody` false only
    /// the body's length is kept (for very large bodies). A 101 returns with its head: what
    /// follows is the tunnel's (``readRaw(_:)``). The calling thread.
    public func readResponse(method: HTTPMethod = .get, keepBody: Bool = true) throws -> TestResponse {
        parser.requestMethod = method
        var response: TestResponse?
        let body = IOBuffer()
        while true {
            let event: HTTP1ParserEvent
            do {
                event = try parser.next(from: input, body: body)
            } catch {
                throw Failure.malformed("\(error)")
            }
            switch event {
            case .responseHead(let head):
                if head.isInformational { continue }
                response = TestResponse(status: head.status, headers: Array(head.headers), body: [], bodyLength: 0)
                if head.status == 101 { return response! }
            case .body:
                response?.bodyLength += body.count
                if keepBody { body.forEachSlice { response?.body += $0; return true } }
                body.drain(body.count)
            case .trailers:
                continue
            case .end:
                guard let response else { throw Failure.malformed("end before head") }
                return response
            case .requestHead:
                continue
            case .needsMoreBytes:
                if peerClosed {
                    if case .end? = try? parser.finish(), let response { return response }
                    throw Failure.closed
                }
                try fill()
            }
        }
    }

    /// Reads exactly `count` raw bytes (after a 101: the tunnel), bytes already buffered first.
    /// The calling thread.
    /// - Throws: ``Failure/closed`` when the server closes first.
    public func readRaw(_ count: Int) throws -> [UInt8] {
        while input.count < count {
            if peerClosed { throw Failure.closed }
            try fill()
        }
        let bytes = Array(input.bytes.prefix(count))
        input.drain(count)
        return bytes
    }

    /// True when the server has closed its side (reads return end of stream). The calling thread.
    public func isClosedByServer() -> Bool {
        if peerClosed { return true }
        var byte: UInt8 = 0
        let result = recv(fd, &byte, 1, Int32(MSG_PEEK))
        return result == 0 || (result < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    /// Closes the socket now (a client gone mid-exchange). The calling thread.
    public func closeNow() {
        shutdown(fd, Int32(SHUT_RDWR))
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                input.append(chunk[0..<count])
                return
            }
            if count == 0 {
                peerClosed = true
                return
            }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { throw Failure.timedOut }
            peerClosed = true
            return
        }
    }
}
