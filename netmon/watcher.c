/* SPDX-License-Identifier: MIT */
/* meshrt — the watcher actor behind every link-monitor watch.
 *
 * A watcher owns a debouncer and a source (see monitor.h). Raw changes from
 * the source go into the debouncer; coalesced events go to the target through
 * the gate shared with the watch handle. The watcher also watches the runtime
 * shutdown signal: on shutdown it forgets any pending change and stops at once.
 *
 * Threads: the watcher runs on an executor like any actor; the handle may be
 * destroyed from any thread (the gate's mutex orders it against delivery).
 */
#include <stdlib.h>
#include <string.h>

#include "debouncer.h"
#include "monitor.h"

/* The event owns its list of changes (see <meshrt/link_change.h>). */
static void link_change_drop(void *p) {
  mrt_link_change_release(p);
}
MRT_MESSAGE_DEFINE(link_change, mrt_link_change, mrt_none, link_change_drop, NULL);
MRT_MESSAGE_DECLARE(, netmon_kick, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(netmon_kick, mrt_none, mrt_none, NULL, NULL);

static void text_drop(void *p) {
  free(*(char **)p);
}
MRT_MESSAGE_DECLARE(, netmon_describe, mrt_none, char *);
MRT_MESSAGE_DEFINE(netmon_describe, mrt_none, char *, NULL, text_drop);

typedef struct gate {
  _Atomic uint32_t refs;
  pthread_mutex_t mu;
  bool closed;
  mrt_ref *target;
} gate;

struct mrt_link_watch {
  gate *gate;
  mrt_ref *watcher;
};

typedef struct watcher_args {
  mrt_link_monitor *monitor; /* a reference, released when the watcher ends */
  gate *gate;
  mrt_debounce_config cfg;
  mrt__netmon_source source;
} watcher_args;

typedef struct watcher_state {
  mrt_link_monitor *monitor; /* a reference */
  mrt__debouncer deb;
  gate *gate;
  mrt__netmon_source source;
} watcher_state;

static void gate_release(gate *g) {
  /* acq_rel: the last holder sees the other's writes before freeing. */
  if (atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
    return;
  mrt_ref_unref(g->target);
  pthread_mutex_destroy(&g->mu);
  free(g);
}

/* The message's own copy of the listed changes. Without memory the event
 * still goes out, its changes counted instead of listed. */
static mrt_link_change event_of(uint32_t raw_events, const mrt__link_changes *c) {
  mrt_link_change ev = {.flags = c->flags, .raw_events = raw_events, .more_changes = c->more};
  if (c->n > 0)
    ev.changes = malloc(c->n * sizeof *ev.changes);
  if (ev.changes != NULL) {
    memcpy(ev.changes, c->items, c->n * sizeof *ev.changes);
    ev.n_changes = c->n;
  } else if (c->n > 0) {
    uint64_t more = (uint64_t)ev.more_changes + c->n;
    ev.more_changes = more > UINT32_MAX ? UINT32_MAX : (uint32_t)more;
  }
  return ev;
}

static void emit(mrt_actor *self, uint32_t raw_events, const mrt__link_changes *c, void *ud) {
  gate *g = ud;
  watcher_state *st = mrt_actor_state(self);
  pthread_mutex_lock(&g->mu);
  if (!g->closed) {
    mrt_link_change ev = event_of(raw_events, c);
    int rc = MRT_TELL(link_change, g->target, &ev);
    if (rc < 0)
      mrt_link_change_release(&ev); /* a failed send leaves it with us */
    if (rc == -EAGAIN) {
      /* The target's bounded mailbox is full: the change must not vanish.
       * Back into the debouncer it goes, to be sent again one settle from
       * now, folded into whatever changes next. */
      if (mrt__debouncer_raw(&st->deb, self, c) == 0) {
        uint64_t raw = (uint64_t)st->deb.raw_events + raw_events - 1;
        st->deb.raw_events = raw > UINT32_MAX ? UINT32_MAX : (uint32_t)raw;
        mrt_log(MRT_LOG_DEBUG, "netmon", "link change held: mailbox full target=%s",
                mrt_ref_name(g->target));
        pthread_mutex_unlock(&g->mu);
        return;
      }
    }
    if (rc < 0)
      mrt_log(MRT_LOG_WARN, "netmon", "link change not delivered target=%s err=%s",
              mrt_ref_name(g->target), mrt_strerror(rc));
    /* Relaxed: a counter for display. */
    atomic_fetch_add_explicit(&st->monitor->events, 1, memory_order_relaxed);
  }
  pthread_mutex_unlock(&g->mu);
}

static int watcher_start(mrt_actor *self, void *state, const void *args) {
  watcher_state *st = state;
  const watcher_args *a = args;
  st->monitor = a->monitor;
  st->gate = a->gate;
  st->source = a->source;
  mrt__debouncer_init(&st->deb, &a->cfg, emit, st->gate);
  int rc = mrt_shutdown_watch(self);
  if (rc < 0)
    return rc;
  return st->source.start ? st->source.start(self, st->source.src) : 0;
}

static void watcher_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)why;
  watcher_state *st = state;
  if (st->source.stop)
    st->source.stop(self, st->source.src);
  gate_release(st->gate);
  mrt_link_monitor_free(st->monitor); /* the watcher's reference */
}

