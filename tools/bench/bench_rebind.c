/* SPDX-License-Identifier: MIT */
/* meshrt-bench — rebind_recover and rebind_recover_newport: how soon a direct
 * path is confirmed again after a rebind, between two DirectManagers A and B
 * on loopback (real clock, real UDP sockets, threaded runtime).
 *
 * rebind_recover: with both paths confirmed, one op asks A to
 * RebindAndReprobe and waits until A's path to B is confirmed again. The time
 * of an op is what A's DirectManager measured itself (peers[].reconfirm_ns of
 * mrt_direct_status: from the rebind to the pong that re-confirmed the path),
 * so the host thread's polling adds nothing to it. A keeps its port, so B's
 * path to A never breaks; the extra metric port_kept_pct is the share of
 * rebinds that kept the port (100 unless the kernel refused the overlap).
 *
 * rebind_recover_newport: A's port cannot be kept. One op stops A, holds A's
 * old port with a plain socket of ours (so the new A cannot have it, and B's
 * pings to it go nowhere), starts A' with the same key on an ephemeral port
 * and times from the spawn until B's best path to A points at A' (B learns
 * A' from its endpoint update or by challenging its pings). Ops are paced
 * 130 ms apart (untimed), as B limits its answers to unknown sources. The host polls
 * B's direct_path_latency, so the resolution is one ask round trip (microseconds).
 *
 * Setup (binding, the peer map, the first confirmations) is not timed. The
 * log is quietened to warnings for the run: DirectManager logs every rebind
 * and confirmation at info, and writing those lines would be timed too.
 * Threads: A on executor 0, B on executor 1 when there are two or more; the
 * host thread drives everything with mrt_ask_sync.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define ID_A 1
#define ID_B 2
#define WAIT_NS MRT_SEC(10) /* for anything that should take milliseconds */

typedef struct rnode {
  mrt_ref *dm;
  mrt_probe_keypair key;
  struct sockaddr_storage ep; /* where it is bound now */
} rnode;

static void pause_us(long us) {
  struct timespec ts = {0, us * 1000L};
  nanosleep(&ts, NULL);
}

/* Spawns a DirectManager on 127.0.0.1 with n->key (ephemeral port) and
 * fills n->dm and n->ep. */
static void rnode_spawn(mrt_runtime *rt, int executor, rnode *n, const char *bench) {
  mrt_direct_config cfg = mrt_direct_config_default();
  struct sockaddr_in *in = (struct sockaddr_in *)&cfg.listen_addr;
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cfg.advertise_local = false; /* loopback only: its endpoints come from the peer's pongs */
  cfg.key = n->key;
  BENCH_CHECK(mrt_direct_spawn(rt, &cfg, &(mrt_spawn_opts){.executor = executor}, &n->dm));
  mrt_sock_info si;
  BENCH_CHECK(MRT_ASK_SYNC(direct_sock_info, n->dm, &(mrt_none){0}, &si, WAIT_NS));
  if (si.inert)
    bench_die("%s: no UDP socket on 127.0.0.1", bench);
  n->ep = si.local;
}

static void pair_start(mrt_runtime *rt, const bench_cfg *cfg, rnode *a, rnode *b,
                       const char *bench) {
  BENCH_CHECK(mrt_probe_keypair_generate(&a->key));
  BENCH_CHECK(mrt_probe_keypair_generate(&b->key));
  rnode_spawn(rt, 0, a, bench);
  rnode_spawn(rt, cfg->threads > 1 ? 1 : 0, b, bench);
  mrt_peer_map *m = NULL;
  BENCH_CHECK(mrt_peer_map_new(&m));
  BENCH_CHECK(mrt_peer_map_add(m, ID_A, a->key.pub, &a->ep, 1));
  BENCH_CHECK(mrt_peer_map_add(m, ID_B, b->key.pub, &b->ep, 1));
  BENCH_CHECK(mrt_node_publish_peer_map(rt, m));
}

static bool same_endpoint(const struct sockaddr_storage *x, const struct sockaddr_storage *y) {
  const struct sockaddr_in *a = (const struct sockaddr_in *)x;
  const struct sockaddr_in *b = (const struct sockaddr_in *)y;
  return a->sin_family == AF_INET && b->sin_family == AF_INET && a->sin_port == b->sin_port &&
         a->sin_addr.s_addr == b->sin_addr.s_addr;
}

/* Host thread: until `dm` has a trusted path to `peer` (at `at`, if not
 * NULL). Returns bench_now_ns() when it saw it. */
static uint64_t wait_path(mrt_ref *dm, uint64_t peer, const struct sockaddr_storage *at,
                          const char *bench) {
  uint64_t deadline = bench_now_ns() + WAIT_NS;
  for (;;) {
    mrt_path_latency pl;
    BENCH_CHECK(MRT_ASK_SYNC(direct_path_latency, dm, &(mrt_path_latency_req){peer}, &pl, WAIT_NS));
    uint64_t now = bench_now_ns();
    if (pl.has_path && (at == NULL || same_endpoint(&pl.addr, at)))
      return now;
    if (now > deadline)
      bench_die("%s: peer %llu's path did not come back within 10 s", bench,
                (unsigned long long)peer);
    pause_us(20);
  }
}

