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
        var index = 0
        func put(_ value: UInt64, nibbles: Int) {
            var shift = (nibbles - 1) * 4
            while shift >= 0 {
                let nibble = UInt8(truncatingIfNeeded: (value >> UInt64(shift)) & 0xF)
                buffer[index] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble  // 0-9, a-f
                index += 1
                shift -= 4
            }
        }
        func dash() { buffer[index] = UInt8(ascii: "-"); index += 1 }
        put(high >> 32, nibbles: 8); dash()
        put((high >> 16) & 0xFFFF, nibbles: 4); dash()
        put(high & 0xFFFF, nibbles: 4); dash()
        put(low >> 48, nibbles: 4); dash()
        put(low & 0xFFFF_FFFF_FFFF, nibbles: 12)
    }
}
