/* SPDX-License-Identifier: MIT */
/* Tests: the link-monitor interface, debouncer, manual and no-op monitors, on
 * the virtual clock: bursts collapse after the settle, separated bursts stay
 * apart, a never-quiet stream emits through the max-wait cap, close flushes,
 * shutdown exits without flushing, destroying the handle stops delivery, the
 * manual monitor's 16-slot queue, -EALREADY on a second watch, and no-op.
 * Coalesced events list the folded changes (interface, address, default
 * route) in order, at most MRT_LINK_CHANGE_LIST_MAX of them plus a count, even
 * in a storm; an event nobody receives frees its list (ASan checks). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <meshrt/meshrt.h>
#include <meshrt/netmon.h>
#include <meshrt/testing.h>

typedef struct fixture {
  mrt_runtime *rt;
  mrt_ref *tap;
  mrt_link_monitor *mon;
  mrt_link_watch *watch;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_int_equal(mrt_test_runtime_new(1, &f->rt), 0);
  const mrt_msg_type *types[] = {&mrt_msg_link_change};
  assert_int_equal(mrt_test_tap_spawn(f->rt, types, 1, &f->tap), 0);
  assert_int_equal(mrt_manual_monitor_new(&f->mon), 0);
  assert_int_equal(mrt_link_monitor_watch(f->mon, f->rt, f->tap, NULL, &f->watch), 0);
  mrt_runtime_run_until_idle(f->rt);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  mrt_link_watch_destroy(f->watch);
  mrt_ref_unref(f->tap);
  mrt_runtime_unref(f->rt);
  mrt_link_monitor_free(f->mon);
  free(f);
  return 0;
}

static int64_t events(fixture *f) {
  return mrt_test_tap_count(f->tap, &mrt_msg_link_change);
}

static mrt_link_change event_at(fixture *f, size_t i, uint64_t *at) {
  mrt_test_tap_record rec;
  assert_int_equal(mrt_test_tap_get(f->tap, &mrt_msg_link_change, i, &rec), 0);
  if (at != NULL)
    *at = rec.at_ns - MRT_TEST_START_NS;
  return *(const mrt_link_change *)(const void *)rec.data;
}

static void burst_collapses_after_settle(void **state) {
  fixture *f = *state;
  uint32_t flags[] = {MRT_LINK_CHANGE_ADDR_ADDED,   MRT_LINK_CHANGE_LINK_UP,
                      MRT_LINK_CHANGE_ADDR_ADDED,   MRT_LINK_CHANGE_DEFAULT_ROUTE,
                      MRT_LINK_CHANGE_ADDR_REMOVED, MRT_LINK_CHANGE_ADDR_ADDED};
  for (int i = 0; i < 6; i++)
    assert_true(mrt_manual_monitor_trigger(f->mon, flags[i]));
  mrt_runtime_advance(f->rt, MRT_MS(249));
  assert_int_equal(events(f), 0);
  mrt_runtime_advance(f->rt, MRT_MS(1));
  assert_int_equal(events(f), 1);
  uint64_t at;
  mrt_link_change ev = event_at(f, 0, &at);
  assert_int_equal(ev.raw_events, 6);
  assert_int_equal(ev.flags, MRT_LINK_CHANGE_ADDR_ADDED | MRT_LINK_CHANGE_LINK_UP |
                                 MRT_LINK_CHANGE_DEFAULT_ROUTE | MRT_LINK_CHANGE_ADDR_REMOVED);
  assert_int_equal(at, MRT_MS(250));
  mrt_runtime_advance(f->rt, MRT_SEC(5));
  assert_int_equal(events(f), 1);
  mrt_netlink_monitor_stats st;
  mrt_link_monitor_get_stats(f->mon, &st);
  assert_int_equal(st.events, 1);   /* counted by the monitor too */
  assert_int_equal(st.messages, 0); /* netlink-only counters stay zero */
}

