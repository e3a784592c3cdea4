import ConvoyDispatcher
import ConvoyTestSupport
import Testing

@Suite("DeadlineTimer")
struct DeadlineTimerTests {
    private func withSimulatedDispatcher(_ body: (Dispatcher, SimulatedTimeSource) throws -> Void) throws {
        let clock = SimulatedTimeSource()
        let dispatcher = try Dispatcher(name: "deadline", timeSource: clock)
        try body(dispatcher, clock)
    }

    @Test("fires once at its deadline, not before")
    func firesAtDeadline() throws {
        try withSimulatedDispatcher { dispatcher, clock in
            var fired = 0
            let timer = try DeadlineTimer(dispatcher: dispatcher) { fired += 1 }
            timer.enable(after: .seconds(60))
            #expect(timer.isEnabled)
            clock.advance(by: .seconds(59))
            dispatcher.run(.nonBlock)
            #expect(fired == 0)
            clock.advance(by: .seconds(1))
            dispatcher.run(.nonBlock)
            #expect(fired == 1 && !timer.isEnabled)
            clock.advance(by: .seconds(600))
            dispatcher.run(.nonBlock)
            #expect(fired == 1, "one shot")
        }
    }

    @Test("a deadline pushed back fires at the new deadline; disabled never fires")
    func pushedBackAndDisabled() throws {
        try withSimulatedDispatcher { dispatcher, clock in
            var fired: [UInt64] = []
            let timer = try DeadlineTimer(dispatcher: dispatcher) { fired.append(dispatcher.approximateMonotonicTime.nanoseconds / 1_000_000_000) }
            let start = dispatcher.approximateMonotonicTime.nanoseconds / 1_000_000_000
            timer.enable(after: .seconds(10))
            for _ in 0..<5 {  // moved 8 s later five times: due at start + 50
                clock.advance(by: .seconds(8))
                dispatcher.run(.nonBlock)
                timer.enable(after: .seconds(10))
            }
            #expect(fired.isEmpty)
            clock.advance(by: .seconds(9))
            dispatcher.run(.nonBlock)
            #expect(fired.isEmpty)
            clock.advance(by: .seconds(1))
            dispatcher.run(.nonBlock)
            dispatcher.run(.nonBlock)
            #expect(fired == [start + 50])

            timer.enable(after: .seconds(5))
            timer.disable()
            #expect(!timer.isEnabled)
            clock.advance(by: .seconds(100))
            dispatcher.run(.nonBlock)
            #expect(fired.count == 1)
        }
    }

    @Test("a deadline moved earlier fires at the earlier time; re-enabled inside its callback")
    func movedEarlierAndRearmedInCallback() throws {
        try withSimulatedDispatcher { dispatcher, clock in
            var fired = 0
            var timer: DeadlineTimer?
            timer = try DeadlineTimer(dispatcher: dispatcher) {
                fired += 1
                if fired == 1 { timer?.enable(after: .seconds(3)) }
            }
            timer?.enable(after: .seconds(100))
            timer?.enable(after: .seconds(2))
            clock.advance(by: .seconds(2))
            dispatcher.run(.nonBlock)
            #expect(fired == 1 && timer?.isEnabled == true)
            clock.advance(by: .seconds(3))
            dispatcher.run(.nonBlock)
            #expect(fired == 2 && timer?.isEnabled == false)
            timer = nil
        }
    }

    @Test("on the real clock: fires after a short deadline")
    func realClock() throws {
        let dispatcher = try Dispatcher(name: "deadline-real")
        var fired = false
        let timer = try DeadlineTimer(dispatcher: dispatcher) {
            fired = true
            dispatcher.exit()
        }
        let start = dispatcher.approximateMonotonicTime
        timer.enable(after: .milliseconds(20))
        dispatcher.run(.untilExit)
        dispatcher.updateApproximateMonotonicTime()
        #expect(fired)
        #expect(dispatcher.approximateMonotonicTime - start >= .milliseconds(20), "never early")
    }
}
