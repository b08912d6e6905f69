/* The curl-on-libevent glue shared by both daemons: curl tells us which
 * sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to wake it up
 * (CURLMOPT_TIMERFUNCTION); libevent calls curl_multi_socket_action back.
 * Finished transfers are handed to their owner's callback. */
#include "curl_loop.h"

#include <stdlib.h>

struct mpic_curl_loop {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
};

/* What CURLOPT_PRIVATE holds for a running transfer. */
struct transfer {
    mpic_curl_done_cb cb;
    void *arg;
};

struct sock_watch {
    struct event *ev;
};

static struct transfer *transfer_of(CURL *easy)
{
    struct transfer *t = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
    return t;
}

static void drain_messages(struct mpic_curl_loop *l)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(l->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode rc = m->data.result;
        struct transfer *t = transfer_of(easy);
        curl_multi_remove_handle(l->multi, easy);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        mpic_curl_done_cb cb = t->cb;
        void *arg = t->arg;
        free(t);
        cb(easy, rc, arg);
    }
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    struct mpic_curl_loop *l = arg;
    int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(l->multi, fd, flags, &running);
    drain_messages(l);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct mpic_curl_loop *l = arg;
    int running;
    curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain_messages(l);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct mpic_curl_loop *l = userp;
    struct sock_watch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w != NULL) {
            event_free(w->ev);
            free(w);
            curl_multi_assign(l->multi, s, NULL);
        }
        return 0;
    }
    short kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
    if (w == NULL) {
        w = calloc(1, sizeof *w);
        if (w == NULL || (w->ev = event_new(l->base, s, kind, on_socket_event, l)) == NULL) {
            free(w);
            return -1;
        }
        curl_multi_assign(l->multi, s, w);
    } else {
        /* curl flips a socket between reading and writing with every request on it:
         * the same event, re-armed, rather than a new one each time. */
        event_del(w->ev);
        event_assign(w->ev, l->base, s, kind, on_socket_event, l);
    }
    return event_add(w->ev, NULL) == 0 ? 0 : -1;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct mpic_curl_loop *l = userp;
    if (timeout_ms < 0) {
        evtimer_del(l->timer);
        return 0;
    }
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    return evtimer_add(l->timer, &tv);
}

struct mpic_curl_loop *mpic_curl_loop_new(struct event_base *base, struct mpic_error *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        mpic_error_set(err, "curl_global_init failed");
        return NULL;
    }
    struct mpic_curl_loop *l = calloc(1, sizeof *l);
    if (l == NULL) {
        curl_global_cleanup();
        mpic_error_set(err, "out of memory");
        return NULL;
    }
    l->base = base;
    l->multi = curl_multi_init();
    l->timer = evtimer_new(base, on_timer, l);
    if (l->multi == NULL || l->timer == NULL) {
        mpic_curl_loop_free(l);
        mpic_error_set(err, "cannot create the HTTP client (curl multi handle)");
        return NULL;
    }
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
    /* Keep the orchestrator's connections to every agent open between requests (curl's
     * default cache follows the number of transfers in flight and so shrinks when idle). */
    curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, 256L);
    return l;
}

void mpic_curl_loop_pool(struct mpic_curl_loop *l, long per_host, long total)
{
    curl_multi_setopt(l->multi, CURLMOPT_MAX_HOST_CONNECTIONS, per_host);
    curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, total);
}

void mpic_curl_loop_free(struct mpic_curl_loop *l)
{
    if (l == NULL)
        return;
    if (l->multi != NULL)
        curl_multi_cleanup(l->multi);
    if (l->timer != NULL)
        event_free(l->timer);
    free(l);
    curl_global_cleanup();
}

int mpic_curl_loop_add(struct mpic_curl_loop *l, CURL *easy, mpic_curl_done_cb cb, void *arg,
                       struct mpic_error *err)
{
    struct transfer *t = malloc(sizeof *t);
    if (t == NULL)
        return mpic_error_set(err, "out of memory");
    t->cb = cb;
    t->arg = arg;
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
    CURLMcode mc = curl_multi_add_handle(l->multi, easy);
    if (mc != CURLM_OK) {
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        free(t);
        return mpic_error_set(err, "cannot start the HTTP transfer: %s", curl_multi_strerror(mc));
    }
    return 0;
}

void mpic_curl_loop_remove(struct mpic_curl_loop *l, CURL *easy)
{
    struct transfer *t = transfer_of(easy);
    if (t == NULL)
        return;
    curl_multi_remove_handle(l->multi, easy);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
    free(t);
}
