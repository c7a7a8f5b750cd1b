/* SPDX-License-Identifier: MIT */
/* Tests: DirectManager paths and probes. Two DirectManagers on loopback
 * confirm each other's path and report the round trip (exactly, on virtual
 * clocks; and for real, on a started runtime with two executors, including
 * direct_ping_peer, where the RTT is bounded only by the time the exchange took); the best-path 1 % rule at its boundary; trust expiry and
 * refresh on the virtual clock; peer-map handling (retained map, candidate
 * cap, duplicates, self, removal); forged, replayed, truncated, stale and
 * unauthenticated datagrams from a hand-operated peer never change a path;
 * a flood of 100,000 garbage datagrams leaves state intact and the actor
 * responsive; config validation.
 *
 * Virtual-clock RTTs: each node gets its own runtime, so the test decides
 * when each node sees time pass. A pings B; A's clock moves 7 ms; then B runs
 * and answers; A reads the pong at +7 ms: the RTT is exactly 7 ms. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <meshrt/meshrt.h>
#include <meshrt/testing.h>

#include "direct-fixture.h"

/* ---- helpers ---------------------------------------------------------------------- */

#define US(x) ((uint64_t)(x)*MRT_NS_PER_US)

typedef struct counter_at_least {
  mrt_ref *dm;
  size_t offset; /* of a uint64_t in mrt_direct_counters */
  uint64_t want;
} counter_at_least;

#define COUNTER(field) offsetof(mrt_direct_counters, field)

static bool cond_counter(void *ud) {
  counter_at_least *c = ud;
  mrt_direct_counters k = counters_of(c->dm);
  uint64_t v;
  memcpy(&v, (const char *)&k + c->offset, sizeof v);
  return v >= c->want;
}

static void wait_counter(mrt_runtime *const *rts, size_t n, mrt_ref *dm, size_t offset,
                         uint64_t want) {
  counter_at_least c = {dm, offset, want};
  assert_true(drive_until(rts, n, cond_counter, &c));
}

/* ---- two nodes ---------------------------------------------------------------------- */

static void two_nodes_confirm_paths_with_rtt(void **unused) {
  (void)unused;
  mrt_runtime *ra, *rb;
  assert_int_equal(mrt_test_runtime_new(1, &ra), 0);
  assert_int_equal(mrt_test_runtime_new(1, &rb), 0);
  node a, b;
  node_start(&a, ra, 1);
  node_start(&b, rb, 2);
  node *all[] = {&a, &b};
  /* B learns the map first and pings A, who does not know B yet: that ping
   * is dropped (and B retries 5 s later). Then A learns it and pings B. */
  publish_nodes(rb, all, 2);
  mrt_runtime_run_until_idle(rb);
  publish_nodes(ra, all, 2);
  mrt_runtime_run_until_idle(ra);
  assert_int_equal(counters_of(a.dm).pings_sent, 1);
  assert_int_equal(mrt_runtime_advance(ra, MRT_MS(7)), 0);
  mrt_runtime *both[] = {ra, rb};
  has_path_arg ha = {a.dm, b.id}, hb = {b.dm, a.id};
  assert_true(drive_until(both, 2, cond_has_path, &ha));
  assert_int_equal(counters_of(a.dm).probe_unknown_peer, 1);
  for (int i = 0; i < 6 && !cond_has_path(&hb); i++) {
    mrt_runtime_advance(ra, MRT_SEC(1));
    mrt_runtime_advance(rb, MRT_SEC(1));
    drive_settle(both, 2);
  }
  assert_true(drive_until(both, 2, cond_has_path, &hb));

  mrt_path_latency pl = latency_of(a.dm, b.id);
  assert_true(pl.known_peer);
  assert_int_equal(pl.rtt_ns, MRT_MS(7));
  assert_true(same_addr(&pl.addr, &b.ep));
  pl = latency_of(b.dm, a.id); /* B's retry and its pong within one step: 0 */
  assert_true(pl.has_path);
  assert_int_equal(pl.rtt_ns, 0);
  assert_true(same_addr(&pl.addr, &a.ep));
  assert_false(latency_of(a.dm, 99).known_peer);

  mrt_best_addrs best;
  assert_int_equal(MRT_ASK_SYNC(direct_best_addrs, a.dm, &(mrt_none){0}, &best, 0), 0);
  assert_int_equal(best.n, 1);
  assert_int_equal(best.items[0].peer_id, b.id);
  assert_int_equal(best.items[0].rtt_ns, MRT_MS(7));
  assert_true(best.items[0].trust_until_ns > mrt_runtime_now(ra));
  mrt_best_addrs_release(&best);
  mrt_peer_ids ids;
  assert_int_equal(MRT_ASK_SYNC(direct_peers_with_path, a.dm, &(mrt_none){0}, &ids, 0), 0);
  assert_int_equal(ids.n, 1);
  assert_int_equal(ids.ids[0], b.id);
  mrt_peer_ids_release(&ids);

  mrt_direct_status *s = status_of(a.dm);
  assert_int_equal(s->n_peers, 1); /* itself is not a peer */
  assert_true(s->peers[0].has_path);
  assert_int_equal(s->peers[0].candidates[0].rtt_ns, MRT_MS(7));
  assert_true(s->peers[0].candidates[0].confirmed);
  assert_true(s->counters.pongs_received >= 1); /* and refreshes during B's retry */
  assert_int_equal(s->counters.path_changes, 1);
  assert_int_equal(s->counters.probe_unauthenticated + s->counters.probe_malformed +
                       s->counters.probe_stale + s->counters.probe_replayed,
                   0);
  assert_memory_equal(s->public_key, a.key.pub, MRT_PROBE_KEY_LEN);
  mrt_direct_status_free(s);
  node_stop(&a);
  node_stop(&b);
  mrt_runtime_unref(ra);
  mrt_runtime_unref(rb);
}

