/* SPDX-License-Identifier: MIT */
/* meshrt — NetmonSupervisor (see <meshrt/netmon_supervisor.h>).
 *
 * A small state machine around one link-monitor watch. The original design
 * runs this as a loop that awaits the rebind before reading the next event;
 * an actor must not block, so "serial" becomes a `busy` flag: while the
 * RebindAndReprobe ask is in flight, events only mark a rebind as owed, and
 * when the ask completes an owed rebind is deferred to completion + interval,
 * exactly where the loop would have put the event it read next. Everything
 * else is the loop's rule set: one pending flag, one timer at last + interval,
 * immediate runs subsume the pending one, shutdown beats it.
 *
 * A DirectManager whose bounded mailbox is full refuses the ask at once with
 * -EAGAIN. That rebind has not happened, so it is neither an error nor a
 * completed reaction: it stays owed and is asked again after
 * MRT_NETMON_BUSY_RETRY (through the deferral timer, so later events still
 * fold into it), until DirectManager takes it.
 *
 * The DirectManager is either given at spawn (a reference held for the actor's
 * life) or, for supervisor child specs, looked up from the parent supervisor
 * by child id whenever the one we know has stopped, so a restarted
 * DirectManager is found again.
 *
 * Threading: all state is touched in the actor's context only (handlers,
 * timers, ask continuations); the watch delivers link changes as messages.
 */
#include <meshrt/netmon_supervisor.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <meshrt/bus.h>
#include <meshrt/error.h>
#include <meshrt/direct.h>
#include <meshrt/log.h>
#include <meshrt/node_msgs.h>
#include <meshrt/supervisor.h>

#define LOG "netmon-supervisor"

typedef struct nsup {
  mrt_netmon_supervisor_config cfg;
  mrt_ref *direct;                               /* a reference, or NULL */
  char direct_child_id[MRT_NETMON_CHILD_ID_MAX]; /* "" unless a child-spec instance */
  mrt_link_watch *watch;
  mrt_link_monitor *noop;  /* owned fallback monitor */
  mrt_link_monitor *owned; /* the netlink monitor made when none was given */
  uint32_t watch_attempts;
  uint64_t retry_timer, defer_timer; /* 0: not armed */
  bool busy, pending, have_last, stopping;
  bool retrying;    /* the owed rebind met a full mailbox */
  uint64_t last_ns; /* when the last reaction completed */
  mrt_netmon_supervisor_stats stats;
} nsup;

typedef struct spawn_args {
  mrt_netmon_supervisor_config cfg;
  mrt_ref *direct; /* a reference the args own until on_start takes it */
} spawn_args;

MRT_MESSAGE_DEFINE(netmon_supervisor_stats, mrt_none, mrt_netmon_supervisor_stats, NULL, NULL);

mrt_netmon_supervisor_config mrt_netmon_supervisor_config_default(void) {
  mrt_netmon_supervisor_config c;
  memset(&c, 0, sizeof c);
  c.min_rebind_interval_ns = MRT_NETMON_MIN_REBIND_INTERVAL_DEFAULT;
  c.rebind_timeout_ns = MRT_NETMON_REBIND_TIMEOUT_DEFAULT;
  c.watch_retry_ns = MRT_NETMON_WATCH_RETRY_DEFAULT;
  c.watch_retries = MRT_NETMON_WATCH_RETRIES_DEFAULT;
  return c;
}

static const char *config_problem(const mrt_netmon_supervisor_config *c) {
  if (c->min_rebind_interval_ns == 0 || c->rebind_timeout_ns == 0)
    return "min_rebind_interval_ns and rebind_timeout_ns must be positive";
  if (c->watch_retries > 0 && c->watch_retry_ns == 0)
    return "watch_retry_ns must be positive when watch_retries is";
  return NULL;
}

static void cancel_timer(mrt_actor *self, uint64_t *id) {
  if (*id != 0)
    (void)mrt_timer_cancel(self, *id); /* -ENOENT: it already fired */
  *id = 0;
}

