/* SPDX-License-Identifier: MIT */
/* Tests: meshrt-node and the network_monitor build feature (the netlink link
 * monitor, meson -Dnetwork_monitor=enabled|disabled).
 *
 * The test runs against the real build: meson tells it which one this is
 * (MESHRT_BUILD_NETWORK_MONITOR), and it asserts that build's behaviour, so
 * CI runs it once in each. Without the feature:
 *   - a config with network_monitor true or "netlink" is refused while the
 *     config is validated: exit 2, the message names the file and the field
 *     and says the build lacks the feature, and nothing is started (no
 *     control socket, no key file created); `--check` refuses it too;
 *   - `--network-monitor netlink` is a usage error (exit 2), with a config,
 *     with --check, and in the demo;
 *   - the demo still runs: it falls back to the manual monitor and says why
 *     (log and `meshrt-ctl status`).
 * With the feature, the same configs and options are accepted (and a node
 * with network_monitor "netlink" runs and reports the netlink monitor).
 * "manual" and "off" are accepted in both builds.
 * Arguments: the meshrt-node and meshrt-ctl binaries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <meshrt/mesh.h>

#include "test-node-proc.h"

#define FEATURE_MISSING "built without the network_monitor feature"

static bool built; /* with the network_monitor feature */

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* node.json with network_monitor set to `value` (JSON text) and a key file
 * that does not exist yet. Returns the config's path (static). */
static const char *write_config(const char *value) {
  static char path[300];
  char text[200], key[300];
  in_dir("node.json", path, sizeof path);
  unlink(in_dir("node.key", key, sizeof key));
  snprintf(text, sizeof text,
           "{\"listen_address\": \"127.0.0.1\", \"advertise_local\": false,"
           " \"key_file\": \"node.key\", \"network_monitor\": %s}",
           value);
  file_write(path, text);
  return path;
}

/* ---- the config file ----------------------------------------------------------------------- */

static void config_netlink_follows_the_build(void **state) {
  (void)state;
  static const char *const netlink[] = {"true", "\"netlink\"", "\"NetLink\""};
  char key[300], sock[300];
  in_dir("node.key", key, sizeof key);
  in_dir("control.sock", sock, sizeof sock);
  for (size_t i = 0; i < sizeof netlink / sizeof *netlink; i++) {
    const char *path = write_config(netlink[i]);
    for (int check = 0; check < 2; check++) {
      char *argv[] = {(char *)node_bin,         "--config", (char *)path,
                      "--control-socket",       sock,       "--no-metrics",
                      check ? "--check" : NULL, NULL};
      if (!built && check == 0) {
        /* Run for real: refused before anything starts. */
        char *err = NULL;
        int rc = run_capture(argv, 15000, NULL, &err);
        if (rc != 2 || strstr(err, path) == NULL || strstr(err, ": network_monitor: ") == NULL ||
            strstr(err, FEATURE_MISSING) == NULL)
          fail_msg("network_monitor %s: exit %d, stderr: %s", netlink[i], rc, err);
        /* The config error is all it printed: the runtime never logged. */
        assert_null(strstr(err, "start-up failed"));
        free(err);
        assert_false(exists(sock));
        assert_false(exists(key)); /* created only for a config that was accepted */
        continue;
      }
      if (built && check == 0)
        continue; /* running it: netlink_node_runs_where_built */
      char *out = NULL, *err = NULL;
      int rc = run_capture(argv, 15000, &out, &err);
      if (built && (rc != 0 || strstr(out, "OK") == NULL))
        fail_msg("--check, network_monitor %s: exit %d, stderr: %s", netlink[i], rc, err);
      if (!built &&
          (rc != 2 || strstr(err, path) == NULL || strstr(err, ": network_monitor: ") == NULL ||
           strstr(err, FEATURE_MISSING) == NULL))
        fail_msg("--check, network_monitor %s: exit %d, stderr: %s", netlink[i], rc, err);
      free(out);
      free(err);
      assert_false(exists(key)); /* a check creates nothing */
    }
  }
  /* The other monitors need no feature. */
  static const char *const others[] = {"\"manual\"", "false", "\"off\""};
  for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
    char *argv[] = {(char *)node_bin, "--check", "--config", (char *)write_config(others[i]), NULL};
    char *err = NULL;
    int rc = run_capture(argv, 15000, NULL, &err);
    if (rc != 0)
      fail_msg("--check, network_monitor %s: exit %d, stderr: %s", others[i], rc, err);
    free(err);
  }
}

static bool monitor_reported(const json_t *s) {
  return json_is_string(json_object_get(json_object_get(s, "link_monitor"), "kind"));
}

