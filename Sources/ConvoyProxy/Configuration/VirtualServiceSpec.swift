import ConvoyRouter
import Foundation

/// A decoded Istio VirtualService: hosts, gateways and HTTP rules, with destinations still named by
/// host and subset (the builder resolves them). Confined to the loading thread.
struct VirtualServiceSpec {
    struct Destination {
        let host: String
        let subset: String?
        let port: UInt16?
        let weight: UInt32
        let requestHeaders: HeaderMutation
        let responseHeaders: HeaderMutation
        let node: ConfigNode
    }

    struct HTTPRoute {
        let name: String
        let matchers: [RequestMatcher]
        let destinations: [Destination]
        let redirect: Redirect?
        let directResponse: (status: Int, body: [UInt8])?
        let rewrite: Rewrite?
        let timeout: Duration?
        let retryPolicy: RetryPolicy?
        let fault: FaultInjection?
        let mirrors: [(destination: Destination, percentage: Double)]
        let requestHeaders: HeaderMutation
        let responseHeaders: HeaderMutation
        let cors: CorsPolicy?
        let node: ConfigNode
    }

    let name: String
    let hosts: [String]
    /// Gateways the rules apply to; Istio's default when omitted is `mesh` (sidecars only).
    let gateways: [String]
    let http: [HTTPRoute]
    let node: ConfigNode
    let gatewaysNode: ConfigNode?

    init?(_ document: ConfigDocument) {
        let spec = document.spec
        guard let fields = spec.fields(["hosts", "gateways", "http", "tls", "tcp"], notApplied: ["exportTo": "there are no namespaces to export to"]) else { return nil }
        if let tls = fields["tls"] { tls.error("TLS routes are not supported: convoy proxies HTTP/1.1") }
        if let tcp = fields["tcp"] { tcp.error("TCP routes are not supported: convoy proxies HTTP/1.1") }
        let hosts = fields["hosts"]?.stringList() ?? []
        if fields["hosts"] == nil { spec.error("a VirtualService needs 'hosts'") } else if hosts.isEmpty { fields["hosts"]!.error("must list at least one host") }
        let gateways = fields["gateways"]?.stringList()?.map(GatewaySpec.stripNamespace) ?? ["mesh"]
        var routes: [HTTPRoute] = []
        for (index, node) in (fields["http"]?.list() ?? []).enumerated() {
            if let route = Self.route(node, index: index, service: document.name) { routes.append(route) }
        }
        if fields["http"] == nil { spec.warning("no 'http' rules: every request for these hosts gets 404") }
        name = document.name
        self.hosts = hosts.map { $0.lowercased() }
        self.gateways = gateways
        http = routes
        self.node = document.root
        gatewaysNode = fields["gateways"]
    }

