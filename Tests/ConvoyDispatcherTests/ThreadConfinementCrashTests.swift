import ConvoyDispatcher
import ConvoyTestSupport
import Testing

/// Each test runs its body in a child process (an exit test) and expects it to trap with a
/// message that names the misused call and the dispatcher.
@Suite("Thread confinement traps")
struct ThreadConfinementCrashTests {
    @Test("TimerEvent.enable(after:) from another thread traps")
    func timerOffThread() async throws {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let dispatcher = try Dispatcher(name: "confined")
            let timer = UncheckedSendableBox(try TimerEvent(dispatcher: dispatcher) {})
            dispatcher.run(.nonBlock)  // binds the dispatcher to this thread
            try PosixThread(name: "intruder") { timer.value.enable(after: .seconds(1)) }.join()
        }
        let message = String(decoding: try #require(result).standardErrorContent, as: UTF8.self)
        #expect(message.contains("TimerEvent.enable(after:) called off the thread of dispatcher 'confined'"))
    }

    @Test("DispatcherBound.value read from another thread traps")
    func boundValueOffThread() async throws {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            final class Counter { var count = 0 }
            let dispatcher = try Dispatcher(name: "bound")
            let bound = DispatcherBound(Counter(), dispatcher: dispatcher)
            dispatcher.run(.nonBlock)
            try PosixThread(name: "intruder") { _ = bound.value.count }.join()
        }
        let message = String(decoding: try #require(result).standardErrorContent, as: UTF8.self)
        #expect(message.contains("DispatcherBound.value (get) called off the thread of dispatcher 'bound'"))
    }

    @Test("DispatcherBound.sync runs on the dispatcher's thread and returns its answer; on that thread itself it traps")
    func boundSync() async throws {
        final class Counter { var count = 0 }
        let dispatcher = try Dispatcher(name: "sync")
        let bound = DispatcherBound(Counter(), dispatcher: dispatcher)
        let loop = try PosixThread(name: "sync_loop") { dispatcher.run(.untilExit) }
        let answers = (1...3).map { _ in bound.sync { counter -> Int in counter.count += 1; return counter.count } }
        let onLoop = bound.sync { _ in dispatcher.isThreadSafe }
        dispatcher.exit()
        loop.join()
        #expect(answers == [1, 2, 3] && onLoop)

        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let dispatcher = try Dispatcher(name: "self")
            let bound = DispatcherBound(0, dispatcher: dispatcher)
            dispatcher.post { _ = bound.sync { $0 } }
            dispatcher.run(.nonBlock)
        }
        let message = String(decoding: try #require(result).standardErrorContent, as: UTF8.self)
        #expect(message.contains("DispatcherBound.sync called on 'self''s own thread"))
    }

    @Test("FileEvent.activate(_:) from another thread traps")
    func fileEventOffThread() async throws {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let dispatcher = try Dispatcher(name: "files")
            let sockets = try SocketPair()
            let event = UncheckedSendableBox(
                try FileEvent(dispatcher: dispatcher, fileDescriptor: sockets.first, trigger: .edge, events: .read) { _ in })
            dispatcher.run(.nonBlock)
            try PosixThread(name: "intruder") { event.value.activate(.read) }.join()
        }
        let message = String(decoding: try #require(result).standardErrorContent, as: UTF8.self)
        #expect(message.contains("FileEvent.activate(_:) called off the thread of dispatcher 'files'"))
    }

    @Test("run(_:) from a second thread traps")
    func runFromSecondThread() async throws {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let dispatcher = try Dispatcher(name: "runner")
            dispatcher.run(.nonBlock)
            try PosixThread(name: "intruder") { dispatcher.run(.nonBlock) }.join()
        }
        let message = String(decoding: try #require(result).standardErrorContent, as: UTF8.self)
        #expect(message.contains("Dispatcher 'runner': run(_:) called on a thread other than the one that ran it before"))
    }

    @Test("deferredDelete(_:) from another thread traps")
    func deferredDeleteOffThread() async throws {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            final class Doomed: DeferredDeletable {}
            let dispatcher = try Dispatcher(name: "deleter")
            dispatcher.run(.nonBlock)
            try PosixThread(name: "intruder") { dispatcher.deferredDelete(Doomed()) }.join()
        }
        let message = String(decoding: try #require(result).standardErrorContent, as: UTF8.self)
        #expect(message.contains("Dispatcher 'deleter': deferredDelete(_:) called off its thread"))
    }
}
