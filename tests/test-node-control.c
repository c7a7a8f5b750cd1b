/* SPDX-License-Identifier: MIT */
/* Tests: the control socket and meshrt-ctl, against the demo with the manual
 * link monitor (so link changes can be injected without root).
 *
 *   - every command through meshrt-ctl, JSON and tables: status, children,
 *     rebind, measure, pause/resume/restart CHILD (and an unknown child),
 *     events, events --follow, link-change (which must produce a link-change
 *     event and the rebind that answered it; with --interface and --address
 *     the event, the table and the log say where, a hostile name escaped);
 *   - the raw protocol: malformed JSON, wrong types, unknown commands and
 *     fields each get a JSON error reply and the connection stays usable; an
 *     "id" is echoed; an over-long line is refused and the connection closed;
 *   - clients that disconnect mid-request or before reading their reply are
 *     harmless; 100 concurrent clients all get their answer; 1000 pipelined
 *     requests read late are throttled, never dropped;
 *   - the socket is mode 0600; after all of it the node still answers and
 *     exits 0 on SIGTERM.
 * Arguments: the meshrt-node and meshrt-ctl binaries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>

#include "test-node-proc.h"

#define CLIENTS 100

static node_proc node;

static int setup_group(void **state) {
  (void)state;
  dir_make();
  static const char *const args[] = {"--no-metrics", "--network-monitor", "manual", NULL};
  if (!node_start(&node, args))
    return -1;
  json_t *s = node_wait_status(&node, status_ready, NP_WAIT_MS);
  if (s == NULL) {
    dump_log(&node);
    return -1;
  }
  json_decref(s);
  return 0;
}

static int teardown_group(void **state) {
  (void)state;
  int rc = node_stop(&node, SIGTERM, NP_WAIT_MS);
  if (rc != 0)
    dump_log(&node);
  reap_all();
  dir_remove(test_dir);
  return rc == 0 ? 0 : -1;
}

static json_t *find_child(const json_t *children, const char *id) {
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(children, "children"), i, c) {
    if (strcmp(json_string_value(json_object_get(c, "id")), id) == 0)
      return c;
  }
  return NULL;
}

/* ---- commands through meshrt-ctl ------------------------------------------------------------ */

static void socket_is_private(void **state) {
  (void)state;
  struct stat st;
  assert_int_equal(stat(node.sock, &st), 0);
  assert_true(S_ISSOCK(st.st_mode));
  assert_int_equal(st.st_mode & 0777, 0600);
}

static void status_children_and_operator_control(void **state) {
  (void)state;
  json_t *c = ctl_json(node.sock, NULL, "children", NULL);
  assert_non_null(c);
  assert_string_equal(json_string_value(json_object_get(c, "supervisor")), "node");
  assert_int_equal(json_array_size(json_object_get(c, "children")), 3);
  assert_string_equal(
      json_string_value(json_object_get(find_child(c, "derp-latency"), "operation")), "active");
  json_decref(c);

  json_t *o = ctl_json(node.sock, NULL, "pause", "derp-latency");
  assert_non_null(o);
  assert_string_equal(json_string_value(json_object_get(o, "operation_after")), "paused");
  json_decref(o);
  c = ctl_json(node.sock, NULL, "children", NULL);
  assert_string_equal(
      json_string_value(json_object_get(find_child(c, "derp-latency"), "operation")), "paused");
  json_decref(c);
  /* status still answers, saying the measurer is unavailable */
  json_t *s = ctl_json(node.sock, NULL, "status", NULL);
  assert_non_null(s);
  assert_string_equal(json_string_value(json_object_get(json_object_get(s, "measurer"), "state")),
                      "unavailable");
  json_decref(s);
  o = ctl_json(node.sock, NULL, "resume", "derp-latency");
  assert_string_equal(json_string_value(json_object_get(o, "operation_after")), "active");
  json_decref(o);

  o = ctl_json(node.sock, NULL, "restart", "direct");
  assert_non_null(o);
  assert_string_equal(json_string_value(json_object_get(o, "command")), "restart");
  json_decref(o);

  int code;
  char *err = NULL;
  assert_null(ctl_json(node.sock, &code, "pause", "no-such-child"));
  assert_int_equal(code, 1);
  assert_int_equal(ctl_text(node.sock, NULL, &err, "pause", "no-such-child"), 1);
  assert_non_null(strstr(err, "not_found"));
  free(err);

  char *out = NULL;
  assert_int_equal(ctl_text(node.sock, &out, NULL, "children", NULL), 0);
  assert_non_null(strstr(out, "derp-latency"));
  assert_non_null(strstr(out, "RESTARTS"));
  free(out);
}

