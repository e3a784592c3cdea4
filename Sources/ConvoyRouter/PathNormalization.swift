/// How request paths are normalized before routing (Istio's MeshConfig `pathNormalization`, as
/// Envoy applies it); the normalized path is what goes upstream too. Normalizing matters for a
/// gateway: without it `/public/../admin` would match a rule for `/public` and reach `/admin`
/// upstream. Only the path is changed, never the query; targets that are not origin-form (`*`,
/// `host:port`) are left alone. Immutable; any thread.
public enum PathNormalization: Sendable, Equatable {
    /// Paths are used as sent.
    case none
    /// RFC 3986 §5.2.4: `.` and `..` segments (also written `%2e`) are resolved; Istio's default.
    case base
    /// `base`, then runs of `/` become one.
    case mergeSlashes
    /// `%2F` and `%5C` (either case) are decoded to `/` and `\` first, then `mergeSlashes`.
    case decodeAndMergeSlashes

    /// The normalized target, or nil when `target` needs no change (the common case, found with
    /// one pass over the path). Any thread.
    public func normalized(_ target: UnsafeRawBufferPointer) -> String? {
        guard self != .none, target.first == UInt8(ascii: "/") else { return nil }
        let pathEnd = target.firstIndex(of: UInt8(ascii: "?")) ?? target.count
        let path = UnsafeRawBufferPointer(rebasing: target[..<pathEnd])
        guard mayChange(path) else { return nil }
        var bytes = Array(path)
        if self == .decodeAndMergeSlashes { bytes = Self.decodingSlashes(bytes) }
        bytes = Self.removingDotSegments(bytes)
        if self != .base { bytes = Self.mergingSlashes(bytes) }
        guard !bytes.elementsEqual(path) else { return nil }
        bytes += target[pathEnd...]
        return String(decoding: bytes, as: UTF8.self)
    }

    /// False when the path certainly has nothing to normalize: no `/.` and no `%` (and, when
    /// slashes are merged, no `//`).
    private func mayChange(_ path: UnsafeRawBufferPointer) -> Bool {
        var previous: UInt8 = 0
        for byte in path {
            if byte == UInt8(ascii: "%") { return true }
            if previous == UInt8(ascii: "/") {
                if byte == UInt8(ascii: ".") { return true }
                if byte == UInt8(ascii: "/"), self != .base { return true }
            }
            previous = byte
        }
        return false
    }

    /// `%2F` and `%5C` in either case decoded.
    private static func decodingSlashes(_ bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count {
                let high = bytes[index + 1], low = bytes[index + 2] | 0x20
                if high == UInt8(ascii: "2"), low == UInt8(ascii: "f") {
                    result.append(UInt8(ascii: "/"))
                    index += 3
                    continue
                }
                if high == UInt8(ascii: "5"), low == UInt8(ascii: "c") {
                    result.append(UInt8(ascii: "\\"))
                    index += 3
                    continue
                }
            }
            result.append(bytes[index])
            index += 1
        }
        return result
    }

    /// RFC 3986 §5.2.4 on a path that starts with `/`, a segment of `.`, `..`, `%2e`, `%2e%2e`,
    /// `.%2e` or `%2e.` (either case) counting as a dot segment. A path ending in a dot segment
    /// keeps its trailing `/`.
    private static func removingDotSegments(_ bytes: [UInt8]) -> [UInt8] {
        var segments: [ArraySlice<UInt8>] = []
        var trailingSlash = false
        let parts = bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst()
        for (offset, part) in parts.enumerated() {
            let last = offset == parts.count - 1
            switch dots(in: part) {
            case 1:
                if last { trailingSlash = true }
            case 2:
                if !segments.isEmpty { segments.removeLast() }
                if last { trailingSlash = true }
            default:
                segments.append(part)
            }
        }
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        for segment in segments {
            result.append(UInt8(ascii: "/"))
            result += segment
        }
        if trailingSlash || result.isEmpty { result.append(UInt8(ascii: "/")) }
        return result
    }

    /// 1 for a `.` segment, 2 for `..`, 0 otherwise (`%2e` counts as a dot).
    private static func dots(in segment: ArraySlice<UInt8>) -> Int {
        var count = 0
        var index = segment.startIndex
        while index < segment.endIndex {
            if segment[index] == UInt8(ascii: ".") {
                index += 1
            } else if segment[index] == UInt8(ascii: "%"), segment.endIndex - index >= 3,
                      segment[index + 1] == UInt8(ascii: "2"), segment[index + 2] | 0x20 == UInt8(ascii: "e") {
                index += 3
            } else {
                return 0
            }
            count += 1
            if count > 2 { return 0 }
        }
        return count
    }

    /// Runs of `/` made one.
    private static func mergingSlashes(_ bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        for byte in bytes where !(byte == UInt8(ascii: "/") && result.last == UInt8(ascii: "/")) {
            result.append(byte)
        }
        return result
    }
}
