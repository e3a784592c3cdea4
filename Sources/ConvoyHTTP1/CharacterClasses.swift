// Byte classes of RFC 9110 §5.6 and RFC 9112, as branch-light checks for the parser's inner loops.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let asciiCR: UInt8 = 0x0D
let asciiLF: UInt8 = 0x0A
let asciiSpace: UInt8 = 0x20
let asciiTab: UInt8 = 0x09
let asciiColon: UInt8 = 0x3A

/// `tchar`: ALPHA / DIGIT / one of ``!#$%&'*+-.^_`|~``.
@inline(__always)
func isTokenByte(_ byte: UInt8) -> Bool {
    // Bit n of word n/64 set when byte n is a tchar.
    let word: UInt64
    switch byte >> 6 {
    case 0: word = 0x03FF_6CFA_0000_0000  // ! # $ % & ' * + - . 0-9
    case 1: word = 0x57FF_FFFF_C7FF_FFFE  // A-Z ^ _ ` a-z | ~
    default: return false
    }
    return (word >> UInt64(byte & 63)) & 1 == 1
}

/// True when `[start, end)` can be a `Host` value, `uri-host [ ":" port ]` (RFC 9110 §7.2): only
/// unreserved characters, sub-delims, `%`, `:`, `[` and `]`. No space, `/`, `?`, `#`, `@` (no
/// userinfo) or `\`, so a host cannot smuggle a path into what routing or the upstream sees.
/// Eight bytes at a time while they are letters, digits, `-`, `.` and `:` (almost every host).
@inline(__always)
func isValidHost(_ bytes: UnsafePointer<UInt8>, from start: Int, to end: Int) -> Bool {
    guard end - start >= 8 else { return holdsOnlyHostBytes(bytes, from: start, to: end) }
    var index = start
    while true {
        let word = UnsafeRawPointer(bytes + index).loadUnaligned(as: UInt64.self)
        let low = word & ~highBits
        let letter = byteInRange(low | (ones &* 0x20), 0x61, 0x7A)
        let digitDashDotColon = byteInRange(low, 0x2D, 0x3A) & ~byteInRange(low, 0x2F, 0x2F)
        if ~(letter | digitDashDotColon) & highBits | (word & highBits) != 0,
           !holdsOnlyHostBytes(bytes, from: index, to: index + 8) { return false }
        if index + 8 == end { return true }
        // The last word overlaps the one before when the length is not a multiple of 8.
        index = min(index + 8, end - 8)
    }
}

/// `isValidHost` a byte at a time, from a 128-bit table.
private func holdsOnlyHostBytes(_ bytes: UnsafePointer<UInt8>, from start: Int, to end: Int) -> Bool {
    for index in start..<end {
        let byte = bytes[index]
        let word: UInt64
        switch byte >> 6 {
        case 0: word = 0x2FFF_7FF2_0000_0000  // ! $ % & ' ( ) * + , - . 0-9 : ; =
        case 1: word = 0x47FF_FFFE_AFFF_FFFE  // A-Z [ ] _ a-z ~
        default: return false
        }
        if (word >> UInt64(byte & 63)) & 1 == 0 { return false }
    }
    return true
}

@inline(__always)
func isHexDigit(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x66)
}

@inline(__always)
func hexValue(_ byte: UInt8) -> Int {
    byte <= 0x39 ? Int(byte - 0x30) : Int((byte | 0x20) - 0x61 + 10)
}

private let ones: UInt64 = 0x0101_0101_0101_0101
private let highBits: UInt64 = 0x8080_8080_8080_8080

/// True when `[start, end)` holds only field-value bytes: HTAB, SP, VCHAR, obs-text (no NUL,
/// CR, LF, other controls or DEL). Eight bytes at a time; a tail shorter than a word is checked
/// as the last eight bytes of the range, overlapping what was already seen.
@inline(__always)
func isValidFieldValue(_ bytes: UnsafePointer<UInt8>, from start: Int, to end: Int) -> Bool {
    var index = start
    while index &+ 8 <= end {
        if !isFieldValueWord(bytes, at: index) { return false }
        index &+= 8
    }
    if index == end { return true }
    if end &- start >= 8 { return isFieldValueWord(bytes, at: end &- 8) }
    while index < end {
        if !isFieldValueByte(bytes[index]) { return false }
        index &+= 1
    }
    return true
}

/// The eight bytes at `index` are all field-value bytes.
@inline(__always)
private func isFieldValueWord(_ bytes: UnsafePointer<UInt8>, at index: Int) -> Bool {
    let word = UnsafeRawPointer(bytes + index).loadUnaligned(as: UInt64.self)
    // Flags any byte below 0x20, and any byte equal to 0x7F.
    let below = (word &- ones &* 0x20) & ~word & highBits
    let delete = ((word ^ (ones &* 0x7F)) &- ones) & ~(word ^ (ones &* 0x7F)) & highBits
    // A flag may be a false positive (borrows) or a tab: then each byte is looked at.
    return below | delete == 0 || areFieldValueBytes(bytes + index, count: 8)
}

