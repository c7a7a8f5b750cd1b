/* SPDX-License-Identifier: MIT */
/* Tests: the node's actors have bounded mailboxes, and nothing that must not
 * be lost is lost to a full one. On the virtual clock, hand-driven, so a
 * mailbox stays full exactly as long as the test does not drive the runtime.
 *
 *   - DirectManager (MRT_DIRECT_MAILBOX_CAPACITY): 1,001 peer-map publishes
 *     fill it; an ask fails at once with -EAGAIN; the bus counts exactly the
 *     drops; once driven it recovers and holds the LAST map published; the
 *     supervisor restarts it while it is full (its stop request falls back
 *     to a plain stop) and the new one gets the latest map;
 *   - DerpLatencyMeasurer (MRT_DERP_LATENCY_MAILBOX_CAPACITY): 1,000
 *     MeasureNows fill it; its stats ask fails with -EAGAIN; drops counted;
 *     driven, it has handled the capacity plus one (the newest, delivered
 *     when it had room);
 *   - NetmonSupervisor (MRT_NETMON_SUPERVISOR_MAILBOX_CAPACITY): filled with
 *     tells, its stats ask fails with -EAGAIN and it recovers;
 *   - a link change whose target's mailbox is full is held by its watcher and
 *     delivered, folded with the next one, once there is room (not dropped);
 *   - a RebindAndReprobe that DirectManager's full mailbox refuses is asked
 *     again every MRT_NETMON_BUSY_RETRY until taken: no error counted, no
 *     MeasureNow until the rebind really happened.
 * A second hand-driven runtime stands for an actor whose executor is busy:
 * nothing drains its mailbox until the test drives that runtime.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "node-fixture.h"

#define SETTLE MRT_MS(50)

typedef struct fixture {
  mrt_runtime *rt;
  mrt_link_monitor *mon; /* manual */
  mrt_node *node;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  capture_start();
  assert_int_equal(mrt_test_runtime_new(1, &f->rt), 0);
  assert_int_equal(mrt_manual_monitor_new(&f->mon), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  capture_stop();
  mrt_runtime_unref(f->rt); /* shutdown first: then the node may be freed */
  mrt_node_free(f->node);
  mrt_link_monitor_free(f->mon);
  free(f);
  return 0;
}

static void start_node(fixture *f) {
  mrt_node_config cfg = mrt_node_config_default();
  cfg.listen_addr = lo4(0);
  cfg.advertise_local = false;
  cfg.measure_addr = lo4(0);
  cfg.network_monitor = true;
  cfg.monitor = f->mon;
  cfg.timing.debounce.settle_ns = SETTLE;
  assert_int_equal(mrt_node_start(f->rt, &cfg, &f->node), 0);
  mrt_runtime_run_until_idle(f->rt);
}

static mrt_bus_stats stats_of(mrt_runtime *rt, const mrt_msg_type *type) {
  mrt_bus_stats st;
  assert_int_equal(mrt_bus_stats_get(mrt_runtime_bus(rt), type, &st), 0);
  return st;
}

/* ---- DirectManager ------------------------------------------------------------------------ */

