import ConvoyDispatcher
import ConvoyTestSupport
import Testing

@Suite("TimerEvent")
struct TimerEventTests {
    @Test("fires once when simulated time reaches the deadline, not before")
    func firesAtDeadline() throws {
        let clock = SimulatedTimeSource()
        let dispatcher = try Dispatcher(name: "timer", timeSource: clock)
        var fired = 0
        let timer = try TimerEvent(dispatcher: dispatcher) { fired += 1 }
        timer.enable(after: .seconds(5))
        #expect(timer.isEnabled)
        clock.advance(by: .seconds(4))
        dispatcher.run(.nonBlock)
        #expect(fired == 0)
        #expect(timer.isEnabled)
        clock.advance(by: .seconds(1))
        dispatcher.run(.nonBlock)
        #expect(fired == 1)
        #expect(!timer.isEnabled)
        clock.advance(by: .seconds(100))
        dispatcher.run(.nonBlock)
        #expect(fired == 1, "a one-shot timer fires once")
    }

    @Test("re-armed from inside its own callback, it fires again")
    func rearmInsideCallback() throws {
        let clock = SimulatedTimeSource()
        let dispatcher = try Dispatcher(name: "timer-rearm", timeSource: clock)
        var fired = 0
        var timer: TimerEvent?
        timer = try TimerEvent(dispatcher: dispatcher) {
            fired += 1
            #expect(timer?.isEnabled == false)
            timer?.enable(after: .seconds(1))
            #expect(timer?.isEnabled == true)
        }
        timer?.enable(after: .seconds(1))
        for expected in 1...3 {
            clock.advance(by: .seconds(1))
            dispatcher.run(.nonBlock)
            #expect(fired == expected)
        }
    }

    @Test("released inside its own callback, with a real clock")
    func releasedInsideCallback() throws {
        let dispatcher = try Dispatcher(name: "timer-free")
        var fired = 0
        var timer: TimerEvent?
        weak var weakTimer: TimerEvent?
        timer = try TimerEvent(dispatcher: dispatcher) {
            fired += 1
            timer = nil
        }
        weakTimer = timer
        timer?.enable(after: .milliseconds(1))
        dispatcher.run(.block)
        #expect(fired == 1)
        #expect(weakTimer == nil)
    }

    @Test("zero delay fires in the next iteration, never the current one")
    func zeroDelayFiresNextIteration() throws {
        let dispatcher = try Dispatcher(name: "timer-zero")
        var fired = 0
        let timer = try TimerEvent(dispatcher: dispatcher) { fired += 1 }
        let arm = try ScheduledCallback(dispatcher: dispatcher) { timer.enable(after: .zero) }
        arm.scheduleCurrentIteration()
        dispatcher.run(.nonBlock)
        #expect(fired == 0)
        #expect(timer.isEnabled)
        dispatcher.run(.nonBlock)
        #expect(fired == 1)
    }

    @Test("a timer re-arming itself with zero delay does not starve file events")
    func zeroDelayLoopDoesNotStarveIO() throws {
        let dispatcher = try Dispatcher(name: "timer-starve")
        let sockets = try SocketPair()
        var ticks = 0
        var readSeenAfterTicks: Int?
        var timer: TimerEvent?
        timer = try TimerEvent(dispatcher: dispatcher) {
            ticks += 1
            timer?.enable(after: .zero)
        }
        timer?.enable(after: .zero)
        let reader = try FileEvent(dispatcher: dispatcher, fileDescriptor: sockets.first, trigger: .edge, events: .read) { _ in
            readSeenAfterTicks = ticks
            dispatcher.exit()
        }
        SocketPair.write([42], to: sockets.second)
        let watchdog = try LoopWatchdog(dispatcher: dispatcher)
        dispatcher.run(.untilExit)
        #expect(!watchdog.fired)
        #expect(readSeenAfterTicks != nil)
        #expect((readSeenAfterTicks ?? .max) <= 2)
        withExtendedLifetime(reader) {}
    }

