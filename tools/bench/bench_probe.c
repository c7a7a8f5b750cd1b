/* SPDX-License-Identifier: MIT */
/* meshrt-bench — probe_rtt: authenticated ping/pong round trips between two
 * DirectManagers on loopback.
 *
 * A driver actor asks DirectManager A to ping peer B (direct_ping_peer) and, when the
 * pong's answer comes back, asks again, ops times. One op is one complete
 * authenticated round trip as a node sees it: the ask, sealing the ping, the
 * UDP hop to B, B opening it and sealing the pong, the hop back, A opening it
 * and matching its transaction, and the answer to the driver. Setup (binding,
 * peer maps, the first path confirmation) is not timed.
 *
 * The extra metric, crypto_pct, is the share of a round trip spent in the
 * probe crypto: the four box operations of one round trip (seal and open of
 * a ping and of a pong, with precomputed shared keys as DirectManager uses
 * them) timed on their own over the same number of iterations, divided by
 * the round-trip time.
 *
 * Threads: A and the driver on executor 0, B on executor 1 when there are two
 * or more; the host thread sets up, starts the driver and waits on the latch.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include "bench.h"

typedef struct driver_args {
  mrt_ref *dm;
  uint64_t peer;
  uint64_t n;
  bench_latch *latch;
} driver_args;

typedef struct driver_state {
  driver_args a;
  uint64_t done;
} driver_state;

MRT_MESSAGE_DECLARE(, probe_go, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(probe_go, mrt_none, mrt_none, NULL, NULL);

static int ping_once(mrt_actor *self, driver_state *st);

static int on_pong(mrt_actor *self, void *state, int status, const void *reply, void *ud) {
  (void)reply;
  (void)ud;
  driver_state *st = state;
  if (status < 0)
    bench_die("probe_rtt: direct_ping_peer failed: %s", mrt_strerror(status));
  if (++st->done == st->a.n) {
    bench_latch_signal(st->a.latch, st->done);
    return 0;
  }
  return ping_once(self, st);
}

static int ping_once(mrt_actor *self, driver_state *st) {
  return MRT_ASK(direct_ping_peer, self, st->a.dm, &(mrt_ping_peer_req){st->a.peer}, MRT_SEC(5),
                 on_pong, NULL);
}

static int driver_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  ((driver_state *)state)->a = *(const driver_args *)args;
  return 0;
}

static int driver_go(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)p;
  (void)r;
  return ping_once(self, state);
}

static const mrt_handler_entry driver_handlers[] = {
    {&mrt_msg_probe_go, driver_go}, {&mrt_msg_bench_ready, bench_on_ready}, {NULL, NULL}};
static const mrt_actor_class driver_class = {.name = "bench-probe-driver",
                                             .state_size = sizeof(driver_state),
                                             .args_size = sizeof(driver_args),
                                             .on_start = driver_start,
                                             .handlers = driver_handlers};

typedef struct probe_node {
  mrt_ref *dm;
  mrt_probe_keypair key;
  struct sockaddr_storage ep;
} probe_node;

static void node_spawn(mrt_runtime *rt, int executor, probe_node *n) {
  mrt_direct_config cfg = mrt_direct_config_default();
  struct sockaddr_in *in = (struct sockaddr_in *)&cfg.listen_addr;
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cfg.advertise_local = false;
  BENCH_CHECK(mrt_probe_keypair_generate(&n->key));
  cfg.key = n->key;
  mrt_spawn_opts opts = {.executor = executor};
  BENCH_CHECK(mrt_direct_spawn(rt, &cfg, &opts, &n->dm));
  mrt_sock_info si;
  BENCH_CHECK(MRT_ASK_SYNC(direct_sock_info, n->dm, &(mrt_none){0}, &si, MRT_SEC(10)));
  if (si.inert)
    bench_die("probe_rtt: no UDP socket on 127.0.0.1");
  n->ep = si.local;
}

static void publish_peers(mrt_runtime *rt, const probe_node *a, const probe_node *b) {
  mrt_peer_map *m = NULL;
  BENCH_CHECK(mrt_peer_map_new(&m));
  BENCH_CHECK(mrt_peer_map_add(m, 1, a->key.pub, &a->ep, 1));
  BENCH_CHECK(mrt_peer_map_add(m, 2, b->key.pub, &b->ep, 1));
  BENCH_CHECK(mrt_node_publish_peer_map(rt, m));
}

/* Host thread: until A's path to B is confirmed (the untimed warm-up). */
static void wait_for_path(mrt_ref *a) {
  uint64_t deadline = bench_now_ns() + MRT_SEC(10);
  for (;;) {
    mrt_path_latency pl;
    BENCH_CHECK(MRT_ASK_SYNC(direct_path_latency, a, &(mrt_path_latency_req){2}, &pl, MRT_SEC(10)));
    if (pl.has_path)
      return;
    if (bench_now_ns() > deadline)
      bench_die("probe_rtt: no direct path between the two nodes on loopback");
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
}

/* ns spent in the probe crypto of `n` round trips (2 seals, 2 opens each). */
static uint64_t crypto_ns(uint64_t n) {
  mrt_probe_keypair ka, kb;
  mrt_probe_session ab, ba;
  BENCH_CHECK(mrt_probe_keypair_generate(&ka));
  BENCH_CHECK(mrt_probe_keypair_generate(&kb));
  BENCH_CHECK(mrt_probe_session_init(&ab, &ka, kb.pub));
  BENCH_CHECK(mrt_probe_session_init(&ba, &kb, ka.pub));
  uint8_t buf[MRT_PROBE_MAX_LEN];
  mrt_probe_msg ping = {.kind = MRT_PROBE_PING}, got;
  mrt_probe_msg pong = {.kind = MRT_PROBE_PONG};
  pong.observed.ss_family = AF_INET;
  uint64_t t0 = bench_now_ns();
  for (uint64_t i = 0; i < n; i++) {
    BENCH_CHECK(mrt_probe_txid_random(&ping.txid));
    int len = mrt_probe_seal(&ab, &ping, buf, sizeof buf);
    BENCH_CHECK(mrt_probe_open(&ba, buf, (size_t)len, &got));
    pong.txid = got.txid;
    len = mrt_probe_seal(&ba, &pong, buf, sizeof buf);
    BENCH_CHECK(mrt_probe_open(&ab, buf, (size_t)len, &got));
  }
  uint64_t elapsed = bench_now_ns() - t0;
  mrt_probe_session_wipe(&ab);
  mrt_probe_session_wipe(&ba);
  return elapsed;
}

void bench_probe_rtt(const bench_cfg *cfg, bench_sample *out) {
  mrt_runtime *rt = bench_runtime_start(cfg);
  probe_node a, b;
  node_spawn(rt, 0, &a);
  node_spawn(rt, cfg->threads > 1 ? 1 : 0, &b);
  publish_peers(rt, &a, &b);
  wait_for_path(a.dm);

  bench_latch latch;
  bench_latch_init(&latch);
  driver_args args = {.dm = a.dm, .peer = 2, .n = cfg->ops, .latch = &latch};
  mrt_ref *driver = NULL;
  BENCH_CHECK(mrt_actor_spawn(rt, &driver_class, &args, &(mrt_spawn_opts){.executor = 0}, &driver));
  bench_wait_ready(driver);
  uint64_t t0 = bench_now_ns();
  BENCH_CHECK(MRT_TELL(probe_go, driver, &(mrt_none){0}));
  uint64_t done = bench_latch_wait(&latch);
  out->elapsed_ns = latch.end_ns - t0;
  if (done != cfg->ops)
    bench_die("probe_rtt: %llu of %llu round trips", (unsigned long long)done,
              (unsigned long long)cfg->ops);
  bench_latch_destroy(&latch);
  mrt_ref_unref(driver);
  mrt_ref_unref(a.dm);
  mrt_ref_unref(b.dm);
  bench_runtime_finish(rt);

  double per_rtt = (double)out->elapsed_ns / (double)cfg->ops;
  double per_crypto = (double)crypto_ns(cfg->ops) / (double)cfg->ops;
  out->extra = per_rtt > 0 ? 100.0 * per_crypto / per_rtt : 0.0;
}
