/* SPDX-License-Identifier: MIT */
/* Tests: why a region has no latency, as a user of meshrt-node sees it.
 *
 * The node runs from a config whose DERP map has two regions on loopback: a
 * pure RFC 3489 STUN server (MAPPED-, SOURCE- and CHANGED-ADDRESS, the
 * meshrt responder in its classic style, in this process) and a broken one
 * (a thread here that answers every request with a response whose
 * XOR-MAPPED-ADDRESS has no valid family). `meshrt-ctl status` must show,
 * per server and for both STUN clients (DerpLatencyMeasurer and, after an
 * injected link change, DirectManager), requests sent, answers accepted and
 * refusals with the last reason, in JSON and in the table; the classic
 * region gets a latency and becomes home.
 * Arguments: the meshrt-node and meshrt-ctl binaries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>

#include <meshrt/mesh.h>
#include <meshrt/stun.h>

#include "test-node-proc.h"

static const char key64[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/* ---- a broken STUN server: a thread answering every request with junk ------------------ */

typedef struct broken_server {
  int fd;
  uint16_t port;
  atomic_bool stop; /* relaxed: polled every 50 ms; nothing else rides on it */
  pthread_t thread;
} broken_server;

static void *broken_serve(void *ud) {
  broken_server *b = ud;
  while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
    struct pollfd p = {b->fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0)
      continue;
    uint8_t req[512], resp[MRT_STUN_RESPONSE_MAX_LEN];
    struct sockaddr_storage from;
    socklen_t flen = sizeof from;
    ssize_t n = recvfrom(b->fd, req, sizeof req, 0, (struct sockaddr *)&from, &flen);
    mrt_stun_txid txid;
    if (n <= 0 || mrt_stun_parse_binding_request(req, (size_t)n, &txid) < 0)
      continue;
    /* A proper answer, then its XOR-MAPPED-ADDRESS family broken and the
     * FINGERPRINT dropped (header length fixed), so that is the only fault. */
    int len = mrt_stun_build_binding_response(resp, sizeof resp, &txid, (struct sockaddr *)&from);
    if (len != 52)
      continue;
    resp[25] = 0x07;
    resp[3] = 24;
    sendto(b->fd, resp, 44, 0, (struct sockaddr *)&from, flen);
  }
  return NULL;
}

static void broken_start(broken_server *b) {
  memset(b, 0, sizeof *b);
  b->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert_true(b->fd >= 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(b->fd, (struct sockaddr *)&sin, sizeof sin), 0);
  socklen_t len = sizeof sin;
  assert_int_equal(getsockname(b->fd, (struct sockaddr *)&sin, &len), 0);
  b->port = ntohs(sin.sin_port);
  assert_int_equal(pthread_create(&b->thread, NULL, broken_serve, b), 0);
}

static void broken_stop(broken_server *b) {
  atomic_store_explicit(&b->stop, true, memory_order_relaxed);
  pthread_join(b->thread, NULL);
  close(b->fd);
}

/* ---- status predicates ------------------------------------------------------------------- */

static const char bad_family[] = "address attribute with a bad length or family (attribute 0x0020)";

/* The row of `client` for `region` in a status, or NULL. */
static const json_t *stun_row(const json_t *s, const char *client, int region) {
  size_t i;
  const json_t *g;
  json_array_foreach(json_object_get(s, "stun_servers"), i, g) {
    if (strcmp(json_string_value(json_object_get(g, "client")), client) == 0 &&
        json_integer_value(json_object_get(g, "region")) == region)
      return g;
  }
  return NULL;
}

static long long field(const json_t *row, const char *name) {
  return row ? (long long)json_integer_value(json_object_get(row, name)) : -1;
}

static const char *wait_client;

/* The classic region answered and the broken one was refused. */
static bool client_saw_both(const json_t *s) {
  return field(stun_row(s, wait_client, 1), "answered") >= 1 &&
         field(stun_row(s, wait_client, 2), "rejected") >= 1;
}

static bool home_is_classic(const json_t *s) {
  return json_integer_value(json_object_get(json_object_get(s, "home_region"), "id")) == 1;
}

/* Checks one client's two rows in `s`. */
static void expect_rows(const json_t *s, const char *client, uint16_t classic, uint16_t broken) {
  char want[32];
  const json_t *ok = stun_row(s, client, 1), *bad = stun_row(s, client, 2);
  assert_non_null(ok);
  assert_non_null(bad);
  snprintf(want, sizeof want, "127.0.0.1:%u", classic);
  assert_string_equal(json_string_value(json_object_get(ok, "server")), want);
  assert_true(field(ok, "sent") >= field(ok, "answered"));
  assert_int_equal(field(ok, "rejected"), 0);
  assert_true(json_is_null(json_object_get(ok, "last_rejection")));
  snprintf(want, sizeof want, "127.0.0.1:%u", broken);
  assert_string_equal(json_string_value(json_object_get(bad, "server")), want);
  assert_true(field(bad, "sent") >= 1);
  assert_int_equal(field(bad, "answered"), 0);
  assert_string_equal(json_string_value(json_object_get(bad, "last_rejection")), bad_family);
}