    @Test("negative delays count as zero; huge delays are clipped and stay armed")
    func clipping() throws {
        let clock = SimulatedTimeSource()
        let dispatcher = try Dispatcher(name: "timer-clip", timeSource: clock)
        var negativeFired = 0
        var hugeFired = 0
        let negative = try TimerEvent(dispatcher: dispatcher) { negativeFired += 1 }
        let huge = try TimerEvent(dispatcher: dispatcher) { hugeFired += 1 }
        negative.enable(after: .seconds(-10))
        huge.enable(after: .seconds(Int64.max))
        dispatcher.run(.nonBlock)
        #expect(negativeFired == 1)
        clock.advance(by: .seconds(86_400 * 365))
        dispatcher.run(.nonBlock)
        #expect(hugeFired == 0)
        #expect(huge.isEnabled)
        clock.advance(by: TimerEvent.maximumDelay)
        dispatcher.run(.nonBlock)
        #expect(hugeFired == 1)

        let realDispatcher = try Dispatcher(name: "timer-clip-real")
        let realHuge = try TimerEvent(dispatcher: realDispatcher) {}
        realHuge.enable(after: .seconds(Int64.max))
        realDispatcher.run(.nonBlock)
        #expect(realHuge.isEnabled)
    }

    @Test("disable() disarms; enabling again moves the deadline")
    func disableAndRearm() throws {
        let clock = SimulatedTimeSource()
        let dispatcher = try Dispatcher(name: "timer-disable", timeSource: clock)
        var fired = 0
        let timer = try TimerEvent(dispatcher: dispatcher) { fired += 1 }
        timer.enable(after: .seconds(1))
        timer.disable()
        #expect(!timer.isEnabled)
        timer.disable()  // a second disable is a no-op
        clock.advance(by: .seconds(2))
        dispatcher.run(.nonBlock)
        #expect(fired == 0)

        timer.enable(after: .seconds(5))
        clock.advance(by: .seconds(3))
        timer.enable(after: .seconds(5))  // deadline moves to +8 s from the start
        clock.advance(by: .seconds(3))
        dispatcher.run(.nonBlock)
        #expect(fired == 0)
        clock.advance(by: .seconds(2))
        dispatcher.run(.nonBlock)
        #expect(fired == 1)
    }

    @Test("due simulated timers fire in deadline order; one freed by an earlier callback never fires")
    func simulatedOrderAndFreeing() throws {
        let clock = SimulatedTimeSource()
        let dispatcher = try Dispatcher(name: "timer-order", timeSource: clock)
        var order: [String] = []
        var victim: TimerEvent?
        let late = try TimerEvent(dispatcher: dispatcher) { order.append("3s") }
        let early = try TimerEvent(dispatcher: dispatcher) {
            order.append("1s")
            victim = nil
        }
        let middle = try TimerEvent(dispatcher: dispatcher) { order.append("2s") }
        victim = try TimerEvent(dispatcher: dispatcher) { order.append("victim") }
        late.enable(after: .seconds(3))
        early.enable(after: .seconds(1))
        middle.enable(after: .seconds(2))
        victim?.enable(after: .seconds(2))
        clock.advance(by: .seconds(5))
        dispatcher.run(.nonBlock)
        #expect(order == ["1s", "2s", "3s"])
    }

    @Test("a real-clock timer wakes a blocked loop")
    func realClockTimerFires() throws {
        let dispatcher = try Dispatcher(name: "timer-real")
        let start = dispatcher.timeSource.now()
        var firedAt: MonotonicInstant?
        let timer = try TimerEvent(dispatcher: dispatcher) { firedAt = dispatcher.timeSource.now() }
        timer.enable(after: .milliseconds(20))
        dispatcher.run(.block)
        let fired = try #require(firedAt)
        #expect(fired - start >= .milliseconds(19))
    }
}
