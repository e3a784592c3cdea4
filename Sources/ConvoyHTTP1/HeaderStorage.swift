#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One header field as byte ranges into its ``HeaderStorage``.
struct HeaderField {
    var nameStart: Int32
    var nameLength: Int32
    var valueStart: Int32
    var valueLength: Int32
}

/// The bytes and field ranges behind ``HTTPHeaders`` and the heads: a message head is copied here
/// once and every name, value, request target and reason phrase is a range into it. Reused by the
/// parser for the next message when nobody else holds it, so a steady stream of requests
/// allocates nothing. Confined to one thread at a time and never accessed re-entrantly, so the
/// dynamic exclusivity checks are switched off on its fields (they cost more than the parsing).
final class HeaderStorage {
    @exclusivity(unchecked) private(set) var bytes: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) private(set) var byteCapacity: Int
    @exclusivity(unchecked) var byteCount = 0
    @exclusivity(unchecked) private(set) var fields: UnsafeMutablePointer<HeaderField>
    @exclusivity(unchecked) private(set) var fieldCapacity: Int
    @exclusivity(unchecked) var fieldCount = 0
    /// The request target or the reason phrase.
    @exclusivity(unchecked) var lineTextStart: Int32 = 0
    @exclusivity(unchecked) var lineTextLength: Int32 = 0
    /// The parser's scratch while it reads a head into this storage: the offset of each line's
    /// LF, so the lines are found once, as the bytes arrive, and not searched for again.
    @exclusivity(unchecked) private(set) var lineFeeds: UnsafeMutablePointer<Int32>
    @exclusivity(unchecked) private var lineFeedCapacity = 16
    @exclusivity(unchecked) var lineFeedCount = 0
    /// False only when the parser found no hop-by-hop field in this head (RFC 9110 §7.6.1), so
    /// ``HTTPHeaders/removeHopByHopFields()`` has nothing to look for; any edit sets it again.
    @exclusivity(unchecked) var mayHoldHopByHopFields = true
    /// False only when the parser found no `Keep-Alive` field, so ``HTTPHeaders/keepAliveTimeout``
    /// need not look; any edit sets it again.
    @exclusivity(unchecked) var mayHoldKeepAliveField = true
    /// False only when the parser found no `.`, `%` or `\` in the request target, so it has no
    /// dot segment, escape or backslash to normalize; setting a target sets it again.
    @exclusivity(unchecked) var targetMayNeedNormalizing = true

    init(byteCapacity: Int = 1024, fieldCapacity: Int = 16) {
        self.byteCapacity = max(byteCapacity, 64)
        self.fieldCapacity = max(fieldCapacity, 4)
        bytes = .allocate(capacity: self.byteCapacity)
        fields = .allocate(capacity: self.fieldCapacity)
        lineFeeds = .allocate(capacity: lineFeedCapacity)
    }

    deinit {
        bytes.deallocate()
        fields.deallocate()
        lineFeeds.deallocate()
    }

    /// Empties the storage, keeping its capacity.
    @inline(__always)
    func reset() {
        byteCount = 0
        fieldCount = 0
        lineTextStart = 0
        lineTextLength = 0
        lineFeedCount = 0
        mayHoldHopByHopFields = true
        mayHoldKeepAliveField = true
        targetMayNeedNormalizing = true
    }

    /// Records the LF of the next line of the head being parsed.
    @inline(__always)
    func appendLineFeed(_ offset: Int) {
        if lineFeedCount == lineFeedCapacity { growLineFeeds() }
        lineFeeds[lineFeedCount] = Int32(truncatingIfNeeded: offset)
        lineFeedCount += 1
    }

    private func growLineFeeds() {
        let grown = UnsafeMutablePointer<Int32>.allocate(capacity: lineFeedCapacity * 2)
        grown.update(from: lineFeeds, count: lineFeedCount)
        lineFeeds.deallocate()
        lineFeeds = grown
        lineFeedCapacity *= 2
    }

    /// A copy with room for the edits that usually follow one (a proxy adds a few fields), in a
    /// storage from the thread's pool when it has one (``HTTPHeaders/recycle()`` gives them back).
    func copy() -> HeaderStorage {
        let copy = HeaderStoragePool.withCurrent { $0.take() }
        copy.reserveBytes(byteCount + 256)
        copy.reserveFields(fieldCount + 8)
        copy.bytes.update(from: bytes, count: byteCount)
        copy.fields.update(from: fields, count: fieldCount)
        copy.byteCount = byteCount
        copy.fieldCount = fieldCount
        copy.lineTextStart = lineTextStart
        copy.lineTextLength = lineTextLength
        copy.mayHoldHopByHopFields = mayHoldHopByHopFields
        copy.mayHoldKeepAliveField = mayHoldKeepAliveField
        copy.targetMayNeedNormalizing = targetMayNeedNormalizing
        return copy
    }

    @inline(__always)
    func reserveBytes(_ additional: Int) {
        if byteCount + additional > byteCapacity { growBytes(byteCount + additional) }
    }

    private func growBytes(_ needed: Int) {
        var capacity = byteCapacity * 2
        while capacity < needed { capacity *= 2 }
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        grown.update(from: bytes, count: byteCount)
        bytes.deallocate()
        bytes = grown
        byteCapacity = capacity
    }

    /// Appends raw bytes and returns where they start.
    @inline(__always)
    @discardableResult
    func appendBytes(_ source: UnsafeRawPointer, count: Int) -> Int32 {
        reserveBytes(count)
        let start = byteCount
        (UnsafeMutableRawPointer(bytes) + start).copyMemory(from: source, byteCount: count)
        byteCount += count
        return Int32(start)
    }

    func appendString(_ text: String) -> (start: Int32, length: Int32) {
        // A native string's bytes are read in place; only a bridged one is copied first.
        if let appended = text.utf8.withContiguousStorageIfAvailable({ appendUTF8($0) }) { return appended }
        var text = text
        return text.withUTF8 { appendUTF8($0) }
    }

    private func appendUTF8(_ utf8: UnsafeBufferPointer<UInt8>) -> (start: Int32, length: Int32) {
        guard let base = utf8.baseAddress, !utf8.isEmpty else { return (Int32(byteCount), 0) }
        return (appendBytes(base, count: utf8.count), Int32(utf8.count))
    }

    @inline(__always)
    func appendField(_ field: HeaderField) {
        mayHoldHopByHopFields = true
        mayHoldKeepAliveField = true
        if fieldCount == fieldCapacity { growFields() }
        fields[fieldCount] = field
        fieldCount += 1
    }

    @inline(__always)
    func reserveFields(_ total: Int) {
        if total > fieldCapacity { growFields(total) }
    }

    private func growFields(_ needed: Int = 0) {
        var capacity = fieldCapacity * 2
        while capacity < needed { capacity *= 2 }
        let grown = UnsafeMutablePointer<HeaderField>.allocate(capacity: capacity)
        grown.update(from: fields, count: fieldCount)
        fields.deallocate()
        fields = grown
        fieldCapacity = capacity
    }

    func removeField(at index: Int) {
        (fields + index).update(from: fields + index + 1, count: fieldCount - index - 1)
        fieldCount -= 1
    }

    @inline(__always)
    func bufferPointer(start: Int32, length: Int32) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: bytes + Int(start), count: Int(length))
    }

    @inline(__always)
    func string(start: Int32, length: Int32) -> String {
        String(decoding: bufferPointer(start: start, length: length), as: UTF8.self)
    }

    /// The index of the first field at or after `from` whose name equals `name` ignoring ASCII case.
    func indexOfField(named name: UnsafeRawBufferPointer, from: Int = 0) -> Int? {
        var index = from
        while index < fieldCount {
            let field = fields[index]
            if Int(field.nameLength) == name.count,
               asciiCaseInsensitiveEqual(bytes + Int(field.nameStart), name) {
                return index
            }
            index += 1
        }
        return nil
    }
}

/// True when the `other.count` bytes at `lhs` equal `other` ignoring ASCII case.
@inline(__always)
func asciiCaseInsensitiveEqual(_ lhs: UnsafePointer<UInt8>, _ other: UnsafeRawBufferPointer) -> Bool {
    var index = 0
    let count = other.count
    while index < count {
        let a = lhs[index], b = other[index]
        if a != b {
            let folded = a | 0x20
            guard folded == b | 0x20, folded >= 0x61, folded <= 0x7A else { return false }
        }
        index += 1
    }
    return true
}