typedef struct both_paths {
  mrt_ref *a, *b;
  uint64_t ida, idb;
} both_paths;

static bool cond_both_paths(void *ud) {
  both_paths *p = ud;
  return latency_of(p->a, p->idb).has_path && latency_of(p->b, p->ida).has_path;
}

/* The real thing: threads, the monotonic clock, one node per executor. */
static void real_clock_runtime(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_runtime_new(&(mrt_runtime_config){.executors = 2}, &rt), 0);
  assert_int_equal(mrt_runtime_start(rt), 0);
  node a, b;
  mrt_direct_config cfg = fixture_config();
  /* A first ping can reach a peer that has not applied the map yet and be
   * dropped; the pinger retries after the per-candidate interval. Shorter
   * cadences keep that retry inside the test's real-time deadline. */
  cfg.timing.pinger_period_ns = MRT_MS(100);
  cfg.timing.ping_min_interval_ns = MRT_MS(500);
  node *all[] = {&a, &b};
  for (int i = 0; i < 2; i++) {
    node *n = all[i];
    memset(n, 0, sizeof *n);
    n->rt = rt;
    n->id = (uint64_t)i + 1;
    assert_int_equal(mrt_probe_keypair_generate(&n->key), 0);
    cfg.key = n->key;
    mrt_spawn_opts o = {.executor = i};
    assert_int_equal(mrt_direct_spawn(rt, &cfg, &o, &n->dm), 0);
    n->ep = loop4(1, sock_info_of(n->dm).port);
  }
  /* Real round trips take real time, as much as the machine's load makes
   * them: the RTTs are checked against the time the exchange took on the same
   * clock, never against a fixed bound. */
  uint64_t t0 = mrt_runtime_now(rt);
  publish_nodes(rt, all, 2);
  both_paths bp = {a.dm, b.dm, a.id, b.id};
  uint64_t deadline = real_now_ns() + DRIVE_DEADLINE_NS;
  while (!cond_both_paths(&bp) && real_now_ns() < deadline)
    real_sleep_us(1000);
  assert_true(cond_both_paths(&bp));
  uint64_t rtt = latency_of(a.dm, b.id).rtt_ns;
  assert_true(rtt > 0 && rtt <= mrt_runtime_now(rt) - t0);

  mrt_ping_peer_result res;
  uint64_t t1 = mrt_runtime_now(rt);
  assert_int_equal(
      MRT_ASK_SYNC(direct_ping_peer, a.dm, &(mrt_ping_peer_req){b.id}, &res, DRIVE_DEADLINE_NS), 0);
  assert_true(res.rtt_ns > 0 && res.rtt_ns <= mrt_runtime_now(rt) - t1);
  assert_true(same_addr(&res.addr, &b.ep));
  assert_int_equal(MRT_ASK_SYNC(direct_ping_peer, a.dm, &(mrt_ping_peer_req){77}, &res, 0),
                   -ENOENT);
  node_stop(&a);
  node_stop(&b);
  assert_int_equal(mrt_runtime_shutdown(rt), 0);
  mrt_runtime_unref(rt);
}

/* ---- best-path rule --------------------------------------------------------------------- */

typedef struct cand_confirmed {
  mrt_ref *dm;
  size_t idx;
} cand_confirmed;

static bool cond_cand_confirmed(void *ud) {
  cand_confirmed *c = ud;
  mrt_direct_status *s = status_of(c->dm);
  bool ok = s->n_peers == 1 && s->peers[0].n_candidates > c->idx &&
            s->peers[0].candidates[c->idx].confirmed;
  mrt_direct_status_free(s);
  return ok;
}

/* Publishes B with endpoints eps[0..k] to A, lets A ping the new one, moves
 * A's clock by `rtt`, lets B answer and A read the pong. */
static void confirm_with_rtt(mrt_runtime *ra, mrt_runtime *rb, node *a, node *b,
                             const struct sockaddr_storage *eps, size_t k, uint64_t rtt) {
  peer_spec spec = {.id = b->id, .key = b->key.pub, .n = k + 1};
  memcpy(spec.eps, eps, (k + 1) * sizeof *eps);
  uint64_t pongs = counters_of(b->dm).pongs_sent;
  publish_specs(ra, &spec, 1);
  mrt_runtime_run_until_idle(ra);
  assert_int_equal(mrt_runtime_advance(ra, rtt), 0);
  wait_counter(&rb, 1, b->dm, COUNTER(pongs_sent), pongs + 1);
  cand_confirmed cc = {a->dm, k};
  assert_true(drive_until(&ra, 1, cond_cand_confirmed, &cc));
}

