/* SPDX-License-Identifier: MIT */
/* Fuzz target: control requests (one line from a client of the control
 * socket) through mn_request_parse, the node's parser and validator.
 *
 * Properties:
 *   - refused: the error reply is an object {"ok": false, "error": {"code",
 *     "message"}} with a known code, a message that is valid UTF-8 without
 *     control characters and at most 511 bytes, and the request's "id" echoed
 *     when the input was an object with one; it serialises to JSON;
 *   - accepted: the request's canonical form parses to the same request (a
 *     round trip), and its arguments are in range (child and interface
 *     names without NUL, flags among the five injectable ones).
 */
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "fuzz.h"
#include "request.h"

static void check_error(const uint8_t *data, size_t size, json_t *err) {
  FUZZ_CHECK(json_is_object(err) && json_is_false(json_object_get(err, "ok")), "not an error");
  json_t *e = json_object_get(err, "error");
  const char *code = json_string_value(json_object_get(e, "code"));
  const char *msg = json_string_value(json_object_get(e, "message"));
  FUZZ_CHECK(code != NULL &&
                 (strcmp(code, "parse_error") == 0 || strcmp(code, "bad_request") == 0 ||
                  strcmp(code, "unknown_command") == 0),
             "code %s", code ? code : "(none)");
  FUZZ_CHECK(msg != NULL && fuzz_clean_text(msg, strlen(msg)) && strlen(msg) <= 511, "message %s",
             msg ? msg : "(none)");
  /* The id is echoed whenever the input was an object that had one. */
  json_t *req = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
  json_t *id = json_is_object(req) ? json_object_get(req, "id") : NULL;
  if (id != NULL && strcmp(code, "parse_error") != 0)
    FUZZ_CHECK(json_equal(id, json_object_get(err, "id")), "id lost");
  json_decref(req);
  char *text = json_dumps(err, JSON_COMPACT);
  FUZZ_CHECK(text != NULL, "reply does not serialise");
  free(text);
}

static void check_same(const mn_request *a, const mn_request *b) {
  FUZZ_CHECK(a->cmd == b->cmd && a->peers == b->peers && strcmp(a->child, b->child) == 0 &&
                 a->after == b->after && a->limit == b->limit && a->follow == b->follow &&
                 a->flags == b->flags && a->described == b->described &&
                 memcmp(&a->where, &b->where, sizeof a->where) == 0,
             "round trip changed the request");
  FUZZ_CHECK((a->id == NULL && b->id == NULL) ||
                 (a->id != NULL && b->id != NULL && json_equal(a->id, b->id)),
             "round trip changed the id");
}

static void check_ranges(const mn_request *r) {
  FUZZ_CHECK((unsigned)r->cmd < MN_CMD_COUNT, "command %d", (int)r->cmd);
  FUZZ_CHECK(memchr(r->child, '\0', sizeof r->child) != NULL, "child not terminated");
  FUZZ_CHECK(memchr(r->where.ifname, '\0', sizeof r->where.ifname) != NULL, "ifname");
  if (r->cmd == MN_CMD_LINK_CHANGE) {
    FUZZ_CHECK(r->flags != 0 && (r->flags & ~UINT32_C(0x1f)) == 0, "flags %x", r->flags);
    FUZZ_CHECK(!r->described || r->where.ifname[0] != '\0', "described without a name");
    FUZZ_CHECK(r->where.family == 0 || r->where.family == AF_INET || r->where.family == AF_INET6,
               "family");
    FUZZ_CHECK(r->where.prefixlen <= (r->where.family == AF_INET ? 32 : 128), "prefix");
  }
  if (r->cmd == MN_CMD_PAUSE || r->cmd == MN_CMD_RESUME || r->cmd == MN_CMD_RESTART)
    FUZZ_CHECK(r->child[0] != '\0', "empty child");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mn_request req;
  json_t *err = NULL;
  int rc = mn_request_parse((const char *)data, size, &req, &err);
  if (rc < 0) {
    FUZZ_CHECK(rc == -EINVAL || rc == -ENOMEM, "rc %d", rc);
    if (err != NULL)
      check_error(data, size, err);
    json_decref(err);
    return 0;
  }
  FUZZ_CHECK(err == NULL, "error reply with success");
  check_ranges(&req);
  json_t *canon = mn_request_to_json(&req);
  FUZZ_CHECK(canon != NULL, "no canonical form");
  char *text = json_dumps(canon, JSON_COMPACT);
  mn_request again;
  rc = mn_request_parse(text, strlen(text), &again, &err);
  FUZZ_CHECK(rc == 0, "canonical form refused: %s", text);
  check_same(&req, &again);
  mn_request_clear(&again);
  mn_request_clear(&req);
  free(text);
  json_decref(canon);
  return 0;
}