/* on_start never ran (spawned during shutdown, say): release what args own. */
static void watcher_args_drop(void *p) {
  watcher_args *a = p;
  if (a->source.stop)
    a->source.stop(NULL, a->source.src);
  gate_release(a->gate);
  mrt_link_monitor_free(a->monitor);
}

static int on_kick(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)p;
  (void)r;
  watcher_state *st = state;
  if (st->source.kick)
    st->source.kick(self, st->source.src);
  return 0;
}

static int on_describe(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  watcher_state *st = state;
  if (st->source.describe == NULL)
    return mrt_reply_error(r, -ENOTSUP);
  char *text = st->source.describe(st->source.src);
  if (text == NULL)
    return mrt_reply_error(r, -ENOMEM);
  return MRT_REPLY(netmon_describe, r, &text);
}

static int on_shutdown(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)p;
  (void)r;
  /* Shutdown wins: no flush, no further event. */
  mrt__debouncer_cancel(&((watcher_state *)state)->deb, self);
  return mrt_actor_stop(self);
}

static const mrt_handler_entry watcher_handlers[] = {
    {&mrt_msg_netmon_kick, on_kick},
    {&mrt_msg_netmon_describe, on_describe},
    {&mrt_msg_shutdown, on_shutdown},
    {NULL, NULL},
};

static const mrt_actor_class watcher_class = {
    .name = "netmon-watcher",
    .state_size = sizeof(watcher_state),
    .args_size = sizeof(watcher_args),
    .on_start = watcher_start,
    .on_stop = watcher_stop,
    .args_drop = watcher_args_drop,
    .handlers = watcher_handlers,
};

void mrt__netmon_raw(mrt_actor *watcher, const mrt__link_changes *raw) {
  watcher_state *st = mrt_actor_state(watcher);
  int rc = mrt__debouncer_raw(&st->deb, watcher, raw);
  if (rc < 0)
    mrt_log(MRT_LOG_WARN, "netmon", "debouncer timer failed error=%s", mrt_strerror(rc));
}

void mrt__netmon_source_closed(mrt_actor *watcher) {
  watcher_state *st = mrt_actor_state(watcher);
  mrt__debouncer_flush(&st->deb, watcher);
  mrt_actor_stop(watcher);
}

void mrt__link_monitor_init(mrt_link_monitor *m, const mrt__link_monitor_ops *ops) {
  m->ops = ops;
  atomic_init(&m->refs, 1);
  atomic_init(&m->events, 0);
}