static void best_path_needs_one_percent(void **unused) {
  (void)unused;
  mrt_runtime *ra, *rb;
  assert_int_equal(mrt_test_runtime_new(1, &ra), 0);
  assert_int_equal(mrt_test_runtime_new(1, &rb), 0);
  node a, b;
  node_start(&a, ra, 1);
  /* B on the IPv4 wildcard: reachable at 127.0.0.1, .2, .3 and .4. */
  mrt_direct_config cfg = fixture_config();
  memset(&cfg.listen_addr, 0, sizeof cfg.listen_addr);
  cfg.disable_ipv6 = true;
  node_start_cfg(&b, rb, 2, cfg);
  node *just_a[] = {&a};
  publish_nodes(rb, just_a, 1);
  uint16_t pb = port_of(&b.ep);
  struct sockaddr_storage eps[4] = {loop4(1, pb), loop4(2, pb), loop4(3, pb), loop4(4, pb)};

  confirm_with_rtt(ra, rb, &a, &b, eps, 0, MRT_MS(10));
  mrt_path_latency pl = latency_of(a.dm, b.id);
  assert_int_equal(pl.rtt_ns, MRT_MS(10));
  assert_true(same_addr(&pl.addr, &eps[0]));

  /* 9.901 ms is faster, but by less than 1 %: no switch. */
  confirm_with_rtt(ra, rb, &a, &b, eps, 1, US(9901));
  pl = latency_of(a.dm, b.id);
  assert_true(same_addr(&pl.addr, &eps[0]));
  assert_int_equal(pl.rtt_ns, MRT_MS(10));

  /* 9.9 ms is exactly 1 % better: it wins. */
  confirm_with_rtt(ra, rb, &a, &b, eps, 2, US(9900));
  pl = latency_of(a.dm, b.id);
  assert_true(same_addr(&pl.addr, &eps[2]));
  assert_int_equal(pl.rtt_ns, US(9900));

  /* A slower one never wins. */
  confirm_with_rtt(ra, rb, &a, &b, eps, 3, MRT_MS(20));
  pl = latency_of(a.dm, b.id);
  assert_true(same_addr(&pl.addr, &eps[2]));
  mrt_direct_status *s = status_of(a.dm);
  assert_int_equal(s->peers[0].n_candidates, 4);
  assert_int_equal(s->peers[0].candidates[1].rtt_ns, US(9901));
  assert_int_equal(s->peers[0].candidates[3].rtt_ns, MRT_MS(20));
  assert_int_equal(s->counters.path_changes, 2); /* eps[0], then eps[2] */
  mrt_direct_status_free(s);
  node_stop(&a);
  node_stop(&b);
  mrt_runtime_unref(ra);
  mrt_runtime_unref(rb);
}

/* ---- trust and refresh ------------------------------------------------------------------ */

static void step_both(mrt_runtime *ra, mrt_runtime *rb, uint64_t dt) {
  mrt_runtime_advance(ra, dt);
  mrt_runtime_advance(rb, dt);
  mrt_runtime *both[] = {ra, rb};
  drive_settle(both, 2);
}

static void trust_expiry_and_refresh(void **unused) {
  (void)unused;
  mrt_runtime *ra, *rb;
  assert_int_equal(mrt_test_runtime_new(1, &ra), 0);
  assert_int_equal(mrt_test_runtime_new(1, &rb), 0);
  node a, b;
  node_start(&a, ra, 1);
  node_start(&b, rb, 2);
  node *all[] = {&a, &b};
  publish_nodes(ra, all, 2);
  publish_nodes(rb, all, 2);
  mrt_runtime *both[] = {ra, rb};
  has_path_arg ha = {a.dm, b.id};
  assert_true(drive_until(both, 2, cond_has_path, &ha));

  /* 30 s with both running: the path never lapses, and every refresh ping
   * goes out inside the last 3.5 s of the trust it renews. */
  mrt_direct_status *s = status_of(a.dm);
  uint64_t trust = s->peers[0].trust_until_ns, last_ping = s->peers[0].candidates[0].last_ping_ns;
  mrt_direct_status_free(s);
  int refreshes = 0;
  for (int i = 0; i < 300; i++) {
    step_both(ra, rb, MRT_MS(100));
    s = status_of(a.dm);
    assert_true(s->peers[0].has_path);
    uint64_t ping = s->peers[0].candidates[0].last_ping_ns;
    if (ping != last_ping) {
      assert_true(ping >= trust - MRT_MS(3500));
      assert_true(ping < trust);
      assert_true(ping - last_ping >= MRT_SEC(5)); /* at most one ping per 5 s */
      refreshes++;
      last_ping = ping;
    }
    trust = s->peers[0].trust_until_ns;
    mrt_direct_status_free(s);
  }
  assert_true(refreshes >= 5); /* one per 5 s (the per-candidate rate) */

  /* B goes silent: A's trust runs out exactly trust_ns after the last pong. */
  s = status_of(a.dm);
  trust = s->peers[0].trust_until_ns;
  assert_int_equal(trust, s->peers[0].candidates[0].last_pong_ns + MRT_MS(6500));
  uint64_t now = s->now_ns;
  mrt_direct_status_free(s);
  mrt_runtime_advance(ra, trust - now - 1);
  assert_true(latency_of(a.dm, b.id).has_path);
  mrt_runtime_advance(ra, 1);
  assert_false(latency_of(a.dm, b.id).has_path);
  mrt_runtime_advance(ra, MRT_SEC(6));
  mrt_direct_counters c = counters_of(a.dm);
  assert_true(c.ping_timeouts >= 1);
  assert_true(c.path_changes >= 2); /* confirmed, then lost */

  /* B back: the pinger finds the path again. */
  step_both(ra, rb, MRT_SEC(2));
  step_both(ra, rb, MRT_SEC(2));
  step_both(ra, rb, MRT_SEC(2));
  assert_true(drive_until(both, 2, cond_has_path, &ha));
  node_stop(&a);
  node_stop(&b);
  mrt_runtime_unref(ra);
  mrt_runtime_unref(rb);
}

