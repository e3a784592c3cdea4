import ConvoyHTTP1
import ConvoyNetwork
import ConvoyRouter

/// One fuzz input: the first byte picks the normalization mode, the rest (mapped onto visible
/// ASCII, as the parser admits) follows a leading `/` as a request target. Besides not crashing,
/// normalizing must leave a path no rule can be bypassed with — no `.` or `..` segment, no `\`,
/// no escape of an unreserved character (nor of `/` or `\` when those are decoded), no `//` when
/// slashes merge, every `%` starting a valid escape — with the query as sent; normalizing twice
/// changes nothing; a refusal names a real `%00` or broken escape; and a target the parser calls
/// clean is one `base` leaves alone.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPath(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let modes: [PathNormalization] = [.base, .mergeSlashes, .decodeAndMergeSlashes]
    let mode = modes[Int(data[0]) % modes.count]
    let target = [UInt8(ascii: "/")] + UnsafeBufferPointer(start: data + 1, count: size - 1).map { (0x21...0x7E).contains($0) ? $0 : 0x21 + $0 % 94 }
    let query = target.firstIndex(of: UInt8(ascii: "?")).map { Array(target[$0...]) } ?? []
    let normalized: [UInt8]
    switch target.withUnsafeBytes({ mode.normalize($0) }) {
    case .unchanged:
        normalized = target
    case .normalized(let text):
        normalized = Array(text.utf8)
    case .rejected(let reason):
        precondition(holdsRefusedEscape(target), "refused \(String(decoding: target, as: UTF8.self)): \(reason)")
        return 0
    }
    let path = normalized.firstIndex(of: UInt8(ascii: "?")).map { Array(normalized[..<$0]) } ?? normalized
    let describe = "\(mode) \(String(decoding: target, as: UTF8.self)) -> \(String(decoding: normalized, as: UTF8.self))"
    precondition(Array(normalized[path.count...]) == query, "query changed: \(describe)")
    precondition(path.first == UInt8(ascii: "/") && !path.contains(UInt8(ascii: "\\")), "separator: \(describe)")
    let segments = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst()
    precondition(!segments.contains { $0.elementsEqual([0x2E]) || $0.elementsEqual([0x2E, 0x2E]) }, "dot segment: \(describe)")
    if mode != .base {
        precondition(!zip(path, path.dropFirst()).contains { $0 == 0x2F && $1 == 0x2F }, "double slash: \(describe)")
    }
    var index = 0
    while index < path.count {
        if path[index] == UInt8(ascii: "%") {
            guard index + 2 < path.count, let high = hexValue(path[index + 1]), let low = hexValue(path[index + 2]) else {
                preconditionFailure("broken escape left: \(describe)")
            }
            let byte = high << 4 | low
            precondition(byte != 0 && !isUnreserved(byte), "escape left undecoded: \(describe)")
            precondition(mode != .decodeAndMergeSlashes || (byte != 0x2F && byte != 0x5C), "slash escape left: \(describe)")
            index += 3
        } else {
            index += 1
        }
    }
    precondition(normalized.withUnsafeBytes { mode.normalize($0) } == .unchanged, "not idempotent: \(describe)")

    var parser = HTTP1Parser(role: .request)
    let request = IOBuffer(Array("GET ".utf8) + target + Array(" HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
    if case .requestHead(let head)? = try? parser.next(from: request, body: IOBuffer()), !head.targetMayNeedNormalizing {
        precondition(target.withUnsafeBytes { PathNormalization.base.normalize($0) } == .unchanged,
                     "the parser called \(String(decoding: target, as: UTF8.self)) clean")
    }
    return 0
}

/// True when the path part holds `%00` or a `%` without two hex digits after it.
private func holdsRefusedEscape(_ target: [UInt8]) -> Bool {
    let path = target.firstIndex(of: UInt8(ascii: "?")).map { Array(target[..<$0]) } ?? target
    for (index, byte) in path.enumerated() where byte == UInt8(ascii: "%") {
        guard index + 2 < path.count, let high = hexValue(path[index + 1]), let low = hexValue(path[index + 2]) else { return true }
        if high == 0 && low == 0 { return true }
    }
    return false
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 0x30...0x39: byte - 0x30
    case 0x41...0x46: byte - 0x41 + 10
    case 0x61...0x66: byte - 0x61 + 10
    default: nil
    }
}

private func isUnreserved(_ byte: UInt8) -> Bool {
    switch byte {
    case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, 0x2D, 0x2E, 0x5F, 0x7E: true
    default: false
    }
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// SwiftPM links an executable's entry point under this name; it hands control to libFuzzer.
@_cdecl("PathFuzzer_main")
public func pathFuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzPath)
}
