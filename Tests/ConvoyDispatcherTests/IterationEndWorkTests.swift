@testable import ConvoyDispatcher
import Testing

@Suite("Dispatcher.runAtIterationEnd")
struct IterationEndWorkTests {
    final class Log {
        var entries: [String] = []
    }

    final class Work: IterationEndWork {
        let name: String
        let log: Log
        var then: (() -> Void)?
        init(_ name: String, _ log: Log) {
            self.name = name
            self.log = log
        }
        func runAtIterationEnd() {
            log.entries.append(name)
            then?()
        }
    }

    @Test func queuedWorkRunsAfterTheIterationsCallbacksAndBeforeTheLoopReturns() throws {
        let dispatcher = try Dispatcher(name: "iteration-end")
        let log = Log()
        let first = Work("work 1", log), second = Work("work 2", log), chained = Work("chained", log)
        first.then = { dispatcher.runAtIterationEnd(chained) }  // queued while the queue runs
        let a = try ScheduledCallback(dispatcher: dispatcher) {
            log.entries.append("callback a")
            dispatcher.runAtIterationEnd(first)
        }
        let b = try ScheduledCallback(dispatcher: dispatcher) {
            log.entries.append("callback b")
            dispatcher.runAtIterationEnd(second)
        }
        a.scheduleCurrentIteration()
        b.scheduleCurrentIteration()
        dispatcher.run(.nonBlock)
        #expect(log.entries == ["callback a", "callback b", "work 1", "work 2", "chained"])
    }

    @Test func workQueuedOutsideTheLoopRunsInItsNextIterationEvenWithNothingReady() throws {
        let dispatcher = try Dispatcher(name: "iteration-end-outside")
        let log = Log()
        dispatcher.runAtIterationEnd(Work("outside", log))
        #expect(log.entries.isEmpty, "nothing runs before the loop does")
        dispatcher.run(.block)  // nothing registered: returns after one iteration that does not wait
        #expect(log.entries == ["outside"])
        dispatcher.run(.nonBlock)
        #expect(log.entries == ["outside"], "each queuing runs once")
    }
}