static void rebind_and_measure(void **state) {
  (void)state;
  json_t *r = ctl_json(node.sock, NULL, "rebind", NULL);
  assert_non_null(r);
  assert_int_equal(json_integer_value(json_object_get(r, "old_port")),
                   json_integer_value(json_object_get(r, "new_port")));
  assert_string_equal(json_string_value(json_object_get(r, "port")), "kept");
  json_decref(r);
  char *out = NULL;
  assert_int_equal(ctl_text(node.sock, &out, NULL, "rebind", NULL), 0);
  assert_non_null(strstr(out, "rebound: port "));
  assert_non_null(strstr(out, "(kept;"));
  free(out);
  /* The peer's path comes back, and the journal says how long that took. */
  uint64_t end = mono_ms() + 10000;
  bool seen = false;
  while (!seen && mono_ms() < end) {
    assert_int_equal(ctl_text(node.sock, &out, NULL, "events", NULL), 0);
    seen = strstr(out, "peer 2 re-confirmed ") != NULL && strstr(out, " ms after rebind via ");
    free(out);
    if (!seen)
      sleep_ms(50);
  }
  assert_true(seen);
  json_t *st = ctl_json(node.sock, NULL, "status", NULL);
  const json_t *peer = json_array_get(json_object_get(st, "peers"), 0);
  assert_true(json_is_real(json_object_get(peer, "reconfirmed_after_rebind_s")));
  assert_true(json_is_object(json_object_get(json_object_get(st, "probes"), "endpoint_updates")));
  json_decref(st);
  json_t *m = ctl_json(node.sock, NULL, "measure", NULL);
  assert_non_null(m);
  assert_int_equal(json_array_size(json_object_get(m, "regions")), 3);
  json_decref(m);
  assert_int_equal(ctl_text(node.sock, &out, NULL, "measure", NULL), 0);
  assert_non_null(strstr(out, "demo-near"));
  free(out);
}

/* The newest event of `kind` in the journal (a new reference), or NULL. */
static json_t *newest(const char *kind) {
  json_t *r = ctl_json(node.sock, NULL, "events", NULL), *found = NULL;
  size_t i;
  json_t *ev;
  json_array_foreach(json_object_get(r, "events"), i, ev) {
    if (strcmp(json_string_value(json_object_get(ev, "kind")), kind) == 0)
      found = ev;
  }
  json_incref(found);
  json_decref(r);
  return found;
}

