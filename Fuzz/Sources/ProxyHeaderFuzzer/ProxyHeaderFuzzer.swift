import ConvoyNetwork

/// One fuzz input: the first bytes of a connection. Besides not crashing, the PROXY protocol
/// parser must agree with itself on every prefix of them, as bytes arriving in pieces would feed
/// it: once it decides (a whole header, or a refusal), every longer prefix gets the same decision,
/// and before that every prefix needs more. A whole header is no longer than what arrived, a v1
/// line ends in CRLF within 107 bytes, and a v2 header is as long as its length field says.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProxyHeader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    func parse(_ available: Int) -> ProxyProtocolHeader.Outcome {
        let prefix = Array(bytes[..<min(available, ProxyProtocolHeader.prefixLength)])
        return prefix.withUnsafeBytes { ProxyProtocolHeader.parse($0, available: available) }
    }
    var decided: (at: Int, outcome: ProxyProtocolHeader.Outcome)?
    for available in 0...size {
        let outcome = parse(available)
        if let decided {
            precondition(outcome == decided.outcome, "\(available) bytes: \(outcome), but \(decided.outcome) at \(decided.at) of \(bytes)")
            continue
        }
        guard outcome != .needMore else { continue }
        decided = (available, outcome)
        guard case .complete(let length, _) = outcome else { continue }
        precondition(length <= available && length >= 15, "length \(length) of \(available): \(bytes)")
        if bytes[0] == UInt8(ascii: "P") {
            precondition(length <= 107 && bytes[length - 2] == 0x0D && bytes[length - 1] == 0x0A, "v1 line: \(bytes)")
        } else {
            precondition(length == 16 + (Int(bytes[14]) << 8 | Int(bytes[15])), "v2 length: \(bytes)")
        }
    }
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// SwiftPM links an executable's entry point under this name; it hands control to libFuzzer.
@_cdecl("ProxyHeaderFuzzer_main")
public func proxyHeaderFuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzProxyHeader)
}
