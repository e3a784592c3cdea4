import ConvoyDispatcher
import ConvoyTestSupport
import Testing

/// Collects what posted tasks observed; only touched on the dispatcher's thread.
private final class PostLog {
    var entries: [String] = []
}

@Suite("Dispatcher.post")
struct PostTests {
    @Test("posted tasks run once, in FIFO order, including ones posted before run")
    func fifoOrder() throws {
        let dispatcher = try Dispatcher(name: "post-fifo")
        let log = DispatcherBound(PostLog(), dispatcher: dispatcher)
        for index in 0..<100 {
            dispatcher.post { log.value.entries.append("\(index)") }
        }
        dispatcher.run(.nonBlock)
        #expect(log.value.entries == (0..<100).map { "\($0)" })
        dispatcher.run(.nonBlock)
        #expect(log.value.entries.count == 100, "a task must never run twice")
    }

    @Test("a task posted from inside a posted task runs after the current batch")
    func postFromInsidePost() throws {
        let dispatcher = try Dispatcher(name: "post-nested")
        let log = DispatcherBound(PostLog(), dispatcher: dispatcher)
        dispatcher.post {
            log.value.entries.append("outer-1")
            dispatcher.post { log.value.entries.append("inner") }
        }
        dispatcher.post { log.value.entries.append("outer-2") }
        let watchdog = try LoopWatchdog(dispatcher: dispatcher)
        watchdog.cancel()
        dispatcher.run(.block)
        #expect(log.value.entries == ["outer-1", "outer-2", "inner"])
        #expect(dispatcher.stats.postedTasksRun == 3)
    }

    @Test("a post from another thread wakes a loop blocked in run(.untilExit)")
    func postWakesBlockedLoop() throws {
        let dispatcher = try Dispatcher(name: "post-wake")
        let watchdog = try LoopWatchdog(dispatcher: dispatcher)
        let producer = try PosixThread(name: "producer") {
            dispatcher.post { dispatcher.exit() }
        }
        dispatcher.run(.untilExit)
        producer.join()
        #expect(!watchdog.fired)
        #expect(dispatcher.stats.postedTasksRun == 1)
    }

    @Test("8 threads × 100 000 posts: every task runs exactly once, in per-thread order")
    func manyProducers() throws {
        final class Tally {
            var next = [Int](repeating: 0, count: 8)
            var outOfOrder = 0
            var total = 0
        }
        let threads = 8
        let perThread = 100_000
        let dispatcher = try Dispatcher(name: "post-stress")
        let tally = DispatcherBound(Tally(), dispatcher: dispatcher)
        let watchdog = try LoopWatchdog(dispatcher: dispatcher, timeout: .seconds(600))
        var producers: [PosixThread] = []
        for thread in 0..<threads {
            producers.append(try PosixThread(name: "producer-\(thread)") {
                for sequence in 0..<perThread {
                    dispatcher.post {
                        let tally = tally.value
                        if tally.next[thread] != sequence { tally.outOfOrder += 1 }
                        tally.next[thread] = sequence + 1
                        tally.total += 1
                        if tally.total == threads * perThread { dispatcher.exit() }
                    }
                }
            })
        }
        dispatcher.run(.untilExit)
        for producer in producers { producer.join() }
        dispatcher.run(.nonBlock)  // anything posted twice would show up here
        #expect(!watchdog.fired)
        #expect(tally.value.total == threads * perThread)
        #expect(tally.value.outOfOrder == 0)
        #expect(tally.value.next == [Int](repeating: perThread, count: threads))
        #expect(dispatcher.stats.postedTasksRun == UInt64(threads * perThread))
    }

    @Test("tasks still queued when the dispatcher is destroyed are released without running")
    func queuedTasksAreDroppedOnDestruction() throws {
        final class Payload: Sendable {}
        weak var payloadReference: Payload?
        let ran = Locked(false)
        do {
            let dispatcher = try Dispatcher(name: "post-drop")
            let payload = Payload()
            payloadReference = payload
            dispatcher.post { withExtendedLifetime(payload) { ran.withLock { $0 = true } } }
        }
        #expect(payloadReference == nil)
        #expect(!ran.value)
    }
}
