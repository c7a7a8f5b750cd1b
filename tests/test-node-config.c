/* SPDX-License-Identifier: MIT */
/* Tests: meshrt-node's config file.
 *
 *   - every field, given a wrong value, stops the node with exit code 2 and a
 *     message naming the config file and the field (and nothing is started:
 *     no control socket appears);
 *   - a missing key file is created with mode 0600 and reused on the next
 *     start (same public key);
 *   - a valid config runs a node whose DERP map points at STUN responders
 *     this test runs in-process on loopback; SIGHUP with a new map moves the
 *     home region; SIGHUP with a broken config is refused (journalled,
 *     naming the field) while the node keeps running; SIGTERM exits 0.
 * Arguments: the meshrt-node and meshrt-ctl binaries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <sys/resource.h>
#include <meshrt/mesh.h>

#include "test-node-proc.h"

/* ---- each field --------------------------------------------------------------------------- */

typedef struct bad_case {
  const char *json;  /* the config file's content (NULL: no file at all) */
  const char *field; /* what the message must name */
} bad_case;

static const char key64[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static const bad_case cases[] = {
    {NULL, "cannot read the config file"},
    {"{\"listen_port\": 1,}", "line 1"},
    {"[1, 2]", "(top level)"},
    {"{\"listen_prot\": 1}", "listen_prot"},
    {"{\"listen_address\": \"nowhere\"}", "listen_address"},
    {"{\"listen_port\": 70000}", "listen_port"},
    {"{\"listen_port\": \"41641\"}", "listen_port"},
    {"{\"disable_ipv6\": \"yes\"}", "disable_ipv6"},
    {"{\"advertise_local\": 1}", "advertise_local"},
    {"{\"key_file\": 42}", "key_file"},
    {"{\"key_file\": \"no/such/dir/node.key\"}", "key_file"},
    {"{\"key_file\": \"bad.key\"}", "key_file"},
    {"{\"derp_map_file\": \"missing.json\"}", "derp_map_file"},
    {"{\"derp_map_file\": \"bad-derp.json\"}", "derp_map_file"},
    {"{\"derp_map\": {\"Regions\": {\"1\": {\"RegionID\": 2}}}}", "derp_map"},
    {"{\"derp_map\": {}, \"derp_map_file\": \"x\"}", "derp_map"},
    {"{\"peers\": {}}", "peers"},
    {"{\"peers\": [7]}", "peers[0]"},
    {"{\"peers\": [{\"public_key\": \"KEY\"}]}", "peers[0].id"},
    {"{\"peers\": [{\"id\": 1, \"public_key\": \"xyz\"}]}", "peers[0].public_key"},
    {"{\"peers\": [{\"id\": 1, \"public_key\": \"KEY\", \"endpoints\": [\"1.2.3.4\"]}]}",
     "peers[0].endpoints[0]"},
    {"{\"peers\": [{\"id\": 1, \"public_key\": \"KEY\", \"colour\": 1}]}", "peers[0].colour"},
    {"{\"peers\": [{\"id\": 1, \"public_key\": \"KEY\"}, {\"id\": 1, \"public_key\": \"KEY\"}]}",
     "peers[1].id"},
    {"{\"network_monitor\": \"sometimes\"}", "network_monitor"},
    {"{\"ignored_interfaces\": \"eth0\"}", "ignored_interfaces"},
    {"{\"ignored_interfaces\": [\"eth0\", 1]}", "ignored_interfaces[1]"},
    {"{\"control_socket\": 5}", "control_socket"},
    {"{\"metrics\": \"nowhere:x\"}", "metrics"},
    {"{\"log_level\": \"loud\"}", "log_level"},
    {"{\"log_format\": \"xml\"}", "log_format"},
};

/* The template with every KEY replaced by a valid public key. */
static void subst_key(const char *tmpl, char *out, size_t len) {
  size_t used = 0;
  for (const char *p = tmpl; *p && used + 70 < len;) {
    if (strncmp(p, "KEY", 3) == 0) {
      used += (size_t)snprintf(out + used, len - used, "%s", key64);
      p += 3;
    } else {
      out[used++] = *p++;
    }
  }
  out[used] = '\0';
}

static void every_field_error_names_file_and_field(void **state) {
  (void)state;
  char path[300], buf[300], sock[300];
  file_write(in_dir("bad.key", buf, sizeof buf), "not a key\n");
  file_write(in_dir("bad-derp.json", buf, sizeof buf),
             "{\"Regions\":{\"1\":{\"RegionID\":1,\"Nodes\":[{\"Name\":\"1a\",\"RegionID\":1,"
             "\"HostName\":\"h\",\"IPv4\":\"foo\"}]}}}");
  in_dir("control.sock", sock, sizeof sock);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    in_dir("node.json", path, sizeof path);
    unlink(path);
    if (cases[i].json != NULL) {
      char text[1024];
      subst_key(cases[i].json, text, sizeof text);
      file_write(path, text);
    }
    char *err = NULL;
    char *argv[] = {(char *)node_bin, "--config", path, "--control-socket", sock, NULL};
    int rc = run_capture(argv, NP_WAIT_MS, NULL, &err);
    if (rc != 2 || strstr(err, path) == NULL || strstr(err, cases[i].field) == NULL)
      fail_msg("case %zu (%s): exit %d, stderr: %s", i, cases[i].field, rc, err);
    free(err);
    struct stat st;
    assert_int_not_equal(stat(sock, &st), 0); /* nothing was started */
  }
  /* --check says the same. */
  file_write(path, "{\"log_level\": \"loud\"}");
  char *err = NULL;
  char *argv[] = {(char *)node_bin, "--check", "--config", path, NULL};
  assert_int_equal(run_capture(argv, NP_WAIT_MS, NULL, &err), 2);
  assert_non_null(strstr(err, "log_level"));
  free(err);
}

