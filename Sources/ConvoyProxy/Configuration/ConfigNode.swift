import Yams

/// A node of a configuration document with where it came from: the file, the object it belongs to
/// and the field path to it. Typed readers report what is wrong to the load's diagnostics and
/// return nil. Confined to the loading thread.
struct ConfigNode {
    let node: Node
    let file: String
    let object: String
    let path: String
    let diagnostics: ConfigDiagnostics

    func diagnostic(_ severity: ConfigDiagnostic.Severity, _ message: String) -> ConfigDiagnostic {
        let mark = node.mark
        return ConfigDiagnostic(
            severity, file: file, line: mark?.line ?? 0, column: mark?.column ?? 0,
            path: object.isEmpty ? path : "\(object): \(path)", message: message)
    }

    func error(_ message: String) { diagnostics.error(self, message) }
    func warning(_ message: String) { diagnostics.warning(self, message) }

    private func child(_ node: Node, _ name: String) -> ConfigNode {
        ConfigNode(node: node, file: file, object: object, path: path.isEmpty ? name : "\(path).\(name)", diagnostics: diagnostics)
    }

    private func element(_ node: Node, _ index: Int) -> ConfigNode {
        ConfigNode(node: node, file: file, object: object, path: "\(path)[\(index)]", diagnostics: diagnostics)
    }

