import ConvoyHTTP1
import ConvoyTestSupport
import Testing

/// Parses `text` whole and in every chunking, expects all ways to agree, returns the events.
func parsed(
    _ text: String, role: HTTP1Parser.Role = .request, limits: HTTP1ParserLimits? = nil,
    requestMethod: HTTPMethod = .get, finish: Bool = false, randomRounds: Int = 10,
    sourceLocation: SourceLocation = #_sourceLocation
) -> [ParsedItem] {
    let bytes = Array(text.utf8)
    let result = HTTP1ChunkingVerifier.verify(
        bytes, role: role, limits: limits, requestMethod: requestMethod, finish: finish, randomRounds: randomRounds)
    #expect(result.mismatch == nil, "chunking changed the events: \(result.mismatch ?? "")", sourceLocation: sourceLocation)
    return result.items
}

/// The error `text` ends in (nil when it parsed cleanly), checked under every chunking.
func parseError(
    _ text: String, role: HTTP1Parser.Role = .request, limits: HTTP1ParserLimits? = nil,
    requestMethod: HTTPMethod = .get, finish: Bool = false,
    sourceLocation: SourceLocation = #_sourceLocation
) -> HTTPParseError.Kind? {
    let items = parsed(text, role: role, limits: limits, requestMethod: requestMethod, finish: finish, randomRounds: 4, sourceLocation: sourceLocation)
    if case .error(let kind)? = items.last { return kind }
    return nil
}

/// The first head in `items`.
func firstHead(_ items: [ParsedItem]) -> String? {
    for item in items { if case .head(let text) = item { return text } }
    return nil
}

/// All body bytes in `items` as text.
func bodyText(_ items: [ParsedItem]) -> String {
    var bytes: [UInt8] = []
    for item in items { if case .body(let more) = item { bytes += more } }
    return String(decoding: bytes, as: UTF8.self)
}
