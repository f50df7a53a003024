/*
 * epoll_server.c: a minimal single-threaded epoll server speaking the seed's
 * protocol. It stands for "the limit of one core": what one event loop written
 * in C costs per request, as a yardstick for the Python servers.
 *
 * Usage: epoll_server [-k] [-q] [-w N] PORT
 *   default  close mode, like the seed: read the first chunk (up to 1024 bytes),
 *            print the request up to its first NUL, write the 21-byte response
 *            "This is the response\0", close.
 *   -k       persistent (keep-alive) mode: each NUL-terminated request gets one
 *            response on the same connection; pipelined requests are answered
 *            in order. The connection stays open until the client closes it.
 *   -q       do not print requests.
 *   -w N     N processes, forked after listen(), each with its own epoll on
 *            the one shared listening socket: the architecture of responder's
 *            --workers, in C, to show what a second process costs on this
 *            machine apart from anything Python or Twisted adds.
 *
 * Requests go to stdout through stdio's buffer, flushed on SIGTERM/SIGINT,
 * after which the server exits 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFER_SIZE 1024
#define BACKLOG 4096
#define MAX_EVENTS 256

static const char RESPONSE[] = "This is the response"; /* sizeof includes the NUL */
#define RESPONSE_LEN ((int)sizeof(RESPONSE))

/* Keep-alive state of one connection, indexed by fd. */
struct conn {
    size_t owed;       /* response bytes still to write; a counter, so a client
                          that pipelines and never reads costs no memory */
    int resp_off;      /* offset inside RESPONSE of the next byte to write */
    int reqlen;        /* bytes of the current request kept for printing */
    char req[BUFFER_SIZE];
};

static volatile sig_atomic_t stopping;
static int quiet;
static int epfd;
static struct conn *conns; /* only allocated in -k mode */

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static void print_request(const char *buf, size_t len)
{
    if (!quiet) {
        fwrite(buf, 1, strnlen(buf, len), stdout);
        putchar('\n');
    }
}

/* Close mode: the seed's behaviour, one chunk in, one response out, close.
 * Returns 0 if no data has arrived yet (the fd stays open), 1 once closed. */
static int serve_once(int fd)
{
    char buf[BUFFER_SIZE];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n > 0) {
        print_request(buf, (size_t)n);
        /* 21 bytes always fit in a fresh socket's send buffer; a failure here
         * means the peer is gone, and we close either way. */
        (void)send(fd, RESPONSE, RESPONSE_LEN, MSG_NOSIGNAL);
    }
    close(fd);
    return 1;
}

/* Keep-alive mode: write as much of the owed responses as the socket takes.
 * Returns -1 if the connection failed. */
static int flush_owed(int fd, struct conn *c)
{
    /* The owed byte stream is RESPONSE repeated, so write it from a buffer of
     * back-to-back copies starting at the current offset. */
    static char stream[RESPONSE_LEN * 64];
    if (stream[0] == 0)
        for (int i = 0; i < 64; i++)
            memcpy(stream + i * RESPONSE_LEN, RESPONSE, RESPONSE_LEN);

    while (c->owed > 0) {
        size_t chunk = sizeof(stream) - (size_t)RESPONSE_LEN; /* room for any offset */
        if (chunk > c->owed)
            chunk = c->owed;
        ssize_t n = send(fd, stream + c->resp_off, chunk, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN) {
                struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.fd = fd};
                return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
            }
            if (errno == EINTR)
                continue;
            return -1;
        }
        c->owed -= (size_t)n;
        c->resp_off = (int)((c->resp_off + n) % RESPONSE_LEN);
    }
    return 0;
}

static void close_conn(int fd)
{
    conns[fd].owed = 0;
    conns[fd].resp_off = 0;
    conns[fd].reqlen = 0;
    close(fd);
}

static void serve_persistent(int fd, unsigned events)
{
    struct conn *c = &conns[fd];
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) { /* read reports EOF/errors */
        char buf[BUFFER_SIZE];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            close_conn(fd);
            return;
        }
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\0') {
                print_request(c->req, (size_t)c->reqlen);
                c->reqlen = 0;
                c->owed += RESPONSE_LEN;
            } else if (c->reqlen < BUFFER_SIZE) { /* longer requests print truncated */
                c->req[c->reqlen++] = buf[i];
            }
        }
    }
    int was_waiting = (events & EPOLLOUT) != 0;
    if (flush_owed(fd, c) < 0) {
        close_conn(fd);
        return;
    }
    if (was_waiting && c->owed == 0) { /* drained: stop asking for EPOLLOUT */
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
    }
}

static int listen_on(int port)
{
    int sock = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sock < 0) {
        perror("socket");
        return -1;
    }
    int one = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((unsigned short)port),
                               .sin_addr.s_addr = htonl(INADDR_ANY)}; /* as the seed */
    if (bind(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        perror("bind");
        return -1;
    }
    if (listen(sock, BACKLOG) < 0) {
        perror("listen");
        return -1;
    }
    return sock;
}

static int usage(const char *prog)
{
    fprintf(stderr, "usage: %s [-k] [-q] [-w N] PORT\n", prog);
    return 2;
}

int main(int argc, char *argv[])
{
    int persistent = 0, processes = 1, opt;
    while ((opt = getopt(argc, argv, "kqw:")) != -1) {
        switch (opt) {
        case 'k': persistent = 1; break;
        case 'q': quiet = 1; break;
        case 'w':
            processes = atoi(optarg);
            if (processes < 1)
                return usage(argv[0]);
            break;
        default: return usage(argv[0]);
        }
    }
    if (optind != argc - 1)
        return usage(argv[0]);
    int port = atoi(argv[optind]);
    if (port <= 0 || port > 65535)
        return usage(argv[0]);

    /* One fd per open connection: allow as many as the hard limit does. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (persistent) {
        conns = calloc(rl.rlim_cur, sizeof(*conns)); /* pages are touched lazily */
        if (conns == NULL) {
            perror("calloc");
            return 1;
        }
    }

    /* No SA_RESTART: the signal must interrupt epoll_wait so that we stop. */
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));

    int lsock = listen_on(port);
    if (lsock < 0)
        return 1;
    /* The children get SIGTERM with the rest of the process group. */
    for (int i = 1; i < processes; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0)
            break;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.fd = lsock};
    if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lsock, &lev) < 0) {
        perror("epoll");
        return 1;
    }

    struct epoll_event events[MAX_EVENTS];
    while (!stopping) {
        int nev = epoll_wait(epfd, events, MAX_EVENTS, -1);
        if (nev < 0) {
            if (errno == EINTR)
                continue;
            perror("epoll_wait");
            break;
        }
        for (int i = 0; i < nev; i++) {
            int fd = events[i].data.fd;
            if (fd != lsock) {
                if (persistent)
                    serve_persistent(fd, events[i].events);
                else
                    serve_once(fd);
                continue;
            }
            for (;;) {
                int cfd = accept4(lsock, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) /* EAGAIN: drained; EMFILE: retried on the next wakeup */
                    break;
                /* In close mode the request has usually arrived by the time
                 * we accept: try it now and skip the epoll round trip. */
                if (!persistent && serve_once(cfd))
                    continue;
                struct epoll_event cev = {.events = EPOLLIN, .data.fd = cfd};
                if (epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &cev) < 0)
                    close(cfd);
            }
        }
    }
    fflush(stdout);
    return 0;
}