static void link_change_shows_up_with_its_rebind(void **state) {
  (void)state;
  json_t *r = ctl_json(node.sock, NULL, "link-change", "link-down,addr-removed");
  assert_non_null(r);
  json_decref(r);
  json_t *link = NULL, *rebind = NULL;
  for (int i = 0; i < 100; i++) {
    json_decref(link);
    json_decref(rebind);
    link = newest("link-change");
    rebind = newest("rebind");
    if (link && rebind &&
        strcmp(json_string_value(json_object_get(rebind, "cause")), "link-change") == 0)
      break;
    sleep_ms(50);
  }
  assert_non_null(link);
  assert_non_null(rebind);
  assert_string_equal(json_string_value(json_object_get(rebind, "cause")), "link-change");
  assert_true(json_is_true(json_object_get(rebind, "ok")));
  json_int_t link_seq = json_integer_value(json_object_get(link, "seq"));
  assert_true(json_integer_value(json_object_get(rebind, "seq")) > link_seq);
  assert_int_equal(json_integer_value(json_array_get(json_object_get(rebind, "link_changes"), 0)),
                   link_seq);
  assert_non_null(strstr(json_string_value(json_object_get(link, "flags")), "link-down"));
  json_decref(link);
  json_decref(rebind);
  char *out = NULL;
  assert_int_equal(ctl_text(node.sock, &out, NULL, "events", NULL), 0);
  assert_non_null(strstr(out, "link-change"));
  assert_non_null(strstr(out, "(link-change #"));
  free(out);
  char *err = NULL;
  assert_int_equal(ctl_text(node.sock, NULL, &err, "link-change", "sideways"), 1);
  assert_non_null(strstr(err, "bad_request"));
  free(err);
}

/* meshrt-ctl link-change with an interface and an address: the journal and
 * the log say where, and a hostile interface name arrives escaped in the
 * JSON, the events table and the node's log. */
static void link_change_says_where(void **state) {
  (void)state;
  char *argv[] = {(char *)ctl_bin, "--socket",     node.sock,   "link-change",  "addr-removed",
                  "--interface",   "wl\x1b[1man0", "--address", "192.0.2.7/24", NULL};
  char *out = NULL;
  assert_int_equal(run_capture(argv, 15000, &out, NULL), 0);
  assert_non_null(strstr(out, "addr-removed: wl\\x1b[1man0: address 192.0.2.7/24 removed"));
  free(out);
  json_t *link = NULL;
  for (int i = 0; i < 100; i++) {
    json_decref(link);
    link = newest("link-change");
    if (link != NULL && json_array_size(json_object_get(link, "changes")) > 0)
      break;
    sleep_ms(50);
  }
  assert_non_null(link);
  const json_t *c = json_array_get(json_object_get(link, "changes"), 0);
  assert_string_equal(json_string_value(json_object_get(c, "change")), "addr-removed");
  assert_string_equal(json_string_value(json_object_get(c, "interface")), "wl\\x1b[1man0");
  assert_string_equal(json_string_value(json_object_get(c, "address")), "192.0.2.7/24");
  assert_string_equal(json_string_value(json_object_get(c, "text")),
                      "wl\\x1b[1man0: address 192.0.2.7/24 removed");
  assert_string_equal(json_string_value(json_object_get(link, "summary")),
                      "wl\\x1b[1man0: address 192.0.2.7/24 removed");
  json_decref(link);
  assert_int_equal(ctl_text(node.sock, &out, NULL, "events", NULL), 0);
  assert_non_null(strstr(out, "wl\\x1b[1man0: address 192.0.2.7/24 removed"));
  assert_null(strchr(out, '\x1b'));
  free(out);
  char *log = file_read(node.log);
  assert_non_null(log);
  assert_non_null(strstr(log, "link change: wl\\x1b[1man0: address 192.0.2.7/24 removed"));
  assert_null(strchr(log, '\x1b'));
  free(log);
  /* Bad descriptions are refused. */
  char *bad_addr[] = {(char *)ctl_bin, "--socket", node.sock,   "link-change", "addr-added",
                      "--interface",   "eth0",     "--address", "192.0.2.300", NULL};
  char *err = NULL;
  assert_int_equal(run_capture(bad_addr, 15000, NULL, &err), 1);
  assert_non_null(strstr(err, "bad_request"));
  free(err);
  char *no_if[] = {(char *)ctl_bin, "--socket",  node.sock, "link-change",
                   "--address",     "192.0.2.7", NULL};
  assert_int_equal(run_capture(no_if, 15000, NULL, NULL), 2);
}