static void separated_bursts_give_two(void **state) {
  fixture *f = *state;
  for (int i = 0; i < 3; i++)
    assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_LINK_DOWN));
  mrt_runtime_advance(f->rt, MRT_MS(400));
  for (int i = 0; i < 2; i++)
    assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_LINK_UP));
  mrt_runtime_advance(f->rt, MRT_MS(400));
  assert_int_equal(events(f), 2);
  assert_int_equal(event_at(f, 0, NULL).flags, MRT_LINK_CHANGE_LINK_DOWN);
  assert_int_equal(event_at(f, 0, NULL).raw_events, 3);
  assert_int_equal(event_at(f, 1, NULL).flags, MRT_LINK_CHANGE_LINK_UP);
  assert_int_equal(event_at(f, 1, NULL).raw_events, 2);
}

static void never_quiet_stream_emits_via_max_wait(void **state) {
  fixture *f = *state;
  /* 12 raw events 125 ms apart: the stream lasts 1.375 s and is never quiet
   * for 250 ms, so only the 1 s cap can emit during it. */
  for (int i = 0; i < 12; i++) {
    assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_ADDR_ADDED));
    mrt_runtime_advance(f->rt, MRT_MS(125));
  }
  assert_true(events(f) >= 1);
  uint64_t at;
  mrt_link_change first = event_at(f, 0, &at);
  assert_int_equal(at, MRT_SEC(1)); /* 1 s after the first pending raw event */
  assert_int_equal(first.raw_events, 8);
  mrt_runtime_advance(f->rt, MRT_SEC(2));
  int64_t n = events(f);
  uint32_t total = 0;
  for (int64_t i = 0; i < n; i++)
    total += event_at(f, (size_t)i, NULL).raw_events;
  assert_int_equal(total, 12); /* nothing lost */
}

static void close_flushes_pending(void **state) {
  fixture *f = *state;
  assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_ADDR_REMOVED));
  assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_ADDR_ADDED));
  mrt_manual_monitor_close(f->mon);
  mrt_manual_monitor_close(f->mon); /* idempotent */
  mrt_runtime_run_until_idle(f->rt);
  assert_int_equal(events(f), 1); /* at once, without waiting for the settle */
  assert_int_equal(event_at(f, 0, NULL).raw_events, 2);
  assert_false(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_LINK_UP));
  mrt_runtime_advance(f->rt, MRT_SEC(5));
  assert_int_equal(events(f), 1);
}

static void destroying_the_handle_stops_delivery(void **state) {
  fixture *f = *state;
  assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_LINK_UP));
  mrt_runtime_advance(f->rt, MRT_MS(100));
  mrt_link_watch_destroy(f->watch);
  f->watch = NULL;
  mrt_runtime_advance(f->rt, MRT_SEC(5));
  assert_int_equal(events(f), 0);
  /* The watch is gone, so a new one may start; queued raw events reach it. */
  assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_LINK_DOWN));
  assert_int_equal(mrt_link_monitor_watch(f->mon, f->rt, f->tap, NULL, &f->watch), 0);
  mrt_runtime_advance(f->rt, MRT_MS(250));
  assert_int_equal(events(f), 1);
  assert_int_equal(event_at(f, 0, NULL).flags, MRT_LINK_CHANGE_LINK_DOWN);
}

static void manual_queue_is_bounded_and_single_watch(void **state) {
  fixture *f = *state;
  /* Five triggers -> one event. */
  for (int i = 0; i < 5; i++)
    assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_LINK_UP));
  mrt_runtime_advance(f->rt, MRT_SEC(1));
  assert_int_equal(events(f), 1);
  assert_int_equal(event_at(f, 0, NULL).raw_events, 5);
  /* Without the watcher draining, the 17th trigger finds the queue full. */
  for (int i = 0; i < MRT_MANUAL_MONITOR_SLOTS; i++)
    assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_ADDR_ADDED));
  assert_false(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_ADDR_ADDED));
  mrt_runtime_run_until_idle(f->rt); /* drained: room again */
  assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_ADDR_ADDED));
  mrt_link_watch *second = NULL;
  assert_int_equal(mrt_link_monitor_watch(f->mon, f->rt, f->tap, NULL, &second), -EALREADY);
  assert_null(second);
  assert_false(mrt_manual_monitor_trigger(NULL, 1));
}

