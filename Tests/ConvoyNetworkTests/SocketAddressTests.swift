import ConvoyNetwork
import Testing

@Suite("SocketAddress")
struct SocketAddressTests {
    @Test("parses and prints IPv4, IPv6 and Unix addresses, and their host without port or brackets", arguments: [
        ("127.0.0.1:8080", "127.0.0.1:8080", "127.0.0.1"),
        ("0.0.0.0:0", "0.0.0.0:0", "0.0.0.0"),
        ("[::1]:443", "[::1]:443", "::1"),
        ("[2001:db8::1]:80", "[2001:db8::1]:80", "2001:db8::1"),
        ("unix:/tmp/convoy.sock", "unix:/tmp/convoy.sock", "/tmp/convoy.sock"),
    ])
    func roundTrip(text: String, printed: String, host: String) throws {
        let address = try #require(SocketAddress(text))
        #expect(address.description == printed)
        #expect(address.host == host)
    }

    @Test("rejects malformed addresses", arguments: [
        "127.0.0.1", "127.0.0.1:99999", "localhost:80", "[::1:80", "::1", "unix:", "1.2.3.4:-1", "",
    ])
    func rejects(text: String) {
        #expect(SocketAddress(text) == nil)
    }

    @Test("ports")
    func ports() {
        #expect(SocketAddress.loopback(port: 9).port == 9)
        #expect(SocketAddress("unix:/x")?.port == nil)
    }
}
