/* mpic-loadgen: HTTP/1.1 load for the bench (bench/run.sh), on libevent, one thread.
 *
 *   mpic-loadgen -u URL -b BODY_FILE [-k API_KEY] [-c CONNECTIONS] [-r RATE] [-d SECONDS]
 *                [-n REQUESTS] [-t TIMEOUT_S]
 *
 * Closed loop (no -r): each of the -c keep-alive connections sends its next request as soon as
 * the previous answer is in; latency runs from that send.
 *
 * Open loop (-r RATE): request k is due at start + k / RATE whatever the answers do, and goes
 * out on the first idle connection of the -c pool. Its latency runs from when it was due, not
 * from when it could be sent, so a stalled server is charged for the requests it kept waiting
 * (no coordinated omission). Requests due when the run ends but never sent for want of an idle
 * connection are reported as "unsent": the server did not keep up with the offered rate.
 *
 * The run stops scheduling after -d seconds (or -n requests), then waits for the answers in
 * flight. Prints one JSON object on stdout: counts, statuses, errors, throughput, latency
 * percentiles (exact, from every sample). Exit status: 0 when it ran (whatever the statuses),
 * 2 on bad usage or when it could not connect at all.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Descriptors besides the connections: stdio, the event loop's epoll and timers. */
#define FD_SPARE 16

enum conn_state { C_CONNECTING, C_IDLE, C_HEAD, C_BODY, C_CHUNK_SIZE, C_CHUNK_DATA, C_TRAILER, C_UNTIL_CLOSE };
enum err_kind { E_CONNECT, E_TIMEOUT, E_CLOSED, E_PARSE, E_KINDS };
static const char *const err_names[E_KINDS] = {"connect", "timeout", "closed", "parse"};

struct conn {
    struct bufferevent *bev;
    enum conn_state state;
    int64_t started_ns;  /* when the request in flight was due (open) or sent (closed) */
    size_t remaining;    /* body or chunk bytes still to read */
    int status;
    bool close_after;    /* the server said Connection: close, or spoke HTTP/1.0 */
};

static struct {
    struct event_base *base;
    struct sockaddr_storage addr;
    int addrlen;
    char *request;
    size_t request_len;
    struct conn *conns;
    int nconns, connected;
    double rate;            /* requests per second; 0 = closed loop */
    int64_t duration_ns, timeout_ns, max_requests;
    int64_t t0, last_done;
    int64_t scheduled;      /* open loop: requests due so far that have been sent */
    int64_t sent, completed, in_flight;
    bool stopping;          /* no more requests go out */
    bool started;
    struct event *tick, *sweep;
    uint32_t *lat_us;       /* one sample per answer, microseconds */
    size_t nlat, caplat;
    long status_count[600];
    long errors[E_KINDS];
} g;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *msg)
{
    fprintf(stderr, "mpic-loadgen: %s\n", msg);
    exit(2);
}

static void conn_open(struct conn *c);
static void pump(void);

static void maybe_finish(void)
{
    if (g.stopping && g.in_flight == 0)
        event_base_loopexit(g.base, NULL);
}

static void send_on(struct conn *c, int64_t due_ns)
{
    c->state = C_HEAD;
    c->started_ns = due_ns;
    c->status = 0;
    c->close_after = false;
    evbuffer_add(bufferevent_get_output(c->bev), g.request, g.request_len);
    g.sent++;
    g.in_flight++;
}

/* A request's end: an answer (status > 0) or an error; the connection is idle again or reopened. */
static void finish(struct conn *c, int status, enum err_kind err)
{
    int64_t t = now_ns();
    bool reopen = status <= 0 || c->close_after;
    g.in_flight--;
    if (status > 0) {
        g.completed++;
        g.status_count[status < 600 ? status : 0]++;
        if (g.nlat == g.caplat) {
            g.caplat = g.caplat ? 2 * g.caplat : 65536;
            g.lat_us = realloc(g.lat_us, g.caplat * sizeof *g.lat_us);
            if (g.lat_us == NULL)
                die("out of memory");
        }
        int64_t us = (t - c->started_ns) / 1000;
        g.lat_us[g.nlat++] = (uint32_t)(us > UINT32_MAX ? UINT32_MAX : us);
        g.last_done = t;
    } else {
        g.errors[err]++;
    }
    c->state = C_IDLE;
    if (reopen) {
        bufferevent_free(c->bev);
        c->bev = NULL;
        if (!g.stopping)
            conn_open(c);
    }
    pump();
    maybe_finish();
}

