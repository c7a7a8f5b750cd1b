/* SPDX-License-Identifier: MIT */
/* Tests: DirectManager's socket — Rebind keeps the local port (a new socket
 * beside the old one), keeps every peer and candidate, clears best paths,
 * in-flight pings and the reflexive set, pings every candidate at once and
 * the paths are confirmed again without waiting for the pinger;
 * RebindAndReprobe rebinds, pings every candidate and sweeps STUN in that
 * order (the pongs and the reflexive address arrive at the new socket);
 * datagrams that reach the port while rebinds happen are all answered (none
 * is lost in a swap); after a rebind no other socket can join the port; a
 * pinned port that was taken at start is regained by a later rebind once it
 * is free, and kept while it is not; a failed rebind keeps the
 * old socket and returns the error; inert (relay-only) mode when nothing
 * binds, answering every message; IPv4/IPv6 dual-stack with v4-mapped
 * addresses normalised; a taken pinned port falling back to an ephemeral
 * one with a warning. Bind failures are produced for real by lowering
 * RLIMIT_NOFILE so that socket() fails with EMFILE. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>

#include <meshrt/meshrt.h>
#include <meshrt/testing.h>

#include "direct-fixture.h"

/* A DERP map with one region whose STUN server is 127.0.0.1:port. */
static void publish_derp(mrt_runtime *rt, uint16_t port) {
  char json[512];
  snprintf(json, sizeof json,
           "{\"Regions\":{\"1\":{\"RegionID\":1,\"RegionCode\":\"lo\",\"RegionName\":\"loop\","
           "\"Nodes\":[{\"Name\":\"1a\",\"RegionID\":1,\"HostName\":\"localhost\","
           "\"IPv4\":\"127.0.0.1\",\"IPv6\":\"none\",\"STUNPort\":%u}]}}}",
           port);
  assert_int_equal(mrt_node_bus_configure(mrt_runtime_bus(rt)), 0);
  mrt_derp_map *m = NULL;
  char err[MRT_DERP_MAP_ERR_LEN];
  assert_int_equal(mrt_derp_map_parse(json, strlen(json), &m, err, sizeof err), 0);
  assert_true(mrt_node_publish_derp_map(rt, m) >= 0);
}

static mrt_ref *spawn_responder(mrt_runtime *rt, uint16_t *port) {
  mrt_stun_responder_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.listen_addr = loop4(1, 0);
  mrt_ref *r = NULL;
  assert_int_equal(mrt_stun_responder_spawn(rt, &cfg, NULL, &r), 0);
  mrt_stun_responder_info info;
  assert_int_equal(MRT_ASK_SYNC(stun_responder_info, r, &(mrt_none){0}, &info, 0), 0);
  *port = info.port;
  return r;
}

typedef struct reflexive_is {
  mrt_ref *dm;
  uint16_t port;
} reflexive_is;

static bool cond_reflexive(void *ud) {
  reflexive_is *r = ud;
  mrt_direct_status *s = status_of(r->dm);
  bool ok = s->n_reflexive == 1 && port_of(&s->reflexive[0]) == r->port;
  mrt_direct_status_free(s);
  return ok;
}

typedef struct world {
  mrt_runtime *ra, *rb;
  node a, b;
  mrt_ref *stun;
} world;

/* A (with a STUN server on its runtime) and B, paths confirmed both ways,
 * A's reflexive address learned. */
static void world_start(world *w) {
  assert_int_equal(mrt_test_runtime_new(1, &w->ra), 0);
  assert_int_equal(mrt_test_runtime_new(1, &w->rb), 0);
  node_start(&w->a, w->ra, 1);
  node_start(&w->b, w->rb, 2);
  uint16_t sport;
  w->stun = spawn_responder(w->ra, &sport);
  publish_derp(w->ra, sport);
  node *all[] = {&w->a, &w->b};
  publish_nodes(w->rb, all, 2);
  mrt_runtime_run_until_idle(w->rb);
  publish_nodes(w->ra, all, 2);
  mrt_runtime *both[] = {w->ra, w->rb};
  has_path_arg ha = {w->a.dm, 2};
  assert_true(drive_until(both, 2, cond_has_path, &ha));
  mrt_restun_result rr;
  assert_int_equal(MRT_ASK_SYNC(direct_restun, w->a.dm, &(mrt_none){0}, &rr, 0), 0);
  assert_false(rr.gated);
  assert_int_equal(rr.sent, 1);
  reflexive_is ri = {w->a.dm, sock_info_of(w->a.dm).port};
  assert_true(drive_until(both, 2, cond_reflexive, &ri));
}

