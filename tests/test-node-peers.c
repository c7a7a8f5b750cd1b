/* SPDX-License-Identifier: MIT */
/* Tests: a meshrt-node with 1,000 configured peers, through meshrt-ctl and
 * the metrics endpoint.
 *
 * The test writes a config with 1,000 peers (fresh keys) whose endpoints are
 * UDP sockets it binds on 127.0.0.2-127.0.0.51 and never reads: silent peers,
 * on this machine only. With the node running:
 *   - `meshrt-ctl --json status` works although the reply is far larger than
 *     meshrt-ctl's old fixed 64 KiB buffer, and parses to 1,000 peers
 *     (ordered: with a path first, then by id) with a peer_summary, and the
 *     node pings every one of them;
 *   - `--peers N` pages the reply (N rows, the summary still counts all);
 *   - `meshrt-ctl status` stays readable: the summary line, 20 rows and a
 *     hint; `--peers all` lists the 1,000; bad --peers values are refused
 *     (usage error in meshrt-ctl, bad_request from the node);
 *   - `meshrt-ctl events` (table and --json) works;
 *   - GET /metrics has 1,000 meshrt_peer_path_up series, all 0;
 *   - SIGTERM stops it cleanly.
 * And meshrt-ctl against a stand-in node on a socket of the test's own: a
 * 10,000-peer status reply (about 2 MB) is read and parsed whole; a reply
 * line past meshrt-ctl's 64 MiB bound is refused with a clear error.
 * Deadlines are generous (an overloaded 2-core machine meets them); no
 * timing is asserted. Arguments: the meshrt-node and meshrt-ctl binaries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>

#include <meshrt/mesh.h>

#include "test-node-proc.h"

#define N_PEERS 1000
#define N_SILENT 50 /* sockets; 20 peers each */
#define OLD_CTL_BUFFER 65536

static node_proc node;
static int silent[N_SILENT];
static char metrics_host[64];
static int metrics_port;

/* ---- the silent peers and the config ---------------------------------------------------------- */

/* A UDP socket on 127.0.0.(2+i), any port, that nobody reads. */
static uint16_t silent_socket(int i) {
  struct sockaddr_in sin = {.sin_family = AF_INET};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 2 + (uint32_t)i);
  socklen_t len = sizeof sin;
  silent[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (silent[i] < 0 || bind(silent[i], (struct sockaddr *)&sin, sizeof sin) < 0 ||
      getsockname(silent[i], (struct sockaddr *)&sin, &len) < 0) {
    perror("silent peer socket");
    exit(1);
  }
  return ntohs(sin.sin_port);
}

static void write_config(const char *path) {
  uint16_t ports[N_SILENT];
  for (int i = 0; i < N_SILENT; i++)
    ports[i] = silent_socket(i);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "{\"listen_address\": \"127.0.0.1\", \"advertise_local\": false,"
             " \"metrics\": \"127.0.0.1:0\", \"peers\": [\n");
  for (int i = 0; i < N_PEERS; i++) {
    mrt_probe_keypair kp;
    assert_int_equal(mrt_probe_keypair_generate(&kp), 0);
    char hex[2 * MRT_PROBE_KEY_LEN + 1];
    for (size_t j = 0; j < MRT_PROBE_KEY_LEN; j++)
      snprintf(hex + 2 * j, 3, "%02x", kp.pub[j]);
    /* Ids in reverse, so the node's ordering is seen to be its own work. */
    fprintf(f,
            "%s{\"id\": %d, \"name\": \"silent-%d\", \"public_key\": \"%s\","
            " \"endpoints\": [\"127.0.0.%d:%u\"]}\n",
            i ? "," : "", N_PEERS - i, i, hex, 2 + i % N_SILENT, ports[i % N_SILENT]);
  }
  fprintf(f, "]}\n");
  fclose(f);
}