static bool header_is(const char *line, size_t len, const char *name, const char **value)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return false;
    const char *v = line + n + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    *value = v;
    return true;
}

/* The status line and headers, ending at the blank line at head[len]. */
static bool parse_head(struct conn *c, char *head, size_t len)
{
    head[len] = '\0';
    if (strncmp(head, "HTTP/1.", 7) != 0 || len < 12 || head[8] != ' ')
        return false;
    c->close_after = head[7] == '0';
    char *end;
    long status = strtol(head + 9, &end, 10);
    if (status < 100 || status > 599 || end != head + 12)
        return false;
    c->status = (int)status;
    bool chunked = false, have_length = false;
    size_t length = 0;
    for (char *line = strstr(head, "\r\n"); line != NULL && line[2] != '\0';) {
        line += 2;
        char *eol = strstr(line, "\r\n");
        size_t l = eol ? (size_t)(eol - line) : strlen(line);
        const char *v;
        if (header_is(line, l, "content-length", &v)) {
            length = strtoul(v, NULL, 10);
            have_length = true;
        } else if (header_is(line, l, "transfer-encoding", &v)) {
            chunked = strncasecmp(v, "chunked", 7) == 0;
        } else if (header_is(line, l, "connection", &v)) {
            if (strncasecmp(v, "close", 5) == 0)
                c->close_after = true;
            else if (strncasecmp(v, "keep-alive", 10) == 0)
                c->close_after = false;
        }
        line = eol;
    }
    if (status == 204 || status == 304 || status < 200) {
        c->remaining = 0;
        c->state = C_BODY;
    } else if (chunked) {
        c->state = C_CHUNK_SIZE;
    } else if (have_length) {
        c->remaining = length;
        c->state = C_BODY;
    } else {
        c->state = C_UNTIL_CLOSE;
        c->close_after = true;
    }
    return true;
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        switch (c->state) {
        case C_CONNECTING:
        case C_IDLE:
            /* Nothing asked for: bytes here are a server bug; drop them. */
            evbuffer_drain(in, evbuffer_get_length(in));
            return;
        case C_HEAD: {
            struct evbuffer_ptr p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
            if (p.pos < 0) {
                if (evbuffer_get_length(in) > 65536)
                    finish(c, 0, E_PARSE);
                return;
            }
            size_t len = (size_t)p.pos + 2;
            char *head = malloc(len + 1);
            if (head == NULL)
                die("out of memory");
            evbuffer_remove(in, head, len);
            evbuffer_drain(in, 2);
            bool ok = parse_head(c, head, len);
            free(head);
            if (!ok) {
                finish(c, 0, E_PARSE);
                return;
            }
            break;
        }
        case C_BODY: {
            size_t have = evbuffer_get_length(in), take = have < c->remaining ? have : c->remaining;
            evbuffer_drain(in, take);
            c->remaining -= take;
            if (c->remaining > 0)
                return;
            finish(c, c->status, 0);
            return;
        }
        case C_CHUNK_SIZE:
        case C_TRAILER: {
            size_t n;
            char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
            if (line == NULL)
                return;
            if (c->state == C_TRAILER) {
                free(line);
                if (n == 0) {
                    finish(c, c->status, 0);
                    return;
                }
                break;
            }
            char *end;
            unsigned long size = strtoul(line, &end, 16);
            bool ok = end != line;
            free(line);
            if (!ok) {
                finish(c, 0, E_PARSE);
                return;
            }
            if (size == 0) {
                c->state = C_TRAILER;
            } else {
                c->remaining = size + 2;   /* the data and its CRLF */
                c->state = C_CHUNK_DATA;
            }
            break;
        }
        case C_CHUNK_DATA: {
            size_t have = evbuffer_get_length(in), take = have < c->remaining ? have : c->remaining;
            evbuffer_drain(in, take);
            c->remaining -= take;
            if (c->remaining > 0)
                return;
            c->state = C_CHUNK_SIZE;
            break;
        }
        case C_UNTIL_CLOSE:
            evbuffer_drain(in, evbuffer_get_length(in));
            return;
        }
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        g.connected++;
        c->state = C_IDLE;
        if (!g.started && g.connected == g.nconns)
            event_base_loopbreak(g.base);   /* every connection is up: start the clock */
        pump();
        return;
    }
    /* EOF or error. An answer that runs until close is complete now; an idle connection the
     * server closed is simply reopened; anything else lost its request. */
    enum conn_state was = c->state;
    if (was == C_UNTIL_CLOSE) {
        c->close_after = true;
        finish(c, c->status, 0);
        return;
    }
    bufferevent_free(c->bev);
    c->bev = NULL;
    if (was == C_CONNECTING) {
        g.errors[E_CONNECT]++;
        if (!g.started)
            die("cannot connect to the server");
        if (!g.stopping)
            conn_open(c);
        return;
    }
    if (was == C_IDLE) {
        if (!g.stopping)
            conn_open(c);
        return;
    }
    c->state = C_IDLE;
    g.in_flight--;
    g.errors[E_CLOSED]++;
    if (!g.stopping)
        conn_open(c);
    maybe_finish();
}

