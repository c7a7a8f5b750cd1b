/* SPDX-License-Identifier: MIT */
/* Tests (netns suite, root): the netlink link monitor against the real kernel,
 * in a private network namespace with a veth pair. Address add/del, link
 * up/down and default-route changes each produce an event with the right
 * flags, in order, and the events say where (a real `ip addr del` names the
 * interface and the address, a link down names the interface, a new default
 * route names its interface); 20 identical RTM_NEWADDR produce nothing; an
 * ignored interface produces nothing; 2,000 address operations against a tiny
 * receive buffer force ENOBUFS and still end with the monitor's snapshot equal
 * to a fresh `ip -j addr`, the resync listing what it found. Exits 77 (skip)
 * without root or namespaces.
 *
 * No assertion here depends on speed: every wait has a deadline of
 * EVENT_DEADLINE_MS that only an event that never comes reaches (a loaded
 * machine delays the kernel's notifications and the debouncer's timers, and
 * may split one command's notifications into two events). Checks that
 * something did NOT happen wait until the monitor has read the notifications
 * they are about, then a few settle periods; a slow machine can only make
 * those weaker, never fail them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "netns-fixture.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <jansson.h>

#include <meshrt/meshrt.h>

#define SETTLE_MS 250
#define EVENTS_MAX 256
#define EVENT_DEADLINE_MS 30000

/* Every event received, each a deep copy (the message owns its list only
 * during the handler). */
static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  mrt_link_change ev[EVENTS_MAX];
  size_t n;
} rec = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static int on_change(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)r;
  pthread_mutex_lock(&rec.mu);
  if (rec.n < EVENTS_MAX)
    assert_int_equal(mrt_link_change_copy(&rec.ev[rec.n++], p), 0);
  pthread_cond_broadcast(&rec.cv);
  pthread_mutex_unlock(&rec.mu);
  return 0;
}

static void rec_clear(void) {
  pthread_mutex_lock(&rec.mu);
  for (size_t i = 0; i < rec.n; i++)
    mrt_link_change_release(&rec.ev[i]);
  rec.n = 0;
  pthread_mutex_unlock(&rec.mu);
}
static const mrt_handler_entry handlers[] = {{&mrt_msg_link_change, on_change}, {NULL, NULL}};
static const mrt_actor_class recorder_class = {.name = "recorder", .handlers = handlers};

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t events_seen(void) {
  pthread_mutex_lock(&rec.mu);
  size_t n = rec.n;
  pthread_mutex_unlock(&rec.mu);
  return n;
}

/* Waits up to `ms` for an event at `from` or later whose flags include
 * `want`; returns its index, or -1 (then *seen gets the flags of every event
 * from `from` on, for the message). */
static long wait_flags(size_t from, uint32_t want, uint64_t ms, uint32_t *seen) {
  uint64_t deadline = now_ms() + ms;
  long found = -1;
  pthread_mutex_lock(&rec.mu);
  for (size_t i = from;; i++) {
    while (i >= rec.n && now_ms() < deadline) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_nsec += 5 * 1000000;
      if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
      }
      pthread_cond_timedwait(&rec.cv, &rec.mu, &ts);
    }
    if (i >= rec.n)
      break;
    if ((rec.ev[i].flags & want) == want) {
      found = (long)i;
      break;
    }
  }
  *seen = 0;
  for (size_t i = from; i < rec.n; i++)
    *seen |= rec.ev[i].flags;
  pthread_mutex_unlock(&rec.mu);
  return found;
}

/* Waits until no event arrived for `quiet_ms` (at most EVENT_DEADLINE_MS). */
static void wait_quiet(uint64_t quiet_ms) {
  uint64_t end = now_ms() + EVENT_DEADLINE_MS;
  size_t seen = events_seen();
  for (uint64_t since = now_ms(); now_ms() - since < quiet_ms && now_ms() < end;) {
    usleep(10000);
    size_t n = events_seen();
    if (n != seen) {
      seen = n;
      since = now_ms();
    }
  }
}

typedef struct fixture {
  mrt_runtime *rt;
  mrt_ref *recorder;
  mrt_link_monitor *mon;
  mrt_link_watch *watch;
} fixture;