/* ---- the key file -------------------------------------------------------------------------- */

static bool status_has_key(const json_t *s) {
  return json_is_string(json_object_get(s, "public_key"));
}

static char *run_and_get_key(const char *config) {
  node_proc n;
  const char *args[] = {"--config", config, "--no-metrics", NULL};
  assert_true(node_start(&n, args));
  json_t *s = node_wait_status(&n, status_has_key, NP_WAIT_MS);
  if (s == NULL)
    dump_log(&n);
  assert_non_null(s);
  char *key = strdup(json_string_value(json_object_get(s, "public_key")));
  json_decref(s);
  assert_int_equal(node_stop(&n, SIGTERM, NP_WAIT_MS), 0);
  return key;
}

static void missing_key_file_is_created_0600_and_reused(void **state) {
  (void)state;
  char cfg[300], key[300];
  file_write(in_dir("node.json", cfg, sizeof cfg), "{\"key_file\": \"node.key\"}");
  in_dir("node.key", key, sizeof key);
  char *first = run_and_get_key(cfg);
  struct stat st;
  assert_int_equal(stat(key, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  char *text = file_read(key);
  assert_int_equal(strlen(text), 65); /* 64 hex digits and a newline */
  free(text);
  char *second = run_and_get_key(cfg);
  assert_string_equal(first, second);
  free(first);
  free(second);
}

/* --check has no side effect: a missing key file is reported (it would be
 * created at start) but not created; an existing one is read and validated. */
static void check_reads_the_key_file_and_never_creates_it(void **state) {
  (void)state;
  char cfg[300], key[300];
  file_write(in_dir("node.json", cfg, sizeof cfg), "{\"key_file\": \"node.key\"}");
  in_dir("node.key", key, sizeof key);
  char *out = NULL, *err = NULL;
  char *argv[] = {(char *)node_bin, "--check", "--config", cfg, NULL};
  assert_int_equal(run_capture(argv, NP_WAIT_MS, &out, &err), 0);
  struct stat st;
  assert_int_not_equal(stat(key, &st), 0);
  assert_int_equal(errno, ENOENT);
  if (strstr(out, "OK") == NULL || strstr(out, key) == NULL || strstr(out, "create") == NULL)
    fail_msg("stdout does not say the key file would be created: %s", out);
  free(out);
  free(err);
  /* Malformed: --check fails and says which file holds what. */
  int fd = open(key, O_WRONLY | O_CREAT | O_EXCL, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "not a key\n", 10), 10);
  close(fd);
  assert_int_equal(run_capture(argv, NP_WAIT_MS, &out, &err), 2);
  if (strstr(err, "key_file") == NULL || strstr(err, key) == NULL ||
      strstr(err, "64 hex digits") == NULL)
    fail_msg("no clear error for a malformed key file: %s", err);
  free(out);
  free(err);
  /* Whole: --check accepts it and leaves it as it was. */
  assert_int_equal(unlink(key), 0);
  char *created = run_and_get_key(cfg); /* a start creates it */
  char *before = file_read(key);
  assert_int_equal(run_capture(argv, NP_WAIT_MS, &out, &err), 0);
  assert_null(strstr(out, "create"));
  char *after = file_read(key);
  assert_string_equal(before, after);
  free(created);
  free(before);
  free(after);
  free(out);
  free(err);
}

/* A crash while the key file is being written (here: a file size limit of
 * 0 kills the node with SIGXFSZ at its first write) leaves no key file
 * rather than an empty or partial one that would stop every later start;
 * the next start creates a whole key. */
static void key_file_appears_whole_or_not_at_all(void **state) {
  (void)state;
  char cfg[300], key[300];
  file_write(in_dir("node.json", cfg, sizeof cfg), "{\"key_file\": \"node.key\"}");
  in_dir("node.key", key, sizeof key);
  char sock[300];
  in_dir("control.sock", sock, sizeof sock);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct rlimit rl = {0, 0};
    signal(SIGXFSZ, SIG_DFL);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    if (setrlimit(RLIMIT_FSIZE, &rl) == 0)
      execl(node_bin, node_bin, "--config", cfg, "--control-socket", sock, "--no-metrics",
            (char *)NULL);
    _exit(127);
  }
  int rc = wait_exit(pid, NP_WAIT_MS);
  assert_int_equal(rc, 128 + SIGXFSZ); /* it died writing the key */
  struct stat st;
  assert_int_not_equal(stat(key, &st), 0);
  assert_int_equal(errno, ENOENT);
  free(run_and_get_key(cfg));
  char *text = file_read(key);
  assert_int_equal(strlen(text), 65);
  free(text);
  assert_int_equal(stat(key, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
}

/* True when s is valid UTF-8 with no control character (C0, DEL, C1). */
static bool clean_text(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    if (*p < 0x20 && *p != '\n')
      return false;
    if (*p == 0x7f)
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
      return false;
    p += n;
  }
  return true;
}

/* Config errors quote the file (field names, values, jansson's syntax
 * message): what reaches stderr is valid UTF-8 with control characters
 * escaped ("\x1b"), and a value cut for length is cut on a character
 * boundary, visibly. */
static void config_errors_never_echo_raw_input(void **state) {
  (void)state;
  static const struct {
    const char *json, *want;
  } raw[] = {
      {"{\"listen\\u001b[2J\": 1}", "listen\\x1b[2J"},
      {"{\"listen_port\": \x01}", "\\x01"},
      {"{\"log_level\": \"\\u001b]0;pwned\\u0007\"}", "log_level"},
      {"{\"listen_address\": \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
       "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
       "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x\"}",
       "listen_address"},
      {"{\"peers\": [{\"id\": 1, \"public_key\": \"x\", \"\\u009b31m\": 1}]}", "peers[0]"},
  };
  char cfg[300];
  in_dir("node.json", cfg, sizeof cfg);
  for (size_t i = 0; i < sizeof raw / sizeof *raw; i++) {
    file_write(cfg, raw[i].json);
    char *err = NULL;
    char *argv[] = {(char *)node_bin, "--check", "--config", cfg, NULL};
    int rc = run_capture(argv, 5000, NULL, &err);
    if (rc != 2 || !clean_text(err) || strstr(err, raw[i].want) == NULL)
      fail_msg("case %zu: exit %d, stderr not clean or without \"%s\": %s", i, rc, raw[i].want,
               err);
    free(err);
  }
}

/* ---- a running node and SIGHUP ------------------------------------------------------------- */

static mrt_ref *responder(mrt_runtime *rt, uint64_t delay_ms, uint16_t *port) {
  mrt_stun_responder_config cfg;
  memset(&cfg, 0, sizeof cfg);
  struct sockaddr_in *in = (struct sockaddr_in *)&cfg.listen_addr;
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cfg.delay_ns = MRT_MS(delay_ms);
  mrt_ref *r = NULL;
  assert_int_equal(mrt_stun_responder_spawn(rt, &cfg, NULL, &r), 0);
  mrt_stun_responder_info info;
  assert_int_equal(MRT_ASK_SYNC(stun_responder_info, r, &(mrt_none){0}, &info, MRT_SEC(30)), 0);
  *port = info.port;
  return r;
}

static void write_config(const char *path, int region, uint16_t port, const char *extra) {
  char text[2048];
  snprintf(text, sizeof text,
           "{\"listen_address\": \"127.0.0.1\", \"advertise_local\": false,"
           " \"key_file\": \"node.key\", \"network_monitor\": \"manual\","
           " \"peers\": [{\"id\": 9, \"name\": \"absent\", \"public_key\": \"%s\","
           " \"endpoints\": [\"127.0.0.1:9\"]}],"
           " \"derp_map\": {\"Regions\": {\"%d\": {\"RegionID\": %d, \"RegionCode\": \"r%d\","
           " \"Nodes\": [{\"Name\": \"a\", \"RegionID\": %d, \"HostName\": \"localhost\","
           " \"IPv4\": \"127.0.0.1\", \"IPv6\": \"none\", \"STUNPort\": %u}]}}}%s}",
           key64, region, region, region, region, port, extra);
  file_write(path, text);
}

static int want_home;
static bool home_is_wanted(const json_t *s) {
  return json_integer_value(json_object_get(json_object_get(s, "home_region"), "id")) == want_home;
}

static json_t *last_event(const char *sock, const char *kind) {
  json_t *r = ctl_json(sock, NULL, "events", NULL);
  json_t *found = NULL;
  size_t i;
  json_t *ev;
  json_array_foreach(json_object_get(r, "events"), i, ev) {
    if (strcmp(json_string_value(json_object_get(ev, "kind")), kind) == 0) {
      json_decref(found);
      found = json_incref(ev);
    }
  }
  json_decref(r);
  return found;
}

/* The last reload applied the map and the log level, and named the port
 * as needing a restart. */
static void expect_applied(const char *sock) {
  json_t *ev = last_event(sock, "config");
  assert_non_null(ev);
  assert_true(json_is_true(json_object_get(ev, "ok")));
  char *applied = json_dumps(json_object_get(ev, "applied"), 0);
  char *restart = json_dumps(json_object_get(ev, "needs_restart"), 0);
  assert_non_null(strstr(applied, "derp_map"));
  assert_non_null(strstr(applied, "log_level"));
  assert_non_null(strstr(restart, "listen_port"));
  free(applied);
  free(restart);
  json_decref(ev);
}

/* Waits for a refused reload (a config event after seq `after`) whose error
 * names the file and `field`. */
static uint64_t refused_after;
static void expect_refused(const char *sock, const char *cfg, const char *field) {
  json_t *ev = NULL;
  for (int i = 0;
       i < 100 && ((ev = last_event(sock, "config")) == NULL ||
                   (uint64_t)json_integer_value(json_object_get(ev, "seq")) <= refused_after ||
                   json_is_true(json_object_get(ev, "ok")));
       i++) {
    json_decref(ev);
    ev = NULL;
    sleep_ms(50);
  }
  assert_non_null(ev);
  refused_after = (uint64_t)json_integer_value(json_object_get(ev, "seq"));
  assert_true(json_is_false(json_object_get(ev, "ok")));
  const char *why = json_string_value(json_object_get(ev, "error"));
  assert_non_null(why);
  assert_non_null(strstr(why, field));
  assert_non_null(strstr(why, cfg));
  assert_true(clean_text(why));
  json_decref(ev);
}

static void sighup_reloads_through_the_reconciler(void **state) {
  (void)state;
  mrt_runtime *rt = NULL;
  assert_int_equal(mrt_runtime_new(NULL, &rt), 0);
  assert_int_equal(mrt_runtime_start(rt), 0);
  uint16_t p7, p8;
  mrt_ref *r7 = responder(rt, 5, &p7), *r8 = responder(rt, 5, &p8);
  char cfg[300];
  write_config(in_dir("node.json", cfg, sizeof cfg), 7, p7, "");
  node_proc n;
  const char *args[] = {"--config", cfg, "--no-metrics", NULL};
  assert_true(node_start(&n, args));
  want_home = 7;
  json_t *s = node_wait_status(&n, home_is_wanted, NP_WAIT_MS);
  if (s == NULL)
    dump_log(&n);
  assert_non_null(s);
  assert_string_equal(json_string_value(json_object_get(s, "mode")), "config");
  assert_int_equal(
      json_integer_value(json_object_get(json_array_get(json_object_get(s, "peers"), 0), "id")), 9);
  json_decref(s);

  /* A new DERP map (and a log level) through SIGHUP: the home region moves. */
  write_config(cfg, 8, p8, ", \"log_level\": \"debug\", \"listen_port\": 1");
  kill(n.pid, SIGHUP);
  want_home = 8;
  s = node_wait_status(&n, home_is_wanted, NP_WAIT_MS);
  if (s == NULL)
    dump_log(&n);
  assert_non_null(s);
  json_decref(s);
  expect_applied(n.sock);
  /* A broken config is refused; the node keeps running on the one in force. */
  file_write(cfg, "{\"peers\": [{\"id\": 1, \"public_key\": \"zz\"}]}");
  kill(n.pid, SIGHUP);
  expect_refused(n.sock, cfg, "peers[0].public_key");
  /* An error whose quoted value is cut inside a character still journals
   * the whole event (ok, path, error), and the log line keeps its text. */
  file_write(cfg, "{\"peers\": [{\"id\": 1, \"public_key\": \"\u00e9\u00e9\u00e9\u00e9"
                  "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
                  "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
                  "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\"}]}");
  kill(n.pid, SIGHUP);
  expect_refused(n.sock, cfg, "...");
  s = node_wait_status(&n, home_is_wanted, NP_WAIT_MS);
  assert_non_null(s);
  json_decref(s);

  assert_int_equal(node_stop(&n, SIGTERM, NP_WAIT_MS), 0);
  mrt_ref_unref(r7);
  mrt_ref_unref(r8);
  mrt_runtime_unref(rt);
}

int main(int argc, char **argv) {
  take_binaries(argc, argv);
  mrt_log_set_level(MRT_LOG_WARN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(every_field_error_names_file_and_field, proc_setup,
                                      proc_teardown),
      cmocka_unit_test_setup_teardown(check_reads_the_key_file_and_never_creates_it, proc_setup,
                                      proc_teardown),
      cmocka_unit_test_setup_teardown(missing_key_file_is_created_0600_and_reused, proc_setup,
                                      proc_teardown),
      cmocka_unit_test_setup_teardown(key_file_appears_whole_or_not_at_all, proc_setup,
                                      proc_teardown),
      cmocka_unit_test_setup_teardown(config_errors_never_echo_raw_input, proc_setup,
                                      proc_teardown),
      cmocka_unit_test_setup_teardown(sighup_reloads_through_the_reconciler, proc_setup,
                                      proc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
