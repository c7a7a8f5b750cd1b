/* SPDX-License-Identifier: MIT */
/* meshrt-node — control requests: parsing and validation, apart from running.
 *
 * A control request is one line of JSON, {"cmd": NAME, ...arguments, "id":
 * any}. mn_request_parse turns the line into an mn_request whose arguments
 * are all checked (types, ranges, names, addresses), or into the error reply
 * the client gets; nothing here touches the node, so the parser can be unit
 * tested and fuzzed alone. commands.c runs a parsed request against the node.
 * mn_request_to_json writes a request back in its canonical form, which
 * parses to the same request (the round trip the fuzz target checks).
 *
 * Replies are {"ok": true, "result": ...} or {"ok": false, "error": {"code":
 * CODE, "message": TEXT}}, with the request's "id" echoed whenever the
 * request was an object that had one, error or not. Messages quote input
 * sanitized (text.h): always valid UTF-8 without control characters.
 *
 * Threading: no shared state; any thread.
 */
#ifndef MESHRT_TOOLS_REQUEST_H
#define MESHRT_TOOLS_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <meshrt/mesh.h>

typedef enum mn_cmd {
  MN_CMD_STATUS,
  MN_CMD_CHILDREN,
  MN_CMD_REBIND,
  MN_CMD_MEASURE,
  MN_CMD_PAUSE,
  MN_CMD_RESUME,
  MN_CMD_RESTART,
  MN_CMD_EVENTS,
  MN_CMD_LINK_CHANGE,
  MN_CMD_COUNT
} mn_cmd;

typedef struct mn_request {
  mn_cmd cmd;
  json_t *id; /* the request's "id" (a reference the request holds), or NULL */
  /* status: how many peers to show; SIZE_MAX for all */
  size_t peers;
  /* pause, resume, restart: the child's id (1 to MRT_CHILD_ID_MAX - 1 bytes, no NUL) */
  char child[MRT_CHILD_ID_MAX];
  /* events */
  uint64_t after, limit; /* limit 0: all */
  bool follow;
  /* link-change: the flags; with an interface, `where` describes the change
   * (ifname; family, addr and prefixlen when an address was given) */
  uint32_t flags;
  bool described;
  mrt_link_change_item where;
} mn_request;

/* The command's name ("status", "link-change", ...). */
const char *mn_cmd_name(mn_cmd cmd);

/* Parses and validates one request (len bytes, not NUL-terminated). Returns 0
 * with *req filled (release it with mn_request_clear), or -EINVAL with
 * *error set to the error reply (a new object: parse_error, bad_request or
 * unknown_command, the id echoed), or -ENOMEM (*error may be NULL). */
int mn_request_parse(const char *line, size_t len, mn_request *req, json_t **error);

/* Drops the request's id. NULL-safe. */
void mn_request_clear(mn_request *req);

/* The request in canonical form (a new object, NULL out of memory). */
json_t *mn_request_to_json(const mn_request *req);

/* {"ok":false,"error":{"code":CODE,"message":...}}: the message is formatted,
 * then sanitized and cut to at most 511 bytes ("..." when cut). NULL only
 * out of memory. */
json_t *mn_reply_error(const char *code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* {"ok":true,"result":result} (takes result; NULL result: an internal error
 * reply). NULL only out of memory. */
json_t *mn_reply_ok(json_t *result);

/* Echoes `id` (borrowed; NULL: none) in `reply` (a new reference to reply,
 * which is taken). A NULL reply (out of memory) becomes the internal error
 * reply, so the id is not lost while memory lasts. */
json_t *mn_reply_finish(json_t *reply, json_t *id);

#endif