/* ---- the watch ------------------------------------------------------------------ */

/* Keeps the actor alive on a watch that never delivers, as the original does,
 * so its lifecycle matches a working one. */
static void fall_back(mrt_actor *self, nsup *s, int err) {
  mrt_log(MRT_LOG_ERROR, LOG,
          "network monitor failed to start; link-change auto-rebind disabled monitor=%s err=%s",
          s->cfg.monitor ? mrt_link_monitor_name(s->cfg.monitor) : "netlink", mrt_strerror(err));
  s->stats.degraded = true;
  int rc = s->noop != NULL ? 0 : mrt_noop_monitor_new(&s->noop);
  if (rc == 0)
    rc = mrt_link_monitor_watch(s->noop, mrt_actor_runtime(self), self, NULL, &s->watch);
  if (rc < 0) {
    /* Without even a no-op watch the actor simply never hears an event,
     * which is what the no-op monitor would give. */
    mrt_log(MRT_LOG_ERROR, LOG, "no-op monitor unavailable err=%s", mrt_strerror(rc));
    return;
  }
  snprintf(s->stats.monitor, sizeof s->stats.monitor, "%s", mrt_link_monitor_name(s->noop));
}

static int retry_watch(mrt_actor *self, void *state, void *ud);

static void start_watch(mrt_actor *self, nsup *s) {
  int rc = mrt_link_monitor_watch(s->cfg.monitor, mrt_actor_runtime(self), self, &s->cfg.debounce,
                                  &s->watch);
  if (rc == 0) {
    s->stats.watch_error = 0;
    snprintf(s->stats.monitor, sizeof s->stats.monitor, "%s",
             mrt_link_monitor_name(s->cfg.monitor));
    mrt_log(MRT_LOG_DEBUG, LOG, "watching monitor=%s", s->stats.monitor);
    return;
  }
  s->watch = NULL;
  s->stats.watch_error = rc;
  /* -EALREADY: the monitor's previous watcher (ours, before a restart) is
   * still ending; it frees the monitor within a few executor turns. */
  if (rc == -EALREADY && s->watch_attempts < s->cfg.watch_retries &&
      mrt_timer_start(self, s->cfg.watch_retry_ns, 0, retry_watch, NULL, &s->retry_timer) == 0) {
    s->watch_attempts++;
    mrt_log(MRT_LOG_DEBUG, LOG, "monitor busy, retrying attempt=%u", s->watch_attempts);
    return;
  }
  fall_back(self, s, rc);
}

static int retry_watch(mrt_actor *self, void *state, void *ud) {
  (void)ud;
  nsup *s = state;
  s->retry_timer = 0;
  if (!s->stopping)
    start_watch(self, s);
  return 0;
}

/* ---- the reaction --------------------------------------------------------------- */

static int deferred_fire(mrt_actor *self, void *state, void *ud);

/* Arms the deferral timer at last + interval (at once if that has passed). */
static void arm_deferred(mrt_actor *self, nsup *s) {
  uint64_t now = mrt_actor_now(self), due = s->last_ns + s->cfg.min_rebind_interval_ns;
  if (s->defer_timer != 0)
    return;
  if (mrt_timer_start(self, due > now ? due - now : 0, 0, deferred_fire, NULL, &s->defer_timer) <
      0) {
    /* Without a timer the owed rebind would be lost: run it now instead. The
     * interval is a storm guard, losing an event is worse. */
    s->defer_timer = 0;
    mrt_log(MRT_LOG_WARN, LOG, "deferral timer failed; rebinding now");
    deferred_fire(self, s, NULL);
  }
}