static void netlink_node_runs_where_built(void **state) {
  (void)state;
  if (!built)
    skip(); /* refused: config_netlink_follows_the_build */
  node_proc n;
  const char *args[] = {"--config", write_config("\"netlink\""), "--no-metrics", NULL};
  assert_true(node_start(&n, args));
  json_t *s = node_wait_status(&n, monitor_reported, 20000);
  if (s == NULL)
    dump_log(&n);
  assert_non_null(s);
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(s, "link_monitor"), "kind")), "netlink");
  json_decref(s);
  assert_int_equal(node_stop(&n, SIGTERM, 10000), 0);
}

/* ---- the command line -------------------------------------------------------------------------- */

static void option_netlink_follows_the_build(void **state) {
  (void)state;
  const char *path = write_config("\"off\"");
  char *check[] = {(char *)node_bin, "--network-monitor", "netlink", "--check",
                   "--config",       (char *)path,        NULL};
  char *out = NULL, *err = NULL;
  int rc = run_capture(check, 15000, &out, &err);
  if (built ? rc != 0
            : rc != 2 || strstr(err, "--network-monitor netlink") == NULL ||
                  strstr(err, FEATURE_MISSING) == NULL)
    fail_msg("--network-monitor netlink --check: exit %d, stderr: %s", rc, err);
  free(out);
  free(err);
  if (built)
    return; /* the demo with netlink: test-node-demo and the netns suite */
  /* The demo asked for netlink: a usage error too, before anything starts. */
  char sock[300];
  in_dir("control.sock", sock, sizeof sock);
  char *demo[] = {(char *)node_bin,
                  "--network-monitor",
                  "netlink",
                  "--control-socket",
                  sock,
                  "--no-metrics",
                  NULL};
  rc = run_capture(demo, 15000, NULL, &err);
  if (rc != 2 || strstr(err, FEATURE_MISSING) == NULL)
    fail_msg("demo --network-monitor netlink: exit %d, stderr: %s", rc, err);
  free(err);
  assert_false(exists(sock));
}

/* ---- the demo's own choice ---------------------------------------------------------------------- */

static void demo_default_monitor_follows_the_build(void **state) {
  (void)state;
  node_proc n;
  const char *args[] = {"--no-metrics", NULL};
  assert_true(node_start(&n, args));
  json_t *s = node_wait_status(&n, monitor_reported, 20000);
  if (s == NULL)
    dump_log(&n);
  assert_non_null(s);
  const json_t *m = json_object_get(s, "link_monitor");
  const char *kind = json_string_value(json_object_get(m, "kind"));
  const char *note = json_string_value(json_object_get(m, "note"));
  if (!built) {
    /* It runs, on the manual monitor, and says why. */
    assert_string_equal(kind, "manual");
    assert_non_null(note);
    assert_non_null(strstr(note, FEATURE_MISSING));
    char *log = file_read(n.log);
    if (strstr(log, "using the manual link monitor because") == NULL ||
        strstr(log, FEATURE_MISSING) == NULL)
      fail_msg("the demo did not say why it uses the manual monitor:\n%s", log);
    free(log);
  } else if (strcmp(kind, "manual") == 0) {
    /* Netlink unusable here (no permission): the reason is not the build. */
    assert_non_null(note);
    assert_null(strstr(note, FEATURE_MISSING));
  } else {
    assert_string_equal(kind, "netlink");
  }
  json_decref(s);
  assert_int_equal(node_stop(&n, SIGTERM, 10000), 0);
}

int main(int argc, char **argv) {
  take_binaries(argc, argv);
  const char *b = getenv("MESHRT_BUILD_NETWORK_MONITOR");
  if (b == NULL || (strcmp(b, "enabled") != 0 && strcmp(b, "disabled") != 0)) {
    fprintf(stderr, "MESHRT_BUILD_NETWORK_MONITOR must be enabled or disabled (meson sets it)\n");
    return 2;
  }
  built = strcmp(b, "enabled") == 0;
  /* The library linked here must agree with the build meson described. */
  if (mrt_node_network_monitor_available() != built) {
    fprintf(stderr, "the library says network_monitor is %s, meson says %s\n",
            mrt_node_network_monitor_available() ? "built" : "not built", b);
    return 1;
  }
#define T(fn) cmocka_unit_test_setup_teardown(fn, proc_setup, proc_teardown)
  const struct CMUnitTest tests[] = {
      T(config_netlink_follows_the_build),
      T(netlink_node_runs_where_built),
      T(option_netlink_follows_the_build),
      T(demo_default_monitor_follows_the_build),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