/* ---- peer maps ------------------------------------------------------------------------------ */

static void peer_map_handling(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_probe_keypair self, k1, k2;
  assert_int_equal(mrt_probe_keypair_generate(&self), 0);
  assert_int_equal(mrt_probe_keypair_generate(&k1), 0);
  assert_int_equal(mrt_probe_keypair_generate(&k2), 0);
  uint8_t zero[MRT_PROBE_KEY_LEN] = {0};
  peer_spec specs[4] = {{.id = 10, .key = self.pub, .n = 1},
                        {.id = 11, .key = k1.pub, .n = 40},
                        {.id = 12, .key = k2.pub, .n = 3},
                        {.id = 13, .key = zero, .n = 0}};
  specs[0].eps[0] = loop4(1, 9);
  for (int i = 0; i < 40; i++)
    specs[1].eps[i] = loop4(1, (uint16_t)(1000 + i));
  specs[2].eps[0] = loop4(1, 2000);
  specs[2].eps[1] = loop4(1, 2000); /* duplicate */
  specs[2].eps[2] = loop6(2000);
  /* A publish without a runtime is refused, and the map it took over is
   * released (the sanitizer builds' leak check sees it if not). */
  mrt_peer_map *orphan = NULL;
  assert_int_equal(mrt_peer_map_new(&orphan), 0);
  assert_int_equal(mrt_node_publish_peer_map(NULL, orphan), -EINVAL);
  /* Published before the manager exists: the retained value reaches it. */
  assert_int_equal(mrt_node_bus_configure(mrt_runtime_bus(rt)), 0);
  publish_specs(rt, specs, 4);
  mrt_direct_config cfg = fixture_config();
  cfg.key = self;
  mrt_ref *dm;
  assert_int_equal(mrt_direct_spawn(rt, &cfg, NULL, &dm), 0);
  sock_info_of(dm); /* on_start subscribes; the map is queued behind this ask */
  mrt_direct_status *s = status_of(dm);
  assert_true(s->have_peer_map);
  assert_int_equal(s->n_peers, 2); /* itself and the low-order key are left out */
  assert_int_equal(s->peers[0].id, 11);
  assert_int_equal(s->peers[0].n_candidates, MRT_DIRECT_MAX_CANDIDATES);
  assert_int_equal(port_of(&s->peers[0].candidates[31].addr), 1031);
  assert_int_equal(s->peers[1].id, 12);
  assert_int_equal(s->peers[1].n_candidates, 2);
  /* Every candidate was pinged once at once (never-pinged ones always are). */
  assert_true(s->peers[0].candidates[0].pinged);
  assert_int_equal(s->counters.pings_sent + s->counters.tx_errors, 32 + 2);
  mrt_direct_status_free(s);

  /* Peers that disappear are dropped. */
  publish_specs(rt, &specs[2], 1);
  s = status_of(dm);
  assert_int_equal(s->n_peers, 1);
  assert_int_equal(s->peers[0].id, 12);
  /* Candidates that persist keep their state: no second ping yet. */
  assert_int_equal(s->peers[0].candidates[0].pings_sent, 1);
  mrt_direct_status_free(s);

  /* direct_ping_peer: unknown peer; a peer that never answers times out (the
   * virtual clock jumps to the ping timeout). */
  mrt_ping_peer_result res;
  assert_int_equal(MRT_ASK_SYNC(direct_ping_peer, dm, &(mrt_ping_peer_req){11}, &res, 0), -ENOENT);
  assert_int_equal(MRT_ASK_SYNC(direct_ping_peer, dm, &(mrt_ping_peer_req){12}, &res, MRT_SEC(30)),
                   -ETIMEDOUT);
  mrt_ref_unref(dm);
  mrt_runtime_unref(rt);
}

