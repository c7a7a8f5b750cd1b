/* SPDX-License-Identifier: MIT */
/* meshrt — actor-owned I/O watches (see <meshrt/io.h>).
 *
 * Each watch is a persistent libevent event on the owner's executor base. Its
 * callback enters the actor's context the way a timer does: skip if the actor
 * is not running, mark it current, call, and turn a negative return into a
 * failure. Each callback counts as one of the executor's turns. Watches
 * are created, cancelled and fired only on the owner's executor thread, so
 * the per-actor list needs no lock.
 */
#include <stdlib.h>
#include <event2/event.h>

#include "internal.h"

struct mrt__io {
  uint64_t id;
  mrt_ref *owner; /* borrowed: watches die before their owner */
  struct event *ev;
  mrt_io_fn fn;
  void *ud;
  mrt__io *prev, *next;
};

static void on_ready(evutil_socket_t fd, short what, void *arg) {
  mrt__io *io = arg;
  mrt_ref *owner = io->owner;
  if (atomic_load_explicit(&owner->life, memory_order_relaxed) != MRT__LIFE_RUNNING)
    return;
  mrt__executor *prev_ex = mrt__executor_current();
  mrt__executor *ex = mrt__cell_ex(owner);
  mrt__executor_set_current(ex);
  /* A callback is a turn of work: a hand-driven runtime's idle loop
   * (runtime.c, drive_once) polls again after it, so a callback that reads a
   * bounded batch is called again while its descriptor stays ready. Only
   * this executor's thread (or its driver) touches the count. */
  ex->turns++;
  mrt__guard_enter(owner);
  mrt_ref *prev = mrt__actor_set_current(owner);
  int rc = io->fn(owner, owner->state, (int)fd, (short)(what & (EV_READ | EV_WRITE)), io->ud);
  mrt__actor_set_current(prev);
  mrt__actor_check_result(owner, rc, "io callback");
  mrt__guard_leave(owner);
  mrt__executor_set_current(prev_ex);
}

static void io_free(mrt__io *io) {
  mrt_ref *owner = io->owner;
  if (io->prev != NULL)
    io->prev->next = io->next;
  else
    owner->ios = io->next;
  if (io->next != NULL)
    io->next->prev = io->prev;
  event_free(io->ev);
  free(io);
}

void mrt__io_cancel_all(mrt_ref *owner) {
  while (owner->ios != NULL)
    io_free(owner->ios);
}

int mrt_io_watch(mrt_actor *self, int fd, short events, mrt_io_fn fn, void *ud, uint64_t *id_out) {
  if (!mrt__in_context(self) || fd < 0 || fn == NULL ||
      (events & (MRT_IO_READ | MRT_IO_WRITE)) == 0 ||
      (events & ~(MRT_IO_READ | MRT_IO_WRITE)) != 0 ||
      atomic_load_explicit(&self->life, memory_order_relaxed) >= MRT__LIFE_STOPPING) {
    mrt_log(MRT_LOG_WARN, "runtime",
            "io watch refused: bad argument or not in the actor's context");
    return -EINVAL;
  }
  mrt__io *io = calloc(1, sizeof *io);
  if (io == NULL)
    return -ENOMEM;
  /* The callback runs on this executor's thread outside the actor's turns:
   * the actor must never move (executor.c). */
  mrt__cell_pin(self);
  mrt__executor *ex = mrt__cell_ex(self);
  io->ev = event_new(ex->base, fd, (short)(events | EV_PERSIST), on_ready, io);
  if (io->ev == NULL || event_add(io->ev, NULL) < 0) {
    if (io->ev != NULL)
      event_free(io->ev);
    free(io);
    return -ENOMEM;
  }
  /* Unique per runtime: the executor's running count, tagged with its index
   * (timer ids use the same scheme, so a timer and a watch never share one). */
  io->id = (++ex->timer_ids << 8) | ex->index;
  io->owner = self;
  io->fn = fn;
  io->ud = ud;
  io->next = self->ios;
  if (self->ios != NULL)
    self->ios->prev = io;
  self->ios = io;
  if (id_out != NULL)
    *id_out = io->id;
  return 0;
}

int mrt_io_cancel(mrt_actor *self, uint64_t id) {
  if (!mrt__in_context(self))
    return -EINVAL;
  for (mrt__io *io = self->ios; io != NULL; io = io->next)
    if (io->id == id) {
      io_free(io);
      return 0;
    }
  return -ENOENT;
}

int mrt_io_enable(mrt_actor *self, uint64_t id, bool enabled) {
  if (!mrt__in_context(self))
    return -EINVAL;
  for (mrt__io *io = self->ios; io != NULL; io = io->next)
    if (io->id == id) {
      /* libevent allows event_del from the event's own callback. */
      int rc = enabled ? event_add(io->ev, NULL) : event_del(io->ev);
      return rc < 0 ? -ENOMEM : 0;
    }
  return -ENOENT;
}
