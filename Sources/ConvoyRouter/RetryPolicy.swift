/// When and how often a route retries a failed upstream attempt: Istio's `HTTPRetry` with
/// Envoy's semantics. Immutable (a class: a request holds it for one retain); any thread.
///
/// - `attempts` retries at most (total tries = 1 + attempts), each preferring a host not tried
///   yet; the route's `timeout` covers all of them, `perTryTimeout` each one.
/// - Conditions (`retryOn`): `5xx` (a 5xx response, a reset, a per-try timeout or a connect
///   failure), `gateway-error` (502, 503, 504 responses, per-try timeouts), `reset` (the
///   upstream closed or broke the protocol before a response), `connect-failure`,
///   `refused-stream` (HTTP/1.1 has none: accepted and inert), `retriable-4xx` (409), and bare
///   status codes (a real upstream response with that status).
/// - Between tries, fully jittered exponential backoff: retry N waits a random time in
///   `[0, (2^N - 1) × base)`, capped at `10 × base`.
public final class RetryPolicy: Sendable {
    /// A retry condition of `retryOn`. Any thread.
    public enum Condition: Hashable, Sendable {
        case fiveXX, gatewayError, reset, connectFailure, refusedStream, retriable4xx
    }

    /// Why an attempt failed, as the retry decision sees it. Any thread.
    public enum Failure: Sendable, Equatable {
        /// The TCP connect failed (refused, timed out).
        case connectFailure
        /// The connection closed or broke before a whole response head arrived.
        case reset
        /// The per-try timeout expired.
        case perTryTimeout
        /// A complete response head with this status.
        case status(Int)
    }

    /// Retries after the first try. Any thread.
    public let attempts: Int
    /// Each try's own timeout (nil: only the route timeout). Any thread.
    public let perTryTimeout: Duration?
    /// The `retryOn` conditions. Any thread.
    public let conditions: Set<Condition>
    /// Response statuses retried as such (bare codes in `retryOn`). Any thread.
    public let statuses: Set<Int>
    /// The backoff base interval. Any thread.
    public let backoffBase: Duration
    /// Retries prefer hosts not tried yet for this request (Istio's `retryIgnorePreviousHosts`,
    /// default true). Any thread.
    public let avoidsPreviousHosts: Bool
    /// The lowest status any condition retries: responses below it (nearly all) are judged
    /// without a set lookup.
    private let lowestRetriedStatus: Int

    /// A policy. Any thread.
    public init(attempts: Int, perTryTimeout: Duration? = nil, conditions: Set<Condition>, statuses: Set<Int> = [],
                backoffBase: Duration = .milliseconds(25), avoidsPreviousHosts: Bool = true) {
        self.attempts = max(0, attempts)
        self.perTryTimeout = perTryTimeout
        self.conditions = conditions
        self.statuses = statuses
        self.backoffBase = backoffBase
        self.avoidsPreviousHosts = avoidsPreviousHosts
        var lowest = statuses.min() ?? 600
        if conditions.contains(.retriable4xx) { lowest = min(lowest, 409) }
        if conditions.contains(.fiveXX) { lowest = min(lowest, 500) }
        if conditions.contains(.gatewayError) { lowest = min(lowest, 502) }
        lowestRetriedStatus = lowest
    }

    /// Istio's policy for a route without `retries`: 2 retries on connect failures, refused
    /// streams and 503 responses. Any thread.
    public static let istioDefault = RetryPolicy(attempts: 2, conditions: [.connectFailure, .refusedStream], statuses: [503])

    /// Parses an Istio `retryOn` list (`"5xx,reset,503"`): the conditions and status codes, or
    /// the first unknown token. gRPC conditions (`cancelled`, `unavailable`, …) are accepted and
    /// inert over HTTP/1.1. Any thread.
    public static func parseRetryOn(_ text: String) -> Result<(conditions: Set<Condition>, statuses: Set<Int>), UnknownRetryCondition> {
        var conditions: Set<Condition> = []
        var statuses: Set<Int> = []
        for token in text.split(separator: ",").map({ $0.trimmingSpaces() }) where !token.isEmpty {
            switch token {
            case "5xx": conditions.insert(.fiveXX)
            case "gateway-error": conditions.insert(.gatewayError)
            case "reset", "reset-before-request": conditions.insert(.reset)
            case "connect-failure": conditions.insert(.connectFailure)
            case "refused-stream": conditions.insert(.refusedStream)
            case "retriable-4xx": conditions.insert(.retriable4xx)
            case "retriable-status-codes", "cancelled", "unavailable", "deadline-exceeded", "internal",
                 "resource-exhausted", "http3-post-connect-failure", "envoy-ratelimited", "retriable-headers":
                break
            default:
                guard let status = Int(token), (100...599).contains(status) else { return .failure(UnknownRetryCondition(token: token)) }
                statuses.insert(status)
            }
        }
        return .success((conditions, statuses))
    }

    /// True when `failure` is one this policy retries. Any thread.
    public func retries(_ failure: Failure) -> Bool {
        switch failure {
        case .connectFailure:
            return !conditions.isDisjoint(with: [.connectFailure, .fiveXX, .gatewayError])
        case .reset:
            return !conditions.isDisjoint(with: [.reset, .fiveXX])
        case .perTryTimeout:
            return !conditions.isDisjoint(with: [.fiveXX, .gatewayError])
        case .status(let status):
            if status < lowestRetriedStatus { return false }
            if statuses.contains(status) { return true }
            if status >= 500 && status <= 599 && conditions.contains(.fiveXX) { return true }
            if (502...504).contains(status) && conditions.contains(.gatewayError) { return true }
            return status == 409 && conditions.contains(.retriable4xx)
        }
    }

    /// The wait before retry number `retry` (1 for the first), drawn with `random`. Any thread.
    public func backoff(beforeRetry retry: Int, random: inout FastRandom) -> Duration {
        let baseNanoseconds = max(Int64(1), backoffBase.nanosecondsRoundedDown)
        let cap = baseNanoseconds * 10
        let exponent = min(max(retry, 1), 20)
        let ceiling = min(cap, ((Int64(1) << exponent) - 1) * baseNanoseconds)
        return .nanoseconds(Int64(random.below(Int(max(ceiling, 1)))))
    }
}

/// A `retryOn` token that is neither a known condition nor a status code. Any thread.
public struct UnknownRetryCondition: Error, Sendable, Equatable {
    /// The token as written. Any thread.
    public let token: String
}

extension Duration {
    fileprivate var nanosecondsRoundedDown: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        var slice = self
        while slice.first == " " || slice.first == "\t" { slice = slice.dropFirst() }
        while slice.last == " " || slice.last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
