#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The PROXY protocol header (HAProxy's, versions 1 and 2) a load balancer in front sends at the
/// start of a connection to say whom it carries: parsed strictly, as Envoy's `proxy_protocol`
/// listener filter does, so the client's address can replace the balancer's.
///
/// A plain value type with static functions: any thread.
public enum ProxyProtocolHeader {
    /// What the first bytes of a connection hold.
    public enum Outcome: Equatable, Sendable {
        /// Not enough bytes yet to decide.
        case needMore
        /// Not a header this parser accepts; the connection should be closed. The text says why.
        case invalid(String)
        /// A whole header of `length` bytes. `source` is the client's address, or nil when the
        /// header carries none (v1 `UNKNOWN`, v2 `LOCAL`, or an address family other than IPv4
        /// and IPv6): then the connection's own peer stands.
        case complete(length: Int, source: SocketAddress?)
    }

    /// The most bytes ``parse(_:available:)`` looks at: a whole v1 line (107 bytes) or a v2
    /// header's fixed part and IPv6 addresses (52 bytes). Callers copy this many (or all they have).
    public static let prefixLength = 107

    /// The largest v2 header accepted, TLVs included; a longer one is refused rather than buffered.
    public static let maximumVersion2Length = 16 + 4096

    private static let version2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    private static let version1Signature = Array("PROXY ".utf8)

    /// Reads a header from `prefix`, the first `min(available, prefixLength)` bytes of the
    /// connection, where `available` is how many have arrived in all. Any thread.
    public static func parse(_ prefix: UnsafeRawBufferPointer, available: Int) -> Outcome {
        guard let first = prefix.first else { return .needMore }
        if first == version2Signature[0] { return parseVersion2(prefix, available: available) }
        if first == version1Signature[0] { return parseVersion1(prefix) }
        return .invalid("the connection does not start with a PROXY protocol header")
    }

    /// True while `prefix` agrees with `signature` as far as both go.
    private static func matches(_ prefix: UnsafeRawBufferPointer, _ signature: [UInt8]) -> Bool {
        zip(prefix, signature).allSatisfy { $0 == $1 }
    }

    // MARK: - Version 1: "PROXY TCP4 192.0.2.1 192.0.2.2 56324 443\r\n"

    private static func parseVersion1(_ prefix: UnsafeRawBufferPointer) -> Outcome {
        guard matches(prefix, version1Signature) else { return .invalid("the connection does not start with a PROXY protocol header") }
        guard let lineFeed = prefix.firstIndex(of: UInt8(ascii: "\n")) else {
            return prefix.count >= prefixLength ? .invalid("PROXY v1 line longer than 107 bytes") : .needMore
        }
        guard lineFeed > 0, prefix[lineFeed - 1] == UInt8(ascii: "\r") else { return .invalid("PROXY v1 line does not end in CRLF") }
        let length = lineFeed + 1
        let line = String(decoding: prefix[version1Signature.count..<(lineFeed - 1)], as: UTF8.self)
        let words = line.split(separator: " ", omittingEmptySubsequences: false)
        if words.first == "UNKNOWN" { return .complete(length: length, source: nil) }  // the rest is ignored, as the spec says
        guard words.count == 5 else { return .invalid("PROXY v1 line needs a protocol, two addresses and two ports") }
        let family: Int32
        switch words[0] {
        case "TCP4": family = AF_INET
        case "TCP6": family = AF_INET6
        default: return .invalid("PROXY v1 protocol '\(words[0])' is not TCP4, TCP6 or UNKNOWN")
        }
        guard let sourcePort = port(words[3]), let destinationPort = port(words[4]) else {
            return .invalid("PROXY v1 port is not a number from 0 to 65535")
        }
        guard let source = SocketAddress(ip: String(words[1]), port: sourcePort), source.family == family,
              SocketAddress(ip: String(words[2]), port: destinationPort)?.family == family
        else { return .invalid("PROXY v1 addresses are not \(words[0] == "TCP4" ? "IPv4" : "IPv6") addresses") }
        return .complete(length: length, source: source)
    }

    /// A decimal port without a sign or leading zeros.
    private static func port(_ text: Substring) -> UInt16? {
        guard !text.isEmpty, text.count <= 5, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              text == "0" || !text.hasPrefix("0")
        else { return nil }
        return UInt16(text)
    }

    // MARK: - Version 2: a 16-byte binary header, then addresses and TLVs

    private static func parseVersion2(_ prefix: UnsafeRawBufferPointer, available: Int) -> Outcome {
        guard matches(prefix, version2Signature) else { return .invalid("the connection does not start with a PROXY protocol header") }
        guard prefix.count >= 16 else { return .needMore }
        let versionAndCommand = prefix[12], familyAndTransport = prefix[13]
        let bodyLength = Int(prefix[14]) << 8 | Int(prefix[15])
        let length = 16 + bodyLength
        guard versionAndCommand >> 4 == 2 else { return .invalid("PROXY v2 header has version \(versionAndCommand >> 4), not 2") }
        let command = versionAndCommand & 0x0F
        guard command <= 1 else { return .invalid("PROXY v2 command \(command) is neither LOCAL nor PROXY") }
        guard length <= maximumVersion2Length else { return .invalid("PROXY v2 header of \(length) bytes is longer than \(maximumVersion2Length)") }
        let family = familyAndTransport >> 4
        let addressLength = family == 1 ? 12 : family == 2 ? 36 : 0
        guard bodyLength >= addressLength else { return .invalid("PROXY v2 header is too short for its addresses") }
        guard prefix.count >= 16 + addressLength else { return .needMore }
        guard available >= length else { return .needMore }
        // LOCAL (a health check from the balancer itself) and families other than TCP or UDP over
        // IPv4 or IPv6 carry no client: the connection's own peer stands.
        guard command == 1, addressLength > 0 else { return .complete(length: length, source: nil) }
        let portOffset = 16 + addressLength - 4  // source address, destination address, then the source port
        let sourcePort = UInt16(prefix[portOffset]) << 8 | UInt16(prefix[portOffset + 1])
        if family == 1 {
            let address = (UInt32(prefix[16]) << 24) | (UInt32(prefix[17]) << 16) | (UInt32(prefix[18]) << 8) | UInt32(prefix[19])
            return .complete(length: length, source: .ipv4(address: address, port: sourcePort))
        }
        return .complete(length: length, source: .ipv6(address: Array(prefix[16..<32]), port: sourcePort))
    }
}
