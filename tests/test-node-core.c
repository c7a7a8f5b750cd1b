/* SPDX-License-Identifier: MIT */
/* Tests: the parts of meshrt-node that read untrusted input, alone (no node
 * runs): control requests (parsing and validation apart from running them,
 * the canonical form and its round trip, error replies that keep the id and
 * quote input safely), the JSON log sink (msg and every field kept whole,
 * escaped text) and the text helpers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <meshrt/meshrt.h>

#include "logsink.h"
#include "request.h"
#include "text.h"

/* ---- requests ------------------------------------------------------------------------- */

static json_t *parse_error(const char *line) {
  mn_request req;
  json_t *err = NULL;
  assert_int_equal(mn_request_parse(line, strlen(line), &req, &err), -EINVAL);
  assert_non_null(err);
  assert_true(json_is_false(json_object_get(err, "ok")));
  const char *msg = json_string_value(json_object_get(json_object_get(err, "error"), "message"));
  assert_non_null(msg);
  assert_true(mn_text_is_clean(msg, strlen(msg)));
  return err;
}

static const char *code_of(const json_t *reply) {
  return json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
}

/* Parses line, writes it canonically, parses that again: the same request. */
static void round_trip(const char *line, mn_request *out) {
  json_t *err = NULL;
  if (mn_request_parse(line, strlen(line), out, &err) != 0)
    fail_msg("refused %s: %s", line, json_dumps(err, 0));
  json_t *canon = mn_request_to_json(out);
  assert_non_null(canon);
  char *text = json_dumps(canon, JSON_COMPACT);
  mn_request again;
  assert_int_equal(mn_request_parse(text, strlen(text), &again, &err), 0);
  assert_int_equal(again.cmd, out->cmd);
  assert_int_equal(again.peers, out->peers);
  assert_string_equal(again.child, out->child);
  assert_int_equal(again.after, out->after);
  assert_int_equal(again.limit, out->limit);
  assert_int_equal(again.follow, out->follow);
  assert_int_equal(again.flags, out->flags);
  assert_int_equal(again.described, out->described);
  assert_memory_equal(&again.where, &out->where, sizeof again.where);
  assert_true((again.id == NULL && out->id == NULL) || json_equal(again.id, out->id));
  mn_request_clear(&again);
  free(text);
  json_decref(canon);
}

static void requests_parse_and_round_trip(void **state) {
  (void)state;
  mn_request r;
  round_trip("{\"cmd\":\"status\"}", &r);
  assert_int_equal(r.cmd, MN_CMD_STATUS);
  assert_int_equal(r.peers, SIZE_MAX);
  mn_request_clear(&r);
  round_trip("{\"cmd\":\"status\",\"peers\":20,\"id\":{\"a\":[1]}}", &r);
  assert_int_equal(r.peers, 20);
  assert_true(json_is_object(r.id));
  mn_request_clear(&r);
  round_trip("{\"cmd\":\"pause\",\"child\":\"derp-latency\"}", &r);
  assert_int_equal(r.cmd, MN_CMD_PAUSE);
  assert_string_equal(r.child, "derp-latency");
  mn_request_clear(&r);
  round_trip("{\"cmd\":\"events\",\"after\":5,\"limit\":2,\"follow\":true,\"id\":3}", &r);
  assert_int_equal(r.after, 5);
  assert_int_equal(r.limit, 2);
  assert_true(r.follow);
  mn_request_clear(&r);
  round_trip("{\"cmd\":\"link-change\",\"flags\":\"addr-removed, link-down\",\"interface\":"
             "\"wl\\u001b0\",\"address\":\"192.0.2.7/024\"}",
             &r);
  assert_int_equal(r.flags, MRT_LINK_CHANGE_ADDR_REMOVED | MRT_LINK_CHANGE_LINK_DOWN);
  assert_true(r.described);
  assert_string_equal(r.where.ifname, "wl\x1b"
                                      "0");
  assert_int_equal(r.where.family, AF_INET);
  assert_int_equal(r.where.prefixlen, 24);
  mn_request_clear(&r);
  round_trip("{\"cmd\":\"link-change\",\"interface\":\"eth0\",\"address\":\"2001:db8::1\"}", &r);
  assert_int_equal(r.flags, MRT_LINK_CHANGE_DEFAULT_ROUTE);
  assert_int_equal(r.where.family, AF_INET6);
  assert_int_equal(r.where.prefixlen, 128);
  mn_request_clear(&r);
  round_trip("{\"cmd\":\"rebind\",\"unknown\":true}", &r);
  mn_request_clear(&r);
}

