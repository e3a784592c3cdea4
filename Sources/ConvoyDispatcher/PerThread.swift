#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
internal import CLibevent

/// One `Value` per thread, made on first use there and released when the thread exits. For the
/// per-thread free lists of the hot paths (slices, header storage). Any thread.
///
/// The value is found in a C thread-local array (``convoy_thread_slots``), a few instructions
/// with no call and no lock; a pthread key only releases it when its thread exits.
package final class PerThread<Value: AnyObject>: @unchecked Sendable {
    // Thread-safety: `key`, `slot` and `make` are immutable; each thread only sees its own value.
    private let key: pthread_key_t
    private let slot: Int
    private let make: @Sendable () -> Value

    /// Slots below this are fixed ones (``init(slot:_:)``), read with ``perThreadValue(inSlot:)``.
    package static var fixedSlots: Int { 2 }

    /// A per-thread slot filled by `make`: fixed slot `slot` (below ``fixedSlots``, one instance
    /// each), or the next free one. At most `CONVOY_THREAD_SLOTS` (8) may exist in a process;
    /// they are meant to be `static let`s. Any thread.
    package init(slot fixed: Int? = nil, _ make: @escaping @Sendable () -> Value) {
        if let fixed {
            precondition(fixed >= 0 && fixed < Self.fixedSlots, "PerThread: fixed slot \(fixed) out of range")
            let bit = 1 << fixed
            precondition(perThreadFixedSlotsTaken.bitwiseOr(bit, ordering: .relaxed).oldValue & bit == 0, "PerThread: fixed slot \(fixed) taken twice")
            slot = fixed
        } else {
            slot = Self.fixedSlots + perThreadSlotCounter.add(1, ordering: .relaxed).oldValue
        }
        precondition(slot < Int(CONVOY_THREAD_SLOTS), "PerThread: more than \(CONVOY_THREAD_SLOTS) per-thread slots")
        var key = pthread_key_t()
        let result = pthread_key_create(&key) { value in
            guard let value else { return }
            // Forget the value before releasing it: a destructor that runs later on this thread
            // and asks for it again gets a new one (and a later pass releases that).
            let slots = convoy_thread_slots()!
            for index in 0..<Int(CONVOY_THREAD_SLOTS) where slots[index] == value { slots[index] = nil }
            Unmanaged<AnyObject>.fromOpaque(value).release()
        }
        precondition(result == 0, "pthread_key_create failed (\(result))")
        self.key = key
        self.make = make
    }

    /// The calling thread's value. Any thread.
    package var current: Value { unretainedCurrent.takeUnretainedValue() }

    /// The calling thread's value without a retain: the slot holds it until the thread exits,
    /// so `_withUnsafeGuaranteedRef` may use it for free. Any thread.
    package var unretainedCurrent: Unmanaged<Value> {
        if let existing = convoy_thread_slots()![slot] { return Unmanaged<Value>.fromOpaque(existing) }
        return makeCurrent()
    }

    private func makeCurrent() -> Unmanaged<Value> {
        let value = Unmanaged.passRetained(make())
        convoy_thread_slots()![slot] = value.toOpaque()
        pthread_setspecific(key, value.toOpaque())
        return value
    }
}

/// The calling thread's value in fixed ``PerThread`` slot `slot` (unretained), if it was made.
/// No instance is needed, so a caller's fast path does not touch the lazily made `static let`
/// holding the ``PerThread``; a plain function, so it costs no generic metadata. Any thread.
package func perThreadValue(inSlot slot: Int) -> UnsafeMutableRawPointer? {
    convoy_thread_slots()![slot]
}

/// Slots handed out to ``PerThread`` instances, process-wide.
private let perThreadSlotCounter = Atomic<Int>(0)
/// Fixed slots taken, a bit each.
private let perThreadFixedSlotsTaken = Atomic<Int>(0)