/* The reaction's end, whether the ask succeeded or not. */
static void finish(mrt_actor *self, nsup *s, int status) {
  s->busy = false;
  /* A continuation cancelled because we are stopping publishes nothing. */
  if (s->stopping || !mrt_ref_alive(self))
    return;
  if (status < 0) {
    s->stats.rebind_errors++;
    mrt_log(MRT_LOG_ERROR, LOG, "rebind-and-reprobe on link change failed err=%s",
            mrt_strerror(status));
  }
  s->last_ns = mrt_actor_now(self); /* completion time, taken after the rebind */
  s->have_last = true;
  s->stats.rebinds++;
  s->stats.last_rebind_ns = s->last_ns;
  mrt_measure_now mn = {.reason = s->stats.rebinds};
  int rc = mrt_publish_measure_now(mrt_runtime_bus(mrt_actor_runtime(self)), &mn);
  if (rc < 0)
    mrt_log(MRT_LOG_WARN, LOG, "publishing MeasureNow failed err=%s", mrt_strerror(rc));
  else
    s->stats.measure_now++;
  if (s->pending) /* events came in while we were busy: they are owed one rebind */
    arm_deferred(self, s);
}

static int on_rebind_done(mrt_actor *self, void *state, int status, const void *reply, void *ud) {
  (void)ud;
  if (status >= 0 && reply != NULL)
    mrt_log(MRT_LOG_DEBUG, LOG, "rebound port=%u", ((const mrt_sock_info *)reply)->port);
  finish(self, state, status);
  return 0;
}

/* DirectManager's mailbox is full: the rebind did not happen and stays owed,
 * asked again after MRT_NETMON_BUSY_RETRY. Returns false if no timer could
 * be armed (the caller then ends the reaction with the error). */
static bool retry_when_full(mrt_actor *self, nsup *s) {
  if (mrt_timer_start(self, MRT_NETMON_BUSY_RETRY, 0, deferred_fire, NULL, &s->defer_timer) < 0) {
    s->defer_timer = 0;
    return false;
  }
  s->busy = false;
  s->pending = true;
  s->stats.busy_retries++;
  /* Once per owed rebind at warn: a mailbox that stays full for a while
   * would otherwise log twenty lines a second. */
  mrt_log(s->retrying ? MRT_LOG_DEBUG : MRT_LOG_WARN, LOG,
          "DirectManager's mailbox is full; rebind-and-reprobe retried in %llu ms",
          (unsigned long long)(MRT_NETMON_BUSY_RETRY / MRT_MS(1)));
  s->retrying = true;
  return true;
}

static void ask_rebind(mrt_actor *self, nsup *s) {
  int rc = s->direct == NULL ? -ESRCH
                             : MRT_ASK(direct_rebind_and_reprobe, self, s->direct, &(mrt_none){0},
                                       s->cfg.rebind_timeout_ns, on_rebind_done, NULL);
  if (rc == -EAGAIN && !s->stopping && retry_when_full(self, s))
    return;
  s->retrying = false;
  if (rc < 0)
    finish(self, s, rc); /* the callback never runs when the ask fails */
}

static int on_direct_found(mrt_actor *self, void *state, int status, const void *reply, void *ud) {
  (void)ud;
  nsup *s = state;
  if (status >= 0 && reply != NULL && ((const mrt_supervisor_child_reply *)reply)->ref != NULL) {
    mrt_ref_unref(s->direct);
    /* The reply owns its reference only during this call. */
    s->direct = mrt_ref_ref(((const mrt_supervisor_child_reply *)reply)->ref);
  } else {
    mrt_log(MRT_LOG_WARN, LOG, "DirectManager lookup failed child=%s err=%s", s->direct_child_id,
            mrt_strerror(status < 0 ? status : -ESRCH));
  }
  ask_rebind(self, s);
  return 0;
}

/* Rebind, then (in finish) record the time and publish MeasureNow. */
static void react(mrt_actor *self, nsup *s) {
  s->busy = true;
  mrt_log(MRT_LOG_DEBUG, LOG, "link change: rebinding and re-probing");
  mrt_ref *parent = mrt_actor_parent(self);
  bool lookup = s->direct_child_id[0] != '\0' && parent != NULL &&
                (s->direct == NULL || !mrt_ref_alive(s->direct));
  if (lookup) {
    mrt_supervisor_child_query q;
    memset(&q, 0, sizeof q);
    snprintf(q.id, sizeof q.id, "%s", s->direct_child_id);
    if (MRT_ASK(supervisor_child, self, parent, &q, s->cfg.rebind_timeout_ns, on_direct_found,
                NULL) == 0)
      return;
  }
  ask_rebind(self, s);
}

