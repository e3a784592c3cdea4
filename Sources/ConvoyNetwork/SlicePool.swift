import ConvoyDispatcher
/// A per-thread free list of 16 KiB blocks, the storage of ``IOBuffer`` slices. Taking and giving
/// back blocks at steady state allocates nothing. Each thread has its own pool (found through a
/// thread-local slot, see PerThread), so no lock is involved; a block freed on another thread than the one that
/// allocated it simply joins that thread's pool.
final class SlicePool {
    /// The size of every slice block.
    static let sliceSize = 16_384
    /// Blocks kept per thread beyond which freed blocks go back to the allocator (4 MiB).
    static let maximumCached = 256

    // One thread only, never re-entered: no dynamic exclusivity checks on the hot path.
    @exclusivity(unchecked) private var blocks: [UnsafeMutableRawPointer] = []

    deinit {
        for block in blocks { block.deallocate() }
    }

    @inline(__always)
    func take() -> UnsafeMutableRawPointer {
        if let block = blocks.popLast() { return block }
        return UnsafeMutableRawPointer.allocate(byteCount: Self.sliceSize, alignment: 16)
    }

    @inline(__always)
    func give(_ block: UnsafeMutableRawPointer) {
        if blocks.count < Self.maximumCached {
            blocks.append(block)
        } else {
            block.deallocate()
        }
    }

    /// Calls `body` with the calling thread's pool, created on first use and freed when the
    /// thread exits; not retained for the call (the thread holds it).
    @inline(__always)
    static func withCurrent<Result>(_ body: (SlicePool) -> Result) -> Result {
        if let existing = perThreadValue(inSlot: slot) {
            return Unmanaged<SlicePool>.fromOpaque(existing)._withUnsafeGuaranteedRef(body)
        }
        return perThread.unretainedCurrent._withUnsafeGuaranteedRef(body)
    }

    private static let slot = 0  // a fixed PerThread slot: see PerThread.fixedSlots
    private static let perThread = PerThread(slot: slot) { SlicePool() }
}