    private static func route(_ node: ConfigNode, index: Int, service: String) -> HTTPRoute? {
        guard let fields = node.fields(
            ["name", "match", "route", "redirect", "directResponse", "delegate", "rewrite", "timeout", "retries", "fault", "mirror", "mirrors", "mirrorPercentage", "mirrorPercent", "headers", "corsPolicy"])
        else { return nil }
        if let delegate = fields["delegate"] { delegate.error("'delegate' is not supported: put the rules in this VirtualService") }
        let name = fields["name"]?.string() ?? "\(service).http[\(index)]"
        var matchers: [RequestMatcher] = []
        if let matchNodes = fields["match"]?.list() {
            for matchNode in matchNodes { if let matcher = requestMatcher(matchNode) { matchers.append(matcher) } }
        }
        var destinations: [Destination] = []
        if let routeNodes = fields["route"]?.list() {
            if routeNodes.isEmpty { fields["route"]!.error("must list at least one destination") }
            for routeNode in routeNodes { if let destination = destination(routeNode) { destinations.append(destination) } }
            let weighted = destinations.filter { $0.weight != UInt32.max }
            if destinations.count > 1 && !weighted.isEmpty && weighted.count != destinations.count {
                fields["route"]!.error("give every destination a 'weight', or none (equal shares)")
            }
            if !weighted.isEmpty && weighted.allSatisfy({ $0.weight == 0 }) && destinations.count == weighted.count {
                fields["route"]!.error("every weight is 0: no destination would get traffic")
            }
        }
        let redirect = fields["redirect"].flatMap(redirect)
        let direct = fields["directResponse"].flatMap(directResponse)
        let actions = [fields["route"], fields["redirect"], fields["directResponse"]].compactMap { $0 }.count
        if actions == 0 && fields["delegate"] == nil {
            node.error("a rule needs one of 'route', 'redirect' or 'directResponse'")
        } else if actions > 1 {
            node.error("'route', 'redirect' and 'directResponse' are exclusive; give one")
        }
        var rewrite: Rewrite?
        if let rewriteNode = fields["rewrite"], let rewriteFields = rewriteNode.fields(["uri", "authority", "uriRegexRewrite"]) {
            let uriRegex = rewriteFields["uriRegexRewrite"].flatMap(regexRewrite)
            if let regexNode = rewriteFields["uriRegexRewrite"], rewriteFields["uri"] != nil {
                regexNode.error("'uri' and 'uriRegexRewrite' are exclusive; give one")
            }
            rewrite = Rewrite(uri: rewriteFields["uri"]?.visibleASCII(allowEmpty: true), uriRegex: uriRegex,
                              authority: rewriteFields["authority"]?.visibleASCII())
            if fields["redirect"] != nil { rewriteNode.error("'rewrite' cannot be combined with 'redirect'") }
        }
        let timeout = fields["timeout"]?.duration(minimum: .zero)
        let retryPolicy = fields["retries"].map(retryPolicy) ?? .istioDefault
        let fault = fields["fault"].flatMap(faultInjection)
        let mirrors = mirrorList(fields)
        let headers = fields["headers"].map(headerOperations) ?? (HeaderMutation(), HeaderMutation())
        let cors = fields["corsPolicy"].flatMap(corsPolicy)
        if let corsNode = fields["corsPolicy"], fields["route"] == nil {
            corsNode.warning("not applied: a rule that redirects or answers directly skips CORS, as in Envoy")
        }
        return HTTPRoute(
            name: name, matchers: matchers, destinations: destinations, redirect: redirect, directResponse: direct,
            rewrite: rewrite, timeout: timeout == .zero ? nil : timeout, retryPolicy: retryPolicy, fault: fault, mirrors: mirrors,
            requestHeaders: headers.0, responseHeaders: headers.1, cors: cors, node: node)
    }

    /// `uriRegexRewrite: {match: REGEX, rewrite: SUBSTITUTION}`.
    private static func regexRewrite(_ node: ConfigNode) -> RegexSubstitution? {
        guard let fields = node.fields(["match", "rewrite"]) else { return nil }
        guard let matchNode = fields["match"], let rewriteNode = fields["rewrite"] else {
            node.error("give both 'match' (a regex) and 'rewrite' (its substitution)")
            return nil
        }
        guard let pattern = matchNode.string(), let substitution = rewriteNode.visibleASCII(allowEmpty: true) else { return nil }
        let regex: CompiledRegex
        do {
            regex = try CompiledRegex(pattern)
        } catch {
            matchNode.error("invalid regex '\(pattern)': \(error)")
            return nil
        }
        do {
            return try RegexSubstitution(regex: regex, substitution: substitution)
        } catch {
            rewriteNode.error("invalid substitution: \(error)")
            return nil
        }
    }

    /// `corsPolicy`: Istio's CorsPolicy (`allowOrigin`, a deprecated list of exact origins, too).
    private static func corsPolicy(_ node: ConfigNode) -> CorsPolicy? {
        guard let fields = node.fields(
            ["allowOrigins", "allowOrigin", "allowMethods", "allowHeaders", "exposeHeaders", "maxAge", "allowCredentials", "unmatchedPreflights"],
            notApplied: ["allowPrivateNetwork": "there is no private-network access check here"])
        else { return nil }
        var origins = (fields["allowOrigins"]?.list() ?? []).compactMap { stringMatch($0, ignoresCase: false, allowPresence: false) }
        if let deprecated = fields["allowOrigin"], let exact = deprecated.stringList() {
            deprecated.warning("'allowOrigin' is deprecated: use 'allowOrigins: [{exact: ...}]'")
            origins += exact.map { StringMatch.exact($0) }
        }
        if fields["allowOrigins"] == nil && fields["allowOrigin"] == nil {
            node.warning("no 'allowOrigins': no origin is allowed, so no request gets CORS fields")
        }
        let forwardsUnmatched = fields["unmatchedPreflights"]?.choice(["FORWARD": true, "UNSPECIFIED": true, "IGNORE": false]) ?? true
        let maxAge = fields["maxAge"]?.duration(minimum: .zero).map { Int($0.components.seconds) }
        return CorsPolicy(
            allowOrigins: origins,
            allowMethods: fields["allowMethods"]?.fieldValueList() ?? [], allowHeaders: fields["allowHeaders"]?.fieldValueList() ?? [],
            exposeHeaders: fields["exposeHeaders"]?.fieldValueList() ?? [], maxAgeSeconds: maxAge,
            allowCredentials: fields["allowCredentials"]?.bool() ?? false, forwardsUnmatchedPreflights: forwardsUnmatched)
    }

