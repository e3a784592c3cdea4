/// Traps with `message` when `condition` is false, in every build configuration (Swift's
/// `precondition` drops its message in optimized builds, and a misuse trap that does not say what
/// was misused is useless to whoever reads the crash).
@inline(__always)
package func trapUnless(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition { fatalError(message(), file: file, line: line) }
}
