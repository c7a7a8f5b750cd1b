/* SPDX-License-Identifier: MIT */
/* Tests: DirectManager's STUN client and endpoint advertisement. A sweep
 * against the STUN responder learns the reflexive address; the sweep gate
 * (no peer map, an empty one, no DERP map); the prober makes no sweep at
 * start and its delay is always within [20 s, 26 s) and varies over 1,000
 * cycles; at most 16 requests in flight, expiring after 5 s, servers taken in
 * rotation; responses are accepted only for an in-flight transaction (wrong
 * id, malformed, error, late and replayed ones are rejected), IPv6 mapped
 * addresses work, and only 16 reflexive addresses are kept; the endpoint
 * advertisement is published every 5 s only when the sorted set changed.
 * Classic (RFC 3489-era) servers teach the reflexive address too; per
 * server, requests, accepted answers and refusals with the last reason are
 * counted. A hand-operated socket plays the STUN server where the test needs
 * to choose the answers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include <meshrt/meshrt.h>
#include <meshrt/stun.h>
#include <meshrt/testing.h>

#include "direct-fixture.h"

/* A DERP map with one region per port, each a STUN server on 127.0.0.1. */
static void publish_derp_ports(mrt_runtime *rt, const uint16_t *ports, size_t n) {
  char json[8192];
  size_t off = (size_t)snprintf(json, sizeof json, "{\"Regions\":{");
  for (size_t i = 0; i < n; i++)
    off += (size_t)snprintf(json + off, sizeof json - off,
                            "%s\"%zu\":{\"RegionID\":%zu,\"RegionCode\":\"r%zu\",\"Nodes\":"
                            "[{\"Name\":\"n\",\"RegionID\":%zu,\"IPv4\":\"127.0.0.1\","
                            "\"IPv6\":\"none\",\"STUNPort\":%u}]}",
                            i ? "," : "", i + 1, i + 1, i + 1, i + 1, ports[i]);
  snprintf(json + off, sizeof json - off, "}}");
  assert_int_equal(mrt_node_bus_configure(mrt_runtime_bus(rt)), 0);
  mrt_derp_map *m = NULL;
  char err[MRT_DERP_MAP_ERR_LEN];
  assert_int_equal(mrt_derp_map_parse(json, strlen(json), &m, err, sizeof err), 0);
  assert_true(mrt_node_publish_derp_map(rt, m) >= 0);
}

static void publish_one_peer(mrt_runtime *rt) {
  mrt_probe_keypair k;
  assert_int_equal(mrt_probe_keypair_generate(&k), 0);
  peer_spec spec = {.id = 42, .key = k.pub, .n = 0};
  publish_specs(rt, &spec, 1);
}

static mrt_restun_result direct_restun(mrt_ref *dm) {
  mrt_restun_result r;
  assert_int_equal(MRT_ASK_SYNC(direct_restun, dm, &(mrt_none){0}, &r, 0), 0);
  return r;
}

/* ---- an advertisement subscriber ---------------------------------------------------- */

typedef struct advert_sink {
  uint64_t count;
  mrt_endpoint_advertisement last;
} advert_sink;

MRT_MESSAGE_DECLARE(, advert_query, mrt_none, advert_sink);
MRT_MESSAGE_DEFINE(advert_query, mrt_none, advert_sink, NULL, NULL);

static int sink_on_advert(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)r;
  advert_sink *s = state;
  s->count++;
  s->last = *(const mrt_endpoint_advertisement *)p;
  return 0;
}

static int sink_on_query(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  return MRT_REPLY(advert_query, r, (const advert_sink *)state);
}

static const mrt_handler_entry sink_handlers[] = {{&mrt_msg_endpoint_advertisement, sink_on_advert},
                                                  {&mrt_msg_advert_query, sink_on_query},
                                                  {NULL, NULL}};
static const mrt_actor_class sink_class = {
    .name = "advert-sink", .state_size = sizeof(advert_sink), .handlers = sink_handlers};

static advert_sink sink_get(mrt_ref *sink) {
  advert_sink s;
  assert_int_equal(MRT_ASK_SYNC(advert_query, sink, &(mrt_none){0}, &s, 0), 0);
  return s;
}

/* ---- tests --------------------------------------------------------------------------------- */

typedef struct reflexive_n {
  mrt_ref *dm;
  size_t n;
} reflexive_n;

static bool cond_reflexive_n(void *ud) {
  reflexive_n *r = ud;
  mrt_direct_status *s = status_of(r->dm);
  bool ok = s->n_reflexive >= r->n;
  mrt_direct_status_free(s);
  return ok;
}