/* ---- the test ---------------------------------------------------------------------------------- */

static void status_explains_each_stun_server(void **state) {
  (void)state;
  dir_make();
  mrt_runtime *rt = NULL;
  assert_int_equal(mrt_runtime_new(NULL, &rt), 0);
  assert_int_equal(mrt_runtime_start(rt), 0);
  mrt_stun_responder_config rc;
  memset(&rc, 0, sizeof rc);
  struct sockaddr_in *in = (struct sockaddr_in *)&rc.listen_addr;
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  rc.style = MRT_STUN_RESPONDER_RFC3489;
  mrt_ref *classic = NULL;
  assert_int_equal(mrt_stun_responder_spawn(rt, &rc, NULL, &classic), 0);
  mrt_stun_responder_info info;
  assert_int_equal(MRT_ASK_SYNC(stun_responder_info, classic, &(mrt_none){0}, &info, MRT_SEC(2)),
                   0);
  broken_server broken;
  broken_start(&broken);

  char cfg[300], text[2048];
  snprintf(text, sizeof text,
           "{\"listen_address\": \"127.0.0.1\", \"advertise_local\": false,"
           " \"network_monitor\": \"manual\","
           " \"peers\": [{\"id\": 9, \"public_key\": \"%s\", \"endpoints\": [\"127.0.0.1:9\"]}],"
           " \"derp_map\": {\"Regions\": {"
           "  \"1\": {\"RegionID\": 1, \"RegionCode\": \"classic\", \"Nodes\": [{\"Name\": \"1a\","
           "   \"RegionID\": 1, \"IPv4\": \"127.0.0.1\", \"IPv6\": \"none\", \"STUNPort\": %u}]},"
           "  \"2\": {\"RegionID\": 2, \"RegionCode\": \"broken\", \"Nodes\": [{\"Name\": \"2a\","
           "   \"RegionID\": 2, \"IPv4\": \"127.0.0.1\", \"IPv6\": \"none\", \"STUNPort\": %u}]}"
           " }}}",
           key64, info.port, broken.port);
  file_write(in_dir("node.json", cfg, sizeof cfg), text);
  node_proc n;
  const char *args[] = {"--config", cfg, "--no-metrics", NULL};
  assert_true(node_start(&n, args));

  /* DerpLatencyMeasurer: one answer, one refusal, with the reason. */
  wait_client = "derp-latency";
  json_t *s = node_wait_status(&n, client_saw_both, 10000);
  if (s == NULL)
    dump_log(&n);
  assert_non_null(s);
  expect_rows(s, "derp-latency", info.port, broken.port);
  json_decref(s);
  /* The round ends at its deadline (the broken region never answers); the
   * classic region has its latency and is home. */
  s = node_wait_status(&n, home_is_classic, 15000);
  assert_non_null(s);
  assert_int_equal(json_array_size(json_object_get(s, "regions")), 1);
  json_decref(s);

  /* DirectManager sweeps after a link change: the same picture. */
  json_t *r = ctl_json(n.sock, NULL, "link-change", "link-up");
  assert_non_null(r);
  json_decref(r);
  wait_client = "direct";
  s = node_wait_status(&n, client_saw_both, 10000);
  if (s == NULL)
    dump_log(&n);
  assert_non_null(s);
  expect_rows(s, "direct", info.port, broken.port);
  assert_int_equal(json_array_size(json_object_get(s, "stun_rejected_elsewhere")), 0);
  json_decref(s);

  /* The table a person reads. */
  char *out = NULL;
  assert_int_equal(ctl_text(n.sock, &out, NULL, "status", NULL), 0);
  assert_non_null(strstr(out, "STUN SERVER"));
  assert_non_null(strstr(out, "LAST REJECTION"));
  assert_non_null(strstr(out, bad_family));
  /* The broken server's derp-latency line carries the reason. */
  char server[32];
  snprintf(server, sizeof server, "127.0.0.1:%u ", broken.port);
  bool found = false;
  for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n"))
    found |= strstr(line, server) == line && strstr(line, "derp-latency") != NULL &&
             strstr(line, bad_family) != NULL;
  assert_true(found);
  free(out);

  assert_int_equal(node_stop(&n, SIGTERM, 2000), 0);
  broken_stop(&broken);
  mrt_ref_unref(classic);
  mrt_runtime_unref(rt);
  reap_all();
  dir_remove(test_dir);
}

int main(int argc, char **argv) {
  take_binaries(argc, argv);
  mrt_log_set_level(MRT_LOG_WARN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(status_explains_each_stun_server),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