static void world_finish(world *w) {
  mrt_ref_unref(w->stun);
  node_stop(&w->a);
  node_stop(&w->b);
  mrt_runtime_unref(w->ra);
  mrt_runtime_unref(w->rb);
}

static void rebind_keeps_candidates_and_reconfirms(void **unused) {
  (void)unused;
  world w;
  world_start(&w);
  mrt_runtime *both[] = {w.ra, w.rb};
  mrt_sock_info before = sock_info_of(w.a.dm);
  assert_int_equal(before.generation, 1);

  mrt_sock_info after;
  assert_int_equal(MRT_ASK_SYNC(direct_rebind, w.a.dm, &(mrt_none){0}, &after, 0), 0);
  assert_false(after.inert);
  assert_int_equal(after.port, before.port); /* a new socket, the same port */
  assert_int_equal(after.port_outcome, MRT_PORT_KEPT);
  assert_int_equal(after.previous_port, before.port);
  assert_int_equal(after.generation, 2);
  assert_int_equal(sock_info_of(w.a.dm).port, after.port);
  mrt_direct_status *s = status_of(w.a.dm);
  assert_int_equal(s->n_peers, 1);
  assert_int_equal(s->peers[0].n_candidates, 1);
  assert_true(same_addr(&s->peers[0].candidates[0].addr, &w.b.ep));
  assert_false(s->peers[0].has_path);
  assert_true(s->peers[0].candidates[0].pinged); /* at once, from the new socket */
  assert_int_equal(s->peers[0].pings_in_flight, 1);
  assert_int_equal(s->n_reflexive, 0);
  assert_int_equal(s->stun_in_flight, 0);
  assert_int_equal(s->counters.rebinds, 1);
  assert_int_equal(s->counters.rebinds_port_kept, 1);
  mrt_direct_status_free(s);

  /* No time passes: B answers the rebind's own ping. */
  has_path_arg ha = {w.a.dm, 2};
  assert_true(drive_until(both, 2, cond_has_path, &ha));
  s = status_of(w.a.dm);
  assert_int_equal(s->peers[0].reconfirms, 1);
  assert_true(s->peers[0].reconfirm_ns < MRT_SEC(1)); /* virtual clock: no pinger tick */
  mrt_direct_status_free(s);

  /* RebindAndReprobe: rebind, ping every candidate, sweep STUN. */
  mrt_direct_counters c0 = counters_of(w.a.dm);
  mrt_sock_info third;
  assert_int_equal(MRT_ASK_SYNC(direct_rebind_and_reprobe, w.a.dm, &(mrt_none){0}, &third, 0), 0);
  assert_int_equal(third.port, before.port);
  assert_int_equal(third.generation, 3);
  mrt_direct_counters c1 = counters_of(w.a.dm);
  assert_int_equal(c1.pings_sent, c0.pings_sent + 1);
  assert_int_equal(c1.stun_sent, c0.stun_sent + 1);
  assert_int_equal(c1.rebinds, 2);
  /* Without any time passing, the pong and the STUN answer reach the new
   * socket: both were sent after the socket swap. */
  assert_true(drive_until(both, 2, cond_has_path, &ha));
  reflexive_is ri = {w.a.dm, third.port};
  assert_true(drive_until(both, 2, cond_reflexive, &ri));

  /* The overlap is over: nobody else can join the port now. */
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int on = 1;
  assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on), 0);
  struct sockaddr_storage same = loop4(1, before.port);
  assert_int_equal(bind(fd, (struct sockaddr *)&same, sizeof(struct sockaddr_in)), -1);
  assert_int_equal(errno, EADDRINUSE);
  close(fd);
  world_finish(&w);
}

/* Pings stream at A from a puppet peer while A rebinds again and again on a
 * threaded runtime: every ping is answered. A ping queued on a socket that
 * a swap closes would be lost (that is what happens if the old socket is
 * closed without being read, or if the port is briefly nobody's). */
