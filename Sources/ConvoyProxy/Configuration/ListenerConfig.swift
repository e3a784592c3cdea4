import ConvoyNetwork
import ConvoyRouter

/// One listening socket address (from Gateway servers on the same bind address and port) and its
/// routes. Immutable; any thread.
public struct ListenerConfig: Sendable {
    /// `ADDRESS:PORT`. Any thread.
    public let name: String
    /// Where to listen. Any thread.
    public let address: SocketAddress
    /// The routes for requests arriving here. Any thread.
    public let routes: RouteTable

    /// A listener. Any thread.
    public init(address: SocketAddress, routes: RouteTable) {
        name = address.description
        self.address = address
        self.routes = routes
    }
}