static void events_follow_streams_new_events(void **state) {
  (void)state;
  char out[300];
  in_dir("follow.out", out, sizeof out);
  char *argv[] = {(char *)ctl_bin, "--socket", node.sock, "--json", "events", "--follow", NULL};
  pid_t pid = spawn(argv, out, NULL);
  assert_true(pid > 0);
  sleep_ms(200); /* let it connect and read the backlog */
  json_t *r = ctl_json(node.sock, NULL, "rebind", NULL);
  assert_non_null(r);
  json_int_t port = json_integer_value(json_object_get(r, "new_port"));
  json_decref(r);
  bool seen = false;
  for (int i = 0; i < 100 && !seen; i++) {
    char *text = file_read(out);
    char needle[64];
    snprintf(needle, sizeof needle, "\"new_port\":%lld", (long long)port);
    seen = strstr(text, needle) != NULL;
    free(text);
    if (!seen)
      sleep_ms(50);
  }
  kill(pid, SIGTERM);
  wait_exit(pid, NP_WAIT_MS);
  assert_true(seen);
}

/* ---- the raw protocol
 * ---------------------------------------------------------------------------- */

static void malformed_requests_get_json_errors(void **state) {
  (void)state;
  static const struct {
    const char *line, *code;
  } bad[] = {
      {"garbage", "parse_error"},
      {"{\"cmd\": \"status\"", "parse_error"},
      {"[1, 2]", "bad_request"},
      {"{}", "bad_request"},
      {"{\"cmd\": 5}", "bad_request"},
      {"{\"cmd\": \"frobnicate\"}", "unknown_command"},
      {"{\"cmd\": \"pause\"}", "bad_request"},
      {"{\"cmd\": \"pause\", \"child\": 3}", "bad_request"},
      {"{\"cmd\": \"events\", \"after\": -1}", "bad_request"},
      {"{\"cmd\": \"events\", \"follow\": \"yes\"}", "bad_request"},
      {"{\"cmd\": \"status\", \"cmd\": \"rebind\"}", "parse_error"},
      {"\"status\"", "bad_request"},
  };
  int fd = uconnect(node.sock);
  assert_true(fd >= 0);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    json_t *reply = request(fd, bad[i].line);
    if (reply == NULL)
      fail_msg("no reply to %s", bad[i].line);
    assert_false(json_is_true(json_object_get(reply, "ok")));
    assert_string_equal(error_code(reply), bad[i].code);
    assert_true(json_is_string(json_object_get(json_object_get(reply, "error"), "message")));
    json_decref(reply);
  }
  /* The same connection still works, and ids are echoed. */
  json_t *reply = request(fd, "{\"cmd\": \"status\", \"id\": 42, \"extra\": true}");
  assert_non_null(reply);
  assert_true(json_is_true(json_object_get(reply, "ok")));
  assert_int_equal(json_integer_value(json_object_get(reply, "id")), 42);
  json_decref(reply);
  /* Blank lines are ignored; CRLF is accepted. */
  static const char crlf[] = "\n\r\n{\"cmd\":\"children\"}\r\n";
  assert_true(send_all(fd, crlf, strlen(crlf)));
  char *line = recv_line(fd, NP_WAIT_MS);
  assert_non_null(line);
  assert_non_null(strstr(line, "\"ok\":true"));
  free(line);
  close(fd);
}

/* True when s is valid UTF-8 with no control character (C0, DEL, C1). */
static bool clean_text(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    if (*p < 0x20 || *p == 0x7f)
      return false;
    size_t n = *p < 0x80             ? 1
               : (*p & 0xe0) == 0xc0 ? 2
               : (*p & 0xf0) == 0xe0 ? 3
               : (*p & 0xf8) == 0xf0 ? 4
                                     : 0;
    if (n == 0 || (n == 2 && *p < 0xc2))
      return false;
    for (size_t k = 1; k < n; k++)
      if ((p[k] & 0xc0) != 0x80)
        return false;
    if (n == 2 && *p == 0xc2 && p[1] < 0xa0)
      return false; /* C1 control */
    p += n;
  }
  return true;
}

