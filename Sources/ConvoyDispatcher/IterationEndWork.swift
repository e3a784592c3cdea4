/// An object with work to finish once the current callback is over (a ready descriptor's, or the
/// loop iteration's other work): a connection's writes, so that everything one event writes leaves
/// in one system call. Queued with ``Dispatcher/runAtIterationEnd(_:)``. Dispatcher thread.
package protocol IterationEndWork: AnyObject {
    /// Runs the queued work, once per queuing. Dispatcher thread.
    func runAtIterationEnd()
}