@inline(never)
private func areFieldValueBytes(_ bytes: UnsafePointer<UInt8>, count: Int) -> Bool {
    for offset in 0..<count where !isFieldValueByte(bytes[offset]) { return false }
    return true
}

@inline(__always)
func isFieldValueByte(_ byte: UInt8) -> Bool {
    (byte >= 0x20 && byte != 0x7F) || byte == asciiTab
}

/// Checks a request target in one pass, eight bytes at a time: whether it is all visible ASCII
/// (0x21–0x7E), as a target must be, and whether it holds a `.`, a `%` or a `\` (a target without
/// any has no dot segment, escape or backslash for path normalization to change).
@inline(__always)
func scanTarget(_ bytes: UnsafePointer<UInt8>, from start: Int, to end: Int) -> (isVisibleASCII: Bool, mayNeedNormalizing: Bool) {
    guard end - start >= 8 else {
        var found = false
        for index in start..<end {
            let byte = bytes[index]
            if byte < 0x21 || byte > 0x7E { return (false, false) }
            if byte == 0x2E || byte == 0x25 || byte == 0x5C { found = true }
        }
        return (true, found)
    }
    var found: UInt64 = 0
    var index = start
    while true {
        let word = UnsafeRawPointer(bytes + index).loadUnaligned(as: UInt64.self)
        let below = (word &- ones &* 0x21) & ~word & highBits
        let above = ((word &+ ones &* 0x01) | word) & highBits
        if below | above != 0 { return (false, false) }
        // A zero byte in either marks a match (exact: borrows only follow a real zero byte).
        let dots = word ^ (ones &* 0x2E), percents = word ^ (ones &* 0x25), backslashes = word ^ (ones &* 0x5C)
        found |= ((dots &- ones) & ~dots | (percents &- ones) & ~percents | (backslashes &- ones) & ~backslashes) & highBits
        if index + 8 == end { break }
        // The last word overlaps the one before when the length is not a multiple of 8: its
        // bytes are checked twice, which changes nothing.
        index = min(index + 8, end - 8)
    }
    return (true, found != 0)
}

/// Where the run of letters, digits and `-` starting at `start` ends, looking eight bytes at a
/// time and only at whole words before `end` (the caller finishes the tail a byte at a time):
/// the bytes of almost every field name, so a name costs a few instructions per word instead of
/// a table lookup per byte.
@inline(__always)
func endOfAlphanumericDashRun(_ bytes: UnsafePointer<UInt8>, from start: Int, to end: Int) -> Int {
    var index = start
    while index + 8 <= end {
        let word = UnsafeRawPointer(bytes + index).loadUnaligned(as: UInt64.self)
        let low = word & ~highBits  // no carries between bytes below
        let folded = low | (ones &* 0x20)
        let letter = byteInRange(folded, 0x61, 0x7A)
        let digit = byteInRange(low, 0x30, 0x39)
        let dash = byteInRange(low, 0x2D, 0x2D)
        let bad = ~(letter | digit | dash) & highBits | (word & highBits)
        if bad != 0 { return index + bad.trailingZeroBitCount >> 3 }
        index += 8
    }
    return index
}

/// High bit of each byte set when that byte of `word` (each below 0x80) is in `low...high`.
@inline(__always)
private func byteInRange(_ word: UInt64, _ low: UInt64, _ high: UInt64) -> UInt64 {
    (word &+ ones &* (0x80 - low)) & ~(word &+ ones &* (0x7F - high)) & highBits
}

/// The offset of the first LF in `[start, end)`, or -1. Most head lines are short, so the first
/// three words are looked at inline (and a tail shorter than a word a byte at a time); a longer
/// line goes to `memchr`.
@inline(__always)
func indexOfLineFeed(_ bytes: UnsafePointer<UInt8>, from start: Int, to end: Int) -> Int {
    var index = start
    var words = 0
    while index &+ 8 <= end {
        if words == 3 {
            guard let found = memchr(bytes + index, Int32(asciiLF), end &- index) else { return -1 }
            return UnsafeRawPointer(found) - UnsafeRawPointer(bytes)
        }
        let word = UnsafeRawPointer(bytes + index).loadUnaligned(as: UInt64.self) ^ (ones &* 0x0A)
        // The lowest flagged byte is always a real LF (borrows only run upwards).
        let found = (word &- ones) & ~word & highBits
        if found != 0 { return index &+ found.trailingZeroBitCount >> 3 }
        index &+= 8
        words &+= 1
    }
    while index < end {
        if bytes[index] == asciiLF { return index }
        index &+= 1
    }
    return -1
}
