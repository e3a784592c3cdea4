/// A 64-bit hash that is the same in every process and on every run (FNV-1a, then a SplitMix64
/// finaliser to spread the bits), for consistent hashing. Any thread.
public enum StableHash {
    /// The hash of `bytes`. Any thread.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var state: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            state ^= UInt64(byte)
            state = state &* 0x0000_0100_0000_01b3
        }
        return mix(state)
    }

    /// The hash of `text`'s UTF-8 bytes. Any thread.
    public static func hash(_ text: String) -> UInt64 {
        var text = text
        return text.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }

    /// SplitMix64's finaliser. Any thread.
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
