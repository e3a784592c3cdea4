import ConvoyNetwork

/// Writes HTTP/1.1 messages into an ``IOBuffer``: heads with the header case preserved, and
/// bodies framed by Content-Length, chunked encoding (with trailers) or connection close.
///
/// The encoder owns framing, as Envoy's does: a `Transfer-Encoding` field in the head is never
/// written as given; the encoder chooses (RFC 9112 §6, Envoy's order):
/// - 101 and a 2xx to CONNECT: raw tunnel bytes follow, unframed;
/// - 1xx and 204: no body, neither Content-Length nor Transfer-Encoding;
/// - a `Content-Length` field: that many bytes;
/// - 304, or an answer to HEAD: no body (a Content-Length given is kept as information);
/// - no body (`endStream`): `Content-Length: 0` (requests: only for methods that carry bodies);
/// - an HTTP/1.0 peer: body until close (responses only; no chunking);
/// - otherwise `Transfer-Encoding: chunked`.
///
/// Stateless; call from the thread that owns the buffer.
public enum HTTP1Encoder {
    /// Writes a response head and returns the framing the body must use. The buffer's thread.
    /// - Parameters:
    ///   - endStream: no body follows.
    ///   - requestMethod: the method answered (HEAD and CONNECT change the framing).
    ///   - peerVersion: the request's version (1.0 peers get no chunking).
    @discardableResult
    public static func writeResponseHead(
        _ head: HTTPResponseHead, endStream: Bool, requestMethod: HTTPMethod = .get,
        peerVersion: HTTPVersion = .http11, into buffer: IOBuffer
    ) -> HTTPBodyFraming {
        let storage = head.headers.storage
        let contentLength = declaredContentLength(storage)
        let framing: HTTPBodyFraming
        var extra: StaticString = ""
        if head.status == 101 {
            framing = .untilClose  // the tunnel's raw bytes follow
        } else if head.status < 200 || head.status == 204 {
            framing = .none
        } else if requestMethod == .head || head.status == 304 {
            framing = .none
        } else if requestMethod == .connect && head.status < 300 {
            framing = .untilClose
        } else if let contentLength {
            framing = contentLength > 0 ? .contentLength(contentLength) : .none
        } else if endStream {
            framing = .none
            extra = "Content-Length: 0\r\n"
        } else if peerVersion.minor == 0 {
            framing = .untilClose
        } else {
            framing = .chunked
            extra = "Transfer-Encoding: chunked\r\n"
        }
        let skipContentLength = head.status < 200 || head.status == 204
        var reasonStart = storage.lineTextStart, reasonLength = storage.lineTextLength
        let standardReason = HTTPStatus.reasonPhrase(head.status)
        let useStandardReason = reasonLength == 0
        if useStandardReason {
            reasonStart = 0
            reasonLength = Int32(standardReason.utf8CodeUnitCount)
        }
        let length = 13 + Int(reasonLength) + 2 + fieldsLength(storage) + extra.utf8CodeUnitCount + 2
        buffer.appendInPlace(maximumLength: length) { out in
            var writer = ByteWriter(out)
            writer.write("HTTP/1.1 ")
            let status = min(max(head.status, 100), 999)
            writer.write(UInt8(0x30 + status / 100))
            writer.write(UInt8(0x30 + status / 10 % 10))
            writer.write(UInt8(0x30 + status % 10))
            writer.write(UInt8(asciiSpace))
            if useStandardReason {
                writer.write(standardReason)
            } else {
                writer.write(storage.bytes + Int(reasonStart), count: Int(reasonLength))
            }
            writer.write("\r\n")
            writeFields(storage, skipContentLength: skipContentLength, to: &writer)
            writer.write(extra)
            writer.write("\r\n")
            return writer.written
        }
        return framing
    }

    /// Writes a request head and returns the framing the body must use. The buffer's thread.
    /// - Parameter endStream: no body follows.
    @discardableResult
    public static func writeRequestHead(_ head: HTTPRequestHead, endStream: Bool, into buffer: IOBuffer) -> HTTPBodyFraming {
        let storage = head.headers.storage
        let framing: HTTPBodyFraming
        var extra: StaticString = ""
        if let contentLength = declaredContentLength(storage) {
            framing = contentLength > 0 ? .contentLength(contentLength) : .none
        } else if endStream {
            framing = .none
            switch head.method {
            case .post, .put, .patch: extra = "Content-Length: 0\r\n"
            default: break
            }
        } else if head.method == .connect {
            framing = .untilClose
        } else {
            framing = .chunked
            extra = "Transfer-Encoding: chunked\r\n"
        }
        let method = head.method.rawValue
        let length = method.utf8.count + 1 + Int(storage.lineTextLength) + 11 + fieldsLength(storage) + extra.utf8CodeUnitCount + 2
        buffer.appendInPlace(maximumLength: length) { out in
            var writer = ByteWriter(out)
            var method = method
            method.withUTF8 { writer.write($0.baseAddress!, count: $0.count) }
            writer.write(UInt8(asciiSpace))
            writer.write(storage.bytes + Int(storage.lineTextStart), count: Int(storage.lineTextLength))
            writer.write(" HTTP/1.1\r\n")
            writeFields(storage, skipContentLength: false, to: &writer)
            writer.write(extra)
            writer.write("\r\n")
            return writer.written
        }
        return framing
    }