static void direct_manager_mailbox_is_bounded(void **state) {
  fixture *f = *state;
  start_node(f);
  mrt_ref *dm = mrt_node_direct(f->node);
  mrt_peer_map *small = peers(1), *last = peers(3);
  assert_non_null(small);
  assert_non_null(last);
  uint64_t dropped0 = stats_of(f->rt, &mrt_msg_peer_map_update).dropped_full;
  /* 1,000 copies of one map, then a different one: nothing is driven, so
   * DirectManager handles none of them yet. */
  for (int i = 0; i < 1000; i++)
    assert_true(mrt_node_publish_peer_map(f->rt, mrt_peer_map_ref(small)) >= 0);
  assert_true(mrt_node_publish_peer_map(f->rt, mrt_peer_map_ref(last)) >= 0);
  uint64_t t0 = mrt_runtime_now(f->rt);
  mrt_sock_info si;
  assert_int_equal(MRT_ASK_SYNC(direct_sock_info, dm, &(mrt_none){0}, &si, MRT_SEC(5)), -EAGAIN);
  assert_int_equal(mrt_runtime_now(f->rt), t0); /* refused at once, nothing driven */
  assert_int_equal(stats_of(f->rt, &mrt_msg_peer_map_update).dropped_full - dropped0,
                   1001 - MRT_DIRECT_MAILBOX_CAPACITY);
  uint64_t deepest = 0;
  assert_int_equal(mrt_runtime_mailbox_depth(f->rt, NULL, &deepest), 0);
  assert_int_equal(deepest, MRT_DIRECT_MAILBOX_CAPACITY);
  /* Driven, it recovers, and the last map won although it was dropped. */
  mrt_runtime_run_until_idle(f->rt);
  assert_int_equal(MRT_ASK_SYNC(direct_sock_info, dm, &(mrt_none){0}, &si, MRT_SEC(5)), 0);
  assert_int_equal(direct_peers(dm), 3);

  /* Full again, then restarted by the supervisor: the restart does not wait
   * for room, and the new DirectManager starts from the latest map. */
  for (int i = 0; i < 100; i++)
    assert_true(mrt_node_publish_peer_map(f->rt, mrt_peer_map_ref(small)) >= 0);
  assert_true(mrt_node_publish_peer_map(f->rt, mrt_peer_map_ref(last)) >= 0);
  mrt_child_outcome out;
  assert_int_equal(
      mrt_supervisor_restart(mrt_node_supervisor(f->node), MRT_NODE_CHILD_DIRECT, &out), 0);
  mrt_runtime_run_until_idle(f->rt);
  mrt_ref *dm2 = NULL;
  assert_int_equal(
      mrt_supervisor_child_ref(mrt_node_supervisor(f->node), MRT_NODE_CHILD_DIRECT, &dm2), 0);
  assert_true(mrt_ref_id(dm2) != mrt_ref_id(dm));
  assert_false(mrt_ref_alive(dm));
  assert_int_equal(direct_peers(dm2), 3);
  mrt_ref_unref(dm2);
  mrt_peer_map_unref(small);
  mrt_peer_map_unref(last);
}

/* ---- DerpLatencyMeasurer -------------------------------------------------------------------- */

static void measurer_mailbox_is_bounded(void **state) {
  fixture *f = *state;
  start_node(f);
  mrt_ref *dl = mrt_node_derp_latency(f->node);
  mrt_bus *bus = mrt_runtime_bus(f->rt);
  uint64_t dropped0 = stats_of(f->rt, &mrt_msg_measure_now).dropped_full;
  for (uint64_t i = 1; i <= 1000; i++)
    assert_true(mrt_publish_measure_now(bus, &(mrt_measure_now){.reason = i}) >= 0);
  mrt_derp_latency_stats st;
  assert_int_equal(MRT_ASK_SYNC(derp_latency_stats, dl, &(mrt_none){0}, &st, MRT_SEC(5)), -EAGAIN);
  assert_int_equal(stats_of(f->rt, &mrt_msg_measure_now).dropped_full - dropped0,
                   1000 - MRT_DERP_LATENCY_MAILBOX_CAPACITY);
  mrt_runtime_run_until_idle(f->rt);
  assert_int_equal(MRT_ASK_SYNC(derp_latency_stats, dl, &(mrt_none){0}, &st, MRT_SEC(5)), 0);
  /* The queued ones, then the newest once it had room (no map: each is
   * counted and ignored). */
  assert_int_equal(st.measure_now, MRT_DERP_LATENCY_MAILBOX_CAPACITY + 1);
  assert_int_equal(st.ignored, MRT_DERP_LATENCY_MAILBOX_CAPACITY + 1);
}

/* ---- NetmonSupervisor ----------------------------------------------------------------------- */

static void netmon_supervisor_mailbox_is_bounded(void **state) {
  fixture *f = *state;
  start_node(f);
  mrt_ref *nm = mrt_node_netmon_supervisor(f->node);
  for (unsigned i = 0; i < MRT_NETMON_SUPERVISOR_MAILBOX_CAPACITY; i++)
    assert_int_equal(MRT_TELL(netmon_supervisor_stats, nm, &(mrt_none){0}), 0);
  assert_int_equal(MRT_TELL(netmon_supervisor_stats, nm, &(mrt_none){0}), -EAGAIN);
  mrt_netmon_supervisor_stats st;
  assert_int_equal(MRT_ASK_SYNC(netmon_supervisor_stats, nm, &(mrt_none){0}, &st, MRT_SEC(5)),
                   -EAGAIN);
  mrt_runtime_run_until_idle(f->rt);
  assert_int_equal(MRT_ASK_SYNC(netmon_supervisor_stats, nm, &(mrt_none){0}, &st, MRT_SEC(5)), 0);
  assert_int_equal(st.events, 0);
}

