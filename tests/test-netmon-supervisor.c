/* SPDX-License-Identifier: MIT */
/* Tests: NetmonSupervisor on the virtual clock, with a manual link monitor and
 * a scripted responder standing in for DirectManager (the seed's
 * RebindCounter) and a tap on the bus (its MeasureNowTap). Ports every seed
 * test: one link event -> exactly one RebindAndReprobe and one MeasureNow; a
 * second event within the 1 s interval is deferred (not run at 200 ms), runs
 * once at last + 1 s with no further event; three events within the interval
 * -> one deferred rebind; shutdown ends the loop and beats a pending rebind;
 * end to end with the real DirectManager: the socket's port changes and
 * exactly one MeasureNow reaches the bus. Plus: serial reactions while the
 * ask is in flight, an event at last + interval subsumes the pending one,
 * rebind errors are logged and still publish MeasureNow, watch failure falls
 * back to the no-op monitor, -EALREADY is retried, argument checks, and the
 * debug line for a link change says where with interface names escaped. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "node-fixture.h"

#define SETTLE MRT_MS(50)
#define INTERVAL MRT_SEC(1)

typedef struct fixture {
  mrt_runtime *rt;
  mrt_ref *direct; /* the stand-in */
  mrt_ref *tap;    /* MeasureNow on the bus */
  mrt_ref *nsup;
  mrt_link_monitor *mon;
} fixture;

static mrt_netmon_supervisor_config config_for(mrt_link_monitor *mon, uint64_t settle) {
  mrt_netmon_supervisor_config cfg = mrt_netmon_supervisor_config_default();
  cfg.monitor = mon;
  cfg.debounce.settle_ns = settle;
  cfg.debounce.max_wait_ns = MRT_SEC(1);
  return cfg;
}

static void start_with(fixture *f, mrt_test_action action, uint64_t settle) {
  static const mrt_sock_info info = {.port = 4242};
  mrt_test_step step = {&mrt_msg_direct_rebind_and_reprobe, action, &info, 0};
  assert_int_equal(mrt_test_responder_spawn(f->rt, &step, 1, &f->direct), 0);
  mrt_netmon_supervisor_config cfg = config_for(f->mon, settle);
  assert_int_equal(mrt_netmon_supervisor_spawn(f->rt, &cfg, f->direct, NULL, &f->nsup), 0);
  mrt_runtime_run_until_idle(f->rt);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_int_equal(mrt_test_runtime_new(1, &f->rt), 0);
  assert_int_equal(mrt_manual_monitor_new(&f->mon), 0);
  const mrt_msg_type *types[] = {&mrt_msg_measure_now};
  assert_int_equal(mrt_test_tap_spawn(f->rt, types, 1, &f->tap), 0);
  mrt_bus *bus = mrt_runtime_bus(f->rt);
  assert_int_equal(mrt_node_bus_configure(bus), 0);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_measure_now, f->tap), 0);
  capture_start();
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  capture_stop();
  mrt_ref_unref(f->nsup);
  mrt_ref_unref(f->direct);
  mrt_ref_unref(f->tap);
  mrt_runtime_unref(f->rt); /* shuts down: every watcher is gone after this */
  mrt_link_monitor_free(f->mon);
  free(f);
  return 0;
}

static int64_t rebinds(fixture *f) {
  return mrt_test_responder_count(f->direct, &mrt_msg_direct_rebind_and_reprobe);
}
static int64_t measures(fixture *f) {
  return mrt_test_tap_count(f->tap, &mrt_msg_measure_now);
}

static mrt_netmon_supervisor_stats stats_of(mrt_ref *nsup) {
  mrt_netmon_supervisor_stats s;
  memset(&s, 0, sizeof s);
  assert_int_equal(MRT_ASK_SYNC(netmon_supervisor_stats, nsup, &(mrt_none){0}, &s, 0), 0);
  return s;
}

/* Virtual time of the index-th MeasureNow (relative to the fixture's start). */
static uint64_t measure_at(fixture *f, size_t index) {
  mrt_test_tap_record rec;
  assert_int_equal(mrt_test_tap_get(f->tap, &mrt_msg_measure_now, index, &rec), 0);
  return rec.at_ns - MRT_TEST_START_NS;
}

