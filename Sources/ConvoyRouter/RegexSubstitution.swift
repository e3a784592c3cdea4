/// Istio's `uriRegexRewrite` (Envoy's `regex_rewrite`): every non-overlapping match of a regex in
/// the path is replaced by a substitution in which `\0` … `\9` stand for the match and its capture
/// groups and `\\` for a backslash (RE2's `GlobalReplace` and rewrite strings). Immutable; any
/// thread.
public struct RegexSubstitution: Sendable {
    /// What is wrong with a substitution string. Any thread.
    public enum TemplateError: Error, Equatable, CustomStringConvertible {
        /// `\` followed by something other than a digit or another `\`.
        case invalidEscape(Character)
        /// `\` at the very end.
        case trailingBackslash
        /// `\N` where the regex has fewer than N groups.
        case noSuchGroup(Int, groups: Int)

        /// One line for a configuration error. Any thread.
        public var description: String {
            switch self {
            case .invalidEscape(let character): "'\\\(character)' is not a rewrite escape: use \\0 to \\9, or \\\\ for a backslash"
            case .trailingBackslash: "a lone '\\' at the end: use \\\\ for a backslash"
            case .noSuchGroup(let group, let groups): "'\\\(group)' refers to a capture group the regex does not have (it has \(groups))"
            }
        }
    }

    private enum Piece: Sendable {
        case text(String)
        case group(Int)
    }

    /// The regex matched against the path. Any thread.
    public let regex: CompiledRegex
    /// The substitution as written. Any thread.
    public let substitution: String
    private let pieces: [Piece]

    /// Checks `substitution` against `regex`'s groups. Any thread.
    public init(regex: CompiledRegex, substitution: String) throws(TemplateError) {
        self.regex = regex
        self.substitution = substitution
        var pieces: [Piece] = []
        var text = ""
        var characters = substitution[...]
        let groups = regex.captureGroupCount
        while let character = characters.popFirst() {
            guard character == "\\" else {
                text.append(character)
                continue
            }
            guard let next = characters.popFirst() else { throw .trailingBackslash }
            if next == "\\" {
                text.append("\\")
            } else if let digit = next.wholeNumberValue, next.isASCII {
                guard digit <= groups else { throw .noSuchGroup(digit, groups: groups) }
                if !text.isEmpty { pieces.append(.text(text)) }
                text = ""
                pieces.append(.group(digit))
            } else {
                throw .invalidEscape(next)
            }
        }
        if !text.isEmpty { pieces.append(.text(text)) }
        self.pieces = pieces
    }

    /// `text` with every match replaced. Any thread.
    public func apply(to text: Substring) -> String {
        regex.replacingMatches(in: text) { groups in
            var replacement = ""
            for piece in pieces {
                switch piece {
                case .text(let literal): replacement += literal
                case .group(let index): if index < groups.count, let group = groups[index] { replacement += group }
                }
            }
            return replacement
        }
    }
}
