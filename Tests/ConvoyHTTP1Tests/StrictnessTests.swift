import ConvoyHTTP1
import ConvoyNetwork
import ConvoyTestSupport
import Testing

/// The request-smuggling defences and the limits: each malformed input, the error it must give,
/// and the status a server answers with.
@Suite("Strictness")
struct StrictnessTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let input: String
        let kind: HTTPParseError.Kind
        var testDescription: String { name }
    }

    static let host = "Host: a\r\n"
    static let rejected: [Case] = [
        Case(name: "CL and TE together", input: "POST / HTTP/1.1\r\n\(host)Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", kind: .contentLengthAndTransferEncoding),
        Case(name: "TE then CL", input: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", kind: .contentLengthAndTransferEncoding),
        Case(name: "TE final not chunked", input: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked, gzip\r\n\r\n", kind: .chunkedNotFinal),
        Case(name: "TE identity", input: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: identity\r\n\r\n", kind: .chunkedNotFinal),
        Case(name: "TE gzip then chunked", input: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: gzip, chunked\r\n\r\n", kind: .unsupportedTransferEncoding),
        Case(name: "TE chunked twice", input: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", kind: .unsupportedTransferEncoding),
        Case(name: "TE empty", input: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: \r\n\r\n", kind: .unsupportedTransferEncoding),
        Case(name: "TE chunked with a parameter", input: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked;q=1\r\n\r\n", kind: .chunkedNotFinal),
        Case(name: "TE in HTTP/1.0", input: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", kind: .transferEncodingInHTTP10),
        Case(name: "CL differing in a list", input: "POST / HTTP/1.1\r\n\(host)Content-Length: 5, 6\r\n\r\n", kind: .conflictingContentLength),
        Case(name: "CL repeated differing", input: "POST / HTTP/1.1\r\n\(host)Content-Length: 5\r\nContent-Length: 6\r\n\r\n", kind: .conflictingContentLength),
        Case(name: "CL negative", input: "POST / HTTP/1.1\r\n\(host)Content-Length: -1\r\n\r\n", kind: .invalidContentLength),
        Case(name: "CL with a plus", input: "POST / HTTP/1.1\r\n\(host)Content-Length: +5\r\n\r\n", kind: .invalidContentLength),
        Case(name: "CL hex", input: "POST / HTTP/1.1\r\n\(host)Content-Length: 0x5\r\n\r\n", kind: .invalidContentLength),
        Case(name: "CL empty", input: "POST / HTTP/1.1\r\n\(host)Content-Length:\r\n\r\n", kind: .invalidContentLength),
        Case(name: "CL overflowing", input: "POST / HTTP/1.1\r\n\(host)Content-Length: 99999999999999999999999\r\n\r\n", kind: .invalidContentLength),
        Case(name: "CL with inner space", input: "POST / HTTP/1.1\r\n\(host)Content-Length: 1 2\r\n\r\n", kind: .invalidContentLength),
        Case(name: "space before colon", input: "GET / HTTP/1.1\r\n\(host)Content-Length : 0\r\n\r\n", kind: .invalidHeaderName),
        Case(name: "tab before colon", input: "GET / HTTP/1.1\r\n\(host)X-A\t: 0\r\n\r\n", kind: .invalidHeaderName),
        Case(name: "obs-fold", input: "GET / HTTP/1.1\r\n\(host)X-A: 1\r\n  continued\r\n\r\n", kind: .obsoleteLineFolding),
        Case(name: "bare CR in value", input: "GET / HTTP/1.1\r\n\(host)X-A: 1\r2\r\n\r\n", kind: .invalidHeaderValue),
        Case(name: "bare CR ending a line", input: "GET / HTTP/1.1\r\n\(host)X-A: 1\r\rX-B: 2\r\n\r\n", kind: .invalidHeaderValue),
        Case(name: "NUL in value", input: "GET / HTTP/1.1\r\n\(host)X-A: a\u{0}b\r\n\r\n", kind: .invalidHeaderValue),
        Case(name: "control in value", input: "GET / HTTP/1.1\r\n\(host)X-A: a\u{1b}b\r\n\r\n", kind: .invalidHeaderValue),
        Case(name: "DEL in a long value", input: "GET / HTTP/1.1\r\n\(host)X-A: abcdefghijklmnop\u{7f}qrstuvwxyz\r\n\r\n", kind: .invalidHeaderValue),
        Case(name: "NUL in name", input: "GET / HTTP/1.1\r\n\(host)X\u{0}A: 1\r\n\r\n", kind: .invalidHeaderName),
        Case(name: "non-token in name", input: "GET / HTTP/1.1\r\n\(host)X(A): 1\r\n\r\n", kind: .invalidHeaderName),
        Case(name: "non-token in a long name", input: "GET / HTTP/1.1\r\n\(host)X-Abcd(fghij: 1\r\n\r\n", kind: .invalidHeaderName),
        Case(name: "UTF-8 in a long name", input: "GET / HTTP/1.1\r\n\(host)X-Ab\u{e9}cdefgh: 1\r\n\r\n", kind: .invalidHeaderName),
        Case(name: "space inside a long name", input: "GET / HTTP/1.1\r\n\(host)Content Length: 0\r\n\r\n", kind: .invalidHeaderName),
        Case(name: "DEL in a long name", input: "GET / HTTP/1.1\r\n\(host)X-Abcdefg\u{7f}: 1\r\n\r\n", kind: .invalidHeaderName),
        Case(name: "empty name", input: "GET / HTTP/1.1\r\n\(host): 1\r\n\r\n", kind: .invalidHeaderName),
        Case(name: "no colon", input: "GET / HTTP/1.1\r\n\(host)NoColon\r\n\r\n", kind: .missingColon),
        Case(name: "bare LF in headers", input: "GET / HTTP/1.1\r\n\(host)X-A: 1\nX-B: 2\r\n\r\n", kind: .bareLineFeed),
        Case(name: "bare LF ending the head", input: "GET / HTTP/1.1\r\n\(host)\n", kind: .bareLineFeed),
        Case(name: "lower-case method", input: "get / HTTP/1.1\r\n\(host)\r\n", kind: .invalidMethod),
        Case(name: "unknown method", input: "FOO / HTTP/1.1\r\n\(host)\r\n", kind: .invalidMethod),
        Case(name: "method with a bad byte", input: "G@T / HTTP/1.1\r\n\(host)\r\n", kind: .invalidMethod),
        Case(name: "two spaces", input: "GET  / HTTP/1.1\r\n\(host)\r\n", kind: .invalidTarget),
        Case(name: "no version", input: "GET /\r\n\(host)\r\n", kind: .invalidRequestLine),
        Case(name: "lower-case version", input: "GET / http/1.1\r\n\(host)\r\n", kind: .invalidVersion),
        Case(name: "version with letters", input: "GET / HTTP/1.x\r\n\(host)\r\n", kind: .invalidVersion),
        Case(name: "HTTP/2.0", input: "GET / HTTP/2.0\r\n\(host)\r\n", kind: .unsupportedVersion),
        Case(name: "space in target", input: "GET /a b HTTP/1.1\r\n\(host)\r\n", kind: .invalidTarget),
        Case(name: "missing Host", input: "GET / HTTP/1.1\r\n\r\n", kind: .missingHost),
        Case(name: "two Hosts", input: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", kind: .multipleHost),
        Case(name: "space in Host", input: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", kind: .invalidHost),
        Case(name: "path in Host", input: "GET / HTTP/1.1\r\nHost: a/admin\r\n\r\n", kind: .invalidHost),
        Case(name: "userinfo in Host", input: "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", kind: .invalidHost),
        Case(name: "query in Host", input: "GET / HTTP/1.1\r\nhost: a?b\r\n\r\n", kind: .invalidHost),
        Case(name: "backslash in Host", input: "GET / HTTP/1.1\r\nHOST: a\\b\r\n\r\n", kind: .invalidHost),
        Case(name: "non-ASCII Host", input: "GET / HTTP/1.1\r\nHost: b\u{FC}cher.example\r\n\r\n", kind: .invalidHost),
        Case(name: "bad Connection option", input: "GET / HTTP/1.1\r\n\(host)Connection: a b\r\n\r\n", kind: .invalidConnectionHeader),
        Case(name: "CONNECT with a body", input: "CONNECT a:443 HTTP/1.1\r\n\(host)Content-Length: 4\r\n\r\n", kind: .bodyNotAllowed),
        Case(name: "CONNECT with TE", input: "CONNECT a:443 HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n", kind: .unsupportedTransferEncoding),
        Case(name: "chunk size garbage", input: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\nzz\r\n", kind: .invalidChunkSize),
        Case(name: "chunk size overflow", input: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n1000000000000000000\r\n", kind: .invalidChunkSize),
        Case(name: "chunk size negative", input: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n-1\r\n", kind: .invalidChunkSize),
        Case(name: "chunk size with a bare CR", input: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n3\rabc\r\n", kind: .invalidChunkSize),
        Case(name: "chunk extension with a bare CR", input: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n3;a\rb\r\nabc\r\n", kind: .invalidChunkSize),
        Case(name: "chunk extension with NUL", input: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n3;a\u{0}\r\nabc\r\n", kind: .invalidChunkExtension),
        Case(name: "chunk data too long", input: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n", kind: .invalidChunkTerminator),
        Case(name: "bad trailer", input: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n0\r\nX Y: 1\r\n\r\n", kind: .invalidHeaderName),
    ]

    @Test(arguments: rejected)
    func rejects(_ sample: Case) {
        #expect(parseError(sample.input) == sample.kind)
    }

    @Test func statusesForTheErrors() {
        #expect(HTTPParseError(.contentLengthAndTransferEncoding).status == 400)
        #expect(HTTPParseError(.unsupportedTransferEncoding).status == 501)
        #expect(HTTPParseError(.headersTooLarge).status == 431)
        #expect(HTTPParseError(.tooManyHeaders).status == 431)
        #expect(HTTPParseError(.targetTooLong).status == 414)
        #expect(HTTPParseError(.bodyTooLarge).status == 413)
        #expect(HTTPParseError(.unsupportedVersion).status == 505)
        #expect(HTTPParseError(.invalidMethod).status == 400)
    }

    /// Host values of every legal shape pass: names, ports, IP literals, sub-delims, escapes, and
    /// empty (a target without authority); a response's Host is not the parser's business.
    @Test func validHostsAreAccepted() {
        for host in ["a", "example.com", "Example.COM:8080", "[::1]:80", "127.0.0.1", "a_b-c~d.example", "%61.example", "a!$&'()*+,;=b", "",
                     "a-long-host-name.example.com:8443", "[2001:db8::1]:443", "127.0.0.1:18083"] {
            #expect(parseError("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n") == nil, "\(host)")
        }
        #expect(parseError("HTTP/1.1 200 OK\r\nHost: a b\r\nContent-Length: 0\r\n\r\n", role: .response) == nil)
    }

    /// The Host check looks at eight bytes at a time: a bad byte is caught at every position of
    /// hosts of every length, and the rarer legal bytes pass there too.
    @Test func hostIsCheckedAtEveryPosition() {
        for length in 1...24 {
            for position in 0..<length {
                for (byte, valid) in [(" ", false), ("/", false), ("@", false), ("\\", false), ("#", false), ("\u{E9}", false),
                                      ("_", true), ("[", true), ("~", true), ("%", true), ("=", true), ("Z", true)] {
                    if byte == " ", position == 0 || position == length - 1 { continue }  // trimmed as whitespace around the value
                    var host = Array(repeating: Character("a"), count: length)
                    host[position] = Character(byte)
                    let kind = parseError("GET / HTTP/1.1\r\nHost: \(String(host))\r\n\r\n")
                    #expect(kind == (valid ? nil : .invalidHost), "\(String(host))")
                }
            }
        }
    }

    @Test func identicalContentLengthsAreOneLength() {
        let items = parsed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\ncontent-length: 3\r\n\r\nabc")
        #expect(bodyText(items) == "abc")
    }

    @Test func headSizeLimit() {
        let big = String(repeating: "a", count: 61 * 1024)
        #expect(parseError("GET / HTTP/1.1\r\nHost: a\r\nX-Big: \(big)\r\n\r\n") == .headersTooLarge)
        // Refused before the head ends: the limit holds for a head that never ends.
        #expect(parseError("GET / HTTP/1.1\r\nHost: a\r\nX-Big: \(big)") == .headersTooLarge)
        let limits = HTTP1ParserLimits(maxHeadBytes: 100)
        #expect(parseError("GET / HTTP/1.1\r\nHost: a\r\n\r\n", limits: limits) == nil)
        #expect(parseError("GET / HTTP/1.1\r\nHost: a\r\nX: \(String(repeating: "b", count: 80))\r\n\r\n", limits: limits) == .headersTooLarge)
    }

    @Test func headerCountLimit() {
        let hundred = (0..<99).map { "X-\($0): v\r\n" }.joined()
        #expect(parseError("GET / HTTP/1.1\r\nHost: a\r\n\(hundred)\r\n") == nil)
        #expect(parseError("GET / HTTP/1.1\r\nHost: a\r\n\(hundred)X-Last: v\r\n\r\n") == .tooManyHeaders)
        // Refused before the head ends: a head that never ends cannot keep the parser counting
        // lines (small ones stay under the byte limit).
        let many = (0..<150).map { "X-\($0): v\r\n" }.joined()
        #expect(parseError("GET / HTTP/1.1\r\nHost: a\r\n\(many)") == .tooManyHeaders)
    }

    @Test func targetLengthLimit() {
        let limits = HTTP1ParserLimits(maxTargetLength: 64)
        let long = "/" + String(repeating: "p", count: 64)
        #expect(parseError("GET \(long) HTTP/1.1\r\nHost: a\r\n\r\n", limits: limits) == .targetTooLong)
        #expect(parseError("GET \(long.dropLast()) HTTP/1.1\r\nHost: a\r\n\r\n", limits: limits) == nil)
        // A request line that never ends is refused once it cannot fit.
        #expect(parseError("GET /\(String(repeating: "p", count: 200))", limits: limits) == .targetTooLong)
    }

    @Test func bodyLimit() {
        let limits = HTTP1ParserLimits(maxBodyBytes: 4)
        #expect(parseError("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", limits: limits) == .bodyTooLarge)
        #expect(parseError("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd", limits: limits) == nil)
        #expect(parseError("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n", limits: limits) == .bodyTooLarge)
    }

    @Test func nothingAfterAnErrorIsParsed() throws {
        var parser = HTTP1Parser(role: .request)
        let input = IOBuffer("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n")
        let body = IOBuffer()
        #expect(throws: HTTPParseError(.conflictingContentLength)) { try parser.next(from: input, body: body) }
        // Every later call fails the same way; the smuggled request never comes out.
        #expect(throws: HTTPParseError(.conflictingContentLength)) { try parser.next(from: input, body: body) }
        input.append("GET /more HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(throws: HTTPParseError(.conflictingContentLength)) { try parser.next(from: input, body: body) }
        #expect(parser.error?.kind == .conflictingContentLength)
    }
}
