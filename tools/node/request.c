/* SPDX-License-Identifier: MIT */
/* meshrt-node — control requests: parsing, validation, canonical form, and
 * the reply envelopes (see request.h).
 *
 * Every check a request needs before it may run lives here: the command
 * name, each argument's type and range, interface names and addresses for
 * link-change. Running it (commands.c) then only meets errors from the node
 * itself. Error messages quote what the client sent only through the text
 * helpers, so a reply is always valid UTF-8 (jansson refuses anything else,
 * and the reply would be lost with its id) and never carries a control
 * character.
 *
 * Threading: no shared state; any thread.
 */
#include "request.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "text.h"

/* Longest message of an error reply, "..." included. */
#define MESSAGE_MAX 512
/* How much of an unknown command name an error quotes. */
#define QUOTE_MAX 64

static const char *const cmd_names[MN_CMD_COUNT] = {
    [MN_CMD_STATUS] = "status",
    [MN_CMD_CHILDREN] = "children",
    [MN_CMD_REBIND] = "rebind",
    [MN_CMD_MEASURE] = "measure",
    [MN_CMD_PAUSE] = "pause",
    [MN_CMD_RESUME] = "resume",
    [MN_CMD_RESTART] = "restart",
    [MN_CMD_EVENTS] = "events",
    [MN_CMD_LINK_CHANGE] = "link-change",
};

/* link-change's flag names, in flag order (the canonical order). */
static const struct {
  const char *name;
  uint32_t flag;
} flag_names[] = {{"link-up", MRT_LINK_CHANGE_LINK_UP},
                  {"link-down", MRT_LINK_CHANGE_LINK_DOWN},
                  {"addr-added", MRT_LINK_CHANGE_ADDR_ADDED},
                  {"addr-removed", MRT_LINK_CHANGE_ADDR_REMOVED},
                  {"default-route", MRT_LINK_CHANGE_DEFAULT_ROUTE}};
#define N_FLAGS (sizeof flag_names / sizeof *flag_names)

const char *mn_cmd_name(mn_cmd cmd) {
  return (unsigned)cmd < MN_CMD_COUNT ? cmd_names[cmd] : "?";
}

/* ---- replies ------------------------------------------------------------------------ */

json_t *mn_reply_error(const char *code, const char *fmt, ...) {
  char *raw = NULL, msg[MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&raw, fmt, ap);
  va_end(ap);
  if (n < 0)
    return NULL;
  mn_text_clean(raw, (size_t)n, msg, sizeof msg);
  free(raw);
  return json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code, "message", msg);
}

json_t *mn_reply_ok(json_t *result) {
  if (result == NULL)
    return mn_reply_error("internal", "out of memory");
  return json_pack("{s:b, s:o}", "ok", 1, "result", result);
}

json_t *mn_reply_finish(json_t *reply, json_t *id) {
  if (reply == NULL)
    reply = mn_reply_error("internal", "out of memory");
  if (reply != NULL && id != NULL && json_object_set(reply, "id", id) < 0) {
    json_decref(reply);
    return NULL;
  }
  return reply;
}

/* ---- arguments ------------------------------------------------------------------------ */

/* A JSON string without NUL bytes inside, 1 to max-1 bytes long. */
static bool is_name(const json_t *v, size_t max) {
  return json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) < max &&
         memchr(json_string_value(v), '\0', json_string_length(v)) == NULL;
}

static json_t *parse_status(json_t *r, mn_request *req) {
  json_t *p = json_object_get(r, "peers");
  req->peers = SIZE_MAX;
  if (json_is_integer(p) && json_integer_value(p) >= 0)
    req->peers =
        (uint64_t)json_integer_value(p) < SIZE_MAX ? (size_t)json_integer_value(p) : SIZE_MAX - 1;
  else if (p != NULL && !(json_is_string(p) && strcmp(json_string_value(p), "all") == 0 &&
                          json_string_length(p) == 3))
    return mn_reply_error("bad_request",
                          "status: expected \"peers\": \"all\" or how many to show (0 or more)");
  return NULL;
}

static json_t *parse_child(json_t *r, mn_request *req) {
  json_t *child = json_object_get(r, "child");
  if (!is_name(child, sizeof req->child))
    return mn_reply_error("bad_request",
                          "%s: expected \"child\": the id of a child, 1 to %d bytes (see "
                          "meshrt-ctl children)",
                          mn_cmd_name(req->cmd), (int)sizeof req->child - 1);
  memcpy(req->child, json_string_value(child), json_string_length(child) + 1);
  return NULL;
}

