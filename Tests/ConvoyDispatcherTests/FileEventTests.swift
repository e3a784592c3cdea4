import ConvoyDispatcher
import ConvoyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("FileEvent")
struct FileEventTests {
    @Test("level trigger reports unread data every iteration; edge trigger only once per arrival")
    func levelVersusEdge() throws {
        let dispatcher = try Dispatcher(name: "file-trigger")
        let levelPair = try SocketPair()
        let edgePair = try SocketPair()
        var levelReports = 0
        var edgeReports = 0
        let level = try FileEvent(dispatcher: dispatcher, fileDescriptor: levelPair.first, trigger: .level, events: .read) { ready in
            #expect(ready == .read)
            levelReports += 1
        }
        let edge = try FileEvent(dispatcher: dispatcher, fileDescriptor: edgePair.first, trigger: .edge, events: .read) { ready in
            #expect(ready == .read)
            edgeReports += 1
        }
        SocketPair.write([1], to: levelPair.second)
        SocketPair.write([1], to: edgePair.second)
        for _ in 0..<3 { dispatcher.run(.nonBlock) }  // nobody reads the byte
        #expect(levelReports == 3)
        #expect(edgeReports == 1)

        SocketPair.write([2], to: edgePair.second)  // a new arrival is a new edge
        dispatcher.run(.nonBlock)
        #expect(edgeReports == 2)
        withExtendedLifetime((level, edge)) {}
    }

    @Test("edge-triggered write readiness is reported once, when the socket becomes writable")
    func edgeWriteReadiness() throws {
        let dispatcher = try Dispatcher(name: "file-write")
        let sockets = try SocketPair()
        var reports: [FileReadyType] = []
        let event = try FileEvent(dispatcher: dispatcher, fileDescriptor: sockets.first, trigger: .edge, events: [.read, .write]) {
            reports.append($0)
        }
        dispatcher.run(.nonBlock)
        dispatcher.run(.nonBlock)
        #expect(reports == [.write])
        #expect(event.enabledEvents == [.read, .write])
    }

    @Test("activate() on a disabled event delivers the injected bits in the next iteration")
    func activateOnDisabledEvent() throws {
        let dispatcher = try Dispatcher(name: "file-activate")
        let sockets = try SocketPair()
        var reports: [FileReadyType] = []
        let event = try FileEvent(dispatcher: dispatcher, fileDescriptor: sockets.first, trigger: .edge, events: []) {
            reports.append($0)
        }
        let inject = try ScheduledCallback(dispatcher: dispatcher) {
            event.activate(.read)
            event.activate(.write)  // merged with the first injection
        }
        inject.scheduleCurrentIteration()
        dispatcher.run(.nonBlock)
        #expect(reports.isEmpty, "injected readiness waits for the next iteration")
        dispatcher.run(.nonBlock)
        #expect(reports == [[.read, .write]])
        dispatcher.run(.nonBlock)
        #expect(reports.count == 1, "an injection is delivered once")
    }

    @Test("activateInCurrentIteration() delivers later in the same iteration, once, merged with activate()")
    func activateInCurrentIteration() throws {
        let dispatcher = try Dispatcher(name: "file-activate-now")
        let sockets = try SocketPair()
        var reports: [FileReadyType] = []
        let event = try FileEvent(dispatcher: dispatcher, fileDescriptor: sockets.first, trigger: .edge, events: []) {
            reports.append($0)
        }
        let inject = try ScheduledCallback(dispatcher: dispatcher) {
            event.activate(.read)  // next iteration ...
            event.activateInCurrentIteration(.write)  // ... moved up to this one, merged
            event.activateInCurrentIteration(.write)  // already queued: no second delivery
        }
        inject.scheduleCurrentIteration()
        dispatcher.run(.nonBlock)
        #expect(reports == [[.read, .write]], "delivered in the iteration that injected it")
        dispatcher.run(.nonBlock)
        dispatcher.run(.nonBlock)
        #expect(reports.count == 1, "the next-iteration injection was absorbed, not delivered again")

        let reinject = try ScheduledCallback(dispatcher: dispatcher) { event.activateInCurrentIteration(.read) }
        reinject.scheduleCurrentIteration()
        dispatcher.run(.nonBlock)
        #expect(reports == [[.read, .write], .read], "it can be injected again once delivered")
    }

