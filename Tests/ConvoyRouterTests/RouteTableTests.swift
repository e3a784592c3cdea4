import ConvoyDispatcher
import ConvoyHTTP1
import ConvoyRouter
import Synchronization
import Testing

private func request(_ method: HTTPMethod = .get, _ target: String, _ headers: HTTPHeaders = ["Host": "shop.example.com"]) -> RouteRequest {
    RouteRequest(head: HTTPRequestHead(method: method, target: target, headers: headers), scheme: "http", listenerPort: 8080)
}

private func route(_ name: String, _ matchers: [RequestMatcher] = []) -> Route {
    Route(name: name, matchers: matchers, action: .directResponse(status: 200, body: Array(name.utf8)))
}

@Suite("Route matching")
struct RouteMatchingTests {
    @Test("uri exact, prefix and regex; ignoreUriCase")
    func uriMatchers() throws {
        var exact = RequestMatcher(); exact.uri = .exact("/login")
        var prefix = RequestMatcher(); prefix.uri = .prefix("/api/")
        var regex = RequestMatcher(); regex.uri = StringMatch(.regex(try CompiledRegex("/items/[0-9]+")))
        var caseless = RequestMatcher(); caseless.uri = .prefix("/Static", ignoresCase: true)
        #expect(exact.matches(request(.get, "/login")))
        #expect(exact.matches(request(.get, "/login?next=/")))  // the query is not part of the path
        #expect(!exact.matches(request(.get, "/login/x")))
        #expect(prefix.matches(request(.get, "/api/v1")))
        #expect(!prefix.matches(request(.get, "/apix")))
        #expect(regex.matches(request(.get, "/items/42")))
        #expect(!regex.matches(request(.get, "/items/42/reviews")))  // whole-path match, as RE2 FullMatch
        #expect(caseless.matches(request(.get, "/static/app.js")))
        #expect(caseless.matches(request(.get, "/STATIC/app.js")))
    }

    @Test("headers: exact, prefix, presence; withoutHeaders; repeated fields")
    func headerMatchers() {
        var matcher = RequestMatcher()
        matcher.headers = [FieldCondition(name: "x-canary", match: .exact("always")), FieldCondition(name: "x-user", match: StringMatch(.present))]
        matcher.withoutHeaders = [FieldCondition(name: "x-debug", match: .prefix("on"))]
        #expect(matcher.matches(request(.get, "/", ["Host": "a", "X-Canary": "always", "x-user": ""])))
        #expect(!matcher.matches(request(.get, "/", ["Host": "a", "X-Canary": "always"])))
        #expect(!matcher.matches(request(.get, "/", ["Host": "a", "X-Canary": "never", "x-user": "u"])))
        #expect(!matcher.matches(request(.get, "/", ["Host": "a", "X-Canary": "always", "x-user": "u", "x-debug": "on-please"])))
        var repeated = HTTPHeaders()
        repeated.add(name: "Host", value: "a")
        repeated.add(name: "x-canary", value: "no")
        repeated.add(name: "x-canary", value: "always")
        repeated.add(name: "x-user", value: "u")
        #expect(matcher.matches(request(.get, "/", repeated)))
    }

    @Test("query parameters, method, scheme, authority and port")
    func otherMatchers() {
        var matcher = RequestMatcher()
        matcher.queryParameters = [FieldCondition(name: "version", match: .exact("2")), FieldCondition(name: "debug", match: .exact(""))]
        #expect(matcher.matches(request(.get, "/x?version=2&debug")))
        #expect(!matcher.matches(request(.get, "/x?version=20&debug")))
        #expect(!matcher.matches(request(.get, "/x?debug")))
        var method = RequestMatcher(); method.method = .exact("POST")
        #expect(method.matches(request(.post, "/")))
        #expect(!method.matches(request(.get, "/")))
        var authority = RequestMatcher(); authority.authority = .prefix("shop.")
        #expect(authority.matches(request(.get, "/")))
        #expect(!authority.matches(request(.get, "/", ["Host": "admin.example.com"])))
        var scheme = RequestMatcher(); scheme.scheme = .exact("https")
        #expect(!scheme.matches(request(.get, "/")))
        var port = RequestMatcher(); port.port = 8080
        #expect(port.matches(request(.get, "/")))
        port.port = 9090
        #expect(!port.matches(request(.get, "/")))
    }

