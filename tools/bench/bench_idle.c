/* SPDX-License-Identifier: MIT */
/* meshrt-bench — idle_cpu: what a runtime at rest costs in CPU time.
 *
 * A mesh node often runs on a laptop or a router, so a runtime with nothing
 * to do must not burn a core. Setup (untimed): a started runtime with
 * --threads executors and 1,000 idle actors spread over them. The measured
 * part is `ops` milliseconds of wall time in which the host thread tells one
 * of those actors a message every 100 ms (a node at rest still hears a few
 * packets and timers a second; each such message is cross-thread work after
 * which an executor may spin before it sleeps, so the spinning shows up
 * here). Reported as the run's time is this process's CPU time over the
 * window, so ns/op is CPU ns per millisecond of wall time. The extras:
 * cpu_pct (percent of one core) and spin_pct (the part of it the executors
 * spent spinning, mrt_runtime_stats.spin_ns, in percent of one core).
 *
 * Threads: the actors run on the executors; the host thread sets up, sleeps
 * between its messages and reads the numbers.
 */
#include <stdlib.h>
#include <time.h>

#include "bench.h"

#define IDLE_ACTORS 1000
#define TRICKLE_MS 100

MRT_MESSAGE_DECLARE(, idle_note, uint64_t, mrt_none);
MRT_MESSAGE_DEFINE(idle_note, uint64_t, mrt_none, NULL, NULL);

static int idle_on_note(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)payload;
  (void)r;
  return 0;
}

static const mrt_handler_entry resting_handlers[] = {
    {&mrt_msg_idle_note, idle_on_note}, {&mrt_msg_bench_ready, bench_on_ready}, {NULL, NULL}};
static const mrt_actor_class resting_class = {.name = "bench-resting",
                                              .handlers = resting_handlers};

static void sleep_until_ns(uint64_t t) {
  struct timespec ts = {.tv_sec = (time_t)(t / MRT_NS_PER_SEC),
                        .tv_nsec = (long)(t % MRT_NS_PER_SEC)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
    ;
}

void bench_idle_cpu(const bench_cfg *cfg, bench_sample *out) {
  mrt_runtime *rt = bench_runtime_start(cfg);
  mrt_ref **actors = calloc(IDLE_ACTORS, sizeof *actors);
  if (actors == NULL)
    bench_die("out of memory");
  for (int i = 0; i < IDLE_ACTORS; i++)
    BENCH_CHECK(mrt_actor_spawn(rt, &resting_class, NULL, NULL, &actors[i]));
  /* Run queues are FIFO: once the last few spawned have answered, every
   * actor has started. */
  for (unsigned i = 0; i < cfg->threads && i < IDLE_ACTORS; i++)
    bench_wait_ready(actors[IDLE_ACTORS - 1 - i]);

  mrt_runtime_stats s0, s1;
  mrt_runtime_get_stats(rt, &s0);
  uint64_t wall0 = bench_now_ns(), cpu0 = bench_cpu_ns();
  uint64_t end = wall0 + cfg->ops * MRT_NS_PER_MS;
  uint64_t next = wall0;
  for (uint64_t n = 0;; n++) {
    next += (uint64_t)TRICKLE_MS * MRT_NS_PER_MS;
    if (next > end)
      break;
    sleep_until_ns(next);
    BENCH_CHECK(MRT_TELL(idle_note, actors[n % IDLE_ACTORS], &n));
  }
  sleep_until_ns(end);
  uint64_t cpu = bench_cpu_ns() - cpu0, wall = bench_now_ns() - wall0;
  mrt_runtime_get_stats(rt, &s1);

  out->elapsed_ns = cpu;
  out->extra = 100.0 * (double)cpu / (double)wall;
  out->extra2 = 100.0 * (double)(s1.spin_ns - s0.spin_ns) / (double)wall;
  for (int i = 0; i < IDLE_ACTORS; i++)
    mrt_ref_unref(actors[i]);
  free(actors);
  bench_runtime_finish(rt);
}
