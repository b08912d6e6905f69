#include "log_loop.h"

#include "log.h"

static struct event *flush_event;

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    mpic_log_flush();
}

/* libevent has no "before polling" hook; an activated event joins the end of
 * the active queue, so it runs after every callback already due in this
 * iteration, whose lines it then writes together. */
static void wake(void *ev)
{
    event_active(ev, EV_TIMEOUT, 1);
}

int mpic_log_attach(struct event_base *base)
{
    flush_event = event_new(base, -1, 0, on_flush, NULL);
    if (flush_event == NULL)
        return -1;
    mpic_log_set_wake(wake, flush_event);
    return 0;
}

void mpic_log_detach(void)
{
    mpic_log_set_wake(NULL, NULL);
    if (flush_event != NULL)
        event_free(flush_event);
    flush_event = NULL;
}
