/* SPDX-License-Identifier: MIT */
/* meshrt-bench — peers_1000: the standing cost of a large peer table, as a
 * node with 1,000 configured peers that never answer pays it.
 *
 * Setup (untimed): 50 UDP sockets on 127.0.0.2-127.0.0.51 that nobody reads
 * (the silent peers' endpoints, 20 peers each: traffic stays on this
 * machine), then a node as meshrt-node runs it (DirectManager and
 * DerpLatencyMeasurer under their supervisor, on 127.0.0.1, no DERP map)
 * with no peers yet. The heap is trimmed and RSS read; then a peer map of
 * 1,000 peers (fresh keys, one endpoint each) is published and the run waits
 * until DirectManager holds all of them.
 *
 * The measured part is `ops` milliseconds of wall time in which the node
 * pings its silent peers as it would in production (each candidate at most
 * once per 5 s, the pinger ticking every 2 s). What is reported as the run's
 * time is this process's CPU time (user + system, every thread) over that
 * window, so ns/op is CPU ns per millisecond of wall time. The extras:
 * cpu_ms_per_s (CPU milliseconds per wall second; 1000 is a whole core) and
 * bytes_per_peer (RSS growth from before the peer map to the end of the
 * window, heap trimmed, divided by 1,000: the table, each peer's session and
 * candidates, and what pinging them keeps). Pings sent in the window go to
 * stderr.
 *
 * Threads: the node's actors run on the runtime's executors; the host thread
 * sets up, sleeps through the window and reads the numbers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define N_PEERS 1000
#define N_SILENT 50

static uint64_t cpu_ns(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
         (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

static struct sockaddr_storage loopback(uint32_t host, uint16_t port) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *in = (struct sockaddr_in *)&ss;
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(host);
  in->sin_port = htons(port);
  return ss;
}

/* A bound UDP socket on 127.0.0.(2+i) that is never read; its address. */
static int silent_socket(int i, struct sockaddr_storage *addr) {
  *addr = loopback(INADDR_LOOPBACK + 2 + (uint32_t)i, 0);
  socklen_t len = sizeof(struct sockaddr_in);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)addr, len) < 0 ||
      getsockname(fd, (struct sockaddr *)addr, &len) < 0)
    bench_die("peers_1000: cannot bind a silent peer on 127.0.0.%d: %s", 2 + i, strerror(errno));
  return fd;
}

static mrt_peer_map *silent_peers(const struct sockaddr_storage *eps) {
  mrt_peer_map *m = NULL;
  BENCH_CHECK(mrt_peer_map_new(&m));
  for (int i = 0; i < N_PEERS; i++) {
    mrt_probe_keypair kp;
    BENCH_CHECK(mrt_probe_keypair_generate(&kp));
    BENCH_CHECK(mrt_peer_map_add(m, (uint64_t)i + 1, kp.pub, &eps[i % N_SILENT], 1));
  }
  return m;
}

static mrt_direct_status *direct_state(mrt_node *node) {
  mrt_direct_status *ds = NULL;
  BENCH_CHECK(MRT_ASK_SYNC(direct_state, mrt_node_direct(node), &(mrt_none){0}, &ds, MRT_SEC(30)));
  return ds;
}

/* Until DirectManager holds every peer; returns its pings sent so far. */
static uint64_t wait_for_peers(mrt_node *node) {
  uint64_t deadline = bench_now_ns() + MRT_SEC(60);
  for (;;) {
    mrt_direct_status *ds = direct_state(node);
    size_t n = ds->n_peers;
    uint64_t pings = ds->counters.pings_sent;
    mrt_direct_status_free(ds);
    if (n == N_PEERS)
      return pings;
    if (bench_now_ns() > deadline)
      bench_die("peers_1000: DirectManager holds %zu of %d peers after 60 s", n, N_PEERS);
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

static void sleep_ms(uint64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

void bench_peers_1000(const bench_cfg *cfg, bench_sample *out) {
  int fds[N_SILENT];
  struct sockaddr_storage eps[N_SILENT];
  for (int i = 0; i < N_SILENT; i++)
    fds[i] = silent_socket(i, &eps[i]);
  mrt_runtime *rt = bench_runtime_start(cfg);
  mrt_node_config nc = mrt_node_config_default();
  nc.listen_addr = nc.measure_addr = loopback(INADDR_LOOPBACK, 0);
  nc.advertise_local = false;
  mrt_node *node = NULL;
  BENCH_CHECK(mrt_node_start(rt, &nc, &node));

  bench_trim_heap();
  uint64_t rss0 = bench_rss_bytes();
  BENCH_CHECK(mrt_node_publish_peer_map(rt, silent_peers(eps))); /* takes the map */
  uint64_t pings0 = wait_for_peers(node);

  uint64_t c0 = cpu_ns();
  sleep_ms(cfg->ops);
  out->elapsed_ns = cpu_ns() - c0;

  mrt_direct_status *ds = direct_state(node);
  uint64_t pings = ds->counters.pings_sent - pings0;
  mrt_direct_status_free(ds);
  bench_trim_heap();
  uint64_t rss1 = bench_rss_bytes();
  out->extra = (double)out->elapsed_ns / 1e6 / ((double)cfg->ops / 1000.0);
  out->extra2 = rss1 > rss0 ? (double)(rss1 - rss0) / N_PEERS : 0.0;
  fprintf(stderr, "peers_1000: %llu pings in %.1f s, %.3f ms CPU, RSS %+.0f kB\n",
          (unsigned long long)pings, (double)cfg->ops / 1000.0, (double)out->elapsed_ns / 1e6,
          ((double)rss1 - (double)rss0) / 1024.0);

  BENCH_CHECK(mrt_node_stop(node, MRT_SEC(5)));
  bench_runtime_finish(rt);
  mrt_node_free(node); /* after the runtime's shutdown, as it asks */
  for (int i = 0; i < N_SILENT; i++)
    close(fds[i]);
}