static void sweep_learns_reflexive_and_advertises(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_stun_responder_config rc;
  memset(&rc, 0, sizeof rc);
  rc.listen_addr = loop4(1, 0);
  mrt_ref *stun, *sink;
  assert_int_equal(mrt_stun_responder_spawn(rt, &rc, NULL, &stun), 0);
  mrt_stun_responder_info info;
  assert_int_equal(MRT_ASK_SYNC(stun_responder_info, stun, &(mrt_none){0}, &info, 0), 0);
  assert_int_equal(mrt_actor_spawn(rt, &sink_class, NULL, NULL, &sink), 0);
  assert_int_equal(mrt_node_bus_configure(mrt_runtime_bus(rt)), 0);
  assert_int_equal(mrt_bus_subscribe(mrt_runtime_bus(rt), &mrt_msg_endpoint_advertisement, sink),
                   0);
  node a;
  mrt_direct_config cfg = fixture_config();
  cfg.advertise_local = true; /* bound to 127.0.0.1: that is the local endpoint */
  node_start_cfg(&a, rt, 1, cfg);
  publish_derp_ports(rt, &info.port, 1);
  publish_one_peer(rt);

  mrt_restun_result r = direct_restun(a.dm);
  assert_false(r.gated);
  assert_int_equal(r.sent, 1);
  reflexive_n want = {a.dm, 1};
  assert_true(drive_until(&rt, 1, cond_reflexive_n, &want));
  mrt_direct_status *s = status_of(a.dm);
  assert_true(same_addr(&s->reflexive[0], &a.ep)); /* on loopback, what the server saw */
  assert_int_equal(s->counters.stun_responses, 1);
  assert_int_equal(s->stun_in_flight, 0);
  assert_int_equal(s->n_stun_servers, 1);
  mrt_direct_status_free(s);
  assert_int_equal(MRT_ASK_SYNC(stun_responder_info, stun, &(mrt_none){0}, &info, 0), 0);
  assert_int_equal(info.requests, 1);

  /* The set was published at start, at once (not at the first 5 s tick);
   * local and reflexive are the same address here, so the answer changed
   * nothing. */
  advert_sink got = sink_get(sink);
  assert_int_equal(got.count, 1);
  assert_int_equal(got.last.n, 1);
  assert_true(same_addr(&got.last.endpoints[0], &a.ep));
  /* Unchanged: not published again. */
  mrt_runtime_advance(rt, MRT_SEC(10));
  assert_int_equal(sink_get(sink).count, 1);
  /* A rebind keeps the port: the set is the same, nothing is published. */
  mrt_sock_info si;
  assert_int_equal(MRT_ASK_SYNC(direct_rebind, a.dm, &(mrt_none){0}, &si, 0), 0);
  assert_int_equal(si.port, port_of(&a.ep));
  mrt_runtime_advance(rt, MRT_SEC(5));
  got = sink_get(sink);
  assert_int_equal(got.count, 1);
  assert_int_equal(counters_of(a.dm).adverts_published, 1);
  node_stop(&a);
  mrt_ref_unref(stun);
  mrt_ref_unref(sink);
  mrt_runtime_unref(rt);
}

static void sweep_gate(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_stun_responder_config rc;
  memset(&rc, 0, sizeof rc);
  rc.listen_addr = loop4(1, 0);
  mrt_ref *stun;
  assert_int_equal(mrt_stun_responder_spawn(rt, &rc, NULL, &stun), 0);
  mrt_stun_responder_info info;
  assert_int_equal(MRT_ASK_SYNC(stun_responder_info, stun, &(mrt_none){0}, &info, 0), 0);
  node a;
  node_start(&a, rt, 1);
  assert_true(direct_restun(a.dm).gated); /* nothing at all */
  publish_derp_ports(rt, &info.port, 1);
  assert_true(direct_restun(a.dm).gated); /* a DERP map, no peer map */
  publish_specs(rt, NULL, 0);
  assert_true(direct_restun(a.dm).gated); /* a peer map without peers */
  /* The prober's cycles stay gated too. */
  mrt_runtime_advance(rt, MRT_SEC(60));
  mrt_direct_counters c = counters_of(a.dm);
  assert_int_equal(c.stun_sweeps, 0);
  assert_true(c.stun_sweeps_gated >= 5);
  assert_int_equal(c.stun_sent, 0);
  drive_settle(&rt, 1);
  assert_int_equal(MRT_ASK_SYNC(stun_responder_info, stun, &(mrt_none){0}, &info, 0), 0);
  assert_int_equal(info.requests, 0);

  publish_one_peer(rt);
  mrt_restun_result r = direct_restun(a.dm);
  assert_false(r.gated);
  assert_int_equal(r.sent, 1);
  node_stop(&a);
  mrt_ref_unref(stun);
  mrt_runtime_unref(rt);
}

