/* SPDX-License-Identifier: MIT */
/* meshrt — supervisor operator control and the other requests a supervisor
 * answers (child refs, boot and shutdown waits).
 *
 * Each command changes the child's operation (ACTIVE, PAUSED, QUARANTINED,
 * REMOVED) and, when that means the running attempt must go, delivers one stop
 * through the shutdown policy. A command that finds the child as asked changes
 * nothing and says so (idempotent), so repeating a command never delivers a
 * second stop. Commands set the child's operation before the engine runs, and
 * the engine never starts a child that is not ACTIVE: that is why an operator
 * command always wins over an automatic restart racing with it. The outcome is
 * answered at once, or — with `wait` — once the stop it delivered completed.
 *
 * Threads: the handlers run in the supervisor's context.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrt_grow.h"
#include "supervisor_internal.h"

void mrt__sup_fill_outcome(mrt__sup *sup, const mrt__child *c, mrt_child_outcome *o) {
  snprintf(o->child_id, sizeof o->child_id, "%s", c->def.id);
  o->active = c->ref != NULL;
  o->attempt = o->active ? c->attempt : 0;
  o->generation = o->active ? c->generation : 0;
  o->status = c->status;
  o->stop_state = c->stop_state;
  if (!o->active && c->stop_state == MRT_STOP_NONE)
    o->stop_state = MRT_STOP_NO_ACTIVE_ATTEMPT;
  o->has_failure = c->has_stop_failure;
  o->failure = c->stop_failure;
  mrt__sup_limit_state(sup, &o->restart_limit);
}

void mrt__sup_answer_waiters(mrt__sup *sup, mrt__child *c) {
  for (size_t i = 0; i < c->n_waiters; i++) {
    mrt_child_outcome o = c->waiters[i].outcome;
    mrt__sup_fill_outcome(sup, c, &o);
    MRT_REPLY(supervisor_control, c->waiters[i].reply, &o);
  }
  c->n_waiters = 0;
}

static int add_waiter(mrt__child *c, mrt_reply *reply, const mrt_child_outcome *o) {
  mrt__waiter *v = mrt__grow(c->waiters, &c->cap_waiters, c->n_waiters, sizeof *v, 2);
  if (v == NULL)
    return -ENOMEM;
  c->waiters = v;
  c->waiters[c->n_waiters++] = (mrt__waiter){mrt_reply_defer(reply), *o};
  return 0;
}

/* ---- the commands ---------------------------------------------------------------- */

static void set_operation(mrt__sup *sup, mrt__child *c, mrt_child_operation op,
                          mrt_supervisor_event_kind kind) {
  mrt_supervisor_event ev;
  mrt__sup_event_init(sup, c, kind, &ev);
  ev.operation_from = c->operation;
  ev.operation_to = op;
  c->operation = op;
  mrt__sup_event_commit(sup, &ev);
}

/* pause and quarantine: the attempt stops and nothing restarts it. */
static void hold(mrt__sup *sup, mrt__child *c, mrt_child_operation op, mrt_child_outcome *o) {
  bool already =
      op == MRT_OP_PAUSED ? c->operation != MRT_OP_ACTIVE : c->operation == MRT_OP_QUARANTINED;
  if (already) {
    o->idempotent = true;
    return;
  }
  set_operation(sup, c, op, op == MRT_OP_PAUSED ? MRT_SUP_EV_PAUSED : MRT_SUP_EV_QUARANTINED);
  mrt__sup_cancel_restart(sup, c);
  /* If a stop is already under way this only makes sure it restarts nothing. */
  o->stop_delivered = mrt__sup_stop_child(sup, c, MRT_STOP_CAUSE_OPERATOR);
}

static void resume(mrt__sup *sup, mrt__child *c, mrt_child_outcome *o) {
  if (c->operation == MRT_OP_ACTIVE) {
    o->idempotent = true;
    return;
  }
  set_operation(sup, c, MRT_OP_ACTIVE, MRT_SUP_EV_RESUMED);
  c->epoch = sup->next_epoch++;
  c->want_start = true; /* once the gate opens (and a stop under way completed) */
}

