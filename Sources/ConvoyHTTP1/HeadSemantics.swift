/// What a head's framing and connection headers say, collected field by field as the parser reads them:
/// Content-Length (every occurrence must agree), Transfer-Encoding codings, Host count, the
/// `Connection` options, `Expect` and `Upgrade`.
struct HeadSemantics {
    var contentLength: Int?
    var hasTransferEncoding = false
    var transferCodingCount = 0
    var chunkedIsFinal = false
    var hostCount = 0
    /// Where the (last) Host value lies in the head's bytes; empty when there is none.
    var hostValue = 0..<0
    var connectionClose = false
    var connectionKeepAlive = false
    var connectionUpgrade = false
    var expectsContinue = false
    var hasUpgrade = false
    /// A hop-by-hop field (connection, keep-alive, proxy-connection, te, trailer,
    /// transfer-encoding, upgrade) is present.
    var hasHopByHopField = false
    /// A `Keep-Alive` field is present.
    var hasKeepAliveField = false

    /// Names of these lengths may matter (a bit per length): the parser skips the rest cheaply.
    private static let lengthsThatMatter: UInt32 = 1 << 2 | 1 << 4 | 1 << 6 | 1 << 7 | 1 << 10 | 1 << 14 | 1 << 16 | 1 << 17

    /// True when a field name of `length` bytes may be one of the headers read here.
    @inline(__always)
    static func mayMatter(nameLength length: Int) -> Bool {
        length < 32 && (lengthsThatMatter >> UInt32(truncatingIfNeeded: length)) & 1 == 1
    }

    /// Takes in one field of the head, as the parser reads it.
    mutating func observe(_ bytes: UnsafePointer<UInt8>, name: Int, nameLength: Int, value: Range<Int>) throws(HTTPParseError) {
        let name = bytes + name
        switch nameLength {
        case 6 where matches(name, "expect"):
            expectsContinue = equalsIgnoringCase(bytes, value, "100-continue")
        case 7 where matches(name, "upgrade"):
            hasUpgrade = true
            hasHopByHopField = true
        case 10 where matches(name, "connection"):
            hasHopByHopField = true
            try readConnection(bytes, value)
        case 14 where matches(name, "content-length"):
            try readContentLength(bytes, value)
        case 17 where matches(name, "transfer-encoding"):
            hasHopByHopField = true
            try readTransferEncoding(bytes, value)
        case 10 where matches(name, "keep-alive"):
            hasHopByHopField = true
            hasKeepAliveField = true
        case 2 where matches(name, "te"), 7 where matches(name, "trailer"), 16 where matches(name, "proxy-connection"):
            hasHopByHopField = true
        default:
            break
        }
    }

    /// `1*DIGIT`, or a list of identical ones (RFC 9110 §8.6); any other form or a value that
    /// differs from an earlier one is refused.
    private mutating func readContentLength(_ bytes: UnsafePointer<UInt8>, _ value: Range<Int>) throws(HTTPParseError) {
        var failure: HTTPParseError.Kind?
        forEachListElement(bytes, value) { start, end in
            guard end > start, end - start <= 18 else { failure = .invalidContentLength; return false }
            var length = 0
            for index in start..<end {
                let digit = bytes[index] &- 0x30
                guard digit <= 9 else { failure = .invalidContentLength; return false }
                length = length * 10 + Int(digit)
            }
            if let earlier = contentLength, earlier != length { failure = .conflictingContentLength; return false }
            contentLength = length
            return true
        }
        if let failure { throw HTTPParseError(failure) }
        if contentLength == nil { throw HTTPParseError(.invalidContentLength) }
    }

    private mutating func readTransferEncoding(_ bytes: UnsafePointer<UInt8>, _ value: Range<Int>) throws(HTTPParseError) {
        hasTransferEncoding = true
        var failure = false
        forEachListElement(bytes, value) { start, end in
            // A coding may carry parameters (`gzip;q=1`); only its name matters here.
            var nameEnd = start
            while nameEnd < end, isTokenByte(bytes[nameEnd]) { nameEnd += 1 }
            guard nameEnd > start else { failure = true; return false }
            transferCodingCount += 1
            chunkedIsFinal = equalsIgnoringCase(bytes, start..<nameEnd, "chunked") && nameEnd == end
            return true
        }
        if failure || transferCodingCount == 0 { throw HTTPParseError(.unsupportedTransferEncoding) }
    }

