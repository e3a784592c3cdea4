import ConvoyDispatcher
import ConvoyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Signals are process-wide: these tests must not overlap with each other.
@Suite("SignalEvent", .serialized)
struct SignalEventTests {
    @Test("SIGUSR1 raised by the process is delivered on the dispatcher's thread")
    func sigusr1Delivered() throws {
        let dispatcher = try Dispatcher(name: "signals")
        var deliveries = 0
        var onLoopThread = false
        let signalEvent = try SignalEvent(dispatcher: dispatcher, signal: SIGUSR1) {
            deliveries += 1
            onLoopThread = dispatcher.isThreadSafe
            dispatcher.exit()
        }
        #expect(signalEvent.signalNumber == SIGUSR1)
        let watchdog = try LoopWatchdog(dispatcher: dispatcher)
        kill(getpid(), SIGUSR1)
        dispatcher.run(.untilExit)
        #expect(!watchdog.fired)
        #expect(deliveries == 1)
        #expect(onLoopThread)
    }

    @Test("SIGHUP sent from another thread wakes a blocked loop; every delivery runs the callback")
    func signalFromAnotherThread() throws {
        let dispatcher = try Dispatcher(name: "signals-remote")
        var deliveries = 0
        let hangup = try SignalEvent(dispatcher: dispatcher, signal: SIGHUP) {
            deliveries += 1
            if deliveries == 2 { dispatcher.exit() } else { kill(getpid(), SIGHUP) }
        }
        let watchdog = try LoopWatchdog(dispatcher: dispatcher)
        let sender = try PosixThread(name: "sender") { kill(getpid(), SIGHUP) }
        dispatcher.run(.untilExit)
        sender.join()
        #expect(!watchdog.fired)
        #expect(deliveries == 2)
        withExtendedLifetime(hangup) {}
    }

    @Test("only one dispatcher handles signals at a time; ownership ends with its last SignalEvent")
    func singleOwner() throws {
        let owner = try Dispatcher(name: "owner")
        let other = try Dispatcher(name: "other")
        var first: SignalEvent? = try SignalEvent(dispatcher: owner, signal: SIGUSR2) {}
        var second: SignalEvent? = try SignalEvent(dispatcher: owner, signal: SIGHUP) {}
        #expect(throws: DispatcherError.signalsHandledByAnotherDispatcher(owner: "owner")) {
            _ = try SignalEvent(dispatcher: other, signal: SIGUSR2) {}
        }
        first = nil
        #expect(throws: DispatcherError.signalsHandledByAnotherDispatcher(owner: "owner")) {
            _ = try SignalEvent(dispatcher: other, signal: SIGUSR2) {}
        }
        second = nil
        let moved = try SignalEvent(dispatcher: other, signal: SIGUSR2) {}
        #expect(moved.dispatcher === other)
        withExtendedLifetime((first, second)) {}
    }
}
