#if canImport(Glibc)
import Glibc
#endif

/// An access-log line format: Envoy's command operators (`%START_TIME%`, `%REQ(USER-AGENT)%`,
/// `%RESPONSE_FLAGS%` …) between literal text, or JSON lines with the same fields. Compiled once
/// per configuration; rendering appends to a byte buffer. Any thread.
struct AccessLogFormat: Sendable {
    /// Envoy's default text format.
    static let envoyDefault = """
        [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% \
        %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" \
        "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"

        """

    enum Segment: Sendable, Equatable {
        case literal(String)
        case startTime, method, path, proto, responseCode, responseFlags, bytesReceived, bytesSent, duration
        case upstreamServiceTime, upstreamHost, upstreamCluster, downstreamRemoteAddress, downstreamDirectRemoteAddress, routeName
        /// `%REQ(NAME)%` / `%REQ(A?B)%`: a request header (the first present), lower-cased names.
        case requestHeader([String])
        /// `%RESP(NAME)%`.
        case responseHeader(String)
    }

    /// Text lines, or JSON objects.
    let isJSON: Bool
    let segments: [Segment]

    /// The request and response header names the format reads (lower case).
    var requestHeaderNames: [String] {
        segments.flatMap { if case .requestHeader(let names) = $0 { return names } else { return [] } }
    }
    var responseHeaderNames: [String] {
        segments.compactMap { if case .responseHeader(let name) = $0 { return name } else { return nil } }
    }

    /// Compiles `text` (Envoy's operators); the unknown operator, if one is not known.
    static func compile(_ text: String, json: Bool = false) -> Result<AccessLogFormat, UnknownOperator> {
        var segments: [Segment] = []
        var literal = ""
        var rest = Substring(text)
        while let start = rest.firstIndex(of: "%") {
            literal += rest[..<start]
            let afterStart = rest.index(after: start)
            guard let end = rest[afterStart...].firstIndex(of: "%") else {
                literal += rest[start...]
                rest = ""
                break
            }
            let name = String(rest[afterStart..<end])
            rest = rest[rest.index(after: end)...]
            if name.isEmpty {  // %% is a literal percent sign
                literal += "%"
                continue
            }
            guard let segment = operatorSegment(name) else { return .failure(UnknownOperator(name: name)) }
            if !literal.isEmpty { segments.append(.literal(literal)) }
            literal = ""
            segments.append(segment)
        }
        literal += rest
        if !literal.isEmpty { segments.append(.literal(literal)) }
        return .success(AccessLogFormat(isJSON: json, segments: segments))
    }

    /// JSON lines with every field of the default format.
    static let json: AccessLogFormat = {
        guard case .success(var format) = compile(envoyDefault) else { fatalError("the default access-log format compiles") }
        format = AccessLogFormat(isJSON: true, segments: format.segments.filter { if case .literal = $0 { false } else { true } }
            + [.upstreamCluster, .downstreamRemoteAddress, .routeName])
        return format
    }()

    struct UnknownOperator: Error, Equatable {
        let name: String
    }

    private static func operatorSegment(_ name: String) -> Segment? {
        switch name {
        case "START_TIME": return .startTime
        case "PROTOCOL": return .proto
        case "RESPONSE_CODE": return .responseCode
        case "RESPONSE_FLAGS": return .responseFlags
        case "BYTES_RECEIVED": return .bytesReceived
        case "BYTES_SENT": return .bytesSent
        case "DURATION": return .duration
        case "UPSTREAM_HOST": return .upstreamHost
        case "UPSTREAM_CLUSTER": return .upstreamCluster
        case "DOWNSTREAM_REMOTE_ADDRESS": return .downstreamRemoteAddress
        case "DOWNSTREAM_DIRECT_REMOTE_ADDRESS": return .downstreamDirectRemoteAddress
        case "ROUTE_NAME": return .routeName
        default: break
        }
        if name.hasPrefix("REQ("), name.hasSuffix(")") {
            let names = name.dropFirst(4).dropLast().split(separator: "?").map { $0.lowercased() }
            if names == [":method"] { return .method }
            if names.last == ":path" { return .path }
            if names == [":authority"] { return .requestHeader(["host"]) }
            return names.isEmpty ? nil : .requestHeader(names)
        }
        if name.hasPrefix("RESP("), name.hasSuffix(")") {
            let header = name.dropFirst(5).dropLast().lowercased()
            if header == "x-envoy-upstream-service-time" { return .upstreamServiceTime }
            return header.isEmpty ? nil : .responseHeader(header)
        }
        return nil
    }

