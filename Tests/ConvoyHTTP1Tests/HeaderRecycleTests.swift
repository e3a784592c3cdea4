import ConvoyHTTP1
import Testing

@Suite("HTTPHeaders.recycle")
struct HeaderRecycleTests {
    @Test("recycle empties only the headers it is called on; a copy sharing the storage keeps its fields, and storage reused afterwards never shows through")
    func recycleIsSafe() {
        let original = HTTPHeaders([(name: "Host", value: "a.example"), (name: "X-Keep", value: "1")])
        var shared = original
        shared.recycle()
        #expect(shared.isEmpty)
        #expect(original["host"] == "a.example" && original["x-keep"] == "1", "still shared: not handed to the pool")

        var edited = original
        edited.set(name: "X-Keep", value: "2")  // a copy of its own
        edited.recycle()  // unshared: back to the pool
        #expect(edited.isEmpty)

        // Heads made after the recycle may take that storage; the original must not change.
        for round in 0..<8 {
            var next = original
            next.add(name: "X-Round", value: String(round))
            #expect(next["x-round"] == String(round) && next["x-keep"] == "1")
            next.recycle()
        }
        #expect(original["host"] == "a.example" && original["x-keep"] == "1" && original["x-round"] == nil)
        #expect(original.count == 2)
    }
}