static void config_validation(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_ref *dm = NULL;
  mrt_direct_config cfg = fixture_config();
  assert_int_equal(mrt_direct_spawn(NULL, &cfg, NULL, &dm), -EINVAL);
  cfg.listen_addr.ss_family = AF_UNIX;
  assert_int_equal(mrt_direct_spawn(rt, &cfg, NULL, &dm), -EINVAL);
  cfg = fixture_config();
  cfg.timing.refresh_before_ns = cfg.timing.trust_ns;
  assert_int_equal(mrt_direct_spawn(rt, &cfg, NULL, &dm), -EINVAL);
  cfg = fixture_config();
  cfg.timing.stun_max_ns = cfg.timing.stun_min_ns - 1;
  assert_int_equal(mrt_direct_spawn(rt, &cfg, NULL, &dm), -EINVAL);
  cfg = fixture_config();
  cfg.timing.pinger_period_ns = 0;
  assert_int_equal(mrt_direct_spawn(rt, &cfg, NULL, &dm), -EINVAL);
  /* Through the bare class, on_start refuses it. */
  assert_int_equal(mrt_actor_spawn(rt, mrt_direct_actor_class(), &cfg, NULL, &dm), 0);
  mrt_sock_info si;
  assert_int_equal(MRT_ASK_SYNC(direct_sock_info, dm, &(mrt_none){0}, &si, 0), -EINVAL);
  mrt_ref_unref(dm);
  /* NULL config: the defaults (wildcard, fresh key). */
  assert_int_equal(mrt_direct_spawn(rt, NULL, NULL, &dm), 0);
  si = sock_info_of(dm);
  assert_false(si.inert);
  assert_int_equal(si.generation, 1);
  mrt_ref_unref(dm);
  mrt_runtime_unref(rt);
}

/* ---- hostile datagrams ------------------------------------------------------------------------ */

typedef struct puppet_setup {
  mrt_runtime *rt;
  node a;
  puppet p;
  mrt_probe_session ps; /* the puppet's session with A */
} puppet_setup;

/* A plus a puppet peer whose ping from A has been read (its txid in *ping). */
static void puppet_setup_start(puppet_setup *t, mrt_probe_msg *ping) {
  assert_int_equal(mrt_test_runtime_new(1, &t->rt), 0);
  node_start(&t->a, t->rt, 1);
  puppet_open(&t->p, 2);
  assert_int_equal(mrt_probe_session_init(&t->ps, &t->p.key, t->a.key.pub), 0);
  peer_spec specs[2] = {{.id = 1, .key = t->a.key.pub, .n = 1},
                        {.id = 2, .key = t->p.key.pub, .n = 1}};
  specs[0].eps[0] = t->a.ep;
  specs[1].eps[0] = t->p.ep;
  publish_specs(t->rt, specs, 2);
  uint8_t buf[256];
  struct sockaddr_storage from;
  ssize_t n = puppet_recv(&t->p, t->rt, buf, sizeof buf, &from);
  assert_int_equal(n, MRT_PROBE_PING_LEN);
  assert_true(same_addr(&from, &t->a.ep));
  assert_int_equal(mrt_probe_open(&t->ps, buf, (size_t)n, ping), 0);
  assert_int_equal(ping->kind, MRT_PROBE_PING);
}

static void puppet_setup_finish(puppet_setup *t) {
  puppet_close(&t->p);
  node_stop(&t->a);
  mrt_runtime_unref(t->rt);
}

static int seal_pong(const mrt_probe_session *s, const mrt_probe_txid *tx,
                     const struct sockaddr_storage *observed, uint8_t *buf) {
  mrt_probe_msg m = {.kind = MRT_PROBE_PONG, .txid = *tx, .observed = *observed};
  return mrt_probe_seal(s, &m, buf, MRT_PROBE_MAX_LEN);
}

