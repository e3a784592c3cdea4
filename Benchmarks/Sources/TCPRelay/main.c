// The floor under any HTTP/1.1 proxy on this machine: a one-thread TCP relay on raw epoll that
// gives each client connection its own upstream connection and copies bytes both ways with one
// recv and one send per readable socket, with no parsing, no routing, no timers and no
// allocation after a connection is set up. An HTTP proxy with keep-alive pools makes at least
// the same system calls per request (recv and send on each side), so what this relay reaches in
// scripts/relay-bound.sh bounds what convoy, nginx or HAProxy can reach here.
//
//     TCPRelay LISTEN_PORT UPSTREAM_PORT        (both on 127.0.0.1)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

enum { MAX_EVENTS = 512, BUFFER_SIZE = 16384 };

// One direction of a pair: bytes read from `from` that `to` has not taken yet.
typedef struct side {
    int fd;
    struct side *peer;
    char *pending;
    size_t pending_length;
    char buffer[BUFFER_SIZE];
} side;

static int epoll_fd;
static side *closed_pairs[MAX_EVENTS];  // freed after the batch of events that closed them
static int closed_count;

static void close_pair(side *s) {
    side *peer = s->peer;
    close(s->fd);
    close(peer->fd);
    s->fd = peer->fd = -1;
    closed_pairs[closed_count++] = s < peer ? s : peer;  // both sides live in one allocation
}

// What `s` waits for follows from the pending bytes of the pair: it reads while its peer has
// taken everything it was sent, and waits to write while it has bytes of its own to take.
static void watch(side *s, int op) {
    unsigned events = (s->peer->pending_length == 0 ? EPOLLIN : 0) | (s->pending_length > 0 ? EPOLLOUT : 0);
    struct epoll_event event = {.events = events, .data.ptr = s};
    epoll_ctl(epoll_fd, op, s->fd, &event);
}

// Reads what `s` has and sends it to its peer; leftover bytes wait for the peer's EPOLLOUT, and
// `s` stops reading until then.
static int relay(side *s) {
    side *to = s->peer;
    ssize_t got = recv(s->fd, s->buffer, BUFFER_SIZE, 0);
    if (got == 0 || (got < 0 && errno != EAGAIN)) return -1;
    if (got < 0) return 0;
    ssize_t sent = send(to->fd, s->buffer, (size_t)got, MSG_NOSIGNAL);
    if (sent < 0 && errno != EAGAIN) return -1;
    if (sent < got) {
        to->pending = s->buffer + (sent < 0 ? 0 : sent);
        to->pending_length = (size_t)got - (size_t)(sent < 0 ? 0 : sent);
        watch(to, EPOLL_CTL_MOD);
        watch(s, EPOLL_CTL_MOD);
    }
    return 0;
}

static int flush(side *s) {
    ssize_t sent = send(s->fd, s->pending, s->pending_length, MSG_NOSIGNAL);
    if (sent < 0) return errno == EAGAIN ? 0 : -1;
    s->pending += sent;
    s->pending_length -= (size_t)sent;
    if (s->pending_length == 0) {
        watch(s, EPOLL_CTL_MOD);
        watch(s->peer, EPOLL_CTL_MOD);
    }
    return 0;
}

static void accept_client(int listener, struct sockaddr_in *upstream) {
    for (;;) {
        int client = accept4(listener, NULL, NULL, SOCK_NONBLOCK);
        if (client < 0) return;
        int server = socket(AF_INET, SOCK_STREAM, 0);  // blocking connect: loopback, set-up only
        int one = 1;
        if (server < 0 || connect(server, (struct sockaddr *)upstream, sizeof *upstream) != 0) {
            close(client);
            if (server >= 0) close(server);
            continue;
        }
        setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (ioctl(server, FIONBIO, &one) != 0) {
            close(client);
            close(server);
            continue;
        }
        side *pair = calloc(2, sizeof(side));
        pair[0].fd = client;
        pair[1].fd = server;
        pair[0].peer = &pair[1];
        pair[1].peer = &pair[0];
        watch(&pair[0], EPOLL_CTL_ADD);
        watch(&pair[1], EPOLL_CTL_ADD);
    }
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: TCPRelay LISTEN_PORT UPSTREAM_PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    struct sockaddr_in upstream = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &upstream.sin_addr);
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 4096) != 0) {
        perror("TCPRelay: listen");
        return 1;
    }
    epoll_fd = epoll_create1(0);
    struct epoll_event listen_event = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &listen_event);
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int ready = epoll_wait(epoll_fd, events, MAX_EVENTS, -1);
        for (int i = 0; i < ready; i++) {
            side *s = events[i].data.ptr;
            if (s != NULL && s->fd < 0) continue;  // closed earlier in this batch
            if (s == NULL) {
                accept_client(listener, &upstream);
                continue;
            }
            int failed = 0;
            if (events[i].events & EPOLLOUT) failed = flush(s);
            if (!failed && s->peer->pending_length == 0 && events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) failed = relay(s);
            if (failed) close_pair(s);
        }
        while (closed_count > 0) free(closed_pairs[--closed_count]);
    }
}
