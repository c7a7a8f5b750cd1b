/* Tests: meshrt-node's built-in demo, end to end, as a user runs it.
 *
 * The demo is started with no config (only a control socket path in a
 * private directory and an ephemeral metrics port); `meshrt-ctl status
 * --json` must show the home region (the 8 ms region) and a confirmed direct
 * path to the in-process peer with an RTT; the log must tell the story (bound
 * socket, region latencies, home region, the peer's path); SIGTERM must end
 * it with exit 0 within 2 s (under the asan setup a leak would fail the
 * exit code too). A second run with --log-format json checks that every log
 * line is a JSON object and that SIGINT is a clean shutdown too.
 * Arguments: the meshrt-node and meshrt-ctl binaries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test-node-proc.h"

static int setup(void **state) {
  (void)state;
  dir_make();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  reap_all();
  dir_remove(test_dir);
  return 0;
}

/* The node logs as it goes (the observer polls paths every 250 ms), so a
 * line may trail the state that status already shows: wait up to 2 s. */
static void expect_in_log(const node_proc *n, const char *needle) {
  for (uint64_t end = mono_ms() + 2000;; sleep_ms(20)) {
    char *log = file_read(n->log);
    bool found = strstr(log, needle) != NULL;
    free(log);
    if (found)
      return;
    if (mono_ms() > end)
      break;
  }
  dump_log(n);
  fail_msg("the log lacks \"%s\"", needle);
}

static void demo_finds_home_and_peer_and_stops_on_sigterm(void **state) {
  (void)state;
  node_proc n;
  static const char *const args[] = {"--metrics", "127.0.0.1:0", NULL};
  assert_true(node_start(&n, args));
  json_t *s = node_wait_status(&n, status_ready, 10000);
  if (s == NULL) {
    dump_log(&n);
    fail_msg("no home region and confirmed peer path within 10 s");
  }
  assert_string_equal(json_string_value(json_object_get(s, "mode")), "demo");
  const json_t *home = json_object_get(s, "home_region");
  assert_int_equal(json_integer_value(json_object_get(home, "id")), 1);
  assert_string_equal(json_string_value(json_object_get(home, "code")), "demo-near");
  const json_t *regions = json_object_get(s, "regions");
  assert_int_equal(json_array_size(regions), 3);
  double near = json_number_value(json_object_get(json_array_get(regions, 0), "latency_ms"));
  double far = json_number_value(json_object_get(json_array_get(regions, 2), "latency_ms"));
  assert_true(near >= 8.0 && near < far && far >= 60.0);
  const json_t *peer = json_array_get(json_object_get(s, "peers"), 0);
  assert_int_equal(json_integer_value(json_object_get(peer, "id")), 2);
  assert_true(json_number_value(json_object_get(peer, "rtt_ms")) > 0.0);
  assert_non_null(strstr(json_string_value(json_object_get(peer, "path")), "127.0.0.1:"));
  const json_t *sock = json_object_get(s, "socket");
  assert_string_equal(json_string_value(json_object_get(sock, "state")), "bound");
  assert_non_null(strstr(json_string_value(json_object_get(s, "metrics")), "http://127.0.0.1:"));
  const char *monitor =
      json_string_value(json_object_get(json_object_get(s, "link_monitor"), "kind"));
  assert_true(strcmp(monitor, "netlink") == 0 || strcmp(monitor, "manual") == 0);
  json_decref(s);

  /* The human table says the same. */
  char *out = NULL;
  assert_int_equal(ctl_text(n.sock, &out, NULL, "status", NULL), 0);
  assert_non_null(strstr(out, "home region   1 (demo-near)"));
  assert_non_null(strstr(out, "demo-far"));
  free(out);

  expect_in_log(&n, "bound socket 127.0.0.1:");
  expect_in_log(&n, "region latencies: 1/demo-near");
  expect_in_log(&n, "home region: 1 (demo-near)");
  expect_in_log(&n, "peer 2: direct path confirmed via 127.0.0.1:");
  expect_in_log(&n, "ready: built-in demo");

  uint64_t t0 = mono_ms();
  int rc = node_stop(&n, SIGTERM, 2000);
  if (rc != 0)
    dump_log(&n);
  assert_int_equal(rc, 0);
  assert_true(mono_ms() - t0 <= 2000);
  expect_in_log(&n, "SIGTERM: shutting down");
  struct stat st;
  assert_int_not_equal(stat(n.sock, &st), 0); /* the control socket is removed */
}

