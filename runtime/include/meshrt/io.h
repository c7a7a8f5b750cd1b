/* SPDX-License-Identifier: MIT */
/* meshrt — file descriptors watched by an actor.
 *
 * An actor that owns a socket (a UDP underlay, a netlink socket) registers it
 * on its executor's event loop with mrt_io_watch: the callback runs in the
 * actor's own context — serialised with its handlers and timers, free to use
 * timers, asks and the bus — and a negative return fails the actor like a
 * handler's. Watches belong to the actor and are removed when it stops, before
 * on_stop runs (so on_stop may close the descriptors). The descriptor itself
 * stays the caller's: meshrt never closes it.
 * Every function here must be called in `self`'s context.
 */
#ifndef MESHRT_IO_H
#define MESHRT_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <meshrt/export.h>
#include <meshrt/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MRT_IO_READ 0x02 /* same values as libevent's EV_READ / EV_WRITE */
#define MRT_IO_WRITE 0x04

/* Called when fd is ready for `what` (MRT_IO_READ / MRT_IO_WRITE bits). */
typedef int (*mrt_io_fn)(mrt_actor *self, void *state, int fd, short what, void *ud);

/* Watches fd for `events` (MRT_IO_READ and/or MRT_IO_WRITE) until cancelled or
 * the actor stops. fd stays the caller's (never closed here); `ud` is passed
 * on, not owned. A watch pins self to its executor. Returns 0 and the watch
 * id in *id_out (may be NULL), or -EINVAL (bad fd/events/fn, not in self's
 * context, actor stopping), -ENOMEM (also when libevent refuses the fd). */
MRT_API int mrt_io_watch(mrt_actor *self, int fd, short events, mrt_io_fn fn, void *ud,
                         uint64_t *id_out);

/* Removes a watch of self (the fd stays open).
 * Returns 0, -ENOENT (unknown id), -EINVAL (not in self's context). */
MRT_API int mrt_io_cancel(mrt_actor *self, uint64_t id);

/* Pauses (enabled = false) or resumes a watch without removing it — e.g. to
 * read a noisy socket in batches: drain it, pause, resume from a timer. Safe
 * from the watch's own callback. Returns 0, -ENOENT (unknown id), -EINVAL
 * (not in self's context). */
MRT_API int mrt_io_enable(mrt_actor *self, uint64_t id, bool enabled);

#ifdef __cplusplus
}
#endif
#endif
