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

extension HTTPHeaders {
    /// True when a `Connection` field lists `option` (lower case), compared as a token ignoring
    /// case, without allocating. The owning thread.
    func hasConnectionOption(_ option: StaticString) -> Bool {
        let storage = self.storage
        for index in 0..<storage.fieldCount {
            let field = storage.fields[index]
            guard field.nameLength == 10, matches(storage.bytes + Int(field.nameStart), "connection") else { continue }
            var found = false
            let value = Int(field.valueStart)..<Int(field.valueStart + field.valueLength)
            forEachListElement(UnsafePointer(storage.bytes), value) { start, end in
                found = equalsIgnoringCase(UnsafePointer(storage.bytes), start..<end, option)
                return !found
            }
            if found { return true }
        }
        return false
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
