#if canImport(Glibc)
import Glibc
#endif
import DispatcherWorkloads
import LibeventBaseline
import NetworkWorkloads

// Runs one workload N times, in Swift (ConvoyDispatcher / ConvoyNetwork) or C (raw libevent), and
// prints the count it returns. Benchmarks/scripts/instructions.sh runs it under callgrind with N
// and 2N and takes the difference, which cancels start-up cost.
//
//     DispatcherOps WORKLOAD swift|c N

let batch = 64

/// Each workload: its Swift side, and its C side given a fresh baseline loop.
let workloads: [String: (swift: (Int) throws -> Int, c: (OpaquePointer, UInt64) -> UInt64)] = [
    "post": ({ try DispatcherWorkloads.postLocal(count: $0, batch: batch) },
             { baseline_post_local($0, $1, UInt64(batch)) }),
    "timer": ({ try DispatcherWorkloads.timerChurn(count: $0) }, { baseline_timer_churn($0, $1) }),
    "activate": ({ try DispatcherWorkloads.activateRoundTrips(count: $0) }, { baseline_activate_round_trips($0, $1) }),
    "pingpong": ({ try DispatcherWorkloads.pingPong(count: $0) }, { baseline_ping_pong($0, $1) }),
    "deferred": ({ try DispatcherWorkloads.deferredDeleteChurn(count: $0, batch: batch) },
                 { baseline_deferred_delete_churn($0, $1, UInt64(batch)) }),
    "lifetime": ({ DispatcherWorkloads.objectLifetime(count: $0, batch: batch) },
                 { _, count in baseline_object_lifetime(count, UInt64(batch)) }),
    "echo64": ({ try NetworkWorkloads.echoRoundTrips(count: $0, size: 64) }, { baseline_echo_round_trips($0, $1, 64) }),
    "echo16k": ({ try NetworkWorkloads.echoRoundTrips(count: $0, size: 16_384) },
                { baseline_echo_round_trips($0, $1, 16_384) }),
]

let arguments = CommandLine.arguments
guard arguments.count == 4, let workload = workloads[arguments[1]], let count = Int(arguments[3]), count >= 0,
    ["swift", "c"].contains(arguments[2])
else {
    print("usage: DispatcherOps \(workloads.keys.sorted().joined(separator: "|")) swift|c N")
    exit(2)
}
if arguments[2] == "swift" {
    print(try workload.swift(count))
} else {
    let loop = baseline_loop_new()!
    print(workload.c(loop, UInt64(count)))
    baseline_loop_free(loop)
}
