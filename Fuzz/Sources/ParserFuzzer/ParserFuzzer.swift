import ConvoyHTTP1
import ConvoyNetwork
import ConvoyTestSupport

/// One fuzz input: the first byte picks the role, the leniency and a split point; the rest is
/// fed to the parser. Besides not crashing or hanging, the parser must give the same events
/// whether the bytes arrive whole or in two or three pieces, and no event may follow an error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let control = data[0]
    let input = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let role: HTTP1Parser.Role = control & 1 == 0 ? .request : .response
    let limits = HTTP1ParserLimits(
        maxHeadBytes: control & 2 == 0 ? 60 * 1024 : 512,
        maxHeaderCount: control & 2 == 0 ? 100 : 8,
        maxTargetLength: control & 2 == 0 ? 16 * 1024 : 128,
        maxBodyBytes: control & 4 == 0 ? nil : 256,
        allowBareLineFeed: control & 8 != 0)
    let method: HTTPMethod = control & 16 == 0 ? .get : (control & 32 == 0 ? .head : .connect)
    let finish = control & 64 != 0
    let whole = HTTP1ChunkingVerifier.transcript(input, role: role, limits: limits, requestMethod: method, finish: finish)
    if let errorIndex = whole.firstIndex(where: { if case .error = $0 { true } else { false } }) {
        precondition(errorIndex == whole.count - 1, "events after an error: \(whole)")
    }
    guard input.count > 1 else { return 0 }
    let cut = 1 + Int(control >> 1) % (input.count - 1)
    let split = HTTP1ChunkingVerifier.transcript(input, role: role, limits: limits, requestMethod: method, pieces: [cut, 1], finish: finish)
    precondition(split == whole, "chunking changed the events at \(cut): \(split) vs \(whole)")
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// SwiftPM links an executable's entry point under this name; it hands control to libFuzzer.
@_cdecl("ParserFuzzer_main")
public func parserFuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzParser)
}
