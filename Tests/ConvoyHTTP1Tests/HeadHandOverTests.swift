import ConvoyDispatcher
@testable import ConvoyHTTP1
import ConvoyNetwork
import ConvoyTestSupport
import Testing

/// The codecs hand each head to their delegate as the only reference to its storage, so an edit
/// happens in place (no copy), and take the storage back for the next head once the delegate let
/// go of it (no allocation).
@Suite("Heads handed over for editing")
struct HeadHandOverTests {
    final class EditingServer: HTTP1ServerCodecDelegate {
        var unshared: [Bool] = []
        var storages: [ObjectIdentifier] = []
        var edited: [String?] = []

        func serverCodec(_ codec: HTTP1ServerCodec, didReceiveHead head: inout HTTPRequestHead) {
            unshared.append(isKnownUniquelyReferenced(&head.headers.storage))
            let before = ObjectIdentifier(head.headers.storage)
            head.headers.add(name: "x-edited", value: "yes")
            storages.append(ObjectIdentifier(head.headers.storage))
            edited.append(before == storages.last ? head.headers["x-edited"] : "copied")
        }
        func serverCodec(_ codec: HTTP1ServerCodec, didReceiveBody body: IOBuffer) { body.drain(body.count) }
        /// Built once: answering takes no head storage from the pool the request heads use.
        let answer = HTTPResponseHead(status: 204)
        var ends = 0
        func serverCodecDidReceiveEnd(_ codec: HTTP1ServerCodec) {
            ends += 1
            codec.sendResponseHead(answer, endStream: true)
        }
    }

    @Test func requestHeadsAreEditedInPlaceAndTheirStorageServesTheNextOne() throws {
        let harness = try ServerCodecHarness()
        let server = EditingServer()
        harness.configure = { $0.delegate = server }
        let client = try harness.client()
        for count in 1...6 {
            client.send("GET /\(count) HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(harness.run { server.ends == count })  // (parsing the answers here would take pooled storage too)
        }
        #expect(harness.run { client.responses().count == 6 })
        #expect(client.responses().map(\.head.status) == Array(repeating: 204, count: 6))
        #expect(server.unshared == Array(repeating: true, count: 6), "nothing else holds a head's storage")
        #expect(server.edited == Array(repeating: "yes", count: 6), "edited in place, not copied")
        #expect(Set(server.storages).count == 1, "each head's storage went back for the next one")
    }

    final class EditingClient: HTTP1ClientCodecDelegate {
        var unshared: [Bool] = []
        var storages: [ObjectIdentifier] = []
        var ends = 0

        func clientCodec(_ codec: HTTP1ClientCodec, didReceiveHead head: inout HTTPResponseHead) {
            unshared.append(isKnownUniquelyReferenced(&head.headers.storage))
            head.headers.removeHopByHopFields()
            storages.append(ObjectIdentifier(head.headers.storage))
        }
        func clientCodec(_ codec: HTTP1ClientCodec, didReceiveBody body: IOBuffer) { body.drain(body.count) }
        func clientCodecDidReceiveEnd(_ codec: HTTP1ClientCodec) { ends += 1 }
        func clientCodec(_ codec: HTTP1ClientCodec, streamDidReset reason: HTTP1StreamReset) {}
    }

    @Test func responseHeadsAreEditedInPlaceAndTheirStorageServesTheNextOne() throws {
        let dispatcher = try Dispatcher(name: "hand-over")
        let upstream = try ScriptedUpstream(dispatcher: dispatcher)
        upstream.answer = { connection, received in
            if received.hasSuffix("\r\n\r\n") {
                connection.write(IOBuffer("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"))
            }
        }
        let connection = try ClientConnection(dispatcher: dispatcher, remoteAddress: upstream.listener.localAddress)
        let client = EditingClient()
        let codec = HTTP1ClientCodec(connection: connection, delegate: client)
        connection.connect()
        for count in 1...6 {
            codec.sendRequestHead(HTTPRequestHead(method: .get, target: "/\(count)", headers: ["Host": "up"]), endStream: true)
            #expect(runDispatcher(dispatcher) { client.ends == count })
        }
        #expect(client.unshared == Array(repeating: true, count: 6), "nothing else holds a head's storage")
        // The requests' own heads take storage from the same pool, so two may take turns.
        #expect(Set(client.storages).count <= 2, "each head's storage went back for a later one")
    }
}
