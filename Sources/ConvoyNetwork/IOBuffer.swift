#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A byte buffer made of a chain of slices: Envoy's `Buffer::OwnedImpl` with its watermarks.
///
/// - Storage is 16 KiB blocks from a per-thread pool, so a buffer at steady state allocates nothing.
/// - ``read(from:maxBytes:)`` fills the tail slice and up to 8 reserved slices with one `readv`;
///   ``write(to:)`` sends up to 16 slices with one `writev` and drains what was written. With a
///   single slice the calls are `recv` and `send`, which the kernel serves with less work.
/// - ``move(from:)`` transfers whole slices between buffers without copying (small slices are
///   copied into the destination's free tail instead, so chains of tiny slices do not build up).
/// - Parsers peek in place (``forEachSlice(_:)``, ``byte(at:)``, ``firstIndex(of:from:)``,
///   ``search(for:from:)``) and make bytes contiguous only on request (``linearize(_:)``).
/// - Watermarks: with ``setWatermarks(high:overflowMultiplier:)``, ``onAboveHighWatermark`` fires
///   once when the length goes above `high`, ``onBelowLowWatermark`` once when it falls back to
///   `high / 2` or below, and ``onAboveOverflowWatermark`` once past `high × multiplier`. Checked
///   after every change of length.
///
/// Confined to one thread at a time (the thread of the connection that owns it); not `Sendable`.
public final class IOBuffer {
    @usableFromInline
    struct Slice {
        @usableFromInline var block: UnsafeMutableRawPointer
        @usableFromInline var capacity: Int
        @usableFromInline var start: Int
        @usableFromInline var end: Int

        @inlinable var length: Int { end - start }
        @inline(__always) var reservable: Int { capacity - end }
        @inline(__always) var isPooled: Bool { capacity == SlicePool.sliceSize }
    }

    /// Slices handed to one `readv`, as in Envoy ("reads of 128k, using 16k slices"). Any thread.
    public static let maximumReadSlices = 8
    /// Slices handed to one `writev`. Any thread.
    public static let maximumWriteSlices = 16
    /// Slices at most this long are copied into the destination's tail by `move` when they fit.
    static let copyThreshold = 4_096

    // Confined to one thread and never accessed re-entrantly: the dynamic exclusivity checks on
    // these fields cost ~10 000 instructions per small echo round trip.

    /// Bytes in the buffer. The owning thread.
    @inlinable public var count: Int { byteCount }
    // A public stored property would be read directly by other modules, which then check
    // exclusivity dynamically despite the attribute; behind a getter the check stays off. The
    // few accessors parsers call per message are inlinable (they only read).
    @exclusivity(unchecked) @usableFromInline private(set) var byteCount = 0

    @exclusivity(unchecked) @usableFromInline private(set) var ring: UnsafeMutablePointer<Slice>
    @exclusivity(unchecked) @usableFromInline private(set) var ringCapacity: Int  // a power of two
    @exclusivity(unchecked) @usableFromInline private(set) var head = 0
    @exclusivity(unchecked) @usableFromInline private(set) var sliceCount = 0
    @exclusivity(unchecked) private var readSliceHint = 2
    /// The last ``read(from:maxBytes:)`` filled all the space it offered: more may be waiting.
    @exclusivity(unchecked) private(set) var lastReadFilledOffer = false

    @exclusivity(unchecked) private var highWatermark = 0
    @exclusivity(unchecked) private var lowWatermark = 0
    @exclusivity(unchecked) private var overflowWatermark = 0
    /// True between an above-high and the matching below-low notification. The owning thread.
    @exclusivity(unchecked) public private(set) var isAboveHighWatermark = false
    @exclusivity(unchecked) private var overflowNotified = false

    /// Called once when the length rises above the high watermark. The owning thread.
    public var onAboveHighWatermark: (() -> Void)?
    /// Called once when the length falls to the low watermark (high / 2) after a high one. The owning thread.
    public var onBelowLowWatermark: (() -> Void)?
    /// Called once when the length rises above `high × overflowMultiplier`. The owning thread.
    public var onAboveOverflowWatermark: (() -> Void)?

    /// An empty buffer. Any thread (it then belongs to the thread that uses it).
    public init() {
        ringCapacity = 0  // the ring is allocated on the first slice: idle connections hold none
        ring = Self.emptyRing
    }

    /// Stands in for the ring until the first slice; never read or written (capacity 0).
    nonisolated(unsafe) private static let emptyRing = UnsafeMutablePointer<Slice>.allocate(capacity: 1)

