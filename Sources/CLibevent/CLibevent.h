// The one header of the CLibevent system-library module: libevent's core event API and its
// pthreads locking glue. Only ConvoyDispatcher imports this module, and only internally.
#ifndef CONVOY_CLIBEVENT_H
#define CONVOY_CLIBEVENT_H

#include <event2/event.h>
#include <event2/thread.h>

#endif
