// Parser throughput, Convoy's HTTP1Parser against nodejs http-parser on the same inputs in the
// same run, or one implementation alone for valgrind (mallocs) and callgrind (instructions).
//
//   ParserBench table [seconds-per-cell]      the README table (interleaved rounds, medians)
//   ParserBench once <input> <swift|c> <N>    parse one input N times
#if canImport(Glibc)
import Glibc
#endif
import HTTP1Workloads
import HTTPParserBaseline

let inputs = [
    ("small GET", "a_get_small.http", false),
    ("browser GET, 12 headers", "b_get_browser.http", false),
    ("POST, 4 KiB chunked body", "c_post_chunked.http", false),
    ("response, 20 headers", "d_response_20h.http", true),
]

func load(_ file: String) -> [UInt8] {
    let directory = CommandLine.arguments[0].split(separator: "/").dropLast(3).joined(separator: "/")
    for path in ["Inputs/\(file)", "/\(directory)/Inputs/\(file)"] {
        if let handle = fopen(path, "rb") {
            defer { fclose(handle) }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = fread(&chunk, 1, chunk.count, handle)
                if count <= 0 { break }
                bytes += chunk[0..<count]
            }
            return bytes
        }
    }
    fatalError("cannot open Inputs/\(file) (run from Benchmarks/)")
}

func now() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// Parses `message` `iterations` times; returns the seconds spent parsing (-1 on a parse error).
func run(_ message: [UInt8], swift: Bool, response: Bool, iterations: Int) -> Double {
    var elapsed = 0.0
    if swift {
        let result = HTTP1Workloads.parseLoop(message, iterations: iterations, response: response) { parse in
            let start = now()
            parse()
            elapsed += now() - start
        }
        return result < 0 ? -1 : elapsed
    }
    // The same batches as the Swift side: back-to-back copies parsed in one call.
    let perBatch = max(1, min(iterations, HTTP1Workloads.batchBytes / message.count))
    let batch = Array([[UInt8]](repeating: message, count: perBatch).joined())
    let start = now()
    let result = batch.withUnsafeBufferPointer { Int(hp_parse_loop($0.baseAddress, $0.count, max(1, iterations / perBatch), response ? 1 : 0)) }
    return result < 0 ? -1 : now() - start
}

/// Messages per second, timing batches for about `seconds`.
func rate(_ message: [UInt8], swift: Bool, response: Bool, seconds: Double) -> Double {
    var iterations = 1000
    while true {
        let elapsed = run(message, swift: swift, response: response, iterations: iterations)
        precondition(elapsed >= 0, "parse failed")
        if elapsed >= seconds { return Double(iterations) / elapsed }
        iterations = Int(Double(iterations) * min(10, max(2, seconds / max(elapsed, 1e-6) * 1.1)))
    }
}

let arguments = CommandLine.arguments
if arguments.count >= 5, arguments[1] == "once" {
    let input = inputs.first { $0.1.hasPrefix(arguments[2]) }!
    let elapsed = run(load(input.1), swift: arguments[3] == "swift", response: input.2, iterations: Int(arguments[4])!)
    precondition(elapsed >= 0, "parse failed")
} else {
    let seconds = arguments.count >= 3 ? Double(arguments[2])! : 0.5
    let rounds = 5
    print("| input | bytes | Convoy req/s | Convoy MB/s | http-parser req/s | http-parser MB/s | Convoy / http-parser |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for (name, file, response) in inputs {
        let message = load(file)
        var swiftRates: [Double] = [], cRates: [Double] = []
        for round in 0..<rounds {
            // Alternate which goes first so drift hits both alike.
            if round % 2 == 0 {
                swiftRates.append(rate(message, swift: true, response: response, seconds: seconds))
                cRates.append(rate(message, swift: false, response: response, seconds: seconds))
            } else {
                cRates.append(rate(message, swift: false, response: response, seconds: seconds))
                swiftRates.append(rate(message, swift: true, response: response, seconds: seconds))
            }
        }
        let s = swiftRates.sorted()[rounds / 2], c = cRates.sorted()[rounds / 2]
        let mb = Double(message.count) / 1e6
        func format(_ value: Double) -> String { String(Int(value.rounded())) }
        func format1(_ value: Double) -> String { String(Double(Int(value * 10)) / 10) }
        print("| \(name) | \(message.count) | \(format(s)) | \(format1(s * mb)) | \(format(c)) | \(format1(c * mb)) | \(String(Double(Int(s / c * 100)) / 100))× |")
    }
}