    /// A buffer holding a copy of `bytes`. Any thread.
    public convenience init(_ bytes: some Collection<UInt8>) {
        self.init()
        append(bytes)
    }

    /// A buffer holding `text` as UTF-8. Any thread.
    public convenience init(_ text: String) {
        self.init()
        append(text)
    }

    deinit {
        releaseAllSlices()
        if ringCapacity > 0 { ring.deallocate() }
    }

    /// True when the buffer holds no bytes. The owning thread.
    @inlinable public var isEmpty: Bool { byteCount == 0 }

    /// Number of slices in the chain (some may be empty). The owning thread.
    @inlinable public var numberOfSlices: Int { sliceCount }

    // MARK: - Watermarks

    /// Sets the high watermark (`0` turns watermarks off) and the overflow multiplier (`0`: no
    /// overflow notification). The low watermark is `high / 2`. The owning thread.
    public func setWatermarks(high: Int, overflowMultiplier: Int = 0) {
        highWatermark = high
        lowWatermark = high / 2
        overflowWatermark = overflowMultiplier > 0 ? high &* overflowMultiplier : 0
        checkWatermarks()
    }

    @inline(__always)
    private func checkWatermarks() {
        guard highWatermark > 0 else { return }
        if !isAboveHighWatermark, count > highWatermark {
            isAboveHighWatermark = true
            onAboveHighWatermark?()
        } else if isAboveHighWatermark, count <= lowWatermark {
            isAboveHighWatermark = false
            onBelowLowWatermark?()
        }
        if overflowWatermark > 0, !overflowNotified, count > overflowWatermark {
            overflowNotified = true
            onAboveOverflowWatermark?()
        }
    }

    // MARK: - Adding and removing bytes

