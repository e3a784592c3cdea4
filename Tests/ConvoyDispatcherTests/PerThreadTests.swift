@testable import ConvoyDispatcher
import Glibc
import Testing

@Suite("PerThread")
struct PerThreadTests {
    final class Value {
        let madeBy = pthread_self()
    }

    /// What the other thread saw, read after `join`.
    final class Observed: @unchecked Sendable {
        var sameOnEveryRead = false
        var madeThere = false
        weak var value: Value?
    }

    static let values = PerThread { Value() }

    @Test func eachThreadGetsItsOwnValueReleasedWhenItExits() throws {
        let here = Self.values.current
        #expect(Self.values.current === here, "the same value on every read")
        #expect(here.madeBy == pthread_self())
        let observed = Observed()
        let thread = try PosixThread(name: "per-thread-test") {
            let value = Self.values.current
            observed.sameOnEveryRead = Self.values.current === value
            observed.madeThere = value.madeBy == pthread_self()
            observed.value = value
        }
        thread.join()
        #expect(observed.sameOnEveryRead)
        #expect(observed.madeThere, "made on first use, by the thread that asked")
        #expect(observed.value == nil, "released when its thread exited")
        #expect(Self.values.current === here, "this thread's value is untouched")
    }
}
