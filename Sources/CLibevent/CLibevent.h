// The one header of the CLibevent system-library module: libevent's core event API and its
// pthreads locking glue, plus Linux's epoll (which the Glibc module leaves out) for
// FileEventSet's watch set. Only ConvoyDispatcher imports this module, and only internally.
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
#endif

#include <event2/event.h>
#include <event2/thread.h>

#endif