    /// Appends `entry`'s line to `output`.
    func render(_ entry: AccessLogEntry, into output: inout [UInt8]) {
        if isJSON {
            var first = true
            output.append(UInt8(ascii: "{"))
            for segment in segments {
                guard let key = Self.jsonKey(segment) else { continue }
                if !first { output.append(UInt8(ascii: ",")) }
                first = false
                output.append(contentsOf: "\"\(key)\":".utf8)
                let value = Self.value(segment, entry)
                if Self.isNumber(segment), value != "-" {
                    output.append(contentsOf: value.utf8)
                } else {
                    output.append(contentsOf: ("\"" + ConfigDump.escaped(value) + "\"").utf8)
                }
            }
            output.append(contentsOf: "}\n".utf8)
            return
        }
        for segment in segments { output.append(contentsOf: Self.value(segment, entry).utf8) }
    }

    private static func value(_ segment: Segment, _ entry: AccessLogEntry) -> String {
        func dash(_ text: String) -> String { text.isEmpty ? "-" : text }
        switch segment {
        case .literal(let text): return text
        case .startTime: return iso8601(entry.startSeconds, entry.startNanoseconds)
        case .method: return dash(entry.method)
        case .path: return dash(entry.path)
        case .proto: return entry.proto
        case .responseCode: return String(entry.status)
        case .responseFlags: return dash(entry.flags)
        case .bytesReceived: return String(entry.bytesReceived)
        case .bytesSent: return String(entry.bytesSent)
        case .duration: return String(entry.durationMilliseconds)
        case .upstreamServiceTime: return entry.upstreamServiceMilliseconds.map(String.init) ?? "-"
        case .upstreamHost: return dash(entry.upstreamHost)
        case .upstreamCluster: return dash(entry.upstreamCluster)
        case .downstreamRemoteAddress: return dash(entry.downstreamAddress)
        case .downstreamDirectRemoteAddress: return dash(entry.downstreamDirectAddress)
        case .routeName: return dash(entry.routeName)
        case .requestHeader(let names):
            for name in names { if let value = entry.requestHeaders[name] { return value } }
            return "-"
        case .responseHeader(let name): return entry.responseHeaders[name] ?? "-"
        }
    }

    private static func isNumber(_ segment: Segment) -> Bool {
        switch segment {
        case .responseCode, .bytesReceived, .bytesSent, .duration, .upstreamServiceTime: true
        default: false
        }
    }

    private static func jsonKey(_ segment: Segment) -> String? {
        switch segment {
        case .literal: nil
        case .startTime: "start_time"
        case .method: "method"
        case .path: "path"
        case .proto: "protocol"
        case .responseCode: "response_code"
        case .responseFlags: "response_flags"
        case .bytesReceived: "bytes_received"
        case .bytesSent: "bytes_sent"
        case .duration: "duration"
        case .upstreamServiceTime: "upstream_service_time"
        case .upstreamHost: "upstream_host"
        case .upstreamCluster: "upstream_cluster"
        case .downstreamRemoteAddress: "downstream_remote_address"
        case .downstreamDirectRemoteAddress: "downstream_direct_remote_address"
        case .routeName: "route_name"
        case .requestHeader(let names): names.last == "host" ? "authority" : names.last!.replacing("-", with: "_")
        case .responseHeader(let name): "response_" + name.replacing("-", with: "_")
        }
    }

    /// `2026-11-21T10:15:30.123Z`.
    static func iso8601(_ seconds: Int, _ nanoseconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let milliseconds = nanoseconds / 1_000_000
        let fraction = milliseconds < 10 ? "00\(milliseconds)" : milliseconds < 100 ? "0\(milliseconds)" : "\(milliseconds)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(fraction)Z"
    }
}