/* ---- a link change into a full mailbox ------------------------------------------------------- */

typedef struct sink {
  uint64_t links, raw, fills;
  uint32_t flags;
} sink;
static sink sunk; /* written by the sink's handlers, read by the test thread between drives */

MRT_MESSAGE_DECLARE(, sink_fill, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(sink_fill, mrt_none, mrt_none, NULL, NULL);

static int sink_link(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)r;
  const mrt_link_change *c = p;
  sunk.links++;
  sunk.raw += c->raw_events;
  sunk.flags |= c->flags;
  return 0;
}

static int sink_fill(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)p;
  (void)r;
  sunk.fills++;
  return 0;
}

static const mrt_handler_entry sink_handlers[] = {
    {&mrt_msg_link_change, sink_link}, {&mrt_msg_sink_fill, sink_fill}, {NULL, NULL}};
static const mrt_actor_class sink_class = {.name = "link-sink", .handlers = sink_handlers};

static void link_change_into_full_mailbox_is_held(void **state) {
  fixture *f = *state;
  memset(&sunk, 0, sizeof sunk);
  mrt_runtime *busy;
  assert_int_equal(mrt_test_runtime_new(1, &busy), 0);
  mrt_ref *target;
  mrt_spawn_opts o = {.executor = MRT_EXECUTOR_AUTO, .mailbox_capacity = 2};
  assert_int_equal(mrt_actor_spawn(busy, &sink_class, NULL, &o, &target), 0);
  mrt_runtime_run_until_idle(busy);
  mrt_debounce_config deb = {.settle_ns = SETTLE, .max_wait_ns = MRT_SEC(1)};
  mrt_link_watch *watch;
  assert_int_equal(mrt_link_monitor_watch(f->mon, f->rt, target, &deb, &watch), 0);
  mrt_runtime_run_until_idle(f->rt);
  for (int i = 0; i < 2; i++)
    assert_int_equal(MRT_TELL(sink_fill, target, &(mrt_none){0}), 0);

  /* Two changes, each settled and sent while the target is full. */
  assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_DEFAULT_ROUTE));
  mrt_runtime_advance(f->rt, SETTLE + MRT_MS(1));
  assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_LINK_UP));
  mrt_runtime_advance(f->rt, SETTLE + MRT_MS(1));
  mrt_runtime_advance(f->rt, SETTLE + MRT_MS(1));
  mrt_runtime_run_until_idle(busy);
  assert_int_equal(sunk.fills, 2);
  assert_int_equal(sunk.links, 0);
  /* Room now: the held change goes out one settle later, both folded. */
  mrt_runtime_advance(f->rt, SETTLE + MRT_MS(1));
  mrt_runtime_run_until_idle(busy);
  assert_int_equal(sunk.links, 1);
  assert_int_equal(sunk.raw, 2);
  assert_int_equal(sunk.flags & (MRT_LINK_CHANGE_DEFAULT_ROUTE | MRT_LINK_CHANGE_LINK_UP),
                   MRT_LINK_CHANGE_DEFAULT_ROUTE | MRT_LINK_CHANGE_LINK_UP);
  mrt_link_watch_destroy(watch);
  mrt_runtime_run_until_idle(f->rt);
  mrt_ref_unref(target);
  mrt_runtime_shutdown(f->rt); /* the watcher's reference to the target goes first */
  mrt_runtime_unref(busy);
}

/* ---- RebindAndReprobe into a full DirectManager --------------------------------------------- */

static uint64_t fake_rebinds, fake_fills;

static int fake_rebind(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)p;
  fake_rebinds++;
  mrt_sock_info si;
  memset(&si, 0, sizeof si);
  si.port = 4242;
  si.generation = 2;
  return r ? MRT_REPLY(direct_rebind_and_reprobe, r, &si) : 0;
}

static int fake_fill(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)p;
  (void)r;
  fake_fills++;
  return 0;
}

static const mrt_handler_entry fake_handlers[] = {{&mrt_msg_direct_rebind_and_reprobe, fake_rebind},
                                                  {&mrt_msg_sink_fill, fake_fill},
                                                  {NULL, NULL}};
static const mrt_actor_class fake_class = {.name = "fake-direct", .handlers = fake_handlers};

static mrt_netmon_supervisor_stats nm_stats(mrt_ref *nm) {
  mrt_netmon_supervisor_stats st;
  assert_int_equal(MRT_ASK_SYNC(netmon_supervisor_stats, nm, &(mrt_none){0}, &st, MRT_SEC(5)), 0);
  return st;
}