static void start(fixture *f, int rcvbuf) {
  static const char *const ignored[] = {"v1", NULL};
  rec_clear();
  /* A failed test does not reach stop(): start from a clean namespace. */
  if (system("ip link del v0 2>/dev/null") != 0) {
    /* there was none */
  }
  /* No IPv6 link-local addresses: their duplicate address detection would
   * add notifications of its own, at times the test does not control. */
  sh("ip link add v0 type veth peer name v1 && ip link set v0 addrgenmode none && "
     "ip link set v1 addrgenmode none");
  assert_int_equal(mrt_runtime_new(NULL, &f->rt), 0);
  assert_int_equal(mrt_runtime_start(f->rt), 0);
  assert_int_equal(mrt_actor_spawn(f->rt, &recorder_class, NULL, NULL, &f->recorder), 0);
  mrt_netlink_monitor_config cfg = {.ignored_interfaces = ignored, .rcvbuf_bytes = rcvbuf};
  assert_int_equal(mrt_netlink_monitor_new(&cfg, &f->mon), 0);
  assert_int_equal(mrt_link_monitor_watch(f->mon, f->rt, f->recorder, NULL, &f->watch), 0);
  /* Let the initial dump finish (describe is answered once the watcher runs). */
  char *text = NULL;
  for (uint64_t end = now_ms() + EVENT_DEADLINE_MS;
       (text == NULL || strstr(text, "\n") == NULL) && now_ms() < end;) {
    free(text);
    text = NULL;
    mrt_link_monitor_describe(f->mon, &text);
    usleep(10000);
  }
  bool dumped = text != NULL && strstr(text, "\n") != NULL;
  free(text);
  assert_true(dumped);
}

static void stop(fixture *f) {
  mrt_link_watch_destroy(f->watch);
  mrt_ref_unref(f->recorder);
  mrt_runtime_unref(f->rt);
  mrt_link_monitor_free(f->mon);
  sh("ip link del v0");
  rec_clear();
}

/* Runs a command and expects an event with `want` among its flags, after
 * the event the previous expect() matched (*next is past it). Events with
 * other flags in between are tolerated: a loaded machine may split one
 * command's notifications into two events. */
static void expect(size_t *next, uint32_t want, const char *cmd) {
  sh("%s", cmd);
  uint32_t seen = 0;
  long at = wait_flags(*next, want, EVENT_DEADLINE_MS, &seen);
  char buf[96], got[96];
  if (at < 0)
    fail_msg("'%s': no event with %s within %d ms (flags seen: %s)", cmd,
             mrt_link_change_flags_str(want, buf, sizeof buf), EVENT_DEADLINE_MS,
             seen ? mrt_link_change_flags_str(seen, got, sizeof got) : "none");
  *next = (size_t)at + 1;
}

static void changes_produce_the_right_events(void **unused) {
  (void)unused;
  fixture f;
  start(&f, 0);
  size_t next = 0;
  sh("ip link set v1 up");
  expect(&next, MRT_LINK_CHANGE_LINK_UP, "ip link set v0 up");
  expect(&next, MRT_LINK_CHANGE_ADDR_ADDED, "ip addr add 192.0.2.1/24 dev v0");
  expect(&next, MRT_LINK_CHANGE_DEFAULT_ROUTE, "ip route add default via 192.0.2.254 dev v0");
  expect(&next, MRT_LINK_CHANGE_ADDR_ADDED, "ip -6 addr add 2001:db8::1/64 dev v0 nodad");
  expect(&next, MRT_LINK_CHANGE_ADDR_REMOVED, "ip -6 addr del 2001:db8::1/64 dev v0");
  expect(&next, MRT_LINK_CHANGE_LINK_DOWN, "ip link set v0 down");
  stop(&f);
}

/* ---- where ------------------------------------------------------------------ */

/* Whether event `i` lists a change with `flag` on interface `ifname` (and,
 * for addresses, `addr`/`plen`; for default routes, `ifname` is where it
 * went); *text_out gets its text. Call with rec.mu held. */
static bool lists(size_t i, uint32_t flag, const char *ifname, const char *addr, int plen,
                  char *text_out, size_t cap) {
  const mrt_link_change *ev = &rec.ev[i];
  uint8_t want[16] = {0};
  int family = addr == NULL ? 0 : strchr(addr, ':') ? AF_INET6 : AF_INET;
  if (addr != NULL)
    assert_int_equal(inet_pton(family, addr, want), 1);
  assert_true(ev->n_changes <= MRT_LINK_CHANGE_LIST_MAX);
  for (uint32_t j = 0; j < ev->n_changes; j++) {
    const mrt_link_change_item *it = &ev->changes[j];
    if ((it->flags & flag) == 0 || strcmp(it->ifname, ifname) != 0)
      continue;
    if (addr != NULL && (it->family != family || it->prefixlen != plen ||
                         memcmp(it->addr, want, family == AF_INET ? 4 : 16) != 0))
      continue;
    mrt_link_change_item_str(it, text_out, cap);
    return true;
  }
  return false;
}

/* Runs `cmd`, then waits for an event from `*next` on that lists the change
 * and returns its text. The wait is only a guard against hanging: it is far
 * longer than any loaded machine needs, and the test asserts what the event
 * says, not how soon it came. */