static void hostile_datagrams_change_nothing(void **unused) {
  (void)unused;
  puppet_setup t;
  mrt_probe_msg ping;
  puppet_setup_start(&t, &ping);
  mrt_runtime *rt = t.rt;
  uint8_t buf[4096];
  int n;

  /* Truncated genuine pong: 107 bytes is a length an endpoint update may
   * have, so it is opened and fails its MAC. */
  n = seal_pong(&t.ps, &ping.txid, &t.a.ep, buf);
  puppet_send(&t.p, &t.a.ep, buf, (size_t)n - 1);
  /* Truncated below any length a probe has: malformed. */
  puppet_send(&t.p, &t.a.ep, buf, MRT_PROBE_PING_LEN + 1);
  /* Tampered genuine pong. */
  buf[70] ^= 0x40;
  puppet_send(&t.p, &t.a.ep, buf, (size_t)n);
  /* An attacker's pong for the right txid, wearing the peer's key. */
  mrt_probe_keypair x;
  mrt_probe_session xs;
  assert_int_equal(mrt_probe_keypair_generate(&x), 0);
  assert_int_equal(mrt_probe_session_init(&xs, &x, t.a.key.pub), 0);
  n = seal_pong(&xs, &ping.txid, &t.a.ep, buf);
  memcpy(buf + 5, t.p.key.pub, MRT_PROBE_KEY_LEN);
  puppet_send(&t.p, &t.a.ep, buf, (size_t)n);
  /* The same from its own, unknown key. */
  n = seal_pong(&xs, &ping.txid, &t.a.ep, buf);
  puppet_send(&t.p, &t.a.ep, buf, (size_t)n);
  /* The real peer answering a transaction that never was. */
  mrt_probe_txid bogus;
  mrt_probe_txid_random(&bogus);
  n = seal_pong(&t.ps, &bogus, &t.a.ep, buf);
  puppet_send(&t.p, &t.a.ep, buf, (size_t)n);
  /* Not a probe, not STUN; and too big for any protocol here. */
  puppet_send(&t.p, &t.a.ep, "garbage", 7);
  memset(buf, 'M', 3000);
  puppet_send(&t.p, &t.a.ep, buf, 3000);
  drive_settle(&rt, 1);
  mrt_direct_counters c = counters_of(t.a.dm);
  assert_int_equal(c.probe_malformed, 1);
  assert_int_equal(c.probe_unauthenticated, 3);
  assert_int_equal(c.probe_unknown_peer, 1);
  assert_int_equal(c.probe_stale, 1);
  assert_int_equal(c.rx_garbage, 1);
  assert_int_equal(c.rx_oversize, 1);
  assert_int_equal(c.pongs_received, 0);
  assert_false(latency_of(t.a.dm, 2).has_path);

  /* The genuine pong confirms the path, once. */
  n = seal_pong(&t.ps, &ping.txid, &t.a.ep, buf);
  puppet_send(&t.p, &t.a.ep, buf, (size_t)n);
  has_path_arg hp = {t.a.dm, 2};
  assert_true(drive_until(&rt, 1, cond_has_path, &hp));
  mrt_path_latency before = latency_of(t.a.dm, 2);
  assert_true(same_addr(&before.addr, &t.p.ep));
  mrt_runtime_advance(rt, MRT_MS(100));
  puppet_send(&t.p, &t.a.ep, buf, (size_t)n); /* replayed */
  drive_settle(&rt, 1);
  c = counters_of(t.a.dm);
  assert_int_equal(c.probe_replayed, 1);
  assert_int_equal(c.pongs_received, 1);
  assert_int_equal(c.path_changes, 1);
  mrt_path_latency after = latency_of(t.a.dm, 2);
  assert_int_equal(after.rtt_ns, before.rtt_ns);
  puppet_setup_finish(&t);
}

/* A ping from the peer is answered once, with where A saw it; its replay
 * is not answered. */
static void pings_are_answered_once(void **unused) {
  (void)unused;
  puppet_setup t;
  mrt_probe_msg ping;
  puppet_setup_start(&t, &ping);
  mrt_runtime *rt = t.rt;
  uint8_t buf[MRT_PROBE_MAX_LEN];
  mrt_probe_msg m = {.kind = MRT_PROBE_PING};
  mrt_probe_txid_random(&m.txid);
  int n = mrt_probe_seal(&t.ps, &m, buf, sizeof buf);
  puppet_send(&t.p, &t.a.ep, buf, (size_t)n);
  uint8_t rx[256];
  struct sockaddr_storage from;
  ssize_t rn = puppet_recv(&t.p, rt, rx, sizeof rx, &from);
  mrt_probe_msg pong;
  assert_int_equal(mrt_probe_open(&t.ps, rx, (size_t)rn, &pong), 0);
  assert_int_equal(pong.kind, MRT_PROBE_PONG);
  assert_true(mrt_probe_txid_equal(&pong.txid, &m.txid));
  assert_true(same_addr(&pong.observed, &t.p.ep)); /* where A saw us */
  /* A has no trusted path to us, and our ping shows we are here: it pings
   * back at once rather than on the pinger's next pass. */
  rn = puppet_recv(&t.p, rt, rx, sizeof rx, &from);
  mrt_probe_msg back;
  assert_int_equal(mrt_probe_open(&t.ps, rx, (size_t)rn, &back), 0);
  assert_int_equal(back.kind, MRT_PROBE_PING);
  puppet_send(&t.p, &t.a.ep, buf, (size_t)n);
  drive_settle(&rt, 1);
  assert_int_equal(recv(t.p.fd, rx, sizeof rx, 0), -1); /* the replay: no answer at all */
  mrt_direct_counters c = counters_of(t.a.dm);
  assert_int_equal(c.probe_replayed, 1);
  assert_int_equal(c.pings_received, 1);
  assert_int_equal(c.pongs_sent, 1);
  puppet_setup_finish(&t);
}

/* ---- the upgrade check ---------------------------------------------------------------------- */

/* Answers every ping waiting on puppet socket `p` (as the peer keyed by
 * `s`); returns how many. */