    @Test("virtual hosts: exact, longest wildcard suffix, then *; a port in Host is ignored")
    func virtualHostSelection() throws {
        let table = RouteTable(virtualHosts: [
            VirtualHost(name: "exact", domains: ["shop.example.com"], routes: [route("exact")]),
            VirtualHost(name: "wide", domains: ["*.com"], routes: [route("wide")]),
            VirtualHost(name: "narrow", domains: ["*.example.com"], routes: [route("narrow")]),
            VirtualHost(name: "any", domains: ["*"], routes: [route("any")]),
        ])
        func name(_ host: String) -> String? {
            table.route(for: request(.get, "/", ["Host": host])).map { table[$0].name }
        }
        #expect(name("shop.example.com") == "exact")
        #expect(name("SHOP.example.com:8080") == "exact")
        #expect(name("admin.example.com") == "narrow")
        #expect(name("other.com") == "wide")
        #expect(name("localhost") == "any")
        #expect(table.virtualHost(forAuthority: nil) == 3)
    }

    @Test("first matching rule wins; a rule without match blocks takes everything; no host → nil")
    func firstMatchWins() {
        var api = RequestMatcher(); api.uri = .prefix("/api")
        let table = RouteTable(virtualHosts: [
            VirtualHost(name: "shop", domains: ["shop.example.com"], routes: [route("api", [api]), route("rest"), route("never", [api])]),
        ])
        #expect(table.route(for: request(.get, "/api/x")).map { table[$0].name } == "api")
        #expect(table.route(for: request(.get, "/other")).map { table[$0].name } == "rest")
        #expect(table.route(for: request(.get, "/", ["Host": "elsewhere"])) == nil)
        #expect(table.route(for: request(.get, "/api/x"))?.matchedPrefixLength == 4)
    }

    @Test("rewrite replaces the matched prefix or the path, keeps the query; redirect builds Location")
    func rewriteAndRedirect() {
        let rewrite = Rewrite(uri: "/v2/")
        #expect(rewrite.rewrittenTarget(request(.get, "/api/items?x=1"), matchedPrefixLength: 5) == "/v2/items?x=1")
        #expect(rewrite.rewrittenTarget(request(.get, "/api/items?x=1"), matchedPrefixLength: nil) == "/v2/?x=1")
        #expect(Rewrite(uri: "").rewrittenTarget(request(.get, "/api"), matchedPrefixLength: 4) == "/")
        let redirect = Redirect(uri: "/new", authority: "www.example.com", port: 8443, scheme: "https", code: 308)
        #expect(redirect.location(for: request(.get, "/old?q=1")) == "https://www.example.com:8443/new?q=1")
        #expect(Redirect(scheme: "https", code: 301).location(for: request(.get, "/p")) == "https://shop.example.com/p")
        #expect(Redirect(port: 443, scheme: "https").location(for: request(.get, "/p", ["Host": "a.com:80"])) == "https://a.com/p")
    }

    @Test("uriRegexRewrite replaces every match in the path with its substitution, groups included, and keeps the query (Envoy's examples)")
    func regexRewrite() throws {
        func rewrite(_ pattern: String, _ substitution: String, _ target: String) throws -> String? {
            let regex = try RegexSubstitution(regex: try CompiledRegex(pattern), substitution: substitution)
            return Rewrite(uriRegex: regex).rewrittenTarget(request(.get, target), matchedPrefixLength: nil)
        }
        #expect(try rewrite("^/service/([^/]+)(/.*)$", "\\2/instance/\\1", "/service/foo/v1/api?x=1") == "/v1/api/instance/foo?x=1")
        #expect(try rewrite("one", "two", "/xxx/one/yyy/one/zzz") == "/xxx/two/yyy/two/zzz", "every match")
        #expect(try rewrite("^(.*?)one(.*)$", "\\1two\\2", "/xxx/one/yyy/one/zzz") == "/xxx/two/yyy/one/zzz")
        #expect(try rewrite("one", "two", "/one?q=one") == "/two?q=one", "the query is not rewritten")
        #expect(try rewrite("^/.*$", "", "/all?keep") == "/?keep", "an empty path becomes /")
        #expect(try rewrite("/(a)?b", "[\\1]\\\\", "/b/ab") == "[]\\[a]\\", "a group that took no part is empty; \\\\ is a backslash")

        let twoGroups = try CompiledRegex("^/(a+)/(?:x)(b)[(]\\(")
        #expect(twoGroups.captureGroupCount == 2)
        #expect(try CompiledRegex("(?<name>a)(?P<other>b)(?:c)(?i)d").captureGroupCount == 2)
        #expect(throws: RegexSubstitution.TemplateError.noSuchGroup(3, groups: 2)) { try RegexSubstitution(regex: twoGroups, substitution: "\\3") }
        #expect(throws: RegexSubstitution.TemplateError.invalidEscape("n")) { try RegexSubstitution(regex: twoGroups, substitution: "a\\n") }
        #expect(throws: RegexSubstitution.TemplateError.trailingBackslash) { try RegexSubstitution(regex: twoGroups, substitution: "a\\") }
    }

