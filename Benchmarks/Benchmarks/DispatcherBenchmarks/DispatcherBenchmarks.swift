import Benchmark
import DispatcherWorkloads
import LibeventBaseline
import NetworkWorkloads

// Each dispatcher operation in Swift (ConvoyDispatcher) next to the same operation written directly
// on libevent in C (LibeventBaseline), in one run. Wall-clock figures are for ratios within a run;
// instruction counts come from callgrind (scripts/instructions.sh), since these machines have no
// hardware counters. Mallocs are counted by package-benchmark's malloc interposer.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .instructions],
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 50
    )
    let operations = 1_000  // per benchmark iteration (scalingFactor .kilo: figures are per operation)
    let batch = 64

    func pair(_ name: String, swift: @escaping @Sendable () throws -> Int, c: @escaping @Sendable () -> Int) {
        Benchmark("\(name) (Swift)") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try swift()) }
        }
        Benchmark("\(name) (C libevent)") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(c()) }
        }
    }

    pair("post, 1 producer (loop thread)",
         swift: { try DispatcherWorkloads.postLocal(count: operations, batch: batch) },
         c: { withLoop { Int(baseline_post_local($0, UInt64(operations), UInt64(batch))) } })
    pair("post, 1 producer thread",
         swift: { try DispatcherWorkloads.postThreads(producers: 1, perProducer: operations) },
         c: { withLoop { Int(baseline_post_threads($0, 1, UInt64(operations))) } })
    pair("post, 2 producer threads",
         swift: { try DispatcherWorkloads.postThreads(producers: 2, perProducer: operations / 2) },
         c: { withLoop { Int(baseline_post_threads($0, 2, UInt64(operations / 2))) } })
    pair("timer enable+disable",
         swift: { try DispatcherWorkloads.timerChurn(count: operations) },
         c: { withLoop { Int(baseline_timer_churn($0, UInt64(operations))) } })
    pair("FileEvent.activate round trip",
         swift: { try DispatcherWorkloads.activateRoundTrips(count: operations) },
         c: { withLoop { Int(baseline_activate_round_trips($0, UInt64(operations))) } })
    pair("socketpair ping-pong",
         swift: { try DispatcherWorkloads.pingPong(count: operations) },
         c: { withLoop { Int(baseline_ping_pong($0, UInt64(operations))) } })
    pair("deferred delete",
         swift: { try DispatcherWorkloads.deferredDeleteChurn(count: operations, batch: batch) },
         c: { withLoop { Int(baseline_deferred_delete_churn($0, UInt64(operations), UInt64(batch))) } })
    // Network: 1 000 echo round trips over loopback TCP on one thread (connection set-up included).
    pair("echo 64 B over TCP (ConvoyNetwork vs bufferevent)",
         swift: { try NetworkWorkloads.echoRoundTrips(count: operations, size: 64) },
         c: { withLoop { Int(baseline_echo_round_trips($0, UInt64(operations), 64)) } })
    pair("echo 16 KiB over TCP (ConvoyNetwork vs bufferevent)",
         swift: { try NetworkWorkloads.echoRoundTrips(count: operations, size: 16_384) },
         c: { withLoop { Int(baseline_echo_round_trips($0, UInt64(operations), 16_384)) } })
}

private func withLoop(_ body: (OpaquePointer) -> Int) -> Int {
    let loop = baseline_loop_new()!
    defer { baseline_loop_free(loop) }
    return body(loop)
}
