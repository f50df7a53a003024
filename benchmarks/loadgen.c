/*
 * loadgen.c: a load generator for the responder protocol that should never be
 * the bottleneck: one process, one epoll loop, non-blocking connects, a fixed
 * number of concurrent clients ("slots"), each issuing requests back to back.
 *
 * Modes
 *   crr  connect, send the request and its NUL, read until EOF, close; a new
 *        connection per request. Latency runs from the start of connect() to
 *        EOF after the full response.
 *   rr   persistent connections: send one request, read its response (the
 *        expected bytes, NUL-terminated), repeat on the same connection.
 *        Latency runs from the send to the last byte of the response.
 *
 * A response is correct if the bytes read equal the expected response exactly
 * (in crr: all bytes until EOF). Every request either succeeds or counts as
 * one error: connect (refused, no address), reset (RST, EPIPE), short (EOF
 * before the full response), mismatch (wrong or extra bytes), timeout (no full
 * response within -t seconds).
 *
 * Stopping: no new request starts after -d seconds or once -n requests have
 * started; requests in flight then finish or time out, so the run ends within
 * duration + timeout, and ok + errors accounts for every request started.
 * rps counts only the requests completed within the -d window, so that one
 * straggler (a SYN retransmitted after 1 s, say) does not stretch the window.
 *
 * Output: one JSON line on stdout. Latencies go into a log-linear histogram
 * (<1% relative error, fixed size), so memory does not grow with the run.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 512
#define SCAN_INTERVAL_NS 50000000ull /* timeout scan period: 50 ms */
#define NS 1000000000ull

enum mode { CRR, RR };
/* BACKOFF: a connect failed; the slot retries at the next timeout scan, so a
 * dead server or exhausted ports cost 20 attempts a second, not a busy loop. */
enum state { IDLE, BACKOFF, CONNECTING, SENDING, RECEIVING };
enum err { E_CONNECT, E_RESET, E_SHORT, E_MISMATCH, E_TIMEOUT, E_COUNT };
static const char *const ERR_NAMES[E_COUNT] = {"connect", "reset", "short", "mismatch",
                                               "timeout"};

struct slot {
    int fd;           /* -1 when no connection is open */
    enum state st;
    size_t sent;      /* request bytes sent */
    size_t got;       /* response bytes received, all matching so far */
    uint64_t t0;      /* request start */
    uint64_t deadline;
};

/* Configuration. */
static enum mode mode = CRR;
static struct sockaddr_in server;
static int concurrency = 50;
static double duration = 5.0;
static unsigned long long max_requests; /* 0: no limit */
static uint64_t timeout_ns = 5 * NS;
static char *request;
static size_t request_len;
static char *expected;
static size_t expected_len;

/* Run state. */
static int epfd;
static struct slot *slots;
static int active;                 /* slots not IDLE */
static uint64_t end_ns;
static unsigned long long started, ok, errors[E_COUNT];
static unsigned long long ok_in_window; /* completed before the stop time */

/* Log-linear histogram of latencies in ns: values below 128 are exact, above
 * that each power of two is split into 128 buckets. */
#define SUB_BITS 7
#define SUB (1u << SUB_BITS)
#define BUCKETS ((64 - SUB_BITS + 1) * SUB)
static unsigned long long hist[BUCKETS];
static uint64_t max_latency;

static unsigned bucket_of(uint64_t v)
{
    if (v < SUB)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* e >= SUB_BITS */
    return (e - SUB_BITS + 1) * SUB + (unsigned)((v >> (e - SUB_BITS)) & (SUB - 1));
}

static double bucket_mid(unsigned b)
{
    if (b < SUB)
        return b;
    unsigned e = b / SUB + SUB_BITS - 1;
    double lo = ldexp((double)(SUB + b % SUB), (int)(e - SUB_BITS));
    return lo + ldexp(1.0, (int)(e - SUB_BITS)) / 2;
}