static void prober_first_sweep_after_a_delay(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  uint16_t port = 9; /* nobody answers; only the sending matters */
  publish_derp_ports(rt, &port, 1);
  publish_one_peer(rt);
  uint64_t t0 = mrt_runtime_now(rt);
  node a;
  node_start(&a, rt, 1);
  mrt_direct_status *s = status_of(a.dm);
  assert_int_equal(s->last_stun_sweep_ns, 0); /* no sweep at start */
  assert_int_equal(s->counters.stun_sent, 0);
  uint64_t next = s->next_stun_ns;
  assert_true(next >= t0 + MRT_SEC(20) && next < t0 + MRT_SEC(26));
  mrt_direct_status_free(s);
  mrt_runtime_advance(rt, next - mrt_runtime_now(rt) - 1);
  assert_int_equal(counters_of(a.dm).stun_sweeps, 0);
  mrt_runtime_advance(rt, 1);
  s = status_of(a.dm);
  assert_int_equal(s->counters.stun_sweeps, 1);
  assert_int_equal(s->last_stun_sweep_ns, next);
  assert_int_equal(s->counters.stun_sent, 1);
  mrt_direct_status_free(s);
  node_stop(&a);
  mrt_runtime_unref(rt);
}

static int u64_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

#define DRAWS 1000

static void prober_delay_range_and_variety(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  node a;
  node_start(&a, rt, 1);
  uint64_t *delays = calloc(DRAWS, sizeof *delays);
  for (int i = 0; i < DRAWS; i++) {
    mrt_direct_status *s = status_of(a.dm);
    uint64_t d = s->last_stun_delay_ns, next = s->next_stun_ns, cycles = s->counters.stun_cycles;
    assert_int_equal((int64_t)cycles, i);
    mrt_direct_status_free(s);
    assert_true(d >= MRT_SEC(20) && d < MRT_SEC(26));
    delays[i] = d;
    mrt_runtime_advance(rt, next - mrt_runtime_now(rt));
  }
  qsort(delays, DRAWS, sizeof *delays, u64_cmp);
  int distinct = 1;
  for (int i = 1; i < DRAWS; i++)
    distinct += delays[i] != delays[i - 1];
  assert_true(distinct >= DRAWS * 99 / 100);
  assert_true(delays[0] < MRT_SEC(21));
  assert_true(delays[DRAWS - 1] > MRT_SEC(25));
  free(delays);
  node_stop(&a);
  mrt_runtime_unref(rt);
}

static void in_flight_cap_and_expiry(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  uint16_t ports[20];
  for (int i = 0; i < 20; i++)
    ports[i] = (uint16_t)(20001 + i); /* nobody listens: nothing answers */
  publish_derp_ports(rt, ports, 20);
  publish_one_peer(rt);
  node a;
  node_start(&a, rt, 1);
  assert_int_equal(direct_restun(a.dm).sent, MRT_DIRECT_MAX_STUN_IN_FLIGHT);
  assert_int_equal(direct_restun(a.dm).sent, 0); /* every slot busy */
  mrt_direct_status *s = status_of(a.dm);
  assert_int_equal(s->stun_in_flight, 16);
  assert_int_equal(s->n_stun_servers, 20);
  mrt_direct_status_free(s);
  mrt_runtime_advance(rt, MRT_SEC(6)); /* the pinger's next pass after 5 s expires them */
  s = status_of(a.dm);
  assert_int_equal(s->stun_in_flight, 0);
  assert_int_equal(s->counters.stun_expired, 16);
  mrt_direct_status_free(s);
  assert_int_equal(direct_restun(a.dm).sent, 16); /* servers 17..20, then 1..12 */
  node_stop(&a);
  mrt_runtime_unref(rt);
}

/* ---- a hand-operated STUN server --------------------------------------------------------- */

typedef struct fake_server {
  mrt_runtime *rt;
  node a;
  puppet srv;
} fake_server;