    private var kindName: String {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain, node.int != nil { return "a number" }
            if scalar.style == .plain, node.bool != nil { return "a boolean" }
            if scalar.style == .plain, scalar.string.isEmpty || scalar.string == "null" || scalar.string == "~" { return "null" }
            return "a string"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    /// The fields of a mapping, keyed by name. Unknown keys are errors; `notApplied` keys are
    /// accepted with a warning saying why they have no effect.
    func fields(_ known: [String], notApplied: [String: String] = [:]) -> [String: ConfigNode]? {
        guard case .mapping(let mapping) = node else {
            error("expected a mapping, found \(kindName)")
            return nil
        }
        var result: [String: ConfigNode] = [:]
        for (keyNode, value) in mapping {
            let keyPosition = ConfigNode(node: keyNode, file: file, object: object, path: path, diagnostics: diagnostics)
            guard case .scalar(let scalar) = keyNode else {
                keyPosition.error("mapping keys must be strings")
                continue
            }
            let key = scalar.string
            let field = child(value, key)
            if result[key] != nil {
                ConfigNode(node: keyNode, file: file, object: object, path: field.path, diagnostics: diagnostics).error("duplicate field '\(key)'")
                continue
            }
            if let reason = notApplied[key] {
                ConfigNode(node: keyNode, file: file, object: object, path: field.path, diagnostics: diagnostics)
                    .warning("'\(key)' is accepted but has no effect: \(reason)")
                continue
            }
            guard known.contains(key) else {
                let hint = known.first { $0.lowercased() == key.lowercased() }.map { " (did you mean '\($0)'?)" } ?? ""
                ConfigNode(node: keyNode, file: file, object: object, path: field.path, diagnostics: diagnostics)
                    .error("unknown field '\(key)'\(hint); known fields: \(known.joined(separator: ", "))")
                continue
            }
            result[key] = field
        }
        return result
    }

    /// The raw key/value pairs of a mapping of strings to anything (header maps), in order.
    func entries() -> [(key: String, value: ConfigNode)]? {
        guard case .mapping(let mapping) = node else {
            error("expected a mapping, found \(kindName)")
            return nil
        }
        var result: [(key: String, value: ConfigNode)] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                ConfigNode(node: keyNode, file: file, object: object, path: path, diagnostics: diagnostics).error("mapping keys must be strings")
                continue
            }
            result.append((scalar.string, child(value, scalar.string)))
        }
        return result
    }

    func list() -> [ConfigNode]? {
        guard case .sequence(let sequence) = node else {
            error("expected a list, found \(kindName)")
            return nil
        }
        return sequence.enumerated().map { element($0.element, $0.offset) }
    }

    func string(allowEmpty: Bool = false) -> String? {
        guard case .scalar(let scalar) = node else {
            error("expected a string, found \(kindName)")
            return nil
        }
        if !allowEmpty && scalar.string.isEmpty {
            error("must not be empty")
            return nil
        }
        return scalar.string
    }

    /// A string that goes into an HTTP head as a field value: no control character but tab (a CR
    /// or LF would end the field, and what follows would be read as fields of its own).
    func fieldValue() -> String? {
        guard let text = string(allowEmpty: true) else { return nil }
        guard !text.utf8.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) else {
            error("\(text.debugDescription) holds a control character, which a header value cannot")
            return nil
        }
        return text
    }

    /// A string that goes into a request target, a `Location` or a `Host`: visible ASCII only.
    func visibleASCII(allowEmpty: Bool = false) -> String? {
        guard let text = string(allowEmpty: allowEmpty) else { return nil }
        guard text.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
            error("\(text.debugDescription) must be visible ASCII: no space, control character or non-ASCII character (percent-encode those)")
            return nil
        }
        return text
    }

    func int(in range: ClosedRange<Int>) -> Int? {
        guard case .scalar(let scalar) = node, scalar.style == .plain, let value = node.int else {
            error("expected a whole number, found \(kindName)")
            return nil
        }
        guard range.contains(value) else {
            error("\(value) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    func double(in range: ClosedRange<Double>) -> Double? {
        guard case .scalar(let scalar) = node, scalar.style == .plain, let value = node.float else {
            error("expected a number, found \(kindName)")
            return nil
        }
        guard range.contains(value) else {
            error("\(value) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    func bool() -> Bool? {
        guard case .scalar(let scalar) = node, scalar.style == .plain, let value = node.bool else {
            error("expected true or false, found \(kindName)")
            return nil
        }
        return value
    }

    /// One of an enumeration's names (Istio spells them in capitals), or an error that lists them.
    func choice<Value>(_ choices: KeyValuePairs<String, Value>) -> Value? {
        guard let name = string() else { return nil }
        if let found = choices.first(where: { $0.key == name }) { return found.value }
        let names = choices.map(\.key)
        error("unknown value '\(name)': use \(names.dropLast().joined(separator: ", ")) or \(names.last!)")
        return nil
    }

    func stringList() -> [String]? {
        guard let items = list() else { return nil }
        let strings = items.compactMap { $0.string() }
        return strings.count == items.count ? strings : nil
    }

    /// A mapping of strings to strings (labels, header values).
    func stringMap() -> [(key: String, value: String)]? {
        guard let entries = entries() else { return nil }
        var result: [(key: String, value: String)] = []
        for entry in entries {
            guard let value = entry.value.string(allowEmpty: true) else { continue }
            result.append((entry.key, value))
        }
        return result.count == entries.count ? result : nil
    }

    /// A mapping of header names to field values (``fieldValue()``); entries with a bad value are
    /// reported and left out, so the names of the rest can still be checked.
    func fieldValueMap() -> [(key: String, value: String)]? {
        entries()?.compactMap { entry in entry.value.fieldValue().map { (key: entry.key, value: $0) } }
    }

    /// A list of field values (``fieldValue()``); bad ones are reported and left out.
    func fieldValueList() -> [String]? {
        list()?.compactMap { $0.fieldValue() }
    }

    /// A duration in Go / protobuf form: `10s`, `1.5s`, `1500ms`, `1m30s`, `100us`, `1h`. At least
    /// `minimum`.
    func duration(minimum: Duration = .milliseconds(1)) -> Duration? {
        guard let text = string() else { return nil }
        guard let value = Self.parseDuration(text) else {
            error("'\(text)' is not a duration (use e.g. 10s, 1.5s, 250ms, 1m30s)")
            return nil
        }
        guard value >= minimum else {
            error("'\(text)' is below the minimum of \(minimum)")
            return nil
        }
        return value
    }

    static func parseDuration(_ text: String) -> Duration? {
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        var total: Duration = .zero
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter || $0 == "µ" }
            rest = rest.dropFirst(unit.count)
            let nanoseconds: Double
            switch unit {
            case "ns": nanoseconds = 1
            case "us", "µs": nanoseconds = 1e3
            case "ms": nanoseconds = 1e6
            case "s": nanoseconds = 1e9
            case "m": nanoseconds = 60e9
            case "h": nanoseconds = 3600e9
            default: return nil
            }
            let amount = value * nanoseconds
            guard amount < 1e18 else { return nil }
            total += .nanoseconds(Int64(amount))
        }
        return total
    }

    /// A port number 1...65535.
    func port() -> UInt16? {
        int(in: 1...65535).map { UInt16($0) }
    }
}
