/// An object with work to finish once the current loop iteration's events have been handled:
/// a connection's writes, so that everything written in one iteration leaves in one system call.
/// Queued with ``Dispatcher/runAtIterationEnd(_:)``. Dispatcher thread.
package protocol IterationEndWork: AnyObject {
    /// Runs the queued work, once per queuing. Dispatcher thread.
    func runAtIterationEnd()
}
