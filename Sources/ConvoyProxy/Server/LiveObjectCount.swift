/// A count of live objects of one kind, shared by the objects (which outlive the counter's
/// other owners at times). Confined to one thread.
final class LiveObjectCount {
    @exclusivity(unchecked) var value = 0
}