static void expect_where(size_t *next, const char *cmd, uint32_t flag, const char *ifname,
                         const char *addr, int plen, char *text, size_t cap) {
  sh("%s", cmd);
  uint64_t deadline = now_ms() + 30000;
  bool found = false;
  while (!found && now_ms() < deadline) {
    uint32_t seen;
    (void)wait_flags(*next, 0, 100, &seen); /* any new event, or 100 ms */
    pthread_mutex_lock(&rec.mu);
    for (; !found && *next < rec.n; (*next)++)
      found = lists(*next, flag, ifname, addr, plen, text, cap);
    pthread_mutex_unlock(&rec.mu);
  }
  if (!found)
    fail_msg("'%s': no event listed the change on %s", cmd, ifname);
}

static void events_say_where(void **unused) {
  (void)unused;
  fixture f;
  start(&f, 0);
  size_t next = 0;
  char text[256];
  sh("ip link set v1 up");
  /* Up without carrier first, then with it: either may come first in a list. */
  expect_where(&next, "ip link set v0 up", MRT_LINK_CHANGE_LINK_UP, "v0", NULL, 0, text,
               sizeof text);
  assert_true(strncmp(text, "v0: link up", 11) == 0);
  expect_where(&next, "ip addr add 192.0.2.7/24 dev v0", MRT_LINK_CHANGE_ADDR_ADDED, "v0",
               "192.0.2.7", 24, text, sizeof text);
  assert_string_equal(text, "v0: address 192.0.2.7/24 added");
  expect_where(&next, "ip route add default via 192.0.2.254 dev v0", MRT_LINK_CHANGE_DEFAULT_ROUTE,
               "v0", NULL, 0, text, sizeof text);
  assert_string_equal(text, "default route now via v0");
  expect_where(&next, "ip addr del 192.0.2.7/24 dev v0", MRT_LINK_CHANGE_ADDR_REMOVED, "v0",
               "192.0.2.7", 24, text, sizeof text);
  assert_string_equal(text, "v0: address 192.0.2.7/24 removed");
  expect_where(&next, "ip -6 addr add 2001:db8::7/64 dev v0 nodad", MRT_LINK_CHANGE_ADDR_ADDED,
               "v0", "2001:db8::7", 64, text, sizeof text);
  expect_where(&next, "ip link set v0 down", MRT_LINK_CHANGE_LINK_DOWN, "v0", NULL, 0, text,
               sizeof text);
  assert_string_equal(text, "v0: link down");
  stop(&f);
}

static void duplicates_and_ignored_interfaces_are_silent(void **unused) {
  (void)unused;
  fixture f;
  start(&f, 0);
  size_t next = 0;
  sh("ip link set v1 up");
  expect(&next, MRT_LINK_CHANGE_LINK_UP, "ip link set v0 up");
  expect(&next, MRT_LINK_CHANGE_ADDR_ADDED, "ip addr add 192.0.2.1/24 dev v0");
  wait_quiet(4 * SETTLE_MS); /* whatever the link coming up still sends */
  size_t quiet = events_seen();
  mrt_netlink_monitor_stats before, after;
  mrt_link_monitor_get_stats(f.mon, &before);
  for (int i = 0; i < 20; i++)
    sh("ip addr replace 192.0.2.1/24 dev v0"); /* identical RTM_NEWADDR */
  sh("ip addr add 198.51.100.1/24 dev v1");    /* ignored interface */
  sh("ip addr del 198.51.100.1/24 dev v1");
  /* The notifications did arrive (the monitor read them all)... */
  uint64_t end = now_ms() + EVENT_DEADLINE_MS;
  do {
    usleep(10000);
    mrt_link_monitor_get_stats(f.mon, &after);
  } while (after.messages - before.messages < 22 && now_ms() < end);
  assert_true(after.messages - before.messages >= 22);
  /* ... and they were judged uninteresting: no event, even a settle period
   * after the last one (an event would be on its way by then). */
  usleep(4 * SETTLE_MS * 1000);
  assert_int_equal(events_seen(), quiet);
  stop(&f);
}

