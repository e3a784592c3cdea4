import ConvoyDispatcher

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A repeating timer that Ctrl-C (SIGINT) or SIGTERM stops cleanly through a `SignalEvent`.
///
///     swift run TimerAndSignals            # ticks every 500 ms until Ctrl-C
///     swift run TimerAndSignals --ticks 5  # stops by itself after 5 ticks
@main
struct TimerAndSignals {
    static func main() throws {
        var tickLimit: Int?
        let arguments = CommandLine.arguments.dropFirst()
        if let index = arguments.firstIndex(of: "--ticks") {
            guard index + 1 < arguments.endIndex, let limit = Int(arguments[index + 1]), limit > 0 else {
                print("usage: TimerAndSignals [--ticks N]   (N > 0)")
                exit(2)
            }
            tickLimit = limit
        }

        let dispatcher = try Dispatcher(name: "main_thread")
        let started = dispatcher.approximateMonotonicTime
        var ticks = 0
        var timer: TimerEvent?
        timer = try TimerEvent(dispatcher: dispatcher) {
            ticks += 1
            let elapsedMilliseconds = (dispatcher.approximateMonotonicTime.nanoseconds - started.nanoseconds) / 1_000_000
            print("tick \(ticks) at \(elapsedMilliseconds) ms")
            if let tickLimit, ticks >= tickLimit {
                print("reached \(tickLimit) ticks, exiting")
                dispatcher.exit()
            } else {
                timer?.enable(after: .milliseconds(500))  // re-armed from its own callback
            }
        }
        timer?.enable(after: .milliseconds(500))

        var signalEvents: [SignalEvent] = []
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signalEvents.append(try SignalEvent(dispatcher: dispatcher, signal: number) {
                print("\n\(name) after \(ticks) ticks: stopping the timer and exiting")
                timer?.disable()
                dispatcher.exit()
            })
        }
        print("ticking every 500 ms on dispatcher '\(dispatcher.name)'; press Ctrl-C to stop")
        dispatcher.run(.untilExit)
        signalEvents.removeAll()
        timer = nil
        let stats = dispatcher.stats
        print("done: \(stats.iterations) loop iterations, \(ticks) ticks")
    }
}
