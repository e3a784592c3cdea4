#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ConvoyNetwork

/// A streaming, strict HTTP/1.1 parser for requests or responses (RFC 9112), pulling from an
/// ``IOBuffer``.
///
/// - ``next(from:body:)`` consumes what it can and returns one event, or nil when it needs more
///   bytes. A head is reported once all of it has arrived; body bytes are *moved* (whole slices,
///   no copy) into the caller's body buffer as they arrive, so a body is never held whole.
/// - The head is copied once into storage owned by the head's ``HTTPHeaders``; the storage is
///   reused for the next message when the caller no longer holds the head, so a steady stream of
///   requests allocates nothing.
/// - After ``end`` the parser stops: the next message is not looked at until `next` is called
///   again (pipelined requests are answered one at a time).
/// - Any error is final: the parser keeps throwing it and never reads another byte, so nothing
///   after a malformed message can be taken for a request.
///
/// A value confined to the thread that uses it.
public struct HTTP1Parser {
    /// Which messages the parser reads. Any thread.
    public enum Role: Sendable {
        /// Requests (a server's side).
        case request
        /// Responses (a client's side); set ``requestMethod`` before each response.
        case response
    }

    enum State: UInt8 {
        case head, messageEnd, fixedBody, untilClose, tunnel
        case chunkSize, chunkExtension, chunkSizeLineFeed, chunkData, chunkDataCR, chunkDataLF
        case trailers, finished, failed
    }

    /// Requests or responses. Any thread.
    public let role: Role
    /// The limits in force. The owning thread.
    public var limits: HTTP1ParserLimits
    /// The method of the request the next response answers (HEAD and CONNECT change its
    /// framing). Response role only. The owning thread.
    public var requestMethod: HTTPMethod = .get

    private var state: State = .head
    private var failure: HTTPParseError?
    private var storage: HeaderStorage
    private var storageHandedOut = false
    private var spareStorage: HeaderStorage?
    /// Bytes of a head (or trailer section) have been consumed and it is not complete yet.
    private var headInProgress = false
    /// Head coordinates (offset into the stored head) where the current line starts.
    private var lineStart = 0
    private var emptyLinesSkipped = 0
    /// Bytes left in the fixed body or the current chunk.
    private var remaining = 0
    private var chunkLineLength = 0
    private var bodyBytes = 0
    /// After the body: the connection turns into a tunnel instead of ending the message.
    private var tunnelAfterBody = false
    /// What the current head's fields say about framing and the connection.
    private var semantics = HeadSemantics()

    /// A parser for `role` with `limits` (the role's defaults when omitted). Any thread.
    public init(role: Role, limits: HTTP1ParserLimits? = nil) {
        self.role = role
        self.limits = limits ?? (role == .request ? .requests : .responses)
        storage = HeaderStoragePool.placeholder
    }

    /// True between messages: nothing of a next message has been consumed. The owning thread.
    public var isIdle: Bool { state == .head && !headInProgress }

    /// True once the connection carries raw bytes (after an upgrade or CONNECT). The owning thread.
    public var isTunnel: Bool { state == .tunnel }

    /// The error the parser stopped at, if any. The owning thread.
    public var error: HTTPParseError? { failure }

    /// Consumes bytes from `input` and returns the next event, or `.needsMoreBytes` when more bytes are needed.
    /// Body bytes go to `body` (an ``IOBuffer`` collects them; any ``HTTP1BodySink`` may move
    /// them on or drop them in place). The owning thread.
    /// - Throws: ``HTTPParseError`` for a malformed or over-limit message; from then on, always.
    @inline(__always)
    public mutating func next(from input: IOBuffer, body: any HTTP1BodySink) throws(HTTPParseError) -> HTTP1ParserEvent {
        do {
            return try step(input, body)
        } catch {
            state = .failed
            failure = error
            throw error
        }
    }

    /// The peer closed its side: returns `.end` when that completes the message (a body delimited
    /// by close, a tunnel), nil when no message was in progress. The owning thread.
    /// - Throws: ``HTTPParseError/Kind/incompleteMessage`` when a message was cut short.
    public mutating func finish() throws(HTTPParseError) -> HTTP1ParserEvent? {
        switch state {
        case .untilClose, .tunnel, .messageEnd:
            state = .finished
            return .end
        case .head where !headInProgress, .finished:
            state = .finished
            return nil
        case .failed:
            throw failure ?? HTTPParseError(.incompleteMessage)
        default:
            let error = HTTPParseError(.incompleteMessage, offset: storage.byteCount)
            state = .failed
            failure = error
            throw error
        }
    }

