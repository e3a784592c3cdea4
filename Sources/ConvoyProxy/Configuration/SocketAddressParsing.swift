import ConvoyNetwork

/// Address checks used while reading configuration. Any thread.
enum SocketAddressParsing {
    /// True for an IPv4 or IPv6 literal (no port, no brackets).
    static func isIPAddress(_ text: String) -> Bool {
        SocketAddress(ip: text, port: 1) != nil
    }

    /// `host:port` or `[v6]:port` with a literal IP.
    static func address(_ text: String) -> SocketAddress? {
        SocketAddress(text)
    }
}
