/* SPDX-License-Identifier: MIT */
/* meshrt-bench — netmon_storm: the netlink link monitor under a burst of
 * address changes, in a private network namespace (needs root).
 *
 * The run unshares a network namespace (benchmarks run in a child process of
 * their own, so the tool's own namespace is untouched), makes a veth pair,
 * starts the netlink monitor, then has `ip -batch` add and delete `ops`
 * addresses. What is measured is this process's CPU time (user + system)
 * from the first change until the monitor has gone quiet — `ip` runs in a
 * child process and is not counted — divided by the raw netlink messages the
 * monitor parsed. The coalesced events emitted are the extra metric.
 *
 * Threads: the monitor runs on the executor thread; the host thread waits.
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"

static atomic_uint storm_events;

static int storm_change(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)p;
  (void)r;
  atomic_fetch_add(&storm_events, 1);
  return 0;
}

static const mrt_handler_entry storm_handlers[] = {{&mrt_msg_link_change, storm_change},
                                                   {NULL, NULL}};
static const mrt_actor_class storm_class = {.name = "storm-sink", .handlers = storm_handlers};

static uint64_t cpu_ns(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
         (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

static void sh(const char *cmd) {
  if (system(cmd) != 0)
    bench_die("command failed: %s", cmd);
}

static void write_batch(const char *path, uint64_t ops) {
  FILE *f = fopen(path, "w");
  if (f == NULL)
    bench_die("cannot write %s: %s", path, strerror(errno));
  uint64_t adds = (ops + 1) / 2;
  for (uint64_t i = 0; i < adds; i++)
    fprintf(f, "addr add 10.%u.%u.1/32 dev v0\n", (unsigned)(i / 250 % 250), (unsigned)(i % 250));
  for (uint64_t i = 0; i < ops - adds; i++)
    fprintf(f, "addr del 10.%u.%u.1/32 dev v0\n", (unsigned)(i / 250 % 250), (unsigned)(i % 250));
  fclose(f);
}

/* Waits until the monitor has parsed nothing new for 300 ms. */
static void wait_quiet(mrt_link_monitor *mon) {
  mrt_netlink_monitor_stats st;
  uint64_t last = UINT64_MAX;
  for (int quiet = 0; quiet < 3;) {
    usleep(100 * 1000);
    mrt_link_monitor_get_stats(mon, &st);
    quiet = st.messages == last ? quiet + 1 : 0;
    last = st.messages;
  }
}

const char *netmon_storm_unavailable(void) {
  if (geteuid() != 0)
    return "needs root";
  mrt_link_monitor *m = NULL;
  int rc = mrt_netlink_monitor_new(NULL, &m);
  mrt_link_monitor_free(m);
  return rc == -ENOTSUP ? "built without network_monitor" : NULL;
}

void bench_netmon_storm(const bench_cfg *cfg, bench_sample *out) {
  if (geteuid() != 0)
    bench_die("netmon_storm needs root (it makes a network namespace)");
  if (unshare(CLONE_NEWNET) != 0)
    bench_die("unshare(CLONE_NEWNET): %s", strerror(errno));
  sh("ip link set lo up && ip link add v0 type veth peer name v1 && "
     "ip link set v0 up && ip link set v1 up");
  char path[] = "/tmp/meshrt-storm-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0)
    bench_die("mkstemp: %s", strerror(errno));
  close(fd);
  write_batch(path, cfg->ops);

  mrt_runtime *rt = bench_runtime_start(cfg);
  mrt_ref *sink;
  mrt_link_monitor *mon;
  mrt_link_watch *watch;
  BENCH_CHECK(mrt_actor_spawn(rt, &storm_class, NULL, NULL, &sink));
  BENCH_CHECK(mrt_netlink_monitor_new(NULL, &mon));
  BENCH_CHECK(mrt_link_monitor_watch(mon, rt, sink, NULL, &watch));
  wait_quiet(mon); /* the initial dump */
  mrt_netlink_monitor_stats before, after;
  mrt_link_monitor_get_stats(mon, &before);
  unsigned events_before = atomic_load(&storm_events);

  char cmd[128];
  snprintf(cmd, sizeof cmd, "ip -batch %s", path);
  uint64_t c0 = cpu_ns();
  sh(cmd);
  wait_quiet(mon);
  uint64_t used = cpu_ns() - c0;
  mrt_link_monitor_get_stats(mon, &after);
  unlink(path);

  uint64_t messages = after.messages - before.messages;
  if (messages == 0)
    bench_die("the monitor parsed no netlink messages");
  /* main.c divides by ops: scale so that the quotient is CPU per message. */
  out->elapsed_ns = used * cfg->ops / messages;
  out->extra = (double)(atomic_load(&storm_events) - events_before);
  fprintf(stderr, "netmon_storm: %llu raw messages, %llu resyncs, %.0f events, %.3f ms CPU\n",
          (unsigned long long)messages, (unsigned long long)(after.resyncs - before.resyncs),
          out->extra, (double)used / 1e6);
  mrt_link_watch_destroy(watch);
  mrt_ref_unref(sink);
  bench_runtime_finish(rt);
  mrt_link_monitor_free(mon);
}
