import ConvoyDispatcher
import ConvoyTestSupport
import Testing

/// An ordered record of what happened, shared by the objects under test (dispatcher thread).
private final class Journal {
    var lines: [String] = []
}

private final class Tracked: DeferredDeletable {
    let name: String
    let journal: Journal
    var onDeinit: (() -> Void)?

    init(_ name: String, journal: Journal) {
        self.name = name
        self.journal = journal
    }

    func deleteIsPending() { journal.lines.append("pending \(name)") }

    deinit {
        journal.lines.append("deinit \(name)")
        onDeinit?()
    }
}

@Suite("Dispatcher.deferredDelete")
struct DeferredDeleteTests {
    @Test("objects stay alive through the callback that deferred them, then die FIFO")
    func fifoAtEndOfIteration() throws {
        let dispatcher = try Dispatcher(name: "deferred-fifo")
        let journal = Journal()
        let callback = try ScheduledCallback(dispatcher: dispatcher) {
            for name in ["a", "b", "c"] {
                dispatcher.deferredDelete(Tracked(name, journal: journal))
            }
            journal.lines.append("callback returns")
        }
        callback.scheduleNextIteration()
        dispatcher.run(.nonBlock)
        #expect(journal.lines == ["pending a", "pending b", "pending c", "callback returns", "deinit a", "deinit b", "deinit c"])
        #expect(dispatcher.stats.deferredDeletions == 3)
    }

    @Test("the deferred list is cleared before posted tasks run")
    func clearedBeforePostedTasks() throws {
        let dispatcher = try Dispatcher(name: "deferred-before-post")
        let journal = DispatcherBound(Journal(), dispatcher: dispatcher)
        let callback = try ScheduledCallback(dispatcher: dispatcher) {
            dispatcher.post { journal.value.lines.append("posted task") }
            dispatcher.deferredDelete(Tracked("x", journal: journal.value))
        }
        callback.scheduleNextIteration()
        dispatcher.run(.nonBlock)
        #expect(journal.value.lines == ["pending x", "deinit x", "posted task"])
    }

    @Test("a delete issued while the list is being cleared lands in the next clear")
    func deleteDuringClearLandsInNextOne() throws {
        let dispatcher = try Dispatcher(name: "deferred-nested")
        let journal = Journal()
        let callback = try ScheduledCallback(dispatcher: dispatcher) {
            let first = Tracked("first", journal: journal)
            first.onDeinit = {
                journal.lines.append("clearing: \(dispatcher.stats.deferredDeletions) released so far")
                dispatcher.deferredDelete(Tracked("spawned", journal: journal))
            }
            dispatcher.deferredDelete(first)
            dispatcher.deferredDelete(Tracked("second", journal: journal))
        }
        callback.scheduleNextIteration()
        dispatcher.run(.nonBlock)
        #expect(journal.lines == [
            "pending first", "pending second",
            "deinit first", "clearing: 0 released so far", "pending spawned",
            "deinit second",
            "deinit spawned",
        ])
        #expect(dispatcher.stats.deferredDeletions == 3)
    }

    @Test("clearDeferredDeleteList() releases at once, and re-entrant calls from a deinit are ignored")
    func explicitClear() throws {
        let dispatcher = try Dispatcher(name: "deferred-explicit")
        let journal = Journal()
        do {
            let reentrant = Tracked("reentrant", journal: journal)
            reentrant.onDeinit = { dispatcher.clearDeferredDeleteList() }
            dispatcher.deferredDelete(reentrant)
        }
        dispatcher.deferredDelete(Tracked("plain", journal: journal))
        journal.lines.append("clear")
        dispatcher.clearDeferredDeleteList()
        #expect(journal.lines == ["pending reentrant", "pending plain", "clear", "deinit reentrant", "deinit plain"])
    }

    @Test("destroying the dispatcher releases objects still waiting for deletion")
    func dispatcherDestructionReleasesPending() throws {
        let journal = Journal()
        do {
            let dispatcher = try Dispatcher(name: "deferred-teardown")
            dispatcher.deferredDelete(Tracked("orphan", journal: journal))
        }
        #expect(journal.lines == ["pending orphan", "deinit orphan"])
    }
}