static void fake_start(fake_server *f) {
  assert_int_equal(mrt_test_runtime_new(1, &f->rt), 0);
  puppet_open(&f->srv, 0);
  uint16_t port = port_of(&f->srv.ep);
  publish_derp_ports(f->rt, &port, 1);
  publish_one_peer(f->rt);
  node_start(&f->a, f->rt, 1);
}

static void fake_finish(fake_server *f) {
  puppet_close(&f->srv);
  node_stop(&f->a);
  mrt_runtime_unref(f->rt);
}

/* Triggers a sweep and reads the request: its transaction id. */
static mrt_stun_txid fake_request(fake_server *f) {
  assert_int_equal(direct_restun(f->a.dm).sent, 1);
  uint8_t buf[512];
  struct sockaddr_storage from;
  ssize_t n = puppet_recv(&f->srv, f->rt, buf, sizeof buf, &from);
  assert_true(n > 0);
  assert_true(same_addr(&from, &f->a.ep));
  mrt_stun_txid txid;
  assert_int_equal(mrt_stun_parse_binding_request(buf, (size_t)n, &txid), 0);
  /* A standard request: SOFTWARE and a FINGERPRINT, 40 bytes. */
  assert_int_equal(n, MRT_STUN_REQUEST_LEN(strlen(MRT_STUN_SOFTWARE)));
  return txid;
}

static void fake_answer(fake_server *f, const mrt_stun_txid *txid,
                        const struct sockaddr_storage *mapped) {
  uint8_t buf[MRT_STUN_RESPONSE_MAX_LEN];
  int n = mrt_stun_build_binding_response(buf, sizeof buf, txid, (const struct sockaddr *)mapped);
  assert_true(n > 0);
  puppet_send(&f->srv, &f->a.ep, buf, (size_t)n);
}

static void responses_need_an_in_flight_transaction(void **unused) {
  (void)unused;
  fake_server f;
  fake_start(&f);
  struct sockaddr_storage mapped = loop4(9, 999);
  mrt_stun_txid tx = fake_request(&f);

  mrt_stun_txid other = tx;
  other.bytes[0] ^= 1;
  fake_answer(&f, &other, &mapped); /* wrong transaction */
  uint8_t buf[MRT_STUN_RESPONSE_MAX_LEN];
  int n = mrt_stun_build_binding_response(buf, sizeof buf, &tx, (struct sockaddr *)&mapped);
  buf[n - 1] ^= 0xff; /* bad FINGERPRINT */
  puppet_send(&f.srv, &f.a.ep, buf, (size_t)n);
  drive_settle(&f.rt, 1);
  mrt_direct_status *s = status_of(f.a.dm);
  assert_int_equal(s->counters.stun_rejected, 2);
  assert_int_equal(s->n_reflexive, 0);
  assert_int_equal(s->stun_in_flight, 1);
  mrt_direct_status_free(s);

  fake_answer(&f, &tx, &mapped); /* the real answer */
  reflexive_n want = {f.a.dm, 1};
  assert_true(drive_until(&f.rt, 1, cond_reflexive_n, &want));
  fake_answer(&f, &tx, &mapped); /* its replay */
  drive_settle(&f.rt, 1);
  s = status_of(f.a.dm);
  assert_int_equal(s->counters.stun_responses, 1);
  assert_int_equal(s->counters.stun_rejected, 3);
  assert_true(same_addr(&s->reflexive[0], &mapped));
  mrt_direct_status_free(s);

  /* Too late: after 5 s the transaction is gone. */
  tx = fake_request(&f);
  mrt_runtime_advance(f.rt, MRT_SEC(5));
  fake_answer(&f, &tx, &mapped);
  drive_settle(&f.rt, 1);
  assert_int_equal(counters_of(f.a.dm).stun_rejected, 4);

  /* An IPv6 mapped address is learned as such. */
  tx = fake_request(&f);
  struct sockaddr_storage v6 = loop6(4242);
  fake_answer(&f, &tx, &v6);
  want.n = 2;
  assert_true(drive_until(&f.rt, 1, cond_reflexive_n, &want));
  s = status_of(f.a.dm);
  assert_true(same_addr(&s->reflexive[1], &v6));
  mrt_direct_status_free(s);
  fake_finish(&f);
}

static mrt_stun_server_list stun_servers_of(mrt_ref *dm) {
  mrt_stun_server_list l;
  memset(&l, 0, sizeof l);
  assert_int_equal(MRT_ASK_SYNC(direct_stun_servers, dm, &(mrt_none){0}, &l, 0), 0);
  return l;
}