    @inline(__always)
    private mutating func step(_ input: IOBuffer, _ body: any HTTP1BodySink) throws(HTTPParseError) -> HTTP1ParserEvent {
        switch state {
        case .head:
            guard !input.isEmpty, try accumulateHead(from: input) else { return .needsMoreBytes }
            return try role == .request ? finishRequestHead() : finishResponseHead()
        case .messageEnd:
            state = .head
            return .end
        case .fixedBody:
            guard !input.isEmpty else { return .needsMoreBytes }
            let length = min(remaining, input.count)
            deliver(input, length, to: body)
            remaining -= length
            if remaining == 0 { state = tunnelAfterBody ? .tunnel : .messageEnd }
            return .body
        case .untilClose:
            guard !input.isEmpty else { return .needsMoreBytes }
            if try !moveBody(from: input, into: body, length: input.count) {
                state = .failed
                failure = HTTPParseError(.bodyTooLarge, offset: bodyBytes)
            }
            return .body
        case .tunnel:
            guard !input.isEmpty else { return .needsMoreBytes }
            deliver(input, input.count, to: body)
            return .body
        case .chunkSize, .chunkExtension, .chunkSizeLineFeed, .chunkData, .chunkDataCR, .chunkDataLF:
            return try parseChunked(input, body)
        case .trailers:
            guard !input.isEmpty, try accumulateHead(from: input) else { return .needsMoreBytes }
            return try finishTrailers()
        case .finished:
            if !input.isEmpty { throw HTTPParseError(.unexpectedData) }
            return .needsMoreBytes
        case .failed:
            throw failure ?? HTTPParseError(.incompleteMessage)
        }
    }

    // MARK: - Head accumulation

    /// Copies head bytes from `input` into storage up to and including the empty line that ends
    /// the head; returns true once it has. Enforces the size limits as bytes arrive.
    private mutating func accumulateHead(from input: IOBuffer) throws(HTTPParseError) -> Bool {
        if !headInProgress {
            prepareStorage()
            headInProgress = true
        }
        // Heads stay far below 2 GiB, so every offset into one fits the Int32 ranges of the fields.
        let maxHead = min(limits.maxHeadBytes, 1 << 30)
        // The start line, the fields and the empty line: more lines than that fail early.
        let maxLines = limits.maxHeaderCount + 2
        if storage.byteCount == 0, let headLength = wholeHeadInFrontSlice(input, maxHead: maxHead, maxLines: maxLines) {
            input.drain(headLength)
            headInProgress = false
            return true
        }
        var consumed = 0
        var complete = false
        var failureKind: HTTPParseError.Kind?
        let allowBareLF = limits.allowBareLineFeed
        var sliceIndex = 0
        scanning: while sliceIndex < input.numberOfSlices {
            let segment = input.slice(at: sliceIndex)
            sliceIndex += 1
            if segment.isEmpty { continue }
            let base = segment.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let count = segment.count
            var copyFrom = 0
            var position = 0
            var headEnd = -1
            while position < count {
                guard let found = memchr(base + position, Int32(asciiLF), count - position) else { break }
                let lf = UnsafeRawPointer(found) - UnsafeRawPointer(base)
                let lfOffset = storage.byteCount + (lf - copyFrom)
                let lineLength = lfOffset - lineStart
                let previous: UInt8 = lf > copyFrom ? base[lf - 1] : (storage.byteCount > 0 ? storage.bytes[storage.byteCount - 1] : 0)
                if previous != asciiCR || lineLength == 0, !allowBareLF {
                    failureKind = .bareLineFeed
                    break scanning
                }
                if lineLength == 0 || (lineLength == 1 && previous == asciiCR) {
                    if lineStart == 0 && state == .head {
                        // An empty line before the start line (RFC 9112 §2.2 allows one).
                        guard role == .request, emptyLinesSkipped < 2 else {
                            failureKind = role == .request ? .invalidRequestLine : .invalidStatusLine
                            break scanning
                        }
                        emptyLinesSkipped += 1
                        storage.byteCount = 0
                        storage.lineFeedCount = 0
                        copyFrom = lf + 1
                        position = lf + 1
                        continue
                    }
                    storage.appendLineFeed(lfOffset)
                    headEnd = lf + 1
                    break
                }
                storage.appendLineFeed(lfOffset)
                if storage.lineFeedCount > maxLines {
                    failureKind = .tooManyHeaders
                    break scanning
                }
                lineStart = lfOffset + 1
                position = lf + 1
            }
            let take = (headEnd >= 0 ? headEnd : count) - copyFrom
            if storage.byteCount + take > maxHead {
                if role == .request, state == .head, lineStart == 0, storage.byteCount + take > limits.maxTargetLength {
                    failureKind = .targetTooLong
                } else {
                    failureKind = .headersTooLarge
                }
                break scanning
            }
            if take > 0 { storage.appendBytes(base + copyFrom, count: take) }
            consumed += copyFrom + take
            if headEnd >= 0 {
                complete = true
                break scanning
            }
            continue scanning
        }
        if let failureKind { throw HTTPParseError(failureKind, offset: storage.byteCount) }
        // A start line longer than any target allows is refused before the line ends.
        if !complete, role == .request, state == .head, lineStart == 0, storage.byteCount > limits.maxTargetLength + 32 {
            throw HTTPParseError(.targetTooLong, offset: storage.byteCount)
        }
        input.drain(consumed)
        if complete {
            lineStart = 0
            emptyLinesSkipped = 0
            headInProgress = false
        }
        return complete
    }

