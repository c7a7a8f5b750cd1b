/* SPDX-License-Identifier: MIT */
/* meshrt — the supervisor actor: starting, stopping and restarting children.
 *
 * The engine is level-triggered: every entry point (a child's DOWN, a report,
 * an operator command, a timer) updates the child records and then calls
 * mrt__sup_drive(), which looks at all records and takes the next steps:
 * while the tree is stopping, stop the newest running child, one at a time,
 * then finish; otherwise first finish strategy stops (reverse start order, one
 * at a time), then start the first child in start order that wants to start
 * and whose backoff gate is open, waiting for its on_start before the next.
 * Keeping the decisions in one place is what makes racing inputs (an operator
 * pausing a child whose restart is pending, a sibling failing while a group
 * is being stopped) come out right without special cases. What an exit means
 * (restart or not, which siblings, escalation) is decided in
 * supervisor_exit.c; operator commands in supervisor_control.c.
 *
 * Waiting for on_start: the core has no "started" notification, so each
 * supervisor keeps a tiny barrier actor on its own executor. Children are
 * spawned on that executor too (the spawner's, by default), and an executor
 * runs queued actors in FIFO order; a newly spawned child is queued at spawn,
 * so when the supervisor then asks the barrier, the child's first turn — its
 * on_start — runs before the barrier answers. A nested supervisor instead
 * reports MRT_CHILD_REPORT_BOOTED once its own children started.
 *
 * Threads: all of this runs in the supervisor's context (its handlers, timers
 * and continuations never run concurrently); nothing here is shared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrt_grow.h"
#include "supervisor_internal.h"

/* ---- the barrier --------------------------------------------------------------- */

static const mrt_msg_type barrier_msg = {"supervisor_barrier", sizeof(mrt_none), sizeof(mrt_none),
                                         NULL, NULL};

static int barrier_ping(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)self;
  (void)state;
  (void)payload;
  return reply != NULL ? mrt_reply_send(reply, &(mrt_none){0}, sizeof(mrt_none)) : 0;
}

static const mrt_handler_entry barrier_handlers[] = {{&barrier_msg, barrier_ping}, {NULL, NULL}};
static const mrt_actor_class barrier_class = {.name = "supervisor-barrier",
                                              .handlers = barrier_handlers};

/* ---- records -------------------------------------------------------------------- */

uint64_t mrt__sup_now(const mrt__sup *sup) {
  return mrt_actor_now(sup->self);
}

static void *uid_ud(uint64_t uid) {
  return (void *)(uintptr_t)uid;
}

static mrt__child *by_uid(mrt__sup *sup, uint64_t uid) {
  for (size_t i = 0; i < sup->n; i++)
    if (sup->children[i]->uid == uid)
      return sup->children[i];
  return NULL;
}

mrt__child *mrt__sup_find(mrt__sup *sup, const char *id) {
  for (size_t i = 0; i < sup->n; i++)
    if (strcmp(sup->children[i]->def.id, id) == 0)
      return sup->children[i];
  return NULL;
}

mrt__child *mrt__sup_find_actor(mrt__sup *sup, uint64_t actor_id) {
  for (size_t i = 0; i < sup->n; i++)
    if (sup->children[i]->ref != NULL && sup->children[i]->actor_id == actor_id)
      return sup->children[i];
  return NULL;
}

size_t mrt__sup_index_of(const mrt__sup *sup, const mrt__child *c) {
  for (size_t i = 0; i < sup->n; i++)
    if (sup->children[i] == c)
      return i;
  return sup->n;
}

mrt__child *mrt__sup_child_add(mrt__sup *sup, const mrt__child_def *def) {
  mrt__child **v = mrt__grow(sup->children, &sup->cap, sup->n, sizeof *v, 8);
  if (v == NULL)
    return NULL;
  sup->children = v;
  mrt__child *c = calloc(1, sizeof *c);
  if (c == NULL || mrt__child_def_copy(&c->def, def) < 0) {
    free(c);
    return NULL;
  }
  /* The def was validated when built, so the tracker accepts its config. */
  mrt_backoff_init(&c->backoff, &c->def.backoff);
  c->uid = sup->next_uid++;
  c->operation = MRT_OP_ACTIVE;
  c->status = MRT_CHILD_STOPPED;
  c->epoch = sup->next_epoch++;
  sup->children[sup->n++] = c;
  return c;
}