/* A's own account of its latest recovery: reconfirm_ns and how many. */
static void reconfirm_of(mrt_ref *a, uint64_t *ns, uint64_t *count) {
  mrt_direct_status *st = NULL;
  BENCH_CHECK(MRT_ASK_SYNC(direct_state, a, &(mrt_none){0}, &st, WAIT_NS));
  *ns = *count = 0;
  for (size_t i = 0; i < st->n_peers; i++)
    if (st->peers[i].id == ID_B) {
      *ns = st->peers[i].reconfirm_ns;
      *count = st->peers[i].reconfirms;
    }
  mrt_direct_status_free(st);
}

void bench_rebind_recover(const bench_cfg *cfg, bench_sample *out) {
  mrt_log_level level = mrt_log_get_level();
  mrt_log_set_level(MRT_LOG_WARN);
  mrt_runtime *rt = bench_runtime_start(cfg);
  rnode a, b;
  pair_start(rt, cfg, &a, &b, "rebind_recover");
  wait_path(a.dm, ID_B, NULL, "rebind_recover");
  wait_path(b.dm, ID_A, NULL, "rebind_recover");

  uint64_t total = 0, kept = 0, last_ns, seen;
  reconfirm_of(a.dm, &last_ns, &seen);
  for (uint64_t i = 0; i < cfg->ops; i++) {
    mrt_sock_info si;
    BENCH_CHECK(MRT_ASK_SYNC(direct_rebind_and_reprobe, a.dm, &(mrt_none){0}, &si, WAIT_NS));
    kept += si.port_outcome == MRT_PORT_KEPT;
    /* Asked after the rebind's handler, so the old path is gone by then. */
    wait_path(a.dm, ID_B, NULL, "rebind_recover");
    uint64_t count;
    reconfirm_of(a.dm, &last_ns, &count);
    if (count != seen + 1)
      bench_die("rebind_recover: %llu recoveries measured for one rebind",
                (unsigned long long)(count - seen));
    seen = count;
    total += last_ns;
  }
  /* B's path to A survived on the same endpoint throughout (the port was kept). */
  mrt_sock_info si;
  BENCH_CHECK(MRT_ASK_SYNC(direct_sock_info, a.dm, &(mrt_none){0}, &si, WAIT_NS));
  wait_path(b.dm, ID_A, &si.local, "rebind_recover");
  out->elapsed_ns = total;
  out->extra = 100.0 * (double)kept / (double)cfg->ops;
  mrt_ref_unref(a.dm);
  mrt_ref_unref(b.dm);
  bench_runtime_finish(rt);
  mrt_log_set_level(level);
}

/* Binds a plain UDP socket to `ep` once the stopped DirectManager that held
 * it has closed its socket. Returns the socket. */
static int hold_port(const struct sockaddr_storage *ep) {
  uint64_t deadline = bench_now_ns() + WAIT_NS;
  for (;;) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      bench_die("rebind_recover_newport: socket: %s", strerror(errno));
    if (bind(fd, (const struct sockaddr *)ep, sizeof(struct sockaddr_in)) == 0)
      return fd;
    int err = errno;
    close(fd);
    if (err != EADDRINUSE || bench_now_ns() > deadline)
      bench_die("rebind_recover_newport: cannot hold the old port: %s", strerror(err));
    pause_us(50);
  }
}

void bench_rebind_recover_newport(const bench_cfg *cfg, bench_sample *out) {
  const char *name = "rebind_recover_newport";
  mrt_log_level level = mrt_log_get_level();
  mrt_log_set_level(MRT_LOG_WARN);
  mrt_runtime *rt = bench_runtime_start(cfg);
  rnode a, b;
  pair_start(rt, cfg, &a, &b, name);
  wait_path(a.dm, ID_B, NULL, name);
  wait_path(b.dm, ID_A, &a.ep, name);

  uint64_t total = 0;
  for (uint64_t i = 0; i < cfg->ops; i++) {
    /* B answers at most 8 pings a second per peer from sources that are no
     * candidate (direct_learn.c: no reflector for replays); a peer that
     * really moved does not move 8 times a second, so neither does A'. */
    if (i > 0)
      pause_us(130 * 1000);
    BENCH_CHECK(mrt_actor_stop(a.dm));
    int held = hold_port(&a.ep);
    a.dm = mrt_ref_unref(a.dm);
    uint64_t t0 = bench_now_ns();
    rnode_spawn(rt, 0, &a, name); /* same key, a new port: ours holds the old one */
    total += wait_path(b.dm, ID_A, &a.ep, name) - t0;
    close(held);
  }
  out->elapsed_ns = total;
  mrt_ref_unref(a.dm);
  mrt_ref_unref(b.dm);
  bench_runtime_finish(rt);
  mrt_log_set_level(level);
}
