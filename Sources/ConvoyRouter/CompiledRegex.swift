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

    /// `text` with every non-overlapping match replaced by what `replacement` makes of it (RE2
    /// `GlobalReplace`); `replacement` gets the match and its capture groups, 0 being the whole
    /// match and nil a group that took no part. Any thread.
    public func replacingMatches(in text: Substring, _ replacement: ([Substring?]) -> String) -> String {
        var result = ""
        var copiedUpTo = text.startIndex
        for match in text.matches(of: regex) {
            result += text[copiedUpTo..<match.range.lowerBound]
            result += replacement((0..<match.output.count).map { match.output[$0].substring })
            copiedUpTo = match.range.upperBound
        }
        result += text[copiedUpTo...]
        return result
    }

    /// The pattern's capture groups, counted in its text: each `(` that is not escaped, not in a
    /// bracket expression and not a `(?…)` group other than a named one. Any thread.
    public var captureGroupCount: Int {
        var count = 0
        var characters = Array(pattern)[...]
        var inBracket = false
        while let character = characters.popFirst() {
            switch character {
            case "\\":
                _ = characters.popFirst()
            case "[" where !inBracket:
                inBracket = true
                if characters.first == "^" { characters.removeFirst() }
                if characters.first == "]" { characters.removeFirst() }  // a literal ] first
            case "]" where inBracket:
                inBracket = false
            case "(" where !inBracket:
                guard characters.first == "?" else {
                    count += 1
                    continue
                }
                let rest = characters.dropFirst()
                let named = rest.starts(with: "P<") || rest.starts(with: "'")
                    || (rest.first == "<" && rest.dropFirst().first != "=" && rest.dropFirst().first != "!")
                if named { count += 1 }
            default:
                break
            }
        }
        return count
    }

    /// The pattern. Any thread.
    public var description: String { pattern }
}