static int setup_group(void **state) {
  (void)state;
  dir_make();
  char path[300];
  write_config(in_dir("node.json", path, sizeof path));
  const char *args[] = {"--config", path, NULL};
  if (!node_start(&node, args))
    return -1;
  return 0;
}

static int teardown_group(void **state) {
  (void)state;
  reap_all();
  for (int i = 0; i < N_SILENT; i++)
    if (silent[i] > 0)
      close(silent[i]);
  dir_remove(test_dir);
  return 0;
}

/* ---- running meshrt-ctl ------------------------------------------------------------------------- */

/* meshrt-ctl --socket SOCK ARGS... (NULL-terminated); stdout in *out. */
static int ctl(char **out, char **err, ...) {
  char *argv[16] = {(char *)ctl_bin, "--socket", node.sock};
  int n = 3;
  va_list ap;
  va_start(ap, err);
  for (char *a; n < 15 && (a = va_arg(ap, char *)) != NULL;)
    argv[n++] = a;
  va_end(ap);
  argv[n] = NULL;
  return run_capture(argv, 30000, out, err);
}

static json_t *ctl_parse(const char *what, int rc, char *out, char *err) {
  json_t *j = rc == 0 ? json_loads(out, 0, NULL) : NULL;
  if (j == NULL)
    fail_msg("%s: exit %d, stderr: %s", what, rc, err);
  free(out);
  free(err);
  return j;
}

static size_t count(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
    n++;
  return n;
}

/* ---- status ------------------------------------------------------------------------------------ */

static bool all_peers_pinged(const json_t *s) {
  const json_t *peers = json_object_get(s, "peers");
  if (json_array_size(peers) != N_PEERS)
    return false;
  size_t i;
  const json_t *p;
  json_array_foreach(peers, i, p) {
    const json_t *c = json_array_get(json_object_get(p, "candidates"), 0);
    if (json_integer_value(json_object_get(c, "pings_sent")) < 1)
      return false;
  }
  return true;
}

static void status_json_has_every_peer(void **state) {
  (void)state;
  /* Every peer pinged at least once (the pinger runs every 2 s). */
  json_t *s = node_wait_status(&node, all_peers_pinged, 90000);
  if (s == NULL)
    dump_log(&node);
  assert_non_null(s);
  char *text = json_dumps(s, JSON_COMPACT);
  if (strlen(text) <= 2 * OLD_CTL_BUFFER) /* the kind of reply that broke the fixed buffer */
    fail_msg("status is only %zu bytes", strlen(text));
  free(text);
  const json_t *peers = json_object_get(s, "peers");
  assert_int_equal(json_array_size(peers), N_PEERS);
  size_t i;
  const json_t *p;
  json_array_foreach(peers, i, p) {
    assert_int_equal(json_integer_value(json_object_get(p, "id")), (json_int_t)i + 1);
    assert_false(json_is_true(json_object_get(p, "has_path")));
  }
  const json_t *sum = json_object_get(s, "peer_summary");
  assert_int_equal(json_integer_value(json_object_get(sum, "total")), N_PEERS);
  assert_int_equal(json_integer_value(json_object_get(sum, "with_path")), 0);
  assert_int_equal(json_integer_value(json_object_get(sum, "without_path")), N_PEERS);
  assert_int_equal(json_integer_value(json_object_get(sum, "shown")), N_PEERS);
  assert_true(status_metrics_addr(s, metrics_host, &metrics_port));
  json_decref(s);

  /* A page of 5: the first 5 rows, the summary over all. */
  char *out = NULL, *err = NULL;
  int rc = ctl(&out, &err, "--json", "status", "--peers", "5", NULL);
  s = ctl_parse("status --peers 5 --json", rc, out, err);
  assert_int_equal(json_array_size(json_object_get(s, "peers")), 5);
  assert_int_equal(
      json_integer_value(json_object_get(json_array_get(json_object_get(s, "peers"), 4), "id")), 5);
  sum = json_object_get(s, "peer_summary");
  assert_int_equal(json_integer_value(json_object_get(sum, "total")), N_PEERS);
  assert_int_equal(json_integer_value(json_object_get(sum, "shown")), 5);
  json_decref(s);
}

