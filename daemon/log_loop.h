/* The process log's flush hook on an event loop: buffered lines are written
 * once per loop iteration (log.h). */
#ifndef MPIC_LOG_LOOP_H
#define MPIC_LOG_LOOP_H

#include <event2/event.h>

/* -1 when out of memory (lines are then written at once). */
int mpic_log_attach(struct event_base *base);
/* Flushes and writes each line at once again; before freeing the base. */
void mpic_log_detach(void);

#endif