    private mutating func readConnection(_ bytes: UnsafePointer<UInt8>, _ value: Range<Int>) throws(HTTPParseError) {
        // The usual values, whole.
        if equalsIgnoringCase(bytes, value, "keep-alive") { return connectionKeepAlive = true }
        if equalsIgnoringCase(bytes, value, "close") { return connectionClose = true }
        var failure = false
        forEachListElement(bytes, value) { start, end in
            guard end > start else { return true }
            for index in start..<end where !isTokenByte(bytes[index]) {
                failure = true
                return false
            }
            let option = start..<end
            if equalsIgnoringCase(bytes, option, "close") { connectionClose = true }
            else if equalsIgnoringCase(bytes, option, "keep-alive") { connectionKeepAlive = true }
            else if equalsIgnoringCase(bytes, option, "upgrade") { connectionUpgrade = true }
            return true
        }
        if failure { throw HTTPParseError(.invalidConnectionHeader) }
    }
}

/// Calls `body` with each comma-separated element of `value`, whitespace trimmed, until it returns false.
@inline(__always)
func forEachListElement(_ bytes: UnsafePointer<UInt8>, _ value: Range<Int>, _ body: (Int, Int) -> Bool) {
    var start = value.lowerBound
    while start <= value.upperBound {
        var end = start
        while end < value.upperBound, bytes[end] != 0x2C { end += 1 }
        var trimmedStart = start, trimmedEnd = end
        while trimmedStart < trimmedEnd, bytes[trimmedStart] == asciiSpace || bytes[trimmedStart] == asciiTab { trimmedStart += 1 }
        while trimmedEnd > trimmedStart, bytes[trimmedEnd - 1] == asciiSpace || bytes[trimmedEnd - 1] == asciiTab { trimmedEnd -= 1 }
        if !body(trimmedStart, trimmedEnd) { return }
        start = end + 1
    }
}

/// True when the name at `name` equals the lower-case `expected` ignoring case (lengths already
/// equal). Eight bytes at a time from eight bytes on: a name byte may differ from the expected
/// one only by the case bit, and only where the expected byte is a letter.
@inline(__always)
func matches(_ name: UnsafePointer<UInt8>, _ expected: StaticString) -> Bool {
    let count = expected.utf8CodeUnitCount
    guard count >= 8 else {
        return asciiCaseInsensitiveEqual(name, UnsafeRawBufferPointer(start: expected.utf8Start, count: count))
    }
    let actual = UnsafeRawPointer(name), wanted = UnsafeRawPointer(expected.utf8Start)
    var offset = 0
    while true {
        let at = min(offset, count - 8)  // the last word overlaps the one before
        let word = wanted.loadUnaligned(fromByteOffset: at, as: UInt64.self)
        guard actual.loadUnaligned(fromByteOffset: at, as: UInt64.self) | lowerCaseLetterBits(word) == word else { return false }
        if at == count - 8 { return true }
        offset += 8
    }
}

/// 0x20 in each byte of `word` that is a lower-case ASCII letter, 0 elsewhere.
@inline(__always)
func lowerCaseLetterBits(_ word: UInt64) -> UInt64 {
    let low7 = word & 0x7F7F_7F7F_7F7F_7F7F
    let atLeastA = low7 &+ 0x1F1F_1F1F_1F1F_1F1F  // high bit set where the byte is >= "a"
    let pastZ = low7 &+ 0x0505_0505_0505_0505  // high bit set where the byte is > "z"
    return (atLeastA & ~pastZ & ~word & 0x8080_8080_8080_8080) >> 2
}

@inline(__always)
func equalsIgnoringCase(_ bytes: UnsafePointer<UInt8>, _ range: Range<Int>, _ expected: StaticString) -> Bool {
    range.count == expected.utf8CodeUnitCount && matches(bytes + range.lowerBound, expected)
}
