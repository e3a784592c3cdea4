extension HTTPHeaders {
    /// Removes the hop-by-hop fields (RFC 9110 §7.6.1: connection, keep-alive, proxy-connection,
    /// te, transfer-encoding, trailer, upgrade) and every field the `Connection` header nominates, as a
    /// proxy does before forwarding. One pass over the bytes, no allocation unless a field goes
    /// (then the storage is made unique once). The owning thread.
    public mutating func removeHopByHopFields() {
        guard storage.mayHoldHopByHopFields else { return }  // a parsed head without any
        var nominatesOthers = false  // a Connection option other than close and keep-alive
        var hasHopByHopField = false
        for index in 0..<storage.fieldCount {
            let field = storage.fields[index]
            switch hopByHopKind(field) {
            case .connection:
                hasHopByHopField = true
                if !nominatesOthers { nominatesOthers = listsOptionsBesidesCloseAndKeepAlive(field) }
            case .other: hasHopByHopField = true
            case .none: break
            }
        }
        guard hasHopByHopField else { return }  // nothing is nominated without a Connection field
        defer { storage.mayHoldHopByHopFields = false }
        makeUnique()
        let storage = self.storage
        var kept = 0
        for index in 0..<storage.fieldCount {
            let field = storage.fields[index]
            if hopByHopKind(field) != nil { continue }
            if nominatesOthers, isNominatedByConnection(field) { continue }
            storage.fields[kept] = field
            kept += 1
        }
        storage.fieldCount = kept
    }

    private enum HopByHopKind { case connection, other }

    @inline(__always)
    private func hopByHopKind(_ field: HeaderField) -> HopByHopKind? {
        let name = UnsafePointer(storage.bytes) + Int(field.nameStart)
        switch field.nameLength {
        case 2: return matches(name, "te") ? .other : nil
        case 7: return matches(name, "upgrade") || matches(name, "trailer") ? .other : nil
        case 10:
            if matches(name, "connection") { return .connection }
            return matches(name, "keep-alive") ? .other : nil
        case 16: return matches(name, "proxy-connection") ? .other : nil
        case 17: return matches(name, "transfer-encoding") ? .other : nil
        default: return nil
        }
    }

    private func listsOptionsBesidesCloseAndKeepAlive(_ connection: HeaderField) -> Bool {
        let bytes = UnsafePointer(storage.bytes)
        let value = Int(connection.valueStart)..<Int(connection.valueStart + connection.valueLength)
        if equalsIgnoringCase(bytes, value, "keep-alive") || equalsIgnoringCase(bytes, value, "close") { return false }
        var found = false
        forEachListElement(bytes, Int(connection.valueStart)..<Int(connection.valueStart + connection.valueLength)) { start, end in
            found = start < end && !equalsIgnoringCase(bytes, start..<end, "keep-alive") && !equalsIgnoringCase(bytes, start..<end, "close")
            return !found
        }
        return found
    }

    /// True when some `Connection` field lists `field`'s name as an option.
    private func isNominatedByConnection(_ field: HeaderField) -> Bool {
        let bytes = UnsafePointer(storage.bytes)
        let name = UnsafeRawBufferPointer(start: bytes + Int(field.nameStart), count: Int(field.nameLength))
        for index in 0..<storage.fieldCount {
            let connection = storage.fields[index]
            guard connection.nameLength == 10, matches(bytes + Int(connection.nameStart), "connection") else { continue }
            var found = false
            let value = Int(connection.valueStart)..<Int(connection.valueStart + connection.valueLength)
            forEachListElement(bytes, value) { start, end in
                found = end - start == name.count && asciiCaseInsensitiveEqual(bytes + start, name)
                return !found
            }
            if found { return true }
        }
        return false
    }
}

extension HTTPHeaders {
    /// True when a `Connection` field lists `option` (lower case), compared as a token ignoring
    /// case, without allocating. The owning thread.
    func hasConnectionOption(_ option: StaticString) -> Bool {
        let storage = self.storage
        guard storage.mayHoldHopByHopFields else { return false }  // no Connection field
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

extension HTTPHeaders {
    /// The idle time a `Keep-Alive: timeout=N` field announces (RFC 2068 §19.7.1.1, still sent by
    /// Apache, Node.js and others): how long the sender keeps an idle connection open. Nil when
    /// there is no such field or parameter. Costs a flag check for a parsed head without the
    /// field. The owning thread.
    @inline(__always)
    public var keepAliveTimeout: Duration? {
        storage.mayHoldKeepAliveField ? parsedKeepAliveTimeout() : nil
    }

    /// The first `Keep-Alive` field's `timeout` parameter, read in place: `name = value` list
    /// elements (spaces around `=` allowed), the value digits, optionally quoted.
    private func parsedKeepAliveTimeout() -> Duration? {
        guard let index = firstIndex(of: "keep-alive") else { return nil }
        let storage = self.storage
        let bytes = UnsafePointer(storage.bytes)
        let field = storage.fields[index]
        var seconds: Int?
        forEachListElement(bytes, Int(field.valueStart)..<Int(field.valueStart + field.valueLength)) { start, end in
            guard let equals = (start..<end).first(where: { bytes[$0] == 0x3D }) else { return true }
            var nameEnd = equals
            while nameEnd > start, bytes[nameEnd - 1] == asciiSpace || bytes[nameEnd - 1] == asciiTab { nameEnd -= 1 }
            guard equalsIgnoringCase(bytes, start..<nameEnd, "timeout") else { return true }
            var valueStart = equals + 1, valueEnd = end
            while valueStart < valueEnd, bytes[valueStart] == asciiSpace || bytes[valueStart] == asciiTab { valueStart += 1 }
            if valueEnd - valueStart >= 2, bytes[valueStart] == 0x22, bytes[valueEnd - 1] == 0x22 { valueStart += 1; valueEnd -= 1 }
            seconds = Int(String(decoding: UnsafeRawBufferPointer(start: bytes + valueStart, count: valueEnd - valueStart), as: UTF8.self))
            return false
        }
        guard let seconds, seconds >= 0 else { return nil }
        return .seconds(seconds)
    }
}