/* Latency in ms at quantile q, from the histogram of `ok` samples. */
static double percentile_ms(double q)
{
    unsigned long long rank = (unsigned long long)ceil(q * (double)ok), seen = 0;
    if (rank == 0)
        rank = 1;
    for (unsigned b = 0; b < BUCKETS; b++) {
        seen += hist[b];
        if (seen >= rank) {
            double v = bucket_mid(b);
            return (v > (double)max_latency ? (double)max_latency : v) / 1e6;
        }
    }
    return (double)max_latency / 1e6;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static int may_start(uint64_t now)
{
    return now < end_ns && (max_requests == 0 || started < max_requests);
}

static void close_slot(struct slot *s)
{
    if (s->fd >= 0)
        close(s->fd); /* also removes it from the epoll set */
    s->fd = -1;
}

static void begin_send(struct slot *s, uint64_t now)
{
    started++;
    s->st = SENDING;
    s->sent = 0;
    s->got = 0;
    s->t0 = now;
    s->deadline = now + timeout_ns;
}

static void open_connection(struct slot *s, uint64_t now)
{
    s->st = CONNECTING;
    s->deadline = now + timeout_ns;
    if (mode == CRR) { /* in crr the connect is part of the request */
        started++;
        s->t0 = now;
    }
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* Edge-triggered: one epoll_ctl per connection, no MODs on state changes. */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                             .data.ptr = s};
    if (s->fd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0 ||
        (connect(s->fd, (struct sockaddr *)&server, sizeof(server)) < 0 &&
         errno != EINPROGRESS)) {
        close_slot(s);
        s->st = BACKOFF;
        errors[E_CONNECT]++;
    }
}

/* The slot's request is done (ok, or failed and its fd closed): start the next
 * one, or go idle once the run is over. */
static void next_request(struct slot *s, uint64_t now)
{
    if (!may_start(now)) {
        close_slot(s);
        s->st = IDLE;
        active--;
        return;
    }
    if (mode == CRR || s->fd < 0)
        open_connection(s, now);
    else
        begin_send(s, now);
}

static void fail(struct slot *s, enum err kind, uint64_t now)
{
    errors[kind]++;
    close_slot(s);
    if (kind == E_CONNECT)
        s->st = BACKOFF;
    else
        next_request(s, now);
}

static void succeed(struct slot *s, uint64_t now)
{
    uint64_t lat = now - s->t0;
    ok++;
    if (now <= end_ns)
        ok_in_window++;
    hist[bucket_of(lat)]++;
    if (lat > max_latency)
        max_latency = lat;
    if (mode == CRR)
        close_slot(s);
}

/* Returns 1 if the whole request is sent, 0 if the socket is full (the next
 * EPOLLOUT edge resumes), -1 on error. */
static int send_request(struct slot *s)
{
    while (s->sent < request_len) {
        ssize_t n = send(s->fd, request + s->sent, request_len - s->sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -1;
        }
        s->sent += (size_t)n;
    }
    s->st = RECEIVING;
    return 1;
}

/* Read what has arrived. Returns 1 when the response is complete (crr: EOF
 * after exactly the expected bytes), 0 to wait for more, or -(1 + enum err). */
static int read_response(struct slot *s, unsigned events)
{
    static char buf[4096];
    for (;;) {
        ssize_t n = read(s->fd, buf, sizeof(buf));
        if (n > 0) {
            size_t left = expected_len - s->got;
            if ((size_t)n > left || memcmp(buf, expected + s->got, (size_t)n) != 0)
                return -(1 + E_MISMATCH);
            s->got += (size_t)n;
            if (mode == RR && s->got == expected_len)
                return 1;
            /* A short read drained the socket, and any later arrival raises a
             * new edge, so stop here; unless the peer already closed, whose
             * EOF raises no further edge and must be read now. */
            if ((size_t)n < sizeof(buf) && !(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
                return 0;
        } else if (n == 0) {
            if (mode == CRR && s->got == expected_len)
                return 1;
            return -(1 + E_SHORT);
        } else if (errno == EAGAIN) {
            return 0;
        } else if (errno != EINTR) {
            return -(1 + E_RESET);
        }
    }
}

static void on_event(struct slot *s, unsigned events, uint64_t now)
{
    if (s->st == CONNECTING) {
        if (events & (EPOLLERR | EPOLLHUP)) {
            fail(s, E_CONNECT, now); /* refused or unreachable */
            return;
        }
        if (!(events & EPOLLOUT))
            return;
        if (mode == RR) {
            if (!may_start(now)) {
                next_request(s, now); /* run over while connecting: go idle */
                return;
            }
            begin_send(s, now);
        } else {
            s->st = SENDING;
            s->sent = 0;
            s->got = 0;
        }
    }
    if (s->st == SENDING) {
        int r = send_request(s);
        if (r < 0) {
            fail(s, E_RESET, now);
            return;
        }
        if (r == 0)
            return;
        /* Data or EOF that came with this same edge would raise no new one. */
        if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
            return;
    }
    if (s->st == RECEIVING && events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        int r = read_response(s, events);
        if (r < 0) {
            fail(s, (enum err)(-r - 1), now);
        } else if (r == 1) {
            succeed(s, now);
            next_request(s, now);
            /* rr: the next request goes out at once; its socket is writable. */
            if (mode == RR && s->st == SENDING)
                on_event(s, EPOLLOUT, now);
        }
    }
}

static void scan_timeouts(uint64_t now)
{
    for (int i = 0; i < concurrency; i++) {
        struct slot *s = &slots[i];
        if (s->st == BACKOFF)
            next_request(s, now);
        else if (s->st != IDLE && now >= s->deadline)
            fail(s, E_TIMEOUT, now);
    }
}

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [-H host] -p port [-m crr|rr] [-c concurrency] [-d seconds]\n"
            "          [-n max_requests] [-s request_bytes] [-r expected] [-t timeout_s]\n"
            "  -r: expected response text, a NUL is appended (default: \"This is the "
            "response\")\n",
            prog);
    exit(2);
}

