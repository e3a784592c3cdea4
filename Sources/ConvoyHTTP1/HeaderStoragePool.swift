import ConvoyDispatcher
import ConvoyNetwork
/// A per-thread free list of ``HeaderStorage``: parsers take one when a message head starts and
/// give it back when their connection goes idle, so thousands of idle keep-alive connections hold
/// no head storage, and a busy connection reuses the same few blocks without allocating. Found
/// through a thread-local slot (PerThread), so no lock is involved.
final class HeaderStoragePool {
    /// Storages kept per thread; more are freed.
    static let maximumCached = 64
    /// Storages grown past this many bytes (a huge head) are freed rather than kept.
    static let maximumPooledBytes = 8192

    /// Stands for "no storage" in an idle parser. Never written: parsers replace it with a pooled
    /// storage before the first byte of a head, and never give it back to a pool.
    nonisolated(unsafe) static let placeholder = HeaderStorage(byteCapacity: 64, fieldCapacity: 4)

    // One thread only, never re-entered: no dynamic exclusivity checks on the hot path.
    @exclusivity(unchecked) private var storages: [HeaderStorage] = []

    @inline(__always)
    func take() -> HeaderStorage {
        if let storage = storages.popLast() {
            storage.reset()
            return storage
        }
        return HeaderStorage()
    }

    /// Keeps `storage` for reuse; the caller must hold the only reference.
    @inline(__always)
    func give(_ storage: HeaderStorage) {
        if storages.count < Self.maximumCached, storage.byteCapacity <= Self.maximumPooledBytes {
            storages.append(storage)
        }
    }

    /// Calls `body` with the calling thread's pool, created on first use and freed when the
    /// thread exits; not retained for the call (the thread holds it).
    @inline(__always)
    static func withCurrent<Result>(_ body: (HeaderStoragePool) -> Result) -> Result {
        if let existing = perThreadValue(inSlot: slot) {
            return Unmanaged<HeaderStoragePool>.fromOpaque(existing)._withUnsafeGuaranteedRef(body)
        }
        return perThread.unretainedCurrent._withUnsafeGuaranteedRef(body)
    }

    private static let slot = 1  // a fixed PerThread slot: see PerThread.fixedSlots
    private static let perThread = PerThread(slot: slot) { HeaderStoragePool() }
}
