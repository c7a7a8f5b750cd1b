/* SPDX-License-Identifier: MIT */
/* Tests: node wiring on the virtual clock. mrt_node_start spawns one
 * supervisor with DirectManager, DerpLatencyMeasurer and (opt-in)
 * NetmonSupervisor; the DERP map it publishes is measured against loopback
 * STUN responders; a link change through the injected manual monitor rebinds
 * DirectManager's socket and re-measures; a restarted DirectManager keeps the
 * node's key and is found by NetmonSupervisor; in a build without the
 * network_monitor feature (meson -Dnetwork_monitor=disabled), asking for the
 * node's own netlink monitor fails the start with a clear error before any
 * actor is spawned; a monitor whose watch fails leaves the node up on the
 * no-op monitor; an invalid DERP map is rejected and the previous one kept;
 * the node's own netlink monitor is freed after shutdown; argument checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "node-fixture.h"

#define SETTLE MRT_MS(50)

/* ---- counting what reaches the bus ------------------------------------------------- */

static struct {
  int measurements, measure_now;
  size_t last_n;
  int last_best;
} bus_seen;

static int on_measurement(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)r;
  const mrt_derp_latency_measurement *m = p;
  bus_seen.measurements++;
  bus_seen.last_n = m->n;
  bus_seen.last_best = m->n ? m->results[0].region_id : 0;
  return 0;
}

static int on_measure_now(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)p;
  (void)r;
  bus_seen.measure_now++;
  return 0;
}

static const mrt_handler_entry watcher_handlers[] = {
    {&mrt_msg_derp_latency_measurement, on_measurement},
    {&mrt_msg_measure_now, on_measure_now},
    {NULL, NULL}};
static const mrt_actor_class bus_watcher_class = {.name = "bus-watcher",
                                                  .handlers = watcher_handlers};

/* ---- fixture ------------------------------------------------------------------------------ */

typedef struct fixture {
  mrt_runtime *rt;
  mrt_ref *watcher;
  mrt_ref *resp[3];
  uint16_t port[3];
  mrt_derp_map *map;
  mrt_link_monitor *mon; /* manual */
  mrt_node *node;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  memset(&bus_seen, 0, sizeof bus_seen);
  capture_start();
  assert_int_equal(mrt_test_runtime_new(1, &f->rt), 0);
  assert_int_equal(mrt_actor_spawn(f->rt, &bus_watcher_class, NULL, NULL, &f->watcher), 0);
  mrt_bus *bus = mrt_runtime_bus(f->rt);
  assert_int_equal(mrt_node_bus_configure(bus), 0);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_derp_latency_measurement, f->watcher), 0);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_measure_now, f->watcher), 0);
  uint64_t delays[3] = {MRT_MS(10), MRT_MS(30), MRT_MS(60)};
  for (int i = 0; i < 3; i++)
    assert_non_null(f->resp[i] = responder_on(f->rt, delays[i], &f->port[i]));
  region_spec r[] = {
      {1, "ten", {f->port[0], 0}}, {2, "thirty", {f->port[1], 0}}, {3, "sixty", {f->port[2], 0}}};
  assert_non_null(f->map = derp_map_of(r, 3));
  assert_int_equal(mrt_manual_monitor_new(&f->mon), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  capture_stop();
  for (int i = 0; i < 3; i++)
    mrt_ref_unref(f->resp[i]);
  mrt_ref_unref(f->watcher);
  mrt_runtime_unref(f->rt); /* shutdown first: then the node may be freed */
  mrt_node_free(f->node);
  mrt_link_monitor_free(f->mon);
  mrt_derp_map_unref(f->map);
  free(f);
  return 0;
}

/* Loopback everywhere, the test's map, the manual monitor. */
static mrt_node_config node_config(fixture *f) {
  mrt_node_config cfg = mrt_node_config_default();
  cfg.listen_addr = lo4(0);
  cfg.advertise_local = false;
  cfg.measure_addr = lo4(0);
  cfg.derp_map = f->map;
  cfg.network_monitor = true;
  cfg.monitor = f->mon;
  cfg.timing.debounce.settle_ns = SETTLE;
  return cfg;
}

static mrt_sock_info direct_sock_info(mrt_ref *dm) {
  mrt_sock_info si;
  memset(&si, 0, sizeof si);
  assert_int_equal(MRT_ASK_SYNC(direct_sock_info, dm, &(mrt_none){0}, &si, 0), 0);
  return si;
}

static mrt_supervisor_state *tree_of(fixture *f) {
  mrt_supervisor_state *st = NULL;
  assert_int_equal(mrt_supervisor_current_state(mrt_node_supervisor(f->node), &st), 0);
  return st;
}