static void configurable_timing(void **state) {
  fixture *f = *state;
  mrt_link_watch_destroy(f->watch);
  mrt_runtime_run_until_idle(f->rt);
  mrt_debounce_config cfg = {.settle_ns = MRT_MS(50), .max_wait_ns = MRT_MS(120)};
  assert_int_equal(mrt_link_monitor_watch(f->mon, f->rt, f->tap, &cfg, &f->watch), 0);
  assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_LINK_UP));
  mrt_runtime_advance(f->rt, MRT_MS(50));
  assert_int_equal(events(f), 1);
}

static void noop_monitor_never_delivers(void **state) {
  fixture *f = *state;
  mrt_link_monitor *noop;
  mrt_link_watch *w1, *w2;
  assert_int_equal(mrt_noop_monitor_new(&noop), 0);
  assert_string_equal(mrt_link_monitor_name(noop), "noop");
  assert_int_equal(mrt_link_monitor_watch(noop, f->rt, f->tap, NULL, &w1), 0);
  assert_int_equal(mrt_link_monitor_watch(noop, f->rt, f->tap, NULL, &w2), 0);
  mrt_runtime_advance(f->rt, MRT_SEC(60));
  assert_int_equal(events(f), 0);
  mrt_link_watch_destroy(w1);
  mrt_link_watch_destroy(w2);
  mrt_runtime_run_until_idle(f->rt);
  mrt_link_monitor_free(noop);
}

static int ignore(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)p;
  (void)r;
  return 0;
}
static const mrt_handler_entry deaf_handlers[] = {{&mrt_msg_shutdown, ignore}, {NULL, NULL}};
static const mrt_actor_class deaf_class = {.name = "deaf", .handlers = deaf_handlers};

static void watch_rejects_bad_targets(void **state) {
  fixture *f = *state;
  mrt_ref *counter;
  mrt_link_watch *w = NULL;
  assert_int_equal(mrt_test_counter_spawn(f->rt, &counter), 0);
  mrt_link_monitor *noop;
  assert_int_equal(mrt_noop_monitor_new(&noop), 0);
  assert_int_equal(mrt_link_monitor_watch(NULL, f->rt, counter, NULL, &w), -EINVAL);
  assert_int_equal(mrt_link_monitor_watch(noop, f->rt, NULL, NULL, &w), -EINVAL);
  /* A target whose class does not handle link_change is refused. */
  mrt_ref *deaf;
  assert_int_equal(mrt_actor_spawn(f->rt, &deaf_class, NULL, NULL, &deaf), 0);
  assert_int_equal(mrt_link_monitor_watch(noop, f->rt, deaf, NULL, &w), -ENOTSUP);
  assert_null(w);
  mrt_ref_unref(deaf);
  mrt_ref_unref(counter);
  mrt_link_monitor_free(noop);
}

/* A watcher keeps its monitor until it has stopped: freeing the monitor right
 * after destroying the watch (the watcher has not run its stop yet) is safe
 * (ASan and valgrind would see a use after free otherwise). */
static void free_right_after_destroy_is_safe(void **state) {
  fixture *f = *state;
  mrt_link_monitor *m;
  mrt_link_watch *w;
  assert_int_equal(mrt_manual_monitor_new(&m), 0);
  assert_int_equal(mrt_link_monitor_watch(m, f->rt, f->tap, NULL, &w), 0);
  mrt_runtime_run_until_idle(f->rt);
  assert_true(mrt_manual_monitor_trigger(m, MRT_LINK_CHANGE_LINK_UP));
  mrt_link_watch_destroy(w);
  mrt_link_monitor_free(m);
  mrt_runtime_advance(f->rt, MRT_SEC(2));
  assert_int_equal(events(f), 0);
}

