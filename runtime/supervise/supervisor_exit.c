/* SPDX-License-Identifier: MIT */
/* meshrt — supervisor: what happens when a child's attempt ends.
 *
 * A DOWN from a child ends its attempt. If the supervisor had asked it to stop
 * (operator, strategy, shutdown), the exit is never a crash and never restarts
 * by policy: what follows depends on why it was stopped (a group restart, an
 * operator restart, a removal). Otherwise the exit is the child's own: its
 * backoff tracker records a crash or a clean exit, its restart policy and the
 * supervisor's operation and phase decide whether it restarts, the restart
 * limit decides whether the supervisor escalates instead, and the strategy
 * marks the siblings that go down and come back with it. The engine
 * (mrt__sup_drive, supervisor.c) then carries the decisions out.
 *
 * Threads: runs in the supervisor's context only.
 */
#include <stdio.h>
#include <string.h>

#include "supervisor_internal.h"

void mrt__sup_record_failure(mrt__sup *sup, mrt__child *c, const mrt_exit *why) {
  c->failures++;
  c->has_last_failure = true;
  c->last_failure = (mrt_child_failure){.phase = MRT_STOP_PHASE_NONE,
                                        .exit_kind = why->kind,
                                        .error = why->error,
                                        .at_ns = mrt__sup_now(sup)};
  snprintf(c->last_failure.reason, sizeof c->last_failure.reason, "%s", why->reason);
}

void mrt__sup_announce_gate(mrt__sup *sup, mrt__child *c) {
  uint64_t now = mrt__sup_now(sup);
  mrt_backoff_status st;
  mrt_backoff_state(&c->backoff, now, &st);
  if (st.phase == MRT_BACKOFF_IDLE)
    return;
  c->backoff_ns_total += st.until_ns - now;
  mrt_supervisor_event ev;
  mrt__sup_event_init(sup, c, MRT_SUP_EV_BACKOFF_SCHEDULED, &ev);
  ev.backoff_phase = st.phase;
  ev.until_ns = st.until_ns;
  mrt__sup_event_commit(sup, &ev);
}

static void attempt_ended(mrt__sup *sup, mrt__child *c) {
  c->ref = mrt_ref_unref(c->ref);
  if (c->grace_timer)
    mrt_timer_cancel(sup->self, c->grace_timer);
  if (c->stale_timer)
    mrt_timer_cancel(sup->self, c->stale_timer);
  c->grace_timer = c->stale_timer = 0;
  c->status = MRT_CHILD_STOPPED;
  c->readiness = MRT_READINESS_UNREPORTED;
  c->stale = false;
  c->boot_pending = false;
  if (sup->awaiting_uid == c->uid)
    sup->awaiting_uid = 0;
}

static void emit_exit(mrt__sup *sup, mrt__child *c, mrt_supervisor_event_kind kind,
                      const mrt_exit *why) {
  mrt_supervisor_event ev;
  mrt__sup_event_init(sup, c, kind, &ev);
  ev.exit_kind = why->kind;
  ev.error = why->error;
  ev.stop_state = c->stop_state;
  snprintf(ev.reason, sizeof ev.reason, "%s", why->reason);
  mrt__sup_event_commit(sup, &ev);
}

/* The attempt exited after we asked it to. Never a crash, never a restart by
 * policy; what follows depends on why we stopped it. */
static void requested_exit(mrt__sup *sup, mrt__child *c, const mrt_exit *why) {
  mrt_stop_cause cause = c->stop_cause;
  c->stop_cause = MRT_STOP_CAUSE_NONE;
  if (c->stop_state == MRT_STOP_REQUESTED)
    c->stop_state = MRT_STOP_COMPLETED;
  if (why->kind == MRT_EXIT_FAILED)
    mrt__sup_record_failure(sup, c, why); /* it failed while stopping: worth knowing */
  emit_exit(sup, c, MRT_SUP_EV_STOPPED, why);
  if (c->stop_queued && c->restart_after_stop)
    c->want_start = true; /* part of a group restart (if still ACTIVE) */
  c->stop_queued = c->restart_after_stop = false;
  if (cause == MRT_STOP_CAUSE_RESTART) {
    c->want_start = true;
    c->force_start = true;
  }
  mrt__sup_answer_waiters(sup, c);
  if (c->operation == MRT_OP_REMOVED) {
    mrt_supervisor_event ev;
    mrt__sup_event_init(sup, c, MRT_SUP_EV_REMOVED, &ev);
    ev.had_attempt = c->removal_had_attempt;
    mrt__sup_event_commit(sup, &ev);
    mrt__sup_child_delete(sup, c);
  }
}

static bool policy_restarts(const mrt__child *c, bool abnormal) {
  switch (c->def.restart) {
  case MRT_RESTART_PERMANENT: return true;
  case MRT_RESTART_TRANSIENT: return abnormal;
  case MRT_RESTART_TEMPORARY: return false;
  }
  return false;
}