static void conn_open(struct conn *c)
{
    c->bev = bufferevent_socket_new(g.base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL)
        die("cannot create a socket");
    c->state = C_CONNECTING;
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&g.addr, g.addrlen) < 0) {
        /* Counted as the BEV_EVENT_ERROR libevent does not always deliver for it. */
        bufferevent_free(c->bev);
        c->bev = NULL;
        g.errors[E_CONNECT]++;
        if (!g.started)
            die("cannot connect to the server");
    }
}

static struct conn *idle_conn(void)
{
    /* A linear scan: the pool is at most a few thousand and this runs once per request. A
     * rotating start spreads the requests over the connections. */
    static int next;
    for (int i = 0; i < g.nconns; i++) {
        struct conn *c = &g.conns[(next + i) % g.nconns];
        if (c->bev != NULL && c->state == C_IDLE) {
            next = (next + i + 1) % g.nconns;
            return c;
        }
    }
    return NULL;
}

static int64_t due_ns(int64_t k)
{
    return g.t0 + (int64_t)((double)k * 1e9 / g.rate);
}

static void stop_if_over(int64_t t)
{
    if (!g.stopping && (t - g.t0 >= g.duration_ns || (g.max_requests > 0 && g.sent >= g.max_requests))) {
        g.stopping = true;
        maybe_finish();
    }
}

/* Send whatever is due on whatever is idle; in open loop, arm the timer for the next due time. */
static void pump(void)
{
    if (!g.started || g.stopping)
        return;
    int64_t t = now_ns();
    if (g.rate == 0) {
        stop_if_over(t);
        if (g.stopping)
            return;
        struct conn *c;
        while ((g.max_requests == 0 || g.sent < g.max_requests) && (c = idle_conn()) != NULL)
            send_on(c, now_ns());
        stop_if_over(t);
        return;
    }
    struct conn *c;
    /* Due before the end counts even when the timer fired a little after it. */
    while (due_ns(g.scheduled) <= t && due_ns(g.scheduled) < g.t0 + g.duration_ns
           && (g.max_requests == 0 || g.scheduled < g.max_requests) && (c = idle_conn()) != NULL) {
        send_on(c, due_ns(g.scheduled));
        g.scheduled++;
    }
    stop_if_over(t);
    if (g.stopping)
        return;
    int64_t wait = due_ns(g.scheduled) - now_ns();
    if (g.t0 + g.duration_ns - now_ns() < wait)
        wait = g.t0 + g.duration_ns - now_ns();
    if (wait < 0)
        wait = 0;   /* due now, but no idle connection: an answer will pump again */
    struct timeval tv = {wait / 1000000000, (wait % 1000000000) / 1000};
    if (wait > 0)
        evtimer_add(g.tick, &tv);   /* else nothing idle: the next answer pumps again */
}

static void on_give_up(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopbreak(g.base);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    pump();
}

/* Requests in flight for longer than the timeout are given up, their connections reopened. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    int64_t t = now_ns();
    for (int i = 0; i < g.nconns; i++) {
        struct conn *c = &g.conns[i];
        if (c->bev != NULL && c->state != C_IDLE && c->state != C_CONNECTING && t - c->started_ns > g.timeout_ns)
            finish(c, 0, E_TIMEOUT);
    }
    if (!g.stopping)
        stop_if_over(t);
    if (g.stopping && g.in_flight == 0)
        event_base_loopexit(g.base, NULL);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least p% of the samples at or below it. */
