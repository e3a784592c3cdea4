import ConvoyRouter
import Testing

@Suite("Retry policy")
struct RetryPolicyTests {
    @Test("retryOn: conditions and bare codes parse; an unknown token is named")
    func parsing() throws {
        let parsed = try RetryPolicy.parseRetryOn("5xx, reset,connect-failure,503 ,cancelled").get()
        #expect(parsed.conditions == [.fiveXX, .reset, .connectFailure])
        #expect(parsed.statuses == [503])
        for (text, token) in [("5xxx", "5xxx"), ("reset,600", "600")] {
            guard case .failure(let unknown) = RetryPolicy.parseRetryOn(text) else {
                Issue.record("'\(text)' parsed")
                continue
            }
            #expect(unknown.token == token)
        }
    }

    @Test("which failures each condition retries")
    func matrix() {
        let fiveXX = RetryPolicy(attempts: 1, conditions: [.fiveXX])
        #expect(fiveXX.retries(.status(500)) && fiveXX.retries(.status(503)) && !fiveXX.retries(.status(404)))
        #expect(fiveXX.retries(.reset) && fiveXX.retries(.connectFailure) && fiveXX.retries(.perTryTimeout))
        let gateway = RetryPolicy(attempts: 1, conditions: [.gatewayError])
        #expect(gateway.retries(.status(502)) && gateway.retries(.status(504)) && !gateway.retries(.status(500)))
        #expect(!gateway.retries(.reset) && gateway.retries(.perTryTimeout))
        let reset = RetryPolicy(attempts: 1, conditions: [.reset])
        #expect(reset.retries(.reset) && !reset.retries(.status(503)) && !reset.retries(.perTryTimeout))
        let fourXX = RetryPolicy(attempts: 1, conditions: [.retriable4xx])
        #expect(fourXX.retries(.status(409)) && !fourXX.retries(.status(400)))
        let istio = RetryPolicy.istioDefault
        #expect(istio.attempts == 2 && istio.retries(.connectFailure) && istio.retries(.status(503)))
        #expect(!istio.retries(.status(500)) && !istio.retries(.reset))
    }

    @Test("backoff: fully jittered, below (2^N - 1) × base, capped at 10 × base")
    func backoff() {
        let policy = RetryPolicy(attempts: 5, conditions: [.fiveXX], backoffBase: .milliseconds(25))
        var random = FastRandom(seed: 7)
        for retry in 1...6 {
            let ceiling = min(Duration.milliseconds(250), .milliseconds(25) * ((1 << retry) - 1))
            var longest = Duration.zero
            for _ in 0..<2_000 {
                let delay = policy.backoff(beforeRetry: retry, random: &random)
                #expect(delay >= .zero && delay < ceiling)
                longest = max(longest, delay)
            }
            #expect(longest > ceiling * 0.9, "the whole range is used (retry \(retry))")
        }
    }

    @Test("budget: a share of active requests, at least the minimum")
    func budget() {
        let budget = RetryBudget(percent: 20, minRetryConcurrency: 3)
        #expect(budget.allowsRetry(activeRetries: 2, activeRequests: 4))
        #expect(!budget.allowsRetry(activeRetries: 3, activeRequests: 10))
        #expect(budget.allowsRetry(activeRetries: 19, activeRequests: 100))
        #expect(!budget.allowsRetry(activeRetries: 20, activeRequests: 100))
        #expect(!RetryBudget(percent: 0, minRetryConcurrency: 0).allowsRetry(activeRetries: 0, activeRequests: 50))
    }
}