static int get_uint(json_t *r, const char *key, uint64_t *out) {
  json_t *v = json_object_get(r, key);
  if (v == NULL)
    return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0)
    return -EINVAL;
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

static json_t *parse_events(json_t *r, mn_request *req) {
  json_t *f = json_object_get(r, "follow");
  if (get_uint(r, "after", &req->after) < 0 || get_uint(r, "limit", &req->limit) < 0 ||
      (f != NULL && !json_is_boolean(f)))
    return mn_reply_error("bad_request", "events: expected \"after\" and \"limit\" as "
                                         "non-negative integers, \"follow\" as a boolean");
  req->follow = json_is_true(f);
  return NULL;
}

/* "link-up,addr-added" (commas and/or spaces between names) -> flags. */
static int parse_flags(const json_t *v, uint32_t *out) {
  const char *text = json_string_value(v);
  size_t len = json_string_length(v);
  *out = 0;
  if (memchr(text, '\0', len) != NULL)
    return -EINVAL;
  for (size_t i = 0; i < len;) {
    size_t j = i;
    while (j < len && text[j] != ',' && text[j] != ' ')
      j++;
    if (j > i) {
      size_t k = 0;
      while (k < N_FLAGS && !(strlen(flag_names[k].name) == j - i &&
                              memcmp(flag_names[k].name, text + i, j - i) == 0))
        k++;
      if (k == N_FLAGS)
        return -EINVAL;
      *out |= flag_names[k].flag;
    }
    i = j + 1;
  }
  return *out != 0 ? 0 : -EINVAL;
}

/* "ADDR[/LEN]" -> the item's family, address and prefix length (the full
 * length when LEN is left out). */
static int parse_address(const json_t *v, mrt_link_change_item *it) {
  char buf[INET6_ADDRSTRLEN + 8];
  size_t len = json_string_length(v);
  if (len >= sizeof buf || memchr(json_string_value(v), '\0', len) != NULL)
    return -EINVAL;
  memcpy(buf, json_string_value(v), len + 1);
  char *slash = strchr(buf, '/');
  if (slash != NULL)
    *slash = '\0';
  int family = strchr(buf, ':') != NULL ? AF_INET6 : AF_INET;
  unsigned max = family == AF_INET ? 32 : 128, plen = max;
  if (inet_pton(family, buf, it->addr) != 1)
    return -EINVAL;
  if (slash != NULL) {
    const char *d = slash + 1;
    unsigned long n = 0;
    size_t digits = 0;
    for (; *d >= '0' && *d <= '9' && digits < 4; d++, digits++)
      n = n * 10 + (unsigned long)(*d - '0');
    if (digits == 0 || *d != '\0' || n > max)
      return -EINVAL;
    plen = (unsigned)n;
  }
  it->family = (uint8_t)family;
  it->prefixlen = (uint8_t)plen;
  return 0;
}

static json_t *parse_link_change(json_t *r, mn_request *req) {
  json_t *f = json_object_get(r, "flags");
  req->flags = MRT_LINK_CHANGE_DEFAULT_ROUTE;
  if (f != NULL && (!json_is_string(f) || parse_flags(f, &req->flags) < 0))
    return mn_reply_error("bad_request",
                          "flags: expected names from link-up, link-down, addr-added, "
                          "addr-removed, default-route, comma-separated");
  json_t *ifc = json_object_get(r, "interface"), *addr = json_object_get(r, "address");
  req->described = ifc != NULL;
  if (ifc != NULL && !is_name(ifc, MRT_LINK_IFNAME_MAX))
    return mn_reply_error("bad_request", "interface: expected an interface name of 1 to %d bytes",
                          MRT_LINK_IFNAME_MAX - 1);
  if (addr != NULL && ifc == NULL)
    return mn_reply_error("bad_request", "address: needs an interface");
  if (addr != NULL && (!json_is_string(addr) || parse_address(addr, &req->where) < 0))
    return mn_reply_error("bad_request", "address: expected ADDR or ADDR/LEN, e.g. 192.0.2.7/24");
  if (ifc != NULL)
    memcpy(req->where.ifname, json_string_value(ifc), json_string_length(ifc) + 1);
  return NULL;
}

/* ---- requests ------------------------------------------------------------------------ */

/* The arguments of req->cmd from r; NULL, or the error reply. */
static json_t *parse_args(json_t *r, mn_request *req) {
  switch (req->cmd) {
  case MN_CMD_STATUS: return parse_status(r, req);
  case MN_CMD_PAUSE:
  case MN_CMD_RESUME:
  case MN_CMD_RESTART: return parse_child(r, req);
  case MN_CMD_EVENTS: return parse_events(r, req);
  case MN_CMD_LINK_CHANGE: return parse_link_change(r, req);
  default: return NULL; /* children, rebind, measure take no arguments */
  }
}