/* Shutdown: the watcher exits at once, without flushing what is pending. */
static int shutdown_events;
static int count_change(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)p;
  (void)r;
  shutdown_events++;
  return 0;
}
static const mrt_handler_entry counting_handlers[] = {{&mrt_msg_link_change, count_change},
                                                      {NULL, NULL}};
static const mrt_actor_class counting_class = {.name = "counting", .handlers = counting_handlers};

static void shutdown_exits_without_flush(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *target;
  mrt_link_monitor *mon;
  mrt_link_watch *w;
  shutdown_events = 0;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  assert_int_equal(mrt_actor_spawn(rt, &counting_class, NULL, NULL, &target), 0);
  mrt_ref *plain = NULL;
  assert_int_equal(mrt_test_counter_spawn(rt, &plain), 0);
  assert_int_equal(mrt_manual_monitor_new(&mon), 0);
  assert_int_equal(mrt_link_monitor_watch(mon, rt, target, NULL, &w), 0);
  assert_true(mrt_manual_monitor_trigger(mon, MRT_LINK_CHANGE_LINK_UP));
  mrt_runtime_advance(rt, MRT_MS(100)); /* pending, settle not reached */
  assert_int_equal(mrt_runtime_shutdown(rt), 0);
  assert_int_equal(shutdown_events, 0);
  mrt_link_watch_destroy(w); /* after shutdown: harmless */
  mrt_ref_unref(plain);
  mrt_ref_unref(target);
  mrt_runtime_unref(rt);
  mrt_link_monitor_free(mon);
}

/* ---- what the events list ----------------------------------------------------- */

/* A target that keeps deep copies of its events: the list an event carries is
 * the message's, freed when the handler returns (a tap's byte copy would
 * point at freed memory). */
#define KEPT_MAX 8
static struct {
  size_t n;
  mrt_link_change ev[KEPT_MAX];
} kept;

static int keep_change(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)r;
  if (kept.n < KEPT_MAX)
    assert_int_equal(mrt_link_change_copy(&kept.ev[kept.n++], p), 0);
  return 0;
}
static const mrt_handler_entry keeper_handlers[] = {{&mrt_msg_link_change, keep_change},
                                                    {NULL, NULL}};
static const mrt_actor_class keeper_class = {.name = "keeper", .handlers = keeper_handlers};

static int keeper_setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  memset(&kept, 0, sizeof kept);
  assert_int_equal(mrt_test_runtime_new(1, &f->rt), 0);
  assert_int_equal(mrt_actor_spawn(f->rt, &keeper_class, NULL, NULL, &f->tap), 0);
  assert_int_equal(mrt_manual_monitor_new(&f->mon), 0);
  assert_int_equal(mrt_link_monitor_watch(f->mon, f->rt, f->tap, NULL, &f->watch), 0);
  mrt_runtime_run_until_idle(f->rt);
  *state = f;
  return 0;
}

static int keeper_teardown(void **state) {
  for (size_t i = 0; i < kept.n; i++)
    mrt_link_change_release(&kept.ev[i]);
  kept.n = 0;
  return teardown(state);
}

static mrt_link_change_item item(uint32_t flags, const char *ifname) {
  mrt_link_change_item it;
  memset(&it, 0, sizeof it);
  it.flags = flags;
  snprintf(it.ifname, sizeof it.ifname, "%s", ifname);
  return it;
}

static mrt_link_change_item addr_item(uint32_t flags, const char *ifname, const char *addr,
                                      uint8_t plen) {
  mrt_link_change_item it = item(flags, ifname);
  it.family = AF_INET;
  it.prefixlen = plen;
  assert_int_equal(inet_pton(AF_INET, addr, it.addr), 1);
  return it;
}

