/* SPDX-License-Identifier: MIT */
/* Tests: meshrt-node's built-in demo, end to end, as a user runs it.
 *
 * The demo is started with no config (only a control socket path in a
 * private directory and an ephemeral metrics port); `meshrt-ctl status
 * --json` must show the home region (the 8 ms region) and a confirmed direct
 * path to the in-process peer with an RTT; the log must tell the story (bound
 * socket, region latencies, home region, the peer's path); SIGTERM must end
 * it with exit 0 (under the asan setup a leak would fail the exit code too).
 * The latencies are real: the test asserts floors and the home region, never
 * how fast anything is (see demo_status_ok). A second run with --log-format json checks that every log
 * line is a JSON object and that SIGINT is a clean shutdown too.
 * Arguments: the meshrt-node and meshrt-ctl binaries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test-node-proc.h"

/* The node logs as it goes (the observer polls paths every 250 ms), so a
 * line may trail the state that status already shows: wait for it. */
static void expect_in_log(const node_proc *n, const char *needle) {
  for (uint64_t end = mono_ms() + NP_WAIT_MS;; sleep_ms(20)) {
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

/* The demo's regions and their artificial delays (tools/node/demo.c). */
static const struct {
  int id;
  const char *code;
  double delay_ms;
} demo_regions[] = {{1, "demo-near", 8.0}, {2, "demo-mid", 25.0}, {3, "demo-far", 60.0}};
#define N_DEMO_REGIONS (sizeof demo_regions / sizeof *demo_regions)

/* Extra measurement rounds the test may ask for (see below). */
#define EXTRA_ROUNDS_MAX 20

/* What `status --json` of the demo must show. The latencies are real
 * loopback round trips plus each region's artificial delay, so the delay is
 * a floor no load can break, but on a loaded machine (or with valgrind next
 * door) a round can measure the near region late, even later than the far
 * one, and then make another region home. The test does not take that for a
 * failure: the home moves back to the near region after a round that
 * measures it near its delay (a region's score is its best latency of the
 * last 5 minutes), so this only says what is still missing and the test asks
 * for another round. Returns true, or false with the reason in `why`. */
static bool demo_status_ok(const json_t *s, char *why, size_t len) {
  if (s == NULL)
    return snprintf(why, len, "meshrt-ctl status failed"), false;
  const json_t *home = json_object_get(s, "home_region");
  const json_t *regions = json_object_get(s, "regions");
  const json_t *peer = json_array_get(json_object_get(s, "peers"), 0);
  const char *path = json_string_value(json_object_get(peer, "path"));
  const char *sock = json_string_value(json_object_get(json_object_get(s, "socket"), "state"));
  const char *metrics = json_string_value(json_object_get(s, "metrics"));
  const char *monitor =
      json_string_value(json_object_get(json_object_get(s, "link_monitor"), "kind"));
  const char *mode = json_string_value(json_object_get(s, "mode"));
  if (mode == NULL || strcmp(mode, "demo") != 0)
    return snprintf(why, len, "mode is not \"demo\""), false;
  if (json_array_size(regions) != N_DEMO_REGIONS)
    return snprintf(why, len, "%zu regions measured, not 3", json_array_size(regions)), false;
  for (size_t i = 0; i < N_DEMO_REGIONS; i++) {
    const json_t *r = NULL;
    size_t j;
    const json_t *each;
    json_array_foreach(regions, j, each) {
      if (json_integer_value(json_object_get(each, "id")) == demo_regions[i].id)
        r = each;
    }
    const char *code = json_string_value(json_object_get(r, "code"));
    double ms = json_number_value(json_object_get(r, "latency_ms"));
    if (code == NULL || strcmp(code, demo_regions[i].code) != 0)
      return snprintf(why, len, "region %d is missing or misnamed", demo_regions[i].id), false;
    if (ms < demo_regions[i].delay_ms)
      return snprintf(why, len, "%s measured %.3f ms, below its %.0f ms delay", code, ms,
                      demo_regions[i].delay_ms),
             false;
  }
  if (json_integer_value(json_object_get(home, "id")) != 1 ||
      !json_is_string(json_object_get(home, "code")) ||
      strcmp(json_string_value(json_object_get(home, "code")), "demo-near") != 0)
    return snprintf(why, len, "home region is %lld, not 1 (demo-near)",
                    (long long)json_integer_value(json_object_get(home, "id"))),
           false;
  if (json_integer_value(json_object_get(peer, "id")) != 2 ||
      !(json_number_value(json_object_get(peer, "rtt_ms")) > 0.0) || path == NULL ||
      strstr(path, "127.0.0.1:") == NULL)
    return snprintf(why, len, "no confirmed path to peer 2 on 127.0.0.1 with an RTT"), false;
  if (sock == NULL || strcmp(sock, "bound") != 0)
    return snprintf(why, len, "the socket is not bound"), false;
  if (metrics == NULL || strstr(metrics, "http://127.0.0.1:") == NULL)
    return snprintf(why, len, "no metrics URL on 127.0.0.1"), false;
  if (monitor == NULL || (strcmp(monitor, "netlink") != 0 && strcmp(monitor, "manual") != 0))
    return snprintf(why, len, "link monitor is neither netlink nor manual"), false;
  return true;
}

static void demo_finds_home_and_peer_and_stops_on_sigterm(void **state) {
  (void)state;
  node_proc n;
  static const char *const args[] = {"--metrics", "127.0.0.1:0", NULL};
  assert_true(node_start(&n, args));
  json_t *s = node_wait_status(&n, status_ready, NP_WAIT_MS);
  if (s == NULL) {
    dump_log(&n);
    fail_msg("no home region and confirmed peer path within %d ms", NP_WAIT_MS);
  }
  char why[160];
  int extra = 0;
  /* The status is released before any failure: a failing test leaks nothing. */
  while (!demo_status_ok(s, why, sizeof why) && extra < EXTRA_ROUNDS_MAX) {
    json_decref(s);
    json_decref(ctl_json(n.sock, NULL, "measure", NULL)); /* waits for the round */
    extra++;
    s = ctl_json(n.sock, NULL, "status", NULL);
  }
  bool ok = demo_status_ok(s, why, sizeof why);
  json_decref(s);
  if (!ok) {
    dump_log(&n);
    fail_msg("%s (after %d extra measurement rounds)", why, extra);
  }

  /* The human table says the same. */
  char *out = NULL;
  assert_int_equal(ctl_text(n.sock, &out, NULL, "status", NULL), 0);
  bool table_ok = strstr(out, "home region   1 (demo-near)") != NULL && strstr(out, "demo-far");
  free(out);
  assert_true(table_ok);

  expect_in_log(&n, "bound socket 127.0.0.1:");
  expect_in_log(&n, "region latencies: 1/demo-near");
  expect_in_log(&n, "home region: 1 (demo-near)");
  expect_in_log(&n, "peer 2: direct path confirmed via 127.0.0.1:");
  expect_in_log(&n, "ready: built-in demo");

  /* A clean exit: the node gives its actors a deadline to stop and exits 1
   * past it. How quickly it stops is not this test's business. */
  int rc = node_stop(&n, SIGTERM, NP_WAIT_MS);
  if (rc != 0)
    dump_log(&n);
  assert_int_equal(rc, 0);
  expect_in_log(&n, "SIGTERM: shutting down");
  struct stat st;
  assert_int_not_equal(stat(n.sock, &st), 0); /* the control socket is removed */
}

static void json_logs_and_sigint(void **state) {
  (void)state;
  node_proc n;
  static const char *const args[] = {"--no-metrics", "--log-format",   "json", "--network-monitor",
                                     "manual",       "--journal-size", "3",    NULL};
  assert_true(node_start(&n, args));
  json_t *s = node_wait_status(&n, status_ready, NP_WAIT_MS);
  if (s == NULL)
    dump_log(&n);
  assert_non_null(s);
  bool no_metrics = json_is_null(json_object_get(s, "metrics"));
  json_decref(s);
  assert_true(no_metrics);
  /* --journal-size 3: the journal keeps the last three events. */
  json_t *ev = ctl_json(n.sock, NULL, "events", NULL);
  assert_non_null(ev);
  assert_true(json_integer_value(json_object_get(ev, "last_seq")) > 3);
  assert_true(json_array_size(json_object_get(ev, "events")) <= 3);
  assert_true(json_integer_value(json_object_get(ev, "dropped")) > 0);
  json_decref(ev);
  assert_int_equal(node_stop(&n, SIGINT, NP_WAIT_MS), 0);
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
  assert_int_equal(run_capture(argv1, NP_WAIT_MS, NULL, NULL), 2);
  char *argv2[] = {(char *)node_bin, "--metrics", "not-an-address", NULL};
  assert_int_equal(run_capture(argv2, NP_WAIT_MS, NULL, NULL), 2);
  char *argv3[] = {(char *)node_bin, "--check", NULL};
  assert_int_equal(run_capture(argv3, NP_WAIT_MS, NULL, NULL), 2);
  char *argv3b[] = {(char *)node_bin, "--journal-size", "0", NULL};
  assert_int_equal(run_capture(argv3b, NP_WAIT_MS, NULL, NULL), 2);
  char *argv4[] = {(char *)ctl_bin, "frobnicate", NULL};
  assert_int_equal(run_capture(argv4, NP_WAIT_MS, NULL, NULL), 2);
  char *out = NULL;
  char *argv5[] = {(char *)node_bin, "--version", NULL};
  assert_int_equal(run_capture(argv5, NP_WAIT_MS, &out, NULL), 0);
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
      cmocka_unit_test_setup_teardown(demo_finds_home_and_peer_and_stops_on_sigterm, proc_setup,
                                      proc_teardown),
      cmocka_unit_test_setup_teardown(json_logs_and_sigint, proc_setup, proc_teardown),
      cmocka_unit_test_setup_teardown(usage_errors_exit_2, proc_setup, proc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
