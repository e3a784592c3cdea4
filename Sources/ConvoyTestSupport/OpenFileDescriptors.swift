#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Counts the process's open file descriptors (entries of `/proc/self/fd`, or of `/dev/fd` where
/// there is no procfs), for leak checks. Any thread.
public func openFileDescriptorCount() -> Int {
    guard let directory = opendir("/proc/self/fd") ?? opendir("/dev/fd") else { return -1 }
    defer { closedir(directory) }
    var count = 0
    while let entry = readdir(directory) {
        let isDot = withUnsafeBytes(of: entry.pointee.d_name) { $0.first == UInt8(ascii: ".") }
        if !isDot { count += 1 }
    }
    return count - 1  // the directory stream's own descriptor
}

/// Counts the process's open sockets (descriptors whose `/proc/self/fd` link is `socket:[…]`):
/// a leak check that other threads' bookkeeping descriptors (libdispatch's epoll, eventfd and
/// timerfd, pipes) cannot disturb. Linux only; -1 elsewhere. Any thread.
public func openSocketCount() -> Int {
    guard let directory = opendir("/proc/self/fd") else { return -1 }
    defer { closedir(directory) }
    var count = 0
    var target = [CChar](repeating: 0, count: 64)
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        guard !name.hasPrefix(".") else { continue }
        let length = readlink("/proc/self/fd/\(name)", &target, target.count - 1)
        guard length > 0 else { continue }
        let link = String(decoding: target[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if link.hasPrefix("socket:") { count += 1 }
    }
    return count
}
