#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ConvoyDispatcher
import ConvoyNetwork
import ConvoyTestSupport
import Testing

private func pattern(_ count: Int, seed: Int = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) }
}

@Suite("IOBuffer")
struct IOBufferTests {
    @Test("append, drain and count across slice boundaries")
    func appendAndDrain() {
        let buffer = IOBuffer()
        let data = pattern(40_000)
        buffer.append(data)
        #expect(buffer.count == 40_000)
        #expect(buffer.numberOfSlices == 3)
        #expect(buffer.bytes == data)
        buffer.drain(20_000)
        #expect(buffer.bytes == Array(data[20_000...]))
        buffer.drain(1_000_000)
        #expect(buffer.isEmpty)
        #expect(buffer.numberOfSlices == 0)
        buffer.append("héllo")
        #expect(buffer.string == "héllo")
    }

    /// An empty array made with `unsafeUninitializedCapacity: 0` writes its count into the
    /// runtime's shared empty-array storage, which ThreadSanitizer reports as a race between any
    /// two threads doing it. Under `--sanitize=thread` this test fails if `bytes` does that.
    @Test("bytes and string of an empty buffer, read on several threads at once, touch no shared storage")
    func emptyBytesOnManyThreads() throws {
        let threads = try (0..<4).map { index in
            try PosixThread(name: "empty-bytes-\(index)") {
                for _ in 0..<1_000 {
                    let buffer = IOBuffer()
                    precondition(buffer.bytes.isEmpty && buffer.string.isEmpty)
                }
            }
        }
        for thread in threads { thread.join() }
        #expect(IOBuffer().bytes == [])
    }

    @Test("move(from:) hands whole slices over without copying them")
    func moveWholeSlices() {
        let source = IOBuffer(pattern(50_000))
        let destination = IOBuffer("head:")
        let sourceSlices = source.numberOfSlices
        destination.move(from: source)
        #expect(source.isEmpty)
        #expect(source.numberOfSlices == 0)
        #expect(destination.count == 50_005)
        #expect(destination.bytes == Array("head:".utf8) + pattern(50_000))
        #expect(destination.numberOfSlices == 1 + sourceSlices, "large slices are moved, not merged")
    }

    @Test("small slices are copied into the destination's free tail instead of chaining")
    func moveCoalescesSmallSlices() {
        let destination = IOBuffer("a")
        for index in 0..<100 {
            destination.move(from: IOBuffer("message \(index);"))
        }
        #expect(destination.numberOfSlices == 1)
        #expect(destination.string.hasSuffix("message 99;"))
    }

    @Test("move(from:length:) moves a prefix, copying only the partial slice")
    func movePrefix() {
        let source = IOBuffer(pattern(40_000))
        let destination = IOBuffer()
        destination.move(from: source, length: 20_000)
        #expect(destination.bytes == Array(pattern(40_000)[..<20_000]))
        #expect(source.bytes == Array(pattern(40_000)[20_000...]))
        destination.move(from: source, length: 1_000_000)
        #expect(destination.bytes == pattern(40_000))
        #expect(source.isEmpty)
    }

    @Test("peek helpers work in place, across slices")
    func peekHelpers() {
        let buffer = IOBuffer()
        buffer.append([UInt8](repeating: 0x61, count: 16_380))
        buffer.append(Array("xx\r\n\r\nbody".utf8))  // the terminator spans the first slice boundary
        #expect(buffer.search(for: Array("\r\n\r\n".utf8)) == 16_382)
        #expect(buffer.search(for: Array("\r\n\r\n".utf8), from: 16_383) == nil)
        #expect(buffer.firstIndex(of: UInt8(ascii: "b")) == 16_386)
        #expect(buffer.firstIndex(of: UInt8(ascii: "a"), from: 16_000) == 16_000)
        #expect(buffer.byte(at: 16_384) == UInt8(ascii: "\r"))
        var window = [UInt8](repeating: 0, count: 4)
        let copied = window.withUnsafeMutableBytes { buffer.copyBytes(into: $0, from: 16_386) }
        #expect(copied == 4)
        #expect(window == Array("body".utf8))
        #expect(buffer.search(for: Array("nothere".utf8)) == nil)
    }

    @Test("linearize makes a prefix contiguous without changing the content")
    func linearize() {
        let data = pattern(30_000, seed: 5)
        let buffer = IOBuffer(data)
        let span = buffer.linearize(20_000)
        #expect(span.count == 20_000)
        #expect(Array(span) == Array(data[..<20_000]))
        #expect(buffer.count == 30_000)
        #expect(buffer.bytes == data)
        let huge = IOBuffer(pattern(70_000))
        #expect(Array(huge.linearize(70_000)) == pattern(70_000))
        #expect(huge.bytes == pattern(70_000))
    }