static void child_free(mrt__child *c) {
  mrt_ref_unref(c->ref);
  mrt__child_def_clear(&c->def);
  free(c->waiters);
  free(c);
}

void mrt__sup_child_delete(mrt__sup *sup, mrt__child *c) {
  size_t i = mrt__sup_index_of(sup, c);
  if (i == sup->n)
    return;
  if (c->grace_timer)
    mrt_timer_cancel(sup->self, c->grace_timer);
  if (c->stale_timer)
    mrt_timer_cancel(sup->self, c->stale_timer);
  memmove(&sup->children[i], &sup->children[i + 1], (sup->n - i - 1) * sizeof *sup->children);
  sup->n--;
  child_free(c);
}

/* ---- starting -------------------------------------------------------------------- */

static void confirm_started(mrt__sup *sup, mrt__child *c) {
  sup->awaiting_uid = 0;
  c->boot_pending = false;
  if (c->ref == NULL || c->status != MRT_CHILD_STARTING)
    return; /* stopping already: an operator got there first */
  mrt_backoff_observe_start(&c->backoff, mrt__sup_now(sup));
  c->status = c->readiness == MRT_READINESS_READY ? MRT_CHILD_READY : MRT_CHILD_RUNNING;
  mrt__sup_emit(sup, c, MRT_SUP_EV_RUNNING);
  if (c->def.readiness == MRT_READINESS_IMMEDIATE && c->readiness == MRT_READINESS_UNREPORTED) {
    c->readiness = MRT_READINESS_READY;
    c->status = MRT_CHILD_READY;
    mrt__sup_emit(sup, c, MRT_SUP_EV_READY);
  }
}

static int barrier_done(mrt_actor *self, void *state, int status, const void *reply, void *ud) {
  (void)self;
  (void)status; /* an error (barrier gone) also means: stop waiting */
  (void)reply;
  mrt__sup *sup = state;
  if ((uint64_t)(uintptr_t)ud != sup->await_token || sup->awaiting_uid == 0)
    return 0; /* an older start, already settled by the child's DOWN */
  mrt__child *c = by_uid(sup, sup->awaiting_uid);
  sup->awaiting_uid = 0;
  /* Not alive: on_start failed; its DOWN is on the way and settles it. */
  if (c != NULL && c->ref != NULL && mrt_ref_alive(c->ref))
    confirm_started(sup, c);
  mrt__sup_drive(sup);
  return 0;
}

/* A spawn that failed counts as a crash of that attempt: the backoff gate
 * closes and the start is retried when it opens. */
static void spawn_failed(mrt__sup *sup, mrt__child *c, int rc) {
  mrt_log(MRT_LOG_WARN, MRT__SUP_LOG, "child spawn failed supervisor=%s child=%s error=%s",
          sup->def->name, c->def.id, mrt_strerror(rc));
  c->boot_pending = false;
  if (rc == -ESHUTDOWN)
    return;
  mrt_exit why = {.kind = MRT_EXIT_FAILED, .error = rc};
  snprintf(why.reason, sizeof why.reason, "spawn failed: %s", mrt_strerror(rc));
  mrt__sup_record_failure(sup, c, &why);
  mrt_supervisor_event ev;
  mrt__sup_event_init(sup, c, MRT_SUP_EV_FAILED, &ev);
  ev.exit_kind = why.kind;
  ev.error = why.error;
  snprintf(ev.reason, sizeof ev.reason, "%s", why.reason);
  mrt__sup_event_commit(sup, &ev);
  mrt_backoff_observe_crash(&c->backoff, mrt__sup_now(sup));
  c->want_start = true;
  mrt__sup_announce_gate(sup, c);
}

