/// Istio's `StringMatch`: exact, prefix or (whole-string) regex, optionally ignoring ASCII case;
/// `present` is the empty matcher `{}`, which matches any value. Immutable; any thread.
public struct StringMatch: Sendable, CustomStringConvertible {
    /// How the value is compared.
    public enum Kind: Sendable {
        /// Equal bytes.
        case exact([UInt8])
        /// The value starts with these bytes.
        case prefix([UInt8])
        /// The whole value matches.
        case regex(CompiledRegex)
        /// Any value (the field only has to be there).
        case present
    }

    /// The comparison. Any thread.
    public let kind: Kind
    /// Compare exact and prefix without regard to ASCII case. Any thread.
    public let ignoresCase: Bool

    /// A matcher. Any thread.
    public init(_ kind: Kind, ignoresCase: Bool = false) {
        self.kind = kind
        self.ignoresCase = ignoresCase
    }

    /// `exact: text`. Any thread.
    public static func exact(_ text: String, ignoresCase: Bool = false) -> StringMatch {
        StringMatch(.exact(Array(text.utf8)), ignoresCase: ignoresCase)
    }

    /// `prefix: text`. Any thread.
    public static func prefix(_ text: String, ignoresCase: Bool = false) -> StringMatch {
        StringMatch(.prefix(Array(text.utf8)), ignoresCase: ignoresCase)
    }

    /// The prefix bytes when this is a prefix matcher (a rewrite replaces exactly them). Any thread.
    public var prefixLength: Int? {
        if case .prefix(let bytes) = kind { return bytes.count }
        return nil
    }

    /// True when `value` satisfies the matcher. Any thread.
    public func matches(_ value: UnsafeRawBufferPointer) -> Bool {
        switch kind {
        case .present:
            return true
        case .exact(let expected):
            return value.count == expected.count && Self.startsWith(value, expected, ignoresCase: ignoresCase)
        case .prefix(let expected):
            return value.count >= expected.count && Self.startsWith(value, expected, ignoresCase: ignoresCase)
        case .regex(let regex):
            return regex.matchesWhole(Substring(decoding: value, as: UTF8.self))
        }
    }

    /// True when `value` satisfies the matcher. Any thread.
    public func matches(_ value: String) -> Bool {
        var value = value
        return value.withUTF8 { matches(UnsafeRawBufferPointer($0)) }
    }

    private static func startsWith(_ value: UnsafeRawBufferPointer, _ expected: [UInt8], ignoresCase: Bool) -> Bool {
        if ignoresCase {
            for index in expected.indices where lowercased(value[index]) != lowercased(expected[index]) { return false }
            return true
        }
        return expected.withUnsafeBytes { expectedBytes in
            expectedBytes.isEmpty || memcmp(value.baseAddress!, expectedBytes.baseAddress!, expectedBytes.count) == 0
        }
    }

    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }

    /// `exact: …`, `prefix: …`, `regex: …` or `{}`. Any thread.
    public var description: String {
        switch kind {
        case .exact(let bytes): "exact: \(String(decoding: bytes, as: UTF8.self))"
        case .prefix(let bytes): "prefix: \(String(decoding: bytes, as: UTF8.self))"
        case .regex(let regex): "regex: \(regex.pattern)"
        case .present: "{}"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