    /// `mirror` with `mirrorPercentage` (or the deprecated `mirrorPercent`), or `mirrors`.
    private static func mirrorList(_ fields: [String: ConfigNode]) -> [(destination: Destination, percentage: Double)] {
        var result: [(destination: Destination, percentage: Double)] = []
        if let mirrorNode = fields["mirror"] {
            if let list = fields["mirrors"] { list.error("'mirror' and 'mirrors' are exclusive; give one") }
            var percentage = 100.0
            if let node = fields["mirrorPercentage"] {
                percentage = node.fields(["value"])?["value"]?.double(in: 0...100) ?? 100
            } else if let node = fields["mirrorPercent"], let value = node.int(in: 0...100) {
                node.warning("'mirrorPercent' is deprecated: use 'mirrorPercentage: {value: \(value)}'")
                percentage = Double(value)
            }
            if let destination = target(mirrorNode) { result.append((destination, percentage)) }
        } else {
            for key in ["mirrorPercentage", "mirrorPercent"] { fields[key]?.error("'\(key)' needs 'mirror'") }
        }
        for entry in fields["mirrors"].flatMap({ $0.list() }) ?? [] where fields["mirror"] == nil {
            guard let entryFields = entry.fields(["destination", "percentage"]) else { continue }
            guard let destinationNode = entryFields["destination"] else {
                entry.error("missing 'destination'")
                continue
            }
            let percentage = entryFields["percentage"].flatMap { $0.fields(["value"]) }?["value"]?.double(in: 0...100) ?? 100
            if let destination = target(destinationNode) { result.append((destination, percentage)) }
        }
        return result
    }

    /// `fault`: Istio's HTTPFaultInjection (delay and abort, each with its percentage).
    private static func faultInjection(_ node: ConfigNode) -> FaultInjection? {
        guard let fields = node.fields(["delay", "abort"]) else { return nil }
        if fields.isEmpty { node.error("give 'delay', 'abort' or both") }
        var delay: Duration?
        var delayPercentage = 0.0
        if let delayNode = fields["delay"], let delayFields = delayNode.fields(["fixedDelay", "percentage", "percent"], notApplied: [
            "exponentialDelay": "only 'fixedDelay' is supported",
        ]) {
            delay = delayFields["fixedDelay"]?.duration()
            if delay == nil, delayFields["fixedDelay"] == nil { delayNode.error("missing 'fixedDelay'") }
            delayPercentage = percentage(delayFields) ?? 0
        }
        var abortStatus: Int?
        var abortPercentage = 0.0
        if let abortNode = fields["abort"], let abortFields = abortNode.fields(["httpStatus", "percentage"], notApplied: [
            "grpcStatus": "there is no gRPC over HTTP/1.1 here", "http2Error": "there is no HTTP/2 here",
        ]) {
            abortStatus = abortFields["httpStatus"]?.int(in: 200...599)
            if abortFields["httpStatus"] == nil { abortNode.error("missing 'httpStatus'") }
            abortPercentage = percentage(abortFields) ?? 0
        }
        return FaultInjection(delay: delay, delayPercentage: delayPercentage, abortStatus: abortStatus, abortPercentage: abortPercentage)
    }

    /// `percentage: {value: 0–100}`, or the deprecated integer `percent`.
    private static func percentage(_ fields: [String: ConfigNode]) -> Double? {
        if let node = fields["percentage"] {
            return node.fields(["value"])?["value"]?.double(in: 0...100)
        }
        if let node = fields["percent"], let value = node.int(in: 0...100) {
            node.warning("'percent' is deprecated: use 'percentage: {value: \(value)}'")
            return Double(value)
        }
        return nil
    }

