/* SPDX-License-Identifier: MIT */
/* meshrt-bench — actor lifecycle: fjcreate (spawn, one message, stop) and
 * idle_actor_bytes (what an idle actor costs in resident memory).
 *
 * fjcreate follows Savina's fork-join create: a forker actor spawns the
 * workers from inside a handler (as a supervisor would) with the default
 * placement (the spawner's executor; the runtime may hand started work to
 * idle executors), and tells each one message; a worker reports to the
 * forker and stops itself. The clock stops once the forker has every report
 * and the runtime's live-actor count is back to what it was, so the stop path
 * of every worker is inside the measurement. Runs after the first reuse the
 * process's heap (it is not trimmed between runs), as the peers' runs do.
 *
 * idle_actor_bytes spawns actors from the host thread, waits until every one
 * has started and gone idle, and divides the growth of the resident set by
 * their number. Actor state is excluded (the class has state_size 0), so the
 * figure is the runtime's own per-actor overhead: control block, registry
 * entry, allocator slack.
 *
 * Threads: handlers on executor threads; the host spawns (idle_actor_bytes),
 * tells the first message and waits.
 */
#include <sched.h>
#include <stddef.h>

#include "bench.h"

/* ==== fjcreate ============================================================ */

typedef struct fj_report_to {
  mrt_ref *forker; /* borrowed: the forker outlives every worker */
} fj_report_to;

MRT_MESSAGE_DECLARE(, fj_work, fj_report_to, mrt_none);
MRT_MESSAGE_DEFINE(fj_work, fj_report_to, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, fj_done, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(fj_done, mrt_none, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, fj_go, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(fj_go, mrt_none, mrt_none, NULL, NULL);

typedef struct forker_args {
  uint64_t workers;
  bench_latch *latch;
} forker_args;

typedef struct forker_state {
  forker_args a;
  uint64_t reported;
} forker_state;

static int worker_on_work(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)state;
  (void)r;
  int rc = MRT_TELL(fj_done, ((const fj_report_to *)payload)->forker, &(mrt_none){0});
  if (rc < 0)
    return rc;
  return mrt_actor_stop(self);
}

static const mrt_handler_entry worker_handlers[] = {{&mrt_msg_fj_work, worker_on_work},
                                                    {NULL, NULL}};
static const mrt_actor_class worker_class = {.name = "bench-worker", .handlers = worker_handlers};

static int forker_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  ((forker_state *)state)->a = *(const forker_args *)args;
  return 0;
}

static int forker_on_go(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)payload;
  (void)r;
  forker_state *st = state;
  for (uint64_t i = 0; i < st->a.workers; i++) {
    mrt_ref *worker;
    int rc = mrt_actor_spawn(mrt_actor_runtime(self), &worker_class, NULL, NULL, &worker);
    if (rc < 0)
      return rc;
    rc = MRT_TELL(fj_work, worker, &(fj_report_to){self});
    mrt_ref_unref(worker); /* the runtime keeps it alive until it stops */
    if (rc < 0)
      return rc;
  }
  return 0;
}

static int forker_on_done(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)self;
  (void)payload;
  (void)r;
  forker_state *st = state;
  if (++st->reported == st->a.workers)
    bench_latch_signal(st->a.latch, st->reported);
  return 0;
}

static const mrt_handler_entry forker_handlers[] = {{&mrt_msg_fj_go, forker_on_go},
                                                    {&mrt_msg_fj_done, forker_on_done},
                                                    {&mrt_msg_bench_ready, bench_on_ready},
                                                    {NULL, NULL}};
static const mrt_actor_class forker_class = {.name = "bench-forker",
                                             .state_size = sizeof(forker_state),
                                             .args_size = sizeof(forker_args),
                                             .on_start = forker_start,
                                             .handlers = forker_handlers};

static uint64_t actors_live(const mrt_runtime *rt) {
  mrt_runtime_stats s;
  mrt_runtime_get_stats(rt, &s);
  return s.actors_live;
}

void bench_fjcreate(const bench_cfg *cfg, bench_sample *out) {
  mrt_runtime *rt = bench_runtime_start(cfg);
  bench_latch latch;
  bench_latch_init(&latch);
  forker_args fa = {cfg->ops, &latch};
  mrt_ref *forker = NULL;
  BENCH_CHECK(mrt_actor_spawn(rt, &forker_class, &fa, NULL, &forker));
  bench_wait_ready(forker);
  uint64_t live_before = actors_live(rt);
  uint64_t t0 = bench_now_ns();
  BENCH_CHECK(MRT_TELL(fj_go, forker, &(mrt_none){0}));
  bench_latch_wait(&latch);
  /* Every worker has reported, but with several executors some may still be
   * inside their stop path; they are not "gone" until the count drops. */
  uint64_t end = latch.end_ns;
  if (actors_live(rt) != live_before) {
    while (actors_live(rt) != live_before)
      sched_yield();
    end = bench_now_ns();
  }
  out->elapsed_ns = end - t0;
  mrt_ref_unref(forker);
  mrt_runtime_unref(rt); /* no heap trim: the next run reuses this memory */
  bench_latch_destroy(&latch);
}

/* ==== idle_actor_bytes ==================================================== */

static const mrt_handler_entry idle_handlers[] = {{&mrt_msg_bench_ready, bench_on_ready},
                                                  {NULL, NULL}};
static const mrt_actor_class idle_class = {.name = "bench-idle", .handlers = idle_handlers};

/* Run queues are FIFO, so once an actor spawned after all the others on an
 * executor answers, every earlier actor there has run on_start and gone idle. */
static void wait_all_started(mrt_runtime *rt, unsigned executors) {
  for (unsigned i = 0; i < executors; i++) {
    mrt_ref *probe = NULL;
    mrt_spawn_opts opts = {.executor = (int)i};
    BENCH_CHECK(mrt_actor_spawn(rt, &idle_class, NULL, &opts, &probe));
    bench_wait_ready(probe);
    mrt_ref_unref(probe);
  }
}

void bench_idle_actor_bytes(const bench_cfg *cfg, bench_sample *out) {
  mrt_runtime *rt = bench_runtime_start(cfg);
  /* Warm the executors' paths (first-touch of their stacks, libevent) so the
   * baseline below already includes them. */
  wait_all_started(rt, cfg->threads);
  bench_trim_heap();
  uint64_t rss0 = bench_rss_bytes();
  uint64_t t0 = bench_now_ns();
  for (uint64_t i = 0; i < cfg->ops; i++)
    /* No ref kept: the runtime's registry holds the idle actor until shutdown,
     * and the host's own bookkeeping must not count as actor memory. */
    BENCH_CHECK(mrt_actor_spawn(rt, &idle_class, NULL, NULL, NULL));
  wait_all_started(rt, cfg->threads);
  uint64_t t1 = bench_now_ns();
  uint64_t rss1 = bench_rss_bytes();
  out->elapsed_ns = t1 - t0;
  out->extra = rss1 > rss0 ? (double)(rss1 - rss0) / (double)cfg->ops : 0.0;
  bench_runtime_finish(rt);
}
