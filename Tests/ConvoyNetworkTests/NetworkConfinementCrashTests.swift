import ConvoyDispatcher
import ConvoyNetwork
import ConvoyTestSupport
import Testing

@Suite("Network thread confinement traps")
struct NetworkConfinementCrashTests {
    @Test("Connection.write from another thread traps, naming the call and the dispatcher")
    func writeOffThread() async throws {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let harness = try LoopbackHarness()
            let client = UncheckedSendableBox(try harness.connectClient())
            harness.dispatcher.run(.nonBlock)  // binds the dispatcher to this thread
            try PosixThread(name: "intruder") { client.value.write(IOBuffer("x")) }.join()
        }
        let message = String(decoding: try #require(result).standardErrorContent, as: UTF8.self)
        #expect(message.contains("Connection.write(_:endStream:) called off the thread of dispatcher 'loopback'"))
    }

    @Test("readDisable(false) without a matching readDisable(true) traps with a message")
    func unbalancedReadDisable() async throws {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let harness = try LoopbackHarness()
            let client = try harness.connectClient()
            client.readDisable(false)
        }
        let message = String(decoding: try #require(result).standardErrorContent, as: UTF8.self)
        #expect(message.contains("readDisable(false) without a matching readDisable(true)"))
    }
}
