import ConvoyDispatcher
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Writes access-log lines to a file (or `/dev/stdout`) on a thread of its own, so a slow disk
/// never blocks a worker: workers hand over whole batches (one per loop iteration) under a lock
/// and go on; the writer thread makes the `write` calls. Any thread.
final class AccessLogWriter: Sendable {
    let format: AccessLogFormat
    private let fd: Int32
    private let pending = Mutex<(bytes: [UInt8], stopping: Bool)>(([], false))
    private let wakeup = DispatchSemaphore(value: 0)
    private let thread: Mutex<PosixThread?> = Mutex(nil)

    /// Opens `path` for appending (created when missing) and starts the writer thread.
    /// - Throws: ``AccessLogError`` when the file cannot be opened.
    init(path: String, format: AccessLogFormat) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AccessLogError(path: path, errno: errno) }
        self.fd = fd
        self.format = format
        let started = try PosixThread(name: "access_log") { [self] in self.writeLoop() }
        thread.withLock { $0 = started }
    }

    /// Queues `bytes` (whole lines) for writing. Any thread; never blocks on the disk.
    func submit(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        let wasEmpty = pending.withLock { state in
            let empty = state.bytes.isEmpty
            state.bytes.append(contentsOf: bytes)
            return empty
        }
        if wasEmpty { wakeup.signal() }
    }

    /// Writes what is queued, then stops the thread and closes the file. Any thread; once.
    func stop() {
        pending.withLock { $0.stopping = true }
        wakeup.signal()
        thread.withLock { $0 }?.join()
        close(fd)
    }

    private func writeLoop() {
        while true {
            wakeup.wait()
            let (batch, stopping) = pending.withLock { state in
                let batch = state.bytes
                state.bytes.removeAll(keepingCapacity: true)
                return (batch, state.stopping)
            }
            batch.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return  // the disk refuses: drop this batch rather than stall
                    }
                    offset += written
                }
            }
            if stopping { return }
        }
    }
}

/// The access log's file could not be opened. Any thread.
public struct AccessLogError: Error, CustomStringConvertible, Sendable {
    /// The path. Any thread.
    public let path: String
    /// `errno` from `open`. Any thread.
    public let errno: Int32

    /// Says which file and why. Any thread.
    public var description: String { "access log \(path): \(String(cString: strerror(errno)))" }
}