    @Test("injected bits are merged into real readiness that arrives first")
    func activateMergesWithKernelReadiness() throws {
        let dispatcher = try Dispatcher(name: "file-merge")
        let sockets = try SocketPair()
        var reports: [FileReadyType] = []
        let event = try FileEvent(dispatcher: dispatcher, fileDescriptor: sockets.first, trigger: .edge, events: .read) {
            reports.append($0)
        }
        event.activate(.write)
        SocketPair.write([7], to: sockets.second)
        dispatcher.run(.nonBlock)
        dispatcher.run(.nonBlock)
        #expect(reports == [[.read, .write]])
    }

    @Test("setEnabled() drops pending injections and re-arms the edge")
    func setEnabledResetsState() throws {
        let dispatcher = try Dispatcher(name: "file-set-enabled")
        let sockets = try SocketPair()
        var reports: [FileReadyType] = []
        let event = try FileEvent(dispatcher: dispatcher, fileDescriptor: sockets.first, trigger: .edge, events: .read) {
            reports.append($0)
        }
        event.activate(.write)
        event.setEnabled([])
        dispatcher.run(.nonBlock)
        #expect(reports.isEmpty, "the injection was cleared and nothing is enabled")

        SocketPair.write([1], to: sockets.second)
        event.setEnabled(.read)
        dispatcher.run(.nonBlock)
        dispatcher.run(.nonBlock)
        #expect(reports == [.read])
        event.setEnabled(.read)  // unread data: re-registering yields a fresh edge
        dispatcher.run(.nonBlock)
        #expect(reports == [.read, .read])
    }

    @Test("an event released inside its own callback stops reporting, and nothing crashes")
    func releasedInsideCallback() throws {
        let dispatcher = try Dispatcher(name: "file-free")
        let sockets = try SocketPair()
        var reports = 0
        var event: FileEvent?
        weak var weakEvent: FileEvent?
        event = try FileEvent(dispatcher: dispatcher, fileDescriptor: sockets.first, trigger: .level, events: .read) { _ in
            reports += 1
            event = nil
        }
        weakEvent = event
        event?.activate(.write)  // also pending: released with the event
        SocketPair.write([1], to: sockets.second)
        for _ in 0..<3 { dispatcher.run(.nonBlock) }
        #expect(reports == 1)
        #expect(weakEvent == nil)
    }

    @Test("peer close is reported as read (EOF) and, when asked for, as closed")
    func peerClose() throws {
        let dispatcher = try Dispatcher(name: "file-close")
        let readPair = try SocketPair()
        let closedPair = try SocketPair()
        var readReports: [FileReadyType] = []
        var closedReports: [FileReadyType] = []
        let reader = try FileEvent(dispatcher: dispatcher, fileDescriptor: readPair.first, trigger: .edge, events: .read) {
            readReports.append($0)
            #expect(SocketPair.readAvailable(from: readPair.first).isEmpty, "end of stream")
        }
        let watcher = try FileEvent(dispatcher: dispatcher, fileDescriptor: closedPair.first, trigger: .edge, events: .closed) {
            closedReports.append($0)
        }
        readPair.closeSecond()
        closedPair.closeSecond()
        dispatcher.run(.nonBlock)
        #expect(readReports == [.read])
        #expect(closedReports.count == 1)
        #expect(closedReports.first?.contains(.closed) == true)
        withExtendedLifetime((reader, watcher)) {}
    }

    @Test("registering a descriptor that is not open throws a DispatcherError")
    func invalidDescriptorThrows() throws {
        let dispatcher = try Dispatcher(name: "file-invalid")
        // Above the open-file limit, so never open — a number just closed could be reused at once
        // by a test running in parallel.
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let closedDescriptor = Int32(clamping: limit.rlim_cur) &+ 16
        #expect {
            _ = try FileEvent(dispatcher: dispatcher, fileDescriptor: closedDescriptor, trigger: .edge, events: .read) { _ in }
        } throws: { error in
            guard case .libeventCallFailed(let operation, _)? = error as? DispatcherError else { return false }
            return operation.contains("event_add") && operation.contains("fd \(closedDescriptor)")
        }
    }

    @Test("FileReadyType describes itself")
    func readyTypeDescription() {
        #expect(FileReadyType([.read, .closed]).description == "read|closed")
        #expect(FileReadyType().description == "none")
    }
}