static uint64_t now_rel(fixture *f) {
  return mrt_runtime_now(f->rt) - MRT_TEST_START_NS;
}

/* One coalesced link event: a trigger, then the settle. */
static void link_event(fixture *f, uint64_t settle) {
  assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_ADDR_ADDED));
  mrt_runtime_advance(f->rt, settle);
}

/* ---- the seed's tests ------------------------------------------------------------- */

static void one_link_event_fires_one_rebind_and_one_measure_now(void **state) {
  fixture *f = *state;
  start_with(f, MRT_TEST_REPLY, SETTLE);
  /* A small burst of raw changes coalesces into ONE event. */
  for (int i = 0; i < 4; i++) {
    assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_DEFAULT_ROUTE));
    mrt_runtime_advance(f->rt, MRT_MS(5));
  }
  mrt_runtime_advance(f->rt, SETTLE);
  assert_int_equal(rebinds(f), 1);
  assert_int_equal(measures(f), 1);
  /* No spurious extra reaction for a single coalesced event. */
  mrt_runtime_advance(f->rt, MRT_SEC(5));
  assert_int_equal(rebinds(f), 1);
  assert_int_equal(measures(f), 1);
  mrt_netmon_supervisor_stats s = stats_of(f->nsup);
  assert_int_equal(s.events, 1);
  assert_int_equal(s.rebinds, 1);
  assert_int_equal(s.measure_now, 1);
  assert_string_equal(s.monitor, "manual");
  assert_false(s.degraded);
}

static void min_interval_defers_within_interval_event(void **state) {
  fixture *f = *state;
  start_with(f, MRT_TEST_REPLY, MRT_MS(30));
  link_event(f, MRT_MS(30));
  assert_int_equal(rebinds(f), 1);
  uint64_t first = measure_at(f, 0); /* the reaction's completion time */
  /* A second, distinct event lands well inside the interval: deferred. */
  link_event(f, MRT_MS(30));
  assert_int_equal(stats_of(f->nsup).events, 2);
  assert_true(stats_of(f->nsup).pending);
  mrt_runtime_advance(f->rt, first + MRT_MS(200) - now_rel(f));
  assert_int_equal(rebinds(f), 1); /* not run at 200 ms, not dropped either */
  mrt_runtime_advance(f->rt, first + INTERVAL - 1 - now_rel(f));
  assert_int_equal(rebinds(f), 1);
  /* WITHOUT any further event, the deferred rebind runs at last + 1 s. */
  mrt_runtime_advance(f->rt, 1);
  assert_int_equal(rebinds(f), 2);
  assert_int_equal(measures(f), 2);
  assert_int_equal(measure_at(f, 1), first + INTERVAL);
  /* Exactly one: the flag was cleared when it ran. */
  mrt_runtime_advance(f->rt, MRT_SEC(5));
  assert_int_equal(rebinds(f), 2);
  assert_int_equal(measures(f), 2);
  mrt_netmon_supervisor_stats s = stats_of(f->nsup);
  assert_int_equal(s.deferred_rebinds, 1);
  assert_false(s.pending);
}

static void min_interval_coalesces_multiple_deferred_into_one(void **state) {
  fixture *f = *state;
  start_with(f, MRT_TEST_REPLY, MRT_MS(30));
  link_event(f, MRT_MS(30));
  assert_int_equal(rebinds(f), 1);
  uint64_t first = measure_at(f, 0);
  /* Three more distinct events, each its own coalesced event, all < 1 s. */
  for (int i = 0; i < 3; i++) {
    link_event(f, MRT_MS(30));
    mrt_runtime_advance(f->rt, MRT_MS(40));
  }
  assert_int_equal(stats_of(f->nsup).events, 4);
  assert_int_equal(rebinds(f), 1);
  mrt_runtime_advance(f->rt, first + INTERVAL - now_rel(f));
  assert_int_equal(rebinds(f), 2);
  mrt_runtime_advance(f->rt, MRT_SEC(5));
  assert_int_equal(rebinds(f), 2); /* three events -> exactly one deferred rebind */
  assert_int_equal(measures(f), 2);
  mrt_netmon_supervisor_stats s = stats_of(f->nsup);
  assert_int_equal(s.deferred_rebinds, 1);
  assert_int_equal(s.coalesced, 2);
}