static void rebind_refused_for_full_mailbox_is_asked_again(void **state) {
  fixture *f = *state;
  fake_rebinds = fake_fills = 0;
  mrt_runtime *busy;
  assert_int_equal(mrt_test_runtime_new(1, &busy), 0);
  mrt_ref *fake;
  mrt_spawn_opts o = {.executor = MRT_EXECUTOR_AUTO, .mailbox_capacity = 2};
  assert_int_equal(mrt_actor_spawn(busy, &fake_class, NULL, &o, &fake), 0);
  mrt_runtime_run_until_idle(busy);
  mrt_ref *tap;
  const mrt_msg_type *types[] = {&mrt_msg_measure_now};
  assert_int_equal(mrt_test_tap_spawn(f->rt, types, 1, &tap), 0);
  assert_int_equal(mrt_node_bus_configure(mrt_runtime_bus(f->rt)), 0);
  assert_int_equal(mrt_bus_subscribe(mrt_runtime_bus(f->rt), &mrt_msg_measure_now, tap), 0);
  mrt_netmon_supervisor_config cfg = mrt_netmon_supervisor_config_default();
  cfg.monitor = f->mon;
  cfg.debounce.settle_ns = SETTLE;
  mrt_ref *nm;
  assert_int_equal(mrt_netmon_supervisor_spawn(f->rt, &cfg, fake, NULL, &nm), 0);
  mrt_runtime_run_until_idle(f->rt);
  for (int i = 0; i < 2; i++)
    assert_int_equal(MRT_TELL(sink_fill, fake, &(mrt_none){0}), 0);

  /* The link change settles; the rebind meets the full mailbox: owed, not
   * failed, nothing published. */
  assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_DEFAULT_ROUTE));
  mrt_runtime_advance(f->rt, SETTLE + MRT_MS(1));
  mrt_netmon_supervisor_stats st = nm_stats(nm);
  assert_int_equal(st.events, 1);
  assert_int_equal(st.busy_retries, 1);
  assert_true(st.pending);
  assert_int_equal(st.rebinds, 0);
  assert_int_equal(st.rebind_errors, 0);
  assert_int_equal(mrt_test_tap_count(tap, &mrt_msg_measure_now), 0);
  /* Still full 50 ms later: asked again, still owed. */
  mrt_runtime_advance(f->rt, MRT_NETMON_BUSY_RETRY);
  st = nm_stats(nm);
  assert_int_equal(st.busy_retries, 2);
  assert_int_equal(st.rebinds, 0);
  /* DirectManager catches up; the next retry is taken and answered. */
  mrt_runtime_run_until_idle(busy);
  assert_int_equal(fake_fills, 2);
  assert_int_equal(fake_rebinds, 0);
  mrt_runtime_advance(f->rt, MRT_NETMON_BUSY_RETRY);
  mrt_runtime_run_until_idle(busy);
  assert_int_equal(fake_rebinds, 1);
  mrt_runtime_run_until_idle(f->rt);
  st = nm_stats(nm);
  assert_int_equal(st.rebinds, 1);
  assert_int_equal(st.rebind_errors, 0);
  assert_int_equal(st.busy_retries, 2);
  assert_false(st.pending);
  assert_int_equal(st.deferred_rebinds, 0);
  assert_int_equal(mrt_test_tap_count(tap, &mrt_msg_measure_now), 1);
  /* Nothing else is owed: time passing asks nothing more. */
  mrt_runtime_advance(f->rt, MRT_SEC(2));
  mrt_runtime_run_until_idle(busy);
  assert_int_equal(fake_rebinds, 1);
  mrt_ref_unref(nm);
  mrt_ref_unref(tap);
  mrt_ref_unref(fake);
  mrt_runtime_shutdown(f->rt); /* NetmonSupervisor's reference to the fake goes first */
  mrt_runtime_unref(busy);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(direct_manager_mailbox_is_bounded, setup, teardown),
      cmocka_unit_test_setup_teardown(measurer_mailbox_is_bounded, setup, teardown),
      cmocka_unit_test_setup_teardown(netmon_supervisor_mailbox_is_bounded, setup, teardown),
      cmocka_unit_test_setup_teardown(link_change_into_full_mailbox_is_held, setup, teardown),
      cmocka_unit_test_setup_teardown(rebind_refused_for_full_mailbox_is_asked_again, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