int mrt__netmon_watch_start(mrt_link_monitor *m, mrt_runtime *rt, mrt_ref *target,
                            const mrt_debounce_config *cfg, const mrt__netmon_source *source,
                            mrt_link_watch **out) {
  mrt_link_watch *w = calloc(1, sizeof *w);
  gate *g = calloc(1, sizeof *g);
  if (w == NULL || g == NULL) {
    free(w);
    free(g);
    return -ENOMEM;
  }
  atomic_init(&g->refs, 2); /* the handle and the watcher */
  pthread_mutex_init(&g->mu, NULL);
  g->target = mrt_ref_ref(target);
  /* Relaxed: the caller holds a reference, so the count cannot reach 0. */
  atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
  watcher_args args = {.monitor = m, .gate = g, .source = *source};
  if (cfg != NULL)
    args.cfg = *cfg;
  int rc = mrt_actor_spawn(rt, &watcher_class, &args, NULL, &w->watcher);
  if (rc < 0) {
    atomic_fetch_sub_explicit(&m->refs, 1, memory_order_relaxed);
    gate_release(g);
    gate_release(g);
    free(w);
    return rc;
  }
  w->gate = g;
  *out = w;
  return 0;
}

int mrt__netmon_kick(mrt_ref *watcher) {
  return MRT_TELL(netmon_kick, watcher, &(mrt_none){0});
}

mrt_ref *mrt__netmon_watcher(mrt_link_watch *w) {
  return w->watcher;
}

/* ---- public ---------------------------------------------------------------- */

int mrt_link_monitor_watch(mrt_link_monitor *m, mrt_runtime *rt, mrt_ref *target,
                           const mrt_debounce_config *cfg, mrt_link_watch **out) {
  if (m == NULL || rt == NULL || target == NULL || out == NULL) {
    mrt_log(MRT_LOG_WARN, "netmon", "watch refused: NULL argument");
    return -EINVAL;
  }
  *out = NULL;
  if (!mrt_ref_accepts(target, &mrt_msg_link_change)) {
    mrt_log(MRT_LOG_WARN, "netmon", "watch refused: %s does not handle link_change",
            mrt_ref_name(target));
    return -ENOTSUP;
  }
  return m->ops->watch(m, rt, target, cfg, out);
}

void mrt_link_watch_destroy(mrt_link_watch *w) {
  if (w == NULL)
    return;
  pthread_mutex_lock(&w->gate->mu);
  w->gate->closed = true;
  pthread_mutex_unlock(&w->gate->mu);
  mrt_actor_stop(w->watcher);
  mrt_ref_unref(w->watcher);
  gate_release(w->gate);
  free(w);
}

const char *mrt_link_monitor_name(const mrt_link_monitor *m) {
  return m != NULL ? m->ops->name : "?";
}

mrt_link_monitor *mrt_link_monitor_free(mrt_link_monitor *m) {
  /* acq_rel: the last holder sees every other holder's use before freeing. */
  if (m != NULL && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1)
    m->ops->free(m);
  return NULL;
}

int mrt_link_monitor_describe(mrt_link_monitor *m, char **text_out) {
  if (m == NULL || text_out == NULL)
    return -EINVAL;
  *text_out = NULL;
  if (m->ops->watcher == NULL)
    return -ENOTSUP;
  mrt_ref *w = m->ops->watcher(m);
  if (w == NULL)
    return -ESRCH;
  int rc = MRT_ASK_SYNC(netmon_describe, w, &(mrt_none){0}, text_out, 0);
  mrt_ref_unref(w);
  return rc < 0 ? rc : 0;
}

void mrt_link_monitor_get_stats(mrt_link_monitor *m, mrt_netlink_monitor_stats *out) {
  if (out == NULL)
    return;
  *out = (mrt_netlink_monitor_stats){0};
  if (m == NULL)
    return;
  if (m->ops->stats != NULL)
    m->ops->stats(m, out);
  out->events = atomic_load_explicit(&m->events, memory_order_relaxed);
}