    @Test("redirect: prefixRewrite replaces the matched prefix and keeps the rest; derivePort takes the scheme's default or the request's port")
    func redirectPrefixAndPort() {
        let prefix = Redirect(prefixRewrite: "/v2/", code: 302)
        #expect(prefix.location(for: request(.get, "/v1/items?x=1"), matchedPrefixLength: 4) == "http://shop.example.com/v2/items?x=1")
        #expect(prefix.location(for: request(.get, "/exact?x=1"), matchedPrefixLength: nil) == "http://shop.example.com/v2/?x=1")
        #expect(Redirect(prefixRewrite: "").location(for: request(.get, "/v1"), matchedPrefixLength: 3) == "http://shop.example.com/")

        let toHTTPS = Redirect(derivedPort: .protocolDefault, scheme: "https")
        #expect(toHTTPS.location(for: request(.get, "/p", ["Host": "a.com:8080"])) == "https://a.com/p")
        let keepPort = Redirect(authority: "b.com", derivedPort: .requestPort)
        #expect(keepPort.location(for: request(.get, "/p", ["Host": "a.com:8080"])) == "http://b.com:8080/p")
        let listener = RouteRequest(head: HTTPRequestHead(method: .get, target: "/p", headers: ["Host": "a.com"]), listenerPort: 9090)
        #expect(keepPort.location(for: listener) == "http://b.com:9090/p", "no port in Host: the listener's")
        #expect(Redirect(authority: "[::1]", derivedPort: .requestPort).location(for: request(.get, "/p", ["Host": "a.com:81"])) == "http://[::1]:81/p")
    }

    /// Workers share a configuration's regexes. Under `--sanitize=thread` this fails if using one
    /// lowers or caches anything without synchronisation.
    @Test("one compiled regex matches and substitutes on several threads at once with the same results")
    func regexSharedByThreads() throws {
        let regex = try CompiledRegex("^/service/([^/]+)(/.*)$")
        let substitution = try RegexSubstitution(regex: regex, substitution: "\\2/instance/\\1")
        let failures = Mutex(0)
        let threads = try (0..<4).map { index in
            try PosixThread(name: "regex-\(index)") {
                for round in 0..<200 {
                    let path = "/service/s\(index)/r\(round)"
                    if substitution.apply(to: path[...]) != "/r\(round)/instance/s\(index)" || !regex.matchesWhole(path[...]) {
                        failures.withLock { $0 += 1 }
                    }
                }
            }
        }
        for thread in threads { thread.join() }
        #expect(failures.withLock { $0 } == 0)
    }