typedef struct answered_n {
  mrt_ref *dm;
  uint64_t n;
} answered_n;

static bool cond_responses(void *ud) {
  answered_n *a = ud;
  return counters_of(a->dm).stun_responses >= a->n;
}

/* Servers in both classic styles answer a sweep; each teaches its address. */
static void classic_servers_teach_the_reflexive_address(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_ref *stun[2];
  uint16_t ports[2];
  const mrt_stun_responder_style styles[] = {MRT_STUN_RESPONDER_CLASSIC,
                                             MRT_STUN_RESPONDER_RFC3489};
  for (int i = 0; i < 2; i++) {
    mrt_stun_responder_config rc;
    memset(&rc, 0, sizeof rc);
    rc.listen_addr = loop4(1, 0);
    rc.style = styles[i];
    assert_int_equal(mrt_stun_responder_spawn(rt, &rc, NULL, &stun[i]), 0);
    mrt_stun_responder_info info;
    assert_int_equal(MRT_ASK_SYNC(stun_responder_info, stun[i], &(mrt_none){0}, &info, 0), 0);
    ports[i] = info.port;
  }
  node a;
  node_start(&a, rt, 1);
  publish_derp_ports(rt, ports, 2);
  publish_one_peer(rt);
  assert_int_equal(direct_restun(a.dm).sent, 2);
  answered_n want = {a.dm, 2};
  assert_true(drive_until(&rt, 1, cond_responses, &want));
  mrt_direct_status *s = status_of(a.dm);
  assert_int_equal(s->n_reflexive, 1); /* both saw the same address */
  assert_true(same_addr(&s->reflexive[0], &a.ep));
  assert_int_equal(s->counters.stun_rejected, 0);
  mrt_direct_status_free(s);
  mrt_stun_server_list l = stun_servers_of(a.dm);
  assert_int_equal(l.n, 2);
  for (size_t i = 0; i < 2; i++) {
    assert_int_equal(l.servers[i].region_id, (int)i + 1);
    assert_int_equal(port_of(&l.servers[i].server), ports[i]);
    assert_int_equal(l.servers[i].sent, 1);
    assert_int_equal(l.servers[i].answered, 1);
    assert_int_equal(l.servers[i].rejected, 0);
  }
  mrt_stun_server_list_release(&l);
  node_stop(&a);
  for (int i = 0; i < 2; i++)
    mrt_ref_unref(stun[i]);
  mrt_runtime_unref(rt);
}

typedef struct rejected_n {
  mrt_ref *dm;
  uint64_t n;
} rejected_n;

static bool cond_rejected(void *ud) {
  rejected_n *r = ud;
  return counters_of(r->dm).stun_rejected >= r->n;
}

/* Sends `len` bytes from the fake server, waits for the n-th refusal and
 * returns a copy of the server's row. */
static mrt_stun_server_stats refused(fake_server *f, const void *buf, size_t len, uint64_t n) {
  puppet_send(&f->srv, &f->a.ep, buf, len);
  rejected_n want = {f->a.dm, n};
  assert_true(drive_until(&f->rt, 1, cond_rejected, &want));
  mrt_stun_server_list l = stun_servers_of(f->a.dm);
  assert_int_equal(l.n, 1);
  mrt_stun_server_stats row = l.servers[0];
  mrt_stun_server_list_release(&l);
  return row;
}