/* ---- ENOBUFS -------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* `ip -j addr` in the describe format (address lines only), sorted. */
static char *ip_addr_text(void) {
  FILE *p = popen("ip -j addr", "r");
  assert_non_null(p);
  json_error_t err;
  json_t *root = json_loadf(p, 0, &err);
  pclose(p);
  assert_non_null(root);
  char **lines = NULL;
  size_t n = 0, i, j;
  json_t *ifc, *ai;
  json_array_foreach(root, i, ifc) {
    const char *name = json_string_value(json_object_get(ifc, "ifname"));
    json_array_foreach(json_object_get(ifc, "addr_info"), j, ai) {
      char line[128];
      snprintf(line, sizeof line, "%s %s %s/%lld", name,
               json_string_value(json_object_get(ai, "family")),
               json_string_value(json_object_get(ai, "local")),
               (long long)json_integer_value(json_object_get(ai, "prefixlen")));
      lines = realloc(lines, (n + 1) * sizeof *lines);
      lines[n++] = strdup(line);
    }
  }
  json_decref(root);
  qsort(lines, n, sizeof *lines, cmp_str);
  size_t len = 1;
  for (i = 0; i < n; i++)
    len += strlen(lines[i]) + 1;
  char *text = calloc(1, len);
  for (i = 0; i < n; i++) {
    strcat(text, lines[i]);
    strcat(text, "\n");
    free(lines[i]);
  }
  free(lines);
  return text;
}

static char *monitor_addr_text(mrt_link_monitor *m) {
  char *text = NULL;
  assert_int_equal(mrt_link_monitor_describe(m, &text), 0);
  char *cut = strstr(text, "default"); /* keep the address lines only */
  if (cut != NULL)
    *cut = '\0';
  return text;
}

static void enobufs_resync_matches_the_kernel(void **unused) {
  (void)unused;
  fixture f;
  start(&f, 2048); /* deliberately tiny: a burst must overflow it */
  sh("ip link set v1 up && ip link set v0 up");
  FILE *batch = fopen("/tmp/meshrt-netns-batch", "w");
  assert_non_null(batch);
  for (int i = 0; i < 1500; i++)
    fprintf(batch, "addr add 10.%d.%d.1/32 dev v0\n", 20 + i / 250, i % 250);
  for (int i = 0; i < 500; i++)
    fprintf(batch, "addr del 10.%d.%d.1/32 dev v0\n", 20 + i / 250, i % 250);
  fclose(batch);
  sh("ip -batch /tmp/meshrt-netns-batch");
  unlink("/tmp/meshrt-netns-batch");
  /* The kernel's state no longer changes; wait until the monitor has
   * resynchronised, said so in an event, and agrees with the kernel (how
   * long that takes is not the test's business). */
  char *want = ip_addr_text();
  char *got = NULL;
  mrt_netlink_monitor_stats st;
  uint32_t seen = 0;
  bool resync_flagged = false, same = false;
  for (uint64_t end = now_ms() + EVENT_DEADLINE_MS; now_ms() < end; usleep(100 * 1000)) {
    mrt_link_monitor_get_stats(f.mon, &st);
    /* Lost notifications that the re-dump found surface with the RESYNC flag. */
    resync_flagged = wait_flags(0, MRT_LINK_CHANGE_RESYNC, 0, &seen) >= 0;
    free(got);
    got = monitor_addr_text(f.mon);
    same = strcmp(want, got) == 0;
    if (st.resyncs >= 1 && resync_flagged && same)
      break;
  }
  size_t got_len = strlen(got), want_len = strlen(want);
  free(want);
  free(got);
  assert_true(st.resyncs >= 1);
  assert_true(resync_flagged);
  /* What the re-dump found is listed (addresses of v0, marked resync), and
   * the list stays bounded however much the storm folded in. */
  bool resync_listed = false;
  pthread_mutex_lock(&rec.mu);
  for (size_t i = 0; i < rec.n; i++) {
    const mrt_link_change *ev = &rec.ev[i];
    assert_true(ev->n_changes <= MRT_LINK_CHANGE_LIST_MAX);
    for (uint32_t j = 0; j < ev->n_changes; j++) {
      const mrt_link_change_item *it = &ev->changes[j];
      if ((it->flags & MRT_LINK_CHANGE_RESYNC) && strcmp(it->ifname, "v0") == 0 &&
          (it->flags & (MRT_LINK_CHANGE_ADDR_ADDED | MRT_LINK_CHANGE_ADDR_REMOVED)) &&
          it->family == AF_INET && it->addr[0] == 10 && it->prefixlen == 32)
        resync_listed = true;
    }
  }
  pthread_mutex_unlock(&rec.mu);
  assert_true(resync_listed);
  if (!same)
    fail_msg("snapshot differs from ip -j addr (%zu vs %zu bytes)", got_len, want_len);
  stop(&f);
}

int main(void) {
  int skip = netns_enter_or_skip(true); /* it tests the netlink monitor */
  if (skip != 0)
    return skip;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(changes_produce_the_right_events),
      cmocka_unit_test(events_say_where),
      cmocka_unit_test(duplicates_and_ignored_interfaces_are_silent),
      cmocka_unit_test(enobufs_resync_matches_the_kernel),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