    /// The common case in one go: a whole, well-formed head at the front of the first slice,
    /// CRLF line endings, within the limits. Copies it, records its lines and returns its
    /// length; otherwise changes nothing and returns nil, and the general walk above (which
    /// also reports every error) takes over.
    @inline(__always)
    private mutating func wholeHeadInFrontSlice(_ input: IOBuffer, maxHead: Int, maxLines: Int) -> Int? {
        guard input.numberOfSlices > 0 else { return nil }
        let segment = input.slice(at: 0)
        guard let start = segment.baseAddress else { return nil }
        let base = start.assumingMemoryBound(to: UInt8.self)
        let count = min(segment.count, maxHead)
        var lineStart = 0
        while true {
            let lf = indexOfLineFeed(base, from: lineStart, to: count)
            guard lf > lineStart, base[lf &- 1] == asciiCR, storage.lineFeedCount < maxLines else { break }
            storage.appendLineFeed(lf)
            if lf == lineStart &+ 1 {
                // The empty line ends the head (one before the start line is the walk's business).
                guard lineStart > 0 else { break }
                storage.appendBytes(base, count: lf &+ 1)
                return lf &+ 1
            }
            lineStart = lf &+ 1
        }
        storage.lineFeedCount = 0
        return nil
    }

    /// Reuses the storage when the last head handed out has been dropped; otherwise (or after
    /// ``releaseStorage()``) takes one from the thread's pool.
    @inline(__always)
    private mutating func prepareStorage() {
        if storage === HeaderStoragePool.placeholder || (storageHandedOut && !isKnownUniquelyReferenced(&storage)) {
            storage = HeaderStoragePool.withCurrent { $0.take() }
        } else {
            storage.reset()
        }
        storageHandedOut = false
    }

    /// Between messages, gives the head storage back to the thread's pool (or leaves it to the
    /// head still using it), so an idle connection holds none; the next head takes one again.
    /// A no-op in the middle of a message. The owning thread.
    public mutating func releaseStorage() {
        guard isIdle else { return }
        if storage !== HeaderStoragePool.placeholder {
            if isKnownUniquelyReferenced(&storage) {
                let idle = storage
                HeaderStoragePool.withCurrent { $0.give(idle) }
            }
            storage = HeaderStoragePool.placeholder
        }
        if var spare = spareStorage.take(), isKnownUniquelyReferenced(&spare), spare !== HeaderStoragePool.placeholder {
            HeaderStoragePool.withCurrent { $0.give(spare) }
        }
        storageHandedOut = false
    }

    /// Lets go of the storage of the head just returned, so that head holds the only reference
    /// and edits to it happen in place, without a copy; the next head takes storage from the
    /// thread's pool. The codecs call this before handing a head to their delegate for editing,
    /// and ``HTTPHeaders/recycle()`` once the delegate is done with it. The owning thread.
    public mutating func handOverHeadStorage() {
        guard storageHandedOut else { return }
        storage = HeaderStoragePool.placeholder
        storageHandedOut = false
    }