static void bad_requests_get_error_replies_with_their_id(void **state) {
  (void)state;
  static const struct {
    const char *line, *code;
  } bad[] = {
      {"garbage", "parse_error"},
      {"[\x01]", "parse_error"},
      {"{\"cmd\":\"status\",\"cmd\":\"x\"}", "parse_error"},
      {"{}", "bad_request"},
      {"\"status\"", "bad_request"},
      {"{\"cmd\":\"status\",\"peers\":-1,\"id\":1}", "bad_request"},
      {"{\"cmd\":\"status\",\"peers\":\"all\\u0000\",\"id\":1}", "parse_error"},
      {"{\"cmd\":\"pause\",\"id\":1}", "bad_request"},
      {"{\"cmd\":\"pause\",\"child\":\"a\\u0000b\",\"id\":1}", "parse_error"},
      {"{\"cmd\":\"events\",\"limit\":1.5,\"id\":1}", "bad_request"},
      {"{\"cmd\":\"link-change\",\"flags\":\"\",\"id\":1}", "bad_request"},
      {"{\"cmd\":\"link-change\",\"flags\":\"link-up,,sideways\",\"id\":1}", "bad_request"},
      {"{\"cmd\":\"link-change\",\"address\":\"1.2.3.4\",\"id\":1}", "bad_request"},
      {"{\"cmd\":\"link-change\",\"interface\":\"0123456789abcdef\",\"id\":1}", "bad_request"},
      {"{\"cmd\":\"link-change\",\"interface\":\"e\",\"address\":\"1.2.3.4/33\",\"id\":1}",
       "bad_request"},
      {"{\"cmd\":\"link-change\",\"interface\":\"e\",\"address\":\"1.2.3.4/\",\"id\":1}",
       "bad_request"},
      {"{\"cmd\":\"status\\u001b[2J\",\"id\":1}", "unknown_command"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    json_t *err = parse_error(bad[i].line);
    if (strcmp(code_of(err), bad[i].code) != 0)
      fail_msg("%s: %s, expected %s", bad[i].line, code_of(err), bad[i].code);
    if (strstr(bad[i].line, "\"id\":1") != NULL && strcmp(bad[i].code, "parse_error") != 0)
      assert_int_equal(json_integer_value(json_object_get(err, "id")), 1);
    json_decref(err);
  }
}

/* The unknown command's name is quoted cut at 64 bytes: with a character
 * across that limit the quote still is valid UTF-8, visibly cut. */
static void unknown_command_quoted_on_a_character_boundary(void **state) {
  (void)state;
  char line[300];
  snprintf(line, sizeof line, "{\"cmd\":\"%.63s\xe2\x82\xac\xe2\x82\xac\",\"id\":\"x\"}",
           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  json_t *err = parse_error(line);
  assert_string_equal(code_of(err), "unknown_command");
  assert_string_equal(json_string_value(json_object_get(err, "id")), "x");
  const char *msg = json_string_value(json_object_get(json_object_get(err, "error"), "message"));
  assert_non_null(strstr(msg, "aaaa...\""));
  json_decref(err);
  /* An error reply's message is bounded, cut visibly. */
  json_t *e = mn_reply_error("x", "%0600d", 1);
  msg = json_string_value(json_object_get(json_object_get(e, "error"), "message"));
  assert_int_equal(strlen(msg), 511);
  assert_string_equal(msg + 508, "...");
  json_decref(e);
  /* Out of memory at execution: the internal error keeps the id. */
  json_t *id = json_integer(9);
  e = mn_reply_finish(NULL, id);
  assert_string_equal(code_of(e), "internal");
  assert_int_equal(json_integer_value(json_object_get(e, "id")), 9);
  json_decref(e);
  json_decref(id);
}

/* ---- the log sink ------------------------------------------------------------------------ */

static FILE *sink_out;

/* Logs one record through the installed JSON sink and parses the line. */
static json_t *log_json(const char *fmt, const char *arg) {
  char text[4096];
  size_t at = strstr(fmt, "%s") != NULL ? (size_t)(strstr(fmt, "%s") - fmt) : strlen(fmt);
  snprintf(text, sizeof text, "%.*s%s%s", (int)at, fmt, arg, at < strlen(fmt) ? fmt + at + 2 : "");
  rewind(sink_out);
  assert_int_equal(ftruncate(fileno(sink_out), 0), 0);
  mn_log_install(MN_LOG_JSON, sink_out);
  mrt_log(MRT_LOG_INFO, "test", "%s", text);
  mn_log_uninstall();
  fflush(sink_out);
  rewind(sink_out);
  char line[8192];
  assert_non_null(fgets(line, sizeof line, sink_out));
  assert_true(strlen(line) > 0 && line[strlen(line) - 1] == '\n');
  json_error_t jerr;
  json_t *o = json_loads(line, 0, &jerr);
  if (o == NULL)
    fail_msg("not JSON: %s (%s)", line, jerr.text);
  return o;
}

static const char *field(const json_t *o, const char *key) {
  return json_string_value(json_object_get(json_object_get(o, "fields"), key));
}

static void json_sink_keeps_message_and_fields_whole(void **state) {
  (void)state;
  sink_out = tmpfile();
  assert_non_null(sink_out);
  json_t *o = log_json("socket bound local=%s n=42 zero=0 padded=007", "127.0.0.1:41641");
  assert_string_equal(json_string_value(json_object_get(o, "msg")), "socket bound");
  assert_string_equal(field(o, "local"), "127.0.0.1:41641");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "fields"), "n")), 42);
  assert_true(json_is_integer(json_object_get(json_object_get(o, "fields"), "zero")));
  assert_string_equal(field(o, "padded"), "007");
  json_decref(o);

  /* A field of 300 bytes, and one of 400 bytes of two-byte characters. */
  char v[801];
  memset(v, 'v', 300);
  v[300] = '\0';
  o = log_json("long value=%s", v);
  assert_non_null(field(o, "value"));
  assert_int_equal(strlen(field(o, "value")), 300);
  json_decref(o);
  for (int i = 0; i < 200; i++)
    memcpy(v + 2 * i, "\xc3\xa9", 2);
  v[400] = '\0';
  o = log_json("wide value=%s", v);
  assert_non_null(field(o, "value"));
  assert_int_equal(strlen(field(o, "value")), 400);
  json_decref(o);

  /* Invalid UTF-8 and control characters: msg is there, escaped. */
  o = log_json("bad %s end", "\xff\x1b[2J\xc3");
  assert_string_equal(json_string_value(json_object_get(o, "msg")), "bad \\xff\\x1b[2J\\xc3 end");
  json_decref(o);

  /* A key twice: the text is kept whole rather than losing a value. */
  o = log_json("dup a=1 a=%s", "2");
  assert_string_equal(json_string_value(json_object_get(o, "text")), "dup a=1 a=2");
  assert_non_null(json_object_get(o, "msg"));
  json_decref(o);

  /* A record the library cut for length still has its message. */
  char big[1500];
  for (size_t i = 0; i + 2 < sizeof big; i += 2)
    memcpy(big + i, "\xc3\xa9", 2);
  big[sizeof big - 2] = '\0';
  o = log_json("x%s", big);
  const char *msg = json_string_value(json_object_get(o, "msg"));
  assert_non_null(msg);
  assert_string_equal(msg + strlen(msg) - 3, "...");
  json_decref(o);
  fclose(sink_out);
}

