import ConvoyDispatcher
import ConvoyTestSupport
import Dispatch
import Testing

@Suite("Dispatcher run modes, exit and thread identity")
struct DispatcherRunTests {
    @Test("run(.block) returns at once when nothing is registered")
    func blockReturnsWhenEmpty() throws {
        let dispatcher = try Dispatcher(name: "empty")
        dispatcher.run(.block)
        #expect(dispatcher.stats.iterations == 1)
    }

    @Test("run(.block) keeps looping while a timer is armed and returns once it has fired")
    func blockRunsUntilTheLastTimerFired() throws {
        let dispatcher = try Dispatcher(name: "block")
        var fired = 0
        let timer = try TimerEvent(dispatcher: dispatcher) { fired += 1 }
        timer.enable(after: .milliseconds(5))
        dispatcher.run(.block)
        #expect(fired == 1)
        #expect(!timer.isEnabled)
    }

    @Test("run(.nonBlock) returns when nothing is ready, without running pending work")
    func nonBlockReturnsWhenNothingIsReady() throws {
        let dispatcher = try Dispatcher(name: "nonblock")
        let sockets = try SocketPair()
        var timerFired = false
        var readReady = 0
        let timer = try TimerEvent(dispatcher: dispatcher) { timerFired = true }
        timer.enable(after: .seconds(3600))
        let fileEvent = try FileEvent(dispatcher: dispatcher, fileDescriptor: sockets.first, trigger: .edge, events: .read) { _ in
            readReady += 1
        }
        dispatcher.run(.nonBlock)
        dispatcher.run(.nonBlock)
        #expect(!timerFired)
        #expect(readReady == 0)
        #expect(timer.isEnabled)
        #expect(dispatcher.stats.iterations == 2)
        withExtendedLifetime(fileEvent) {}
    }

    @Test("run(.nonBlock) runs what is ready now")
    func nonBlockRunsReadyWork() throws {
        let dispatcher = try Dispatcher(name: "nonblock-ready")
        let sockets = try SocketPair()
        var ready: [FileReadyType] = []
        let fileEvent = try FileEvent(dispatcher: dispatcher, fileDescriptor: sockets.first, trigger: .edge, events: .read) {
            ready.append($0)
        }
        SocketPair.write([1, 2, 3], to: sockets.second)
        dispatcher.run(.nonBlock)
        #expect(ready == [.read])
        withExtendedLifetime(fileEvent) {}
    }

    @Test("exit() from another thread stops run(.untilExit) blocked with nothing registered")
    func exitFromAnotherThread() throws {
        let dispatcher = try Dispatcher(name: "exit-remote")
        let started = DispatchSemaphore(value: 0)
        dispatcher.post { started.signal() }
        let stopper = try PosixThread(name: "stopper") {
            started.wait()
            dispatcher.exit()
        }
        let watchdog = try LoopWatchdog(dispatcher: dispatcher)
        watchdog.cancel()  // nothing registered at all: only exit() can end run(.untilExit)
        dispatcher.run(.untilExit)
        stopper.join()
        #expect(!watchdog.fired)
        #expect(dispatcher.stats.postedTasksRun == 1)
    }

    @Test("exit() before run makes the next run return after its first iteration")
    func exitBeforeRun() throws {
        let dispatcher = try Dispatcher(name: "exit-early")
        dispatcher.exit()
        dispatcher.run(.untilExit)
        #expect(dispatcher.stats.iterations == 1)
        // The request is consumed: a later run(.nonBlock) is an ordinary single iteration.
        dispatcher.run(.nonBlock)
        #expect(dispatcher.stats.iterations == 2)
    }

    @Test("exit() from a callback finishes the current iteration, then run returns")
    func exitFromCallbackFinishesIteration() throws {
        let dispatcher = try Dispatcher(name: "exit-local")
        var ran: [String] = []
        let second = try ScheduledCallback(dispatcher: dispatcher) { ran.append("second") }
        let first = try ScheduledCallback(dispatcher: dispatcher) {
            ran.append("first")
            dispatcher.exit()
            second.scheduleCurrentIteration()
        }
        first.scheduleNextIteration()
        let watchdog = try LoopWatchdog(dispatcher: dispatcher)
        dispatcher.run(.untilExit)
        #expect(ran == ["first", "second"])
        #expect(!watchdog.fired)
    }

    @Test("isThreadSafe: any thread before the first run, then only the loop thread")
    func threadIdentity() throws {
        let dispatcher = try Dispatcher(name: "identity")
        let beforeRun = Locked<Bool?>(nil)
        try PosixThread(name: "probe") { beforeRun.withLock { $0 = dispatcher.isThreadSafe } }.join()
        #expect(beforeRun.value == true)

        var insideRun = false
        dispatcher.post { }  // gives run(.nonBlock) something to do
        let probe = try ScheduledCallback(dispatcher: dispatcher) { insideRun = dispatcher.isThreadSafe }
        probe.scheduleCurrentIteration()
        dispatcher.run(.nonBlock)
        #expect(insideRun)
        #expect(dispatcher.isThreadSafe)

        let afterRun = Locked<Bool?>(nil)
        try PosixThread(name: "probe") { afterRun.withLock { $0 = dispatcher.isThreadSafe } }.join()
        #expect(afterRun.value == false)
        #expect(dispatcher.name == "identity")
    }

    @Test("approximateMonotonicTime is read once per iteration and moves between iterations")
    func approximateTimeIsCachedPerIteration() throws {
        let clock = SimulatedTimeSource()
        let dispatcher = try Dispatcher(name: "time", timeSource: clock)
        var samples: [(MonotonicInstant, MonotonicInstant)] = []
        var probe: ScheduledCallback?
        probe = try ScheduledCallback(dispatcher: dispatcher) {
            let before = dispatcher.approximateMonotonicTime
            clock.advance(by: .seconds(1))
            samples.append((before, dispatcher.approximateMonotonicTime))
            if samples.count < 2 { probe?.scheduleNextIteration() }
        }
        probe?.scheduleNextIteration()
        dispatcher.run(.nonBlock)
        dispatcher.run(.nonBlock)
        try #require(samples.count == 2)
        #expect(samples[0].0 == samples[0].1, "the cached time must not move inside one iteration")
        #expect(samples[1].0 == samples[0].0 + .seconds(1), "the next iteration sees the advanced clock")
        dispatcher.updateApproximateMonotonicTime()
        #expect(dispatcher.approximateMonotonicTime == clock.now())
    }

    @Test("stats count iterations, posted tasks and deferred deletions")
    func statsCount() throws {
        final class Doomed: DeferredDeletable {}
        let dispatcher = try Dispatcher(name: "stats")
        for _ in 0..<5 { dispatcher.post {} }
        dispatcher.deferredDelete(Doomed())
        dispatcher.deferredDelete(Doomed())
        dispatcher.run(.nonBlock)
        #expect(dispatcher.stats.postedTasksRun == 5)
        #expect(dispatcher.stats.deferredDeletions == 2)
        #expect(dispatcher.stats.iterations == 1)
    }
}
