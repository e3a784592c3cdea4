import ConvoyHTTP1
import Testing

/// `HTTPRequestHead.convertAbsoluteFormTarget()`: RFC 9112 §3.2.2's absolute-form, turned into
/// origin-form with the URL's authority as `Host`. (The proxy's socket tests cover the routing
/// that depends on it; these pin each form of target.)
@Suite("Absolute-form targets")
struct AbsoluteFormTests {
    /// The head after conversion: nil when refused, else (target, Host).
    private static func convert(_ target: String, host: String? = "client.test") -> (target: String, host: String?)? {
        var headers = HTTPHeaders()
        if let host { headers.add(name: "Host", value: host) }
        var head = HTTPRequestHead(method: .get, target: target, headers: headers)
        guard head.convertAbsoluteFormTarget() else { return nil }
        return (head.target, head.headers["host"])
    }

    @Test("an http or https URL becomes its path and query, and its authority replaces Host", arguments: [
        ("http://site.test/admin", "/admin", "site.test"),
        ("http://site.test:8080/a/b?x=1&y", "/a/b?x=1&y", "site.test:8080"),
        ("HTTPS://Site.Test/", "/", "Site.Test"),
        ("http://site.test", "/", "site.test"),
        ("http://site.test?q", "/?q", "site.test"),
        ("http://[::1]:8080/v6", "/v6", "[::1]:8080"),
        ("http://10.0.0.1/%2e%2e/x", "/%2e%2e/x", "10.0.0.1"),
    ])
    func converts(target: String, originForm: String, authority: String) throws {
        let converted = try #require(Self.convert(target))
        #expect(converted.target == originForm)
        #expect(converted.host == authority, "the URL's authority wins over the Host header")
    }

    @Test("without a Host header the URL's authority becomes one")
    func addsHost() throws {
        let converted = try #require(Self.convert("http://site.test/x", host: nil))
        #expect(converted.target == "/x" && converted.host == "site.test")
    }

    @Test("origin-form, asterisk-form and authority-form targets are left alone", arguments: [
        "/", "/a?b=http://x.test/", "*", "site.test:443", "site.test",
    ])
    func leavesOtherForms(target: String) throws {
        let converted = try #require(Self.convert(target))
        #expect(converted.target == target && converted.host == "client.test")
    }

    @Test("unusable URLs are refused: another scheme, no host, userinfo, a fragment, bytes no host holds", arguments: [
        "ftp://site.test/x", "ws://site.test/", "http:///path", "http://:80/x", "http://user@site.test/",
        "http://user:pw@site.test/", "http://site.test/a#frag", "http://site.test#frag", "http://si te.test/",
        "http://site.test\\admin/", "http://site.test\"x/",
    ])
    func refuses(target: String) {
        #expect(Self.convert(target) == nil)
    }
}
