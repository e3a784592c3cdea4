import ConvoyHTTP1
import ConvoyNetwork
import ConvoyTestSupport
import Testing

@Suite("Encoder")
struct EncoderTests {
    @Test func responseRoundTripKeepsCaseOrderBodyAndTrailers() {
        let wire = IOBuffer()
        let headers: HTTPHeaders = ["X-Request-ID": "abc", "set-cookie": "a=1", "Set-Cookie": "b=2", "Transfer-Encoding": "gzip"]
        let framing = HTTP1Encoder.writeResponseHead(HTTPResponseHead(status: 200, headers: headers), endStream: false, into: wire)
        #expect(framing == .chunked)
        HTTP1Encoder.writeBody(IOBuffer(String(repeating: "x", count: 5000)), framing: framing, into: wire)
        HTTP1Encoder.writeBody(IOBuffer("tail"), framing: framing, into: wire)
        HTTP1Encoder.writeEnd(framing: framing, trailers: ["Grpc-Status": "0"], into: wire)
        let text = wire.string
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\nX-Request-ID: abc\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n"))
        let items = HTTP1ChunkingVerifier.transcript(wire.bytes, role: .response)
        #expect(items.count == 4)
        #expect(items.first == .head("HTTP/1.1 200 OK chunked keepAlive=true upgrade=false | X-Request-ID=abc; set-cookie=a=1; Set-Cookie=b=2; Transfer-Encoding=chunked"))
        #expect(items[1] == .body(Array((String(repeating: "x", count: 5000) + "tail").utf8)))
        #expect(items[2] == .trailers("Grpc-Status=0"))
    }

