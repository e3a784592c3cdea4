import ConvoyDispatcher

#if canImport(Glibc)
import Glibc
#endif

/// The Swift halves of the benchmark workloads. Each mirrors the C function of the same name in
/// LibeventBaseline operation for operation, and returns a count so the work cannot be optimised
/// away. Every function creates its own dispatcher and runs it on the calling thread.
public enum DispatcherWorkloads {
    private final class Counter: @unchecked Sendable {
        var value = 0
    }

    private final class Doomed: DeferredDeletable {
        var payload: (Int, Int, Int, Int) = (0, 0, 0, 0)
    }

    /// `count` posts from the dispatcher's own thread, each bumping a counter; one loop iteration
    /// every `batch` posts.
    public static func postLocal(count: Int, batch: Int) throws -> Int {
        let dispatcher = try Dispatcher(name: "post-local")
        let counter = Counter()
        for index in 0..<count {
            dispatcher.post { counter.value += 1 }
            if (index + 1) % batch == 0 { dispatcher.run(.nonBlock) }
        }
        dispatcher.run(.nonBlock)
        return counter.value
    }

    private final class ProducerState: @unchecked Sendable {
        let dispatcher: Dispatcher
        let total: Int
        var ran = 0
        init(dispatcher: Dispatcher, total: Int) {
            self.dispatcher = dispatcher
            self.total = total
        }
    }

    /// `producers` threads post `perProducer` tasks each; the calling thread runs the loop until
    /// every task ran. Each task captures one reference, so posting it allocates nothing.
    public static func postThreads(producers: Int, perProducer: Int) throws -> Int {
        let dispatcher = try Dispatcher(name: "post-threads")
        let state = ProducerState(dispatcher: dispatcher, total: producers * perProducer)
        var threads: [PosixThread] = []
        for _ in 0..<producers {
            threads.append(try PosixThread(name: "producer") {
                for _ in 0..<perProducer {
                    state.dispatcher.post {
                        state.ran += 1
                        if state.ran == state.total { state.dispatcher.exit() }
                    }
                }
            })
        }
        dispatcher.run(.untilExit)
        for thread in threads { thread.join() }
        return state.ran
    }

    /// `count` times: arm a 1 s timer, disarm it.
    public static func timerChurn(count: Int) throws -> Int {
        let dispatcher = try Dispatcher(name: "timer-churn")
        let timer = try TimerEvent(dispatcher: dispatcher) {}
        var done = 0
        for _ in 0..<count {
            timer.enable(after: .seconds(1))
            timer.disable()
            done += 1
        }
        return done
    }

    /// `count` times: inject read readiness into a FileEvent, run one iteration, see the callback.
    public static func activateRoundTrips(count: Int) throws -> Int {
        let dispatcher = try Dispatcher(name: "activate")
        var fds: [Int32] = [-1, -1]
        socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds)
        defer { close(fds[0]); close(fds[1]) }
        var seen = 0
        let event = try FileEvent(dispatcher: dispatcher, fileDescriptor: fds[0], trigger: .edge, events: .read) { _ in
            seen += 1
        }
        for _ in 0..<count {
            event.activate(.read)
            dispatcher.run(.nonBlock)
        }
        return seen
    }

    /// `count` one-byte round trips over a socketpair, both ends watched by edge-triggered
    /// FileEvents. The workload's own state lives in one buffer, like the C version's struct, so
    /// that what is measured is the dispatcher and not closure-captured variables.
    public static func pingPong(count: Int) throws -> Int {
        let dispatcher = try Dispatcher(name: "ping-pong")
        var fds: [Int32] = [-1, -1]
        socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds)
        defer { close(fds[0]); close(fds[1]) }
        for fd in fds { _ = fcntl(fd, F_SETFL, O_NONBLOCK) }
        let near = fds[0]
        let far = fds[1]
        let completed = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        completed.initialize(to: 0)
        let byte = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        byte.initialize(to: 0x78)
        defer {
            completed.deallocate()
            byte.deallocate()
        }
        let nearEvent = try FileEvent(dispatcher: dispatcher, fileDescriptor: near, trigger: .edge, events: .read) { _ in
            while read(near, byte, 1) == 1 {
                completed.pointee += 1
                if completed.pointee == count {
                    dispatcher.exit()
                    return
                }
                _ = write(near, byte, 1)
            }
        }
        let farEvent = try FileEvent(dispatcher: dispatcher, fileDescriptor: far, trigger: .edge, events: .read) { _ in
            while read(far, byte, 1) == 1 { _ = write(far, byte, 1) }
        }
        if count > 0 {
            _ = write(near, byte, 1)
            dispatcher.run(.block)
        }
        withExtendedLifetime((nearEvent, farEvent)) {}
        return completed.pointee
    }

    /// `count` times: create a 32-byte object and defer its deletion; one iteration every `batch`
    /// objects releases them FIFO.
    public static func deferredDeleteChurn(count: Int, batch: Int) throws -> Int {
        let dispatcher = try Dispatcher(name: "deferred")
        for index in 0..<count {
            dispatcher.deferredDelete(Doomed())
            if (index + 1) % batch == 0 { dispatcher.run(.nonBlock) }
        }
        dispatcher.run(.nonBlock)
        return Int(dispatcher.stats.deferredDeletions)
    }

    /// The floor under `deferredDeleteChurn`: the same objects created and released in the same
    /// batches with no dispatcher at all, so what remains is the Swift runtime's object lifetime
    /// (allocate, initialise, release, deinit, deallocate) and malloc.
    public static func objectLifetime(count: Int, batch: Int) -> Int {
        let slots = UnsafeMutablePointer<Doomed>.allocate(capacity: batch)
        defer { slots.deallocate() }
        var filled = 0
        var released = 0
        func releaseAll() {
            for index in 0..<filled { _ = (slots + index).move() }
            released += filled
            filled = 0
        }
        for _ in 0..<count {
            (slots + filled).initialize(to: Doomed())
            filled += 1
            if filled == batch { releaseAll() }
        }
        releaseAll()
        return released
    }
}