static void human_lines_escape_too(void **state) {
  (void)state;
  mrt_log_record rec = {.level = MRT_LOG_WARN,
                        .wall_time_ns = 0,
                        .component = "c\x1b",
                        .text = "evil\x1b]0;title\x07 name=\xff"};
  char *line = mn_log_render(MN_LOG_HUMAN, &rec);
  assert_non_null(line);
  assert_true(mn_text_is_clean(line, strlen(line)));
  assert_non_null(strstr(line, "c\\x1b: evil\\x1b]0;title\\x07 name=\\xff"));
  free(line);
  line = mn_log_render(MN_LOG_JSON, &rec);
  assert_non_null(line);
  json_t *o = json_loads(line, 0, NULL);
  assert_non_null(o);
  assert_string_equal(json_string_value(json_object_get(o, "msg")), "evil\\x1b]0;title\\x07");
  assert_string_equal(field(o, "name"), "\\xff");
  json_decref(o);
  free(line);
}

/* ---- text ---------------------------------------------------------------------------------- */

static void text_helpers(void **state) {
  (void)state;
  char out[32];
  assert_string_equal(mn_text_printf(out, sizeof out, "a%sb", "\n"), "a\\x0ab");
  assert_string_equal(mn_text_clean("abcdefghij", 10, out, 8), "abcd...");
  json_t *j = mn_json_text("x\x01y\xff");
  assert_string_equal(json_string_value(j), "x\\x01y\\xff");
  json_decref(j);
  assert_true(mn_text_is_clean("caf\xc3\xa9", 5));
  assert_false(mn_text_is_clean("a\x1b", 2));
  assert_false(mn_text_is_clean("\xc3", 1));
  assert_false(mn_text_is_clean("\xc2\x9b", 2));
  assert_false(mn_text_is_clean("\xed\xa0\x80", 3));
}

int main(void) {
  mrt_log_set_level(MRT_LOG_INFO);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(requests_parse_and_round_trip),
      cmocka_unit_test(bad_requests_get_error_replies_with_their_id),
      cmocka_unit_test(unknown_command_quoted_on_a_character_boundary),
      cmocka_unit_test(json_sink_keeps_message_and_fields_whole),
      cmocka_unit_test(human_lines_escape_too),
      cmocka_unit_test(text_helpers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
