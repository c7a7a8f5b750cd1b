/* SPDX-License-Identifier: MIT */
/* meshrt — the periodic reconciler actor (see <meshrt/reconciler.h>).
 *
 * A loop that must never stop because one pass failed, must not pile up
 * passes when they are slow or requested often, and must not cut a pass short
 * when asked to exit. One state machine gives all three: at most one pass is
 * running; a run-now request while it runs only sets `rerun` (coalescing);
 * the interval timer is armed only between passes; a stop while a pass runs
 * only sets `stopping`, acted on when the pass ends.
 *
 * Threads: everything runs in the reconciler's own context (handlers, timers,
 * the user's continuations); the public wrappers only send messages.
 */
#include <stdlib.h>
#include <string.h>

#include <meshrt/meshrt.h>
#include <meshrt/reconciler.h>
#include <meshrt/supervisor.h>

#include "mrt_grow.h"

#define LOG "reconciler"

MRT_MESSAGE_DEFINE(reconcile_now, mrt_none, mrt_reconcile_result, NULL, NULL);
MRT_MESSAGE_DEFINE(reconciler_set_desired, mrt_reconciler_desired, mrt_none, NULL, NULL);
MRT_MESSAGE_DEFINE(reconciler_stop, mrt_none, mrt_none, NULL, NULL);
MRT_MESSAGE_DEFINE(reconciler_stats, mrt_none, mrt_reconciler_stats, NULL, NULL);

/* Askers waiting for a pass's result. */
typedef struct waiters {
  mrt_reply **v;
  size_t n, cap;
} waiters;

typedef struct rc_state {
  mrt_reconciler_config cfg;
  mrt_actor *self;
  const char *name;
  uint64_t interval, timeout;
  uint64_t pass; /* the number of the last pass begun */
  bool running, rerun, stopping;
  void *actual;
  uint64_t interval_timer, timeout_timer;
  uint64_t next_at;
  waiters current, next; /* answered by the running pass / the pass after */
  mrt_reconciler_stats stats;
} rc_state;

static int push(waiters *w, mrt_reply *r) {
  mrt_reply **v = mrt__grow(w->v, &w->cap, w->n, sizeof *v, 4);
  if (v == NULL)
    return -ENOMEM;
  w->v = v;
  w->v[w->n++] = r;
  return 0;
}

static void cancel(rc_state *st, uint64_t *timer) {
  if (*timer != 0)
    mrt_timer_cancel(st->self, *timer);
  *timer = 0;
}

static void begin_pass(rc_state *st);

static int interval_fired(mrt_actor *self, void *state, void *ud) {
  (void)self;
  (void)ud;
  rc_state *st = state;
  st->interval_timer = 0;
  st->next_at = 0;
  begin_pass(st);
  return 0;
}

static void end_pass(rc_state *st, int status) {
  st->running = false;
  cancel(st, &st->timeout_timer);
  if (st->actual != NULL && st->cfg.release_actual != NULL)
    st->cfg.release_actual(st->actual, st->cfg.ud);
  st->actual = NULL;
  uint64_t now = mrt_actor_now(st->self);
  st->stats.passes++;
  st->stats.last_status = status;
  st->stats.last_pass_end_ns = now;
  if (status < 0) {
    st->stats.failures++;
    mrt_log(MRT_LOG_WARN, LOG, "reconcile pass failed name=%s pass=%llu error=%s", st->name,
            (unsigned long long)st->pass, mrt_strerror(status));
  }
  mrt_reconcile_result res = {st->pass, status};
  for (size_t i = 0; i < st->current.n; i++)
    MRT_REPLY(reconcile_now, st->current.v[i], &res);
  st->current.n = 0;
  if (st->stopping) {
    mrt_actor_stop(st->self);
    return;
  }
  if (st->rerun) {
    st->rerun = false;
    begin_pass(st);
    return;
  }
  if (mrt_timer_start(st->self, st->interval, 0, interval_fired, NULL, &st->interval_timer) == 0)
    st->next_at = now + st->interval;
}

static int timeout_fired(mrt_actor *self, void *state, void *ud) {
  (void)self;
  (void)ud;
  rc_state *st = state;
  st->timeout_timer = 0;
  if (!st->running)
    return 0;
  st->stats.timeouts++;
  end_pass(st, -ETIMEDOUT);
  return 0;
}

/* The waiters of the pass about to begin become the current ones. */
static void promote_waiters(rc_state *st) {
  waiters tmp = st->current;
  st->current = st->next;
  st->next = tmp;
  st->next.n = 0;
}

static void begin_pass(rc_state *st) {
  cancel(st, &st->interval_timer);
  st->next_at = 0;
  st->running = true;
  uint64_t pass = ++st->pass;
  promote_waiters(st);
  if (st->cfg.observe != NULL) {
    int rc = st->cfg.observe(st->self, st->cfg.ud, &st->actual);
    if (rc < 0) {
      end_pass(st, rc);
      return;
    }
  }
  mrt_reconcile_input in = {st->cfg.desired, st->actual, pass, mrt_actor_now(st->self)};
  int rc = st->cfg.pass(st->self, &in, st->cfg.ud);
  if (!st->running || st->pass != pass)
    return; /* it already called mrt_reconciler_pass_done */
  if (rc != MRT_RECONCILE_ASYNC) {
    end_pass(st, rc);
    return;
  }
  if (mrt_timer_start(st->self, st->timeout, 0, timeout_fired, NULL, &st->timeout_timer) < 0)
    st->timeout_timer = 0;
}

