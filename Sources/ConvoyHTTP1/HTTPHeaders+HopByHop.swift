extension HTTPHeaders {
    /// The fields that describe one connection rather than the message (RFC 9110 §7.6.1), which
    /// a proxy must not forward. Any thread.
    public static let hopByHopFieldNames = [
        "connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "trailer", "upgrade",
    ]

    /// Removes the hop-by-hop fields and every field the `Connection` header nominates, as a
    /// proxy does before forwarding. The owning thread.
    public mutating func removeHopByHopFields() {
        var nominated: [String] = []
        for value in values(of: "connection") {
            for option in value.split(separator: ",") {
                let name = option.trimmingCharacters(in: " \t")
                if !name.isEmpty { nominated.append(name) }
            }
        }
        for name in Self.hopByHopFieldNames + nominated { remove(name) }
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