static void status_table_is_a_summary_and_the_top_rows(void **state) {
  (void)state;
  char *out = NULL, *err = NULL;
  int rc = ctl(&out, &err, "status", NULL);
  if (rc != 0)
    fail_msg("status: exit %d, stderr: %s", rc, err);
  assert_non_null(strstr(out, "1000: 0 with a direct path, 1000 without"));
  assert_int_equal(count(out, "(no direct path)"), 20);
  assert_non_null(strstr(out, "980 more not shown"));
  free(out);
  free(err);

  rc = ctl(&out, &err, "status", "--peers", "all", NULL);
  if (rc != 0)
    fail_msg("status --peers all: exit %d, stderr: %s", rc, err);
  assert_int_equal(count(out, "(no direct path)"), N_PEERS);
  assert_null(strstr(out, "more not shown"));
  free(out);
  free(err);

  /* Refusals: meshrt-ctl's usage errors, and the node's own check. */
  assert_int_equal(ctl(NULL, NULL, "status", "--peers", "many", NULL), 2);
  assert_int_equal(ctl(NULL, NULL, "children", "--peers", "3", NULL), 2);
  int fd = uconnect(node.sock);
  assert_true(fd >= 0);
  static const char *const bad[] = {"{\"cmd\":\"status\",\"peers\":-1}",
                                    "{\"cmd\":\"status\",\"peers\":\"some\"}",
                                    "{\"cmd\":\"status\",\"peers\":1.5}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    json_t *r = request(fd, bad[i]);
    assert_non_null(r);
    assert_string_equal(error_code(r), "bad_request");
    json_decref(r);
  }
  close(fd);
}

/* ---- events and metrics -------------------------------------------------------------------------- */

static void events_work(void **state) {
  (void)state;
  char *out = NULL, *err = NULL;
  int rc = ctl(&out, &err, "events", NULL);
  if (rc != 0)
    fail_msg("events: exit %d, stderr: %s", rc, err);
  assert_non_null(strstr(out, "SEQ")); /* the table's header: there are events (the boot) */
  free(out);
  free(err);
  rc = ctl(&out, &err, "--json", "events", NULL);
  json_t *j = ctl_parse("events --json", rc, out, err);
  assert_true(json_array_size(json_object_get(j, "events")) > 0);
  json_decref(j);
}

static void metrics_have_a_series_per_peer(void **state) {
  (void)state;
  assert_true(metrics_port > 0); /* from status_json_has_every_peer */
  char *resp = http_request(metrics_host, metrics_port, "GET", "/metrics");
  assert_non_null(resp);
  int status = 0;
  assert_int_equal(sscanf(resp, "HTTP/1.%*d %d", &status), 1);
  assert_int_equal(status, 200);
  static bool seen[N_PEERS + 1];
  size_t series = 0;
  for (char *line = strstr(resp, "\nmeshrt_peer_path_up{peer=\""); line != NULL;
       line = strstr(line + 1, "\nmeshrt_peer_path_up{peer=\"")) {
    int id = 0, up = -1;
    assert_int_equal(sscanf(line, "\nmeshrt_peer_path_up{peer=\"%d\"} %d", &id, &up), 2);
    assert_true(id >= 1 && id <= N_PEERS);
    assert_false(seen[id]);
    seen[id] = true;
    assert_int_equal(up, 0);
    series++;
  }
  assert_int_equal(series, N_PEERS);
  free(resp);
}

static void stops_cleanly(void **state) {
  (void)state;
  int rc = node_stop(&node, SIGTERM, 30000);
  if (rc != 0)
    dump_log(&node);
  assert_int_equal(rc, 0);
}

/* ---- meshrt-ctl against a stand-in node --------------------------------------------------------- */