static int spawn_attempt(mrt__sup *sup, mrt__child *c, mrt_ref **out) {
  mrt_spawn_opts opts = {.executor = MRT_EXECUTOR_AUTO,
                         .mailbox_capacity = c->def.mailbox_capacity,
                         .parent = sup->self};
  /* A nested supervisor's args are a reference to its spec. */
  mrt__sup_def *nested = mrt__sup_def_ref(c->def.nested);
  const void *args = nested != NULL ? (const void *)&nested : c->def.args;
  int rc = mrt_actor_spawn(mrt_actor_runtime(sup->self), c->def.cls, args, &opts, out);
  if (rc < 0) {
    mrt__sup_def_unref(nested);
    return rc;
  }
  rc = mrt_monitor(sup->self, *out);
  if (rc < 0) {
    /* Unwatched, the child could never be restarted: better not to run it. */
    mrt_actor_kill(*out);
    *out = mrt_ref_unref(*out);
  }
  return rc;
}

static void start_child(mrt__sup *sup, mrt__child *c) {
  c->want_start = false;
  c->force_start = false;
  mrt_ref *ref = NULL;
  int rc = spawn_attempt(sup, c, &ref);
  if (rc < 0) {
    spawn_failed(sup, c, rc);
    return;
  }
  c->ref = ref;
  c->actor_id = mrt_ref_id(ref);
  c->starts++;
  c->attempt = c->starts;
  c->generation = sup->generation;
  c->status = MRT_CHILD_STARTING;
  c->readiness = MRT_READINESS_UNREPORTED;
  c->has_heartbeat = c->stale = false;
  c->stop_cause = MRT_STOP_CAUSE_NONE;
  c->stop_state = MRT_STOP_NONE;
  c->has_stop_failure = false;
  if (c->starts > 1) {
    c->restarts++;
    mrt__sup_emit(sup, c, MRT_SUP_EV_RESTARTING);
  }
  mrt__sup_emit(sup, c, MRT_SUP_EV_STARTING);
  sup->awaiting_uid = c->uid;
  uint64_t token = ++sup->await_token;
  if (c->def.nested != NULL)
    return; /* it reports BOOTED */
  rc = mrt_ask(sup->self, sup->barrier, &barrier_msg, &(mrt_none){0}, sizeof(mrt_none), MRT_SEC(60),
               barrier_done, (void *)(uintptr_t)token);
  if (rc < 0)
    confirm_started(sup, c); /* no barrier: do not hold the other children back */
}

/* ---- stopping -------------------------------------------------------------------- */

static int grace_expired(mrt_actor *self, void *state, void *ud) {
  (void)self;
  mrt__sup *sup = state;
  mrt__child *c = by_uid(sup, (uint64_t)(uintptr_t)ud);
  if (c == NULL || c->ref == NULL)
    return 0;
  c->grace_timer = 0;
  if (c->stop_state != MRT_STOP_REQUESTED)
    return 0;
  mrt_actor_kill(c->ref);
  c->stop_state = MRT_STOP_FAILED;
  c->stop_failures++;
  c->has_stop_failure = true;
  c->stop_failure = (mrt_child_failure){.phase = MRT_STOP_PHASE_WAIT_COMPLETION,
                                        .exit_kind = MRT_EXIT_KILLED,
                                        .error = -ETIMEDOUT,
                                        .at_ns = mrt__sup_now(sup)};
  snprintf(c->stop_failure.reason, sizeof c->stop_failure.reason,
           "did not exit within its %llu ms grace period; killed",
           (unsigned long long)(c->def.grace_ns / MRT_NS_PER_MS));
  mrt_log(MRT_LOG_WARN, MRT__SUP_LOG, "child ignored its grace period supervisor=%s child=%s",
          sup->def->name, c->def.id);
  mrt_supervisor_event ev;
  mrt__sup_event_init(sup, c, MRT_SUP_EV_STOP_FAILED, &ev);
  ev.stop_phase = c->stop_failure.phase;
  ev.error = c->stop_failure.error;
  snprintf(ev.reason, sizeof ev.reason, "%s", c->stop_failure.reason);
  mrt__sup_event_commit(sup, &ev);
  return 0;
}

/* Sends the stop: a request the child may handle, else a plain stop, or a kill
 * when its policy says so; then the grace timer. */