static void rejections_are_counted_per_server_with_a_reason(void **unused) {
  (void)unused;
  fake_server f;
  fake_start(&f);
  struct sockaddr_storage mapped = loop4(9, 999);
  mrt_stun_txid tx = fake_request(&f);
  uint8_t buf[MRT_STUN_CLASSIC_RESPONSE_MAX_LEN];

  /* A classic answer whose SOURCE-ADDRESS has no family. */
  int n = mrt_stun_build_classic_response(buf, sizeof buf, &tx, (struct sockaddr *)&mapped,
                                          (struct sockaddr *)&f.srv.ep,
                                          (struct sockaddr *)&f.srv.ep, false);
  assert_int_equal(n, 56);
  buf[20 + 12 + 5] = 0x09; /* SOURCE-ADDRESS's family byte */
  mrt_stun_server_stats row = refused(&f, buf, (size_t)n, 1);
  assert_int_equal(row.sent, 1);
  assert_int_equal(row.rejected, 1);
  assert_int_equal(row.answered, 0);
  assert_string_equal(row.last_reason,
                      "address attribute with a bad length or family (attribute 0x0004)");
  /* Another transaction. */
  mrt_stun_txid other = tx;
  other.bytes[3] ^= 1;
  n = mrt_stun_build_binding_response(buf, sizeof buf, &other, (struct sockaddr *)&mapped);
  row = refused(&f, buf, (size_t)n, 2);
  assert_string_equal(row.last_reason, "no request in flight with this transaction id");
  /* An error response answers (and ends) the transaction, refused. */
  uint8_t err[28] = {0x01, 0x11, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42};
  memcpy(err + 8, tx.bytes, MRT_STUN_TXID_LEN);
  const uint8_t ec[8] = {0x00, 0x09, 0x00, 0x04, 0x00, 0x00, 0x04, 0x01};
  memcpy(err + 20, ec, sizeof ec);
  row = refused(&f, err, sizeof err, 3);
  assert_int_equal(row.rejected, 3);
  assert_string_equal(row.last_reason, "error response 401");
  mrt_direct_status *s = status_of(f.a.dm);
  assert_int_equal(s->stun_in_flight, 0);
  assert_int_equal(s->n_reflexive, 0);
  mrt_direct_status_free(s);

  /* The next request's classic answer is accepted and counted. */
  tx = fake_request(&f);
  n = mrt_stun_build_classic_response(buf, sizeof buf, &tx, (struct sockaddr *)&mapped,
                                      (struct sockaddr *)&f.srv.ep, (struct sockaddr *)&f.srv.ep,
                                      true);
  puppet_send(&f.srv, &f.a.ep, buf, (size_t)n);
  reflexive_n want = {f.a.dm, 1};
  assert_true(drive_until(&f.rt, 1, cond_reflexive_n, &want));
  mrt_stun_server_list l = stun_servers_of(f.a.dm);
  assert_int_equal(l.servers[0].sent, 2);
  assert_int_equal(l.servers[0].answered, 1);
  assert_int_equal(l.servers[0].rejected, 3);
  assert_int_equal(l.other_rejected, 0);
  mrt_stun_server_list_release(&l);

  /* STUN from an address that is no server is counted apart. */
  puppet stranger;
  puppet_open(&stranger, 0);
  puppet_send(&stranger, &f.a.ep, buf, (size_t)n);
  rejected_n four = {f.a.dm, 4};
  assert_true(drive_until(&f.rt, 1, cond_rejected, &four));
  l = stun_servers_of(f.a.dm);
  assert_int_equal(l.servers[0].rejected, 3);
  assert_int_equal(l.other_rejected, 1);
  assert_string_equal(l.other_last_reason, "no request in flight with this transaction id");
  mrt_stun_server_list_release(&l);
  puppet_close(&stranger);
  fake_finish(&f);
}

static void at_most_16_reflexive_addresses(void **unused) {
  (void)unused;
  fake_server f;
  fake_start(&f);
  for (int i = 0; i < 20; i++) {
    mrt_stun_txid tx = fake_request(&f);
    struct sockaddr_storage mapped = loop4((uint8_t)(10 + i), 1000);
    fake_answer(&f, &tx, &mapped);
    reflexive_n want = {f.a.dm, i < 16 ? (size_t)i + 1 : 16};
    assert_true(drive_until(&f.rt, 1, cond_reflexive_n, &want));
    uint64_t responses = counters_of(f.a.dm).stun_responses;
    assert_int_equal(responses, (uint64_t)i + 1);
  }
  mrt_direct_status *s = status_of(f.a.dm);
  assert_int_equal(s->n_reflexive, MRT_DIRECT_MAX_REFLEXIVE);
  struct sockaddr_storage oldest = loop4(14, 1000), newest = loop4(29, 1000);
  assert_true(same_addr(&s->reflexive[0], &oldest)); /* 10..13 were evicted */
  assert_true(same_addr(&s->reflexive[15], &newest));
  mrt_direct_status_free(s);
  fake_finish(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sweep_learns_reflexive_and_advertises),
      cmocka_unit_test(sweep_gate),
      cmocka_unit_test(prober_first_sweep_after_a_delay),
      cmocka_unit_test(prober_delay_range_and_variety),
      cmocka_unit_test(in_flight_cap_and_expiry),
      cmocka_unit_test(responses_need_an_in_flight_transaction),
      cmocka_unit_test(at_most_16_reflexive_addresses),
      cmocka_unit_test(classic_servers_teach_the_reflexive_address),
      cmocka_unit_test(rejections_are_counted_per_server_with_a_reason),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
