import ConvoyNetwork
import Testing

@Suite("PROXY protocol header")
struct ProxyProtocolHeaderTests {
    /// Parses `bytes` as a connection's first bytes, as a caller does: at most `prefixLength` of them.
    private static func parse(_ bytes: [UInt8]) -> ProxyProtocolHeader.Outcome {
        let prefix = Array(bytes.prefix(ProxyProtocolHeader.prefixLength))
        return prefix.withUnsafeBytes { ProxyProtocolHeader.parse($0, available: bytes.count) }
    }

    private static func parse(_ text: String) -> ProxyProtocolHeader.Outcome { parse(Array(text.utf8)) }

    /// Every proper prefix of `bytes` needs more; the whole gives `expected`.
    private static func expectIncrementally(_ bytes: [UInt8], _ expected: ProxyProtocolHeader.Outcome) {
        for end in 0..<bytes.count {
            #expect(parse(Array(bytes[..<end])) == .needMore, "after \(end) of \(bytes.count) bytes")
        }
        #expect(parse(bytes) == expected)
    }

    private static let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    /// A v2 header: `command` (0 LOCAL, 1 PROXY), `family` byte, then `body`.
    private static func version2(command: UInt8 = 1, family: UInt8, body: [UInt8], version: UInt8 = 2) -> [UInt8] {
        signature + [version << 4 | command, family, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    // MARK: - Version 1

    @Test("v1 TCP4 and TCP6 lines give the source address and port and their own length")
    func version1Addresses() {
        let v4 = "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n"
        Self.expectIncrementally(Array((v4 + "GET / HTTP/1.1\r\n").utf8).prefix(v4.utf8.count).map { $0 },
                                 .complete(length: v4.utf8.count, source: SocketAddress("192.0.2.10:56324")))
        #expect(Self.parse(v4 + "GET / HTTP/1.1\r\n\r\n") == .complete(length: v4.utf8.count, source: SocketAddress("192.0.2.10:56324")),
                "what follows the line is not the header's")
        let v6 = "PROXY TCP6 2001:db8::1 2001:db8::2 65535 0\r\n"
        #expect(Self.parse(v6) == .complete(length: v6.utf8.count, source: SocketAddress("[2001:db8::1]:65535")))
    }

    @Test("v1 UNKNOWN carries no client, whatever follows it on the line")
    func version1Unknown() {
        #expect(Self.parse("PROXY UNKNOWN\r\n") == .complete(length: 15, source: nil))
        let long = "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n"
        #expect(Self.parse(long) == .complete(length: long.utf8.count, source: nil))
    }

    @Test("malformed v1 lines are refused", arguments: [
        "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",           // no such protocol
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",             // LF without CR
        "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",          // two spaces
        "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",             // a port missing
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",         // a word too many
        "PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n",       // IPv6 under TCP4
        "PROXY TCP6 1.2.3.4 2001:db8::2 1 2\r\n",       // IPv4 under TCP6
        "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",             // not an address
        "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",       // port out of range
        "PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n",         // leading zero
        "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",          // sign
        "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",           // case matters
        "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",            // no header at all
        "PUT / HTTP/1.1\r\n",                          // starts like "PROXY", then is not
    ])
    func version1Refused(line: String) {
        guard case .invalid = Self.parse(line) else {
            Issue.record("accepted: \(line.debugDescription) → \(Self.parse(line))")
            return
        }
    }

    @Test("a v1 line with no end within 107 bytes is refused, not waited for")
    func version1TooLong() {
        let endless = "PROXY UNKNOWN " + String(repeating: "x", count: 200)
        if case .invalid = Self.parse(endless) {} else { Issue.record("waited for more") }
        #expect(Self.parse(String(endless.prefix(106))) == .needMore)
    }

    // MARK: - Version 2

    @Test("v2 PROXY over IPv4 and IPv6 gives the source; TLVs after the addresses are skipped")
    func version2Addresses() {
        let v4Body: [UInt8] = [192, 0, 2, 10, 198, 51, 100, 1, 0xDC, 0x04, 0x01, 0xBB]
        let v4 = Self.version2(family: 0x11, body: v4Body)
        Self.expectIncrementally(v4, .complete(length: 28, source: SocketAddress("192.0.2.10:56324")))

        let source: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1]
        let v6Body = source + [UInt8](repeating: 0, count: 16) + [0x1F, 0x90, 0, 80]
        #expect(Self.parse(Self.version2(family: 0x21, body: v6Body)) == .complete(length: 52, source: SocketAddress("[2001:db8::1]:8080")))

        let tlv: [UInt8] = [0x04, 0x00, 0x03, 0x61, 0x62, 0x63]  // a NOOP TLV
        let withTLV = Self.version2(family: 0x11, body: v4Body + tlv + [UInt8](repeating: 0, count: 300))
        #expect(Self.parse(withTLV) == .complete(length: withTLV.count, source: SocketAddress("192.0.2.10:56324")),
                "the whole header is consumed, beyond the bytes the parser reads")
        #expect(Self.parse(Array(withTLV.dropLast())) == .needMore, "not before all of it arrived")
    }

    @Test("v2 LOCAL, UNSPEC and Unix-socket headers carry no client")
    func version2WithoutClient() {
        #expect(Self.parse(Self.version2(command: 0, family: 0x00, body: [])) == .complete(length: 16, source: nil))
        #expect(Self.parse(Self.version2(command: 0, family: 0x11, body: [UInt8](repeating: 1, count: 12))) == .complete(length: 28, source: nil),
                "LOCAL ignores any addresses")
        #expect(Self.parse(Self.version2(family: 0x00, body: [])) == .complete(length: 16, source: nil))
        let unix = Self.version2(family: 0x31, body: [UInt8](repeating: 0, count: 216))
        #expect(Self.parse(unix) == .complete(length: unix.count, source: nil))
    }

    @Test("malformed v2 headers are refused")
    func version2Refused() {
        let v4Body: [UInt8] = [192, 0, 2, 10, 198, 51, 100, 1, 0xDC, 0x04, 0x01, 0xBB]
        let cases: [(String, [UInt8])] = [
            ("version 1 in the binary form", Self.version2(family: 0x11, body: v4Body, version: 1)),
            ("version 3", Self.version2(family: 0x11, body: v4Body, version: 3)),
            ("command 2", Self.version2(command: 2, family: 0x11, body: v4Body)),
            ("IPv4 addresses cut short", Self.version2(family: 0x11, body: Array(v4Body.prefix(8)))),
            ("IPv6 addresses cut short", Self.version2(family: 0x21, body: v4Body)),
            ("a signature byte wrong", [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x55, 0x0A, 0x21, 0x11, 0, 12] + v4Body),
            ("longer than the limit", Self.version2(family: 0x11, body: v4Body + [UInt8](repeating: 0, count: ProxyProtocolHeader.maximumVersion2Length))),
        ]
        for (name, bytes) in cases {
            guard case .invalid = Self.parse(bytes) else {
                Issue.record("accepted: \(name) → \(Self.parse(bytes))")
                continue
            }
        }
    }
}