static void restart(mrt__sup *sup, mrt__child *c, mrt_child_outcome *o) {
  if (c->ref != NULL && c->stop_cause == MRT_STOP_CAUSE_RESTART) {
    o->idempotent = true; /* that restart is under way */
    return;
  }
  if (c->operation != MRT_OP_ACTIVE)
    set_operation(sup, c, MRT_OP_ACTIVE, MRT_SUP_EV_RESUMED);
  mrt_backoff_force_release(&c->backoff);
  sup->generation++;
  c->epoch = sup->next_epoch++;
  if (c->ref != NULL) {
    o->stop_delivered = mrt__sup_stop_child(sup, c, MRT_STOP_CAUSE_RESTART);
  } else {
    c->want_start = true;
    c->force_start = true;
  }
}

/* Returns true if the record can go now (nothing is running). */
static bool remove_child(mrt__sup *sup, mrt__child *c, mrt_child_outcome *o) {
  if (c->operation == MRT_OP_REMOVED) {
    o->idempotent = true;
    return false;
  }
  c->removed_from = c->operation;
  c->operation = MRT_OP_REMOVED;
  mrt__sup_cancel_restart(sup, c);
  c->removal_had_attempt = c->ref != NULL;
  if (c->ref == NULL)
    return true;
  o->stop_delivered = mrt__sup_stop_child(sup, c, MRT_STOP_CAUSE_OPERATOR);
  return false;
}

static void delete_now(mrt__sup *sup, mrt__child *c) {
  mrt_supervisor_event ev;
  mrt__sup_event_init(sup, c, MRT_SUP_EV_REMOVED, &ev);
  ev.operation_from = c->removed_from;
  ev.had_attempt = false;
  mrt__sup_event_commit(sup, &ev);
  mrt__sup_child_delete(sup, c);
}

static int add(mrt__sup *sup, const mrt__child_def *def, mrt__child **out) {
  mrt__child *c = mrt__sup_find(sup, def->id);
  if (c != NULL) {
    /* The same child again: nothing to do. Another one under that id: no. */
    if (c->operation == MRT_OP_REMOVED || c->def.cls != def->cls ||
        (c->def.nested == NULL) != (def->nested == NULL))
      return -EEXIST;
    *out = c;
    return 1;
  }
  c = mrt__sup_child_add(sup, def);
  if (c == NULL)
    return -ENOMEM;
  c->want_start = true;
  mrt__sup_emit(sup, c, MRT_SUP_EV_ADDED);
  *out = c;
  return 0;
}

/* Performs a command on an existing child. Returns 1 if the record must be
 * deleted once the outcome is filled in. */
static int perform(mrt__sup *sup, mrt__child *c, mrt_child_command_kind kind,
                   mrt_child_outcome *o) {
  switch (kind) {
  case MRT_CHILD_CMD_PAUSE: hold(sup, c, MRT_OP_PAUSED, o); break;
  case MRT_CHILD_CMD_QUARANTINE: hold(sup, c, MRT_OP_QUARANTINED, o); break;
  case MRT_CHILD_CMD_RESUME: resume(sup, c, o); break;
  case MRT_CHILD_CMD_RESTART: restart(sup, c, o); break;
  case MRT_CHILD_CMD_REMOVE: return remove_child(sup, c, o) ? 1 : 0;
  default: return -EINVAL;
  }
  return 0;
}

static int dispatch(mrt__sup *sup, const mrt_child_command *cmd, mrt_child_outcome *o,
                    mrt__child **out) {
  if (sup->phase >= MRT_SUPERVISOR_STOPPING)
    return -ESHUTDOWN;
  if (cmd->kind == MRT_CHILD_CMD_ADD) {
    if (cmd->add == NULL)
      return -EINVAL;
    int rc = add(sup, cmd->add, out);
    if (rc < 0)
      return rc;
    o->operation_before = (*out)->operation;
    o->idempotent = rc == 1;
    return 0;
  }
  mrt__child *c = mrt__sup_find(sup, cmd->child_id);
  if (c == NULL || (c->operation == MRT_OP_REMOVED && cmd->kind != MRT_CHILD_CMD_REMOVE))
    return -ENOENT;
  o->operation_before = c->operation;
  *out = c;
  return perform(sup, c, cmd->kind, o);
}

static void answer(mrt__sup *sup, mrt__child *c, const mrt_child_command *cmd, mrt_child_outcome *o,
                   mrt_reply *reply) {
  mrt__sup_fill_outcome(sup, c, o);
  if (reply == NULL)
    return;
  bool stopping = c->ref != NULL && c->stop_cause != MRT_STOP_CAUSE_NONE;
  if (cmd->wait && stopping && add_waiter(c, reply, o) == 0)
    return;
  MRT_REPLY(supervisor_control, reply, o);
}