static double pct_ms(double p)
{
    if (g.nlat == 0)
        return -1;
    size_t rank = (size_t)((double)g.nlat * p / 100.0 + 0.999999999);
    if (rank < 1)
        rank = 1;
    if (rank > g.nlat)
        rank = g.nlat;
    return g.lat_us[rank - 1] / 1000.0;
}

static void print_ms(const char *name, double v, const char *sep)
{
    if (v < 0)
        printf("\"%s\": null%s", name, sep);
    else
        printf("\"%s\": %.3f%s", name, v, sep);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len == cap) {
            cap = cap ? 2 * cap : 4096;
            buf = realloc(buf, cap);
            if (buf == NULL)
                die("out of memory");
        }
        size_t n = fread(buf + *len, 1, cap - *len, f);
        if (n == 0)
            break;
        *len += n;
    }
    fclose(f);
    return buf;
}

static void usage(void)
{
    fprintf(stderr, "usage: mpic-loadgen -u http://HOST:PORT/PATH -b BODY_FILE [-k API_KEY] [-c CONNECTIONS]\n"
                    "                    [-r RATE] [-d SECONDS] [-n REQUESTS] [-t TIMEOUT_S]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *url = NULL, *body_path = NULL, *key = NULL;
    double duration = 5, timeout = 30;
    g.nconns = 1;
    int opt;
    while ((opt = getopt(argc, argv, "u:b:k:c:r:d:n:t:")) != -1) {
        switch (opt) {
        case 'u': url = optarg; break;
        case 'b': body_path = optarg; break;
        case 'k': key = optarg; break;
        case 'c': g.nconns = atoi(optarg); break;
        case 'r': g.rate = atof(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'n': g.max_requests = atoll(optarg); break;
        case 't': timeout = atof(optarg); break;
        default: usage();
        }
    }
    if (url == NULL || body_path == NULL || optind != argc || g.nconns < 1 || g.nconns > 100000 || g.rate < 0
        || duration <= 0 || timeout <= 0 || g.max_requests < 0)
        usage();
    g.duration_ns = (int64_t)(duration * 1e9);
    g.timeout_ns = (int64_t)(timeout * 1e9);

    struct evhttp_uri *uri = evhttp_uri_parse(url);
    if (uri == NULL || evhttp_uri_get_host(uri) == NULL || evhttp_uri_get_scheme(uri) == NULL
        || strcmp(evhttp_uri_get_scheme(uri), "http") != 0)
        die("-u: need an http://HOST:PORT/PATH URL");
    int port = evhttp_uri_get_port(uri) > 0 ? evhttp_uri_get_port(uri) : 80;
    const char *host = evhttp_uri_get_host(uri);
    const char *path = evhttp_uri_get_path(uri) && *evhttp_uri_get_path(uri) ? evhttp_uri_get_path(uri) : "/";
    char hostport[300];
    snprintf(hostport, sizeof hostport, "%s:%d", host, port);
    g.addrlen = sizeof g.addr;
    if (evutil_parse_sockaddr_port(hostport, (struct sockaddr *)&g.addr, &g.addrlen) < 0)
        die("-u: the host must be an IP address");

    size_t body_len;
    char *body = read_file(body_path, &body_len);
    if (body == NULL)
        die("-b: cannot read the body file");
    size_t cap = body_len + strlen(path) + strlen(hostport) + (key ? strlen(key) : 0) + 256;
    g.request = malloc(cap);
    if (g.request == NULL)
        die("out of memory");
    int n = snprintf(g.request, cap,
                     "POST %s HTTP/1.1\r\nHost: %s\r\n%s%s%sContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     path, hostport, key ? "x-api-key: " : "", key ? key : "", key ? "\r\n" : "", body_len);
    memcpy(g.request + n, body, body_len);
    g.request_len = (size_t)n + body_len;
    free(body);
    evhttp_uri_free(uri);

    /* A thousand connections need more descriptors than the usual soft limit of 1024; past the
     * limit a connect fails as if the server refused it. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
            getrlimit(RLIMIT_NOFILE, &rl);
        }
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)g.nconns + FD_SPARE) {
            fprintf(stderr, "mpic-loadgen: -c %d needs %d open files; RLIMIT_NOFILE allows %llu (ulimit -Hn)\n",
                    g.nconns, g.nconns + FD_SPARE, (unsigned long long)rl.rlim_cur);
            exit(2);
        }
    }

    /* Timers on timerfd: the default epoll timeout has millisecond steps, as big as what we measure. */
    struct event_config *cfg = event_config_new();
    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    g.base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (g.base == NULL)
        die("cannot create the event loop");
    g.tick = evtimer_new(g.base, on_tick, NULL);
    g.sweep = event_new(g.base, -1, EV_PERSIST, on_sweep, NULL);
    g.conns = calloc((size_t)g.nconns, sizeof *g.conns);
    if (g.conns == NULL || g.tick == NULL || g.sweep == NULL)
        die("out of memory");

    /* Every connection up before the clock starts: the run measures requests, not handshakes. */
    for (int i = 0; i < g.nconns; i++)
        conn_open(&g.conns[i]);
    struct event *give_up = evtimer_new(g.base, on_give_up, NULL);
    struct timeval connect_timeout = {(time_t)timeout, 0};
    if (give_up == NULL || evtimer_add(give_up, &connect_timeout) < 0)
        die("out of memory");
    event_base_dispatch(g.base);   /* until on_event saw the last connection up, or on_give_up */
    event_free(give_up);
    if (g.connected < g.nconns)
        die("not every connection came up in time");

    g.started = true;
    g.t0 = g.last_done = now_ns();
    struct timeval sweep_every = {0, 50000};
    event_add(g.sweep, &sweep_every);
    pump();
    event_base_dispatch(g.base);
    int64_t end = g.completed > 0 ? g.last_done : now_ns();   /* the last answer closes the run */
    double elapsed = (double)(end - g.t0) / 1e9;

    long unsent = 0;
    if (g.rate > 0) {
        int64_t due = (int64_t)(duration * g.rate);   /* requests k with due_ns(k) before the end */
        while (due_ns(due) < g.t0 + g.duration_ns)
            due++;
        if (g.max_requests > 0 && due > g.max_requests)
            due = g.max_requests;
        unsent = due > g.scheduled ? (long)(due - g.scheduled) : 0;
    }
    double sum = 0;
    for (size_t i = 0; i < g.nlat; i++)
        sum += g.lat_us[i];
    if (g.nlat > 0)
        qsort(g.lat_us, g.nlat, sizeof *g.lat_us, cmp_u32);

    printf("{\"mode\": \"%s\", \"connections\": %d, ", g.rate > 0 ? "open" : "closed", g.nconns);
    if (g.rate > 0)
        printf("\"rate\": %.3f, ", g.rate);
    else
        printf("\"rate\": null, ");
    printf("\"duration_s\": %.3f, \"elapsed_s\": %.3f, \"sent\": %lld, \"completed\": %lld, \"unsent\": %ld, ",
           duration, elapsed, (long long)g.sent, (long long)g.completed, unsent);
    printf("\"throughput_rps\": %.2f, \"status\": {", elapsed > 0 ? (double)g.completed / elapsed : 0.0);
    const char *sep = "";
    for (int s = 0; s < 600; s++)
        if (g.status_count[s]) {
            printf("%s\"%d\": %ld", sep, s, g.status_count[s]);
            sep = ", ";
        }
    printf("}, \"errors\": {");
    for (int e = 0; e < E_KINDS; e++)
        printf("\"%s\": %ld%s", err_names[e], g.errors[e], e + 1 < E_KINDS ? ", " : "");
    printf("}, \"latency_ms\": {");
    print_ms("mean", g.nlat ? sum / (double)g.nlat / 1000.0 : -1, ", ");
    print_ms("p50", pct_ms(50), ", ");
    print_ms("p90", pct_ms(90), ", ");
    print_ms("p99", pct_ms(99), ", ");
    print_ms("p99_9", pct_ms(99.9), ", ");
    print_ms("max", g.nlat ? g.lat_us[g.nlat - 1] / 1000.0 : -1, "");
    printf("}}\n");

    for (int i = 0; i < g.nconns; i++)
        if (g.conns[i].bev != NULL)
            bufferevent_free(g.conns[i].bev);
    free(g.conns);
    free(g.lat_us);
    free(g.request);
    event_free(g.tick);
    event_free(g.sweep);
    event_base_free(g.base);
    return 0;
}