    // MARK: - Head parsing

    /// The end of the line whose LF is at `lf`, without its CR; throws for a bare LF.
    @inline(__always)
    private func lineEnd(_ bytes: UnsafePointer<UInt8>, lf: Int, lineStart: Int) throws(HTTPParseError) -> Int {
        if lf > lineStart, bytes[lf - 1] == asciiCR { return lf - 1 }
        if limits.allowBareLineFeed { return lf }
        throw HTTPParseError(.bareLineFeed, offset: lf)
    }

    /// Parses the field lines, from line `firstLine` of the stored head to the empty line, into
    /// `storage`'s fields; a head's (not a trailer section's) also into ``semantics``.
    private mutating func parseFields(fromLine firstLine: Int) throws(HTTPParseError) {
        let isHead = firstLine == 1
        if isHead { semantics = HeadSemantics() }
        let bytes = UnsafePointer(storage.bytes)
        let lineFeeds = storage.lineFeeds
        let maxHeaderCount = limits.maxHeaderCount
        var position = firstLine == 0 ? 0 : Int(lineFeeds[firstLine - 1]) + 1
        for line in firstLine..<storage.lineFeedCount {
            let lf = Int(lineFeeds[line])
            let lineEnd = try lineEnd(bytes, lf: lf, lineStart: position)
            if lineEnd == position { return }
            guard storage.fieldCount < maxHeaderCount else { throw HTTPParseError(.tooManyHeaders, offset: position) }
            try parseField(bytes, from: position, to: lineEnd, isHead: isHead)
            position = lf + 1
        }
    }

    /// Records what the head's fields said about hop-by-hop fields, once they are all parsed.
    @inline(__always)
    private func noteHopByHopFields() {
        storage.mayHoldHopByHopFields = semantics.hasHopByHopField
        storage.mayHoldKeepAliveField = semantics.hasKeepAliveField
    }

    @inline(__always)
    private mutating func parseField(_ bytes: UnsafePointer<UInt8>, from start: Int, to end: Int, isHead: Bool) throws(HTTPParseError) {
        var index = endOfAlphanumericDashRun(bytes, from: start, to: end)
        while index < end, isTokenByte(bytes[index]) { index += 1 }
        guard index < end, bytes[index] == asciiColon, index > start else {
            if index == start, bytes[start] == asciiSpace || bytes[start] == asciiTab {
                throw HTTPParseError(.obsoleteLineFolding, offset: start)
            }
            if index == end { throw HTTPParseError(.missingColon, offset: start) }
            throw HTTPParseError(.invalidHeaderName, offset: index)
        }
        let nameEnd = index
        var valueStart = index + 1
        while valueStart < end, bytes[valueStart] == asciiSpace || bytes[valueStart] == asciiTab { valueStart += 1 }
        var valueEnd = end
        while valueEnd > valueStart, bytes[valueEnd - 1] == asciiSpace || bytes[valueEnd - 1] == asciiTab { valueEnd -= 1 }
        guard isValidFieldValue(bytes, from: valueStart, to: valueEnd) else {
            throw HTTPParseError(.invalidHeaderValue, offset: valueStart)
        }
        if isHead, HeadSemantics.mayMatter(nameLength: nameEnd &- start) {
            // Host, in every request, without the call.
            if nameEnd &- start == 4, UnsafeRawPointer(bytes + start).loadUnaligned(as: UInt32.self) | 0x2020_2020 == UInt32(littleEndian: 0x7473_6F68) {
                semantics.hostCount &+= 1
                semantics.hostValue = valueStart..<valueEnd  // checked once the head is read
            } else {
                try semantics.observe(bytes, name: start, nameLength: nameEnd &- start, value: valueStart..<valueEnd)
            }
        }
        storage.appendField(HeaderField(
            nameStart: Int32(truncatingIfNeeded: start), nameLength: Int32(truncatingIfNeeded: nameEnd &- start),
            valueStart: Int32(truncatingIfNeeded: valueStart), valueLength: Int32(truncatingIfNeeded: valueEnd &- valueStart)))
    }