static int deferred_fire(mrt_actor *self, void *state, void *ud) {
  (void)ud;
  nsup *s = state;
  s->defer_timer = 0;
  if (!s->pending || s->stopping || s->busy)
    return 0;
  s->pending = false;
  if (!s->retrying) /* a retry for a full mailbox is the same reaction, not a new one */
    s->stats.deferred_rebinds++;
  react(self, s);
  return 0;
}

/* One more event owes a rebind: the first sets the flag (and, when idle, the
 * timer); later ones fold into it. */
static void owe(mrt_actor *self, nsup *s) {
  if (s->pending) {
    s->stats.coalesced++;
    mrt_log(MRT_LOG_TRACE, LOG, "link change within the interval; already deferred");
    return;
  }
  s->pending = true;
  mrt_log(MRT_LOG_TRACE, LOG, "link change within the interval; deferring");
  if (!s->busy)
    arm_deferred(self, s);
}

static int on_link_change(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)r;
  nsup *s = state;
  const mrt_link_change *ev = payload;
  s->stats.events++;
  if (s->stopping)
    return 0;
  if (mrt_log_get_level() >= MRT_LOG_DEBUG) {
    /* What changed where, names escaped: no control character reaches the
     * log. The key=value fields stay last for the JSON log format. */
    char flags[96], list[1024];
    mrt_link_change_list_str(ev, list, sizeof list);
    mrt_log(MRT_LOG_DEBUG, LOG, "link change%s%s flags=%s raw=%u", list[0] ? ": " : "", list,
            mrt_link_change_flags_str(ev->flags, flags, sizeof flags), ev->raw_events);
  }
  uint64_t now = mrt_actor_now(self);
  if (s->busy || (s->have_last && now - s->last_ns < s->cfg.min_rebind_interval_ns)) {
    owe(self, s);
    return 0;
  }
  if (s->pending) { /* this immediate rebind covers the owed one */
    s->pending = false;
    cancel_timer(self, &s->defer_timer);
    s->stats.subsumed++;
  }
  react(self, s);
  return 0;
}

static int on_shutdown(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)payload;
  (void)r;
  nsup *s = state;
  /* Shutdown wins over a pending deferred rebind. */
  s->stopping = true;
  s->pending = false;
  cancel_timer(self, &s->defer_timer);
  cancel_timer(self, &s->retry_timer);
  mrt_link_watch_destroy(s->watch);
  s->watch = NULL;
  mrt_log(MRT_LOG_DEBUG, LOG, "shutdown: supervisor loop ends");
  return mrt_actor_stop(self);
}

static int on_stats(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)self;
  (void)payload;
  nsup *s = state;
  if (r == NULL)
    return 0;
  mrt_netmon_supervisor_stats out = s->stats;
  out.busy = s->busy;
  out.pending = s->pending;
  return MRT_REPLY(netmon_supervisor_stats, r, &out);
}

/* ---- lifecycle --------------------------------------------------------------------- */

static void nsup_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)self;
  (void)why;
  nsup *s = state;
  /* Destroying the handle guarantees nothing more is told to us. Monitors
   * are kept alive by their watchers, so ours may be dropped at once. */
  mrt_link_watch_destroy(s->watch);
  s->watch = NULL;
  s->noop = mrt_link_monitor_free(s->noop);
  s->owned = mrt_link_monitor_free(s->owned);
  s->direct = mrt_ref_unref(s->direct);
}