static void no_datagram_is_lost_in_a_rebind(void **unused) {
  (void)unused;
  enum { PINGS = 3000, EVERY = 60 };
  mrt_runtime *rt;
  assert_int_equal(mrt_runtime_new(NULL, &rt), 0);
  assert_int_equal(mrt_runtime_start(rt), 0);
  puppet p;
  puppet_open(&p, 2);
  int big = 4 << 20;
  setsockopt(p.fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  node a;
  mrt_direct_config cfg = fixture_config();
  cfg.timing.pinger_period_ns = MRT_SEC(3600); /* only what the test sends */
  node_start_cfg(&a, rt, 1, cfg);
  peer_spec spec = {.id = 2, .key = p.key.pub, .n = 1};
  spec.eps[0] = p.ep;
  publish_specs(rt, &spec, 1);
  mrt_probe_session ps;
  assert_int_equal(mrt_probe_session_init(&ps, &p.key, a.key.pub), 0);
  /* A sees the peer map before the first ping. */
  mrt_path_latency pl;
  do
    pl = latency_of(a.dm, 2);
  while (!pl.known_peer);
  int rebinds = 0, pongs = 0;
  uint8_t buf[MRT_PROBE_MAX_LEN];
  uint64_t deadline = real_now_ns() + DRIVE_DEADLINE_NS;
  for (int sent = 0; sent < PINGS && real_now_ns() < deadline;) {
    /* A burst (well within the socket buffer), and a rebind right behind it
     * while most of the burst is still queued on the socket. */
    for (int k = 0; k < EVERY; k++, sent++) {
      mrt_probe_msg m = {.kind = MRT_PROBE_PING};
      mrt_probe_txid_random(&m.txid);
      int n = mrt_probe_seal(&ps, &m, buf, sizeof buf);
      puppet_send(&p, &a.ep, buf, (size_t)n);
    }
    assert_int_equal(MRT_TELL(direct_rebind, a.dm, &(mrt_none){0}), 0);
    rebinds++;
    while (pongs < sent && real_now_ns() < deadline) {
      struct sockaddr_storage from;
      socklen_t len = sizeof from;
      ssize_t n = recvfrom(p.fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
      mrt_probe_msg got;
      if (n < 0)
        real_sleep_us(200);
      else if (mrt_probe_open(&ps, buf, (size_t)n, &got) == 0 && got.kind == MRT_PROBE_PONG)
        pongs++;
    }
  }
  mrt_direct_counters c = counters_of(a.dm);
  assert_int_equal(c.rebinds, (uint64_t)rebinds);
  assert_int_equal(c.rebinds_port_kept, (uint64_t)rebinds);
  assert_int_equal(sock_info_of(a.dm).port, port_of(&a.ep));
  assert_int_equal(c.pings_received, PINGS);
  assert_int_equal(pongs, PINGS);
  node_stop(&a);
  puppet_close(&p);
  mrt_runtime_unref(rt);
}

static void rebind_failure_keeps_the_old_socket(void **unused) {
  (void)unused;
  world w;
  world_start(&w);
  mrt_sock_info before = sock_info_of(w.a.dm);
  mrt_direct_counters c0 = counters_of(w.a.dm);
  fd_limit lim;
  fd_limit_squeeze(&lim);
  mrt_sock_info out;
  int rc = MRT_ASK_SYNC(direct_rebind, w.a.dm, &(mrt_none){0}, &out, 0);
  int rc2 = MRT_ASK_SYNC(direct_rebind_and_reprobe, w.a.dm, &(mrt_none){0}, &out, 0);
  fd_limit_restore(&lim);
  assert_int_equal(rc, -EMFILE);
  assert_int_equal(rc2, -EMFILE);
  mrt_sock_info now = sock_info_of(w.a.dm);
  assert_int_equal(now.port, before.port);
  assert_int_equal(now.generation, before.generation);
  mrt_direct_status *s = status_of(w.a.dm);
  assert_int_equal(s->counters.rebind_failures, 2);
  assert_int_equal(s->counters.rebinds, 0);
  assert_true(s->peers[0].has_path); /* nothing was invalidated */
  assert_int_equal(s->n_reflexive, 1);
  /* The reprobe still ran, on the old socket. */
  assert_int_equal(s->counters.pings_sent, c0.pings_sent + 1);
  assert_int_equal(s->counters.stun_sent, c0.stun_sent + 1);
  mrt_direct_status_free(s);
  /* And the old socket still works. */
  mrt_runtime *both[] = {w.ra, w.rb};
  uint64_t pongs = c0.pongs_received;
  drive_settle(both, 2);
  assert_true(counters_of(w.a.dm).pongs_received > pongs);
  world_finish(&w);
}

static void inert_mode_answers_everything(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_probe_keypair peer;
  assert_int_equal(mrt_probe_keypair_generate(&peer), 0);
  peer_spec spec = {.id = 5, .key = peer.pub, .n = 1};
  spec.eps[0] = loop4(1, 9);
  assert_int_equal(mrt_node_bus_configure(mrt_runtime_bus(rt)), 0);
  publish_specs(rt, &spec, 1);
  publish_derp(rt, 3478);

  mrt_direct_config cfg = mrt_direct_config_default(); /* wildcard: [::] then 0.0.0.0 */
  mrt_ref *dm;
  fd_limit lim;
  fd_limit_squeeze(&lim);
  assert_int_equal(mrt_direct_spawn(rt, &cfg, NULL, &dm), 0);
  mrt_sock_info si = sock_info_of(dm);
  mrt_sock_info r1, r2;
  int rc1 = MRT_ASK_SYNC(direct_rebind, dm, &(mrt_none){0}, &r1, 0);
  int rc2 = MRT_ASK_SYNC(direct_rebind_and_reprobe, dm, &(mrt_none){0}, &r2, 0);
  fd_limit_restore(&lim);
  assert_true(si.inert);
  assert_int_equal(si.port, 0);
  assert_int_equal(si.local.ss_family, AF_UNSPEC);
  assert_int_equal(si.generation, 0);
  assert_int_equal(rc1, 0); /* no error, still relay-only */
  assert_true(r1.inert);
  assert_int_equal(rc2, 0);
  assert_true(r2.inert);

  mrt_restun_result rr;
  assert_int_equal(MRT_ASK_SYNC(direct_restun, dm, &(mrt_none){0}, &rr, 0), 0);
  assert_true(rr.gated);
  mrt_best_addrs best;
  assert_int_equal(MRT_ASK_SYNC(direct_best_addrs, dm, &(mrt_none){0}, &best, 0), 0);
  assert_int_equal(best.n, 0);
  mrt_best_addrs_release(&best);
  mrt_path_latency pl = latency_of(dm, 5);
  assert_true(pl.known_peer);
  assert_false(pl.has_path);
  mrt_peer_ids ids;
  assert_int_equal(MRT_ASK_SYNC(direct_peers_with_path, dm, &(mrt_none){0}, &ids, 0), 0);
  assert_int_equal(ids.n, 0);
  mrt_ping_peer_result pr;
  assert_int_equal(MRT_ASK_SYNC(direct_ping_peer, dm, &(mrt_ping_peer_req){5}, &pr, 0), -ENETDOWN);
  /* Cadences run harmlessly. */
  assert_true(mrt_runtime_advance(rt, MRT_SEC(60)) > 0);
  mrt_direct_status *s = status_of(dm);
  assert_true(s->sock.inert);
  assert_int_equal(s->n_peers, 1);
  assert_int_equal(s->counters.pings_sent + s->counters.stun_sent, 0);
  assert_true(s->counters.stun_cycles >= 2);
  assert_int_equal(s->counters.stun_sweeps, 0);
  assert_int_equal(s->counters.adverts_published, 0);
  mrt_direct_status_free(s);

  /* When binding works again, a rebind leaves relay-only mode. */
  assert_int_equal(MRT_ASK_SYNC(direct_rebind, dm, &(mrt_none){0}, &r1, 0), 0);
  assert_false(r1.inert);
  assert_true(r1.port != 0);
  assert_int_equal(r1.generation, 1);
  mrt_ref_unref(dm);
  mrt_runtime_unref(rt);
}

static int warnings_seen;

static void capture(const mrt_log_record *rec, void *user) {
  (void)user;
  if (rec->level == MRT_LOG_WARN && strstr(rec->text, "falling back to an ephemeral port"))
    warnings_seen++;
}

static void pinned_port_and_dual_stack(void **unused) {
  (void)unused;
  if (!ipv6_loopback_works())
    skip();
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  /* Someone holds the port: dual-stack [::]:P conflicts with 127.0.0.1:P. */
  puppet squatter;
  puppet_open(&squatter, 0);
  uint16_t taken = port_of(&squatter.ep);
  mrt_direct_config cfg = mrt_direct_config_default();
  cfg.listen_port = taken;
  cfg.advertise_local = false;
  node a, b, c;
  warnings_seen = 0;
  mrt_log_set_sink(capture, NULL);
  node_start_cfg(&a, rt, 1, cfg);
  mrt_log_set_sink(NULL, NULL);
  mrt_sock_info si = sock_info_of(a.dm);
  assert_false(si.inert);
  assert_true(si.dual_stack);
  assert_int_equal(si.local.ss_family, AF_INET6);
  assert_int_not_equal(si.port, taken);
  assert_int_equal(warnings_seen, 1);
  /* While the pinned port is still taken, a rebind keeps the fallback. */
  uint16_t fallback = si.port;
  assert_int_equal(MRT_ASK_SYNC(direct_rebind, a.dm, &(mrt_none){0}, &si, 0), 0);
  assert_int_equal(si.port, fallback);
  assert_int_equal(si.port_outcome, MRT_PORT_KEPT);
  puppet_close(&squatter);
  /* Once it is free, the next rebind regains it. */
  assert_int_equal(MRT_ASK_SYNC(direct_rebind, a.dm, &(mrt_none){0}, &si, 0), 0);
  assert_int_equal(si.port, taken);
  assert_int_equal(si.port_outcome, MRT_PORT_PINNED);
  assert_int_equal(si.previous_port, fallback);

  /* A free pinned port is used as is. */
  node_stop(&a);
  cfg.listen_port = taken;
  node_start_cfg(&a, rt, 1, cfg);
  assert_int_equal(sock_info_of(a.dm).port, taken);

  /* One dual-stack socket reaches an IPv4 peer and an IPv6 peer. */
  node_start(&b, rt, 2); /* 127.0.0.1 */
  mrt_direct_config c6 = fixture_config();
  c6.listen_addr = loop6(0);
  node_start_cfg(&c, rt, 3, c6);
  c.ep = loop6(sock_info_of(c.dm).port);
  peer_spec specs[3] = {{.id = 1, .key = a.key.pub, .n = 2},
                        {.id = 2, .key = b.key.pub, .n = 1},
                        {.id = 3, .key = c.key.pub, .n = 1}};
  specs[0].eps[0] = loop4(1, taken);
  specs[0].eps[1] = loop6(taken);
  specs[1].eps[0] = b.ep;
  specs[2].eps[0] = c.ep;
  publish_specs(rt, specs, 3);
  has_path_arg want[] = {{a.dm, 2}, {a.dm, 3}, {b.dm, 1}, {c.dm, 1}};
  for (size_t i = 0; i < 4; i++)
    assert_true(drive_until(&rt, 1, cond_has_path, &want[i]));
  mrt_path_latency pl = latency_of(a.dm, 2);
  assert_true(same_addr(&pl.addr, &b.ep)); /* AF_INET, not ::ffff:127.0.0.1 */
  pl = latency_of(a.dm, 3);
  assert_true(same_addr(&pl.addr, &c.ep));
  pl = latency_of(b.dm, 1);
  assert_true(same_addr(&pl.addr, &specs[0].eps[0]));
  pl = latency_of(c.dm, 1);
  assert_true(same_addr(&pl.addr, &specs[0].eps[1]));
  node_stop(&a);
  node_stop(&b);
  node_stop(&c);
  mrt_runtime_unref(rt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rebind_keeps_candidates_and_reconfirms),
      cmocka_unit_test(no_datagram_is_lost_in_a_rebind),
      cmocka_unit_test(rebind_failure_keeps_the_old_socket),
      cmocka_unit_test(inert_mode_answers_everything),
      cmocka_unit_test(pinned_port_and_dual_stack),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
