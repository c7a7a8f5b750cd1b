/* SPDX-License-Identifier: MIT */
/* meshrt-node — the control commands.
 *
 * A request is a JSON object {"cmd": NAME, ...arguments, "id": optional}; the
 * reply is {"ok": true, "result": {...}} or {"ok": false, "error": {"code":
 * CODE, "message": TEXT}}, with the request's "id" echoed. Error codes:
 * parse_error, bad_request, unknown_command, not_found, unavailable,
 * not_supported, timeout, shutting_down, busy, too_long, failed, internal.
 *
 *   status [peers]              the node at a glance (status.c); "peers":
 *                               "all" (default) or N, the first N by state
 *   children                    the supervisor's state records (status.c)
 *   rebind                      rebind DirectManager's socket now
 *   measure                     re-measure DERP latency now
 *   pause|resume|restart CHILD  operator control of a supervised child
 *   events [after] [limit] [follow]  the journal; follow streams new events
 *   link-change [flags] [interface] [address]
 *                               (manual link monitor only) inject a change
 *
 * Requests arrive parsed and validated (request.c): what runs here meets
 * only the node's own errors.
 *
 * Threading: service thread; commands block on asks with short timeouts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

typedef json_t *(*cmd_fn)(mn_app *app, const mn_request *req, bool *follow, uint64_t *after);

static json_t *ok(json_t *result) {
  return mn_reply_ok(result);
}

/* An error reply for a meshrt error code. */
static json_t *errno_reply(int err, const char *what) {
  const char *code = err == -ENOENT      ? "not_found"
                     : err == -ESRCH     ? "unavailable"
                     : err == -ETIMEDOUT ? "timeout"
                     : err == -ESHUTDOWN ? "shutting_down"
                     : err == -EBUSY     ? "busy"
                     : err == -EAGAIN    ? "busy"
                     : err == -EINVAL    ? "bad_request"
                     : err == -ENOTSUP   ? "not_supported"
                                         : "failed";
  /* -EAGAIN: an actor's bounded mailbox was full; it drains in moments. */
  return mn_reply_error(code, "%s: %s%s", what, mrt_strerror(err),
                        err == -EAGAIN ? "; try again" : "");
}

/* ---- rebind, measure, link-change ---------------------------------------------------- */

static json_t *cmd_rebind(mn_app *app, const mn_request *req, bool *follow, uint64_t *after) {
  (void)req;
  (void)follow;
  (void)after;
  mn_rebind_result r;
  int rc = mn_observer_rebind(app->observer, &r);
  if (rc < 0)
    return errno_reply(rc, rc == -ESRCH ? "rebind: DirectManager is not running" : "rebind");
  return ok(json_pack("{s:i, s:i, s:I, s:s}", "old_port", (int)r.old_port, "new_port",
                      (int)r.new_port, "generation", (json_int_t)r.generation, "port",
                      r.port_note));
}

static json_t *cmd_measure(mn_app *app, const mn_request *req, bool *follow, uint64_t *after) {
  (void)req;
  (void)follow;
  (void)after;
  /* A MeasureNow without a map is ignored by the measurer: say so now
   * rather than let the operator wait for a round that never comes. */
  mrt_ref *dl = NULL;
  mrt_derp_latency_stats st;
  memset(&st, 0, sizeof st);
  int rc =
      mrt_supervisor_child_ref(mrt_node_supervisor(app->node), MRT_NODE_CHILD_DERP_LATENCY, &dl);
  if (rc == 0)
    rc = MRT_ASK_SYNC(derp_latency_stats, dl, &(mrt_none){0}, &st, MRT_SEC(2));
  mrt_ref_unref(dl);
  if (rc < 0)
    return errno_reply(rc == -ENOENT ? -ESRCH : rc, "measure: the DERP latency measurer");
  if (!st.have_map)
    return mn_reply_error("unavailable", "measure: there is no DERP map to measure");
  mn_view_data v;
  mn_view_get(&app->view, &v);
  mrt_measure_now mn = {.reason = MN_MEASURE_OPERATOR};
  rc = mrt_publish_measure_now(mrt_runtime_bus(app->rt), &mn);
  if (rc < 0)
    return errno_reply(rc, "measure");
  mn_journal_append(app->journal, "measure", json_pack("{s:s}", "cause", "operator"));
  mrt_log(MRT_LOG_INFO, MN_LOG, "operator request: measure DERP latency now");
  return ok(json_pack("{s:b, s:I}", "requested", 1, "rounds", (json_int_t)v.rounds));
}

/* One described change per flag: on the interface; with the address for the
 * address kinds; as the new default-route interface for default-route. */