static void expect_child_running(const mrt_supervisor_state *st, const char *id) {
  const mrt_child_record *c = mrt_supervisor_state_find(st, id);
  assert_non_null(c);
  assert_true(c->active);
  assert_true(c->status == MRT_CHILD_RUNNING || c->status == MRT_CHILD_READY);
}

/* ---- tests ------------------------------------------------------------------------------------- */

static void node_starts_measures_and_reacts_to_a_link_change(void **state) {
  fixture *f = *state;
  mrt_node_config cfg = node_config(f);
  assert_int_equal(mrt_node_start(f->rt, &cfg, &f->node), 0);
  mrt_supervisor_state *st = tree_of(f);
  assert_int_equal(st->n_children, 3);
  assert_int_equal(st->strategy, MRT_STRATEGY_ONE_FOR_ONE);
  expect_child_running(st, MRT_NODE_CHILD_DIRECT);
  expect_child_running(st, MRT_NODE_CHILD_DERP_LATENCY);
  expect_child_running(st, MRT_NODE_CHILD_NETMON);
  mrt_supervisor_state_free(st);
  assert_ptr_equal(mrt_node_link_monitor(f->node), f->mon);
  /* The map the node published is measured: home = the fastest region. */
  step_time(f->rt, MRT_MS(300), MRT_MS(1));
  assert_int_equal(bus_seen.measurements, 1);
  assert_int_equal(bus_seen.last_n, 3);
  assert_int_equal(bus_seen.last_best, 1);
  mrt_sock_info before = direct_sock_info(mrt_node_direct(f->node));
  /* One link change: one rebind (port kept), one MeasureNow, one re-measure. */
  for (int i = 0; i < 4; i++)
    assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_DEFAULT_ROUTE));
  step_time(f->rt, SETTLE + MRT_MS(300), MRT_MS(1));
  mrt_sock_info after = direct_sock_info(mrt_node_direct(f->node));
  assert_int_equal(before.port, after.port);
  assert_int_equal(after.port_outcome, MRT_PORT_KEPT);
  assert_int_equal(after.generation, before.generation + 1);
  assert_int_equal(bus_seen.measure_now, 1);
  assert_int_equal(bus_seen.measurements, 2);
  /* Stop: every actor ends, stop is idempotent. */
  assert_int_equal(mrt_node_stop(f->node, 0), 0);
  assert_false(mrt_ref_alive(mrt_node_direct(f->node)));
  assert_false(mrt_ref_alive(mrt_node_derp_latency(f->node)));
  assert_false(mrt_ref_alive(mrt_node_netmon_supervisor(f->node)));
  assert_false(mrt_ref_alive(mrt_node_supervisor(f->node)));
  assert_int_equal(mrt_node_stop(f->node, 0), 0);
}

static void network_monitor_is_opt_in(void **state) {
  fixture *f = *state;
  mrt_node_config cfg = node_config(f);
  cfg.network_monitor = false;
  assert_int_equal(mrt_node_start(f->rt, &cfg, &f->node), 0);
  mrt_supervisor_state *st = tree_of(f);
  assert_int_equal(st->n_children, 2);
  assert_null(mrt_supervisor_state_find(st, MRT_NODE_CHILD_NETMON));
  mrt_supervisor_state_free(st);
  assert_null(mrt_node_netmon_supervisor(f->node));
  assert_null(mrt_node_link_monitor(f->node));
  /* The manual monitor is nobody's: link changes go nowhere. */
  assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_LINK_UP));
  step_time(f->rt, MRT_MS(400), MRT_MS(1));
  assert_int_equal(bus_seen.measure_now, 0);
}

/* How meson configured this build (it sets the variable for this test), so
 * the library's own answer is checked against the build, not against itself. */
static bool built_with_network_monitor(void) {
  const char *v = getenv("MESHRT_BUILD_NETWORK_MONITOR");
  if (v == NULL || (strcmp(v, "enabled") != 0 && strcmp(v, "disabled") != 0))
    fail_msg("MESHRT_BUILD_NETWORK_MONITOR must be enabled or disabled (meson sets it)");
  return strcmp(v, "enabled") == 0;
}

static void network_monitor_without_the_build_feature_fails_before_spawning(void **state) {
  fixture *f = *state;
  bool built = built_with_network_monitor();
  assert_int_equal(mrt_node_network_monitor_available(), built);
  if (built)
    return; /* the node's own netlink monitor: own_netlink_monitor_is_freed_after_shutdown */
  mrt_node_config cfg = node_config(f);
  cfg.monitor = NULL; /* the netlink monitor is needed, and not built in */
  mrt_runtime_stats before, after;
  mrt_runtime_get_stats(f->rt, &before);
  mrt_node *node = (mrt_node *)&node;
  assert_int_equal(mrt_node_start(f->rt, &cfg, &node), -ENOTSUP);
  assert_null(node);
  mrt_runtime_run_until_idle(f->rt);
  mrt_runtime_get_stats(f->rt, &after);
  assert_int_equal(after.actors_spawned, before.actors_spawned); /* nothing spawned */
  assert_int_equal(capture_count(MRT_LOG_ERROR, "built without the network_monitor feature"), 1);
  /* An injected monitor needs no build feature. */
  cfg.monitor = f->mon;
  assert_int_equal(mrt_node_start(f->rt, &cfg, &f->node), 0);
}