static json_t *parse_object(json_t *r, mn_request *req) {
  if (!json_is_object(r))
    return mn_reply_error("bad_request", "expected a JSON object like {\"cmd\":\"status\"}");
  json_t *cmd = json_object_get(r, "cmd");
  if (!json_is_string(cmd))
    return mn_reply_error("bad_request", "expected \"cmd\": a command name (a string)");
  const char *name = json_string_value(cmd);
  size_t len = json_string_length(cmd);
  for (int i = 0; i < MN_CMD_COUNT; i++)
    if (strlen(cmd_names[i]) == len && memcmp(cmd_names[i], name, len) == 0) {
      req->cmd = (mn_cmd)i;
      return parse_args(r, req);
    }
  char quoted[QUOTE_MAX + 4];
  return mn_reply_error("unknown_command",
                        "unknown command \"%s\" (expected status, children, rebind, measure, "
                        "pause, resume, restart, events, link-change)",
                        mn_text_clean(name, len, quoted, sizeof quoted));
}

int mn_request_parse(const char *line, size_t len, mn_request *req, json_t **error) {
  memset(req, 0, sizeof *req);
  *error = NULL;
  json_error_t jerr;
  json_t *r = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
  if (r == NULL) {
    /* jansson's text may quote the offending bytes, cut anywhere: the
     * reply sanitizes it. */
    *error = mn_reply_error("parse_error", "not JSON: column %d: %s", jerr.column, jerr.text);
    return *error != NULL ? -EINVAL : -ENOMEM;
  }
  json_t *id = json_is_object(r) ? json_object_get(r, "id") : NULL;
  json_t *bad = parse_object(r, req);
  if (bad != NULL) {
    *error = mn_reply_finish(bad, id);
    json_decref(r);
    memset(req, 0, sizeof *req);
    return *error != NULL ? -EINVAL : -ENOMEM;
  }
  req->id = json_incref(id);
  json_decref(r);
  return 0;
}

void mn_request_clear(mn_request *req) {
  if (req == NULL)
    return;
  json_decref(req->id);
  req->id = NULL;
}

/* ---- canonical form ------------------------------------------------------------------- */

static json_t *flags_json(uint32_t flags) {
  char text[128];
  size_t o = 0;
  text[0] = '\0';
  for (size_t i = 0; i < N_FLAGS; i++)
    if (flags & flag_names[i].flag)
      o += (size_t)snprintf(text + o, sizeof text - o, "%s%s", o ? "," : "", flag_names[i].name);
  return json_string(text);
}

static json_t *address_json(const mrt_link_change_item *it) {
  char ip[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 8];
  if (inet_ntop(it->family, it->addr, ip, sizeof ip) == NULL)
    return NULL;
  snprintf(text, sizeof text, "%s/%u", ip, (unsigned)it->prefixlen);
  return json_string(text);
}

static int args_json(const mn_request *req, json_t *o) {
  int rc = 0;
  switch (req->cmd) {
  case MN_CMD_STATUS:
    if (req->peers != SIZE_MAX)
      rc = json_object_set_new(o, "peers", json_integer((json_int_t)req->peers));
    break;
  case MN_CMD_PAUSE:
  case MN_CMD_RESUME:
  case MN_CMD_RESTART:
    rc = json_object_set_new(o, "child", json_stringn(req->child, strlen(req->child)));
    break;
  case MN_CMD_EVENTS:
    rc = json_object_set_new(o, "after", json_integer((json_int_t)req->after));
    rc |= json_object_set_new(o, "limit", json_integer((json_int_t)req->limit));
    rc |= json_object_set_new(o, "follow", json_boolean(req->follow));
    break;
  case MN_CMD_LINK_CHANGE:
    rc = json_object_set_new(o, "flags", flags_json(req->flags));
    if (req->described)
      rc |= json_object_set_new(o, "interface",
                                json_stringn(req->where.ifname, strlen(req->where.ifname)));
    if (req->described && req->where.family != 0)
      rc |= json_object_set_new(o, "address", address_json(&req->where));
    break;
  default: break;
  }
  return rc;
}

json_t *mn_request_to_json(const mn_request *req) {
  json_t *o = json_pack("{s:s}", "cmd", mn_cmd_name(req->cmd));
  if (o == NULL)
    return NULL;
  if (args_json(req, o) != 0 || (req->id != NULL && json_object_set(o, "id", req->id) < 0)) {
    json_decref(o);
    return NULL;
  }
  return o;
}
