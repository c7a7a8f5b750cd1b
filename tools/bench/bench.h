/* SPDX-License-Identifier: MIT */
/* meshrt-bench — declarations shared by the benchmark tool's files.
 *
 * A benchmark is one function that builds a fresh started runtime, times one
 * run of its workload and tears the runtime down again (untimed). main.c
 * repeats it, takes medians and prints; common.c holds the helpers every
 * benchmark needs (clock, RSS, a completion latch, a "ready" ask); the
 * bench_*.c files hold the workloads. Everything here uses only the public
 * <meshrt/meshrt.h> API, so the numbers are what a host program would see.
 */
#ifndef MESHRT_BENCH_H
#define MESHRT_BENCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <meshrt/mesh.h>

/* What one run is asked to do. */
typedef struct bench_cfg {
  unsigned threads; /* executors of the runtime (each gets its own thread) */
  uint64_t ops;     /* operations in the timed part of one run */
  uint32_t spin_ns; /* mrt_runtime_config.spin_ns (0: the runtime's default) */
} bench_cfg;

/* What one run measured. */
typedef struct bench_sample {
  uint64_t elapsed_ns; /* the timed part only */
  double extra;        /* a benchmark's own metric (idle_actor_bytes: bytes/actor) */
  double extra2;       /* a second one (peers_1000: bytes/peer) */
} bench_sample;

typedef void (*bench_fn)(const bench_cfg *cfg, bench_sample *out);

/* ---- failure handling ----------------------------------------------------
 * A benchmark that cannot run has no number worth printing, so every
 * unexpected runtime error ends the process with a message naming the call. */
_Noreturn void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bench_check(int rc, const char *expr, const char *file, int line);
#define BENCH_CHECK(expr) bench_check((expr), #expr, __FILE__, __LINE__)

/* ---- measuring ----------------------------------------------------------- */
uint64_t bench_now_ns(void);    /* CLOCK_MONOTONIC */
uint64_t bench_rss_bytes(void); /* resident set size now, from /proc/self/statm */
long bench_peak_rss_kb(void);   /* getrusage(RUSAGE_SELF).ru_maxrss */
/* Gives freed heap memory back to the kernel, so that RSS deltas measure what
 * a run allocates and not what an earlier run left cached. */
void bench_trim_heap(void);

/* ---- runtimes ------------------------------------------------------------ */
/* A new runtime with cfg->threads executors, started (one thread each). */
mrt_runtime *bench_runtime_start(const bench_cfg *cfg);
/* Shuts it down and frees it (mrt_runtime_unref), then trims the heap. */
/* Prints the runtime's scheduling counters first if --sched-stats asked. */
void bench_runtime_finish(mrt_runtime *rt);
extern bool bench_sched_stats; /* --sched-stats */
/* Process CPU time (user + system, every thread), from getrusage. */
uint64_t bench_cpu_ns(void);

/* ---- completion latch ----------------------------------------------------
 * The last handler of a workload signals the latch; the host thread waits on
 * it. The signaller stamps the end time itself, so the host's wake-up latency
 * is not part of the measurement. */
typedef struct bench_latch {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool done;
  uint64_t value;  /* a result the signaller hands over (e.g. a count) */
  uint64_t end_ns; /* bench_now_ns() at the signal */
} bench_latch;

void bench_latch_init(bench_latch *l);
void bench_latch_destroy(bench_latch *l);
/* Any thread, typically a handler: stamps the time, publishes `value`. */
void bench_latch_signal(bench_latch *l, uint64_t value);
/* Host thread: waits (dies after a generous timeout) and returns the value. */
uint64_t bench_latch_wait(bench_latch *l);

/* ---- readiness ------------------------------------------------------------
 * Every benchmark class handles bench_ready, so the host can make sure an
 * actor has started before the clock starts. */
MRT_MESSAGE_DECLARE(, bench_ready, mrt_none, mrt_none);
int bench_on_ready(mrt_actor *self, void *state, const void *payload, mrt_reply *reply);
/* Host thread: returns once `ref` has run on_start and answered. */
void bench_wait_ready(mrt_ref *ref);

/* ---- the benchmarks ------------------------------------------------------ */
void bench_pingpong(const bench_cfg *cfg, bench_sample *out);
void bench_counting(const bench_cfg *cfg, bench_sample *out);
void bench_threadring(const bench_cfg *cfg, bench_sample *out);
void bench_ask(const bench_cfg *cfg, bench_sample *out);
void bench_fjcreate(const bench_cfg *cfg, bench_sample *out);
void bench_idle_actor_bytes(const bench_cfg *cfg, bench_sample *out);
void bench_ask_sync(const bench_cfg *cfg, bench_sample *out);
void bench_xthread(const bench_cfg *cfg, bench_sample *out);
void bench_bus_fanout(const bench_cfg *cfg, bench_sample *out);
void bench_netmon_storm(const bench_cfg *cfg, bench_sample *out);
/* Why netmon_storm cannot run here (not root, no netlink monitor), or NULL. */
const char *netmon_storm_unavailable(void);
void bench_probe_rtt(const bench_cfg *cfg, bench_sample *out);
void bench_peers_1000(const bench_cfg *cfg, bench_sample *out);
void bench_rebind_recover(const bench_cfg *cfg, bench_sample *out);
void bench_rebind_recover_newport(const bench_cfg *cfg, bench_sample *out);
void bench_idle_cpu(const bench_cfg *cfg, bench_sample *out);

#endif
