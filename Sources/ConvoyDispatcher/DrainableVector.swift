/// A growable FIFO of elements in manually managed memory, for the dispatcher's post queue and
/// deferred-delete list.
///
/// Why not `Array`: draining an array copies each element out (a retain) and destroys it later (a
/// release), and every store checks uniqueness. Here ``drain(_:)`` *moves* each element out to
/// the caller, which destroys it before the next one is taken — exactly once, in order, with no
/// extra reference counting — and the storage keeps its capacity, so steady state allocates
/// nothing. Non-copyable, so it can never be shared by accident. Confined to one thread at a time
/// (the owner's lock or thread).
struct DrainableVector<Element>: ~Copyable {
    private var storage: UnsafeMutablePointer<Element>?
    private(set) var count = 0
    private var capacity = 0

    init() {}

    deinit {
        if let storage {
            storage.deinitialize(count: count)
            storage.deallocate()
        }
    }

    var isEmpty: Bool { count == 0 }

    @inline(__always)
    mutating func append(_ element: consuming Element) {
        if count == capacity { grow() }
        (storage! + count).initialize(to: element)
        count += 1
    }

    /// Hands every element to `body` in insertion order, moving it out, and leaves the vector
    /// empty with its capacity. Elements appended to *this* vector by `body` are not allowed;
    /// callers drain a batch they swapped out of the live queue.
    @inline(__always)
    mutating func drain(_ body: (consuming Element) -> Void) {
        guard let storage else { return }
        let drained = count
        count = 0
        for index in 0..<drained {
            body((storage + index).move())
        }
    }

    /// Exchanges contents with `other` without touching the elements.
    @inline(__always)
    mutating func exchange(with other: inout DrainableVector<Element>) {
        let (otherStorage, otherCount, otherCapacity) = (other.storage, other.count, other.capacity)
        other.storage = storage
        other.count = count
        other.capacity = capacity
        storage = otherStorage
        count = otherCount
        capacity = otherCapacity
    }

    private mutating func grow() {
        let newCapacity = Swift.max(64, capacity * 2)
        let newStorage = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        if let storage {
            newStorage.moveInitialize(from: storage, count: count)
            storage.deallocate()
        }
        storage = newStorage
        capacity = newCapacity
    }
}