static void deliver_stop(mrt__sup *sup, mrt__child *c, mrt_stop_cause cause) {
  uint64_t now = mrt__sup_now(sup), grace = c->def.grace_ns;
  if (c->def.kill) {
    mrt_actor_kill(c->ref);
    return;
  }
  mrt_stop_request req = {
      .cause = cause,
      .grace_ns = grace,
      .deadline_ns = grace > UINT64_MAX - now ? UINT64_MAX : now + grace,
  };
  int rc = MRT_TELL(supervisor_stop_request, c->ref, &req);
  /* Not handled, or no room: stop it after its current message instead. */
  if (rc == -ENOTSUP || rc == -EAGAIN)
    mrt_actor_stop(c->ref);
  if (grace != MRT_SHUTDOWN_INFINITY &&
      mrt_timer_start(sup->self, grace, 0, grace_expired, uid_ud(c->uid), &c->grace_timer) < 0)
    c->grace_timer = 0;
}

bool mrt__sup_stop_child(mrt__sup *sup, mrt__child *c, mrt_stop_cause cause) {
  if (c->ref == NULL)
    return false;
  if (c->stop_cause != MRT_STOP_CAUSE_NONE) {
    /* One stop per attempt; the latest reason decides what happens after. */
    c->stop_cause = cause;
    return false;
  }
  c->stop_cause = cause;
  c->stop_state = MRT_STOP_REQUESTED;
  c->status = MRT_CHILD_STOPPING;
  deliver_stop(sup, c, cause);
  mrt_supervisor_event ev;
  mrt__sup_event_init(sup, c, MRT_SUP_EV_STOP_DELIVERED, &ev);
  ev.stop_state = c->stop_state;
  mrt__sup_event_commit(sup, &ev);
  return true;
}

void mrt__sup_cancel_restart(mrt__sup *sup, mrt__child *c) {
  (void)sup;
  c->want_start = false;
  c->force_start = false;
  c->restart_after_stop = false;
}

void mrt__sup_begin_stop(mrt__sup *sup, mrt_supervisor_phase phase) {
  if (sup->phase >= MRT_SUPERVISOR_STOPPING)
    return;
  sup->phase = phase;
  for (size_t i = 0; i < sup->n; i++) {
    mrt__sup_cancel_restart(sup, sup->children[i]);
    sup->children[i]->stop_queued = false;
  }
}

/* ---- the drive ------------------------------------------------------------------- */

static void finish_stop(mrt__sup *sup) {
  if (sup->finished)
    return;
  sup->finished = true;
  if (sup->phase == MRT_SUPERVISOR_ESCALATING) {
    mrt_actor_fail(sup->self, MRT_SUPERVISOR_EINTENSITY, "%s", sup->escalation_reason);
    return;
  }
  for (size_t i = 0; i < sup->stop_waiters.n; i++)
    mrt_reply_send(sup->stop_waiters.v[i], &(mrt_none){0}, sizeof(mrt_none));
  sup->stop_waiters.n = 0;
  mrt_actor_stop(sup->self);
}

/* Stopping the tree: newest first, one at a time, then finish. */
static void drive_stop_tree(mrt__sup *sup) {
  for (size_t i = sup->n; i-- > 0;)
    if (sup->children[i]->ref != NULL && sup->children[i]->stop_cause != MRT_STOP_CAUSE_NONE)
      return; /* wait for it */
  for (size_t i = sup->n; i-- > 0;)
    if (sup->children[i]->ref != NULL) {
      mrt__sup_stop_child(sup, sup->children[i], MRT_STOP_CAUSE_SHUTDOWN);
      return;
    }
  finish_stop(sup);
}

/* Strategy stops, one at a time in reverse start order. True while any is
 * pending: starts wait until the whole group is down. */
static bool drive_strategy_stops(mrt__sup *sup) {
  mrt__child *next = NULL;
  for (size_t i = sup->n; i-- > 0;) {
    mrt__child *c = sup->children[i];
    if (!c->stop_queued || c->ref == NULL)
      continue;
    if (c->stop_cause != MRT_STOP_CAUSE_NONE)
      return true;
    if (next == NULL)
      next = c;
  }
  if (next == NULL)
    return false;
  mrt__sup_stop_child(sup, next, MRT_STOP_CAUSE_STRATEGY);
  return true;
}

static bool eligible(const mrt__child *c) {
  return c->force_start || c->operation == MRT_OP_ACTIVE;
}

