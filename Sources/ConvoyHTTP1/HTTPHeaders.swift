/// An ordered HTTP header map.
///
/// - Lookups ignore ASCII case; names keep the case they arrived or were added with, and the
///   encoder writes them that way.
/// - Names and values stay byte ranges into one block of storage (the copied message head) until
///   a `String` is asked for; ``withName(at:_:)`` and ``withValue(at:_:)`` give the bytes without
///   allocating.
/// - A value type with copy-on-write storage. Not `Sendable`: it belongs to the thread of the
///   codec that produced it, or to whichever thread built it.
public struct HTTPHeaders {
    var storage: HeaderStorage

    /// An empty map. Any thread.
    public init() {
        storage = HeaderStorage(byteCapacity: 256, fieldCapacity: 8)
    }

    init(storage: HeaderStorage) {
        self.storage = storage
    }

    /// A map holding `fields` in order. Any thread.
    public init(_ fields: [(name: String, value: String)]) {
        self.init()
        for field in fields { add(name: field.name, value: field.value) }
    }

    /// Number of fields. The owning thread.
    public var count: Int { storage.fieldCount }

    /// True when there are no fields. The owning thread.
    public var isEmpty: Bool { storage.fieldCount == 0 }

    /// The name of field `index`, as it was received or added. The owning thread.
    public func name(at index: Int) -> String {
        let field = checkedField(index)
        return storage.string(start: field.nameStart, length: field.nameLength)
    }

    /// The value of field `index`, without surrounding whitespace. The owning thread.
    public func value(at index: Int) -> String {
        let field = checkedField(index)
        return storage.string(start: field.valueStart, length: field.valueLength)
    }

    /// Calls `body` with the bytes of field `index`'s name (valid only during the call). The owning thread.
    public func withName<Result>(at index: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let field = checkedField(index)
        return try body(storage.bufferPointer(start: field.nameStart, length: field.nameLength))
    }

    /// Calls `body` with the bytes of field `index`'s value (valid only during the call). The owning thread.
    public func withValue<Result>(at index: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let field = checkedField(index)
        return try body(storage.bufferPointer(start: field.valueStart, length: field.valueLength))
    }

    /// The index of the first field named `name` (any case) at or after `start`. The owning thread.
    public func firstIndex(of name: String, from start: Int = 0) -> Int? {
        // A native string's bytes are read in place; only a bridged one is copied first.
        if let found = name.utf8.withContiguousStorageIfAvailable({ storage.indexOfField(named: UnsafeRawBufferPointer($0), from: start) }) {
            return found
        }
        var name = name
        return name.withUTF8 { storage.indexOfField(named: UnsafeRawBufferPointer($0), from: start) }
    }

    /// The first value of `name` (any case), or nil. The owning thread.
    public subscript(name: String) -> String? {
        firstIndex(of: name).map { value(at: $0) }
    }

    /// Every value of `name` (any case), in order. The owning thread.
    public func values(of name: String) -> [String] {
        var result: [String] = []
        var index = firstIndex(of: name)
        while let found = index {
            result.append(value(at: found))
            index = firstIndex(of: name, from: found + 1)
        }
        return result
    }

    /// True when a field named `name` (any case) is present. The owning thread.
    public func contains(_ name: String) -> Bool { firstIndex(of: name) != nil }

    /// Appends a field (an existing one with the same name stays). The owning thread.
    public mutating func add(name: String, value: String) {
        makeUnique()
        let name = storage.appendString(name)
        let value = storage.appendString(value)
        storage.appendField(HeaderField(nameStart: name.start, nameLength: name.length, valueStart: value.start, valueLength: value.length))
    }

