/* SPDX-License-Identifier: MIT */
/* meshrt — the supervisor's public surface: its message types, the blocking
 * wrappers hosts call, the helpers children call, and names for the enums.
 *
 * The blocking wrappers are thin: each is one mrt_ask_sync() of a message the
 * supervisor answers, so a host thread sees the supervisor between two of its
 * messages and never touches its memory. The one subtlety is ADD, whose
 * command carries an allocated copy of the child spec: mrt_ask_sync's -ESRCH
 * cannot tell "never delivered" (we must free it) from "delivered, then
 * discarded" (its drop hook freed it), so ADD travels by mrt_tell — whose
 * result is unambiguous — tagged with a nonce, and an ask that follows it
 * (messages from one sender arrive in order) fetches the outcome.
 *
 * Threads: the wrappers run on host threads (mrt_ask_sync refuses executor
 * threads with -EDEADLK); the child helpers run in the child's context; the
 * name functions anywhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor_internal.h"

#define QUERY_TIMEOUT MRT_SEC(5)
#define CONTROL_TIMEOUT MRT_SEC(30)

static void control_drop(void *p) {
  mrt_child_command_clear(p);
}
static void state_reply_drop(void *p) {
  mrt_supervisor_state_free(((mrt_supervisor_state_reply *)p)->state);
}
static void events_reply_drop(void *p) {
  mrt_supervisor_event_list_free(((mrt_supervisor_events_reply *)p)->list);
}
static void metrics_reply_drop(void *p) {
  mrt_supervisor_metrics_free(((mrt_supervisor_metrics_reply *)p)->metrics);
}
static void child_reply_drop(void *p) {
  mrt_ref_unref(((mrt_supervisor_child_reply *)p)->ref);
}

MRT_MESSAGE_DEFINE(supervisor_control, mrt_child_command, mrt_child_outcome, control_drop, NULL);
MRT_MESSAGE_DEFINE(supervisor_state, mrt_none, mrt_supervisor_state_reply, NULL, state_reply_drop);
MRT_MESSAGE_DEFINE(supervisor_events, mrt_supervisor_events_query, mrt_supervisor_events_reply,
                   NULL, events_reply_drop);
MRT_MESSAGE_DEFINE(supervisor_metrics, mrt_none, mrt_supervisor_metrics_reply, NULL,
                   metrics_reply_drop);
MRT_MESSAGE_DEFINE(supervisor_child, mrt_supervisor_child_query, mrt_supervisor_child_reply, NULL,
                   child_reply_drop);
MRT_MESSAGE_DEFINE(supervisor_await_boot, mrt_none, mrt_none, NULL, NULL);
MRT_MESSAGE_DEFINE(supervisor_shutdown, mrt_none, mrt_none, NULL, NULL);
MRT_MESSAGE_DEFINE(supervisor_report, mrt_child_report, mrt_none, NULL, NULL);
MRT_MESSAGE_DEFINE(supervisor_stop_request, mrt_stop_request, mrt_none, NULL, NULL);
MRT_MESSAGE_DEFINE(supervisor_event, mrt_supervisor_event, mrt_none, NULL, NULL);

const mrt_msg_type mrt__msg_sup_fetch = {"supervisor_fetch", sizeof(uint64_t),
                                         sizeof(mrt_child_outcome), NULL, NULL};

static int refuse(const char *what, const char *why) {
  mrt_log(MRT_LOG_WARN, MRT__SUP_LOG, "%s refused: %s", what, why);
  return -EINVAL;
}

/* ---- host wrappers ----------------------------------------------------------------- */

int mrt_supervisor_await_boot(mrt_ref *sup, uint64_t timeout_ns) {
  if (sup == NULL)
    return refuse("await_boot", "NULL supervisor");
  mrt_none none;
  int rc = MRT_ASK_SYNC(supervisor_await_boot, sup, &(mrt_none){0}, &none,
                        timeout_ns ? timeout_ns : QUERY_TIMEOUT);
  return rc < 0 ? rc : 0;
}

int mrt_supervisor_shutdown(mrt_ref *sup, uint64_t timeout_ns) {
  if (sup == NULL)
    return refuse("shutdown", "NULL supervisor");
  mrt_none none;
  int rc = MRT_ASK_SYNC(supervisor_shutdown, sup, &(mrt_none){0}, &none,
                        timeout_ns ? timeout_ns : CONTROL_TIMEOUT);
  return rc < 0 ? rc : 0;
}