/* A child restarted with a group waits for the members before it. */
static bool held_by_earlier(const mrt__sup *sup, size_t i) {
  const mrt__child *c = sup->children[i];
  for (size_t j = 0; j < i; j++) {
    const mrt__child *d = sup->children[j];
    if (d->want_start && d->ref == NULL && eligible(d) && d->epoch == c->epoch)
      return true;
  }
  return false;
}

static int gate_fired(mrt_actor *self, void *state, void *ud) {
  (void)ud;
  mrt__sup *sup = state;
  sup->gate_timer = 0;
  sup->gate_at = 0;
  for (size_t i = 0; i < sup->n; i++)
    mrt_backoff_release_expired(&sup->children[i]->backoff, mrt_actor_now(self));
  mrt__sup_drive(sup);
  return 0;
}

static void arm_gate(mrt__sup *sup, uint64_t at, uint64_t now) {
  if (sup->gate_timer != 0 && sup->gate_at == at)
    return;
  if (sup->gate_timer != 0)
    mrt_timer_cancel(sup->self, sup->gate_timer);
  sup->gate_timer = 0;
  sup->gate_at = 0;
  sup->gate_unarmed = false;
  if (at == UINT64_MAX)
    return;
  /* Without a timer nothing would ever start the waiting children: remember
   * it, and the next message retries (mrt__sup_heal). */
  sup->gate_unarmed =
      mrt_timer_start(sup->self, at - now, 0, gate_fired, NULL, &sup->gate_timer) < 0;
  if (!sup->gate_unarmed)
    sup->gate_at = at;
}

void mrt__sup_heal(mrt__sup *sup) {
  if (sup->gate_unarmed && sup->gate_timer == 0)
    mrt__sup_drive(sup);
}

/* Starts the first startable child. Returns after one start (its on_start is
 * awaited) or, when none can start now, arms the timer for the next gate. */
static void drive_starts(mrt__sup *sup) {
  uint64_t now = mrt__sup_now(sup), earliest = UINT64_MAX;
  for (size_t i = 0; i < sup->n; i++) {
    mrt__child *c = sup->children[i];
    if (!c->want_start || c->ref != NULL)
      continue;
    if (!eligible(c)) {
      c->want_start = false; /* paused, quarantined or removed meanwhile */
      continue;
    }
    if (held_by_earlier(sup, i))
      continue;
    mrt_backoff_status st = {MRT_BACKOFF_IDLE, 0};
    if (!c->force_start)
      mrt_backoff_state(&c->backoff, now, &st);
    if (st.phase == MRT_BACKOFF_IDLE) {
      start_child(sup, c);
      if (sup->awaiting_uid != 0)
        return; /* drive runs again once its on_start is confirmed */
      if (!c->want_start)
        continue;
      mrt_backoff_state(&c->backoff, now, &st); /* the spawn failed: its gate closed */
    }
    if (st.phase != MRT_BACKOFF_IDLE && st.until_ns < earliest)
      earliest = st.until_ns;
  }
  arm_gate(sup, earliest, now);
}

static void check_booted(mrt__sup *sup) {
  if (sup->booted || sup->awaiting_uid != 0)
    return;
  for (size_t i = 0; i < sup->n; i++)
    if (sup->children[i]->boot_pending && eligible(sup->children[i]))
      return;
  sup->booted = true;
  if (sup->phase == MRT_SUPERVISOR_BOOTING)
    sup->phase = MRT_SUPERVISOR_RUNNING;
  for (size_t i = 0; i < sup->boot_waiters.n; i++)
    mrt_reply_send(sup->boot_waiters.v[i], &(mrt_none){0}, sizeof(mrt_none));
  sup->boot_waiters.n = 0;
  mrt_ref *parent = mrt_actor_parent(sup->self);
  if (parent != NULL) {
    mrt_child_report r = {.child_actor_id = mrt_ref_id(sup->self), .kind = MRT_CHILD_REPORT_BOOTED};
    MRT_TELL(supervisor_report, parent, &r); /* a host parent need not handle it */
  }
}

void mrt__sup_drive(mrt__sup *sup) {
  if (sup->phase >= MRT_SUPERVISOR_STOPPING) {
    drive_stop_tree(sup);
    return;
  }
  if (drive_strategy_stops(sup) || sup->awaiting_uid != 0)
    return;
  drive_starts(sup);
  check_booted(sup);
}

