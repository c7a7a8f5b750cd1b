/* SPDX-License-Identifier: MIT */
/* Tests: what DirectManager learns from a peer's own traffic, and what it
 * tells peers. A is a real DirectManager on loopback (virtual clock); the
 * peer is a puppet: plain sockets holding the peer's key, operated by hand.
 *   - a ping from a new source is answered there and challenged; the source
 *     becomes a learned candidate only once the challenge is answered;
 *   - a replayed ping from yet another source, and a ping sealed with a wrong
 *     key, teach nothing and are counted;
 *   - learned candidates are capped at MRT_DIRECT_MAX_LEARNED: the least
 *     recently heard goes first, configured ones are never evicted;
 *   - endpoint updates: added and pinged at once, a replay refused, one from
 *     an unknown key ignored, and a best path the update no longer lists
 *     replaced by a listed one that answers;
 *   - A's own updates: sent when its endpoint set changes (here: a pong's
 *     observed address), at most one per peer per second, the latest set
 *     winning.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include <meshrt/meshrt.h>
#include <meshrt/testing.h>

#include "direct-fixture.h"

typedef struct world {
  mrt_runtime *rt;
  node a;
  puppet p;             /* the peer, at its configured endpoint */
  mrt_probe_session ps; /* the peer's session with A */
} world;

/* A and a puppet peer (id 2) configured at p.ep; A's first ping answered, so
 * A has a trusted path to p.ep. */
static void world_start(world *w) {
  assert_int_equal(mrt_test_runtime_new(1, &w->rt), 0);
  node_start(&w->a, w->rt, 1);
  puppet_open(&w->p, 2);
  assert_int_equal(mrt_probe_session_init(&w->ps, &w->p.key, w->a.key.pub), 0);
  peer_spec spec = {.id = 2, .key = w->p.key.pub, .n = 1};
  spec.eps[0] = w->p.ep;
  publish_specs(w->rt, &spec, 1);
}

static void world_finish(world *w) {
  puppet_close(&w->p);
  node_stop(&w->a);
  mrt_runtime_unref(w->rt);
}

/* Receives on `s` (a peer with session `ps`) until a probe of `kind`
 * arrives (others are skipped); returns it opened. Fails the test at the
 * deadline. */
static mrt_probe_msg recv_as(world *w, const puppet *s, const mrt_probe_session *ps,
                             mrt_probe_kind kind) {
  static uint8_t buf[2048];
  for (;;) {
    struct sockaddr_storage from;
    ssize_t n = puppet_recv(s, w->rt, buf, sizeof buf, &from);
    assert_true(n > 0);
    mrt_probe_msg m;
    assert_int_equal(mrt_probe_open(ps, buf, (size_t)n, &m), 0);
    if (m.kind == kind)
      return m;
  }
}

static mrt_probe_msg recv_kind(world *w, const puppet *s, mrt_probe_kind kind) {
  return recv_as(w, s, &w->ps, kind);
}