static size_t items_of(uint32_t flags, const mrt_link_change_item *tmpl,
                       mrt_link_change_item *out) {
  size_t n = 0;
  for (uint32_t bit = MRT_LINK_CHANGE_LINK_UP; bit <= MRT_LINK_CHANGE_DEFAULT_ROUTE; bit <<= 1) {
    if (!(flags & bit))
      continue;
    mrt_link_change_item *it = &out[n++];
    *it = *tmpl;
    it->flags = bit;
    it->level = bit == MRT_LINK_CHANGE_LINK_UP ? MRT_LINK_LEVEL_UP : MRT_LINK_LEVEL_DOWN;
    if (!(bit & (MRT_LINK_CHANGE_ADDR_ADDED | MRT_LINK_CHANGE_ADDR_REMOVED))) {
      it->prefixlen = 0;
      memset(it->addr, 0, sizeof it->addr);
      if (bit != MRT_LINK_CHANGE_DEFAULT_ROUTE)
        it->family = 0;
    }
  }
  return n;
}

static json_t *cmd_link_change(mn_app *app, const mn_request *req, bool *follow, uint64_t *after) {
  (void)follow;
  (void)after;
  uint32_t flags = req->flags;
  mrt_link_change_item items[5];
  if (app->monitor_kind != MN_MONITOR_MANUAL)
    return mn_reply_error("not_supported",
                          "link-change: the link monitor is %s; only the manual one takes "
                          "injected changes",
                          mn_monitor_kind_name(app->monitor_kind));
  mrt_link_change change = {.flags = flags, .raw_events = 1};
  if (req->described) {
    change.n_changes = (uint32_t)items_of(flags, &req->where, items);
    change.changes = items;
    for (uint32_t i = 0; i < change.n_changes; i++)
      if (!mrt_manual_monitor_trigger_item(app->monitor, &items[i]))
        return mn_reply_error("busy",
                              "link-change: the monitor's queue is full after %u of %u "
                              "changes; try again",
                              (unsigned)i, (unsigned)change.n_changes);
  } else if (!mrt_manual_monitor_trigger(app->monitor, flags)) {
    return mn_reply_error("busy", "link-change: the monitor's queue is full; try again");
  }
  if (mn_observer_link_change(app->observer, &change, "injected by meshrt-ctl", "manual") ==
      -EAGAIN)
    mn_view_note_dropped_link(&app->view); /* injected all the same, only not journalled */
  char text[128], list[1024];
  return ok(json_pack("{s:s, s:s}", "flags", mrt_link_change_flags_str(flags, text, sizeof text),
                      "summary", mrt_link_change_list_str(&change, list, sizeof list)));
}

/* ---- operator control of children ------------------------------------------------------------ */

static json_t *outcome_json(const mrt_child_outcome *o) {
  json_t *j = json_pack(
      "{s:s, s:s, s:I, s:s, s:s, s:b, s:b, s:b, s:I, s:s, s:s}", "child", o->child_id, "command",
      mrt_child_command_name(o->command), "command_id", (json_int_t)o->command_id,
      "operation_before", mrt_child_operation_name(o->operation_before), "operation_after",
      mrt_child_operation_name(o->operation_after), "stop_delivered", o->stop_delivered,
      "idempotent", o->idempotent, "active", o->active, "attempt", (json_int_t)o->attempt, "status",
      mrt_child_status_name(o->status), "stop_state", mrt_stop_state_name(o->stop_state));
  if (j != NULL && o->has_failure)
    json_object_set_new(j, "failure", json_string(o->failure.reason));
  return j;
}

static json_t *child_command(mn_app *app, const mn_request *req, mrt_child_command_kind kind) {
  const char *name = mrt_child_command_name(kind);
  mrt_child_outcome out;
  memset(&out, 0, sizeof out);
  mrt_ref *sup = mrt_node_supervisor(app->node);
  const char *id = req->child;
  int rc = kind == MRT_CHILD_CMD_PAUSE    ? mrt_supervisor_pause(sup, id, &out)
           : kind == MRT_CHILD_CMD_RESUME ? mrt_supervisor_resume(sup, id, &out)
                                          : mrt_supervisor_restart(sup, id, &out);
  if (rc < 0) {
    char what[MRT_CHILD_ID_MAX + 32];
    snprintf(what, sizeof what, "%s %s", name, id);
    return errno_reply(rc, what);
  }
  mrt_log(MRT_LOG_INFO, MN_LOG, "operator request: %s %s%s", name, id,
          out.idempotent ? " (already so)" : "");
  return ok(outcome_json(&out));
}

static json_t *cmd_pause(mn_app *app, const mn_request *req, bool *follow, uint64_t *after) {
  (void)follow;
  (void)after;
  return child_command(app, req, MRT_CHILD_CMD_PAUSE);
}

static json_t *cmd_resume(mn_app *app, const mn_request *req, bool *follow, uint64_t *after) {
  (void)follow;
  (void)after;
  return child_command(app, req, MRT_CHILD_CMD_RESUME);
}

static json_t *cmd_restart(mn_app *app, const mn_request *req, bool *follow, uint64_t *after) {
  (void)follow;
  (void)after;
  return child_command(app, req, MRT_CHILD_CMD_RESTART);
}

/* ---- status, children, events ------------------------------------------------------------------
 */

/* status's peers in the order a person reads them: those with a direct path
 * first, then those without, each by id (stable between calls, unlike RTT). */
