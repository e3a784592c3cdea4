#if canImport(Glibc)
import Glibc
#endif
import DispatcherWorkloads
import NetworkWorkloads
import LibeventBaseline

// Runs one workload N times, in Swift (ConvoyDispatcher) or C (raw libevent), and prints the
// count it returns. Benchmarks/scripts/instructions.sh runs it under callgrind with N and 2N and
// takes the difference, which cancels start-up cost.
//
//     DispatcherOps WORKLOAD swift|c N
//     WORKLOAD: post timer activate pingpong deferred echo64 echo16k

let arguments = CommandLine.arguments
guard arguments.count == 4, let count = Int(arguments[3]), count >= 0, ["swift", "c"].contains(arguments[2]) else {
    print("usage: DispatcherOps post|timer|activate|pingpong|deferred|echo64|echo16k swift|c N")
    exit(2)
}
let swift = arguments[2] == "swift"
let batch = 64
var result = 0
switch arguments[1] {
case "post":
    if swift {
        result = try DispatcherWorkloads.postLocal(count: count, batch: batch)
    } else {
        let loop = baseline_loop_new()
        result = Int(baseline_post_local(loop, UInt64(count), UInt64(batch)))
        baseline_loop_free(loop)
    }
case "timer":
    if swift {
        result = try DispatcherWorkloads.timerChurn(count: count)
    } else {
        let loop = baseline_loop_new()
        result = Int(baseline_timer_churn(loop, UInt64(count)))
        baseline_loop_free(loop)
    }
case "activate":
    if swift {
        result = try DispatcherWorkloads.activateRoundTrips(count: count)
    } else {
        let loop = baseline_loop_new()
        result = Int(baseline_activate_round_trips(loop, UInt64(count)))
        baseline_loop_free(loop)
    }
case "pingpong":
    if swift {
        result = try DispatcherWorkloads.pingPong(count: count)
    } else {
        let loop = baseline_loop_new()
        result = Int(baseline_ping_pong(loop, UInt64(count)))
        baseline_loop_free(loop)
    }
case "deferred":
    if swift {
        result = try DispatcherWorkloads.deferredDeleteChurn(count: count, batch: batch)
    } else {
        let loop = baseline_loop_new()
        result = Int(baseline_deferred_delete_churn(loop, UInt64(count), UInt64(batch)))
        baseline_loop_free(loop)
    }
case "echo64", "echo16k":
    let size = arguments[1] == "echo64" ? 64 : 16_384
    if swift {
        result = try NetworkWorkloads.echoRoundTrips(count: count, size: size)
    } else {
        let loop = baseline_loop_new()
        result = Int(baseline_echo_round_trips(loop, UInt64(count), UInt64(size)))
        baseline_loop_free(loop)
    }
default:
    print("unknown workload \(arguments[1])")
    exit(2)
}
print(result)
