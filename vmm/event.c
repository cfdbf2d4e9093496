/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "vmm/event.h"
#include "vmm/util.h"

int ev_init(struct event_loop *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	return ev->epfd < 0 ? -errno : 0;
}

void ev_free(struct event_loop *ev)
{
	if (ev->epfd >= 0)
		close(ev->epfd);
	ev->epfd = -1;
}

int ev_add(struct event_loop *ev, int fd, ev_cb cb, void *opaque)
{
	struct epoll_event e = { .events = EPOLLIN };

	for (unsigned i = 0; i < EV_MAX_WATCHES; i++) {
		struct ev_watch *w = &ev->watches[i];

		if (w->used)
			continue;
		e.data.u32 = i;
		if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &e) < 0)
			return -errno;
		*w = (struct ev_watch){
			.fd = fd, .cb = cb, .opaque = opaque, .used = true
		};
		return 0;
	}
	return -ENOSPC;
}

void ev_del(struct event_loop *ev, int fd)
{
	for (unsigned i = 0; i < EV_MAX_WATCHES; i++) {
		struct ev_watch *w = &ev->watches[i];

		if (w->used && w->fd == fd) {
			epoll_ctl(ev->epfd, EPOLL_CTL_DEL, fd, NULL);
			w->used = false;
			return;
		}
	}
}

int ev_run_once(struct event_loop *ev, int timeout_ms)
{
	struct epoll_event events[16];
	int n, ran = 0;

	n = epoll_wait(ev->epfd, events, ARRAY_SIZE(events), timeout_ms);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		unsigned idx = events[i].data.u32;
		struct ev_watch *w;

		if (idx >= EV_MAX_WATCHES)
			continue;
		w = &ev->watches[idx];
		/* An earlier callback in this batch may have removed it. */
		if (!w->used)
			continue;
		w->cb(w->opaque);
		ran++;
	}
	return ran;
}