    /// `HTTP/<digit>.<digit>` at `start` (8 bytes available).
    @inline(__always)
    private func parseVersion(_ bytes: UnsafePointer<UInt8>, at start: Int) throws(HTTPParseError) -> HTTPVersion {
        let prefix = UnsafeRawPointer(bytes + start).loadUnaligned(as: UInt32.self)
        let major = bytes[start + 5] &- 0x30, minor = bytes[start + 7] &- 0x30
        guard prefix == 0x5054_5448, bytes[start + 4] == 0x2F, major <= 9, bytes[start + 6] == 0x2E, minor <= 9 else {
            throw HTTPParseError(.invalidVersion, offset: start)
        }
        guard major == 1 else { throw HTTPParseError(.unsupportedVersion, offset: start) }
        return HTTPVersion(major: major, minor: minor)
    }

    private mutating func finishRequestHead() throws(HTTPParseError) -> HTTP1ParserEvent {
        let bytes = UnsafePointer(storage.bytes)
        let lf = Int(storage.lineFeeds[0])
        let lineEnd = try lineEnd(bytes, lf: lf, lineStart: 0)

        // method SP request-target SP HTTP-version, single spaces (RFC 9112 §3).
        let method: HTTPMethod
        var methodEnd = 0
        if lineEnd > 4, let common = HTTPMethod.commonWithSpace(UnsafeRawPointer(bytes).loadUnaligned(as: UInt32.self)),
           common == .get || common == .put || bytes[4] == asciiSpace {
            method = common
            methodEnd = common == .get || common == .put ? 3 : 4
        } else {
            while methodEnd < lineEnd, isTokenByte(bytes[methodEnd]) { methodEnd += 1 }
            guard methodEnd > 0, methodEnd < lineEnd, bytes[methodEnd] == asciiSpace else {
                throw HTTPParseError(methodEnd == 0 || methodEnd == lineEnd ? .invalidRequestLine : .invalidMethod)
            }
            guard let parsed = HTTPMethod.parse(bytes, count: methodEnd) else { throw HTTPParseError(.invalidMethod) }
            method = parsed
        }
        let targetStart = methodEnd + 1
        guard lineEnd - targetStart >= 10, bytes[lineEnd - 9] == asciiSpace else {
            throw HTTPParseError(.invalidRequestLine, offset: targetStart)
        }
        let version = try parseVersion(bytes, at: lineEnd - 8)
        let targetEnd = lineEnd - 9
        guard targetEnd - targetStart <= limits.maxTargetLength else { throw HTTPParseError(.targetTooLong, offset: targetStart) }
        let scan = scanTarget(bytes, from: targetStart, to: targetEnd)
        guard scan.isVisibleASCII, isValidTargetForm(bytes, from: targetStart, to: targetEnd, method: method) else {
            throw HTTPParseError(.invalidTarget, offset: targetStart)
        }
        storage.lineTextStart = Int32(truncatingIfNeeded: targetStart)
        storage.lineTextLength = Int32(truncatingIfNeeded: targetEnd &- targetStart)
        storage.targetMayNeedNormalizing = scan.mayNeedNormalizing
        try parseFields(fromLine: 1)
        noteHopByHopFields()

        var head = HTTPRequestHead(method: method, version: version, headers: HTTPHeaders(storage: storage))
        storageHandedOut = true
        if semantics.hasTransferEncoding {
            if semantics.contentLength != nil { throw HTTPParseError(.contentLengthAndTransferEncoding) }
            if version.minor == 0 { throw HTTPParseError(.transferEncodingInHTTP10) }
            if method == .connect { throw HTTPParseError(.unsupportedTransferEncoding) }
            guard semantics.chunkedIsFinal else { throw HTTPParseError(.chunkedNotFinal) }
            guard semantics.transferCodingCount == 1 else { throw HTTPParseError(.unsupportedTransferEncoding) }
            head.framing = .chunked
        } else if let length = semantics.contentLength, length > 0 {
            if method == .connect { throw HTTPParseError(.bodyNotAllowed) }
            head.framing = .contentLength(length)
        }
        if version.minor >= 1 {
            guard semantics.hostCount > 0 else { throw HTTPParseError(.missingHost) }
        }
        guard semantics.hostCount <= 1 else { throw HTTPParseError(.multipleHost) }
        let host = semantics.hostValue
        guard isValidHost(UnsafePointer(storage.bytes), from: host.lowerBound, to: host.upperBound) else {
            throw HTTPParseError(.invalidHost, offset: host.lowerBound)
        }
        if case .contentLength(let length) = head.framing, let limit = limits.maxBodyBytes, length > limit {
            throw HTTPParseError(.bodyTooLarge)
        }
        head.keepAlive = version.minor >= 1 ? !semantics.connectionClose : (semantics.connectionKeepAlive && !semantics.connectionClose)
        head.expectsContinue = semantics.expectsContinue && version.minor >= 1
        head.isUpgrade = method == .connect || (semantics.connectionUpgrade && semantics.hasUpgrade)
        startBody(head.framing, tunnelAfter: head.isUpgrade)
        return .requestHead(consume head)
    }