int mrt_supervisor_current_state(mrt_ref *sup, mrt_supervisor_state **out) {
  if (sup == NULL || out == NULL)
    return refuse("current_state", "NULL argument");
  *out = NULL;
  mrt_supervisor_state_reply r = {NULL};
  int rc = MRT_ASK_SYNC(supervisor_state, sup, &(mrt_none){0}, &r, QUERY_TIMEOUT);
  if (rc < 0)
    return rc;
  *out = r.state;
  return 0;
}

int mrt_supervisor_events(mrt_ref *sup, uint64_t after_seq, mrt_supervisor_event_list **out) {
  if (sup == NULL || out == NULL)
    return refuse("events", "NULL argument");
  *out = NULL;
  mrt_supervisor_events_reply r = {NULL};
  int rc = MRT_ASK_SYNC(supervisor_events, sup, &(mrt_supervisor_events_query){after_seq}, &r,
                        QUERY_TIMEOUT);
  if (rc < 0)
    return rc;
  *out = r.list;
  return 0;
}

int mrt_supervisor_metrics_get(mrt_ref *sup, mrt_supervisor_metrics **out) {
  if (sup == NULL || out == NULL)
    return refuse("metrics", "NULL argument");
  *out = NULL;
  mrt_supervisor_metrics_reply r = {NULL};
  int rc = MRT_ASK_SYNC(supervisor_metrics, sup, &(mrt_none){0}, &r, QUERY_TIMEOUT);
  if (rc < 0)
    return rc;
  *out = r.metrics;
  return 0;
}

int mrt_supervisor_child_ref(mrt_ref *sup, const char *id, mrt_ref **out) {
  if (out != NULL)
    *out = NULL;
  if (sup == NULL || out == NULL || !mrt__child_id_valid(id))
    return refuse("child_ref", "NULL argument or bad child id");
  mrt_supervisor_child_query q;
  snprintf(q.id, sizeof q.id, "%s", id);
  mrt_supervisor_child_reply r = {NULL};
  int rc = MRT_ASK_SYNC(supervisor_child, sup, &q, &r, QUERY_TIMEOUT);
  if (rc < 0)
    return rc;
  *out = r.ref;
  return 0;
}

/* ADD: see the file comment. */
static int control_add(mrt_ref *sup, mrt_child_command *cmd, mrt_child_outcome *out,
                       uint64_t timeout_ns) {
  cmd->nonce = (uint64_t)(uintptr_t)cmd->add;
  cmd->wait = false;
  uint64_t nonce = cmd->nonce;
  int rc = MRT_TELL(supervisor_control, sup, cmd);
  if (rc < 0) {
    mrt_child_command_clear(cmd); /* never delivered: still ours */
    return rc;
  }
  cmd->add = NULL; /* the message owns it now */
  mrt_child_outcome o;
  rc = mrt_ask_sync(sup, &mrt__msg_sup_fetch, &nonce, sizeof nonce, &o, sizeof o, timeout_ns);
  if (rc >= 0 && out != NULL)
    *out = o;
  return rc < 0 ? rc : 0;
}

int mrt_supervisor_control(mrt_ref *sup, mrt_child_command *cmd, mrt_child_outcome *out,
                           uint64_t timeout_ns) {
  if (sup == NULL || cmd == NULL) {
    mrt_child_command_clear(cmd);
    return refuse("control", "NULL argument");
  }
  if (timeout_ns == 0)
    timeout_ns = CONTROL_TIMEOUT;
  if (cmd->kind == MRT_CHILD_CMD_ADD && cmd->add != NULL)
    return control_add(sup, cmd, out, timeout_ns);
  mrt_child_command_clear(cmd); /* only ADD may carry a spec */
  cmd->nonce = 0;
  mrt_child_outcome o;
  int rc = MRT_ASK_SYNC(supervisor_control, sup, cmd, &o, timeout_ns);
  if (rc >= 0 && out != NULL)
    *out = o;
  return rc < 0 ? rc : 0;
}

static int simple(mrt_ref *sup, mrt_child_command_kind kind, const char *id,
                  mrt_child_outcome *out) {
  mrt_child_command cmd;
  int rc = mrt_child_command_init(&cmd, kind, id);
  return rc < 0 ? rc : mrt_supervisor_control(sup, &cmd, out, 0);
}