static void watch_failure_keeps_the_node_up_on_the_noop_monitor(void **state) {
  fixture *f = *state;
  mrt_link_watch *other = NULL; /* the monitor's one watch is taken */
  mrt_ref *tap = NULL;
  const mrt_msg_type *types[] = {&mrt_msg_link_change};
  assert_int_equal(mrt_test_tap_spawn(f->rt, types, 1, &tap), 0);
  assert_int_equal(mrt_link_monitor_watch(f->mon, f->rt, tap, NULL, &other), 0);
  mrt_node_config cfg = node_config(f);
  assert_int_equal(mrt_node_start(f->rt, &cfg, &f->node), 0);
  mrt_runtime_advance(f->rt, MRT_SEC(2)); /* the -EALREADY retries run out */
  mrt_netmon_supervisor_stats s;
  assert_int_equal(MRT_ASK_SYNC(netmon_supervisor_stats, mrt_node_netmon_supervisor(f->node),
                                &(mrt_none){0}, &s, 0),
                   0);
  assert_true(s.degraded);
  assert_string_equal(s.monitor, "noop");
  assert_int_equal(capture_count(MRT_LOG_ERROR, "network monitor failed to start"), 1);
  mrt_supervisor_state *st = tree_of(f);
  expect_child_running(st, MRT_NODE_CHILD_DIRECT);
  expect_child_running(st, MRT_NODE_CHILD_DERP_LATENCY);
  expect_child_running(st, MRT_NODE_CHILD_NETMON);
  mrt_supervisor_state_free(st);
  assert_false(direct_sock_info(mrt_node_direct(f->node)).inert);
  mrt_link_watch_destroy(other);
  mrt_ref_unref(tap);
}

static void restarted_direct_manager_keeps_the_key_and_is_found(void **state) {
  fixture *f = *state;
  mrt_node_config cfg = node_config(f);
  assert_int_equal(mrt_node_start(f->rt, &cfg, &f->node), 0);
  uint8_t key[MRT_PROBE_KEY_LEN];
  assert_int_equal(mrt_node_public_key(f->node, key), 0);
  assert_int_equal(mrt_actor_kill(mrt_node_direct(f->node)), 0);
  mrt_runtime_advance(f->rt, MRT_SEC(2)); /* past the restart backoff */
  mrt_ref *dm = NULL;
  assert_int_equal(
      mrt_supervisor_child_ref(mrt_node_supervisor(f->node), MRT_NODE_CHILD_DIRECT, &dm), 0);
  assert_true(dm != mrt_node_direct(f->node));
  mrt_direct_status *ds = NULL;
  assert_int_equal(MRT_ASK_SYNC(direct_state, dm, &(mrt_none){0}, &ds, 0), 0);
  assert_memory_equal(ds->public_key, key, MRT_PROBE_KEY_LEN);
  mrt_direct_status_free(ds);
  uint64_t gen = direct_sock_info(dm).generation;
  assert_true(mrt_manual_monitor_trigger(f->mon, MRT_LINK_CHANGE_ADDR_REMOVED));
  step_time(f->rt, SETTLE + MRT_MS(10), MRT_MS(1));
  assert_int_equal(direct_sock_info(dm).generation, gen + 1); /* the new one was rebound */
  assert_int_equal(bus_seen.measure_now, 1);
  mrt_ref_unref(dm);
}

