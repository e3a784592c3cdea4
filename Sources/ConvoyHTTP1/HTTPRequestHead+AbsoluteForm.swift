extension HTTPRequestHead {
    /// Turns an absolute-form target (`http://host:port/path?query`) into origin-form, as RFC 9112
    /// §3.2.2 asks of a server: the URL's authority replaces `Host` (which must be ignored), and
    /// the target becomes the URL's path and query (`/` when the path is empty). A proxy that
    /// skipped this would route on one host and path while the upstream serves another: rules for
    /// `/admin` would not match `http://site/admin`, which servers answer as `/admin`.
    ///
    /// Returns false when the target is absolute-form but not a usable `http` or `https` URL
    /// (another scheme, no host, userinfo, a fragment): the request should be answered 400. Other
    /// targets (origin-form, `*`, `host:port`) are left alone. The owning thread.
    public mutating func convertAbsoluteFormTarget() -> Bool {
        switch withTargetBytes(Self.absoluteFormParts) {
        case .notAbsoluteForm:
            return true
        case .unusable:
            return false
        case .absoluteForm(let authority, let originForm):
            headers.set(name: "Host", value: authority)
            target = originForm
            return true
        }
    }

    private enum TargetForm {
        case notAbsoluteForm
        case absoluteForm(authority: String, originForm: String)
        case unusable
    }

    private static func absoluteFormParts(_ target: UnsafeRawBufferPointer) -> TargetForm {
        guard let first = target.first, first != UInt8(ascii: "/"), first != UInt8(ascii: "*"),
              let colon = target.firstIndex(of: UInt8(ascii: ":")), target.count - colon >= 3,
              target[colon + 1] == UInt8(ascii: "/"), target[colon + 2] == UInt8(ascii: "/")
        else { return .notAbsoluteForm }  // origin-form, asterisk-form, authority-form
        let scheme = String(decoding: target[..<colon], as: UTF8.self).lowercased()
        guard scheme == "http" || scheme == "https" else { return .unusable }
        let authorityStart = colon + 3
        let authorityEnd = target[authorityStart...].firstIndex {
            $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#")
        } ?? target.count
        let authority = target[authorityStart..<authorityEnd]
        let rest = target[authorityEnd...]
        guard !authority.isEmpty, authority.first != UInt8(ascii: ":"), !rest.contains(UInt8(ascii: "#")),
              isValidHost(target.baseAddress!.assumingMemoryBound(to: UInt8.self), from: authorityStart, to: authorityEnd)
        else { return .unusable }  // no host, userinfo, a fragment, a byte no host holds
        let pathAndQuery = String(decoding: rest, as: UTF8.self)
        return .absoluteForm(authority: String(decoding: authority, as: UTF8.self),
                             originForm: rest.first == UInt8(ascii: "/") ? pathAndQuery : "/" + pathAndQuery)
    }
}