int mrt_reconciler_pass_done(mrt_actor *self, uint64_t pass, int status) {
  /* The class's name pointer identifies the class: only then is the state ours. */
  if (self == NULL || mrt_ref_name(self) != mrt_reconciler_class.name) {
    mrt_log(MRT_LOG_WARN, LOG, "pass_done refused: not a reconciler");
    return -EINVAL;
  }
  rc_state *st = mrt_actor_state(self);
  if (st == NULL || !st->running || st->pass != pass)
    return -ECANCELED;
  end_pass(st, status == MRT_RECONCILE_ASYNC ? 0 : status);
  return 0;
}

/* ---- handlers ------------------------------------------------------------------- */

static int on_now(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)self;
  (void)payload;
  rc_state *st = state;
  if (st->stopping)
    return reply != NULL ? mrt_reply_error(reply, -ESHUTDOWN) : 0;
  if (reply != NULL && push(&st->next, mrt_reply_defer(reply)) < 0)
    mrt_reply_error(reply, -ENOMEM);
  if (st->running) {
    if (st->rerun)
      st->stats.coalesced++;
    st->rerun = true;
    return 0;
  }
  begin_pass(st);
  return 0;
}

static int on_set_desired(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)self;
  (void)reply;
  ((rc_state *)state)->cfg.desired = ((const mrt_reconciler_desired *)payload)->desired;
  return 0;
}

static int on_stop_msg(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)payload;
  (void)reply;
  rc_state *st = state;
  st->stopping = true;
  st->rerun = false;
  if (!st->running)
    mrt_actor_stop(self);
  return 0;
}

static int on_stats(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)self;
  (void)payload;
  rc_state *st = state;
  if (reply == NULL)
    return 0;
  mrt_reconciler_stats s = st->stats;
  s.running = st->running;
  s.next_pass_ns = st->next_at;
  return MRT_REPLY(reconciler_stats, reply, &s);
}

static int rc_on_start(mrt_actor *self, void *state, const void *args) {
  rc_state *st = state;
  st->cfg = *(const mrt_reconciler_config *)args;
  if (st->cfg.pass == NULL) {
    mrt_log(MRT_LOG_WARN, LOG, "reconciler refused: no pass callback");
    return -EINVAL;
  }
  st->self = self;
  st->name = st->cfg.name != NULL ? st->cfg.name : "reconciler";
  st->interval = st->cfg.interval_ns ? st->cfg.interval_ns : MRT_RECONCILER_DEFAULT_INTERVAL;
  st->timeout = st->cfg.pass_timeout_ns ? st->cfg.pass_timeout_ns : st->interval;
  int rc = mrt_shutdown_watch(self);
  if (rc < 0)
    return rc;
  /* The first pass runs as the first message, right after on_start. */
  return MRT_TELL(reconcile_now, self, &(mrt_none){0});
}

static void rc_on_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)self;
  (void)why;
  rc_state *st = state;
  if (st->actual != NULL && st->cfg.release_actual != NULL)
    st->cfg.release_actual(st->actual, st->cfg.ud);
  /* Unanswered tokens are the runtime's: it answers them -ESRCH. */
  free(st->current.v);
  free(st->next.v);
}

static const mrt_handler_entry rc_handlers[] = {
    {&mrt_msg_reconcile_now, on_now},
    {&mrt_msg_reconciler_set_desired, on_set_desired},
    {&mrt_msg_reconciler_stop, on_stop_msg},
    {&mrt_msg_reconciler_stats, on_stats},
    {&mrt_msg_supervisor_stop_request, on_stop_msg},
    {&mrt_msg_shutdown, on_stop_msg},
    {NULL, NULL},
};

const mrt_actor_class mrt_reconciler_class = {
    .name = "reconciler",
    .state_size = sizeof(rc_state),
    .args_size = sizeof(mrt_reconciler_config),
    .on_start = rc_on_start,
    .on_stop = rc_on_stop,
    .handlers = rc_handlers,
};

/* ---- wrappers --------------------------------------------------------------------- */

static int refuse(const char *what) {
  mrt_log(MRT_LOG_WARN, LOG, "%s refused: NULL argument", what);
  return -EINVAL;
}

int mrt_reconciler_spawn(mrt_runtime *rt, const mrt_reconciler_config *cfg,
                         const mrt_spawn_opts *opts, mrt_ref **out) {
  if (out != NULL)
    *out = NULL;
  if (rt == NULL || cfg == NULL || cfg->pass == NULL)
    return refuse("spawn (runtime, config or pass callback)");
  return mrt_actor_spawn(rt, &mrt_reconciler_class, cfg, opts, out);
}

int mrt_reconciler_run_now(mrt_ref *r) {
  return r == NULL ? refuse("run_now") : MRT_TELL(reconcile_now, r, &(mrt_none){0});
}

int mrt_reconciler_run_now_sync(mrt_ref *r, mrt_reconcile_result *out, uint64_t timeout_ns) {
  if (r == NULL || out == NULL)
    return refuse("run_now_sync");
  int rc =
      MRT_ASK_SYNC(reconcile_now, r, &(mrt_none){0}, out, timeout_ns ? timeout_ns : MRT_SEC(5));
  return rc < 0 ? rc : 0;
}

int mrt_reconciler_set_desired(mrt_ref *r, const void *desired) {
  if (r == NULL)
    return refuse("set_desired");
  return MRT_TELL(reconciler_set_desired, r, &(mrt_reconciler_desired){desired});
}

int mrt_reconciler_stop(mrt_ref *r) {
  return r == NULL ? refuse("stop") : MRT_TELL(reconciler_stop, r, &(mrt_none){0});
}

int mrt_reconciler_get_stats(mrt_ref *r, mrt_reconciler_stats *out) {
  if (r == NULL || out == NULL)
    return refuse("get_stats");
  int rc = MRT_ASK_SYNC(reconciler_stats, r, &(mrt_none){0}, out, MRT_SEC(5));
  return rc < 0 ? rc : 0;
}