    @Test("watermarks: high fires once above, low once back at half, overflow once")
    func watermarks() {
        let buffer = IOBuffer()
        var events: [String] = []
        buffer.onAboveHighWatermark = { events.append("high") }
        buffer.onBelowLowWatermark = { events.append("low") }
        buffer.onAboveOverflowWatermark = { events.append("overflow") }
        buffer.setWatermarks(high: 100, overflowMultiplier: 3)
        buffer.append(pattern(100))
        #expect(events.isEmpty, "exactly at high is not above it")
        buffer.append(pattern(1))
        buffer.append(pattern(50))
        #expect(events == ["high"])
        buffer.drain(100)  // 51 left: above low (50)
        #expect(events == ["high"])
        buffer.drain(1)
        #expect(events == ["high", "low"])
        buffer.append(pattern(400))
        #expect(events == ["high", "low", "high", "overflow"])
        buffer.append(pattern(400))
        #expect(events.count == 4, "each crossing notifies once")
        #expect(buffer.isAboveHighWatermark)
    }

    @Test("read(from:) fills up to 8 slices with one readv; write(to:) drains what was written")
    func socketReadAndWrite() throws {
        let sockets = try SocketPair()
        let data = pattern(300_000, seed: 9)
        let outgoing = IOBuffer(data)
        let incoming = IOBuffer()
        var received: [UInt8] = []
        var rounds = 0
        while received.count < data.count && rounds < 10_000 {
            rounds += 1
            _ = outgoing.write(to: sockets.first)
            switch incoming.read(from: sockets.second, maxBytes: 1 << 20) {
            case .transferred(let count):
                #expect(count <= IOBuffer.maximumReadSlices * 16_384)
            case .wouldBlock, .endOfStream:
                break
            case .failed(let error):
                Issue.record("read failed: \(error)")
                return
            }
            received += incoming.bytes
            incoming.drain(incoming.count)
        }
        #expect(received == data)
        #expect(outgoing.isEmpty)
        #expect(incoming.read(from: sockets.second, maxBytes: 100) == .wouldBlock)
        sockets.closeFirst()
        #expect(incoming.read(from: sockets.second, maxBytes: 100) == .endOfStream)
    }

    @Test("reads and writes of one slice and of many work on a pipe too (recv and send fall back)")
    func pipeReadAndWrite() throws {
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        let small = pattern(100, seed: 3)
        #expect(IOBuffer(small).write(to: fds[1]) == .transferred(100))
        let incoming = IOBuffer()
        #expect(incoming.read(from: fds[0], maxBytes: 1 << 20) == .transferred(100))
        #expect(incoming.bytes == small)
        incoming.drain(incoming.count)

        let large = pattern(40_000, seed: 5)  // three slices: one writev
        #expect(IOBuffer(large).write(to: fds[1]) == .transferred(40_000))
        var received: [UInt8] = []
        while case .transferred = incoming.read(from: fds[0], maxBytes: 1 << 20) {
            received += incoming.bytes
            incoming.drain(incoming.count)
        }
        #expect(received == large)
    }

    @Test("writing to a peer that has gone away is EPIPE, never SIGPIPE, for one slice and for many")
    func writeToClosedPeerIsEPIPE() throws {
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        var previousMask = sigset_t()
        // Blocked on this thread, a SIGPIPE raised by the write would stay pending where we can see it.
        pthread_sigmask(SIG_BLOCK, &pipeSignal, &previousMask)
        defer {
            // A SIGPIPE left pending (the test failed) is taken here, not delivered on unblocking.
            var noWait = timespec()
            while sigtimedwait(&pipeSignal, nil, &noWait) == SIGPIPE {}
            pthread_sigmask(SIG_SETMASK, &previousMask, nil)
        }
        for size in [10, 40_000] {
            let sockets = try SocketPair()
            sockets.closeSecond()
            let result = IOBuffer(pattern(size)).write(to: sockets.first)
            #expect(result == .failed(NetworkError(operation: "write", errno: EPIPE)), "size \(size)")
            var pending = sigset_t()
            sigpending(&pending)
            #expect(sigismember(&pending, SIGPIPE) == 0, "size \(size): the write raised SIGPIPE")
            withExtendedLifetime(sockets) {}
        }
    }
}