/* Counts a restart against the limit. False: the limit is exceeded. */
static bool limit_admit(mrt__sup *sup) {
  mrt_restart_limit_state st;
  mrt__sup_limit_state(sup, &st); /* also drops restarts that left the window */
  if (st.exhausted)
    return false;
  uint32_t max = sup->def->max_restarts;
  sup->limit_at[(sup->limit_head + sup->limit_len) % max] = mrt__sup_now(sup);
  sup->limit_len++;
  sup->limit_updated_ns = mrt__sup_now(sup);
  if (sup->limit_len == max) {
    mrt_supervisor_event ev;
    mrt__sup_event_init(sup, NULL, MRT_SUP_EV_LIMIT_EXHAUSTED, &ev);
    ev.limit_used = sup->limit_len;
    ev.limit = max;
    mrt__sup_event_commit(sup, &ev);
  }
  return true;
}

static void escalate(mrt__sup *sup, mrt__child *c) {
  sup->escalations++;
  snprintf(sup->escalation_reason, sizeof sup->escalation_reason,
           "intensity exceeded: over %u restarts in %llu ms", sup->def->max_restarts,
           (unsigned long long)(sup->def->window_ns / MRT_NS_PER_MS));
  mrt_ref *parent = mrt_actor_parent(sup->self);
  mrt_log(MRT_LOG_ERROR, MRT__SUP_LOG,
          "restart limit exceeded, stopping the tree supervisor=%s child=%s escalating_to=%s",
          sup->def->name, c->def.id, parent != NULL ? mrt_ref_name(parent) : "runtime-root");
  mrt_supervisor_event ev;
  mrt__sup_event_init(sup, c, MRT_SUP_EV_ESCALATED, &ev);
  ev.limit_used = sup->limit_len;
  ev.limit = sup->def->max_restarts;
  ev.error = MRT_SUPERVISOR_EINTENSITY;
  snprintf(ev.reason, sizeof ev.reason, "%s", sup->escalation_reason);
  mrt__sup_event_commit(sup, &ev);
  mrt__sup_begin_stop(sup, MRT_SUPERVISOR_ESCALATING);
}

/* Marks the siblings the strategy restarts with c: stopped one at a time in
 * reverse start order (by drive), restarted in start order. */
static void apply_strategy(mrt__sup *sup, mrt__child *c, uint64_t epoch) {
  mrt_supervisor_strategy s = sup->def->strategy;
  if (s == MRT_STRATEGY_ONE_FOR_ONE)
    return;
  size_t from = s == MRT_STRATEGY_ONE_FOR_ALL ? 0 : mrt__sup_index_of(sup, c) + 1;
  for (size_t i = from; i < sup->n; i++) {
    mrt__child *sib = sup->children[i];
    if (sib == c || sib->operation != MRT_OP_ACTIVE)
      continue;
    sib->epoch = epoch;
    if (sib->ref != NULL) {
      sib->stop_queued = true;
      /* Temporary children are never restarted, not even with a group. */
      sib->restart_after_stop = sib->def.restart != MRT_RESTART_TEMPORARY;
    }
  }
}

/* The attempt exited on its own: a crash or a normal exit, restarted (with
 * its strategy) as its policy says — unless an operator or the tree's
 * shutdown says otherwise. */
static void unexpected_exit(mrt__sup *sup, mrt__child *c, const mrt_exit *why) {
  bool abnormal = mrt_exit_is_abnormal(why);
  if (abnormal) {
    mrt__sup_record_failure(sup, c, why);
    mrt_backoff_observe_crash(&c->backoff, mrt__sup_now(sup));
  } else {
    mrt_backoff_observe_clean_exit(&c->backoff, mrt__sup_now(sup));
  }
  emit_exit(sup, c, abnormal ? MRT_SUP_EV_FAILED : MRT_SUP_EV_EXITED, why);
  bool queued = c->stop_queued, again = c->restart_after_stop;
  c->stop_queued = c->restart_after_stop = false;
  if (sup->phase >= MRT_SUPERVISOR_STOPPING || why->kind == MRT_EXIT_SHUTDOWN ||
      mrt_runtime_shutting_down(mrt_actor_runtime(sup->self)))
    return;
  if (queued) { /* a group restart was about to stop it anyway */
    c->want_start = again;
    if (again)
      mrt__sup_announce_gate(sup, c);
    return;
  }
  if (c->operation != MRT_OP_ACTIVE || !policy_restarts(c, abnormal))
    return;
  if (!limit_admit(sup)) {
    escalate(sup, c);
    return;
  }
  sup->generation++;
  sup->restarts++;
  c->epoch = sup->next_epoch++;
  c->want_start = true;
  apply_strategy(sup, c, c->epoch);
  mrt__sup_announce_gate(sup, c);
}

int mrt__sup_on_down(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)self;
  (void)reply;
  mrt__sup *sup = state;
  const mrt_down *d = payload;
  mrt__child *c = mrt__sup_find_actor(sup, d->id);
  if (c == NULL)
    return 0; /* not (or no longer) one of ours */
  attempt_ended(sup, c);
  if (c->stop_cause != MRT_STOP_CAUSE_NONE)
    requested_exit(sup, c, &d->exit);
  else
    unexpected_exit(sup, c, &d->exit);
  mrt__sup_drive(sup);
  return 0;
}
