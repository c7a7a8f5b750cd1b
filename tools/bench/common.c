/* SPDX-License-Identifier: MIT */
/* meshrt-bench — helpers shared by the benchmarks: failure reporting, the
 * clock, RSS readings, runtime setup/teardown, the completion latch and the
 * "ready" ask.
 *
 * Threads: bench_latch_signal and bench_on_ready run on executor threads
 * (inside handlers); everything else runs on the host thread that drives a
 * benchmark. The latch is a mutex/condvar pair, so its value and end time are
 * published to the waiter by the mutex.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "bench.h"

/* No workload here takes more than a few seconds; a latch still closed after
 * this long means a lost message, and hanging would hide that. */
#define LATCH_TIMEOUT_SEC 120

MRT_MESSAGE_DEFINE(bench_ready, mrt_none, mrt_none, NULL, NULL);

_Noreturn void bench_die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("meshrt-bench: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

void bench_check(int rc, const char *expr, const char *file, int line) {
  if (rc < 0)
    bench_die("%s:%d: %s failed: %s", file, line, expr, mrt_strerror(rc));
}

uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * MRT_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t bench_rss_bytes(void) {
  /* statm's second field is the resident page count: cheaper and more
   * precise (pages, not kB) than parsing VmRSS from /proc/self/status. */
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long size = 0, resident = 0;
  if (f == NULL)
    bench_die("cannot open /proc/self/statm (is /proc mounted?)");
  int n = fscanf(f, "%lu %lu", &size, &resident);
  fclose(f);
  if (n != 2)
    bench_die("cannot parse /proc/self/statm");
  return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

long bench_peak_rss_kb(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    return 0;
  return ru.ru_maxrss; /* Linux reports kilobytes */
}

void bench_trim_heap(void) {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

mrt_runtime *bench_runtime_start(const bench_cfg *cfg) {
  mrt_runtime *rt = NULL;
  BENCH_CHECK(mrt_runtime_new(
      &(mrt_runtime_config){.executors = cfg->threads, .spin_ns = cfg->spin_ns}, &rt));
  BENCH_CHECK(mrt_runtime_start(rt));
  return rt;
}

bool bench_sched_stats;

void bench_runtime_finish(mrt_runtime *rt) {
  if (bench_sched_stats) {
    mrt_runtime_stats s;
    mrt_runtime_get_stats(rt, &s);
    fprintf(stderr,
            "sched-stats: handled=%" PRIu64 " moves=%" PRIu64 " donations=%" PRIu64
            " spins=%" PRIu64 " spin_us=%" PRIu64 " wakeups=%" PRIu64 "\n",
            s.messages_handled, s.moves, s.donations, s.spins, s.spin_ns / 1000, s.wakeups);
  }
  mrt_runtime_unref(rt); /* the last host reference: shuts down and joins */
  bench_trim_heap();
}

uint64_t bench_cpu_ns(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    bench_die("getrusage failed");
  return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * MRT_NS_PER_SEC +
         (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

/* ---- latch --------------------------------------------------------------- */

void bench_latch_init(bench_latch *l) {
  pthread_mutex_init(&l->mu, NULL);
  /* The timeout is computed on CLOCK_MONOTONIC; the condvar must agree. */
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&l->cv, &attr);
  pthread_condattr_destroy(&attr);
  l->done = false;
  l->value = 0;
  l->end_ns = 0;
}

void bench_latch_destroy(bench_latch *l) {
  pthread_mutex_destroy(&l->mu);
  pthread_cond_destroy(&l->cv);
}

void bench_latch_signal(bench_latch *l, uint64_t value) {
  uint64_t now = bench_now_ns(); /* before the lock: the workload is done now */
  pthread_mutex_lock(&l->mu);
  l->value = value;
  l->end_ns = now;
  l->done = true;
  pthread_cond_signal(&l->cv);
  pthread_mutex_unlock(&l->mu);
}

uint64_t bench_latch_wait(bench_latch *l) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += LATCH_TIMEOUT_SEC;
  pthread_mutex_lock(&l->mu);
  int rc = 0;
  while (!l->done && rc == 0)
    rc = pthread_cond_timedwait(&l->cv, &l->mu, &ts);
  bool done = l->done;
  uint64_t value = l->value;
  pthread_mutex_unlock(&l->mu);
  if (!done)
    bench_die("workload did not finish within %d s (lost message?)", LATCH_TIMEOUT_SEC);
  return value;
}

/* ---- readiness ----------------------------------------------------------- */

int bench_on_ready(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)self;
  (void)state;
  (void)payload;
  return MRT_REPLY(bench_ready, reply, &(mrt_none){0});
}

void bench_wait_ready(mrt_ref *ref) {
  mrt_none out;
  BENCH_CHECK(MRT_ASK_SYNC(bench_ready, ref, &(mrt_none){0}, &out, MRT_SEC(30)));
}