/* A DirectManager stand-in whose count survives runtime shutdown. */
static int shutdown_rebinds;
static int count_rebind(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)p;
  shutdown_rebinds++;
  return r != NULL ? MRT_REPLY(direct_rebind_and_reprobe, r, &(mrt_sock_info){.port = 1}) : 0;
}
static const mrt_handler_entry counter_handlers[] = {
    {&mrt_msg_direct_rebind_and_reprobe, count_rebind}, {NULL, NULL}};
static const mrt_actor_class counter_class = {.name = "rebind-counter",
                                              .handlers = counter_handlers};

static void shutdown_ends_loop(void **state) {
  fixture *f = *state;
  shutdown_rebinds = 0;
  assert_int_equal(mrt_actor_spawn(f->rt, &counter_class, NULL, NULL, &f->direct), 0);
  mrt_netmon_supervisor_config cfg = config_for(f->mon, MRT_MS(30));
  assert_int_equal(mrt_netmon_supervisor_spawn(f->rt, &cfg, f->direct, NULL, &f->nsup), 0);
  link_event(f, MRT_MS(30));
  assert_int_equal(shutdown_rebinds, 1);
  /* A deferred rebind is owed and its timer is almost due... */
  link_event(f, MRT_MS(30));
  mrt_runtime_advance(f->rt, measure_at(f, 0) + INTERVAL - 1 - now_rel(f));
  assert_true(stats_of(f->nsup).pending);
  /* ...but shutdown wins: the loop ends, the rebind never runs. */
  assert_int_equal(mrt_runtime_shutdown(f->rt), 0);
  assert_false(mrt_ref_alive(f->nsup));
  assert_int_equal(shutdown_rebinds, 1);
}

/* ---- the rule set beyond the seed ----------------------------------------------------- */

static void events_during_a_rebind_wait_for_it(void **state) {
  fixture *f = *state;
  /* A DirectManager that never answers: each ask ends at its 5 s deadline. */
  start_with(f, MRT_TEST_SILENCE, SETTLE);
  link_event(f, SETTLE);
  uint64_t t0 = now_rel(f);
  assert_int_equal(rebinds(f), 1);
  assert_true(stats_of(f->nsup).busy);
  /* Events while the reaction runs: serial, so no second ask in flight. */
  link_event(f, SETTLE);
  link_event(f, SETTLE);
  assert_int_equal(rebinds(f), 1);
  assert_int_equal(measures(f), 0);
  /* The ask times out: the error is logged, MeasureNow still goes out. */
  mrt_runtime_advance(f->rt, t0 + MRT_NS_PER_SEC * 5 - now_rel(f));
  assert_int_equal(measures(f), 1);
  assert_int_equal(measure_at(f, 0), t0 + MRT_SEC(5));
  assert_true(capture_count(MRT_LOG_ERROR, "rebind-and-reprobe on link change failed") >= 1);
  mrt_netmon_supervisor_stats s = stats_of(f->nsup);
  assert_int_equal(s.rebind_errors, 1);
  assert_true(s.pending);
  /* The owed rebind runs one interval after that completion. */
  mrt_runtime_advance(f->rt, MRT_SEC(1) - 1);
  assert_int_equal(rebinds(f), 1);
  mrt_runtime_advance(f->rt, 1);
  assert_int_equal(rebinds(f), 2);
}

static void event_after_the_interval_runs_at_once(void **state) {
  fixture *f = *state;
  start_with(f, MRT_TEST_REPLY, MRT_MS(30));
  link_event(f, MRT_MS(30));
  uint64_t first = measure_at(f, 0);
  /* Long after the interval: immediate, no deferral. */
  mrt_runtime_advance(f->rt, MRT_SEC(3));
  link_event(f, MRT_MS(30));
  assert_int_equal(rebinds(f), 2);
  assert_int_equal(measure_at(f, 1), first + MRT_SEC(3) + MRT_MS(30));
  assert_int_equal(stats_of(f->nsup).deferred_rebinds, 0);
}

/* An actor that tells a link change to `target` after `delay_ns`: its timer,
 * created before the supervisor's deferral timer and due at the same instant,
 * fires first (ties go in creation order). */