    /// Appends a copy of `bytes`. The owning thread.
    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        appendRaw(bytes)
        byteCount += bytes.count
        checkWatermarks()
    }

    /// Appends a copy of `bytes`. The owning thread.
    public func append(_ bytes: some Collection<UInt8>) {
        if let done = bytes.withContiguousStorageIfAvailable({ append(UnsafeRawBufferPointer($0)) }) {
            return done
        }
        Array(bytes).withUnsafeBytes { append($0) }
    }

    /// Appends a copy of `other`'s bytes, leaving `other` as it is (a proxy keeps a request body
    /// this way to replay it on a retry). The owning thread.
    public func append(copyOf other: IOBuffer) {
        other.forEachSlice { bytes in
            append(bytes)
            return true
        }
    }

    /// Appends `text` as UTF-8. The owning thread.
    public func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Appends up to `maximumLength` bytes written in place: `body` gets contiguous writable
    /// memory of that size at the tail (the tail slice's free space, a fresh pooled slice, or a
    /// block of its own when larger) and returns how many bytes it wrote. Encoders use it to
    /// write a message head with one copy. The owning thread.
    public func appendInPlace(maximumLength: Int, _ body: (UnsafeMutableRawPointer) -> Int) {
        guard maximumLength > 0 else { return }
        if sliceCount == 0 || slot(sliceCount - 1).pointee.reservable < maximumLength {
            let capacity = max(maximumLength, SlicePool.sliceSize)
            let block = capacity == SlicePool.sliceSize
                ? SlicePool.withCurrent { $0.take() } : UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
            pushBack(Slice(block: block, capacity: capacity, start: 0, end: 0))
        }
        let tail = slot(sliceCount - 1)
        let written = body(tail.pointee.block + tail.pointee.end)
        trapUnless(written >= 0 && written <= maximumLength, "IOBuffer.appendInPlace: wrote \(written) of at most \(maximumLength) bytes")
        tail.pointee.end += written
        byteCount += written
        checkWatermarks()
    }

    /// Removes the first `length` bytes (all of them if `length` is larger). The owning thread.
    public func drain(_ length: Int) {
        if length > 0, sliceCount > 0 {
            // Most drains take part of the front slice.
            let front = slot(0)
            if front.pointee.length > length {
                front.pointee.start += length
                byteCount -= length
                checkWatermarks()
                return
            }
        }
        let length = min(length, count)
        guard length > 0 else { return }
        dropFrontRaw(length)
        byteCount -= length
        checkWatermarks()
    }

    /// Moves every byte of `other` to the end of this buffer, leaving `other` empty. Whole slices
    /// change hands without copying. The owning thread.
    public func move(from other: IOBuffer) {
        move(from: other, length: other.count)
    }

    /// Moves the first `length` bytes of `other` (all of them if it holds fewer) to the end of
    /// this buffer. Whole slices change hands without copying; a partial slice is copied. The owning thread.
    public func move(from other: IOBuffer, length: Int) {
        trapUnless(other !== self, "IOBuffer.move(from:) from itself")
        var remaining = min(length, other.count)
        guard remaining > 0 else { return }
        let moved = remaining
        while remaining > 0 {
            let front = other.slot(0)
            let available = front.pointee.length
            if available <= remaining {
                var slice = other.popFront()
                remaining -= available
                if slice.length <= Self.copyThreshold, sliceCount > 0, slot(sliceCount - 1).pointee.reservable >= slice.length {
                    let tail = slot(sliceCount - 1)
                    (tail.pointee.block + tail.pointee.end).copyMemory(from: slice.block + slice.start, byteCount: slice.length)
                    tail.pointee.end += slice.length
                    slice.start = slice.end
                    SlicePool.withCurrent { release(slice, to: $0) }
                } else {
                    pushBack(slice)
                }
            } else {
                appendRaw(UnsafeRawBufferPointer(start: front.pointee.block + front.pointee.start, count: remaining))
                front.pointee.start += remaining
                remaining = 0
            }
        }
        other.byteCount -= moved
        byteCount += moved
        other.checkWatermarks()
        checkWatermarks()
    }

    // MARK: - Looking without removing

    /// Calls `body` with each slice's bytes in order until it returns false. The owning thread.
    public func forEachSlice(_ body: (UnsafeRawBufferPointer) throws -> Bool) rethrows {
        for index in 0..<sliceCount {
            let slice = slot(index).pointee
            guard slice.length > 0 else { continue }
            if try !body(UnsafeRawBufferPointer(start: slice.block + slice.start, count: slice.length)) { return }
        }
    }

    /// The bytes of slice `index` (0 ..< ``numberOfSlices``; may be empty), valid until the
    /// buffer next changes: how a parser walks the chain without a closure. The owning thread.
    @inlinable
    public func slice(at index: Int) -> UnsafeRawBufferPointer {
        if index < 0 || index >= sliceCount { sliceIndexOutOfRange(index) }
        let slice = ring[(head &+ index) & (ringCapacity &- 1)]
        return UnsafeRawBufferPointer(start: slice.block + slice.start, count: slice.length)
    }

    @usableFromInline
    func sliceIndexOutOfRange(_ index: Int) -> Never {
        fatalError("IOBuffer.slice(at: \(index)) out of range 0..<\(sliceCount)")
    }

    /// The byte at `offset` from the start. Traps when out of range. The owning thread.
    public func byte(at offset: Int) -> UInt8 {
        trapUnless(offset >= 0 && offset < count, "IOBuffer.byte(at: \(offset)) out of range 0..<\(count)")
        var remaining = offset
        for index in 0..<sliceCount {
            let slice = slot(index).pointee
            if remaining < slice.length { return slice.block.load(fromByteOffset: slice.start + remaining, as: UInt8.self) }
            remaining -= slice.length
        }
        fatalError("unreachable: IOBuffer length out of step with its slices")
    }

    /// The offset of the first `byte` at or after `start`, or nil. The owning thread.
    public func firstIndex(of byte: UInt8, from start: Int = 0) -> Int? {
        var base = 0
        for index in 0..<sliceCount {
            let slice = slot(index).pointee
            defer { base += slice.length }
            if base + slice.length <= start { continue }
            let skip = max(0, start - base)
            if let found = memchr(slice.block + slice.start + skip, Int32(byte), slice.length - skip) {
                return base + skip + (UnsafeRawPointer(found) - UnsafeRawPointer(slice.block + slice.start + skip))
            }
        }
        return nil
    }

    /// The offset of the first occurrence of `needle` at or after `start` (it may span slices),
    /// or nil. The owning thread.
    public func search(for needle: some Collection<UInt8>, from start: Int = 0) -> Int? {
        let needle = Array(needle)
        guard let first = needle.first else { return start <= count ? start : nil }
        var candidate = start
        while let position = firstIndex(of: first, from: candidate) {
            if position + needle.count > count { return nil }
            var matches = true
            for (offset, expected) in needle.enumerated().dropFirst() where byte(at: position + offset) != expected {
                matches = false
                break
            }
            if matches { return position }
            candidate = position + 1
        }
        return nil
    }

    /// Copies bytes starting at `offset` into `destination`; returns how many were copied. The owning thread.
    @discardableResult
    public func copyBytes(into destination: UnsafeMutableRawBufferPointer, from offset: Int = 0) -> Int {
        guard let target = destination.baseAddress else { return 0 }
        var skip = offset
        var copied = 0
        for index in 0..<sliceCount where copied < destination.count {
            let slice = slot(index).pointee
            if skip >= slice.length {
                skip -= slice.length
                continue
            }
            let chunk = min(slice.length - skip, destination.count - copied)
            (target + copied).copyMemory(from: slice.block + slice.start + skip, byteCount: chunk)
            copied += chunk
            skip = 0
        }
        return copied
    }

    /// A copy of every byte (for tests, logs and small payloads). The owning thread.
    public var bytes: [UInt8] {
        // `unsafeUninitializedCapacity: 0` would write its count into the runtime's shared empty
        // array, a write ThreadSanitizer sees as a race between any two threads doing it.
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { storage, initialized in
            initialized = copyBytes(into: UnsafeMutableRawBufferPointer(storage))
        }
    }

    /// The bytes decoded as UTF-8 (invalid sequences repaired). The owning thread.
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Makes the first `length` bytes (at most ``count``) contiguous and returns them. Copies only
    /// when they span slices. The pointer is valid until the buffer next changes. The owning thread.
    public func linearize(_ length: Int) -> UnsafeRawBufferPointer {
        let length = min(length, count)
        guard length > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let front = slot(0).pointee
        if front.length >= length {
            return UnsafeRawBufferPointer(start: front.block + front.start, count: length)
        }
        let capacity = max(length, SlicePool.sliceSize)
        let block = capacity == SlicePool.sliceSize
            ? SlicePool.withCurrent { $0.take() } : UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        let copied = copyBytes(into: UnsafeMutableRawBufferPointer(start: block, count: length))
        assert(copied == length)
        // Replace the copied bytes by the contiguous block; the length does not change.
        dropFrontRaw(length)
        pushFront(Slice(block: block, capacity: capacity, start: 0, end: length))
        return UnsafeRawBufferPointer(start: block, count: length)
    }

    // MARK: - Socket I/O

    /// One `readv` from `fd` into the tail slice's free space and up to
    /// ``maximumReadSlices`` fresh slices, at most `maxBytes`. How many fresh slices are offered
    /// adapts: it doubles after a read that filled everything offered and halves after one that
    /// used at most one slice, so small messages cost one pooled slice and bulk transfers reach
    /// 128 KiB per call. Unused fresh slices go back to the pool. The owning thread.
    public func read(from fd: Int32, maxBytes: Int) -> IOResult {
        guard maxBytes > 0 else { return .transferred(0) }
        return SlicePool.withCurrent { pool in read(from: fd, maxBytes: maxBytes, pool: pool) }
    }

    private func read(from fd: Int32, maxBytes: Int, pool: SlicePool) -> IOResult {
        withUnsafeTemporaryAllocation(of: iovec.self, capacity: Self.maximumReadSlices + 1) { vectors in
            withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer.self, capacity: Self.maximumReadSlices) { blocks in
                var vectorCount = 0
                var offered = 0
                var tailRoom = 0
                if sliceCount > 0 {
                    let tail = slot(sliceCount - 1).pointee
                    tailRoom = min(tail.reservable, maxBytes)
                    if tailRoom > 0 {
                        vectors[0] = iovec(iov_base: tail.block + tail.end, iov_len: tailRoom)
                        vectorCount = 1
                        offered = tailRoom
                    }
                }
                var freshCount = 0
                while offered < maxBytes, freshCount < readSliceHint {
                    let block = pool.take()
                    blocks[freshCount] = block
                    freshCount += 1
                    let length = min(SlicePool.sliceSize, maxBytes - offered)
                    vectors[vectorCount] = iovec(iov_base: block, iov_len: length)
                    vectorCount += 1
                    offered += length
                }
                let result = Syscalls.readv(fd, vectors.baseAddress!, count: Int32(vectorCount))
                var filled = 0
                if case .transferred(let bytesRead) = result { filled = bytesRead }
                var remaining = filled
                if tailRoom > 0 {
                    let used = min(tailRoom, remaining)
                    slot(sliceCount - 1).pointee.end += used
                    remaining -= used
                }
                for index in 0..<freshCount {
                    if remaining > 0 {
                        let used = min(SlicePool.sliceSize, remaining)
                        pushBack(Slice(block: blocks[index], capacity: SlicePool.sliceSize, start: 0, end: used))
                        remaining -= used
                    } else {
                        pool.give(blocks[index])
                    }
                }
                lastReadFilledOffer = filled == offered
                if filled > 0 {
                    if filled == offered {
                        readSliceHint = min(Self.maximumReadSlices, readSliceHint * 2)
                    } else if filled <= SlicePool.sliceSize {
                        readSliceHint = max(1, readSliceHint / 2)
                    }
                    byteCount += filled
                    checkWatermarks()
                }
                return result
            }
        }
    }

    /// One `writev` of up to ``maximumWriteSlices`` slices to `fd`; drains what was written. The owning thread.
    public func write(to fd: Int32) -> IOResult {
        guard count > 0 else { return .transferred(0) }
        let result = withUnsafeTemporaryAllocation(of: iovec.self, capacity: Self.maximumWriteSlices) { vectors in
            var vectorCount = 0
            for index in 0..<min(sliceCount, Self.maximumWriteSlices) {
                let slice = slot(index).pointee
                guard slice.length > 0 else { continue }
                vectors[vectorCount] = iovec(iov_base: slice.block + slice.start, iov_len: slice.length)
                vectorCount += 1
            }
            return Syscalls.writev(fd, vectors.baseAddress!, count: Int32(vectorCount))
        }
        if case .transferred(let written) = result { drain(written) }
        return result
    }

    // MARK: - Raw slice operations (no length accounting, no watermark checks)

    /// Copies `bytes` into the tail's free space, then into fresh slices.
    private func appendRaw(_ bytes: UnsafeRawBufferPointer) {
        guard var source = bytes.baseAddress else { return }
        var remaining = bytes.count
        if sliceCount > 0 {
            let tail = slot(sliceCount - 1)
            let room = min(tail.pointee.reservable, remaining)
            if room > 0 {
                (tail.pointee.block + tail.pointee.end).copyMemory(from: source, byteCount: room)
                tail.pointee.end += room
                source += room
                remaining -= room
            }
        }
        guard remaining > 0 else { return }
        while remaining > 0 {
            let block = SlicePool.withCurrent { $0.take() }
            let chunk = min(SlicePool.sliceSize, remaining)
            block.copyMemory(from: source, byteCount: chunk)
            pushBack(Slice(block: block, capacity: SlicePool.sliceSize, start: 0, end: chunk))
            source += chunk
            remaining -= chunk
        }
    }

    /// Removes `length` bytes (at most what the slices hold) from the front.
    private func dropFrontRaw(_ length: Int) {
        var remaining = length
        while remaining > 0, sliceCount > 0 {
            let front = slot(0)
            let available = front.pointee.length
            if available <= remaining {
                remaining -= available
                let slice = popFront()
                SlicePool.withCurrent { release(slice, to: $0) }
            } else {
                front.pointee.start += remaining
                remaining = 0
            }
        }
    }

    // MARK: - The slice ring

    @inline(__always)
    private func slot(_ index: Int) -> UnsafeMutablePointer<Slice> {
        ring + ((head &+ index) & (ringCapacity &- 1))
    }

    @inline(__always)
    private func pushBack(_ slice: Slice) {
        if sliceCount == ringCapacity { growRing() }
        slot(sliceCount).initialize(to: slice)
        sliceCount += 1
    }

    private func pushFront(_ slice: Slice) {
        if sliceCount == ringCapacity { growRing() }
        head = (head &- 1) & (ringCapacity &- 1)
        ring[head] = slice
        sliceCount += 1
    }

    @inline(__always)
    private func popFront() -> Slice {
        let slice = ring[head]
        head = (head &+ 1) & (ringCapacity &- 1)
        sliceCount -= 1
        return slice
    }

    private func growRing() {
        let newCapacity = ringCapacity == 0 ? 2 : ringCapacity * 2
        let newRing = UnsafeMutablePointer<Slice>.allocate(capacity: newCapacity)
        for index in 0..<sliceCount { (newRing + index).initialize(to: slot(index).pointee) }
        if ringCapacity > 0 { ring.deallocate() }
        ring = newRing
        ringCapacity = newCapacity
        head = 0
    }

    @inline(__always)
    private func release(_ slice: Slice, to pool: SlicePool) {
        if slice.isPooled { pool.give(slice.block) } else { slice.block.deallocate() }
    }

    private func releaseAllSlices() {
        guard sliceCount > 0 else { return }
        SlicePool.withCurrent { pool in
            while sliceCount > 0 { release(popFront(), to: pool) }
        }
        byteCount = 0
    }
}

@available(*, unavailable)
extension IOBuffer: Sendable {}
