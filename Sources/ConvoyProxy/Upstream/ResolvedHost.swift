import ConvoyNetwork

/// An endpoint address after DNS: what a worker's pool connects to. Immutable; any thread.
public struct ResolvedHost: Sendable, Hashable {
    /// The address to connect to. Any thread.
    public let address: SocketAddress
    /// The load-balancing weight. Any thread.
    public let weight: UInt32

    /// A host. Any thread.
    public init(address: SocketAddress, weight: UInt32) {
        self.address = address
        self.weight = weight
    }
}
