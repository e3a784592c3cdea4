import ConvoyHTTP1
import ConvoyNetwork

/// Counts body bytes and drops them in place, as http-parser's `on_body` callback in the baseline does.
final class CountingSink: HTTP1BodySink {
    var bytes = 0
    func consumeBody(from input: IOBuffer, length: Int) {
        bytes += length
        input.drain(length)
    }
}

/// The Swift side of the parser benchmark. Messages are copied into the input buffer in batches
/// before the timed part (http-parser too is handed bytes already in memory); the timed part
/// parses every message to its end and drops heads and bodies.
public enum HTTP1Workloads {
    /// Bytes of messages parsed per timed batch (both parsers see the same working set).
    public static let batchBytes = 64 * 1024

    /// Parses `message` `iterations` times; returns the body bytes of the last one, or -1 on error.
    /// Only the parsing is inside `timed`.
    public static func parseLoop(_ message: [UInt8], iterations: Int, response: Bool, timed: (() -> Void) -> Void = { $0() }) -> Int {
        var parser = HTTP1Parser(role: response ? .response : .request)
        let input = IOBuffer()
        let sink = CountingSink()
        let batch = max(1, min(iterations, batchBytes / message.count))
        var done = 0
        var failed = false
        while done < iterations && !failed {
            let count = min(batch, iterations - done)
            message.withUnsafeBytes { bytes in
                for _ in 0..<count { input.append(bytes) }
            }
            timed {
                for _ in 0..<count {
                    sink.bytes = 0
                    do {
                        parsing: while true {
                            switch try parser.next(from: input, body: sink) {
                            case .end, .needsMoreBytes: break parsing
                            default: continue
                            }
                        }
                    } catch {
                        failed = true
                        return
                    }
                }
            }
            done += count
        }
        return failed ? -1 : sink.bytes
    }
}
