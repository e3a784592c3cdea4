// The dispatcher operations written directly against libevent in C, so that every Swift figure in
// the benchmarks has its physical-limit partner measured in the same run. Each function does the
// same libevent calls ConvoyDispatcher makes for the operation, with nothing around them.
#ifndef CONVOY_LIBEVENT_BASELINE_H
#define CONVOY_LIBEVENT_BASELINE_H

#include <stdint.h>

typedef struct baseline_loop baseline_loop;

/// A base with pthread locking, a post queue (mutex + event_active wake-up) and a deferred-delete
/// list, like Dispatcher. NULL on failure.
baseline_loop *baseline_loop_new(void);
void baseline_loop_free(baseline_loop *loop);

/// One `event_base_loop(EVLOOP_NONBLOCK | EVLOOP_ONCE)` iteration.
void baseline_run_nonblock(baseline_loop *loop);

/// `count` posts from the loop's own thread, each running a callback that bumps a counter; the
/// loop runs one iteration every `batch` posts. Returns the number of callbacks run.
uint64_t baseline_post_local(baseline_loop *loop, uint64_t count, uint64_t batch);

/// `producers` threads post `per_producer` tasks each while the loop thread runs until all ran.
/// Returns the number of callbacks run.
uint64_t baseline_post_threads(baseline_loop *loop, int producers, uint64_t per_producer);

/// `count` times: arm a 1 s timer (event_add), disarm it (event_del).
uint64_t baseline_timer_churn(baseline_loop *loop, uint64_t count);

/// `count` times: inject readiness into an fd event through its zero-timeout activation event,
/// run one iteration, and see the callback. Returns callbacks seen.
uint64_t baseline_activate_round_trips(baseline_loop *loop, uint64_t count);

/// `count` one-byte round trips over a socketpair, both ends watched by edge-triggered read
/// events. Returns round trips completed.
uint64_t baseline_ping_pong(baseline_loop *loop, uint64_t count);

/// `count` times: allocate a 32-byte object and defer its deletion; one iteration every `batch`
/// objects frees them FIFO. Returns objects freed.
uint64_t baseline_deferred_delete_churn(baseline_loop *loop, uint64_t count, uint64_t batch);
/// The floor under the churn: the same objects malloc'd and freed in the same batches, no loop.
uint64_t baseline_object_lifetime(uint64_t count, uint64_t batch);

/// `count` echo round trips of `size`-byte messages over loopback TCP inside one base: an
/// evconnlistener whose bufferevents echo what they read, and a client bufferevent that sends a
/// message and waits for its echo before sending the next. Returns round trips completed.
uint64_t baseline_echo_round_trips(baseline_loop *loop, uint64_t count, uint64_t size);

#endif
