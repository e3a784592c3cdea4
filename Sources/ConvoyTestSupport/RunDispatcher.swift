import ConvoyDispatcher

#if canImport(Glibc)
import Glibc
#endif

/// Runs `dispatcher` one iteration at a time until `condition` holds; false if it did not within
/// `limit` of wall time (a hang guard, not a timing assertion). The dispatcher's thread.
@discardableResult
public func runDispatcher(_ dispatcher: Dispatcher, until condition: () -> Bool, limit: Duration = .seconds(30)) -> Bool {
    let clock = SystemTimeSource()
    let deadline = clock.now() + limit
    while !condition() {
        if clock.now() > deadline { return false }
        dispatcher.run(.nonBlock)
        if !condition() { usleep(200) }
    }
    return true
}
