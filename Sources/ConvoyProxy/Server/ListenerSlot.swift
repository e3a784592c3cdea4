import ConvoyNetwork
import ConvoyRouter

/// One configured listener on one worker: its socket and the routes new requests on it use. A
/// reload that keeps the listener's address keeps the slot (and the socket) and swaps the routes;
/// one that drops it clears the routes and closes the socket, while connections already accepted
/// keep the slot and answer 404 from then on. Confined to the worker's thread.
final class ListenerSlot {
    /// The address as configured (port 0 stays 0: the slot is matched on this across reloads).
    let configuredAddress: SocketAddress
    /// The routes of the current configuration (nil once the listener is gone).
    @exclusivity(unchecked) var routes: RouteTable?
    /// The socket (nil once the listener is gone).
    @exclusivity(unchecked) var listener: Listener?
    /// Connections accepted on this listener by this worker, and open now.
    @exclusivity(unchecked) var connectionsAccepted = 0
    @exclusivity(unchecked) var connectionsOpen = 0

    init(configuredAddress: SocketAddress, routes: RouteTable) {
        self.configuredAddress = configuredAddress
        self.routes = routes
    }
}