    private mutating func finishResponseHead() throws(HTTPParseError) -> HTTP1ParserEvent {
        let bytes = UnsafePointer(storage.bytes)
        let lf = Int(storage.lineFeeds[0])
        let lineEnd = try lineEnd(bytes, lf: lf, lineStart: 0)

        // HTTP-version SP 3DIGIT SP reason-phrase (the SP before an empty reason may be missing).
        guard lineEnd >= 12, bytes[8] == asciiSpace else { throw HTTPParseError(.invalidStatusLine) }
        let version = try parseVersion(bytes, at: 0)
        let d0 = bytes[9] &- 0x30, d1 = bytes[10] &- 0x30, d2 = bytes[11] &- 0x30
        guard d0 >= 1, d0 <= 9, d1 <= 9, d2 <= 9, lineEnd == 12 || bytes[12] == asciiSpace else {
            throw HTTPParseError(.invalidStatusLine, offset: 9)
        }
        let status = Int(d0) * 100 + Int(d1) * 10 + Int(d2)
        let reasonStart = min(13, lineEnd)
        guard isValidFieldValue(bytes, from: reasonStart, to: lineEnd) else { throw HTTPParseError(.invalidStatusLine, offset: 13) }
        storage.lineTextStart = Int32(truncatingIfNeeded: reasonStart)
        storage.lineTextLength = Int32(truncatingIfNeeded: lineEnd &- reasonStart)
        try parseFields(fromLine: 1)
        noteHopByHopFields()

        var head = HTTPResponseHead(status: status, version: version, headers: HTTPHeaders(storage: storage))
        storageHandedOut = true
        if semantics.hasTransferEncoding, semantics.contentLength != nil {
            throw HTTPParseError(.contentLengthAndTransferEncoding)
        }
        let bodiless = status < 200 || status == 204
        if bodiless, semantics.hasTransferEncoding || (semantics.contentLength ?? 0) != 0 {
            throw HTTPParseError(.bodyNotAllowed)
        }
        head.keepAlive = version.minor >= 1 ? !semantics.connectionClose : (semantics.connectionKeepAlive && !semantics.connectionClose)
        if status == 101 || (requestMethod == .connect && status >= 200 && status < 300) {
            head.isUpgrade = true
            state = .tunnel
            return .responseHead(consume head)
        }
        if head.isInformational {
            // The final response follows; the stored head stays with this event.
            state = .head
            return .responseHead(consume head)
        }
        if requestMethod == .head || bodiless || status == 304 {
            head.framing = .none
        } else if semantics.hasTransferEncoding {
            if semantics.chunkedIsFinal {
                guard semantics.transferCodingCount == 1 else { throw HTTPParseError(.unsupportedTransferEncoding) }
                head.framing = .chunked
            } else {
                head.framing = .untilClose
            }
        } else if let length = semantics.contentLength {
            head.framing = length > 0 ? .contentLength(length) : .none
        } else {
            head.framing = .untilClose
        }
        if head.framing == .untilClose { head.keepAlive = false }
        if case .contentLength(let length) = head.framing, let limit = limits.maxBodyBytes, length > limit {
            throw HTTPParseError(.bodyTooLarge)
        }
        startBody(head.framing, tunnelAfter: false)
        return .responseHead(consume head)
    }

    @inline(__always)
    private mutating func startBody(_ framing: HTTPBodyFraming, tunnelAfter: Bool) {
        bodyBytes = 0
        tunnelAfterBody = tunnelAfter
        switch framing {
        case .none: state = tunnelAfter ? .tunnel : .messageEnd
        case .contentLength(let length):
            remaining = length
            state = .fixedBody
        case .chunked:
            remaining = 0
            chunkLineLength = 0
            state = .chunkSize
        case .untilClose: state = .untilClose
        }
    }

