import ConvoyHTTP1
import ConvoyNetwork
import ConvoyTestSupport
import Testing

@Suite("Request parsing")
struct RequestParserTests {
    @Test func smallGetHasHeadThenEnd() {
        let items = parsed("GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nX-Custom:  spaced value \t\r\n\r\n")
        #expect(items == [
            .head("GET /index.html?q=1 HTTP/1.1 none keepAlive=true continue=false upgrade=false | Host=example.com; X-Custom=spaced value"),
            .end,
        ])
    }

    /// The parser notes whether a target holds `.`, `%` or `\` (eight bytes at a time), so a
    /// proxy skips path normalization for the rest; a miss would let a dot segment through.
    @Test func targetDotOrEscapeIsFoundAtEveryPosition() throws {
        func flag(_ target: String) throws -> Bool {
            var parser = HTTP1Parser(role: .request)
            let input = IOBuffer("GET \(target) HTTP/1.1\r\nHost: a\r\n\r\n")
            guard case .requestHead(let head) = try parser.next(from: input, body: IOBuffer()) else { return true }
            return head.targetMayNeedNormalizing
        }
        for length in 1...24 {
            let plain = "/" + String(repeating: "a", count: length)
            #expect(try !flag(plain), "\(plain)")
            for position in 1...length {
                for special in [".", "%", "\\"] {
                    var bytes = Array(plain.utf8)
                    bytes[position] = UInt8(ascii: special.unicodeScalars.first!)
                    let target = String(decoding: bytes, as: UTF8.self)
                    #expect(try flag(target), "\(target)")
                }
            }
        }
        // The same pass validates the target: a byte outside 0x21–0x7E anywhere is refused.
        for length in 1...24 {
            for position in 1...length {
                for bad: UInt8 in [0x01, 0x7F, 0x80] {
                    var bytes = Array("GET /".utf8) + [UInt8](repeating: 0x61, count: length) + Array(" HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
                    bytes[4 + position] = bad
                    var parser = HTTP1Parser(role: .request)
                    let failure = #expect(throws: HTTPParseError.self) { try parser.next(from: IOBuffer(bytes), body: IOBuffer()) }
                    #expect(failure?.kind == .invalidTarget, "byte \(bad) at \(position) of \(length)")
                }
            }
        }
        var head = HTTPRequestHead(method: .get, target: "/plain")
        #expect(head.targetMayNeedNormalizing, "a built head is not known to be clean")
        head.target = "/x"
        #expect(head.targetMayNeedNormalizing)
    }

    @Test func headerMapKeepsCaseOrderAndDuplicates() throws {
        var parser = HTTP1Parser(role: .request)
        let input = IOBuffer("GET / HTTP/1.1\r\nHost: a\r\nX-Trace: 1\r\nx-trace: 2\r\nCookie: c=1\r\n\r\n")
        guard case .requestHead(let head) = try parser.next(from: input, body: IOBuffer()) else {
            Issue.record("no head")
            return
        }
        #expect(head.headers.count == 4)
        #expect(head.headers.name(at: 1) == "X-Trace")
        #expect(head.headers.name(at: 2) == "x-trace")
        #expect(head.headers["X-TRACE"] == "1")
        #expect(head.headers.values(of: "x-trace") == ["1", "2"])
        #expect(head.headers["missing"] == nil)
        #expect(head.headers.withValue(at: 3) { String(decoding: $0, as: UTF8.self) } == "c=1")
    }

    @Test func contentLengthBodyStreamsInPieces() throws {
        var parser = HTTP1Parser(role: .request)
        let input = IOBuffer("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123")
        let body = IOBuffer()
        guard case .requestHead(let head) = try parser.next(from: input, body: body) else {
            Issue.record("no head")
            return
        }
        #expect(head.framing == .contentLength(10))
        // The head is reported before the body is complete, and the first bytes right after.
        guard case .body = try parser.next(from: input, body: body) else {
            Issue.record("no body event")
            return
        }
        #expect(body.string == "0123")
        guard case .needsMoreBytes = try parser.next(from: input, body: body) else {
            Issue.record("an event before the rest of the body")
            return
        }
        input.append("456789GET")
        guard case .body = try parser.next(from: input, body: body) else {
            Issue.record("no body event")
            return
        }
        #expect(body.string == "0123456789")
        guard case .end = try parser.next(from: input, body: body) else {
            Issue.record("no end")
            return
        }
        #expect(input.string == "GET", "the next request's bytes are left in the input")
    }

    @Test func chunkedBodyWithExtensionsAndTrailers() {
        let items = parsed("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n1A ; x\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Checksum: abc\r\nX-More: 1\r\n\r\n")
        #expect(firstHead(items)?.contains("chunked") == true)
        #expect(bodyText(items) == "helloabcdefghijklmnopqrstuvwxyz")
        #expect(items.suffix(2) == [.trailers("X-Checksum=abc; X-More=1"), .end])
    }

    @Test func chunkSizesInEveryForm() {
        // Leading zeros past what fits the fast path, upper- and lower-case hex, a size line
        // right after chunk data, an extension: all give the same body.
        let items = parsed("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000000003\r\nabc\r\nA\r\n0123456789\r\nb;x=y\r\nabcdefghijk\r\n000\r\n\r\n")
        #expect(bodyText(items) == "abc0123456789abcdefghijk")
        #expect(items.last == .end)
    }

    @Test func fieldNamesWithEveryTokenCharacter() {
        // Names longer than a word, with the rarer tchars at every offset of it.
        let names = ["ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefghijklmnopqrstuvwxyz-0123456789", "X_Custom.Header", "a!#$%&'*+^_`|~b", "Xxxxxxx~", "Xxxxxxxx|y"]
        let fields = names.map { "\($0): v\r\n" }.joined()
        let head = firstHead(parsed("GET / HTTP/1.1\r\nHost: a\r\n\(fields)\r\n"))
        for name in names {
            #expect(head?.contains("\(name)=v") == true, "\(name)")
        }
    }

    @Test func chunkedBodyWithoutTrailers() {
        let items = parsed("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: b\r\n\r\n")
        #expect(bodyText(items) == "abc")
        #expect(items.count == 5)
        #expect(items[2] == .end)
        #expect(firstHead(Array(items.dropFirst(3)))?.hasPrefix("GET / HTTP/1.1") == true)
        #expect(items.last == .end)
    }

    @Test func pipelinedRequestsEachEnd() {
        let one = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
        let two = "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz"
        let three = "GET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        let items = parsed(one + two + three)
        let heads = items.compactMap { item -> String? in if case .head(let text) = item { text } else { nil } }
        #expect(heads.count == 3)
        #expect(heads[2].contains("keepAlive=false"))
        #expect(items.filter { $0 == .end }.count == 3)
        #expect(bodyText(items) == "xyz")
    }

    @Test func http10KeepAliveRules() {
        #expect(firstHead(parsed("GET / HTTP/1.0\r\n\r\n"))?.contains("keepAlive=false") == true)
        #expect(firstHead(parsed("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))?.contains("keepAlive=true") == true)
        #expect(firstHead(parsed("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, Close\r\n\r\n"))?.contains("keepAlive=false") == true)
        #expect(firstHead(parsed("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))?.contains("keepAlive=true") == true)
    }

    @Test func expectContinueIsReported() {
        let items = parsed("PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nok")
        #expect(firstHead(items)?.contains("continue=true") == true)
    }

    @Test func upgradeHandsOverTheRestRaw() {
        let items = parsed("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\u{1}\u{2}raw GET / HTTP/1.1\r\n", finish: true)
        #expect(firstHead(items)?.contains("upgrade=true") == true)
        #expect(bodyText(items) == "\u{1}\u{2}raw GET / HTTP/1.1\r\n")
        #expect(items.last == .end)
    }

    @Test func connectTunnelsAfterTheHead() {
        let items = parsed("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\u{16}\u{3}tls", finish: true)
        #expect(firstHead(items)?.hasPrefix("CONNECT example.com:443") == true)
        #expect(bodyText(items) == "\u{16}\u{3}tls")
    }

    @Test func leadingEmptyLineIsSkipped() {
        #expect(firstHead(parsed("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"))?.hasPrefix("GET /") == true)
    }

    @Test func targetForms() {
        #expect(parseError("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n") == nil)
        #expect(parseError("GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n") == nil)
        #expect(parseError("GET * HTTP/1.1\r\nHost: a\r\n\r\n") == .invalidTarget)
        #expect(parseError("GET example.com HTTP/1.1\r\nHost: a\r\n\r\n") == .invalidTarget)
        #expect(parseError("CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n") == .invalidTarget)
        #expect(parseError("CONNECT a.com HTTP/1.1\r\nHost: a\r\n\r\n") == .invalidTarget)
        #expect(parseError("GET /a\u{7f}b HTTP/1.1\r\nHost: a\r\n\r\n") == .invalidTarget)
        #expect(parseError("GET /é HTTP/1.1\r\nHost: a\r\n\r\n") == .invalidTarget)
    }

    @Test func eofInTheMiddleIsAnError() {
        #expect(parseError("GET / HTTP/1.1\r\nHost: a\r\n", finish: true) == .incompleteMessage)
        #expect(parseError("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab", finish: true) == .incompleteMessage)
        #expect(parsed("GET / HTTP/1.1\r\nHost: a\r\n\r\n", finish: true).last == .end)
    }

    @Test func bareLineFeedsAcceptedOnlyInLenientMode() {
        let text = "GET / HTTP/1.1\nHost: a\n\n"
        #expect(parseError(text) == .bareLineFeed)
        let lenient = HTTP1ParserLimits(allowBareLineFeed: true)
        #expect(firstHead(parsed(text, limits: lenient))?.contains("Host=a") == true)
        let chunked = "POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n"
        #expect(bodyText(parsed(chunked, limits: lenient)) == "abc")
        #expect(parseError("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n") == .invalidChunkSize)
    }
}
