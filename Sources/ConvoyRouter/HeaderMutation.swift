import ConvoyHTTP1

/// Istio's `HeaderOperations`: fields to set (replacing), add (appending) and remove, applied in
/// that order: remove, set, add. Immutable; any thread.
public struct HeaderMutation: Sendable {
    /// Replace any existing fields of this name with one field. Any thread.
    public let replacing: [(name: String, value: String)]
    /// Append a field (existing ones stay). Any thread.
    public let appending: [(name: String, value: String)]
    /// Remove every field of these names. Any thread.
    public let removing: [String]
    /// True when applying changes nothing (stored: the proxy checks it on every request, before
    /// touching the lists). Any thread.
    public let isEmpty: Bool

    /// The given changes (none by default). Any thread.
    public init(replacing: [(name: String, value: String)] = [], appending: [(name: String, value: String)] = [], removing: [String] = []) {
        self.replacing = replacing
        self.appending = appending
        self.removing = removing
        isEmpty = replacing.isEmpty && appending.isEmpty && removing.isEmpty
    }

    /// Applies the changes to `headers`. The headers' thread.
    public func apply(to headers: inout HTTPHeaders) {
        for name in removing { headers.remove(name) }
        for field in replacing { headers.set(name: field.name, value: field.value) }
        for field in appending { headers.add(name: field.name, value: field.value) }
    }
}