/* ---- reports from children --------------------------------------------------------- */

static int stale_fired(mrt_actor *self, void *state, void *ud) {
  (void)self;
  mrt__sup *sup = state;
  mrt__child *c = by_uid(sup, (uint64_t)(uintptr_t)ud);
  if (c == NULL)
    return 0;
  c->stale_timer = 0;
  if (c->ref == NULL || !c->has_heartbeat || c->stale)
    return 0;
  c->stale = true;
  c->stale_count++;
  mrt__sup_emit(sup, c, MRT_SUP_EV_HEARTBEAT_STALE);
  return 0;
}

static void heartbeat(mrt__sup *sup, mrt__child *c) {
  c->has_heartbeat = true;
  c->last_heartbeat_ns = mrt__sup_now(sup);
  c->stale = false;
  if (c->def.stale_ns == 0)
    return;
  /* One timer per child, pushed back by every heartbeat. */
  if (c->stale_timer)
    mrt_timer_cancel(sup->self, c->stale_timer);
  c->stale_timer = 0;
  mrt_timer_start(sup->self, c->def.stale_ns, 0, stale_fired, uid_ud(c->uid), &c->stale_timer);
}

static void readiness(mrt__sup *sup, mrt__child *c, mrt_readiness r) {
  if (c->readiness == r)
    return;
  c->readiness = r;
  if (r == MRT_READINESS_READY && c->status == MRT_CHILD_RUNNING)
    c->status = MRT_CHILD_READY;
  else if (r != MRT_READINESS_READY && c->status == MRT_CHILD_READY)
    c->status = MRT_CHILD_RUNNING;
  mrt__sup_emit(sup, c, r == MRT_READINESS_READY ? MRT_SUP_EV_READY : MRT_SUP_EV_NOT_READY);
}

static int on_report(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)self;
  (void)reply;
  mrt__sup *sup = state;
  const mrt_child_report *r = payload;
  mrt__sup_heal(sup);
  mrt__child *c = mrt__sup_find_actor(sup, r->child_actor_id);
  if (c == NULL)
    return 0; /* an attempt that has ended meanwhile */
  switch (r->kind) {
  case MRT_CHILD_REPORT_READY: readiness(sup, c, MRT_READINESS_READY); break;
  case MRT_CHILD_REPORT_NOT_READY: readiness(sup, c, MRT_READINESS_NOT_READY); break;
  case MRT_CHILD_REPORT_HEARTBEAT: heartbeat(sup, c); break;
  case MRT_CHILD_REPORT_BOOTED:
    if (sup->awaiting_uid == c->uid)
      confirm_started(sup, c);
    mrt__sup_drive(sup);
    break;
  }
  return 0;
}

/* ---- lifecycle ------------------------------------------------------------------- */

/* Our own supervisor asks us to stop: stop the tree in order, then exit. */
static int on_stop_request(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)self;
  (void)payload;
  (void)reply;
  mrt__sup_begin_stop(state, MRT_SUPERVISOR_STOPPING);
  mrt__sup_drive(state);
  return 0;
}

static int on_runtime_shutdown(mrt_actor *self, void *state, const void *payload,
                               mrt_reply *reply) {
  return on_stop_request(self, state, payload, reply);
}

static void sup_free(mrt__sup *sup) {
  for (size_t i = 0; i < sup->n; i++)
    child_free(sup->children[i]);
  free(sup->children);
  sup->children = NULL;
  sup->n = 0;
  if (sup->barrier != NULL)
    mrt_actor_stop(sup->barrier);
  sup->barrier = mrt_ref_unref(sup->barrier);
  free(sup->limit_at);
  free(sup->journal);
  mrt__replies_free(&sup->boot_waiters);
  mrt__replies_free(&sup->stop_waiters);
  mrt__sup_def_unref(sup->def);
  sup->def = NULL;
}