/* Error replies quote what the client sent: a command name cut where a
 * character straddles the quote's limit, jansson's parse-error text with the
 * offending bytes, a child id with control characters. Each reply keeps its
 * id, its message is valid UTF-8 without control characters, and a cut shows
 * as "...". */
static void error_replies_quote_input_safely(void **state) {
  (void)state;
  int fd = uconnect(node.sock);
  assert_true(fd >= 0);
  /* 63 ASCII bytes, then "é" across the 64-byte limit of the quote. */
  char line[256];
  snprintf(line, sizeof line, "{\"cmd\":\"%s\xc3\xa9\xc3\xa9\xc3\xa9\",\"id\":7}",
           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  json_t *reply = request(fd, line);
  assert_non_null(reply);
  assert_string_equal(error_code(reply), "unknown_command");
  assert_int_equal(json_integer_value(json_object_get(reply, "id")), 7);
  const char *msg = json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
  assert_non_null(msg);
  assert_true(clean_text(msg));
  assert_non_null(strstr(msg, "aaa..."));
  json_decref(reply);
  /* jansson quotes the bad token, an escape sequence here. */
  reply = request(fd, "[\x1b[2J]");
  assert_non_null(reply);
  assert_string_equal(error_code(reply), "parse_error");
  msg = json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
  assert_non_null(msg);
  assert_true(clean_text(msg));
  assert_non_null(strstr(msg, "\\x1b"));
  json_decref(reply);
  /* A child id with an escape sequence, and a command name with one. */
  reply = request(fd, "{\"cmd\":\"pause\",\"child\":\"x\\u001b[2Jy\",\"id\":\"k\"}");
  assert_non_null(reply);
  /* the supervisor refuses such an id (bad_request) or finds no such child */
  assert_true(strcmp(error_code(reply), "bad_request") == 0 ||
              strcmp(error_code(reply), "not_found") == 0);
  assert_string_equal(json_string_value(json_object_get(reply, "id")), "k");
  msg = json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
  assert_true(clean_text(msg));
  assert_non_null(strstr(msg, "x\\x1b[2Jy"));
  json_decref(reply);
  reply = request(fd, "{\"cmd\":\"st\\u009batus\\n\",\"id\":[1]}");
  assert_non_null(reply);
  assert_string_equal(error_code(reply), "unknown_command");
  assert_true(json_is_array(json_object_get(reply, "id")));
  msg = json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
  assert_true(clean_text(msg));
  json_decref(reply);
  close(fd);
  /* Nothing raw reached the log either. */
  char *log = file_read(node.log);
  assert_null(strchr(log, '\x1b'));
  free(log);
}

static void over_long_line_is_refused_and_closed(void **state) {
  (void)state;
  int fd = uconnect(node.sock);
  size_t len = 70 * 1024;
  char *big = malloc(len);
  memset(big, 'x', len);
  send_all(fd, big, len); /* no newline: the server must not wait forever */
  free(big);
  char *line = recv_line(fd, NP_WAIT_MS);
  assert_non_null(line);
  json_t *reply = json_loads(line, 0, NULL);
  free(line);
  assert_string_equal(error_code(reply), "too_long");
  json_decref(reply);
  assert_null(recv_line(fd, 2000)); /* then it closes */
  close(fd);
}

static void clients_vanishing_mid_request_are_harmless(void **state) {
  (void)state;
  for (int i = 0; i < 20; i++) {
    int fd = uconnect(node.sock);
    assert_true(fd >= 0);
    if (i % 3 == 0)
      send_all(fd, "{\"cmd\":\"sta", strlen("{\"cmd\":\"sta")); /* half a request */
    else if (i % 3 == 1)
      send_all(fd, "{\"cmd\":\"status\"}\n",
               strlen("{\"cmd\":\"status\"}\n")); /* gone before the reply */
    else
      send_all(fd, "{\"cmd\":\"events\",\"follow\":true}\n",
               strlen("{\"cmd\":\"events\",\"follow\":true}\n")); /* a follower that leaves */
    close(fd);
  }
  json_t *s = ctl_json(node.sock, NULL, "status", NULL);
  assert_non_null(s);
  json_decref(s);
}

/* 1000 pipelined requests whose replies (several MB) are read only after
 * all were sent: the server throttles the client instead of buffering
 * without bound or dropping replies, and every reply arrives, in order. */
static void pipelined_requests_all_answered(void **state) {
  (void)state;
  enum { N = 1000 };
  int fd = uconnect(node.sock);
  assert_true(fd >= 0);
  static const char req[] = "{\"cmd\":\"events\"}\n";
  char *batch = malloc(N * (sizeof req - 1));
  for (int i = 0; i < N; i++)
    memcpy(batch + i * (sizeof req - 1), req, sizeof req - 1);
  assert_true(send_all(fd, batch, N * (sizeof req - 1)));
  free(batch);
  size_t lines = 0, bytes = 0;
  char buf[65536];
  while (lines < N) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, NP_WAIT_MS) <= 0)
      break;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      break;
    bytes += (size_t)n;
    for (ssize_t i = 0; i < n; i++)
      lines += buf[i] == '\n';
  }
  close(fd);
  assert_int_equal(lines, N);
  assert_true(bytes > 4 * 1024 * 1024); /* far more than the server buffers for a client */
}

