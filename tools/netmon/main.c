/* SPDX-License-Identifier: MIT */
/* meshrt-netmon — watch the real link monitor and print what changes.
 *
 * One line per coalesced event: a UTC timestamp, the flags, how many raw
 * changes were folded in, and what changed where ("v0: link down; default
 * route gone (was via v0)", at most 16 listed, then "(+N more)"). Interface
 * names are escaped, so a hostile name cannot put control characters on the
 * terminal. --raw also prints every raw change as the monitor sees it;
 * --settle MS and --max-wait MS tune the debouncer; --ignore NAME
 * (repeatable, "wg*" for prefixes) names interfaces to leave out. Runs until
 * SIGINT/SIGTERM. Exit codes: 0 clean, 1 monitor failure, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <meshrt/meshrt.h>
#include <meshrt/netmon.h>

#define MAX_IGNORED 32

static void print_stamp(FILE *out) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  fprintf(out, "%s.%03ldZ", buf, ts.tv_nsec / 1000000);
}

static int on_change(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)r;
  const mrt_link_change *ev = p;
  char flags[128], list[4096];
  mrt_link_change_list_str(ev, list, sizeof list);
  print_stamp(stdout);
  printf(" change %s raw=%u%s%s\n", mrt_link_change_flags_str(ev->flags, flags, sizeof flags),
         ev->raw_events, list[0] ? ": " : "", list);
  fflush(stdout);
  return 0;
}

static void on_raw(const mrt_link_change *raw, const char *what, void *ud) {
  (void)ud;
  char buf[128], list[4096];
  mrt_link_change_list_str(raw, list, sizeof list);
  print_stamp(stdout);
  printf(" raw    %s (%s)%s%s\n", mrt_link_change_flags_str(raw->flags, buf, sizeof buf), what,
         list[0] ? ": " : "", list);
  fflush(stdout);
}

static const mrt_handler_entry printer_handlers[] = {{&mrt_msg_link_change, on_change},
                                                     {NULL, NULL}};
static const mrt_actor_class printer_class = {.name = "netmon-printer",
                                              .handlers = printer_handlers};

static void usage(FILE *out) {
  fprintf(out, "usage: meshrt-netmon [--raw] [--settle MS] [--max-wait MS] [--ignore NAME]...\n");
}

static int parse_ms(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || end == s || v == 0 || v > 3600000ULL)
    return -1;
  *out = MRT_MS(v);
  return 0;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {{"raw", no_argument, NULL, 'r'},
                                       {"settle", required_argument, NULL, 's'},
                                       {"max-wait", required_argument, NULL, 'm'},
                                       {"ignore", required_argument, NULL, 'i'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  mrt_debounce_config deb = {0};
  const char *ignored[MAX_IGNORED + 1] = {0};
  int n_ignored = 0, c;
  bool raw = false;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'r': raw = true; break;
    case 's':
      if (parse_ms(optarg, &deb.settle_ns) < 0) {
        fprintf(stderr, "meshrt-netmon: --settle wants milliseconds (1..3600000), got '%s'\n",
                optarg);
        return 2;
      }
      break;
    case 'm':
      if (parse_ms(optarg, &deb.max_wait_ns) < 0) {
        fprintf(stderr, "meshrt-netmon: --max-wait wants milliseconds (1..3600000), got '%s'\n",
                optarg);
        return 2;
      }
      break;
    case 'i':
      if (n_ignored == MAX_IGNORED) {
        fprintf(stderr, "meshrt-netmon: at most %d --ignore\n", MAX_IGNORED);
        return 2;
      }
      ignored[n_ignored++] = optarg;
      break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (optind < argc) {
    usage(stderr);
    return 2;
  }

  /* Signals go to sigwait below, not to executor threads. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);

  mrt_runtime *rt;
  mrt_ref *printer = NULL;
  mrt_link_monitor *mon = NULL;
  mrt_link_watch *watch = NULL;
  mrt_netlink_monitor_config cfg = {.ignored_interfaces = ignored, .on_raw = raw ? on_raw : NULL};
  int rc = mrt_runtime_new(NULL, &rt);
  if (rc == 0)
    rc = mrt_runtime_start(rt);
  if (rc == 0)
    rc = mrt_actor_spawn(rt, &printer_class, NULL, NULL, &printer);
  if (rc == 0)
    rc = mrt_netlink_monitor_new(&cfg, &mon);
  if (rc == 0)
    rc = mrt_link_monitor_watch(mon, rt, printer, &deb, &watch);
  if (rc < 0) {
    fprintf(stderr, "meshrt-netmon: cannot watch links: %s\n", mrt_strerror(rc));
    mrt_ref_unref(printer);
    mrt_runtime_unref(rt);
    mrt_link_monitor_free(mon);
    return 1;
  }
  print_stamp(stdout);
  printf(" watching (settle %llu ms, max wait %llu ms)\n",
         (unsigned long long)((deb.settle_ns ? deb.settle_ns : MRT_DEBOUNCE_SETTLE_DEFAULT) /
                              MRT_NS_PER_MS),
         (unsigned long long)((deb.max_wait_ns ? deb.max_wait_ns : MRT_DEBOUNCE_MAX_WAIT_DEFAULT) /
                              MRT_NS_PER_MS));
  fflush(stdout);
  int sig;
  sigwait(&sigs, &sig);
  mrt_link_watch_destroy(watch);
  mrt_ref_unref(printer);
  mrt_runtime_unref(rt);
  mrt_link_monitor_free(mon);
  return 0;
}
