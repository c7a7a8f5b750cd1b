/* Tests: the link-monitor interface, debouncer, manual and no-op monitors, on
 * the virtual clock: bursts collapse after the settle, separated bursts stay
 * apart, a never-quiet stream emits through the max-wait cap, close flushes,
 * shutdown exits without flushing, destroying the handle stops delivery, the
 * manual monitor's 16-slot queue, -EALREADY on a second watch, and no-op. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include <meshrt/meshrt.h>
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

static int64_t events(fixture *f) { return mrt_test_tap_count(f->tap, &mrt_msg_link_change); }

static mrt_link_change event_at(fixture *f, size_t i, uint64_t *at) {
  mrt_test_tap_record rec;
  assert_int_equal(mrt_test_tap_get(f->tap, &mrt_msg_link_change, i, &rec), 0);
  if (at != NULL)
    *at = rec.at_ns - MRT_TEST_START_NS;
  return *(const mrt_link_change *)(const void *)rec.data;
}

static void burst_collapses_after_settle(void **state) {
  fixture *f = *state;
  uint32_t flags[] = {MRT_LINK_CHANGE_ADDR_ADDED, MRT_LINK_CHANGE_LINK_UP,
                      MRT_LINK_CHANGE_ADDR_ADDED, MRT_LINK_CHANGE_DEFAULT_ROUTE,
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
  assert_int_equal(st.events, 1); /* counted by the monitor too */
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
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
