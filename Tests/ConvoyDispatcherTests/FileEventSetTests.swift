#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ConvoyDispatcher
import ConvoyTestSupport
import Testing

@Suite("FileEventSet")
struct FileEventSetTests {
    @Test("each watch fires once, with its descriptor, when readable or hung up; already readable fires at once; removed ones never")
    func oneShotWatches() throws {
        let dispatcher = try Dispatcher(name: "file-set")
        var fired: [Int32] = []
        let set = try FileEventSet(dispatcher: dispatcher) { fired.append($0) }
        let quiet = try SocketPair(), talking = try SocketPair(), hanging = try SocketPair(), removed = try SocketPair()
        for pair in [quiet, talking, hanging, removed] { try set.watch(pair.first) }
        #expect(set.count == 4 && set.contains(talking.first))
        dispatcher.run(.nonBlock)
        #expect(fired.isEmpty)

        SocketPair.write([1], to: talking.second)
        hanging.closeSecond()
        set.remove(removed.first)
        SocketPair.write([1], to: removed.second)
        dispatcher.run(.nonBlock)
        #expect(fired.sorted() == [talking.first, hanging.first].sorted())
        #expect(set.count == 1 && !set.contains(talking.first) && !set.contains(removed.first))

        // One-shot: the unread byte does not fire again until watched again, and then at once.
        for _ in 0..<3 { dispatcher.run(.nonBlock) }
        #expect(fired.count == 2)
        try set.watch(talking.first)
        dispatcher.run(.nonBlock)
        #expect(fired.count == 3 && fired.last == talking.first)
        #expect(set.count == 1)
    }
}

/// The event-layer tests close one end of a `SocketPair` and expect the other end to see the
/// hang-up in the very next iteration, while other tests spawn child processes that briefly hold
/// copies of every descriptor. A second descriptor for the end stands in for such a copy.
@Suite("SocketPair fixture")
struct SocketPairFixtureTests {
    @Test("closing an end is a hang-up at once even while another descriptor refers to it")
    func closeHangsUpDespiteACopy() throws {
        let pair = try SocketPair()
        let copy = dup(pair.second)
        try #require(copy >= 0)
        defer { close(copy) }
        pair.closeSecond()
        var ready = pollfd(fd: pair.first, events: Int16(POLLIN), revents: 0)
        #expect(poll(&ready, 1, 0) == 1)
        var byte: UInt8 = 0
        #expect(read(pair.first, &byte, 1) == 0, "end of stream, not EAGAIN")
    }
}
