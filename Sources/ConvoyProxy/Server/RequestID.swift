import ConvoyRouter

/// `x-request-id` values: random UUIDs (version 4 layout), as Envoy generates. Worker thread.
enum RequestID {
    /// Characters in a UUID's text form.
    static let length = 36

    /// Writes a new random UUID's text form into the first ``length`` bytes of `buffer`.
    static func write(into buffer: UnsafeMutableRawBufferPointer, _ random: inout FastRandom) {
        precondition(buffer.count >= length, "RequestID.write needs \(length) bytes")
        var high = random.next(), low = random.next()
        high = (high & ~0xF000) | 0x4000  // version 4
        low = (low & ~(0xC << 60)) | (0x8 << 60)  // RFC 4122 variant
        // 8-4-4-4-12 hex digits: high's 16 digits, then low's 16, with dashes between the groups.
        let a = hex(UInt32(truncatingIfNeeded: high >> 32)), b = hex(UInt32(truncatingIfNeeded: high))
        let c = hex(UInt32(truncatingIfNeeded: low >> 32)), d = hex(UInt32(truncatingIfNeeded: low))
        let base = buffer.baseAddress!
        base.storeBytes(of: a, as: UInt64.self)
        base.storeBytes(of: UInt8(ascii: "-"), toByteOffset: 8, as: UInt8.self)
        base.storeBytes(of: UInt32(truncatingIfNeeded: b), toByteOffset: 9, as: UInt32.self)
        base.storeBytes(of: UInt8(ascii: "-"), toByteOffset: 13, as: UInt8.self)
        base.storeBytes(of: UInt32(truncatingIfNeeded: b >> 32), toByteOffset: 14, as: UInt32.self)
        base.storeBytes(of: UInt8(ascii: "-"), toByteOffset: 18, as: UInt8.self)
        base.storeBytes(of: UInt32(truncatingIfNeeded: c), toByteOffset: 19, as: UInt32.self)
        base.storeBytes(of: UInt8(ascii: "-"), toByteOffset: 23, as: UInt8.self)
        base.storeBytes(of: UInt32(truncatingIfNeeded: c >> 32), toByteOffset: 24, as: UInt32.self)
        base.storeBytes(of: d, toByteOffset: 28, as: UInt64.self)
    }

    /// The eight lowercase hex digits of `value`, most significant first, as the bytes of a
    /// little-endian `UInt64` (all eight at once: each nibble spread into its own byte, then
    /// `0`–`9` or `a`–`f` added without a branch).
    @inline(__always)
    static func hex(_ value: UInt32) -> UInt64 {
        var x = UInt64(value)
        x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF
        x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF
        x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F
        x = x.byteSwapped  // the most significant digit at the lowest address
        let letters = ((x &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101  // 1 where the digit is ≥ 10
        return (x &+ 0x3030_3030_3030_3030 &+ letters &* 0x27).littleEndian
    }
}