typedef struct teller_args {
  mrt_ref *target;
  uint64_t delay_ns;
} teller_args;
static int teller_fire(mrt_actor *self, void *state, void *ud) {
  (void)self;
  (void)ud;
  mrt_link_change ev = {.flags = MRT_LINK_CHANGE_LINK_UP, .raw_events = 1};
  return MRT_TELL(link_change, ((teller_args *)state)->target, &ev);
}
static int teller_start(mrt_actor *self, void *state, const void *args) {
  *(teller_args *)state = *(const teller_args *)args;
  return mrt_timer_start(self, ((const teller_args *)args)->delay_ns, 0, teller_fire, NULL, NULL);
}
static const mrt_handler_entry teller_handlers[] = {{NULL, NULL}};
static const mrt_actor_class teller_class = {.name = "teller",
                                             .state_size = sizeof(teller_args),
                                             .args_size = sizeof(teller_args),
                                             .on_start = teller_start,
                                             .handlers = teller_handlers};

static void event_at_the_interval_subsumes_the_pending_rebind(void **state) {
  fixture *f = *state;
  start_with(f, MRT_TEST_REPLY, MRT_MS(30));
  link_event(f, MRT_MS(30));
  uint64_t first = measure_at(f, 0);
  mrt_ref *teller = NULL;
  teller_args ta = {f->nsup, first + INTERVAL - now_rel(f)};
  assert_int_equal(mrt_actor_spawn(f->rt, &teller_class, &ta, NULL, &teller), 0);
  mrt_runtime_run_until_idle(f->rt);
  link_event(f, MRT_MS(30)); /* within the interval: pending, timer at first + 1 s */
  assert_true(stats_of(f->nsup).pending);
  /* The teller's event lands at exactly first + 1 s, before the deferral
   * timer's turn: it is not inside the interval, so it runs at once and
   * covers the pending rebind, which must not run a second time. */
  mrt_runtime_advance(f->rt, MRT_SEC(5));
  assert_int_equal(rebinds(f), 2);
  assert_int_equal(measure_at(f, 1), first + INTERVAL);
  mrt_netmon_supervisor_stats s = stats_of(f->nsup);
  assert_int_equal(s.events, 3);
  assert_int_equal(s.subsumed, 1);
  assert_int_equal(s.deferred_rebinds, 0);
  assert_false(s.pending);
  mrt_ref_unref(teller);
}

static void rebind_error_is_logged_and_measure_now_still_published(void **state) {
  fixture *f = *state;
  static const mrt_sock_info info = {.port = 1};
  mrt_test_step step = {&mrt_msg_direct_rebind_and_reprobe, MRT_TEST_ERROR, &info, -EADDRINUSE};
  assert_int_equal(mrt_test_responder_spawn(f->rt, &step, 1, &f->direct), 0);
  mrt_netmon_supervisor_config cfg = config_for(f->mon, SETTLE);
  assert_int_equal(mrt_netmon_supervisor_spawn(f->rt, &cfg, f->direct, NULL, &f->nsup), 0);
  link_event(f, SETTLE);
  assert_int_equal(rebinds(f), 1);
  assert_int_equal(measures(f), 1);
  assert_int_equal(stats_of(f->nsup).rebind_errors, 1);
  assert_true(capture_count(MRT_LOG_ERROR, "rebind-and-reprobe on link change failed") >= 1);
  /* A DirectManager that is gone: logged, not fatal. */
  assert_int_equal(mrt_actor_stop(f->direct), 0);
  mrt_runtime_advance(f->rt, MRT_SEC(2));
  link_event(f, SETTLE);
  assert_int_equal(measures(f), 2);
  assert_true(mrt_ref_alive(f->nsup));
  assert_int_equal(stats_of(f->nsup).rebind_errors, 2);
}

/* The debug line for a link change says where, and a hostile interface name
 * reaches the log escaped. */