    /// `retries`: Istio's HTTPRetry. `attempts: 0` (or omitted) turns retries off for the route;
    /// without `retryOn`, Istio's default conditions (connect-failure, refused-stream, 503).
    private static func retryPolicy(_ node: ConfigNode) -> RetryPolicy? {
        guard let fields = node.fields(
            ["attempts", "perTryTimeout", "retryOn", "retryIgnorePreviousHosts", "backoff"],
            notApplied: ["retryRemoteLocalities": "there is one locality"])
        else { return nil }
        let attempts = fields["attempts"]?.int(in: 0...1000) ?? 0
        let perTryTimeout = fields["perTryTimeout"]?.duration()
        let backoff = fields["backoff"]?.duration() ?? .milliseconds(25)
        let avoidsPreviousHosts = fields["retryIgnorePreviousHosts"]?.bool() ?? true
        var conditions = RetryPolicy.istioDefault.conditions
        var statuses = RetryPolicy.istioDefault.statuses
        if let retryOnNode = fields["retryOn"], let text = retryOnNode.string() {
            switch RetryPolicy.parseRetryOn(text) {
            case .success(let parsed):
                conditions = parsed.conditions
                statuses = parsed.statuses
            case .failure(let unknown):
                retryOnNode.error("unknown retry condition '\(unknown.token)': use 5xx, gateway-error, reset, connect-failure, refused-stream, retriable-4xx or a status code")
            }
        }
        guard attempts > 0 else { return nil }
        return RetryPolicy(attempts: attempts, perTryTimeout: perTryTimeout, conditions: conditions, statuses: statuses,
                           backoffBase: backoff, avoidsPreviousHosts: avoidsPreviousHosts)
    }

    private static func requestMatcher(_ node: ConfigNode) -> RequestMatcher? {
        guard let fields = node.fields(
            ["name", "uri", "scheme", "method", "authority", "headers", "withoutHeaders", "queryParams", "port", "ignoreUriCase", "statPrefix"],
            notApplied: ["sourceLabels": "it selects sidecars by workload label; a gateway has none",
                         "sourceNamespace": "it selects sidecars by namespace; a gateway has none",
                         "gateways": "per-match gateways are not supported; split the rule into VirtualServices per gateway"])
        else { return nil }
        let ignoreCase = fields["ignoreUriCase"]?.bool() ?? false
        var matcher = RequestMatcher(name: fields["name"]?.string())
        matcher.uri = fields["uri"].flatMap { stringMatch($0, ignoresCase: ignoreCase, allowPresence: false) }
        matcher.scheme = fields["scheme"].flatMap { stringMatch($0, ignoresCase: false, allowPresence: false) }
        matcher.method = fields["method"].flatMap { stringMatch($0, ignoresCase: false, allowPresence: false) }
        matcher.authority = fields["authority"].flatMap { stringMatch($0, ignoresCase: false, allowPresence: false) }
        matcher.headers = fields["headers"].map { conditions($0, lowercaseNames: true) } ?? []
        matcher.withoutHeaders = fields["withoutHeaders"].map { conditions($0, lowercaseNames: true) } ?? []
        matcher.queryParameters = fields["queryParams"].map { conditions($0, lowercaseNames: false) } ?? []
        matcher.port = fields["port"]?.port()
        matcher.statPrefix = fields["statPrefix"]?.string()
        return matcher
    }

    private static func conditions(_ node: ConfigNode, lowercaseNames: Bool) -> [FieldCondition] {
        (node.entries() ?? []).compactMap { entry in
            stringMatch(entry.value, ignoresCase: false, allowPresence: true).map {
                FieldCondition(name: lowercaseNames ? entry.key.lowercased() : entry.key, match: $0)
            }
        }
    }

    static func stringMatch(_ node: ConfigNode, ignoresCase: Bool, allowPresence: Bool) -> StringMatch? {
        guard let fields = node.fields(["exact", "prefix", "regex"]) else { return nil }
        if fields.isEmpty {
            if allowPresence { return StringMatch(.present) }
            node.error("give one of 'exact', 'prefix' or 'regex'")
            return nil
        }
        guard fields.count == 1, let (kind, valueNode) = fields.first else {
            node.error("'exact', 'prefix' and 'regex' are exclusive; give one")
            return nil
        }
        guard let value = valueNode.string(allowEmpty: kind != "regex") else { return nil }
        switch kind {
        case "exact": return .exact(value, ignoresCase: ignoresCase)
        case "prefix": return .prefix(value, ignoresCase: ignoresCase)
        default:
            do {
                return StringMatch(.regex(try CompiledRegex(value)))
            } catch {
                valueNode.error("invalid regex '\(value)': \(error)")
                return nil
            }
        }
    }

    private static func destination(_ node: ConfigNode) -> Destination? {
        guard let fields = node.fields(["destination", "weight", "headers"]) else { return nil }
        guard let destinationNode = fields["destination"] else {
            node.error("missing 'destination'")
            return nil
        }
        guard let target = target(destinationNode) else { return nil }
        let weight = fields["weight"]?.int(in: 0...Int(Int32.max)).map(UInt32.init) ?? UInt32.max
        let headers = fields["headers"].map(headerOperations) ?? (HeaderMutation(), HeaderMutation())
        return Destination(
            host: target.host, subset: target.subset, port: target.port, weight: weight,
            requestHeaders: headers.0, responseHeaders: headers.1, node: destinationNode)
    }