typedef struct client_run {
  pthread_barrier_t *go;
  bool ok;
} client_run;

static void *one_client(void *ud) {
  client_run *c = ud;
  int fd = uconnect(node.sock);
  pthread_barrier_wait(c->go);
  json_t *reply = fd >= 0 ? request(fd, "{\"cmd\":\"status\"}") : NULL;
  c->ok = reply != NULL && json_is_true(json_object_get(reply, "ok")) &&
          json_is_object(json_object_get(reply, "result"));
  json_decref(reply);
  if (fd >= 0)
    close(fd);
  return NULL;
}

static void hundred_concurrent_clients(void **state) {
  (void)state;
  pthread_barrier_t go;
  pthread_barrier_init(&go, NULL, CLIENTS);
  static client_run runs[CLIENTS];
  pthread_t t[CLIENTS];
  for (int i = 0; i < CLIENTS; i++) {
    runs[i].go = &go;
    assert_int_equal(pthread_create(&t[i], NULL, one_client, &runs[i]), 0);
  }
  int ok = 0;
  for (int i = 0; i < CLIENTS; i++) {
    pthread_join(t[i], NULL);
    ok += runs[i].ok;
  }
  pthread_barrier_destroy(&go);
  assert_int_equal(ok, CLIENTS);
  assert_true(waitpid(node.pid, NULL, WNOHANG) == 0); /* still running */
}

int main(int argc, char **argv) {
  take_binaries(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(socket_is_private),
      cmocka_unit_test(status_children_and_operator_control),
      cmocka_unit_test(rebind_and_measure),
      cmocka_unit_test(link_change_shows_up_with_its_rebind),
      cmocka_unit_test(link_change_says_where),
      cmocka_unit_test(events_follow_streams_new_events),
      cmocka_unit_test(malformed_requests_get_json_errors),
      cmocka_unit_test(error_replies_quote_input_safely),
      cmocka_unit_test(over_long_line_is_refused_and_closed),
      cmocka_unit_test(clients_vanishing_mid_request_are_harmless),
      cmocka_unit_test(pipelined_requests_all_answered),
      cmocka_unit_test(hundred_concurrent_clients),
  };
  return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