static void link_change_log_line_says_where(void **state) {
  fixture *f = *state;
  mrt_log_level was = mrt_log_get_level();
  mrt_log_set_level(MRT_LOG_DEBUG);
  start_with(f, MRT_TEST_REPLY, SETTLE);
  mrt_link_change_item it;
  memset(&it, 0, sizeof it);
  it.flags = MRT_LINK_CHANGE_LINK_DOWN;
  snprintf(it.ifname, sizeof it.ifname, "e\x1b[2Jth0");
  assert_true(mrt_manual_monitor_trigger_item(f->mon, &it));
  mrt_runtime_advance(f->rt, SETTLE);
  mrt_log_set_level(was);
  assert_int_equal(rebinds(f), 1);
  assert_int_equal(
      capture_count(MRT_LOG_DEBUG, "link change: e\\x1b[2Jth0: link down flags=link-down raw=1"),
      1);
  assert_int_equal(capture_count(MRT_LOG_TRACE, "\x1b"), 0);
}

static void watch_failure_falls_back_to_noop(void **state) {
  fixture *f = *state;
  /* Someone else holds the manual monitor's only watch: ours fails. */
  mrt_link_watch *other = NULL;
  assert_int_equal(mrt_link_monitor_watch(f->mon, f->rt, f->tap, NULL, &other), 0);
  static const mrt_sock_info info = {.port = 1};
  mrt_test_step step = {&mrt_msg_direct_rebind_and_reprobe, MRT_TEST_REPLY, &info, 0};
  assert_int_equal(mrt_test_responder_spawn(f->rt, &step, 1, &f->direct), 0);
  mrt_netmon_supervisor_config cfg = config_for(f->mon, SETTLE);
  assert_int_equal(mrt_netmon_supervisor_spawn(f->rt, &cfg, f->direct, NULL, &f->nsup), 0);
  mrt_runtime_advance(f->rt, MRT_SEC(2)); /* the -EALREADY retries run out */
  assert_true(mrt_ref_alive(f->nsup));
  mrt_netmon_supervisor_stats s = stats_of(f->nsup);
  assert_true(s.degraded);
  assert_string_equal(s.monitor, "noop");
  assert_int_equal(s.watch_error, -EALREADY);
  assert_int_equal(capture_count(MRT_LOG_ERROR, "network monitor failed to start"), 1);
  /* Changes go to the other watcher; ours never reacts. */
  link_event(f, SETTLE);
  assert_int_equal(rebinds(f), 0);
  mrt_link_watch_destroy(other);
}

