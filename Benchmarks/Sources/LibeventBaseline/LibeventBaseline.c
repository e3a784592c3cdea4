#include "LibeventBaseline.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    void (*fn)(void *);
    void *arg;
} posted_task;

typedef struct {
    posted_task *items;
    size_t count;
    size_t capacity;
} task_vector;

typedef struct {
    void **items;
    size_t count;
    size_t capacity;
} pointer_vector;

struct baseline_loop {
    struct event_base *base;
    pthread_mutex_t post_lock;
    task_vector posted;
    task_vector draining;
    struct event *post_event;
    pointer_vector pending_deletes;
    pointer_vector spare_deletes;
    struct event *delete_event;
    uint64_t posted_run;
    uint64_t deleted;
};

static void task_vector_push(task_vector *vector, posted_task task) {
    if (vector->count == vector->capacity) {
        vector->capacity = vector->capacity ? vector->capacity * 2 : 64;
        vector->items = realloc(vector->items, vector->capacity * sizeof(posted_task));
    }
    vector->items[vector->count++] = task;
}

static void pointer_vector_push(pointer_vector *vector, void *item) {
    if (vector->count == vector->capacity) {
        vector->capacity = vector->capacity ? vector->capacity * 2 : 64;
        vector->items = realloc(vector->items, vector->capacity * sizeof(void *));
    }
    vector->items[vector->count++] = item;
}

static void clear_deferred(baseline_loop *loop) {
    if (loop->pending_deletes.count == 0) return;
    pointer_vector batch = loop->pending_deletes;
    loop->pending_deletes = loop->spare_deletes;
    for (size_t i = 0; i < batch.count; i++) free(batch.items[i]);
    loop->deleted += batch.count;
    batch.count = 0;
    loop->spare_deletes = batch;
}

static void on_post(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    baseline_loop *loop = arg;
    clear_deferred(loop);
    pthread_mutex_lock(&loop->post_lock);
    task_vector batch = loop->posted;
    loop->posted = loop->draining;
    pthread_mutex_unlock(&loop->post_lock);
    for (size_t i = 0; i < batch.count; i++) batch.items[i].fn(batch.items[i].arg);
    loop->posted_run += batch.count;
    batch.count = 0;
    loop->draining = batch;
}

