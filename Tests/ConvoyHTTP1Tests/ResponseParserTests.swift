import ConvoyHTTP1
import ConvoyTestSupport
import Testing

@Suite("Response parsing")
struct ResponseParserTests {
    @Test func contentLengthResponse() {
        let items = parsed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello", role: .response)
        #expect(items == [
            .head("HTTP/1.1 200 OK contentLength(5) keepAlive=true upgrade=false | Content-Length=5; Server=x"),
            .body(Array("hello".utf8)),
            .end,
        ])
    }

    @Test func closeDelimitedBodyEndsAtEOF() {
        let items = parsed("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nstreamed until close", role: .response, finish: true)
        #expect(firstHead(items)?.contains("untilClose keepAlive=false") == true)
        #expect(bodyText(items) == "streamed until close")
        #expect(items.last == .end)
    }

    @Test func transferEncodingOtherThanChunkedIsCloseDelimited() {
        let items = parsed("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz", role: .response, finish: true)
        #expect(firstHead(items)?.contains("untilClose") == true)
        #expect(bodyText(items) == "zz")
    }

    @Test func chunkedResponseWithTrailers() {
        let items = parsed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n0\r\nGrpc-Status: 0\r\n\r\n", role: .response)
        #expect(bodyText(items) == "wiki")
        #expect(items.suffix(2) == [.trailers("Grpc-Status=0"), .end])
    }

    @Test func bodilessResponses() {
        // HEAD: the length describes the resource, no body bytes follow.
        let head = parsed("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", role: .response, requestMethod: .head)
        #expect(head.count == 2 && head.last == .end)
        #expect(parsed("HTTP/1.1 204 No Content\r\n\r\n", role: .response).last == .end)
        #expect(parsed("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", role: .response).last == .end)
        #expect(parseError("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n", role: .response) == .bodyNotAllowed)
        #expect(parseError("HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n", role: .response) == .bodyNotAllowed)
    }

    @Test func informationalThenFinal() {
        let items = parsed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", role: .response)
        #expect(items.count == 4)
        #expect(firstHead(items)?.hasPrefix("HTTP/1.1 100 Continue") == true)
        #expect(items.last == .end)
        if case .head(let final) = items[2] { #expect(final.hasPrefix("HTTP/1.1 201 Created none")) }
    }

    @Test func switchingProtocolsTunnels() {
        let items = parsed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u{81}\u{5}hello", role: .response, finish: true)
        #expect(firstHead(items)?.contains("upgrade=true") == true)
        #expect(bodyText(items) == "\u{81}\u{5}hello")
    }

    @Test func connectSuccessTunnels() {
        let items = parsed("HTTP/1.1 200 Connection established\r\n\r\nraw", role: .response, requestMethod: .connect, finish: true)
        #expect(firstHead(items)?.contains("upgrade=true") == true)
        #expect(bodyText(items) == "raw")
    }

    @Test func statusLineVariants() {
        #expect(firstHead(parsed("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", role: .response))?.hasPrefix("HTTP/1.1 200  none") == true)
        #expect(firstHead(parsed("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", role: .response))?.contains("keepAlive=false") == true)
        #expect(parseError("HTTP/1.1 20 OK\r\n\r\n", role: .response) == .invalidStatusLine)
        #expect(parseError("HTTP/1.1 2000 OK\r\n\r\n", role: .response) == .invalidStatusLine)
        #expect(parseError("HTTP/1.1 099 OK\r\n\r\n", role: .response) == .invalidStatusLine)
        #expect(parseError("HTTP/1.1 200 O\u{0}K\r\n\r\n", role: .response) == .invalidStatusLine)
        #expect(parseError("HTTP/1.1  200 OK\r\n\r\n", role: .response) == .invalidStatusLine)
        #expect(parseError("ICY 200 OK\r\n\r\n", role: .response) == .invalidStatusLine)
        #expect(parseError("\r\nHTTP/1.1 200 OK\r\n\r\n", role: .response) == .invalidStatusLine)
        #expect(parseError("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", role: .response) == .contentLengthAndTransferEncoding)
    }

    @Test func truncatedResponseIsAnError() {
        #expect(parseError("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", role: .response, finish: true) == .incompleteMessage)
        #expect(parseError("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", role: .response, finish: true) == .incompleteMessage)
    }
}
