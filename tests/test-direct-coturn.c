/* SPDX-License-Identifier: MIT */
/* Tests: DirectManager's STUN client against a standard STUN server, not our
 * own: coturn's turnserver in STUN-only mode on 127.0.0.1. The request we
 * send must be one coturn accepts (SOFTWARE, FINGERPRINT) and its response,
 * with the attributes a production server adds, must parse, so a sweep
 * learns the reflexive address. Skipped (exit 77) when turnserver is not
 * installed (Debian package coturn). The server is a child process started
 * and stopped by this test, by its pid. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

#include <meshrt/meshrt.h>
#include <meshrt/stun.h>
#include <meshrt/testing.h>

#include "direct-fixture.h"

static const char *const turnserver_paths[] = {"/usr/bin/turnserver", "/usr/sbin/turnserver",
                                               "/usr/local/bin/turnserver"};

static const char *find_turnserver(void) {
  for (size_t i = 0; i < sizeof turnserver_paths / sizeof turnserver_paths[0]; i++)
    if (access(turnserver_paths[i], X_OK) == 0)
      return turnserver_paths[i];
  return NULL;
}

/* A port that was free a moment ago (the server binds it right after). */
static uint16_t free_port(void) {
  puppet p;
  puppet_open(&p, 0);
  uint16_t port = port_of(&p.ep);
  puppet_close(&p);
  return port;
}

static pid_t start_turnserver(const char *path, uint16_t port) {
  char portarg[32];
  snprintf(portarg, sizeof portarg, "--listening-port=%u", port);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execl(path, "turnserver", "-n", "--stun-only", "--listening-ip=127.0.0.1", portarg, "--no-cli",
          "--no-tls", "--no-dtls", "--log-file=stdout", "--simple-log", "--no-stdout-log",
          (char *)NULL);
    _exit(127);
  }
  return pid;
}

/* Sends binding requests from a plain socket until the server answers;
 * checks that our codec parses coturn's response. */
static bool server_answers(const struct sockaddr_storage *server) {
  puppet c;
  puppet_open(&c, 0);
  bool ok = false;
  uint64_t deadline = real_now_ns() + DRIVE_DEADLINE_NS;
  while (!ok && real_now_ns() < deadline) {
    mrt_stun_txid tx;
    for (size_t i = 0; i < sizeof tx.bytes; i++)
      tx.bytes[i] = (uint8_t)rand();
    uint8_t buf[512];
    int n = mrt_stun_build_binding_request(buf, sizeof buf, &tx, MRT_STUN_SOFTWARE);
    puppet_send(&c, server, buf, (size_t)n);
    real_sleep_us(50000);
    ssize_t r = recv(c.fd, buf, sizeof buf, 0);
    mrt_stun_response resp;
    if (r > 0 && mrt_stun_parse_binding_response(buf, (size_t)r, &resp) == 0 &&
        mrt_stun_txid_equal(&resp.txid, &tx)) {
      assert_false(resp.is_error);
      assert_true(same_addr(&resp.mapped, &c.ep));
      ok = true;
    }
  }
  puppet_close(&c);
  return ok;
}

static void sweep_against_coturn(void **unused) {
  (void)unused;
  const char *path = find_turnserver();
  assert_non_null(path);
  uint16_t port = free_port();
  pid_t pid = start_turnserver(path, port);
  struct sockaddr_storage server = loop4(1, port);
  bool up = server_answers(&server);
  if (!up) {
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    fail_msg("turnserver did not answer on 127.0.0.1:%u", port);
  }

  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  node a;
  node_start(&a, rt, 1);
  char json[512];
  snprintf(json, sizeof json,
           "{\"Regions\":{\"1\":{\"RegionID\":1,\"RegionCode\":\"co\",\"Nodes\":[{\"Name\":"
           "\"c\",\"RegionID\":1,\"IPv4\":\"127.0.0.1\",\"IPv6\":\"none\",\"STUNPort\":%u}]}}}",
           port);
  mrt_derp_map *m = NULL;
  assert_int_equal(mrt_derp_map_parse(json, strlen(json), &m, NULL, 0), 0);
  assert_true(mrt_node_publish_derp_map(rt, m) >= 0);
  mrt_probe_keypair k;
  assert_int_equal(mrt_probe_keypair_generate(&k), 0);
  peer_spec spec = {.id = 2, .key = k.pub, .n = 0};
  publish_specs(rt, &spec, 1);

  mrt_restun_result rr;
  assert_int_equal(MRT_ASK_SYNC(direct_restun, a.dm, &(mrt_none){0}, &rr, 0), 0);
  assert_int_equal(rr.sent, 1);
  uint64_t deadline = real_now_ns() + DRIVE_DEADLINE_NS;
  mrt_direct_status *s = NULL;
  for (;;) {
    mrt_runtime_run_until_idle(rt);
    s = status_of(a.dm);
    if (s->n_reflexive > 0 || real_now_ns() > deadline)
      break;
    mrt_direct_status_free(s);
    real_sleep_us(1000);
  }
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
  assert_int_equal(s->n_reflexive, 1);
  assert_true(same_addr(&s->reflexive[0], &a.ep));
  assert_int_equal(s->counters.stun_responses, 1);
  assert_int_equal(s->counters.stun_rejected, 0);
  mrt_direct_status_free(s);
  node_stop(&a);
  mrt_runtime_unref(rt);
}

int main(void) {
  if (find_turnserver() == NULL) {
    fprintf(stderr, "turnserver (Debian package coturn) not installed: skipped\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sweep_against_coturn),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
