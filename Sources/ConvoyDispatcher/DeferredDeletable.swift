/// An object that may be handed to ``Dispatcher/deferredDelete(_:)``: the dispatcher keeps it
/// alive until the end of the current loop iteration, so it is never released while one of its
/// own callbacks is still on the stack. Connections, streams and upstream requests adopt it.
///
/// Conforming objects are confined to their dispatcher's thread.
public protocol DeferredDeletable: AnyObject {
    /// Called on the dispatcher's thread at the moment the object is handed to `deferredDelete`,
    /// so it can stop timers or detach callbacks early. The default does nothing.
    func deleteIsPending()
}

extension DeferredDeletable {
    /// Does nothing. Dispatcher thread.
    public func deleteIsPending() {}
}