static int answer_pings(const puppet *p, const mrt_probe_session *s) {
  int answered = 0;
  uint8_t buf[256];
  struct sockaddr_storage from;
  socklen_t len = sizeof from;
  ssize_t n;
  while ((n = recvfrom(p->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len)) > 0) {
    mrt_probe_msg m;
    assert_int_equal(mrt_probe_open(s, buf, (size_t)n, &m), 0);
    len = sizeof from;
    if (m.kind == MRT_PROBE_ENDPOINTS)
      continue; /* A telling us its endpoints */
    assert_int_equal(m.kind, MRT_PROBE_PING);
    mrt_probe_msg pong = {.kind = MRT_PROBE_PONG, .txid = m.txid, .observed = from};
    int pn = mrt_probe_seal(s, &pong, buf, sizeof buf);
    puppet_send(p, &from, buf, (size_t)pn);
    answered++;
    len = sizeof from;
  }
  return answered;
}

static uint64_t cand_pings(mrt_ref *dm, size_t idx) {
  mrt_direct_status *s = status_of(dm);
  uint64_t v = s->peers[0].candidates[idx].pings_sent;
  mrt_direct_status_free(s);
  return v;
}

/* The peer has two candidates, c1 (answering after 10 ms: the best path) and
 * c2 (20 ms). The best is refreshed every 5 s with a 20 ms round trip. If
 * that is not "good enough", c2 is tried again 60 s after the last full
 * round; if it is, c2 is left alone. Returns when c2 was pinged again (0:
 * not within 75 s), relative to the first pings. */
static uint64_t upgrade_ping_after(uint64_t good_enough_ns) {
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  node a;
  mrt_direct_config cfg = fixture_config();
  cfg.timing.good_enough_rtt_ns = good_enough_ns;
  node_start_cfg(&a, rt, 1, cfg);
  puppet s1, s2;
  puppet_open(&s1, 2);
  puppet_open(&s2, 2);
  s2.key = s1.key; /* one peer, two endpoints */
  mrt_probe_session ps;
  assert_int_equal(mrt_probe_session_init(&ps, &s1.key, a.key.pub), 0);
  peer_spec spec = {.id = 2, .key = s1.key.pub, .n = 2};
  spec.eps[0] = s1.ep;
  spec.eps[1] = s2.ep;
  publish_specs(rt, &spec, 1);
  mrt_runtime_run_until_idle(rt); /* both pinged now */
  uint64_t t0 = mrt_runtime_now(rt);
  cand_confirmed cc1 = {a.dm, 0}, cc2 = {a.dm, 1};
  mrt_runtime_advance(rt, MRT_MS(10));
  assert_int_equal(answer_pings(&s1, &ps), 1);
  assert_true(drive_until(&rt, 1, cond_cand_confirmed, &cc1));
  mrt_runtime_advance(rt, MRT_MS(10));
  assert_int_equal(answer_pings(&s2, &ps), 1);
  assert_true(drive_until(&rt, 1, cond_cand_confirmed, &cc2));
  mrt_path_latency pl = latency_of(a.dm, 2);
  assert_true(same_addr(&pl.addr, &s1.ep));
  uint64_t again = 0;
  for (int step = 1; step <= 75 && again == 0; step++) {
    mrt_runtime_advance(rt, MRT_SEC(1));
    answer_pings(&s1, &ps);
    drive_settle(&rt, 1);
    assert_true(latency_of(a.dm, 2).has_path);
    if (cand_pings(a.dm, 1) > 1)
      again = mrt_runtime_now(rt) - t0;
  }
  assert_int_equal(latency_of(a.dm, 2).rtt_ns, MRT_MS(20)); /* refreshed at 20 ms */
  puppet_close(&s1);
  puppet_close(&s2);
  node_stop(&a);
  mrt_runtime_unref(rt);
  return again;
}

static void upgrade_check_every_60s(void **unused) {
  (void)unused;
  uint64_t at = upgrade_ping_after(MRT_MS(5));
  assert_true(at >= MRT_SEC(60) && at <= MRT_SEC(62) + MRT_MS(20));
  /* A best path that is good enough is not second-guessed. */
  assert_int_equal(upgrade_ping_after(MRT_MS(25)), 0);
}

#define FLOOD 100000
#define BURST 64

