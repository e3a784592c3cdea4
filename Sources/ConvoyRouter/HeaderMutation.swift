import ConvoyHTTP1

/// Istio's `HeaderOperations`: fields to set (replacing), add (appending) and remove, applied in
/// that order: remove, set, add. Immutable; any thread.
public struct HeaderMutation: Sendable {
    /// Replace any existing fields of this name with one field. Any thread.
    public var replacing: [(name: String, value: String)] = []
    /// Append a field (existing ones stay). Any thread.
    public var appending: [(name: String, value: String)] = []
    /// Remove every field of these names. Any thread.
    public var removing: [String] = []

    /// No changes. Any thread.
    public init(replacing: [(name: String, value: String)] = [], appending: [(name: String, value: String)] = [], removing: [String] = []) {
        self.replacing = replacing
        self.appending = appending
        self.removing = removing
    }

    /// True when applying changes nothing. Any thread.
    public var isEmpty: Bool { replacing.isEmpty && appending.isEmpty && removing.isEmpty }

    /// Applies the changes to `headers`. The headers' thread.
    public func apply(to headers: inout HTTPHeaders) {
        for name in removing { headers.remove(name) }
        for field in replacing { headers.set(name: field.name, value: field.value) }
        for field in appending { headers.add(name: field.name, value: field.value) }
    }
}