static int sup_init(mrt__sup *sup, mrt_actor *self) {
  sup->self = self;
  sup->next_uid = 1;
  sup->next_epoch = 1;
  sup->limit_at = calloc(sup->def->max_restarts, sizeof *sup->limit_at);
  if (sup->limit_at == NULL || mrt__sup_journal_init(sup) < 0)
    return -ENOMEM;
  int rc = mrt_actor_spawn(mrt_actor_runtime(self), &barrier_class, NULL, NULL, &sup->barrier);
  if (rc < 0)
    return rc;
  for (size_t i = 0; i < sup->def->n_children; i++) {
    mrt__child *c = mrt__sup_child_add(sup, &sup->def->children[i]);
    if (c == NULL)
      return -ENOMEM;
    c->boot_pending = c->want_start = true;
    c->epoch = 0; /* boot: strictly in order */
  }
  return mrt_shutdown_watch(self);
}

static int sup_on_start(mrt_actor *self, void *state, const void *args) {
  mrt__sup *sup = state;
  sup->def = *(mrt__sup_def *const *)args; /* the args' reference is ours now */
  int rc = sup_init(sup, self);
  if (rc < 0) {
    mrt_log(MRT_LOG_ERROR, MRT__SUP_LOG, "supervisor failed to start name=%s error=%s",
            sup->def->name, mrt_strerror(rc));
    sup_free(sup); /* on_stop does not run after a failed on_start */
    return rc;
  }
  mrt_log(MRT_LOG_DEBUG, MRT__SUP_LOG, "supervisor started name=%s children=%zu", sup->def->name,
          sup->n);
  mrt__sup_drive(sup);
  return 0;
}

static void sup_on_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)self;
  (void)why;
  mrt__sup *sup = state;
  /* Stopped without an orderly shutdown (killed, linked, runtime): children
   * must not outlive us; they can no longer be waited for. */
  for (size_t i = sup->n; i-- > 0;)
    if (sup->children[i]->ref != NULL)
      mrt_actor_stop(sup->children[i]->ref);
  sup_free(sup);
}

static void sup_args_drop(void *args) {
  mrt__sup_def_unref(*(mrt__sup_def **)args);
}

static const mrt_handler_entry sup_handlers[] = {
    {&mrt_msg_down, mrt__sup_on_down},
    {&mrt_msg_supervisor_report, on_report},
    {&mrt_msg_supervisor_control, mrt__sup_on_control},
    {&mrt_msg_supervisor_state, mrt__sup_on_state},
    {&mrt_msg_supervisor_events, mrt__sup_on_events},
    {&mrt_msg_supervisor_metrics, mrt__sup_on_metrics},
    {&mrt_msg_supervisor_child, mrt__sup_on_child},
    {&mrt_msg_supervisor_await_boot, mrt__sup_on_await_boot},
    {&mrt_msg_supervisor_shutdown, mrt__sup_on_shutdown},
    {&mrt_msg_supervisor_stop_request, on_stop_request},
    {&mrt_msg_shutdown, on_runtime_shutdown},
    {&mrt__msg_sup_fetch, mrt__sup_on_fetch},
    {NULL, NULL},
};

const mrt_actor_class mrt__supervisor_class = {
    .name = "supervisor",
    .state_size = sizeof(mrt__sup),
    .args_size = sizeof(mrt__sup_def *),
    .on_start = sup_on_start,
    .on_stop = sup_on_stop,
    .args_drop = sup_args_drop,
    .handlers = sup_handlers,
};

int mrt_supervisor_spawn(mrt_runtime *rt, const mrt_supervisor_spec *spec,
                         const mrt_spawn_opts *opts, mrt_ref **out) {
  if (out != NULL)
    *out = NULL;
  if (rt == NULL || spec == NULL) {
    mrt_log(MRT_LOG_WARN, MRT__SUP_LOG, "spawn refused: NULL %s", rt ? "spec" : "runtime");
    return -EINVAL;
  }
  mrt__sup_def *def;
  int rc = mrt__sup_def_build(spec, 0, &def);
  if (rc < 0)
    return rc;
  mrt_spawn_opts o = opts != NULL ? *opts : (mrt_spawn_opts){.executor = MRT_EXECUTOR_AUTO};
  o.mailbox_capacity = 0; /* a dropped DOWN would lose a child */
  rc = mrt_actor_spawn(rt, &mrt__supervisor_class, &def, &o, out);
  if (rc < 0)
    mrt__sup_def_unref(def); /* a failed spawn keeps no args */
  return rc;
}
