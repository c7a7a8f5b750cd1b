/* meshrt-node — the control commands.
 *
 * A request is a JSON object {"cmd": NAME, ...arguments, "id": optional}; the
 * reply is {"ok": true, "result": {...}} or {"ok": false, "error": {"code":
 * CODE, "message": TEXT}}, with the request's "id" echoed. Error codes:
 * parse_error, bad_request, unknown_command, not_found, unavailable,
 * not_supported, timeout, shutting_down, busy, too_long, failed, internal.
 *
 *   status                      the node at a glance (status.c)
 *   children                    the supervisor's state records (status.c)
 *   rebind                      rebind DirectManager's socket now
 *   measure                     re-measure DERP latency now
 *   pause|resume|restart CHILD  operator control of a supervised child
 *   events [after] [limit] [follow]  the journal; follow streams new events
 *   link-change [flags]         (manual link monitor only) inject a change
 *
 * Threading: service thread; commands block on asks with short timeouts.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

typedef json_t *(*cmd_fn)(mn_app *app, json_t *req, bool *follow, uint64_t *after);

json_t *mn_command_error(const char *code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code, "message", msg);
}

static json_t *ok(json_t *result) {
  if (result == NULL)
    return mn_command_error("internal", "out of memory");
  return json_pack("{s:b, s:o}", "ok", 1, "result", result);
}

/* An error reply for a meshrt error code. */
static json_t *errno_reply(int err, const char *what) {
  const char *code = err == -ENOENT      ? "not_found"
                     : err == -ESRCH     ? "unavailable"
                     : err == -ETIMEDOUT ? "timeout"
                     : err == -ESHUTDOWN ? "shutting_down"
                     : err == -EBUSY     ? "busy"
                     : err == -EINVAL    ? "bad_request"
                     : err == -ENOTSUP   ? "not_supported"
                                         : "failed";
  return mn_command_error(code, "%s: %s", what, mrt_strerror(err));
}

/* ---- rebind, measure, link-change ---------------------------------------------------- */

static json_t *cmd_rebind(mn_app *app, json_t *req, bool *follow, uint64_t *after) {
  (void)req;
  (void)follow;
  (void)after;
  mn_rebind_result r;
  int rc = mn_observer_rebind(app->observer, &r);
  if (rc < 0)
    return errno_reply(rc, rc == -ESRCH ? "rebind: DirectManager is not running" : "rebind");
  return ok(json_pack("{s:i, s:i, s:I}", "old_port", (int)r.old_port, "new_port", (int)r.new_port,
                      "generation", (json_int_t)r.generation));
}

static json_t *cmd_measure(mn_app *app, json_t *req, bool *follow, uint64_t *after) {
  (void)req;
  (void)follow;
  (void)after;
  /* A MeasureNow without a map is ignored by the measurer: say so now
   * rather than let the operator wait for a round that never comes. */
  mrt_ref *dl = NULL;
  mrt_derp_latency_stats st;
  memset(&st, 0, sizeof st);
  int rc = mrt_supervisor_child_ref(mrt_node_supervisor(app->node), MRT_NODE_CHILD_DERP_LATENCY,
                                    &dl);
  if (rc == 0)
    rc = MRT_ASK_SYNC(derp_latency_stats, dl, &(mrt_none){0}, &st, MRT_SEC(2));
  mrt_ref_unref(dl);
  if (rc < 0)
    return errno_reply(rc == -ENOENT ? -ESRCH : rc, "measure: the DERP latency measurer");
  if (!st.have_map)
    return mn_command_error("unavailable", "measure: there is no DERP map to measure");
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

/* "link-up,addr-added" -> flags. */
static int parse_flags(const char *text, uint32_t *out) {
  static const struct {
    const char *name;
    uint32_t flag;
  } names[] = {{"link-up", MRT_LINK_CHANGE_LINK_UP},
               {"link-down", MRT_LINK_CHANGE_LINK_DOWN},
               {"addr-added", MRT_LINK_CHANGE_ADDR_ADDED},
               {"addr-removed", MRT_LINK_CHANGE_ADDR_REMOVED},
               {"default-route", MRT_LINK_CHANGE_DEFAULT_ROUTE}};
  *out = 0;
  char buf[256];
  snprintf(buf, sizeof buf, "%s", text);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
    size_t i = 0;
    while (i < sizeof names / sizeof *names && strcmp(tok, names[i].name) != 0)
      i++;
    if (i == sizeof names / sizeof *names)
      return -EINVAL;
    *out |= names[i].flag;
  }
  return *out != 0 ? 0 : -EINVAL;
}