    @Test func requestRoundTrip() {
        let wire = IOBuffer()
        var head = HTTPRequestHead(method: .put, target: "/objects/7?v=2", headers: ["Host": "store", "Content-Length": "3"])
        head.headers.add(name: "X-Extra", value: "  spaced")
        let framing = HTTP1Encoder.writeRequestHead(head, endStream: false, into: wire)
        #expect(framing == .contentLength(3))
        HTTP1Encoder.writeBody(IOBuffer("abc"), framing: framing, into: wire)
        HTTP1Encoder.writeEnd(framing: framing, into: wire)
        let items = HTTP1ChunkingVerifier.transcript(wire.bytes, role: .request)
        #expect(items == [
            .head("PUT /objects/7?v=2 HTTP/1.1 contentLength(3) keepAlive=true continue=false upgrade=false | Host=store; Content-Length=3; X-Extra=spaced"),
            .body(Array("abc".utf8)),
            .end,
        ])
    }

    @Test func framingChoices() {
        func framing(_ status: Int, endStream: Bool = false, method: HTTPMethod = .get, version: HTTPVersion = .http11, headers: HTTPHeaders = [:]) -> (HTTPBodyFraming, String) {
            let wire = IOBuffer()
            let result = HTTP1Encoder.writeResponseHead(HTTPResponseHead(status: status, headers: headers), endStream: endStream, requestMethod: method, peerVersion: version, into: wire)
            return (result, wire.string)
        }
        #expect(framing(204).0 == .none)
        #expect(!framing(204, headers: ["Content-Length": "5"]).1.contains("Content-Length"))
        #expect(framing(304, headers: ["Content-Length": "5"]) == (.none, "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"))
        #expect(framing(200, endStream: true) == (.none, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
        #expect(framing(200, method: .head, headers: ["Content-Length": "42"]).0 == .none)
        #expect(framing(200, version: .http10).0 == .untilClose)
        #expect(framing(200, method: .connect).0 == .untilClose)
        #expect(framing(101).0 == .untilClose)
        #expect(framing(200, headers: ["Content-Length": "7"]).0 == .contentLength(7))
        #expect(framing(599).1.hasPrefix("HTTP/1.1 599 Unknown\r\n"))
        let custom = HTTPResponseHead(status: 200, reason: "Fine Thanks")
        let wire = IOBuffer()
        HTTP1Encoder.writeResponseHead(custom, endStream: true, into: wire)
        #expect(wire.string.hasPrefix("HTTP/1.1 200 Fine Thanks\r\n"))
    }

    @Test func requestFramingChoices() {
        func framing(_ method: HTTPMethod, endStream: Bool) -> (HTTPBodyFraming, String) {
            let wire = IOBuffer()
            let result = HTTP1Encoder.writeRequestHead(HTTPRequestHead(method: method, target: "/", headers: ["Host": "h"]), endStream: endStream, into: wire)
            return (result, wire.string)
        }
        #expect(framing(.get, endStream: true) == (.none, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
        #expect(framing(.post, endStream: true) == (.none, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"))
        #expect(framing(.post, endStream: false).0 == .chunked)
    }

    /// Parsed fields are written from their stored lines where those are already in the written
    /// form; anything else (edited, removed, spaced differently, added) field by field.
    @Test func parsedAndEditedFieldsAreWrittenExactly() throws {
        var parser = HTTP1Parser(role: .request)
        let input = IOBuffer(
            "POST /p HTTP/1.1\r\nHost: a\r\nA: 1\r\nB:2\r\nC: 3  \r\nD: 4\r\nE:  5\r\nF: 6\r\nG: 7\r\n"
            + "H: 8\r\nTransfer-Encoding: chunked\r\nI: 9\r\n\r\n")
        guard case .requestHead(var head) = try? parser.next(from: input, body: IOBuffer()) else {
            Issue.record("no head")
            return
        }
        head.headers.remove("D")
        head.headers.set(name: "f", value: "six")
        head.headers.add(name: "J", value: "10")
        let wire = IOBuffer()
        HTTP1Encoder.writeRequestHead(head, endStream: true, into: wire)
        // The encoder owns framing: Transfer-Encoding is not copied; no body means Content-Length: 0.
        #expect(wire.string == "POST /p HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nE: 5\r\nF: six\r\nG: 7\r\n"
            + "H: 8\r\nI: 9\r\nJ: 10\r\nContent-Length: 0\r\n\r\n")
    }

    /// The parser notes whether a head has hop-by-hop fields at all; a field added afterwards is
    /// still found.
    @Test func hopByHopFieldsOfParsedHeadsAreRemovedToo() throws {
        for (text, kept) in [
            ("GET / HTTP/1.1\r\nHost: a\r\nTE: trailers\r\nX-A: 1\r\nKeep-Alive: 5\r\nProxy-Connection: x\r\nTrailer: X-S\r\n\r\n", ["Host", "X-A"]),
            ("GET / HTTP/1.1\r\nHost: a\r\nConnection: x-a\r\nX-A: 1\r\nUpgrade: h2c\r\nX-B: 2\r\n\r\n", ["Host", "X-B"]),
            ("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\r\n", ["Host", "X-A"]),
        ] {
            var parser = HTTP1Parser(role: .request)
            guard case .requestHead(var head) = try parser.next(from: IOBuffer(text), body: IOBuffer()) else {
                Issue.record("no head")
                return
            }
            var edited = head.headers
            edited.add(name: "Connection", value: "close, X-A")
            head.headers.removeHopByHopFields()
            #expect(head.headers.map(\.name) == kept)
            edited.removeHopByHopFields()
            #expect(edited.map(\.name) == kept.filter { $0 != "X-A" }, "an added Connection field is found")
        }
    }

    @Test func hopByHopFieldsAreRemovedForForwarding() {
        var headers: HTTPHeaders = [
            "Host": "a", "Connection": "keep-alive, X-Secret", "Keep-Alive": "timeout=5", "X-Secret": "1",
            "Proxy-Connection": "close", "TE": "trailers", "Transfer-Encoding": "chunked", "Upgrade": "h2c",
            "Trailer": "X-Sum", "X-Kept": "yes",
        ]
        let original = headers
        headers.removeHopByHopFields()
        #expect(headers.map(\.name) == ["Host", "X-Kept"])
        #expect(original.count == 10, "a copy keeps its fields")

        var nominatedTwice: HTTPHeaders = [
            "CONNECTION": " x-a ,,\tX-B", "x-a": "1", "X-C": "3", "connection": "x-c", "X-B": "2", "X-Ab": "kept",
        ]
        nominatedTwice.removeHopByHopFields()
        #expect(nominatedTwice.map(\.name) == ["X-Ab"])

        var plain: HTTPHeaders = ["Host": "a", "TEA": "x", "Upgrades": "y"]
        plain.removeHopByHopFields()
        #expect(plain.map(\.name) == ["Host", "TEA", "Upgrades"])
    }

    @Test func headerMapEditing() {
        var headers: HTTPHeaders = ["A": "1", "b": "2", "a": "3"]
        let copy = headers
        headers.set(name: "A", value: "one")
        #expect(headers.map(\.value) == ["one", "2"])
        #expect(copy.values(of: "a") == ["1", "3"], "copies do not share edits")
        #expect(headers.remove("B") == 1)
        headers.add(name: "C", value: "x")
        #expect(headers.description == "A: one\nC: x")
        #expect(headers.contains("c") && !headers.contains("b"))
    }
}
