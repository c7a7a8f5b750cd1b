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
 * Threading: service thread; commands block on asks with short timeouts.
 */
#include <arpa/inet.h>
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
                     : err == -EAGAIN    ? "busy"
                     : err == -EINVAL    ? "bad_request"
                     : err == -ENOTSUP   ? "not_supported"
                                         : "failed";
  /* -EAGAIN: an actor's bounded mailbox was full; it drains in moments. */
  return mn_command_error(code, "%s: %s%s", what, mrt_strerror(err),
                          err == -EAGAIN ? "; try again" : "");
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
  return ok(json_pack("{s:i, s:i, s:I, s:s}", "old_port", (int)r.old_port, "new_port",
                      (int)r.new_port, "generation", (json_int_t)r.generation, "port",
                      r.port_note));
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

/* "ADDR[/LEN]" -> the item's family, address and prefix length (the full
 * length when LEN is left out). */
static int parse_address(const char *text, mrt_link_change_item *it) {
  char buf[INET6_ADDRSTRLEN + 8];
  if (strlen(text) >= sizeof buf)
    return -EINVAL;
  snprintf(buf, sizeof buf, "%s", text);
  char *slash = strchr(buf, '/');
  if (slash != NULL)
    *slash = '\0';
  int family = strchr(buf, ':') != NULL ? AF_INET6 : AF_INET;
  unsigned max = family == AF_INET ? 32 : 128, len = max;
  if (inet_pton(family, buf, it->addr) != 1)
    return -EINVAL;
  if (slash != NULL) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(slash + 1, &end, 10);
    if (errno != 0 || end == slash + 1 || *end != '\0' || v > max)
      return -EINVAL;
    len = (unsigned)v;
  }
  it->family = (uint8_t)family;
  it->prefixlen = (uint8_t)len;
  return 0;
}

/* The request's optional "interface" and "address" into `tmpl`. */
static json_t *describe_request(json_t *req, mrt_link_change_item *tmpl, bool *described) {
  json_t *ifc = json_object_get(req, "interface"), *addr = json_object_get(req, "address");
  memset(tmpl, 0, sizeof *tmpl);
  *described = ifc != NULL;
  if (ifc != NULL && (!json_is_string(ifc) || json_string_length(ifc) == 0 ||
                      json_string_length(ifc) >= MRT_LINK_IFNAME_MAX ||
                      strlen(json_string_value(ifc)) != json_string_length(ifc)))
    return mn_command_error("bad_request", "interface: expected an interface name of 1 to %d bytes",
                            MRT_LINK_IFNAME_MAX - 1);
  if (addr != NULL && ifc == NULL)
    return mn_command_error("bad_request", "address: needs an interface");
  if (addr != NULL && (!json_is_string(addr) || parse_address(json_string_value(addr), tmpl) < 0))
    return mn_command_error("bad_request", "address: expected ADDR or ADDR/LEN, e.g. 192.0.2.7/24");
  if (ifc != NULL)
    memcpy(tmpl->ifname, json_string_value(ifc), json_string_length(ifc));
  return NULL;
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

static json_t *cmd_link_change(mn_app *app, json_t *req, bool *follow, uint64_t *after) {
  (void)follow;
  (void)after;
  json_t *f = json_object_get(req, "flags");
  uint32_t flags = MRT_LINK_CHANGE_DEFAULT_ROUTE;
  if (f != NULL && (!json_is_string(f) || parse_flags(json_string_value(f), &flags) < 0))
    return mn_command_error("bad_request",
                            "flags: expected names from link-up, link-down, addr-added, "
                            "addr-removed, default-route, comma-separated");
  mrt_link_change_item tmpl, items[5];
  bool described;
  json_t *bad = describe_request(req, &tmpl, &described);
  if (bad != NULL)
    return bad;
  if (app->monitor_kind != MN_MONITOR_MANUAL)
    return mn_command_error("not_supported",
                            "link-change: the link monitor is %s; only the manual one takes "
                            "injected changes",
                            mn_monitor_kind_name(app->monitor_kind));
  mrt_link_change change = {.flags = flags, .raw_events = 1};
  if (described) {
    change.n_changes = (uint32_t)items_of(flags, &tmpl, items);
    change.changes = items;
    for (uint32_t i = 0; i < change.n_changes; i++)
      if (!mrt_manual_monitor_trigger_item(app->monitor, &items[i]))
        return mn_command_error("busy",
                                "link-change: the monitor's queue is full after %u of %u "
                                "changes; try again",
                                (unsigned)i, (unsigned)change.n_changes);
  } else if (!mrt_manual_monitor_trigger(app->monitor, flags)) {
    return mn_command_error("busy", "link-change: the monitor's queue is full; try again");
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
  json_t *summary = rc == 0 ? json_pack("{s:I, s:I, s:I, s:I}", "total", (json_int_t)n,
                                        "with_path", (json_int_t)with_path, "without_path",
                                        (json_int_t)(n - with_path), "shown",
                                        (json_int_t)json_array_size(page))
                            : NULL;
  /* json_object_set_new takes its value even when it fails. */
  if (summary == NULL || json_object_set_new(status, "peer_summary", summary) < 0) {
    json_decref(page);
    return -ENOMEM;
  }
  return json_object_set_new(status, "peers", page) < 0 ? -ENOMEM : 0;
}

static json_t *cmd_status(mn_app *app, json_t *req, bool *follow, uint64_t *after) {
  (void)follow;
  (void)after;
  json_t *p = json_object_get(req, "peers");
  size_t limit = SIZE_MAX;
  if (json_is_integer(p) && json_integer_value(p) >= 0)
    limit = (uint64_t)json_integer_value(p) < SIZE_MAX ? (size_t)json_integer_value(p) : SIZE_MAX;
  else if (p != NULL && !(json_is_string(p) && strcmp(json_string_value(p), "all") == 0))
    return mn_command_error("bad_request",
                            "status: expected \"peers\": \"all\" or how many to show (0 or more)");
  json_t *s = mn_status_json(app);
  if (s != NULL && page_peers(s, limit) < 0) {
    json_decref(s);
    s = NULL;
  }
  return ok(s);
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
