import ConvoyHTTP1
import ConvoyNetwork

/// One parser event in a comparable form: heads and trailers as text, body bytes coalesced
/// (how many `.body` events carry them depends on how the input arrived, what they carry must not).
public enum ParsedItem: Equatable, CustomStringConvertible, Sendable {
    case head(String)
    case body([UInt8])
    case trailers(String)
    case end
    case error(HTTPParseError.Kind)

    /// A short readable form. Any thread.
    public var description: String {
        switch self {
        case .head(let text): "head(\(text))"
        case .body(let bytes): "body(\(bytes.count) bytes: \(String(decoding: bytes.prefix(40), as: UTF8.self).debugDescription))"
        case .trailers(let text): "trailers(\(text))"
        case .end: "end"
        case .error(let kind): "error(\(kind))"
        }
    }
}

/// Feeds one input to an ``HTTP1Parser`` whole, split at every byte boundary and in random
/// pieces, and checks that every way gives the same events: the parser must not depend on how
/// bytes arrive. Any thread (each call builds its own parser and buffers).
public enum HTTP1ChunkingVerifier {
    /// The events for `input` delivered in pieces of the given sizes (the rest as one last
    /// piece); `finish` signals end of input afterwards. Any thread.
    public static func transcript(
        _ input: [UInt8], role: HTTP1Parser.Role, limits: HTTP1ParserLimits? = nil,
        requestMethod: HTTPMethod = .get, pieces: [Int] = [], finish: Bool = false
    ) -> [ParsedItem] {
        var parser = HTTP1Parser(role: role, limits: limits)
        parser.requestMethod = requestMethod
        let buffer = IOBuffer()
        let body = IOBuffer()
        var items: [ParsedItem] = []
        func record(_ item: ParsedItem) {
            if case .body(let more) = item, case .body(let earlier)? = items.last {
                items[items.count - 1] = .body(earlier + more)
            } else {
                items.append(item)
            }
        }
        func drive() -> Bool {
            do {
                while true {
                    let event = try parser.next(from: buffer, body: body)
                    if case .needsMoreBytes = event { return true }
                    record(describe(event, body))
                }
            } catch {
                record(.error(error.kind))
                return false
            }
        }
        var offset = 0
        var sizes = pieces.filter { $0 > 0 }
        sizes.append(input.count)
        for size in sizes where offset < input.count {
            let end = min(input.count, offset + size)
            buffer.append(input[offset..<end])
            offset = end
            if !drive() { return items }
        }
        if finish {
            do {
                if let event = try parser.finish() { record(describe(event, body)) }
            } catch {
                record(.error(error.kind))
            }
        }
        return items
    }

    /// The first way of splitting `input` (every two-piece split, every byte on its own, then
    /// `randomRounds` random splits) whose events differ from feeding it whole, or nil. Returns
    /// the whole-input events too. Any thread.
    public static func verify(
        _ input: [UInt8], role: HTTP1Parser.Role, limits: HTTP1ParserLimits? = nil,
        requestMethod: HTTPMethod = .get, finish: Bool = false, randomRounds: Int = 20
    ) -> (items: [ParsedItem], mismatch: String?) {
        let whole = transcript(input, role: role, limits: limits, requestMethod: requestMethod, finish: finish)
        func check(_ pieces: [Int]) -> String? {
            let split = transcript(input, role: role, limits: limits, requestMethod: requestMethod, pieces: pieces, finish: finish)
            guard split != whole else { return nil }
            return "pieces \(pieces.prefix(20)): \(split) != whole \(whole)"
        }
        for cut in 1..<max(1, input.count) {
            if let mismatch = check([cut]) { return (whole, mismatch) }
        }
        if let mismatch = check(Array(repeating: 1, count: input.count)) { return (whole, mismatch) }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<randomRounds {
            var pieces: [Int] = []
            var total = 0
            while total < input.count {
                let size = Int.random(in: 1...max(1, input.count / 3), using: &generator)
                pieces.append(size)
                total += size
            }
            if let mismatch = check(pieces) { return (whole, mismatch) }
        }
        return (whole, nil)
    }

    static func describe(_ event: HTTP1ParserEvent, _ body: IOBuffer) -> ParsedItem {
        switch event {
        case .requestHead(let head):
            return .head("\(head.method.rawValue) \(head.target) \(head.version) \(head.framing) keepAlive=\(head.keepAlive) continue=\(head.expectsContinue) upgrade=\(head.isUpgrade) | \(fields(head.headers))")
        case .responseHead(let head):
            return .head("\(head.version) \(head.status) \(head.reason) \(head.framing) keepAlive=\(head.keepAlive) upgrade=\(head.isUpgrade) | \(fields(head.headers))")
        case .body:
            defer { body.drain(body.count) }
            return .body(body.bytes)
        case .trailers(let trailers):
            return .trailers(fields(trailers))
        case .end:
            return .end
        case .needsMoreBytes:
            preconditionFailure("not an item")
        }
    }

    static func fields(_ headers: HTTPHeaders) -> String {
        headers.map { "\($0.name)=\($0.value)" }.joined(separator: "; ")
    }
}