static void busy_monitor_is_retried(void **state) {
  fixture *f = *state;
  mrt_link_watch *other = NULL;
  assert_int_equal(mrt_link_monitor_watch(f->mon, f->rt, f->tap, NULL, &other), 0);
  start_with(f, MRT_TEST_REPLY, SETTLE);
  assert_string_equal(stats_of(f->nsup).monitor, "");
  /* The previous watch ends (as after a restart): the retry takes over. */
  mrt_link_watch_destroy(other);
  mrt_runtime_advance(f->rt, MRT_MS(100));
  mrt_netmon_supervisor_stats s = stats_of(f->nsup);
  assert_string_equal(s.monitor, "manual");
  assert_false(s.degraded);
  assert_int_equal(s.watch_error, 0);
  link_event(f, SETTLE);
  assert_int_equal(rebinds(f), 1);
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

static void spawn_checks_its_arguments(void **state) {
  fixture *f = *state;
  start_with(f, MRT_TEST_REPLY, SETTLE);
  mrt_netmon_supervisor_config cfg = config_for(f->mon, SETTLE);
  mrt_ref *out = (mrt_ref *)&out;
  assert_int_equal(mrt_netmon_supervisor_spawn(NULL, &cfg, f->direct, NULL, &out), -EINVAL);
  assert_null(out);
  assert_int_equal(mrt_netmon_supervisor_spawn(f->rt, NULL, f->direct, NULL, &out), -EINVAL);
  assert_int_equal(mrt_netmon_supervisor_spawn(f->rt, &cfg, NULL, NULL, &out), -EINVAL);
  mrt_netmon_supervisor_config bad = cfg;
  bad.min_rebind_interval_ns = 0;
  assert_int_equal(mrt_netmon_supervisor_spawn(f->rt, &bad, f->direct, NULL, &out), -EINVAL);
  mrt_ref *deaf = NULL;
  assert_int_equal(mrt_actor_spawn(f->rt, &deaf_class, NULL, NULL, &deaf), 0);
  assert_int_equal(mrt_netmon_supervisor_spawn(f->rt, &cfg, deaf, NULL, &out), -ENOTSUP);
  assert_null(out);
  mrt_ref_unref(deaf);
}

/* Without an injected monitor the actor owns the default one, netlink (or,
 * in a build without it, runs degraded on the no-op monitor). */
static void owns_a_netlink_monitor_by_default(void **state) {
  fixture *f = *state;
  start_with(f, MRT_TEST_REPLY, SETTLE);
  mrt_netmon_supervisor_config cfg = config_for(NULL, SETTLE);
  mrt_ref *own = NULL;
  assert_int_equal(mrt_netmon_supervisor_spawn(f->rt, &cfg, f->direct, NULL, &own), 0);
  mrt_netmon_supervisor_stats st = stats_of(own);
  if (mrt_node_network_monitor_available()) {
    assert_string_equal(st.monitor, "netlink");
    assert_false(st.degraded);
  } else {
    assert_string_equal(st.monitor, "noop");
    assert_true(st.degraded);
  }
  assert_int_equal(mrt_actor_stop(own), 0); /* frees its monitor; valgrind checks */
  mrt_runtime_run_until_idle(f->rt);
  mrt_ref_unref(own);
}

/* ---- end to end: the real DirectManager ------------------------------------------------- */

static mrt_sock_info direct_sock_info(mrt_ref *dm) {
  mrt_sock_info si;
  memset(&si, 0, sizeof si);
  assert_int_equal(MRT_ASK_SYNC(direct_sock_info, dm, &(mrt_none){0}, &si, 0), 0);
  return si;
}

static void supervisor_reacts_end_to_end_with_manual_monitor(void **state) {
  fixture *f = *state;
  mrt_direct_config dc = mrt_direct_config_default();
  dc.listen_addr = lo4(0);
  dc.advertise_local = false;
  assert_int_equal(mrt_direct_spawn(f->rt, &dc, NULL, &f->direct), 0);
  mrt_sock_info before = direct_sock_info(f->direct);
  assert_false(before.inert);
  assert_true(before.port != 0);
  mrt_netmon_supervisor_config cfg = config_for(f->mon, SETTLE);
  assert_int_equal(mrt_netmon_supervisor_spawn(f->rt, &cfg, f->direct, NULL, &f->nsup), 0);
  for (int i = 0; i < 4; i++) {
    assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_ADDR_ADDED));
    mrt_runtime_advance(f->rt, MRT_MS(5));
  }
  mrt_runtime_advance(f->rt, SETTLE);
  assert_int_equal(measures(f), 1);
  mrt_sock_info after = direct_sock_info(f->direct);
  assert_false(after.inert);
  assert_true(after.port != 0);
  assert_int_equal(before.port, after.port); /* a new socket on the same port */
  assert_int_equal(after.port_outcome, MRT_PORT_KEPT);
  assert_int_equal(after.generation, before.generation + 1);
  mrt_runtime_advance(f->rt, MRT_MS(100));
  assert_int_equal(measures(f), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(one_link_event_fires_one_rebind_and_one_measure_now, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(min_interval_defers_within_interval_event, setup, teardown),
      cmocka_unit_test_setup_teardown(min_interval_coalesces_multiple_deferred_into_one, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(shutdown_ends_loop, setup, teardown),
      cmocka_unit_test_setup_teardown(events_during_a_rebind_wait_for_it, setup, teardown),
      cmocka_unit_test_setup_teardown(event_after_the_interval_runs_at_once, setup, teardown),
      cmocka_unit_test_setup_teardown(event_at_the_interval_subsumes_the_pending_rebind, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(link_change_log_line_says_where, setup, teardown),
      cmocka_unit_test_setup_teardown(rebind_error_is_logged_and_measure_now_still_published, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(watch_failure_falls_back_to_noop, setup, teardown),
      cmocka_unit_test_setup_teardown(busy_monitor_is_retried, setup, teardown),
      cmocka_unit_test_setup_teardown(owns_a_netlink_monitor_by_default, setup, teardown),
      cmocka_unit_test_setup_teardown(spawn_checks_its_arguments, setup, teardown),
      cmocka_unit_test_setup_teardown(supervisor_reacts_end_to_end_with_manual_monitor, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