static void coalesced_event_lists_the_changes(void **state) {
  fixture *f = *state;
  mrt_link_change_item removed = addr_item(MRT_LINK_CHANGE_ADDR_REMOVED, "wlan0", "192.0.2.7", 24);
  mrt_link_change_item down = item(MRT_LINK_CHANGE_LINK_DOWN, "eth0");
  mrt_link_change_item route = item(MRT_LINK_CHANGE_DEFAULT_ROUTE, "eth1");
  snprintf(route.old_ifname, sizeof route.old_ifname, "eth0");
  route.family = AF_INET;
  assert_true(mrt_manual_monitor_trigger_item(f->mon, &removed));
  assert_true(mrt_manual_monitor_trigger_item(f->mon, &down));
  assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_LINK_UP)); /* says no where */
  assert_true(mrt_manual_monitor_trigger_item(f->mon, &route));
  mrt_runtime_advance(f->rt, MRT_MS(250));
  assert_int_equal(kept.n, 1);
  const mrt_link_change *ev = &kept.ev[0];
  assert_int_equal(ev->raw_events, 4);
  assert_int_equal(ev->flags, MRT_LINK_CHANGE_ADDR_REMOVED | MRT_LINK_CHANGE_LINK_DOWN |
                                  MRT_LINK_CHANGE_LINK_UP | MRT_LINK_CHANGE_DEFAULT_ROUTE);
  assert_int_equal(ev->n_changes, 3);
  assert_int_equal(ev->more_changes, 0);
  assert_string_equal(ev->changes[0].ifname, "wlan0");
  assert_string_equal(ev->changes[1].ifname, "eth0");
  assert_string_equal(ev->changes[2].ifname, "eth1");
  char text[512];
  assert_string_equal(mrt_link_change_list_str(ev, text, sizeof text),
                      "wlan0: address 192.0.2.7/24 removed; eth0: link down; "
                      "default route now via eth1 (was eth0)");
  /* The next burst starts a list of its own. */
  assert_true(mrt_manual_monitor_trigger_item(f->mon, &down));
  mrt_runtime_advance(f->rt, MRT_MS(250));
  assert_int_equal(kept.n, 2);
  assert_int_equal(kept.ev[1].n_changes, 1);
  assert_int_equal(kept.ev[1].raw_events, 1);
  assert_string_equal(mrt_link_change_list_str(&kept.ev[1], text, sizeof text), "eth0: link down");
}

/* 1,600 described changes within one settle: one event, the first 16 listed
 * in order, the other 1,584 counted; the list's memory does not grow. */
static void storm_keeps_the_list_bounded(void **state) {
  fixture *f = *state;
  for (int round = 0; round < 100; round++) {
    for (int i = 0; i < MRT_MANUAL_MONITOR_SLOTS; i++) {
      char name[16];
      snprintf(name, sizeof name, "if%d", round * MRT_MANUAL_MONITOR_SLOTS + i);
      mrt_link_change_item it =
          item(i % 2 ? MRT_LINK_CHANGE_LINK_UP : MRT_LINK_CHANGE_LINK_DOWN, name);
      assert_true(mrt_manual_monitor_trigger_item(f->mon, &it));
    }
    mrt_runtime_run_until_idle(f->rt); /* the watcher drains; no time passes */
  }
  assert_int_equal(kept.n, 0);
  mrt_runtime_advance(f->rt, MRT_MS(250));
  assert_int_equal(kept.n, 1);
  const mrt_link_change *ev = &kept.ev[0];
  assert_int_equal(ev->raw_events, 1600);
  assert_int_equal(ev->n_changes, MRT_LINK_CHANGE_LIST_MAX);
  assert_int_equal(ev->more_changes, 1600 - MRT_LINK_CHANGE_LIST_MAX);
  for (int i = 0; i < MRT_LINK_CHANGE_LIST_MAX; i++) {
    char name[16];
    snprintf(name, sizeof name, "if%d", i);
    assert_string_equal(ev->changes[i].ifname, name);
  }
  char text[4096];
  mrt_link_change_list_str(ev, text, sizeof text);
  assert_true(strncmp(text, "if0: link down; if1: link up; if2: link down", 44) == 0);
  assert_non_null(strstr(text, "if15: link up (+1584 more)"));
}