    /// Appends a field whose `valueLength`-byte value `body` writes in place, for values built
    /// from numbers or random bits without an intermediate `String`. `body` must write only
    /// field-value bytes (visible ASCII, space, tab). The owning thread.
    public mutating func add(name: String, valueLength: Int, writingValue body: (UnsafeMutableRawBufferPointer) -> Void) {
        makeUnique()
        let name = storage.appendString(name)
        storage.reserveBytes(valueLength)
        let valueStart = storage.byteCount
        body(UnsafeMutableRawBufferPointer(start: storage.bytes + valueStart, count: valueLength))
        storage.byteCount += valueLength
        storage.appendField(HeaderField(nameStart: name.start, nameLength: name.length, valueStart: Int32(valueStart), valueLength: Int32(valueLength)))
    }

    /// Replaces every field named `name` by one field with `value`, at the first one's place
    /// (appended when there was none). The owning thread.
    public mutating func set(name: String, value: String) {
        guard let first = firstIndex(of: name) else {
            add(name: name, value: value)
            return
        }
        makeUnique()
        while let next = firstIndex(of: name, from: first + 1) { storage.removeField(at: next) }
        let value = storage.appendString(value)
        storage.fields[first].valueStart = value.start
        storage.fields[first].valueLength = value.length
    }

    /// Removes every field named `name` (any case); returns how many were removed. The owning thread.
    @discardableResult
    public mutating func remove(_ name: String) -> Int {
        guard var index = firstIndex(of: name) else { return 0 }
        makeUnique()
        var removed = 0
        while true {
            storage.removeField(at: index)
            removed += 1
            guard let next = firstIndex(of: name, from: index) else { return removed }
            index = next
        }
    }

    /// Removes field `index`. The owning thread.
    public mutating func remove(at index: Int) {
        _ = checkedField(index)
        makeUnique()
        storage.removeField(at: index)
    }

    /// Replaces the request target or reason phrase kept with these fields.
    mutating func setLineText(_ text: String) {
        makeUnique()
        let range = storage.appendString(text)
        storage.lineTextStart = range.start
        storage.lineTextLength = range.length
        storage.targetMayNeedNormalizing = true
    }

    /// Empties these headers and gives the storage behind them to the calling thread's pool when
    /// nothing else holds it, so the next parsed or edited head reuses it instead of allocating:
    /// a proxy that edits every head it forwards calls this once it has sent one. A storage still
    /// shared is just released. The owning thread.
    public mutating func recycle() {
        let unique = storage !== HeaderStoragePool.placeholder && isKnownUniquelyReferenced(&storage)
        let taken = storage
        storage = HeaderStoragePool.placeholder
        if unique { HeaderStoragePool.withCurrent { $0.give(taken) } }
    }

    @inline(__always)
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    private func checkedField(_ index: Int) -> HeaderField {
        precondition(index >= 0 && index < storage.fieldCount, "HTTPHeaders index \(index) out of range 0..<\(storage.fieldCount)")
        return storage.fields[index]
    }
}

extension HTTPHeaders: Sequence {
    /// Fields as `(name, value)` strings, in order. The owning thread.
    public func makeIterator() -> some IteratorProtocol<(name: String, value: String)> {
        var index = 0
        let headers = self
        return AnyIterator {
            guard index < headers.count else { return nil }
            defer { index += 1 }
            return (headers.name(at: index), headers.value(at: index))
        }
    }
}

extension HTTPHeaders: Equatable {
    /// Same fields in the same order, names compared ignoring case, values exactly. Any thread.
    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for index in 0..<lhs.count {
            guard lhs.name(at: index).lowercased() == rhs.name(at: index).lowercased(),
                  lhs.value(at: index) == rhs.value(at: index) else { return false }
        }
        return true
    }
}

extension HTTPHeaders: ExpressibleByDictionaryLiteral {
    /// A map holding the literal's fields in order. Any thread.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements.map { (name: $0.0, value: $0.1) })
    }
}

extension HTTPHeaders: CustomStringConvertible {
    /// `Name: value` lines. Any thread.
    public var description: String {
        map { "\($0.name): \($0.value)" }.joined(separator: "\n")
    }
}
