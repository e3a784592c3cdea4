/// One traffic mirror of a route (Istio's `mirror`/`mirrors`): a share of requests is copied,
/// fire and forget, to another cluster with `-shadow` appended to the authority; its responses
/// and failures never reach the client. Immutable; any thread.
public struct MirrorPolicy: Sendable, Equatable {
    /// Index of the mirror's cluster in the configuration's cluster list. Any thread.
    public let clusterIndex: Int
    /// The cluster's name. Any thread.
    public let clusterName: String
    /// Share of requests mirrored, 0...100 (Istio's default 100). Any thread.
    public let percentage: Double

    /// A mirror. Any thread.
    public init(clusterIndex: Int, clusterName: String, percentage: Double = 100) {
        self.clusterIndex = clusterIndex
        self.clusterName = clusterName
        self.percentage = min(max(percentage, 0), 100)
    }

    /// Draws whether this request is mirrored. The request's thread.
    public func draws(_ random: inout FastRandom) -> Bool {
        random.chance(percent: percentage)
    }

    /// The shadow authority: `-shadow` appended to the host, before any port
    /// (`api.test:8080` → `api.test-shadow:8080`). Any thread.
    public static func shadowAuthority(_ authority: String) -> String {
        if authority.hasSuffix("]") { return authority + "-shadow" }  // a bare IPv6 literal
        if let colon = authority.lastIndex(of: ":"), !authority[authority.index(after: colon)...].isEmpty,
           authority[authority.index(after: colon)...].allSatisfy(\.isNumber) {
            return authority[..<colon] + "-shadow" + authority[colon...]
        }
        return authority + "-shadow"
    }
}