static void invalid_derp_map_is_rejected_and_the_previous_kept(void **state) {
  fixture *f = *state;
  mrt_node_config cfg = node_config(f);
  assert_int_equal(mrt_node_start(f->rt, &cfg, &f->node), 0);
  step_time(f->rt, MRT_MS(300), MRT_MS(1));
  assert_int_equal(bus_seen.measurements, 1);
  static const char bad[] =
      "{\"Regions\":{\"1\":{\"RegionID\":1,\"RegionCode\":\"x\",\"Nodes\":"
      "[{\"Name\":\"1a\",\"RegionID\":1,\"HostName\":\"h\",\"IPv4\":\"foo\"}]}}}";
  char err[MRT_DERP_MAP_ERR_LEN];
  assert_int_equal(mrt_node_set_derp_map_json(f->node, bad, sizeof bad - 1, err, sizeof err),
                   -EBADMSG);
  assert_non_null(strstr(err, "IPv4"));
  assert_int_equal(capture_count(MRT_LOG_ERROR, "keeping the previous one"), 1);
  step_time(f->rt, MRT_MS(300), MRT_MS(1));
  assert_int_equal(bus_seen.measurements, 1); /* nothing new to measure */
  /* The previous map is still the one in force: MeasureNow measures it. */
  mrt_measure_now mn = {0};
  assert_true(mrt_publish_measure_now(mrt_runtime_bus(f->rt), &mn) >= 0);
  step_time(f->rt, MRT_MS(300), MRT_MS(1));
  assert_int_equal(bus_seen.measurements, 2);
  assert_int_equal(bus_seen.last_n, 3);
  /* A valid map replaces it. */
  char good[256];
  int n = snprintf(good, sizeof good,
                   "{\"Regions\":{\"7\":{\"RegionID\":7,\"RegionCode\":\"s\",\"Nodes\":"
                   "[{\"Name\":\"7a\",\"RegionID\":7,\"HostName\":\"h\",\"IPv4\":\"127.0.0.1\","
                   "\"STUNPort\":%u}]}}}",
                   f->port[2]);
  assert_int_equal(mrt_node_set_derp_map_json(f->node, good, (size_t)n, NULL, 0), 0);
  step_time(f->rt, MRT_MS(300), MRT_MS(1));
  assert_int_equal(bus_seen.measurements, 3);
  assert_int_equal(bus_seen.last_n, 1);
  assert_int_equal(bus_seen.last_best, 7);
}

static void own_netlink_monitor_is_freed_after_shutdown(void **state) {
  fixture *f = *state;
  if (!mrt_node_network_monitor_available())
    skip();
  mrt_node_config cfg = node_config(f);
  cfg.monitor = NULL; /* the node creates its netlink monitor */
  static const char *const ignored[] = {"tailscale*", NULL};
  cfg.ignored_interfaces = ignored;
  assert_int_equal(mrt_node_start(f->rt, &cfg, &f->node), 0);
  mrt_link_monitor *m = mrt_node_link_monitor(f->node);
  assert_non_null(m);
  assert_string_equal(mrt_link_monitor_name(m), "netlink");
  settle_io(f->rt);
  /* Teardown shuts the runtime down, then frees the node and its monitor
   * (leak checkers watch this). */
}

static void start_checks_its_arguments(void **state) {
  fixture *f = *state;
  mrt_node_config cfg = node_config(f);
  mrt_runtime_stats before, after;
  mrt_runtime_get_stats(f->rt, &before);
  mrt_node *node = NULL;
  assert_int_equal(mrt_node_start(NULL, &cfg, &node), -EINVAL);
  assert_int_equal(mrt_node_start(f->rt, NULL, &node), -EINVAL);
  assert_int_equal(mrt_node_start(f->rt, &cfg, NULL), -EINVAL);
  mrt_node_config bad = cfg;
  bad.listen_addr.ss_family = AF_UNIX;
  assert_int_equal(mrt_node_start(f->rt, &bad, &node), -EINVAL);
  bad = cfg;
  bad.timing.direct.refresh_before_ns = bad.timing.direct.trust_ns;
  assert_int_equal(mrt_node_start(f->rt, &bad, &node), -EINVAL);
  bad = cfg;
  bad.timing.min_results = 0;
  assert_int_equal(mrt_node_start(f->rt, &bad, &node), -EINVAL);
  bad = cfg;
  bad.timing.min_rebind_interval_ns = 0;
  assert_int_equal(mrt_node_start(f->rt, &bad, &node), -EINVAL);
  assert_null(node);
  mrt_runtime_get_stats(f->rt, &after);
  assert_int_equal(after.actors_spawned, before.actors_spawned);
  assert_int_equal(mrt_node_stop(NULL, 0), -EINVAL);
  assert_null(mrt_node_free(NULL));
  assert_null(mrt_node_direct(NULL));
  uint8_t key[MRT_PROBE_KEY_LEN];
  assert_int_equal(mrt_node_public_key(NULL, key), -EINVAL);
  assert_int_equal(mrt_node_set_derp_map_json(NULL, "{}", 2, NULL, 0), -EINVAL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(node_starts_measures_and_reacts_to_a_link_change),
      T(network_monitor_is_opt_in),
      T(network_monitor_without_the_build_feature_fails_before_spawning),
      T(watch_failure_keeps_the_node_up_on_the_noop_monitor),
      T(restarted_direct_manager_keeps_the_key_and_is_found),
      T(invalid_derp_map_is_rejected_and_the_previous_kept),
      T(own_netlink_monitor_is_freed_after_shutdown),
      T(start_checks_its_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
