import ConvoyHTTP1
import ConvoyRouter

/// Trace-context propagation. Every trace header (W3C `traceparent`/`tracestate`, B3's
/// `x-b3-*` and single `b3`) is forwarded as it came; with the Bootstrap's
/// `tracing.newSpanPerHop`, convoy also acts as a hop of its own: `traceparent` gets a new
/// parent id, and B3 a new span id whose parent is the incoming one. Malformed values are left
/// alone. Worker thread.
enum TraceContext {
    /// Gives the request a new span id for this hop.
    static func startHop(_ headers: inout HTTPHeaders, random: inout FastRandom) {
        if let value = headers["traceparent"], let rewritten = newParent(traceparent: value, spanID: spanID(&random)) {
            headers.set(name: "traceparent", value: rewritten)
        }
        if headers.contains("x-b3-traceid") {
            let span = spanID(&random)
            if let incoming = headers["x-b3-spanid"] { headers.set(name: "x-b3-parentspanid", value: incoming) }
            headers.set(name: "x-b3-spanid", value: span)
        }
        if let single = headers["b3"] {
            let parts = single.split(separator: "-", omittingEmptySubsequences: false)
            if parts.count >= 2, parts[0].count == 16 || parts[0].count == 32, parts[1].count == 16 {
                var rebuilt = [String(parts[0]), spanID(&random)]
                rebuilt.append(parts.count >= 3 ? String(parts[2]) : "1")
                rebuilt.append(String(parts[1]))  // the incoming span is this hop's parent
                headers.set(name: "b3", value: rebuilt.joined(separator: "-"))
            }
        }
    }

    /// `00-TRACE-PARENT-FLAGS` with `spanID` as the parent id, or nil when `traceparent` is not
    /// a version-00 value (other versions are forwarded untouched).
    static func newParent(traceparent: String, spanID: String) -> String? {
        let parts = traceparent.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "00", parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isHexDigit) }), parts[1].contains(where: { $0 != "0" })
        else { return nil }
        return "00-\(parts[1])-\(spanID)-\(parts[3])"
    }

    /// 16 lower-case hex digits, never all zero.
    static func spanID(_ random: inout FastRandom) -> String {
        var value = random.next()
        if value == 0 { value = 1 }
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