    /// A `Destination` mapping (`host`, `subset`, `port`), without weight or header changes.
    private static func target(_ node: ConfigNode) -> Destination? {
        guard let destination = node.fields(["host", "subset", "port"]) else { return nil }
        guard let host = destination["host"]?.string() else {
            if destination["host"] == nil { node.error("missing 'host'") }
            return nil
        }
        var port: UInt16?
        if let portNode = destination["port"], let portFields = portNode.fields(["number"]) {
            port = portFields["number"]?.port()
            if portFields["number"] == nil { portNode.error("missing 'number'") }
        }
        return Destination(
            host: host.lowercased(), subset: destination["subset"]?.string(), port: port, weight: 0,
            requestHeaders: HeaderMutation(), responseHeaders: HeaderMutation(), node: node)
    }

    private static func headerOperations(_ node: ConfigNode) -> (HeaderMutation, HeaderMutation) {
        guard let fields = node.fields(["request", "response"]) else { return (HeaderMutation(), HeaderMutation()) }
        return (fields["request"].map(mutation) ?? HeaderMutation(), fields["response"].map(mutation) ?? HeaderMutation())
    }

    private static func mutation(_ node: ConfigNode) -> HeaderMutation {
        guard let fields = node.fields(["set", "add", "remove"]) else { return HeaderMutation() }
        let mutation = HeaderMutation(
            replacing: (fields["set"]?.fieldValueMap() ?? []).map { (name: $0.key, value: $0.value) },
            appending: (fields["add"]?.fieldValueMap() ?? []).map { (name: $0.key, value: $0.value) },
            removing: fields["remove"]?.stringList() ?? [])
        for field in mutation.replacing + mutation.appending where !HeaderNameCheck.isToken(field.name) {
            node.error("'\(field.name)' is not a valid header name")
        }
        return mutation
    }

    private static func redirect(_ node: ConfigNode) -> Redirect? {
        guard let fields = node.fields(["uri", "authority", "port", "scheme", "redirectCode", "derivePort", "prefixRewrite"]) else { return nil }
        var redirect = Redirect()
        redirect.uri = fields["uri"]?.visibleASCII()
        redirect.prefixRewrite = fields["prefixRewrite"]?.visibleASCII(allowEmpty: true)
        if let prefix = fields["prefixRewrite"], fields["uri"] != nil { prefix.error("'uri' and 'prefixRewrite' are exclusive; give one") }
        redirect.authority = fields["authority"]?.visibleASCII()
        redirect.port = fields["port"]?.port()
        if let deriveNode = fields["derivePort"] {
            redirect.derivedPort = deriveNode.choice(["FROM_PROTOCOL_DEFAULT": Redirect.DerivedPort.protocolDefault, "FROM_REQUEST_PORT": .requestPort])
            if fields["port"] != nil { deriveNode.error("'port' and 'derivePort' are exclusive; give one") }
        }
        if let schemeNode = fields["scheme"], let scheme = schemeNode.string() {
            if scheme == "http" || scheme == "https" { redirect.scheme = scheme } else { schemeNode.error("scheme must be http or https") }
        }
        if let code = fields["redirectCode"]?.int(in: 300...399) {
            redirect.code = code
        }
        return redirect
    }

    private static func directResponse(_ node: ConfigNode) -> (status: Int, body: [UInt8])? {
        guard let fields = node.fields(["status", "body"]) else { return nil }
        guard let status = fields["status"]?.int(in: 200...599) else {
            if fields["status"] == nil { node.error("missing 'status'") }
            return nil
        }
        var body: [UInt8] = []
        if let bodyNode = fields["body"], let bodyFields = bodyNode.fields(["string", "bytes"]) {
            if let text = bodyFields["string"]?.string(allowEmpty: true) { body = Array(text.utf8) }
            if let bytesNode = bodyFields["bytes"], let encoded = bytesNode.string() {
                if let data = Data(base64Encoded: encoded) { body = Array(data) } else { bytesNode.error("'bytes' must be base64") }
            }
            if bodyFields.count > 1 { bodyNode.error("'string' and 'bytes' are exclusive; give one") }
        }
        return (status, body)
    }
}

/// Checks header names given in configuration. Any thread.
enum HeaderNameCheck {
    static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
            default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }
}