typedef struct fake_node {
  int listen_fd;
  const char *reply; /* sent after the request line, or NULL: */
  size_t junk;       /* this many bytes of 'x' with no newline */
} fake_node;

static void *fake_serve(void *ud) {
  fake_node *f = ud;
  int fd = accept(f->listen_fd, NULL, NULL);
  if (fd < 0)
    return NULL;
  char *req = recv_line(fd, 30000);
  free(req);
  if (f->reply != NULL) {
    send_all(fd, f->reply, strlen(f->reply));
  } else {
    static char chunk[1 << 16];
    memset(chunk, 'x', sizeof chunk);
    /* meshrt-ctl hangs up once it has seen too much: send fails then. */
    for (size_t sent = 0; sent < f->junk;) {
      size_t n = f->junk - sent < sizeof chunk ? f->junk - sent : sizeof chunk;
      if (!send_all(fd, chunk, n))
        break;
      sent += n;
    }
  }
  close(fd);
  return NULL;
}

/* Runs `meshrt-ctl --json status` against f on a socket in the test dir. */
static int ctl_against(fake_node *f, char **out, char **err) {
  char path[300];
  in_dir("fake.sock", path, sizeof path);
  unlink(path);
  f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  assert_true(strlen(path) < sizeof sun.sun_path);
  memcpy(sun.sun_path, path, strlen(path) + 1);
  assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sun, sizeof sun), 0);
  assert_int_equal(listen(f->listen_fd, 1), 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, fake_serve, f), 0);
  char *argv[] = {(char *)ctl_bin, "--socket", path, "--json", "status", NULL};
  int rc = run_capture(argv, 60000, out, err);
  pthread_join(t, NULL);
  close(f->listen_fd);
  return rc;
}

static void ctl_reads_any_reply_up_to_its_bound(void **state) {
  (void)state;
  enum { MANY = 10000 };
  size_t cap = (size_t)MANY * 256 + 256, len = 0;
  char *reply = malloc(cap);
  assert_non_null(reply);
  len += (size_t)snprintf(reply + len, cap - len, "{\"ok\":true,\"result\":{\"peers\":[");
  for (int i = 1; i <= MANY; i++)
    len += (size_t)snprintf(reply + len, cap - len,
                            "%s{\"id\":%d,\"public_key\":\"%064d\",\"has_path\":false,"
                            "\"path\":null,\"rtt_ms\":0.0,\"candidates\":[{\"addr\":"
                            "\"127.0.0.2:40000\",\"confirmed\":false,\"pings_sent\":3}]}",
                            i > 1 ? "," : "", i, i);
  snprintf(reply + len, cap - len, "]}}\n");
  assert_true(strlen(reply) > 20 * OLD_CTL_BUFFER);
  fake_node f = {.reply = reply};
  char *out = NULL, *err = NULL;
  int rc = ctl_against(&f, &out, &err);
  json_t *j = ctl_parse("status from a 10,000-peer stand-in", rc, out, err);
  assert_int_equal(json_array_size(json_object_get(j, "peers")), MANY);
  json_decref(j);
  free(reply);

  /* One byte past the bound: refused, saying so (not "Message too long"). */
  fake_node big = {.junk = (64u << 20) + 1};
  rc = ctl_against(&big, &out, &err);
  assert_int_equal(rc, 1);
  if (strstr(err, "longer than 64 MiB") == NULL)
    fail_msg("meshrt-ctl on a 64 MiB + 1 reply: %s", err);
  free(out);
  free(err);
}

int main(int argc, char **argv) {
  take_binaries(argc, argv);
  /* In order: the first finds the metrics address, the last stops the node. */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(status_json_has_every_peer),
      cmocka_unit_test(status_table_is_a_summary_and_the_top_rows),
      cmocka_unit_test(events_work),
      cmocka_unit_test(metrics_have_a_series_per_peer),
      cmocka_unit_test(stops_cleanly),
      cmocka_unit_test(ctl_reads_any_reply_up_to_its_bound),
  };
  return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
