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
