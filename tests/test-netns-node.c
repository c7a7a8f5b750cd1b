/* SPDX-License-Identifier: MIT */
/* Tests (netns suite, root): a node with the real netlink monitor in a
 * private network namespace. An address added to (and later removed from)
 * the underlay interface drives one DirectManager rebind, with one
 * MeasureNow on the bus each time; changes on an ignored interface drive
 * nothing. The node's sockets stay on loopback. Exits 77 (skip) without root
 * or namespaces.
 *
 * Waits have a deadline (WAIT_MS) that only something that never happens
 * reaches; how soon a rebind follows a change is meshrt-bench's business. The
 * checks that nothing happened (no rebind from the initial dump or from an
 * ignored interface) wait a few debounce periods: a slow machine can make
 * them weaker, never make them fail. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "netns-fixture.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "node-fixture.h"

#define SETTLE_MS 250
#define WAIT_MS 30000

static atomic_int measure_nows;

static int on_measure_now(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)p;
  (void)r;
  atomic_fetch_add(&measure_nows, 1);
  return 0;
}
static const mrt_handler_entry handlers[] = {{&mrt_msg_measure_now, on_measure_now}, {NULL, NULL}};
static const mrt_actor_class counter_class = {.name = "measure-now-counter", .handlers = handlers};

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t generation(mrt_ref *dm) {
  mrt_sock_info si;
  memset(&si, 0, sizeof si);
  assert_int_equal(MRT_ASK_SYNC(direct_sock_info, dm, &(mrt_none){0}, &si, 0), 0);
  return si.generation;
}

/* Waits up to `ms` for DirectManager's socket generation to pass `gen`;
 * returns the milliseconds it took, or -1. */
static int64_t wait_rebind(mrt_ref *dm, uint64_t gen, uint64_t ms) {
  uint64_t t0 = now_ms();
  while (now_ms() - t0 <= ms) {
    if (generation(dm) > gen)
      return (int64_t)(now_ms() - t0);
    usleep(2000);
  }
  return -1;
}

/* Runs `cmd` and expects one rebind, then one MeasureNow. */
static void expect_rebind(mrt_ref *dm, const char *cmd) {
  uint64_t gen = generation(dm);
  int mn = atomic_load(&measure_nows);
  sh("%s", cmd);
  int64_t took = wait_rebind(dm, gen, WAIT_MS);
  if (took < 0)
    fail_msg("'%s': no rebind within %d ms", cmd, WAIT_MS);
  fprintf(stderr, "'%s': rebind after %lld ms\n", cmd, (long long)took);
  /* MeasureNow follows the rebind in the same reaction. */
  for (uint64_t end = now_ms() + WAIT_MS; atomic_load(&measure_nows) == mn && now_ms() < end;)
    usleep(1000);
  assert_int_equal(atomic_load(&measure_nows), mn + 1);
  assert_int_equal(generation(dm), gen + 1);
}

static void address_change_on_the_underlay_drives_a_rebind(void **unused) {
  (void)unused;
  atomic_store(&measure_nows, 0);
  /* addrgenmode none: no IPv6 link-local addresses, whose duplicate address
   * detection would change the interface at times the test does not control. */
  sh("ip link add v0 type veth peer name v1 && ip link set v0 addrgenmode none && "
     "ip link set v1 addrgenmode none && ip link set v1 up && ip link set v0 up");
  mrt_runtime *rt = NULL;
  assert_int_equal(mrt_runtime_new(NULL, &rt), 0);
  assert_int_equal(mrt_runtime_start(rt), 0);
  mrt_ref *counter = NULL;
  assert_int_equal(mrt_actor_spawn(rt, &counter_class, NULL, NULL, &counter), 0);
  mrt_bus *bus = mrt_runtime_bus(rt);
  assert_int_equal(mrt_node_bus_configure(bus), 0);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_measure_now, counter), 0);

  static const char *const ignored[] = {"v1", NULL};
  mrt_node_config cfg = mrt_node_config_default();
  cfg.listen_addr = lo4(0);
  cfg.measure_addr = lo4(0);
  cfg.advertise_local = false;
  cfg.network_monitor = true;
  cfg.ignored_interfaces = ignored;
  mrt_node *node = NULL;
  assert_int_equal(mrt_node_start(rt, &cfg, &node), 0);
  assert_string_equal(mrt_link_monitor_name(mrt_node_link_monitor(node)), "netlink");
  mrt_ref *dm = mrt_node_direct(node);
  /* Let the initial dump settle: no rebind without a change. */
  usleep((SETTLE_MS + 300) * 1000);
  uint64_t gen = generation(dm);
  assert_int_equal(atomic_load(&measure_nows), 0);

  expect_rebind(dm, "ip addr add 192.0.2.1/24 dev v0");
  usleep(1100 * 1000); /* past the 1 s minimum interval: the next runs at once */
  expect_rebind(dm, "ip addr del 192.0.2.1/24 dev v0");
  /* An ignored interface changes nothing. */
  usleep(1100 * 1000);
  uint64_t before = generation(dm);
  sh("ip addr add 198.51.100.1/24 dev v1");
  usleep((SETTLE_MS + 300) * 1000);
  assert_int_equal(generation(dm), before);
  assert_int_equal(generation(dm), gen + 2);

  assert_int_equal(mrt_node_stop(node, 0), 0);
  mrt_ref_unref(counter);
  assert_int_equal(mrt_runtime_shutdown(rt), 0);
  mrt_node_free(node); /* after shutdown: frees the netlink monitor too */
  mrt_runtime_unref(rt);
  sh("ip link del v0");
}

int main(void) {
  int skip = netns_enter_or_skip(true);
  if (skip != 0)
    return skip;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(address_change_on_the_underlay_drives_a_rebind),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
