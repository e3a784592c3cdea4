/// A regular expression compiled once from configuration and then only read, shared by every
/// worker. Any thread.
///
/// Swift's `Regex` is an immutable value but is not declared `Sendable` (its output type may hold
/// anything). The program is lowered lazily on first use; ``init(_:)`` runs one match so that
/// happens on the configuring thread, before the value is published to workers, and afterwards
/// workers only read it.
public final class CompiledRegex: @unchecked Sendable, CustomStringConvertible {
    /// The pattern as written in the configuration. Any thread.
    public let pattern: String
    private let regex: Regex<AnyRegexOutput>

    /// Compiles `pattern`. Any thread.
    /// - Throws: the regex parser's error, whose description says what is wrong.
    public init(_ pattern: String) throws {
        self.pattern = pattern
        regex = try Regex(pattern)
        _ = try? regex.wholeMatch(in: "")
    }

    /// True when the whole of `text` matches (RE2 `FullMatch`, as Envoy and Istio use). Any thread.
    public func matchesWhole(_ text: Substring) -> Bool {
        (try? regex.wholeMatch(in: text)) != nil
    }

    /// The pattern. Any thread.
    public var description: String { pattern }
}