static void json_logs_and_sigint(void **state) {
  (void)state;
  node_proc n;
  static const char *const args[] = {"--no-metrics",      "--log-format", "json",
                                     "--network-monitor", "manual",       "--journal-size",
                                     "3",                 NULL};
  assert_true(node_start(&n, args));
  json_t *s = node_wait_status(&n, status_ready, 10000);
  if (s == NULL)
    dump_log(&n);
  assert_non_null(s);
  assert_true(json_is_null(json_object_get(s, "metrics")));
  json_decref(s);
  /* --journal-size 3: the journal keeps the last three events. */
  json_t *ev = ctl_json(n.sock, NULL, "events", NULL);
  assert_non_null(ev);
  assert_true(json_integer_value(json_object_get(ev, "last_seq")) > 3);
  assert_true(json_array_size(json_object_get(ev, "events")) <= 3);
  assert_true(json_integer_value(json_object_get(ev, "dropped")) > 0);
  json_decref(ev);
  assert_int_equal(node_stop(&n, SIGINT, 2000), 0);
  char *log = file_read(n.log);
  size_t lines = 0;
  bool saw_fields = false;
  for (char *save = NULL, *line = strtok_r(log, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save), lines++) {
    json_t *rec = json_loads(line, 0, NULL);
    if (!json_is_object(rec))
      fail_msg("not a JSON log record: %s", line);
    assert_true(json_is_string(json_object_get(rec, "time")));
    assert_true(json_is_string(json_object_get(rec, "level")));
    assert_true(json_is_string(json_object_get(rec, "component")));
    assert_true(json_is_string(json_object_get(rec, "msg")));
    /* "socket bound local=127.0.0.1:N dual_stack=0" splits into fields. */
    const json_t *f = json_object_get(rec, "fields");
    if (json_is_object(f) && json_is_integer(json_object_get(f, "dual_stack")))
      saw_fields = true;
    json_decref(rec);
  }
  free(log);
  assert_true(lines > 5);
  assert_true(saw_fields);
}

static void usage_errors_exit_2(void **state) {
  (void)state;
  char *argv1[] = {(char *)node_bin, "--bogus", NULL};
  assert_int_equal(run_capture(argv1, 5000, NULL, NULL), 2);
  char *argv2[] = {(char *)node_bin, "--metrics", "not-an-address", NULL};
  assert_int_equal(run_capture(argv2, 5000, NULL, NULL), 2);
  char *argv3[] = {(char *)node_bin, "--check", NULL};
  assert_int_equal(run_capture(argv3, 5000, NULL, NULL), 2);
  char *argv3b[] = {(char *)node_bin, "--journal-size", "0", NULL};
  assert_int_equal(run_capture(argv3b, 5000, NULL, NULL), 2);
  char *argv4[] = {(char *)ctl_bin, "frobnicate", NULL};
  assert_int_equal(run_capture(argv4, 5000, NULL, NULL), 2);
  char *out = NULL;
  char *argv5[] = {(char *)node_bin, "--version", NULL};
  assert_int_equal(run_capture(argv5, 5000, &out, NULL), 0);
  assert_non_null(strstr(out, "meshrt-node "));
  free(out);
  /* Nobody listening: meshrt-ctl says so and exits 1. */
  char sock[300], *err = NULL;
  assert_int_equal(ctl_text(in_dir("nobody.sock", sock, sizeof sock), NULL, &err, "status", NULL),
                   1);
  assert_non_null(strstr(err, "cannot connect"));
  free(err);
}

int main(int argc, char **argv) {
  take_binaries(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(demo_finds_home_and_peer_and_stops_on_sigterm, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(json_logs_and_sigint, setup, teardown),
      cmocka_unit_test_setup_teardown(usage_errors_exit_2, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