    /// Moves `data` into `buffer` as body bytes under `framing` (a chunk for chunked; the bytes
    /// themselves otherwise). Whole slices move without copying. The buffer's thread.
    public static func writeBody(_ data: IOBuffer, framing: HTTPBodyFraming, into buffer: IOBuffer) {
        guard !data.isEmpty else { return }
        if framing == .chunked {
            let size = data.count
            buffer.appendInPlace(maximumLength: 18) { out in
                var writer = ByteWriter(out)
                writer.writeHex(size)
                writer.write("\r\n")
                return writer.written
            }
            buffer.move(from: data)
            buffer.append(crlf)
        } else {
            buffer.move(from: data)
        }
    }

    /// Ends a body under `framing`: for chunked, the last chunk and the trailer section (trailers
    /// are written only with chunked framing; otherwise they are dropped). The buffer's thread.
    public static func writeEnd(framing: HTTPBodyFraming, trailers: HTTPHeaders? = nil, into buffer: IOBuffer) {
        guard framing == .chunked else { return }
        guard let trailers, !trailers.isEmpty else {
            buffer.append(lastChunk)
            return
        }
        let storage = trailers.storage
        buffer.appendInPlace(maximumLength: 3 + fieldsLength(storage) + 2) { out in
            var writer = ByteWriter(out)
            writer.write("0\r\n")
            writeFields(storage, skipContentLength: true, to: &writer)
            writer.write("\r\n")
            return writer.written
        }
    }

    private static let crlf: [UInt8] = [asciiCR, asciiLF]
    private static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)

    /// The Content-Length field's value when present and valid.
    static func declaredContentLength(_ storage: HeaderStorage) -> Int? {
        for index in 0..<storage.fieldCount {
            let field = storage.fields[index]
            guard field.nameLength == 14, matches(storage.bytes + Int(field.nameStart), "content-length") else { continue }
            var value = 0
            guard field.valueLength > 0, field.valueLength <= 18 else { return nil }
            for offset in 0..<Int(field.valueLength) {
                let digit = storage.bytes[Int(field.valueStart) + offset] &- 0x30
                guard digit <= 9 else { return nil }
                value = value * 10 + Int(digit)
            }
            return value
        }
        return nil
    }

    /// Bytes that ``writeFields`` writes at most.
    static func fieldsLength(_ storage: HeaderStorage) -> Int {
        var total = 0
        for index in 0..<storage.fieldCount {
            let field = storage.fields[index]
            total += Int(field.nameLength) + Int(field.valueLength) + 4
        }
        return total
    }

    /// `Name: value\r\n` for each field, the case kept, minus the framing fields the encoder owns.
    /// Fields still stored as the parser found them, in that form and one after another, go out
    /// as one copy.
    static func writeFields(_ storage: HeaderStorage, skipContentLength: Bool, to writer: inout ByteWriter) {
        let bytes = storage.bytes
        var runStart = 0, runEnd = -1  // stored bytes already in the written form, not written yet
        for index in 0..<storage.fieldCount {
            let field = storage.fields[index]
            let nameStart = Int(field.nameStart), nameEnd = nameStart + Int(field.nameLength)
            let name = bytes + nameStart
            if field.nameLength == 17, matches(name, "transfer-encoding") { continue }
            if skipContentLength, field.nameLength == 14, matches(name, "content-length") { continue }
            let valueStart = Int(field.valueStart), valueEnd = valueStart + Int(field.valueLength)
            if valueStart == nameEnd + 2, valueEnd + 2 <= storage.byteCount,
               bytes[nameEnd] == asciiColon, bytes[nameEnd + 1] == asciiSpace,
               bytes[valueEnd] == asciiCR, bytes[valueEnd + 1] == asciiLF {
                if nameStart != runEnd {
                    if runEnd > runStart { writer.write(bytes + runStart, count: runEnd - runStart) }
                    runStart = nameStart
                }
                runEnd = valueEnd + 2
                continue
            }
            if runEnd > runStart { writer.write(bytes + runStart, count: runEnd - runStart) }
            runEnd = -1
            writer.write(name, count: Int(field.nameLength))
            writer.write(": ")
            writer.write(bytes + valueStart, count: Int(field.valueLength))
            writer.write("\r\n")
        }
        if runEnd > runStart { writer.write(bytes + runStart, count: runEnd - runStart) }
    }
}

/// Sequential writes into memory reserved by ``IOBuffer/appendInPlace(maximumLength:_:)``.
struct ByteWriter {
    let base: UnsafeMutableRawPointer
    var written = 0

    init(_ base: UnsafeMutableRawPointer) { self.base = base }

    @inline(__always)
    mutating func write(_ bytes: UnsafePointer<UInt8>, count: Int) {
        (base + written).copyMemory(from: bytes, byteCount: count)
        written += count
    }

    @inline(__always)
    mutating func write(_ text: StaticString) {
        write(text.utf8Start, count: text.utf8CodeUnitCount)
    }

    @inline(__always)
    mutating func write(_ byte: UInt8) {
        base.storeBytes(of: byte, toByteOffset: written, as: UInt8.self)
        written += 1
    }

    mutating func writeHex(_ value: Int) {
        var shift = 60
        while shift > 0, (value >> shift) & 0xF == 0 { shift -= 4 }
        while shift >= 0 {
            let digit = UInt8((value >> shift) & 0xF)
            write(digit < 10 ? 0x30 + digit : 0x61 + digit - 10)
            shift -= 4
        }
    }
}