int main(int argc, char *argv[])
{
    const char *host = "127.0.0.1", *resp = "This is the response";
    int port = 0, opt;
    long req_size = 16;
    while ((opt = getopt(argc, argv, "H:p:m:c:d:n:s:r:t:")) != -1) {
        switch (opt) {
        case 'H': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'm':
            if (strcmp(optarg, "crr") == 0)
                mode = CRR;
            else if (strcmp(optarg, "rr") == 0)
                mode = RR;
            else
                usage(argv[0]);
            break;
        case 'c': concurrency = atoi(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'n': max_requests = strtoull(optarg, NULL, 10); break;
        case 's': req_size = atol(optarg); break;
        case 'r': resp = optarg; break;
        case 't': timeout_ns = (uint64_t)(atof(optarg) * 1e9); break;
        default: usage(argv[0]);
        }
    }
    server.sin_family = AF_INET;
    server.sin_port = htons((unsigned short)port);
    if (optind != argc || port <= 0 || port > 65535 || concurrency <= 0 || duration <= 0 ||
        req_size < 0 || timeout_ns == 0 || inet_pton(AF_INET, host, &server.sin_addr) != 1)
        usage(argv[0]);

    /* Request: printable filler, then the NUL that ends it. */
    request_len = (size_t)req_size + 1;
    request = malloc(request_len);
    for (long i = 0; i < req_size; i++)
        request[i] = (char)('a' + i % 26);
    request[req_size] = '\0';
    expected_len = strlen(resp) + 1;
    expected = strdup(resp);

    /* One fd per slot: allow as many as the hard limit does. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if ((rlim_t)concurrency + 16 > rl.rlim_cur) {
        fprintf(stderr, "concurrency %d exceeds the fd limit %llu\n", concurrency,
                (unsigned long long)rl.rlim_cur);
        return 2;
    }

    slots = calloc((size_t)concurrency, sizeof(*slots));
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (slots == NULL || request == NULL || expected == NULL || epfd < 0) {
        perror("setup");
        return 1;
    }

    uint64_t start = now_ns(), last_scan = start, now = start;
    end_ns = start + (uint64_t)(duration * 1e9);
    for (int i = 0; i < concurrency; i++) {
        slots[i].fd = -1;
        slots[i].st = IDLE;
    }
    for (int i = 0; i < concurrency && may_start(now); i++) {
        active++;
        open_connection(&slots[i], now);
    }

    struct epoll_event events[MAX_EVENTS];
    while (active > 0) {
        int nev = epoll_wait(epfd, events, MAX_EVENTS, (int)(SCAN_INTERVAL_NS / 1000000));
        if (nev < 0 && errno != EINTR) {
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < nev; i++)
            on_event(events[i].data.ptr, events[i].events, now_ns());
        now = now_ns();
        if (now - last_scan >= SCAN_INTERVAL_NS) {
            last_scan = now;
            scan_timeouts(now);
        }
    }
    double elapsed = (double)(now_ns() - start) / 1e9;

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;

    printf("{\"mode\":\"%s\",\"concurrency\":%d,\"duration\":%.3f,\"elapsed\":%.3f,"
           "\"ok\":%llu,\"errors\":{",
           mode == CRR ? "crr" : "rr", concurrency, duration, elapsed, ok);
    for (int e = 0; e < E_COUNT; e++)
        printf("%s\"%s\":%llu", e ? "," : "", ERR_NAMES[e], errors[e]);
    double window = elapsed < duration ? elapsed : duration; /* shorter with -n */
    printf("},\"rps\":%.1f,", (double)ok_in_window / window);
    if (ok > 0)
        printf("\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,", percentile_ms(0.50),
               percentile_ms(0.99), (double)max_latency / 1e6);
    else
        printf("\"p50_ms\":null,\"p99_ms\":null,\"max_ms\":null,");
    printf("\"cpu_s\":%.3f}\n", cpu);
    return 0;
}
