#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One `Value` per thread, made on first use there and released when the thread exits; found
/// through a pthread key, so no lock is involved. For the per-thread free lists of the hot paths
/// (slices, header storage). Any thread.
package final class PerThread<Value: AnyObject>: @unchecked Sendable {
    // Thread-safety: `key` and `make` are immutable; each thread only sees its own value.
    private let key: pthread_key_t
    private let make: @Sendable () -> Value

    /// A per-thread slot filled by `make`. Any thread.
    package init(_ make: @escaping @Sendable () -> Value) {
        var key = pthread_key_t()
        let result = pthread_key_create(&key) { value in
            if let value { Unmanaged<AnyObject>.fromOpaque(value).release() }
        }
        precondition(result == 0, "pthread_key_create failed (\(result))")
        self.key = key
        self.make = make
    }

    /// The calling thread's value. Any thread.
    @inline(__always)
    package var current: Value {
        if let existing = pthread_getspecific(key) {
            return Unmanaged<Value>.fromOpaque(existing).takeUnretainedValue()
        }
        let value = make()
        pthread_setspecific(key, Unmanaged.passRetained(value).toOpaque())
        return value
    }
}