static void trigger_item_checks_the_item(void **state) {
  fixture *f = *state;
  mrt_link_change_item it = item(0, "eth0");
  assert_false(mrt_manual_monitor_trigger_item(f->mon, NULL));
  assert_false(mrt_manual_monitor_trigger_item(NULL, &it));
  assert_false(mrt_manual_monitor_trigger_item(f->mon, &it)); /* no kind */
  it.flags = MRT_LINK_CHANGE_LINK_UP | MRT_LINK_CHANGE_LINK_DOWN;
  assert_false(mrt_manual_monitor_trigger_item(f->mon, &it)); /* two kinds */
  it.flags = MRT_LINK_CHANGE_LINK_UP | (UINT32_C(1) << 9);
  assert_false(mrt_manual_monitor_trigger_item(f->mon, &it)); /* unknown bit */
  /* An unterminated name is cut to 15 bytes; RESYNC may come along. */
  it.flags = MRT_LINK_CHANGE_LINK_UP | MRT_LINK_CHANGE_RESYNC;
  memset(it.ifname, 'x', sizeof it.ifname);
  assert_true(mrt_manual_monitor_trigger_item(f->mon, &it));
  mrt_runtime_advance(f->rt, MRT_MS(250));
  assert_int_equal(kept.n, 1);
  assert_int_equal(kept.ev[0].flags, MRT_LINK_CHANGE_LINK_UP | MRT_LINK_CHANGE_RESYNC);
  assert_int_equal(strlen(kept.ev[0].changes[0].ifname), MRT_LINK_IFNAME_MAX - 1);
  /* A monitor of another kind takes no item. */
  mrt_link_monitor *noop;
  assert_int_equal(mrt_noop_monitor_new(&noop), 0);
  it.flags = MRT_LINK_CHANGE_LINK_UP;
  assert_false(mrt_manual_monitor_trigger_item(noop, &it));
  mrt_link_monitor_free(noop);
}

/* The target is gone when the burst ends: the watcher's send fails and the
 * list goes back to it, and is freed (ASan's leak check fails otherwise). */
static void undeliverable_event_frees_its_list(void **state) {
  fixture *f = *state;
  mrt_link_change_item down = item(MRT_LINK_CHANGE_LINK_DOWN, "eth0");
  assert_true(mrt_manual_monitor_trigger_item(f->mon, &down));
  mrt_runtime_advance(f->rt, MRT_MS(100));
  assert_int_equal(mrt_actor_stop(f->tap), 0);
  mrt_runtime_advance(f->rt, MRT_SEC(1));
  assert_int_equal(kept.n, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(burst_collapses_after_settle, setup, teardown),
      cmocka_unit_test_setup_teardown(separated_bursts_give_two, setup, teardown),
      cmocka_unit_test_setup_teardown(never_quiet_stream_emits_via_max_wait, setup, teardown),
      cmocka_unit_test_setup_teardown(close_flushes_pending, setup, teardown),
      cmocka_unit_test_setup_teardown(destroying_the_handle_stops_delivery, setup, teardown),
      cmocka_unit_test_setup_teardown(manual_queue_is_bounded_and_single_watch, setup, teardown),
      cmocka_unit_test_setup_teardown(configurable_timing, setup, teardown),
      cmocka_unit_test_setup_teardown(noop_monitor_never_delivers, setup, teardown),
      cmocka_unit_test_setup_teardown(watch_rejects_bad_targets, setup, teardown),
      cmocka_unit_test_setup_teardown(free_right_after_destroy_is_safe, setup, teardown),
      cmocka_unit_test(shutdown_exits_without_flush),
      cmocka_unit_test_setup_teardown(coalesced_event_lists_the_changes, keeper_setup,
                                      keeper_teardown),
      cmocka_unit_test_setup_teardown(storm_keeps_the_list_bounded, keeper_setup, keeper_teardown),
      cmocka_unit_test_setup_teardown(trigger_item_checks_the_item, keeper_setup, keeper_teardown),
      cmocka_unit_test_setup_teardown(undeliverable_event_frees_its_list, keeper_setup,
                                      keeper_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