static void on_delete(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    clear_deferred(arg);
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static void global_init(void) {
    evthread_use_pthreads();
    signal(SIGPIPE, SIG_IGN);
}

baseline_loop *baseline_loop_new(void) {
    pthread_once(&global_once, global_init);
    baseline_loop *loop = calloc(1, sizeof(baseline_loop));
    loop->base = event_base_new();
    if (!loop->base) {
        free(loop);
        return NULL;
    }
    pthread_mutex_init(&loop->post_lock, NULL);
    loop->post_event = event_new(loop->base, -1, 0, on_post, loop);
    loop->delete_event = event_new(loop->base, -1, 0, on_delete, loop);
    return loop;
}

void baseline_loop_free(baseline_loop *loop) {
    clear_deferred(loop);
    event_free(loop->post_event);
    event_free(loop->delete_event);
    event_base_free(loop->base);
    free(loop->posted.items);
    free(loop->draining.items);
    free(loop->pending_deletes.items);
    free(loop->spare_deletes.items);
    pthread_mutex_destroy(&loop->post_lock);
    free(loop);
}

void baseline_run_nonblock(baseline_loop *loop) { event_base_loop(loop->base, EVLOOP_NONBLOCK | EVLOOP_ONCE); }

__attribute__((noinline)) static void baseline_post(baseline_loop *loop, void (*fn)(void *), void *arg) {
    pthread_mutex_lock(&loop->post_lock);
    task_vector_push(&loop->posted, (posted_task){fn, arg});
    int was_empty = loop->posted.count == 1;
    pthread_mutex_unlock(&loop->post_lock);
    if (was_empty) event_active(loop->post_event, EV_TIMEOUT, 0);
}

// A posted task is a function pointer and one argument, the C equivalent of a Swift closure that
// captures one reference (which Swift uses as the closure's context: no allocation either side).
static void count_task(void *arg) { ++*(uint64_t *)arg; }

uint64_t baseline_post_local(baseline_loop *loop, uint64_t count, uint64_t batch) {
    uint64_t ran = 0;
    for (uint64_t i = 0; i < count; i++) {
        baseline_post(loop, count_task, &ran);
        if ((i + 1) % batch == 0) baseline_run_nonblock(loop);
    }
    baseline_run_nonblock(loop);
    return ran;
}

typedef struct {
    baseline_loop *loop;
    uint64_t count;
    uint64_t total;
    uint64_t *ran;
} producer_args;

static void count_and_maybe_exit(void *arg) {
    producer_args *args = arg;
    if (++*args->ran == args->total) event_base_loopexit(args->loop->base, NULL);
}

static void *produce(void *arg) {
    producer_args *args = arg;
    for (uint64_t i = 0; i < args->count; i++) baseline_post(args->loop, count_and_maybe_exit, args);
    return NULL;
}

uint64_t baseline_post_threads(baseline_loop *loop, int producers, uint64_t per_producer) {
    uint64_t ran = 0;
    pthread_t threads[64];
    producer_args args = {loop, per_producer, per_producer * (uint64_t)producers, &ran};
    for (int i = 0; i < producers; i++) pthread_create(&threads[i], NULL, produce, &args);
    event_base_loop(loop->base, EVLOOP_NO_EXIT_ON_EMPTY);
    for (int i = 0; i < producers; i++) pthread_join(threads[i], NULL);
    return ran;
}

static void never_fires(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
}

uint64_t baseline_timer_churn(baseline_loop *loop, uint64_t count) {
    struct event *timer = event_new(loop->base, -1, 0, never_fires, NULL);
    struct timeval second = {1, 0};
    uint64_t done = 0;
    for (uint64_t i = 0; i < count; i++) {
        event_add(timer, &second);
        event_del(timer);
        done++;
    }
    event_free(timer);
    return done;
}

typedef struct {
    struct event *fd_event;
    struct event *activation;
    short injected;
    uint64_t seen;
} activation_state;

static void on_fd_ready(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    activation_state *state = arg;
    if (state->injected) {
        what |= state->injected;
        state->injected = 0;
        event_del(state->activation);
    }
    state->seen++;
}

static void on_activation(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    activation_state *state = arg;
    state->injected = 0;
    state->seen++;
}

// The library-level operation, kept out of line like FileEvent.activate(_:) is for its callers.
__attribute__((noinline)) static void baseline_activate(activation_state *state, short events) {
    if (!state->injected) {
        struct timeval zero = {0, 0};
        event_add(state->activation, &zero);
    }
    state->injected |= events;
}

uint64_t baseline_activate_round_trips(baseline_loop *loop, uint64_t count) {
    int fds[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
    activation_state state = {0};
    state.fd_event = event_new(loop->base, fds[0], EV_READ | EV_PERSIST | EV_ET, on_fd_ready, &state);
    state.activation = event_new(loop->base, -1, 0, on_activation, &state);
    event_add(state.fd_event, NULL);
    for (uint64_t i = 0; i < count; i++) {
        baseline_activate(&state, EV_READ);
        baseline_run_nonblock(loop);
    }
    event_free(state.activation);
    event_free(state.fd_event);
    close(fds[0]);
    close(fds[1]);
    return state.seen;
}

typedef struct {
    baseline_loop *loop;
    int near;
    int far;
    uint64_t target;
    uint64_t completed;
} ping_pong_state;

static void on_far_readable(evutil_socket_t fd, short what, void *arg) {
    (void)what;
    ping_pong_state *state = arg;
    char byte;
    while (read(fd, &byte, 1) == 1) write(fd, &byte, 1);
}

static void on_near_readable(evutil_socket_t fd, short what, void *arg) {
    (void)what;
    ping_pong_state *state = arg;
    char byte;
    while (read(fd, &byte, 1) == 1) {
        if (++state->completed == state->target) {
            event_base_loopexit(state->loop->base, NULL);
            return;
        }
        write(fd, &byte, 1);
    }
}

uint64_t baseline_ping_pong(baseline_loop *loop, uint64_t count) {
    int fds[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
    ping_pong_state state = {loop, fds[0], fds[1], count, 0};
    struct event *near = event_new(loop->base, fds[0], EV_READ | EV_PERSIST | EV_ET, on_near_readable, &state);
    struct event *far = event_new(loop->base, fds[1], EV_READ | EV_PERSIST | EV_ET, on_far_readable, &state);
    event_add(near, NULL);
    event_add(far, NULL);
    char byte = 'x';
    if (count > 0) {
        write(fds[0], &byte, 1);
        event_base_loop(loop->base, 0);
    }
    event_free(near);
    event_free(far);
    close(fds[0]);
    close(fds[1]);
    return state.completed;
}

__attribute__((noinline)) static void baseline_deferred_delete(baseline_loop *loop, void *object) {
    pointer_vector_push(&loop->pending_deletes, object);
    if (loop->pending_deletes.count == 1) event_active(loop->delete_event, EV_TIMEOUT, 0);
}

uint64_t baseline_deferred_delete_churn(baseline_loop *loop, uint64_t count, uint64_t batch) {
    uint64_t before = loop->deleted;
    for (uint64_t i = 0; i < count; i++) {
        void *object = malloc(32);
        memset(object, 0, 32);
        baseline_deferred_delete(loop, object);
        if ((i + 1) % batch == 0) baseline_run_nonblock(loop);
    }
    baseline_run_nonblock(loop);
    return loop->deleted - before;
}

uint64_t baseline_object_lifetime(uint64_t count, uint64_t batch) {
    void **slots = malloc(batch * sizeof(void *));
    uint64_t filled = 0, released = 0;
    for (uint64_t i = 0; i < count; i++) {
        void *object = malloc(32);
        memset(object, 0, 32);
        slots[filled++] = object;
        if (filled == batch) {
            for (uint64_t j = 0; j < filled; j++) free(slots[j]);
            released += filled;
            filled = 0;
        }
    }
    for (uint64_t j = 0; j < filled; j++) free(slots[j]);
    free(slots);
    return released + filled;
}

// MARK: - Echo over bufferevents (the partner of the ConvoyNetwork echo)

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

typedef struct {
    baseline_loop *loop;
    struct bufferevent *client;
    struct bufferevent *server;
    unsigned char *message;
    uint64_t size;
    uint64_t target;
    uint64_t completed;
    uint64_t pending;
} echo_state;

static void echo_server_read(struct bufferevent *bev, void *arg) {
    (void)arg;
    bufferevent_write_buffer(bev, bufferevent_get_input(bev));
}

static void echo_accept(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *address, int length, void *arg) {
    (void)listener;
    (void)address;
    (void)length;
    echo_state *state = arg;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    state->server = bufferevent_socket_new(state->loop->base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(state->server, echo_server_read, NULL, NULL, state);
    bufferevent_enable(state->server, EV_READ | EV_WRITE);
}

static void echo_client_read(struct bufferevent *bev, void *arg) {
    echo_state *state = arg;
    struct evbuffer *input = bufferevent_get_input(bev);
    size_t available = evbuffer_get_length(input);
    evbuffer_drain(input, available);
    state->pending -= available < state->pending ? available : state->pending;
    if (state->pending == 0) {
        if (++state->completed == state->target) {
            event_base_loopexit(state->loop->base, NULL);
            return;
        }
        state->pending = state->size;
        bufferevent_write(bev, state->message, state->size);
    }
}

static void echo_client_event(struct bufferevent *bev, short what, void *arg) {
    echo_state *state = arg;
    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        state->pending = state->size;
        bufferevent_write(bev, state->message, state->size);
    } else if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
        event_base_loopexit(state->loop->base, NULL);
    }
}

uint64_t baseline_echo_round_trips(baseline_loop *loop, uint64_t count, uint64_t size) {
    echo_state state = {loop, NULL, NULL, malloc(size), size, count, 0, 0};
    memset(state.message, 'x', size);
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct evconnlistener *listener = evconnlistener_new_bind(
        loop->base, echo_accept, &state, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1, (struct sockaddr *)&address, sizeof address);
    socklen_t length = sizeof address;
    getsockname(evconnlistener_get_fd(listener), (struct sockaddr *)&address, &length);
    state.client = bufferevent_socket_new(loop->base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(state.client, echo_client_read, NULL, echo_client_event, &state);
    bufferevent_enable(state.client, EV_READ | EV_WRITE);
    bufferevent_socket_connect(state.client, (struct sockaddr *)&address, sizeof address);
    if (count > 0) event_base_loop(loop->base, 0);
    bufferevent_free(state.client);
    if (state.server) bufferevent_free(state.server);
    evconnlistener_free(listener);
    free(state.message);
    return state.completed;
}