    /// Moves `length` body bytes, or as many as the body limit still allows; returns false when
    /// the limit cut the move short (throws when nothing at all could be moved).
    @inline(__always)
    private mutating func moveBody(from input: IOBuffer, into body: any HTTP1BodySink, length: Int) throws(HTTPParseError) -> Bool {
        var allowed = length
        if let limit = limits.maxBodyBytes, bodyBytes + length > limit {
            allowed = limit - bodyBytes
            if allowed <= 0 { throw HTTPParseError(.bodyTooLarge, offset: bodyBytes) }
        }
        deliver(input, allowed, to: body)
        bodyBytes += allowed
        return allowed == length
    }

    /// Hands `length` bytes at the front of `input` to the sink and checks it took exactly them.
    @inline(__always)
    private func deliver(_ input: IOBuffer, _ length: Int, to sink: any HTTP1BodySink) {
        let expected = input.count - length
        sink.consumeBody(from: input, length: length)
        trapUnless(input.count == expected, "HTTP1BodySink.consumeBody must remove exactly the \(length) body bytes")
    }

    // MARK: - Chunked bodies

    /// Walks chunk framing and moves chunk data into `body` until the input runs out or the last
    /// chunk ends; returns `.body` when data moved.
    private mutating func parseChunked(_ input: IOBuffer, _ body: any HTTP1BodySink) throws(HTTPParseError) -> HTTP1ParserEvent {
        var moved = false
        do throws(HTTPParseError) {
            while !input.isEmpty {
                if state == .chunkData {
                    let length = min(remaining, input.count)
                    let withinLimit = try moveBody(from: input, into: body, length: length)
                    moved = true
                    guard withinLimit else { throw HTTPParseError(.bodyTooLarge, offset: bodyBytes) }
                    remaining -= length
                    if remaining == 0 { state = .chunkDataCR }
                    continue
                }
                try parseChunkFraming(input)
                if state == .trailers { break }
            }
        } catch {
            // Data that arrived before the error is delivered first, however the bytes were split;
            // the error comes with the next call.
            guard moved else { throw error }
            state = .failed
            failure = error
        }
        if moved { return .body }
        if state == .trailers, !input.isEmpty, try accumulateHead(from: input) { return try finishTrailers() }
        return .needsMoreBytes
    }

    /// Consumes chunk-size-line and CRLF bytes from the front slice until chunk data starts, the
    /// trailer section starts, or the slice ends.
    private mutating func parseChunkFraming(_ input: IOBuffer) throws(HTTPParseError) {
        var consumed = 0
        var failureKind: HTTPParseError.Kind?
        let allowBareLF = limits.allowBareLineFeed
        let maxLine = limits.maxChunkLineBytes
        var sliceIndex = 0
        while input.slice(at: sliceIndex).isEmpty { sliceIndex += 1 }
        let segment = input.slice(at: sliceIndex)
        framing: do {
            let bytes = segment.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let count = segment.count
            if let lineLength = wholeChunkSizeLine(bytes, count: count) {
                input.drain(lineLength)
                endChunkSizeLine()
                return
            }
            while consumed < count {
                let byte = bytes[consumed]
                consumed += 1
                switch state {
                case .chunkSize:
                    chunkLineLength += 1
                    if isHexDigit(byte) {
                        guard remaining >> 56 == 0 else { failureKind = .invalidChunkSize; break framing }
                        remaining = remaining << 4 | hexValue(byte)
                    } else if chunkLineLength == 1 {
                        failureKind = .invalidChunkSize
                        break framing
                    } else if byte == asciiCR {
                        state = .chunkSizeLineFeed
                    } else if byte == 0x3B || byte == asciiSpace || byte == asciiTab {
                        state = .chunkExtension
                    } else if byte == asciiLF && allowBareLF {
                        endChunkSizeLine()
                        break framing
                    } else {
                        failureKind = .invalidChunkSize
                        break framing
                    }
                case .chunkExtension:
                    chunkLineLength += 1
                    if chunkLineLength > maxLine { failureKind = .invalidChunkExtension; break framing }
                    if byte == asciiCR {
                        state = .chunkSizeLineFeed
                    } else if byte == asciiLF && allowBareLF {
                        endChunkSizeLine()
                        break framing
                    } else if !isFieldValueByte(byte) {
                        failureKind = .invalidChunkExtension
                        break framing
                    }
                case .chunkSizeLineFeed:
                    guard byte == asciiLF else { failureKind = .invalidChunkSize; break framing }
                    endChunkSizeLine()
                    break framing
                case .chunkDataCR:
                    if byte == asciiCR {
                        state = .chunkDataLF
                    } else if byte == asciiLF && allowBareLF {
                        state = .chunkSize
                        chunkLineLength = 0
                    } else {
                        failureKind = .invalidChunkTerminator
                        break framing
                    }
                case .chunkDataLF:
                    guard byte == asciiLF else { failureKind = .invalidChunkTerminator; break framing }
                    state = .chunkSize
                    chunkLineLength = 0
                default:
                    consumed -= 1
                    break framing
                }
            }
            break framing
        }
        if let failureKind { throw HTTPParseError(failureKind, offset: bodyBytes) }
        input.drain(consumed)
    }