    @Test("path normalization: unreserved escapes decoded once, backslashes made slashes, dot segments resolved, slashes merged and %2F/%5C decoded when asked, the query never touched")
    func pathNormalization() {
        func normalize(_ target: String, _ mode: PathNormalization = .base) -> String? {
            switch Array(target.utf8).withUnsafeBytes({ mode.normalize($0) }) {
            case .unchanged: nil
            case .normalized(let path): path
            case .rejected(let reason): "rejected: \(reason)"
            }
        }
        #expect(normalize("/a/b/../c") == "/a/c")
        #expect(normalize("/a/./b") == "/a/b")
        #expect(normalize("/../a") == "/a", "nothing above the root")
        #expect(normalize("/a/b/..") == "/a/")
        #expect(normalize("/a/b/.") == "/a/b/")
        #expect(normalize("/.") == "/" && normalize("/%2e") == "/")
        #expect(normalize("/public/%2e%2E/admin") == "/admin")
        #expect(normalize("/public/.%2e/admin") == "/admin" && normalize("/public/%2E./admin") == "/admin")
        #expect(normalize("/a/b/../c?x=/../y") == "/a/c?x=/../y")
        #expect(normalize("/a%2Fb/../c") == "/c", "an encoded slash is not a separator in BASE")
        // Istio's table: letters, digits, -, ., _ and ~ are decoded in BASE; other escapes stay.
        #expect(normalize("/%61dmin") == "/admin")
        #expect(normalize("/%41%5A%61%7A%30%39%2D%2E%5F%7E") == "/AZaz09-._~")
        #expect(normalize("/some%2fdata/%61%62%63") == "/some%2fdata/abc")
        #expect(normalize("/a%20b/%25/%3F%23%2F%5C") == nil, "reserved and other escapes are kept")
        #expect(normalize("/%2561") == nil, "decoded once: %25 stays, so %2561 never becomes a")
        #expect(normalize("/%25%36%31") == "/%2561", "no new escape is made from decoded digits")
        // Backslashes are separators (BASE), before dot segments are resolved.
        #expect(normalize("/some\\data") == "/some/data")
        #expect(normalize("/public\\..\\admin") == "/admin")
        // Refused in every mode but NONE: NUL, and a % without two hex digits after it.
        for refused in ["/a%00b", "/a%", "/a%4", "/a%zz", "/%%32%46", "/a%4g"] {
            #expect(normalize(refused)?.hasPrefix("rejected: ") == true, "\(refused)")
            #expect(normalize(refused, .decodeAndMergeSlashes)?.hasPrefix("rejected: ") == true, "\(refused)")
            #expect(normalize(refused, .none) == nil, "\(refused)")
        }
        #expect(normalize("/a?b=%zz%00") == nil, "the query is not checked")
        for unchanged in ["/", "/index.html", "/a/...b/.c", "/a//b", "/a?b=/../c", "*", "example.com:443", "/a%20b"] {
            #expect(normalize(unchanged) == nil, "\(unchanged)")
        }
        #expect(normalize("/a//b///c", .mergeSlashes) == "/a/b/c")
        #expect(normalize("//a/./b//", .mergeSlashes) == "/a/b/")
        #expect(normalize("/a%2Fb/../c", .decodeAndMergeSlashes) == "/a/c")
        #expect(normalize("/a%2f%2F%5cb", .decodeAndMergeSlashes) == "/a/b")
        #expect(normalize("/x/..%2F..%5Cadmin", .decodeAndMergeSlashes) == "/admin")
        #expect(normalize("/x/..%2Fadmin", .mergeSlashes) == nil, "an encoded slash is data below DECODE_AND_MERGE_SLASHES")
        #expect(normalize("/a/../b", .none) == nil)
    }

    @Test("slow start: the weight factor grows from the minimum to 1 over the window, shaped by aggression")
    func slowStartFactor() {
        let linear = SlowStart(window: .seconds(100))
        #expect(linear.factor(age: .zero) == 0.1 && linear.factor(age: .seconds(5)) == 0.1, "10 % at least")
        #expect(abs(linear.factor(age: .seconds(50)) - 0.5) < 1e-9)
        #expect(linear.factor(age: .seconds(100)) == 1 && linear.factor(age: .seconds(500)) == 1)
        let aggressive = SlowStart(window: .seconds(100), minimumPercent: 0, aggression: 2)
        #expect(abs(aggressive.factor(age: .seconds(25)) - 0.5) < 1e-9, "0.25 ^ (1/2)")
    }

    @Test("header mutations: remove, then set, then add")
    func headerMutation() {
        var headers: HTTPHeaders = ["Host": "a", "x-old": "1", "x-set": "old"]
        HeaderMutation(replacing: [("x-set", "new")], appending: [("x-add", "1"), ("x-set", "second")], removing: ["x-old"]).apply(to: &headers)
        #expect(headers["x-old"] == nil)
        #expect(headers.values(of: "x-set") == ["new", "second"])
        #expect(headers["x-add"] == "1")
    }
}

