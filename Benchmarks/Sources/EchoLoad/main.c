// Load generator for echo servers: CONNECTIONS threads, each with one blocking TCP connection,
// send a SIZE-byte message and wait for all of it to come back, for SECONDS. Prints one JSON line:
// round trips, MB/s of echoed payload (one direction), and round-trip latency percentiles in µs.
//
//     EchoLoad PORT SIZE SECONDS CONNECTIONS
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 2000000

typedef struct {
    int port;
    size_t size;
    double seconds;
    uint64_t round_trips;
    uint64_t samples;
    uint32_t *latencies_us;
    int failed;
} worker;

static double now(void) {
    struct timespec spec;
    clock_gettime(CLOCK_MONOTONIC, &spec);
    return spec.tv_sec + spec.tv_nsec / 1e9;
}

static void *run(void *arg) {
    worker *work = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)work->port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        work->failed = 1;
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char *message = malloc(work->size);
    char *reply = malloc(work->size);
    memset(message, 'x', work->size);
    double end = now() + work->seconds;
    while (1) {
        double started = now();
        if (started >= end) break;
        size_t sent = 0;
        while (sent < work->size) {
            ssize_t n = write(fd, message + sent, work->size - sent);
            if (n <= 0) { work->failed = 1; goto done; }
            sent += (size_t)n;
        }
        size_t received = 0;
        while (received < work->size) {
            ssize_t n = read(fd, reply, work->size - received);
            if (n <= 0) { work->failed = 1; goto done; }
            received += (size_t)n;
        }
        if (work->samples < MAX_SAMPLES) work->latencies_us[work->samples++] = (uint32_t)((now() - started) * 1e6);
        work->round_trips++;
    }
done:
    close(fd);
    free(message);
    free(reply);
    return NULL;
}

static int compare(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: EchoLoad PORT SIZE SECONDS CONNECTIONS\n");
        return 2;
    }
    int connections = atoi(argv[4]);
    worker *workers = calloc((size_t)connections, sizeof(worker));
    pthread_t *threads = calloc((size_t)connections, sizeof(pthread_t));
    for (int i = 0; i < connections; i++) {
        workers[i].port = atoi(argv[1]);
        workers[i].size = (size_t)atol(argv[2]);
        workers[i].seconds = atof(argv[3]);
        workers[i].latencies_us = malloc(sizeof(uint32_t) * MAX_SAMPLES);
        pthread_create(&threads[i], NULL, run, &workers[i]);
    }
    uint64_t round_trips = 0, samples = 0;
    int failed = 0;
    for (int i = 0; i < connections; i++) {
        pthread_join(threads[i], NULL);
        round_trips += workers[i].round_trips;
        samples += workers[i].samples;
        failed |= workers[i].failed;
    }
    uint32_t *all = malloc(sizeof(uint32_t) * (samples ? samples : 1));
    uint64_t offset = 0;
    for (int i = 0; i < connections; i++) {
        memcpy(all + offset, workers[i].latencies_us, workers[i].samples * sizeof(uint32_t));
        offset += workers[i].samples;
    }
    qsort(all, samples, sizeof(uint32_t), compare);
    double seconds = atof(argv[3]);
    double mbps = (double)round_trips * (double)atol(argv[2]) / seconds / 1e6;
    printf("{\"round_trips\": %llu, \"mb_per_s\": %.2f, \"p50_us\": %u, \"p99_us\": %u, \"failed\": %d}\n",
           (unsigned long long)round_trips, mbps, samples ? all[samples / 2] : 0, samples ? all[samples * 99 / 100] : 0, failed);
    return failed;
}
