@testable import ConvoyDispatcher
import ConvoyTestSupport
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

    @Test func workQueuedByAReadyDescriptorsCallbackRunsBeforeTheNextDescriptorIsHandled() throws {
        let dispatcher = try Dispatcher(name: "iteration-end-per-event")
        let log = Log()
        let (events, pairs) = try twoEventsQueuingWork(dispatcher, log, interest: .read)
        for pair in pairs { SocketPair.write([1], to: pair.second) }
        dispatcher.run(.nonBlock)  // both descriptors are ready in this one iteration
        let first = log.entries.first { $0.hasPrefix("work") } ?? "none"
        let second = first == "work 0" ? "work 1" : "work 0"
        #expect(log.entries == ["callback", first, "callback", second], "like nginx's writes: each event's work goes before the next event")
        withExtendedLifetime((events, pairs)) {}
    }

    @Test func injectedReadinessIsHandledLikeKernelReadiness() throws {
        let dispatcher = try Dispatcher(name: "iteration-end-injected")
        let log = Log()
        let (events, pairs) = try twoEventsQueuingWork(dispatcher, log, interest: [])
        for event in events { event.activate(.read) }  // delivered in the next iteration
        dispatcher.run(.nonBlock)
        dispatcher.run(.nonBlock)
        #expect(log.entries.count == 4)
        #expect(log.entries.enumerated().allSatisfy { $0.offset % 2 == 0 ? $0.element == "callback" : $0.element.hasPrefix("work") },
                "each activated event's work goes before the next event: \(log.entries)")
        withExtendedLifetime((events, pairs)) {}
    }

    /// Two socket pairs, each with a file event whose callback logs and queues its own work.
    private func twoEventsQueuingWork(_ dispatcher: Dispatcher, _ log: Log, interest: FileReadyType) throws -> ([FileEvent], [SocketPair]) {
        let pairs = [try SocketPair(), try SocketPair()]
        let events = try pairs.enumerated().map { index, pair in
            let work = Work("work \(index)", log)
            return try FileEvent(dispatcher: dispatcher, fileDescriptor: pair.first, trigger: .edge, events: interest) { _ in
                log.entries.append("callback")
                dispatcher.runAtIterationEnd(work)
            }
        }
        return (events, pairs)
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