int mrt__sup_on_control(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)self;
  mrt__sup *sup = state;
  const mrt_child_command *cmd = payload;
  if (cmd->kind <= MRT_CHILD_CMD_NONE || cmd->kind >= MRT_CHILD_CMD_COUNT)
    return reply != NULL ? mrt_reply_error(reply, -EINVAL) : 0;
  sup->operations[cmd->kind]++;
  mrt_child_outcome o = {.command = cmd->kind, .command_id = ++sup->command_seq};
  sup->cur_command = cmd->kind;
  sup->cur_command_id = o.command_id;
  mrt__child *c = NULL;
  int rc = dispatch(sup, cmd, &o, &c);
  if (rc < 0) {
    if (reply != NULL)
      mrt_reply_error(reply, rc);
  } else if (rc == 1) {
    o.operation_after = MRT_OP_REMOVED;
    answer(sup, c, cmd, &o, reply);
    delete_now(sup, c);
  } else {
    mrt__sup_drive(sup); /* e.g. start it now, so the outcome shows the attempt */
    o.operation_after = c->operation;
    answer(sup, c, cmd, &o, reply);
  }
  if (reply == NULL && cmd->nonce != 0) {
    unsigned i = sup->told_next++ % (sizeof sup->told / sizeof sup->told[0]);
    sup->told[i].nonce = cmd->nonce;
    sup->told[i].rc = rc < 0 ? rc : 0;
    sup->told[i].outcome = o;
  }
  mrt_log(MRT_LOG_INFO, MRT__SUP_LOG, "command supervisor=%s command=%s child=%s result=%s",
          sup->def->name, mrt_child_command_name(cmd->kind), cmd->child_id,
          rc == -ENOENT  ? "no such child"
          : rc < 0       ? mrt_strerror(rc)
          : o.idempotent ? "idempotent"
                         : "done");
  sup->cur_command = MRT_CHILD_CMD_NONE;
  sup->cur_command_id = 0;
  return 0;
}

/* ---- other requests ---------------------------------------------------------------- */

int mrt__sup_on_child(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)self;
  mrt__sup_heal(state);
  if (reply == NULL)
    return 0;
  const mrt_supervisor_child_query *q = payload;
  mrt__child *c = mrt__sup_find(state, q->id);
  if (c == NULL || c->ref == NULL)
    return mrt_reply_error(reply, -ENOENT);
  mrt_supervisor_child_reply r = {mrt_ref_ref(c->ref)};
  return MRT_REPLY(supervisor_child, reply, &r);
}

int mrt__sup_on_await_boot(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)self;
  (void)payload;
  mrt__sup *sup = state;
  mrt__sup_heal(sup);
  if (reply == NULL)
    return 0;
  if (sup->booted)
    return MRT_REPLY(supervisor_await_boot, reply, &(mrt_none){0});
  if (mrt__replies_push(&sup->boot_waiters, mrt_reply_defer(reply)) < 0)
    return mrt_reply_error(reply, -ENOMEM);
  return 0;
}

int mrt__sup_on_shutdown(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)self;
  (void)payload;
  mrt__sup *sup = state;
  /* No room to remember the asker: refuse, changing nothing, rather than
   * answer -ENOMEM for a shutdown that then happens anyway. */
  if (reply != NULL && mrt__replies_push(&sup->stop_waiters, mrt_reply_defer(reply)) < 0)
    return mrt_reply_error(reply, -ENOMEM);
  mrt__sup_begin_stop(sup, MRT_SUPERVISOR_STOPPING);
  mrt__sup_drive(sup);
  return 0;
}

int mrt__sup_on_fetch(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)self;
  mrt__sup *sup = state;
  uint64_t nonce = *(const uint64_t *)payload;
  if (reply == NULL || nonce == 0)
    return 0;
  size_t n = sizeof sup->told / sizeof sup->told[0];
  /* Newest first: a nonce (an address) may come back in a later command. */
  for (size_t k = 1; k <= n; k++) {
    size_t i = (sup->told_next - k) % n;
    if (sup->told[i].nonce == nonce) {
      sup->told[i].nonce = 0;
      if (sup->told[i].rc < 0)
        return mrt_reply_error(reply, sup->told[i].rc);
      return mrt_reply_send(reply, &sup->told[i].outcome, sizeof sup->told[i].outcome);
    }
  }
  return mrt_reply_error(reply, -ENOENT);
}