static int nsup_begin(mrt_actor *self, nsup *s) {
  const char *problem = config_problem(&s->cfg);
  if (problem != NULL) {
    mrt_log(MRT_LOG_ERROR, LOG, "invalid config: %s", problem);
    return -EINVAL;
  }
  int rc = mrt_shutdown_watch(self);
  if (rc == 0)
    rc = mrt_node_bus_configure(mrt_runtime_bus(mrt_actor_runtime(self)));
  if (rc < 0)
    return rc;
  if (s->cfg.monitor == NULL) {
    /* No monitor given: own the default one, the Linux netlink monitor. */
    rc = mrt_netlink_monitor_new(NULL, &s->owned);
    if (rc < 0) {
      fall_back(self, s, rc);
      return 0;
    }
    s->cfg.monitor = s->owned;
  }
  start_watch(self, s);
  return 0;
}

static int nsup_start(mrt_actor *self, void *state, const void *args) {
  nsup *s = state;
  spawn_args *a = (spawn_args *)args;
  s->cfg = a->cfg;
  s->direct = a->direct; /* the reference passes to the state */
  a->direct = NULL;
  int rc = nsup_begin(self, s);
  if (rc < 0)
    nsup_stop(self, s, NULL); /* on_stop does not run after a failed on_start */
  return rc;
}

static int nsup_child_start(mrt_actor *self, void *state, const void *args) {
  nsup *s = state;
  const mrt_netmon_supervisor_child_args *a = args;
  s->cfg = a->cfg;
  memcpy(s->direct_child_id, a->direct_child_id, sizeof s->direct_child_id);
  s->direct_child_id[sizeof s->direct_child_id - 1] = '\0';
  if (s->direct_child_id[0] == '\0') {
    mrt_log(MRT_LOG_ERROR, LOG, "invalid config: empty DirectManager child id");
    return -EINVAL;
  }
  int rc = nsup_begin(self, s);
  if (rc < 0)
    nsup_stop(self, s, NULL);
  return rc;
}

static void spawn_args_drop(void *p) {
  mrt_ref_unref(((spawn_args *)p)->direct);
}

static const mrt_handler_entry nsup_handlers[] = {
    {&mrt_msg_link_change, on_link_change},
    {&mrt_msg_shutdown, on_shutdown},
    {&mrt_msg_netmon_supervisor_stats, on_stats},
    {NULL, NULL},
};

static const mrt_actor_class nsup_class = {
    .name = "NetmonSupervisor",
    .state_size = sizeof(nsup),
    .args_size = sizeof(spawn_args),
    .on_start = nsup_start,
    .on_stop = nsup_stop,
    .args_drop = spawn_args_drop,
    .handlers = nsup_handlers,
};

static const mrt_actor_class nsup_child_class = {
    .name = "NetmonSupervisor",
    .state_size = sizeof(nsup),
    .args_size = sizeof(mrt_netmon_supervisor_child_args),
    .on_start = nsup_child_start,
    .on_stop = nsup_stop,
    .handlers = nsup_handlers,
};

const mrt_actor_class *mrt_netmon_supervisor_child_class(void) {
  return &nsup_child_class;
}

int mrt_netmon_supervisor_spawn(mrt_runtime *rt, const mrt_netmon_supervisor_config *cfg,
                                mrt_ref *direct, const mrt_spawn_opts *opts, mrt_ref **out) {
  if (out != NULL)
    *out = NULL;
  const char *problem = rt == NULL || cfg == NULL || direct == NULL
                            ? "NULL runtime, config or DirectManager"
                            : config_problem(cfg);
  if (problem != NULL) {
    mrt_log(MRT_LOG_WARN, LOG, "spawn refused: %s", problem);
    return -EINVAL;
  }
  if (!mrt_ref_accepts(direct, &mrt_msg_direct_rebind_and_reprobe)) {
    mrt_log(MRT_LOG_WARN, LOG, "spawn refused: %s does not handle direct_rebind_and_reprobe",
            mrt_ref_name(direct));
    return -ENOTSUP;
  }
  spawn_args a = {.cfg = *cfg, .direct = mrt_ref_ref(direct)};
  int rc = mrt_actor_spawn(rt, &nsup_class, &a, opts, out);
  if (rc < 0) /* the args were not accepted: the reference is still ours */
    mrt_ref_unref(a.direct);
  return rc;
}