static json_t *cmd_link_change(mn_app *app, json_t *req, bool *follow, uint64_t *after) {
  (void)follow;
  (void)after;
  json_t *f = json_object_get(req, "flags");
  uint32_t flags = MRT_LINK_CHANGE_DEFAULT_ROUTE;
  if (f != NULL && (!json_is_string(f) || parse_flags(json_string_value(f), &flags) < 0))
    return mn_command_error("bad_request",
                            "flags: expected names from link-up, link-down, addr-added, "
                            "addr-removed, default-route, comma-separated");
  if (app->monitor_kind != MN_MONITOR_MANUAL)
    return mn_command_error("not_supported",
                            "link-change: the link monitor is %s; only the manual one takes "
                            "injected changes",
                            mn_monitor_kind_name(app->monitor_kind));
  if (!mrt_manual_monitor_trigger(app->monitor, flags))
    return mn_command_error("busy", "link-change: the monitor's queue is full; try again");
  mn_observer_link_change(app->observer, flags, "injected by meshrt-ctl", "manual");
  char text[128];
  return ok(json_pack("{s:s}", "flags", mrt_link_change_flags_str(flags, text, sizeof text)));
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

static json_t *child_command(mn_app *app, json_t *req, mrt_child_command_kind kind) {
  json_t *child = json_object_get(req, "child");
  const char *name = mrt_child_command_name(kind);
  if (!json_is_string(child) || json_string_length(child) == 0 ||
      json_string_length(child) >= MRT_CHILD_ID_MAX)
    return mn_command_error("bad_request",
                            "%s: expected \"child\": the id of a child (see "
                            "meshrt-ctl children)",
                            name);
  mrt_child_outcome out;
  memset(&out, 0, sizeof out);
  mrt_ref *sup = mrt_node_supervisor(app->node);
  const char *id = json_string_value(child);
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

static json_t *cmd_pause(mn_app *app, json_t *req, bool *follow, uint64_t *after) {
  (void)follow;
  (void)after;
  return child_command(app, req, MRT_CHILD_CMD_PAUSE);
}

static json_t *cmd_resume(mn_app *app, json_t *req, bool *follow, uint64_t *after) {
  (void)follow;
  (void)after;
  return child_command(app, req, MRT_CHILD_CMD_RESUME);
}

static json_t *cmd_restart(mn_app *app, json_t *req, bool *follow, uint64_t *after) {
  (void)follow;
  (void)after;
  return child_command(app, req, MRT_CHILD_CMD_RESTART);
}

/* ---- status, children, events ------------------------------------------------------------------
 */

static json_t *cmd_status(mn_app *app, json_t *req, bool *follow, uint64_t *after) {
  (void)req;
  (void)follow;
  (void)after;
  return ok(mn_status_json(app));
}

static json_t *cmd_children(mn_app *app, json_t *req, bool *follow, uint64_t *after) {
  (void)req;
  (void)follow;
  (void)after;
  int err = 0;
  json_t *r = mn_children_json(app, &err);
  return err < 0 ? errno_reply(err, "children") : ok(r);
}

static int get_uint(json_t *req, const char *key, uint64_t *out) {
  json_t *v = json_object_get(req, key);
  if (v == NULL)
    return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0)
    return -EINVAL;
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

static json_t *cmd_events(mn_app *app, json_t *req, bool *follow, uint64_t *after) {
  uint64_t from = 0, limit = 0;
  json_t *f = json_object_get(req, "follow");
  if (get_uint(req, "after", &from) < 0 || get_uint(req, "limit", &limit) < 0 ||
      (f != NULL && !json_is_boolean(f)))
    return mn_command_error("bad_request", "events: expected \"after\" and \"limit\" as "
                                           "non-negative integers, \"follow\" as a boolean");
  json_t *events = NULL;
  uint64_t last = 0, dropped = 0;
  if (mn_journal_read(app->journal, from, (size_t)limit, &events, &last, &dropped) < 0)
    return mn_command_error("internal", "out of memory");
  /* A limited read ends at its last event, so a follower misses nothing. */
  size_t n = json_array_size(events);
  uint64_t upto =
      n ? (uint64_t)json_integer_value(json_object_get(json_array_get(events, n - 1), "seq"))
        : (from > last ? from : last);
  if (json_is_true(f)) {
    *follow = true;
    *after = upto;
  }
  return ok(json_pack("{s:o, s:I, s:I, s:b}", "events", events, "last_seq", (json_int_t)upto,
                      "dropped", (json_int_t)dropped, "follow", json_is_true(f)));
}

/* ---- dispatch ---------------------------------------------------------------------------------
 */

static const struct {
  const char *name;
  cmd_fn fn;
} commands[] = {
    {"status", cmd_status},   {"children", cmd_children}, {"rebind", cmd_rebind},
    {"measure", cmd_measure}, {"pause", cmd_pause},       {"resume", cmd_resume},
    {"restart", cmd_restart}, {"events", cmd_events},     {"link-change", cmd_link_change},
};

static json_t *dispatch(mn_app *app, json_t *req, bool *follow, uint64_t *after) {
  if (!json_is_object(req))
    return mn_command_error("bad_request", "expected a JSON object like {\"cmd\":\"status\"}");
  json_t *cmd = json_object_get(req, "cmd");
  if (!json_is_string(cmd))
    return mn_command_error("bad_request", "expected \"cmd\": a command name (a string)");
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (strcmp(commands[i].name, json_string_value(cmd)) == 0)
      return commands[i].fn(app, req, follow, after);
  return mn_command_error("unknown_command",
                          "unknown command \"%.64s\" (expected status, children, rebind, measure, "
                          "pause, resume, restart, events, link-change)",
                          json_string_value(cmd));
}

json_t *mn_command_run(mn_app *app, const char *line, size_t len, bool *follow, uint64_t *after) {
  json_error_t jerr;
  json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
  if (req == NULL)
    return mn_command_error("parse_error", "not JSON: column %d: %s", jerr.column, jerr.text);
  json_t *reply = dispatch(app, req, follow, after);
  json_t *id = json_is_object(req) ? json_object_get(req, "id") : NULL;
  if (reply != NULL && id != NULL)
    json_object_set(reply, "id", id);
  json_decref(req);
  return reply;
}
