// The one header of the CLibevent system-library module: libevent's core event API and its
// pthreads locking glue, plus Linux's epoll (which the Glibc module leaves out) for
// FileEventSet's watch set, the futex lock behind the post queue, and PerThread's thread-local
// slots. Only ConvoyDispatcher imports this module, and only internally.
#ifndef CONVOY_CLIBEVENT_H
#define CONVOY_CLIBEVENT_H

// libevent's event-config.h defines _GNU_SOURCE. System headers first pulled in after that would
// be compiled with different feature macros than Glibc's and Dispatch's modules use (fd_set gets
// another member name), and clang rejects the two definitions as a conflict in any module that
// imports both. Including them here, before any libevent header, keeps them identical.
#include <sys/types.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#ifdef __linux__
#include <sys/epoll.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

// A futex lock for the dispatcher's post queue (Drepper's "Futexes Are Tricky", mutex 3): 0 free,
// 1 held, 2 held with sleepers. Taking a free lock is one compare-and-swap and releasing one
// nobody waits for is one exchange; a released lock may be re-taken by a running thread before a
// woken one gets to it, as with a default pthread mutex, so many producers on few cores do not
// convoy. Written in C because the system call is variadic and Swift cannot call it.
static inline void convoy_futex_lock_contended(uint32_t *state) {
    for (int spin = 0; spin < 100; spin++) {
        if (__atomic_load_n(state, __ATOMIC_RELAXED) == 0) {
            uint32_t expected = 0;
            if (__atomic_compare_exchange_n(state, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
        }
    }
    while (__atomic_exchange_n(state, 2, __ATOMIC_ACQUIRE) != 0) {
        syscall(SYS_futex, state, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
    }
}

static inline void convoy_futex_lock(uint32_t *state) {
    uint32_t expected = 0;
    if (!__atomic_compare_exchange_n(state, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        convoy_futex_lock_contended(state);
    }
}

static inline void convoy_futex_unlock(uint32_t *state) {
    if (__atomic_exchange_n(state, 0, __ATOMIC_RELEASE) == 2) {
        syscall(SYS_futex, state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
}
#endif

// PerThread's values: a thread-local array, read with no call and no lock (a pthread key costs a
// call and a lookup on every read). Each PerThread instance owns one index.
#define CONVOY_THREAD_SLOTS 8
static inline void **convoy_thread_slots(void) {
    static __thread void *slots[CONVOY_THREAD_SLOTS];
    return slots;
}

#include <event2/event.h>
#include <event2/thread.h>

#endif