static int peer_order(const void *a, const void *b) {
  const json_t *p = *(const json_t *const *)a, *q = *(const json_t *const *)b;
  int pp = json_is_true(json_object_get(p, "has_path")),
      qp = json_is_true(json_object_get(q, "has_path"));
  if (pp != qp)
    return qp - pp;
  json_int_t pi = json_integer_value(json_object_get(p, "id")),
             qi = json_integer_value(json_object_get(q, "id"));
  return (pi > qi) - (pi < qi);
}

/* Sorts the status's "peers", keeps the first `limit` (SIZE_MAX: all) and
 * adds "peer_summary", counted over all of them, so a node with thousands
 * of peers can be shown as a summary and its top rows. */
static int page_peers(json_t *status, size_t limit) {
  json_t *peers = json_object_get(status, "peers");
  size_t n = json_array_size(peers), with_path = 0;
  json_t **v = calloc(n ? n : 1, sizeof *v);
  json_t *page = json_array();
  int rc = v != NULL && page != NULL ? 0 : -ENOMEM;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    v[i] = json_array_get(peers, i);
    with_path += json_is_true(json_object_get(v[i], "has_path"));
  }
  if (rc == 0)
    qsort(v, n, sizeof *v, peer_order);
  for (size_t i = 0; rc == 0 && i < n && i < limit; i++)
    rc = json_array_append(page, v[i]);
  free(v);
  json_t *summary =
      rc == 0 ? json_pack("{s:I, s:I, s:I, s:I}", "total", (json_int_t)n, "with_path",
                          (json_int_t)with_path, "without_path", (json_int_t)(n - with_path),
                          "shown", (json_int_t)json_array_size(page))
              : NULL;
  /* json_object_set_new takes its value even when it fails. */
  if (summary == NULL || json_object_set_new(status, "peer_summary", summary) < 0) {
    json_decref(page);
    return -ENOMEM;
  }
  return json_object_set_new(status, "peers", page) < 0 ? -ENOMEM : 0;
}

static json_t *cmd_status(mn_app *app, const mn_request *req, bool *follow, uint64_t *after) {
  (void)follow;
  (void)after;
  size_t limit = req->peers;
  json_t *s = mn_status_json(app);
  if (s != NULL && page_peers(s, limit) < 0) {
    json_decref(s);
    s = NULL;
  }
  return ok(s);
}

static json_t *cmd_children(mn_app *app, const mn_request *req, bool *follow, uint64_t *after) {
  (void)req;
  (void)follow;
  (void)after;
  int err = 0;
  json_t *r = mn_children_json(app, &err);
  return err < 0 ? errno_reply(err, "children") : ok(r);
}

static json_t *cmd_events(mn_app *app, const mn_request *req, bool *follow, uint64_t *after) {
  uint64_t from = req->after, limit = req->limit;
  json_t *events = NULL;
  uint64_t last = 0, dropped = 0;
  if (mn_journal_read(app->journal, from, (size_t)limit, &events, &last, &dropped) < 0)
    return mn_reply_error("internal", "out of memory");
  /* A limited read ends at its last event, so a follower misses nothing. */
  size_t n = json_array_size(events);
  uint64_t upto =
      n ? (uint64_t)json_integer_value(json_object_get(json_array_get(events, n - 1), "seq"))
        : (from > last ? from : last);
  if (req->follow) {
    *follow = true;
    *after = upto;
  }
  return ok(json_pack("{s:o, s:I, s:I, s:b}", "events", events, "last_seq", (json_int_t)upto,
                      "dropped", (json_int_t)dropped, "follow", req->follow));
}

/* ---- dispatch ---------------------------------------------------------------------------------
 */

static const cmd_fn commands[MN_CMD_COUNT] = {
    [MN_CMD_STATUS] = cmd_status,
    [MN_CMD_CHILDREN] = cmd_children,
    [MN_CMD_REBIND] = cmd_rebind,
    [MN_CMD_MEASURE] = cmd_measure,
    [MN_CMD_PAUSE] = cmd_pause,
    [MN_CMD_RESUME] = cmd_resume,
    [MN_CMD_RESTART] = cmd_restart,
    [MN_CMD_EVENTS] = cmd_events,
    [MN_CMD_LINK_CHANGE] = cmd_link_change,
};

json_t *mn_command_exec(mn_app *app, const mn_request *req, bool *follow, uint64_t *after) {
  json_t *reply = (unsigned)req->cmd < MN_CMD_COUNT ? commands[req->cmd](app, req, follow, after)
                                                    : mn_reply_error("internal", "no such command");
  return mn_reply_finish(reply, req->id);
}

json_t *mn_command_run(mn_app *app, const char *line, size_t len, bool *follow, uint64_t *after) {
  mn_request req;
  json_t *error = NULL;
  int rc = mn_request_parse(line, len, &req, &error);
  if (rc < 0)
    return error != NULL ? error : mn_reply_error("internal", "out of memory");
  json_t *reply = mn_command_exec(app, &req, follow, after);
  mn_request_clear(&req);
  return reply;
}