    /// The common case in one go: the CRLF after the previous chunk's data (if due) and a whole
    /// `HEXDIG CRLF` size line, all in this slice. Sets ``remaining`` and returns the bytes it
    /// covers, or nil (having changed nothing) for anything else: extensions, a line split across
    /// slices, an error. The byte-at-a-time walk handles those.
    @inline(__always)
    private mutating func wholeChunkSizeLine(_ bytes: UnsafePointer<UInt8>, count: Int) -> Int? {
        var index = 0
        if state == .chunkDataCR {
            guard count >= 2, bytes[0] == asciiCR, bytes[1] == asciiLF else { return nil }
            index = 2
        } else if state != .chunkSize || chunkLineLength != 0 {
            return nil
        }
        let digitsStart = index
        var size = 0
        while index < count, index - digitsStart < 15, isHexDigit(bytes[index]) {
            size = size << 4 | hexValue(bytes[index])
            index += 1
        }
        guard index > digitsStart, index + 1 < count, bytes[index] == asciiCR, bytes[index + 1] == asciiLF else { return nil }
        remaining = size
        return index + 2
    }

    @inline(__always)
    private mutating func endChunkSizeLine() {
        chunkLineLength = 0
        if remaining == 0 {
            state = .trailers
            trailerStorage()
        } else {
            state = .chunkData
        }
    }

    /// The trailer section gets storage of its own (the head may still be in use): the spare
    /// one, recycled the same way as the head's.
    private mutating func trailerStorage() {
        var next = spareStorage.take() ?? HeaderStorage(byteCapacity: 256, fieldCapacity: 4)
        if isKnownUniquelyReferenced(&next) {
            next.reset()
        } else {
            next = HeaderStorage(byteCapacity: 256, fieldCapacity: 4)
        }
        spareStorage = storage
        storage = next
        storageHandedOut = false
        headInProgress = true
        lineStart = 0
    }

    private mutating func finishTrailers() throws(HTTPParseError) -> HTTP1ParserEvent {
        // The stored section is the field lines and the final empty line.
        try parseFields(fromLine: 0)
        state = .messageEnd
        guard storage.fieldCount > 0 else {
            state = .head
            return .end
        }
        storageHandedOut = true
        return .trailers(HTTPHeaders(storage: storage))
    }

    // MARK: - Request target

    /// origin-form, absolute-form, authority-form (CONNECT only) or asterisk-form (OPTIONS only).
    private func isValidTargetForm(_ bytes: UnsafePointer<UInt8>, from start: Int, to end: Int, method: HTTPMethod) -> Bool {
        let first = bytes[start]
        if method == .connect {
            // host:port, nothing else.
            guard first != 0x2F else { return false }
            var colon = -1
            for index in start..<end {
                let byte = bytes[index]
                if byte == 0x2F || byte == 0x3F || byte == 0x23 || byte == 0x40 { return false }
                if byte == asciiColon { colon = index }
            }
            guard colon > start, colon < end - 1 else { return false }
            for index in (colon + 1)..<end where bytes[index] < 0x30 || bytes[index] > 0x39 { return false }
            return true
        }
        if first == 0x2F { return true }
        if first == 0x2A { return end - start == 1 && method == .options }
        // absolute-form: scheme "://" …
        guard (first | 0x20) >= 0x61, (first | 0x20) <= 0x7A else { return false }
        var index = start + 1
        while index < end {
            let byte = bytes[index]
            let isSchemeByte = ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == 0x2B || byte == 0x2D || byte == 0x2E
            if !isSchemeByte { break }
            index += 1
        }
        return end - index > 3 && bytes[index] == asciiColon && bytes[index + 1] == 0x2F && bytes[index + 2] == 0x2F
    }
}
