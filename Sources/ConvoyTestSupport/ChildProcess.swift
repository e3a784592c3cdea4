#if canImport(Glibc)
import Glibc
#endif

/// A program started for a test with `posix_spawn`, its output (stdout and stderr together) going
/// to a file, so no pipe can fill up and block it. Use it from one thread.
public final class ChildProcess {
    /// The process id. The calling thread.
    public let pid: pid_t
    /// Where its output goes. The calling thread.
    public let outputPath: String
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments`, its standard input read from `standardInput`
    /// (default `/dev/null`). The calling thread.
    /// - Throws: the `posix_spawn` error number as a ``SpawnError``.
    public init(_ executable: String, _ arguments: [String], standardInput: String = "/dev/null") throws {
        outputPath = "/tmp/convoy-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, standardInput, O_RDONLY, 0)
        // Test threads (libdispatch's) block signals and the mask is inherited: start the child
        // with none blocked and default handlers, as a shell would.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, &attributes, argv, environ)
        guard result == 0 else { throw SpawnError(executable: executable, errno: result) }
        pid = child
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            _ = wait()
        }
        unlink(outputPath)
    }

    /// Sends `signal`. The calling thread.
    public func signal(_ signal: Int32) {
        kill(pid, signal)
    }

    /// Waits for the process to end; its exit code (128 + signal when killed). The calling thread.
    @discardableResult
    public func wait() -> Int32 {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        exitStatus = code
        return code
    }

    /// What it has written so far. The calling thread.
    public var output: String {
        guard let file = fopen(outputPath, "r") else { return "" }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A field of `/proc/PID/status` in kB (e.g. `VmHWM`, peak resident memory), or nil. The calling thread.
    public func statusKilobytes(_ field: String) -> Int? {
        guard let file = fopen("/proc/\(pid)/status", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix(field + ":") {
                return Int(text.dropFirst(field.count + 1).filter(\.isNumber))
            }
        }
        return nil
    }

    /// The directory of the running test binary, where SwiftPM also puts the package's
    /// executables (`convoy`, examples). Any thread.
    public static var buildProductsDirectory: String {
        var path = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &path, path.count - 1)
        guard length > 0 else { return "." }
        let full = String(decoding: path[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var directory = full[..<(full.lastIndex(of: "/") ?? full.endIndex)]
        // xctest bundles on Linux are plain executables; a `.xctest` directory may wrap one.
        if directory.hasSuffix(".xctest") { directory = directory[..<(directory.lastIndex(of: "/") ?? directory.endIndex)] }
        return String(directory)
    }
}

/// `posix_spawn` failed. Any thread.
public struct SpawnError: Error, CustomStringConvertible {
    /// The program. Any thread.
    public let executable: String
    /// The error number. Any thread.
    public let errno: Int32
    /// What failed. Any thread.
    public var description: String { "could not start \(executable) (errno \(errno))" }
}
