/* SPDX-License-Identifier: MIT */
/*
 * The main thread's event loop (epoll). Callbacks run on the main thread
 * only. Fixed capacity: a VM has a handful of fds.
 */
#ifndef VMM_EVENT_H
#define VMM_EVENT_H

#include <stdbool.h>

#define EV_MAX_WATCHES 64

typedef void (*ev_cb)(void *opaque);

struct ev_watch {
	int fd;
	ev_cb cb;
	void *opaque;
	bool used;
};

struct event_loop {
	int epfd;
	struct ev_watch watches[EV_MAX_WATCHES];
};

int ev_init(struct event_loop *ev);
void ev_free(struct event_loop *ev);
/* Watch fd for readability. 0, -ENOSPC or -errno from epoll. */
int ev_add(struct event_loop *ev, int fd, ev_cb cb, void *opaque);
void ev_del(struct event_loop *ev, int fd);
/* Wait up to timeout_ms (-1: forever) and run the callbacks of ready fds.
 * Returns the number run, or -errno (EINTR is retried by the caller). */
int ev_run_once(struct event_loop *ev, int timeout_ms);

#endif