@Suite("Weighted picks and load balancers")
struct LoadBalancingTests {
    private func destination(_ index: Int, _ weight: UInt32) -> WeightedDestination {
        WeightedDestination(clusterIndex: index, clusterName: "c\(index)", weight: weight)
    }

    @Test("weighted destinations: every draw lands in proportion; weight 0 never picked")
    func weightedDestinations() {
        let destinations = WeightedDestinations([destination(0, 70), destination(1, 0), destination(2, 30)])
        var counts = [0, 0, 0]
        for draw in 0..<UInt64(100) { counts[destinations.pick(draw).clusterIndex] += 1 }
        #expect(counts == [70, 0, 30])
    }

    @Test("round robin: equal weights cycle; smooth weighted RR interleaves 5:1:1")
    func roundRobin() {
        var random = FastRandom(seed: 1)
        var equal = LoadBalancer(policy: .roundRobin, keys: ["a", "b", "c"], weights: [1, 1, 1])
        #expect((0..<6).map { _ in equal.pick(hash: nil, random: &random) { _ in 0 }! } == [0, 1, 2, 0, 1, 2])
        var weighted = LoadBalancer(policy: .roundRobin, keys: ["a", "b", "c"], weights: [5, 1, 1])
        let picks = (0..<7).map { _ in weighted.pick(hash: nil, random: &random) { _ in 0 }! }
        #expect(picks == [0, 0, 1, 0, 2, 0, 0])  // nginx's smooth weighted round robin sequence
    }

    @Test("least request prefers the idler of two choices")
    func leastRequest() {
        var random = FastRandom(seed: 7)
        var balancer = LoadBalancer(policy: .leastRequest, keys: ["busy", "idle"], weights: [1, 1])
        for _ in 0..<50 { #expect(balancer.pick(hash: nil, random: &random) { $0 == 0 ? 10 : 0 } == 1) }
    }

    @Test("random spreads by weight")
    func randomByWeight() {
        var random = FastRandom(seed: 3)
        var balancer = LoadBalancer(policy: .random, keys: ["a", "b"], weights: [3, 1])
        var counts = [0, 0]
        for _ in 0..<40_000 { counts[balancer.pick(hash: nil, random: &random) { _ in 0 }!] += 1 }
        let share = Double(counts[0]) / 40_000
        #expect(share > 0.72 && share < 0.78)
    }

    @Test("ring hash: a key always lands on the same endpoint; removing one moves only its keys")
    func ringHash() {
        let keys = (0..<5).map { "10.0.0.\($0):80" }
        let ring = HashRing(keys: keys, weights: Array(repeating: 1, count: 5))
        let smaller = HashRing(keys: Array(keys.dropLast()), weights: Array(repeating: 1, count: 4))
        var moved = 0, counts = [Int](repeating: 0, count: 5)
        for user in 0..<10_000 {
            let hash = StableHash.hash("user-\(user)")
            let owner = ring.endpoint(for: hash)!
            #expect(ring.endpoint(for: hash) == owner)
            counts[owner] += 1
            if owner != 4 && smaller.endpoint(for: hash) != owner { moved += 1 }
        }
        #expect(moved == 0)  // keys of the endpoints that stay do not move
        #expect(counts.allSatisfy { $0 > 1_200 && $0 < 2_800 })  // roughly even
    }

    @Test("consistent-hash keys: header, cookie, query parameter, source IP")
    func hashKeys() {
        let head = HTTPRequestHead(method: .get, target: "/x?user=42&b=2", headers: ["Host": "h", "x-user": "alice", "Cookie": "a=1; session=s-9; z=0"])
        let request = RouteRequest(head: head, sourceAddress: .loopback(port: 5555))
        #expect(HashKey.header("x-user").hash(for: request) == StableHash.hash("alice"))
        #expect(HashKey.cookie("session").hash(for: request) == StableHash.hash("s-9"))
        #expect(HashKey.queryParameter("user").hash(for: request) == StableHash.hash("42"))
        #expect(HashKey.sourceIP.hash(for: request) == StableHash.hash("127.0.0.1"))
        #expect(HashKey.header("x-missing").hash(for: request) == nil)
        #expect(HashKey.cookie("sess").hash(for: request) == nil)
    }
}
