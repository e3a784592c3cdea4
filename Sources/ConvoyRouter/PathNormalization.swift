/// How request paths are normalized before routing (Istio's MeshConfig `pathNormalization`, as
/// Envoy applies it); the normalized path is what goes upstream too. Normalizing matters for a
/// gateway: without it `/public/../admin` or `/%61dmin` would slip past a rule for `/admin` and
/// reach `/admin` upstream. Only the path is changed, never the query; targets that are not
/// origin-form (`*`, `host:port`) are left alone. Immutable; any thread.
///
/// Every mode but `none` also rejects paths no server should be handed: `%00`, and a `%` not
/// followed by two hex digits (nginx answers both 400 too). Because of that, decoding happens
/// once and can never create a new escape: every `%` left in the result starts an escape that
/// was in the request.
public enum PathNormalization: Sendable, Equatable {
    /// Paths are used as sent.
    case none
    /// Istio's default: escapes of unreserved characters (`%41` → `A`, `%2e` → `.`, `%7e` → `~`)
    /// decoded, `\` made `/`, then `.` and `..` segments resolved (RFC 3986 §5.2.4).
    case base
    /// `base`, then runs of `/` become one.
    case mergeSlashes
    /// `%2F` and `%5C` (either case) are decoded to `/` as well, then `mergeSlashes`.
    case decodeAndMergeSlashes

    /// What normalizing one request target gave.
    public enum Outcome: Sendable, Equatable {
        /// The target needs no change (the common case, found with one pass over the path).
        case unchanged
        /// The target to route on and send upstream.
        case normalized(String)
        /// The path must be answered 400; the reason says why, for the response body.
        case rejected(String)
    }

    /// Normalizes `target` (its path; the query is kept as sent). Any thread.
    public func normalize(_ target: UnsafeRawBufferPointer) -> Outcome {
        guard self != .none, target.first == UInt8(ascii: "/") else { return .unchanged }
        let pathEnd = target.firstIndex(of: UInt8(ascii: "?")) ?? target.count
        let path = UnsafeRawBufferPointer(rebasing: target[..<pathEnd])
        guard mayChange(path) else { return .unchanged }
        var bytes: [UInt8]
        switch decoding(path) {
        case .success(let decoded): bytes = decoded
        case .failure(let reason): return .rejected(reason.message)
        }
        bytes = Self.removingDotSegments(bytes)
        if self != .base { bytes = Self.mergingSlashes(bytes) }
        guard !bytes.elementsEqual(path) else { return .unchanged }
        bytes += target[pathEnd...]
        return .normalized(String(decoding: bytes, as: UTF8.self))
    }

    /// False when the path certainly has nothing to normalize: no `%`, no `\`, no `/.` (and,
    /// when slashes are merged, no `//`).
    private func mayChange(_ path: UnsafeRawBufferPointer) -> Bool {
        var previous: UInt8 = 0
        for byte in path {
            if byte == UInt8(ascii: "%") || byte == UInt8(ascii: "\\") { return true }
            if previous == UInt8(ascii: "/") {
                if byte == UInt8(ascii: ".") { return true }
                if byte == UInt8(ascii: "/"), self != .base { return true }
            }
            previous = byte
        }
        return false
    }

    /// Why a path is refused.
    private enum Refusal: Error {
        case nul, malformedEscape

        var message: String {
            switch self {
            case .nul: "the path holds %00\n"
            case .malformedEscape: "the path holds a % not followed by two hex digits\n"
            }
        }
    }

    /// One pass, left to right: escapes of unreserved characters decoded (and `%2F`/`%5C` in
    /// `decodeAndMergeSlashes`), every `\` made `/`; other escapes kept as sent.
    private func decoding(_ path: UnsafeRawBufferPointer) -> Result<[UInt8], Refusal> {
        var result: [UInt8] = []
        result.reserveCapacity(path.count)
        var index = 0
        while index < path.count {
            let byte = path[index]
            guard byte == UInt8(ascii: "%") else {
                result.append(byte == UInt8(ascii: "\\") ? UInt8(ascii: "/") : byte)
                index += 1
                continue
            }
            guard index + 2 < path.count, let high = Self.hexValue(path[index + 1]),
                  let low = Self.hexValue(path[index + 2]) else { return .failure(.malformedEscape) }
            let decoded = high << 4 | low
            if decoded == 0 { return .failure(.nul) }
            if Self.isUnreserved(decoded) {
                result.append(decoded)
            } else if self == .decodeAndMergeSlashes, decoded == UInt8(ascii: "/") || decoded == UInt8(ascii: "\\") {
                result.append(UInt8(ascii: "/"))
            } else {
                result += path[index..<index + 3]
            }
            index += 3
        }
        return .success(result)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// RFC 3986's unreserved characters: letters, digits, `-`, `.`, `_`, `~`.
    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "_"), UInt8(ascii: "~"): true
        default: false
        }
    }

    /// RFC 3986 §5.2.4 on a path that starts with `/`. A path ending in a dot segment keeps its
    /// trailing `/`.
    private static func removingDotSegments(_ bytes: [UInt8]) -> [UInt8] {
        var segments: [ArraySlice<UInt8>] = []
        var trailingSlash = false
        let parts = bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst()
        for (offset, part) in parts.enumerated() {
            let last = offset == parts.count - 1
            if part.elementsEqual(CollectionOfOne(UInt8(ascii: "."))) {
                if last { trailingSlash = true }
            } else if part.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                if !segments.isEmpty { segments.removeLast() }
                if last { trailingSlash = true }
            } else {
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
