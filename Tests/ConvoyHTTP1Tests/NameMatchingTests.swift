@testable import ConvoyHTTP1
import Testing

/// `matches` compares eight bytes at a time; it must still be exact ASCII case-insensitive
/// equality, byte by byte.
@Suite("Header name matching")
struct NameMatchingTests {
    @Test(arguments: ["te", "host", "expect", "trailer", "upgrade", "connection", "keep-alive", "content-length",
                      "proxy-connection", "transfer-encoding", "100-continue"] as [StaticString])
    func everyByteAtEveryPositionIsJudgedExactly(_ expected: StaticString) {
        let lower = Array(UnsafeBufferPointer(start: expected.utf8Start, count: expected.utf8CodeUnitCount))
        var candidate = lower
        #expect(matches(candidate, expected))
        #expect(matches(lower.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }, expected), "upper case")
        for position in lower.indices {
            let original = lower[position]
            for byte in 0...255 {
                candidate[position] = UInt8(byte)
                let isLetter = original >= 0x61 && original <= 0x7A
                let same = UInt8(byte) == original || (isLetter && UInt8(byte) == original - 0x20)
                if matches(candidate, expected) != same {
                    Issue.record("\(expected): byte \(byte) at \(position) judged \(!same)")
                    return
                }
            }
            candidate[position] = original
        }
    }

    private func matches(_ bytes: [UInt8], _ expected: StaticString) -> Bool {
        // Padded, as a name inside a head's storage is followed by more bytes.
        let padded = bytes + [0x3A, 0x20, 0x78, 0x0D, 0x0A, 0, 0, 0, 0, 0, 0, 0]
        return padded.withUnsafeBufferPointer { ConvoyHTTP1.matches($0.baseAddress!, expected) }
    }
}