int mrt_supervisor_pause(mrt_ref *sup, const char *id, mrt_child_outcome *out) {
  return simple(sup, MRT_CHILD_CMD_PAUSE, id, out);
}
int mrt_supervisor_resume(mrt_ref *sup, const char *id, mrt_child_outcome *out) {
  return simple(sup, MRT_CHILD_CMD_RESUME, id, out);
}
int mrt_supervisor_remove(mrt_ref *sup, const char *id, mrt_child_outcome *out) {
  return simple(sup, MRT_CHILD_CMD_REMOVE, id, out);
}
int mrt_supervisor_quarantine(mrt_ref *sup, const char *id, mrt_child_outcome *out) {
  return simple(sup, MRT_CHILD_CMD_QUARANTINE, id, out);
}
int mrt_supervisor_restart(mrt_ref *sup, const char *id, mrt_child_outcome *out) {
  return simple(sup, MRT_CHILD_CMD_RESTART, id, out);
}

int mrt_supervisor_add_child(mrt_ref *sup, const mrt_child_spec *spec, mrt_child_outcome *out) {
  if (sup == NULL)
    return refuse("add_child", "NULL supervisor");
  mrt_child_command cmd;
  int rc = mrt_child_command_init_add(&cmd, spec);
  return rc < 0 ? rc : mrt_supervisor_control(sup, &cmd, out, 0);
}

/* ---- child side -------------------------------------------------------------------- */

static int report(mrt_actor *self, mrt_child_report_kind kind, const char *what) {
  if (self == NULL)
    return refuse(what, "NULL self");
  mrt_ref *parent = mrt_actor_parent(self);
  if (parent == NULL)
    return -ESRCH;
  mrt_child_report r = {.child_actor_id = mrt_ref_id(self), .kind = kind};
  return MRT_TELL(supervisor_report, parent, &r);
}

int mrt_supervisor_report_ready(mrt_actor *self) {
  return report(self, MRT_CHILD_REPORT_READY, "report_ready");
}
int mrt_supervisor_report_not_ready(mrt_actor *self) {
  return report(self, MRT_CHILD_REPORT_NOT_READY, "report_not_ready");
}
int mrt_supervisor_heartbeat(mrt_actor *self) {
  return report(self, MRT_CHILD_REPORT_HEARTBEAT, "heartbeat");
}

int mrt_supervisor_stop_request_default(mrt_actor *self, void *state, const void *payload,
                                        mrt_reply *reply) {
  (void)state;
  (void)payload;
  (void)reply;
  mrt_actor_stop(self);
  return 0;
}

/* ---- names --------------------------------------------------------------------------- */

#define NAME(table, i)                                                                             \
  ((size_t)(i) < sizeof(table) / sizeof(table)[0] && (table)[i] != NULL ? (table)[i] : "?")

const char *mrt_child_status_name(mrt_child_status s) {
  static const char *const names[] = {"starting", "running", "ready", "stopping", "stopped"};
  return NAME(names, s);
}

const char *mrt_child_operation_name(mrt_child_operation op) {
  static const char *const names[] = {"active", "paused", "quarantined", "removed"};
  return NAME(names, op);
}

const char *mrt_readiness_name(mrt_readiness r) {
  static const char *const names[] = {"unreported", "ready", "not_ready"};
  return NAME(names, r);
}

const char *mrt_stop_state_name(mrt_stop_state s) {
  static const char *const names[] = {"none", "no_active_attempt", "requested", "completed",
                                      "failed"};
  return NAME(names, s);
}

const char *mrt_child_command_name(mrt_child_command_kind k) {
  static const char *const names[] = {"none",       "pause",   "resume", "remove",
                                      "quarantine", "restart", "add"};
  return NAME(names, k);
}

const char *mrt_supervisor_event_kind_name(mrt_supervisor_event_kind k) {
  static const char *const names[] = {
      "starting",        "running",           "ready",          "not_ready", "failed",
      "exited",          "backoff_scheduled", "restarting",     "paused",    "resumed",
      "quarantined",     "removed",           "stop_delivered", "stopped",   "stop_failed",
      "heartbeat_stale", "limit_exhausted",   "escalated",      "added",
  };
  _Static_assert(sizeof names / sizeof names[0] == MRT_SUP_EV_COUNT, "one name per event kind");
  return NAME(names, k);
}