/* Random bytes shaped like each kind of traffic the socket sees. */
static size_t garbage(uint8_t *buf, int i, const uint8_t *peer_key) {
  size_t len;
  switch (i % 4) {
  case 0: /* probe framing from the known peer: fails its MAC */
    len = (i / 4) % 2 ? MRT_PROBE_PING_LEN : MRT_PROBE_PONG_LEN;
    for (size_t k = 0; k < len; k++)
      buf[k] = (uint8_t)rand();
    memcpy(buf, "MRTP\x01", 5);
    memcpy(buf + 5, peer_key, MRT_PROBE_KEY_LEN);
    return len;
  case 1: /* probe framing, unknown key or odd size */
    len = 5 + (size_t)(rand() % 150);
    for (size_t k = 0; k < len; k++)
      buf[k] = (uint8_t)rand();
    memcpy(buf, "MRTP\x01", 5);
    return len;
  case 2: /* a STUN header with a random body */
    len = 20 + 4 * (size_t)(rand() % 40);
    for (size_t k = 0; k < len; k++)
      buf[k] = (uint8_t)rand();
    buf[0] = 0x01;
    buf[1] = 0x01;
    buf[2] = (uint8_t)((len - 20) >> 8);
    buf[3] = (uint8_t)(len - 20);
    memcpy(buf + 4, "\x21\x12\xa4\x42", 4);
    return len;
  default:
    len = (size_t)(rand() % 1400);
    for (size_t k = 0; k < len; k++)
      buf[k] = (uint8_t)rand();
    return len;
  }
}

static void garbage_flood(void **unused) {
  (void)unused;
  puppet_setup t;
  mrt_probe_msg ping;
  puppet_setup_start(&t, &ping);
  mrt_runtime *rt = t.rt;
  uint8_t buf[2048];
  int n = seal_pong(&t.ps, &ping.txid, &t.a.ep, buf);
  puppet_send(&t.p, &t.a.ep, buf, (size_t)n);
  has_path_arg hp = {t.a.dm, 2};
  assert_true(drive_until(&rt, 1, cond_has_path, &hp));
  mrt_direct_status *s0 = status_of(t.a.dm);

  srand(777);
  int sock = socket(AF_INET, SOCK_DGRAM, 0);
  assert_true(sock >= 0);
  for (int i = 0; i < FLOOD; i++) {
    size_t len = garbage(buf, i, t.p.key.pub);
    sendto(sock, buf, len, 0, (const struct sockaddr *)&t.a.ep, sizeof(struct sockaddr_in));
    if (i % BURST == BURST - 1)
      mrt_runtime_run_until_idle(rt);
  }
  close(sock);
  counter_at_least want = {t.a.dm, COUNTER(rx_datagrams), s0->counters.rx_datagrams + FLOOD};
  drive_until(&rt, 1, cond_counter, &want); /* all of them, unless the kernel dropped some */

  mrt_direct_status *s1 = status_of(t.a.dm);
  const mrt_direct_counters *c0 = &s0->counters, *c1 = &s1->counters;
  uint64_t got = c1->rx_datagrams - c0->rx_datagrams;
  assert_true(got >= FLOOD * 99 / 100);
  uint64_t rejected = (c1->probe_malformed - c0->probe_malformed) +
                      (c1->probe_unauthenticated - c0->probe_unauthenticated) +
                      (c1->probe_unknown_peer - c0->probe_unknown_peer) +
                      (c1->stun_rejected - c0->stun_rejected) + (c1->rx_garbage - c0->rx_garbage);
  assert_int_equal(rejected, got); /* every one counted, none accepted */
  assert_true(c1->probe_unauthenticated - c0->probe_unauthenticated >= FLOOD / 4 * 99 / 100);
  assert_int_equal(c1->pongs_received, c0->pongs_received);
  assert_int_equal(c1->path_changes, c0->path_changes);
  assert_int_equal(s1->n_reflexive, s0->n_reflexive); /* only the genuine pong's observed */
  assert_true(s1->peers[0].has_path);
  assert_true(same_addr(&s1->peers[0].best, &s0->peers[0].best));
  assert_int_equal(s1->peers[0].best_rtt_ns, s0->peers[0].best_rtt_ns);
  mrt_direct_status_free(s0);
  mrt_direct_status_free(s1);

  /* Responsive: asks are answered, and a real ping still gets its pong. */
  assert_false(sock_info_of(t.a.dm).inert);
  mrt_probe_msg m = {.kind = MRT_PROBE_PING};
  mrt_probe_txid_random(&m.txid);
  n = mrt_probe_seal(&t.ps, &m, buf, sizeof buf);
  puppet_send(&t.p, &t.a.ep, buf, (size_t)n);
  struct sockaddr_storage from;
  mrt_probe_msg pong;
  do { /* A's endpoint updates may come first */
    ssize_t rn = puppet_recv(&t.p, rt, buf, sizeof buf, &from);
    assert_int_equal(mrt_probe_open(&t.ps, buf, (size_t)rn, &pong), 0);
  } while (pong.kind == MRT_PROBE_ENDPOINTS);
  assert_true(mrt_probe_txid_equal(&pong.txid, &m.txid));
  puppet_setup_finish(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(two_nodes_confirm_paths_with_rtt),
      cmocka_unit_test(real_clock_runtime),
      cmocka_unit_test(best_path_needs_one_percent),
      cmocka_unit_test(trust_expiry_and_refresh),
      cmocka_unit_test(upgrade_check_every_60s),
      cmocka_unit_test(peer_map_handling),
      cmocka_unit_test(config_validation),
      cmocka_unit_test(hostile_datagrams_change_nothing),
      cmocka_unit_test(pings_are_answered_once),
      cmocka_unit_test(garbage_flood),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