/* Nothing but probes of other kinds waiting on `s`: true if none of `kind`. */
static bool none_of_kind(world *w, const puppet *s, mrt_probe_kind kind) {
  mrt_runtime *rts[] = {w->rt};
  drive_settle(rts, 1);
  uint8_t buf[2048];
  ssize_t n;
  while ((n = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
    mrt_probe_msg m;
    if (mrt_probe_open(&w->ps, buf, (size_t)n, &m) == 0 && m.kind == kind)
      return false;
  }
  return true;
}

static int seal(const mrt_probe_session *s, const mrt_probe_msg *m, uint8_t *buf) {
  int n = mrt_probe_seal(s, m, buf, MRT_PROBE_MAX_LEN);
  assert_true(n > 0);
  return n;
}

static void pong(world *w, const puppet *from, const mrt_probe_msg *ping,
                 const struct sockaddr_storage *observed) {
  mrt_probe_msg m = {.kind = MRT_PROBE_PONG, .txid = ping->txid, .observed = *observed};
  uint8_t buf[MRT_PROBE_MAX_LEN];
  puppet_send(from, &w->a.ep, buf, (size_t)seal(&w->ps, &m, buf));
}

/* Answers A's first ping at the configured endpoint: a trusted path. */
static void confirm_configured(world *w) {
  mrt_probe_msg ping = recv_kind(w, &w->p, MRT_PROBE_PING);
  pong(w, &w->p, &ping, &w->a.ep);
  has_path_arg hp = {w->a.dm, 2};
  assert_true(drive_until(&w->rt, 1, cond_has_path, &hp));
}

static mrt_direct_peer_status peer_of(mrt_ref *dm) {
  mrt_direct_status *s = status_of(dm);
  assert_int_equal(s->n_peers, 1);
  mrt_direct_peer_status p = s->peers[0];
  mrt_direct_status_free(s);
  return p;
}

static int find_cand(const mrt_direct_peer_status *p, const struct sockaddr_storage *a) {
  for (size_t i = 0; i < p->n_candidates; i++)
    if (same_addr(&p->candidates[i].addr, a))
      return (int)i;
  return -1;
}

/* ---- pings from new sources ---------------------------------------------------------- */

static void challenged_ping_teaches_a_candidate(void **unused) {
  (void)unused;
  world w;
  world_start(&w);
  confirm_configured(&w);
  puppet moved; /* the peer, now at another port */
  puppet_open(&moved, 2);
  moved.key = w.p.key;

  uint8_t ping_bytes[MRT_PROBE_MAX_LEN];
  mrt_probe_msg ping = {.kind = MRT_PROBE_PING};
  mrt_probe_txid_random(&ping.txid);
  int n = seal(&w.ps, &ping, ping_bytes);
  puppet_send(&moved, &w.a.ep, ping_bytes, (size_t)n);
  /* Answered where it came from, and challenged there... */
  mrt_probe_msg got = recv_kind(&w, &moved, MRT_PROBE_PONG);
  assert_true(mrt_probe_txid_equal(&got.txid, &ping.txid));
  mrt_probe_msg challenge = recv_kind(&w, &moved, MRT_PROBE_PING);
  /* ...but not a candidate before the challenge is answered. */
  mrt_direct_peer_status p = peer_of(w.a.dm);
  assert_int_equal(p.n_candidates, 1);
  assert_int_equal(counters_of(w.a.dm).challenges_sent, 1);

  pong(&w, &moved, &challenge, &w.a.ep);
  mrt_runtime *rts[] = {w.rt};
  drive_settle(rts, 1);
  p = peer_of(w.a.dm);
  assert_int_equal(p.n_candidates, 2);
  assert_int_equal(p.n_learned, 1);
  int i = find_cand(&p, &moved.ep);
  assert_true(i >= 0);
  assert_true(p.candidates[i].learned);
  assert_true(p.candidates[i].confirmed);
  assert_false(p.candidates[find_cand(&p, &w.p.ep)].learned);
  assert_int_equal(counters_of(w.a.dm).candidates_learned, 1);

  /* The same bytes again, from a third place: a replay. No pong, no
   * challenge, no candidate, and it is counted. */
  puppet thief;
  puppet_open(&thief, 9);
  mrt_direct_counters c0 = counters_of(w.a.dm);
  puppet_send(&thief, &w.a.ep, ping_bytes, (size_t)n);
  /* A ping sealed with a key that is not the peer's, claiming to be it. */
  mrt_probe_keypair wrong;
  assert_int_equal(mrt_probe_keypair_generate(&wrong), 0);
  mrt_probe_session ws;
  assert_int_equal(mrt_probe_session_init(&ws, &wrong, w.a.key.pub), 0);
  mrt_probe_msg forged = {.kind = MRT_PROBE_PING};
  mrt_probe_txid_random(&forged.txid);
  uint8_t fb[MRT_PROBE_MAX_LEN];
  int fn = seal(&ws, &forged, fb);
  memcpy(fb + 5, w.p.key.pub, MRT_PROBE_KEY_LEN);
  puppet_send(&thief, &w.a.ep, fb, (size_t)fn);
  drive_settle(rts, 1);
  uint8_t any[256];
  assert_int_equal(recv(thief.fd, any, sizeof any, MSG_DONTWAIT), -1);
  mrt_direct_counters c1 = counters_of(w.a.dm);
  assert_int_equal(c1.probe_replayed, c0.probe_replayed + 1);
  assert_int_equal(c1.probe_unauthenticated, c0.probe_unauthenticated + 1);
  assert_int_equal(c1.challenges_sent, c0.challenges_sent);
  assert_int_equal(c1.path_changes, c0.path_changes);
  mrt_direct_peer_status after = peer_of(w.a.dm);
  assert_int_equal(after.n_candidates, 2);
  assert_true(same_addr(&after.best, &p.best));
  puppet_close(&thief);
  puppet_close(&moved);
  world_finish(&w);
}

/* Fresh pings from many sources that are no candidate (what replays from
 * spoofed sources look like once they left the replay ring): a few a second
 * are answered, the rest are counted and cost nothing. */
static void answers_to_strangers_are_limited(void **unused) {
  (void)unused;
  world w;
  world_start(&w);
  confirm_configured(&w);
  enum { N = 20 };
  static puppet from[N];
  for (int i = 0; i < N; i++) {
    puppet_open(&from[i], 2);
    mrt_probe_msg ping = {.kind = MRT_PROBE_PING};
    mrt_probe_txid_random(&ping.txid);
    uint8_t buf[MRT_PROBE_MAX_LEN];
    puppet_send(&from[i], &w.a.ep, buf, (size_t)seal(&w.ps, &ping, buf));
  }
  mrt_runtime *rts[] = {w.rt};
  drive_settle(rts, 1);
  int answered = 0;
  for (int i = 0; i < N; i++)
    answered += !none_of_kind(&w, &from[i], MRT_PROBE_PONG);
  assert_int_equal(answered, 8);
  mrt_direct_counters c = counters_of(w.a.dm);
  assert_int_equal(c.pongs_withheld, N - 8);
  assert_int_equal(c.pings_received, N);
  /* The configured endpoint is always answered; a second later strangers
   * are again. */
  mrt_probe_msg ping = {.kind = MRT_PROBE_PING};
  mrt_probe_txid_random(&ping.txid);
  uint8_t buf[MRT_PROBE_MAX_LEN];
  puppet_send(&w.p, &w.a.ep, buf, (size_t)seal(&w.ps, &ping, buf));
  recv_kind(&w, &w.p, MRT_PROBE_PONG);
  mrt_runtime_advance(w.rt, MRT_SEC(1));
  mrt_probe_txid_random(&ping.txid);
  puppet_send(&from[0], &w.a.ep, buf, (size_t)seal(&w.ps, &ping, buf));
  recv_kind(&w, &from[0], MRT_PROBE_PONG);
  for (int i = 0; i < N; i++)
    puppet_close(&from[i]);
  world_finish(&w);
}

/* ---- endpoint updates ---------------------------------------------------------------- */

static uint64_t update_seq;

/* The peer's endpoint update listing 127.0.0.1 ports [from, from + n). */
static void send_update(world *w, const puppet *via, uint16_t from, int n, uint64_t epoch) {
  static mrt_probe_msg m;
  memset(&m, 0, sizeof m);
  m.kind = MRT_PROBE_ENDPOINTS;
  m.epoch = epoch;
  m.seq = ++update_seq;
  m.n_endpoints = (uint8_t)n;
  for (int i = 0; i < n; i++)
    m.endpoints[i] = loop4(1, (uint16_t)(from + i));
  uint8_t buf[MRT_PROBE_MAX_LEN];
  puppet_send(via, &w->a.ep, buf, (size_t)seal(&w->ps, &m, buf));
}

static void learned_candidates_are_capped_least_recently_heard_first(void **unused) {
  (void)unused;
  world w;
  world_start(&w);
  /* The configured endpoint never answers (so it is no best path, and the
   * least recently heard of all): it must stay anyway. */
  mrt_runtime *rts[] = {w.rt};
  /* 32 learned from two updates, 1 s apart. Ports nobody uses (an ICMP
   * error per ping is all that comes back). */
  send_update(&w, &w.p, 40001, 16, 1);
  drive_settle(rts, 1);
  mrt_runtime_advance(w.rt, MRT_SEC(1));
  send_update(&w, &w.p, 40017, 16, 1);
  drive_settle(rts, 1);
  mrt_direct_peer_status p = peer_of(w.a.dm);
  assert_int_equal(p.n_learned, MRT_DIRECT_MAX_LEARNED);
  assert_int_equal(p.n_candidates, 1 + MRT_DIRECT_MAX_LEARNED);
  /* Every listed endpoint was pinged at once. */
  for (size_t i = 0; i < p.n_candidates; i++)
    assert_true(p.candidates[i].pinged);
  mrt_runtime_advance(w.rt, MRT_SEC(1));
  /* One more, and 40001 heard again: the least recently heard of the first
   * update other than 40001 goes; the configured endpoint stays. */
  static mrt_probe_msg m;
  memset(&m, 0, sizeof m);
  m.kind = MRT_PROBE_ENDPOINTS;
  m.epoch = 1;
  m.seq = ++update_seq;
  m.n_endpoints = 2;
  m.endpoints[0] = loop4(1, 40001);
  m.endpoints[1] = loop4(1, 40100);
  uint8_t buf[MRT_PROBE_MAX_LEN];
  puppet_send(&w.p, &w.a.ep, buf, (size_t)seal(&w.ps, &m, buf));
  drive_settle(rts, 1);
  p = peer_of(w.a.dm);
  assert_int_equal(p.n_learned, MRT_DIRECT_MAX_LEARNED);
  assert_int_equal(p.n_candidates, 1 + MRT_DIRECT_MAX_LEARNED);
  struct sockaddr_storage kept[] = {w.p.ep, loop4(1, 40001), loop4(1, 40100)};
  for (size_t i = 0; i < 3; i++)
    assert_true(find_cand(&p, &kept[i]) >= 0);
  int gone = 0;
  for (uint16_t port = 40002; port <= 40016; port++) {
    struct sockaddr_storage a = loop4(1, port);
    gone += find_cand(&p, &a) < 0;
  }
  assert_int_equal(gone, 1);
  for (uint16_t port = 40017; port <= 40032; port++) {
    struct sockaddr_storage a = loop4(1, port);
    assert_true(find_cand(&p, &a) >= 0); /* heard later */
  }
  assert_int_equal(counters_of(w.a.dm).candidates_evicted, 1);

  /* The same update again: a replay, refused. An older epoch too. */
  mrt_direct_counters c0 = counters_of(w.a.dm);
  puppet_send(&w.p, &w.a.ep, buf, (size_t)seal(&w.ps, &m, buf));
  send_update(&w, &w.p, 40200, 1, 0);
  drive_settle(rts, 1);
  mrt_direct_counters c1 = counters_of(w.a.dm);
  assert_int_equal(c1.updates_replayed, c0.updates_replayed + 2);
  assert_int_equal(c1.updates_received, c0.updates_received);
  struct sockaddr_storage old = loop4(1, 40200);
  p = peer_of(w.a.dm);
  assert_true(find_cand(&p, &old) < 0);
  world_finish(&w);
}

static void update_from_an_unknown_key_is_ignored(void **unused) {
  (void)unused;
  world w;
  world_start(&w);
  confirm_configured(&w);
  mrt_probe_keypair stranger;
  assert_int_equal(mrt_probe_keypair_generate(&stranger), 0);
  mrt_probe_session ss;
  assert_int_equal(mrt_probe_session_init(&ss, &stranger, w.a.key.pub), 0);
  static mrt_probe_msg m;
  memset(&m, 0, sizeof m);
  m.kind = MRT_PROBE_ENDPOINTS;
  m.epoch = 1;
  m.seq = 1;
  m.n_endpoints = 1;
  m.endpoints[0] = loop4(1, 40300);
  uint8_t buf[MRT_PROBE_MAX_LEN];
  mrt_direct_counters c0 = counters_of(w.a.dm);
  puppet_send(&w.p, &w.a.ep, buf, (size_t)seal(&ss, &m, buf));
  mrt_runtime *rts[] = {w.rt};
  drive_settle(rts, 1);
  mrt_direct_counters c1 = counters_of(w.a.dm);
  assert_int_equal(c1.probe_unknown_peer, c0.probe_unknown_peer + 1);
  assert_int_equal(c1.updates_received, 0);
  assert_int_equal(peer_of(w.a.dm).n_candidates, 1);
  world_finish(&w);
}

static void an_unlisted_best_path_yields_to_a_listed_one(void **unused) {
  (void)unused;
  world w;
  world_start(&w);
  confirm_configured(&w);
  puppet moved;
  puppet_open(&moved, 2);
  moved.key = w.p.key;
  /* The peer moved: its update lists only the new endpoint. */
  send_update(&w, &w.p, port_of(&moved.ep), 1, 7);
  mrt_probe_msg ping = recv_kind(&w, &moved, MRT_PROBE_PING);
  mrt_direct_peer_status p = peer_of(w.a.dm);
  assert_true(same_addr(&p.best, &w.p.ep)); /* still trusted until something better answers */
  /* A slower answer than the configured path's would not win on speed. */
  mrt_runtime_advance(w.rt, MRT_MS(50));
  pong(&w, &moved, &ping, &w.a.ep);
  mrt_runtime *rts[] = {w.rt};
  drive_settle(rts, 1);
  p = peer_of(w.a.dm);
  assert_true(p.has_path);
  assert_true(same_addr(&p.best, &moved.ep));
  assert_int_equal(p.updates_received, 1);
  puppet_close(&moved);
  world_finish(&w);
}

/* ---- A's own updates ----------------------------------------------------------------- */

static void updates_follow_our_endpoints_at_most_once_a_second(void **unused) {
  (void)unused;
  world w;
  world_start(&w);
  /* A advertises no interface addresses (fixture), so its endpoint set is
   * what peers tell it: the observed address of each pong. */
  mrt_probe_msg ping = recv_kind(&w, &w.p, MRT_PROBE_PING);
  struct sockaddr_storage seen1 = loop4(7, 41001);
  pong(&w, &w.p, &ping, &seen1);
  mrt_probe_msg u = recv_kind(&w, &w.p, MRT_PROBE_ENDPOINTS);
  assert_int_equal(u.n_endpoints, 1);
  assert_true(same_addr(&u.endpoints[0], &seen1));
  uint64_t seq1 = u.seq;

  /* 100 ms later A's set changes again: held back until the second is up. */
  mrt_runtime_advance(w.rt, MRT_MS(100));
  assert_int_equal(MRT_TELL(direct_ping_peer, w.a.dm, &(mrt_ping_peer_req){2}), 0);
  ping = recv_kind(&w, &w.p, MRT_PROBE_PING);
  struct sockaddr_storage seen2 = loop4(7, 41002);
  pong(&w, &w.p, &ping, &seen2);
  assert_true(none_of_kind(&w, &w.p, MRT_PROBE_ENDPOINTS));
  mrt_runtime_advance(w.rt, MRT_MS(100));
  assert_int_equal(MRT_TELL(direct_ping_peer, w.a.dm, &(mrt_ping_peer_req){2}), 0);
  ping = recv_kind(&w, &w.p, MRT_PROBE_PING);
  struct sockaddr_storage seen3 = loop4(7, 41003);
  pong(&w, &w.p, &ping, &seen3);
  assert_true(none_of_kind(&w, &w.p, MRT_PROBE_ENDPOINTS));
  mrt_runtime_advance(w.rt, MRT_MS(800));
  u = recv_kind(&w, &w.p, MRT_PROBE_ENDPOINTS); /* one, with the latest set */
  assert_int_equal(u.n_endpoints, 3);
  assert_true(u.seq > seq1);
  assert_true(none_of_kind(&w, &w.p, MRT_PROBE_ENDPOINTS));
  mrt_direct_counters c = counters_of(w.a.dm);
  assert_int_equal(c.updates_sent, 2);
  assert_int_equal(c.observed_learned, 3);
  world_finish(&w);
}

/* Two peers that each see us at another port (a symmetric NAT) do not make
 * either port an endpoint; a second peer agreeing with the first does. */
static void observed_addresses_need_a_second_witness(void **unused) {
  (void)unused;
  world w;
  world_start(&w);
  puppet q;
  puppet_open(&q, 3);
  mrt_probe_session qs;
  assert_int_equal(mrt_probe_session_init(&qs, &q.key, w.a.key.pub), 0);
  peer_spec specs[2] = {{.id = 2, .key = w.p.key.pub, .n = 1}, {.id = 3, .key = q.key.pub, .n = 1}};
  specs[0].eps[0] = w.p.ep;
  specs[1].eps[0] = q.ep;
  publish_specs(w.rt, specs, 2);
  mrt_runtime *rts[] = {w.rt};
  /* Both paths confirmed, the peers seeing us where we are. */
  confirm_configured(&w);
  uint8_t buf[MRT_PROBE_MAX_LEN];
  mrt_probe_msg m = recv_as(&w, &q, &qs, MRT_PROBE_PING);
  mrt_probe_msg qp = {.kind = MRT_PROBE_PONG, .txid = m.txid, .observed = w.a.ep};
  puppet_send(&q, &w.a.ep, buf, (size_t)seal(&qs, &qp, buf));
  has_path_arg hq = {w.a.dm, 3};
  assert_true(drive_until(rts, 1, cond_has_path, &hq));
  mrt_direct_status *s = status_of(w.a.dm);
  size_t before = s->n_reflexive;
  mrt_direct_status_free(s);

  /* Each peer now reports another port of ours. */
  struct sockaddr_storage via_p = loop4(9, 50001), via_q = loop4(9, 50002);
  assert_int_equal(MRT_TELL(direct_ping_peer, w.a.dm, &(mrt_ping_peer_req){2}), 0);
  mrt_probe_msg ping = recv_kind(&w, &w.p, MRT_PROBE_PING);
  pong(&w, &w.p, &ping, &via_p);
  assert_int_equal(MRT_TELL(direct_ping_peer, w.a.dm, &(mrt_ping_peer_req){3}), 0);
  m = recv_as(&w, &q, &qs, MRT_PROBE_PING);
  qp = (mrt_probe_msg){.kind = MRT_PROBE_PONG, .txid = m.txid, .observed = via_q};
  puppet_send(&q, &w.a.ep, buf, (size_t)seal(&qs, &qp, buf));
  drive_settle(rts, 1);
  s = status_of(w.a.dm);
  assert_int_equal(s->n_reflexive, before);
  mrt_direct_status_free(s);

  /* Peer 3 then agrees with peer 2: that address is ours. */
  assert_int_equal(MRT_TELL(direct_ping_peer, w.a.dm, &(mrt_ping_peer_req){3}), 0);
  m = recv_as(&w, &q, &qs, MRT_PROBE_PING);
  qp = (mrt_probe_msg){.kind = MRT_PROBE_PONG, .txid = m.txid, .observed = via_p};
  puppet_send(&q, &w.a.ep, buf, (size_t)seal(&qs, &qp, buf));
  drive_settle(rts, 1);
  s = status_of(w.a.dm);
  assert_int_equal(s->n_reflexive, before + 1);
  assert_true(same_addr(&s->reflexive[s->n_reflexive - 1], &via_p));
  mrt_direct_status_free(s);
  puppet_close(&q);
  world_finish(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(challenged_ping_teaches_a_candidate),
      cmocka_unit_test(answers_to_strangers_are_limited),
      cmocka_unit_test(learned_candidates_are_capped_least_recently_heard_first),
      cmocka_unit_test(update_from_an_unknown_key_is_ignored),
      cmocka_unit_test(an_unlisted_best_path_yields_to_a_listed_one),
      cmocka_unit_test(updates_follow_our_endpoints_at_most_once_a_second),
      cmocka_unit_test(observed_addresses_need_a_second_witness),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
