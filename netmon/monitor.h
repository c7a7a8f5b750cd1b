/* SPDX-License-Identifier: MIT */
/* meshrt — what every link monitor implementation shares (private).
 *
 * A monitor is a vtable plus its own data. Its watch() spawns a watcher actor
 * (watcher.c) with a source: the callbacks that feed raw changes into the
 * watcher's debouncer. The watch handle and the watcher share a gate: the
 * watcher tells the target only through it, and destroying the handle closes
 * it, which is how "nothing is delivered after destroy" holds across threads.
 */
#ifndef MESHRT_NETMON_MONITOR_H
#define MESHRT_NETMON_MONITOR_H

#include <pthread.h>
#include <stdatomic.h>

#include <meshrt/meshrt.h>
#include <meshrt/netmon.h>

#include "change_list.h"

typedef struct mrt__netmon_source {
  /* In the watcher's on_start: register fds, timers. Optional. */
  int (*start)(mrt_actor *self, void *src);
  /* In the watcher's on_stop: release what start took. Optional. */
  void (*stop)(mrt_actor *self, void *src);
  /* On a kick message (the manual monitor's "raw changes queued"). Optional. */
  void (*kick)(mrt_actor *self, void *src);
  /* The source's view of the system as text (malloc'ed). Optional. */
  char *(*describe)(void *src);
  void *src;
} mrt__netmon_source;

typedef struct mrt__link_monitor_ops {
  const char *name;
  int (*watch)(mrt_link_monitor *m, mrt_runtime *rt, mrt_ref *target,
               const mrt_debounce_config *cfg, mrt_link_watch **out);
  void (*free)(mrt_link_monitor *m);
  void (*stats)(mrt_link_monitor *m, mrt_netlink_monitor_stats *out);
  /* A new reference to the current watch's watcher, or NULL. Optional. */
  mrt_ref *(*watcher)(mrt_link_monitor *m);
} mrt__link_monitor_ops;

/* Every monitor starts with one reference (its creator's, dropped by
 * mrt_link_monitor_free); each live watcher holds another, because a watcher
 * touches its monitor until it has fully stopped — after the handle is gone. */
struct mrt_link_monitor {
  const mrt__link_monitor_ops *ops;
  _Atomic uint32_t refs;
  _Atomic uint64_t events; /* coalesced events told, over all its watches */
};

void mrt__link_monitor_init(mrt_link_monitor *m, const mrt__link_monitor_ops *ops);

/* Spawns a watcher for `target` fed by `source`; fills *out. The watcher
 * calls source->stop when it ends, whatever the reason. */
int mrt__netmon_watch_start(mrt_link_monitor *m, mrt_runtime *rt, mrt_ref *target,
                            const mrt_debounce_config *cfg, const mrt__netmon_source *source,
                            mrt_link_watch **out);
/* In the watcher's context: one raw change from the source, and what it
 * changed (copied; the caller keeps `raw`). */
void mrt__netmon_raw(mrt_actor *watcher, const mrt__link_changes *raw);
/* In the watcher's context: the source closed; flush and end. */
void mrt__netmon_source_closed(mrt_actor *watcher);
/* From any thread: ask the watcher to call source->kick. */
int mrt__netmon_kick(mrt_ref *watcher);
/* The watcher actor of a handle (borrowed). */
mrt_ref *mrt__netmon_watcher(mrt_link_watch *w);

#endif
