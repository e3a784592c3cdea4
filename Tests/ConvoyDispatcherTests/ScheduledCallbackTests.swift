import ConvoyDispatcher
import ConvoyTestSupport
import Testing

@Suite("ScheduledCallback")
struct ScheduledCallbackTests {
    @Test("current iteration runs in the same iteration; next iteration waits for the next one")
    func currentVersusNext() throws {
        let dispatcher = try Dispatcher(name: "scheduled")
        var ran: [String] = []
        let current = try ScheduledCallback(dispatcher: dispatcher) { ran.append("current") }
        let next = try ScheduledCallback(dispatcher: dispatcher) { ran.append("next") }
        let trigger = try ScheduledCallback(dispatcher: dispatcher) {
            ran.append("trigger")
            next.scheduleNextIteration()
            current.scheduleCurrentIteration()
        }
        trigger.scheduleCurrentIteration()
        dispatcher.run(.nonBlock)
        #expect(ran == ["trigger", "current"])
        #expect(next.isEnabled)
        dispatcher.run(.nonBlock)
        #expect(ran == ["trigger", "current", "next"])
        #expect(!next.isEnabled)
    }

    @Test("scheduling twice runs once; cancel() unschedules")
    func idempotentAndCancel() throws {
        let dispatcher = try Dispatcher(name: "scheduled-cancel")
        var runs = 0
        var cancelledRuns = 0
        let callback = try ScheduledCallback(dispatcher: dispatcher) { runs += 1 }
        let cancelled = try ScheduledCallback(dispatcher: dispatcher) { cancelledRuns += 1 }
        callback.scheduleCurrentIteration()
        callback.scheduleCurrentIteration()
        callback.scheduleNextIteration()
        cancelled.scheduleNextIteration()
        #expect(cancelled.isEnabled)
        cancelled.cancel()
        #expect(!cancelled.isEnabled)
        cancelled.cancel()
        dispatcher.run(.nonBlock)
        dispatcher.run(.nonBlock)
        #expect(runs == 1)
        #expect(cancelledRuns == 0)
    }

    @Test("rescheduled from its own callback it runs again in the next iteration")
    func rescheduleFromOwnCallback() throws {
        let dispatcher = try Dispatcher(name: "scheduled-again")
        var iterationsSeen: [UInt64] = []
        var callback: ScheduledCallback?
        callback = try ScheduledCallback(dispatcher: dispatcher) {
            iterationsSeen.append(dispatcher.stats.iterations)
            if iterationsSeen.count < 3 { callback?.scheduleNextIteration() }
        }
        callback?.scheduleNextIteration()
        dispatcher.run(.block)
        #expect(iterationsSeen == [1, 2, 3])
    }

    @Test("released inside its own callback")
    func releasedInsideCallback() throws {
        let dispatcher = try Dispatcher(name: "scheduled-free")
        var runs = 0
        var callback: ScheduledCallback?
        weak var weakCallback: ScheduledCallback?
        callback = try ScheduledCallback(dispatcher: dispatcher) {
            runs += 1
            callback?.scheduleNextIteration()
            callback = nil  // releasing a scheduled callback cancels it
        }
        weakCallback = callback
        callback?.scheduleCurrentIteration()
        dispatcher.run(.block)
        #expect(runs == 1)
        #expect(weakCallback == nil)
    }
}
