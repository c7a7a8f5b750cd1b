/* SPDX-License-Identifier: MIT */
/* Tests: DerpLatencyMeasurer against real STUN responders on loopback, on
 * the virtual clock (a responder's artificial delay is then exactly the
 * measured latency). Three regions with different delays: home = fastest,
 * results sorted; the home made slower by less than the hysteresis is kept,
 * by more it is switched (home_region_changed only on change). MeasureNow
 * without a map is a no-op; MeasureNows during a round fold into one
 * follow-up; every new map measures; the round ends at >= 3 results + 250 ms,
 * when all probes finished, or at the report deadline; a silent server fails
 * over to the region's next one; garbage, wrong transaction ids and wrong
 * sources never complete a probe; an empty map; argument checks; a socket
 * that cannot bind fails the start. Classic (RFC 3489-era) servers get a
 * latency; per-server statistics count what was sent, answered and refused
 * (with the last reason, logged at debug without echoing the datagram). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <unistd.h>

#include <meshrt/stun.h>

#include "node-fixture.h"

/* ---- a recorder: deep copies of measurements, and home changes ---------------------- */

#define ROUNDS_MAX 16
static struct {
  size_t n;
  uint64_t at[ROUNDS_MAX];
  size_t count[ROUNDS_MAX];
  mrt_derp_region_result res[ROUNDS_MAX][REGIONS_MAX];
  size_t n_home;
  mrt_home_region_changed home[ROUNDS_MAX];
} seen;

static int on_measurement(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)r;
  const mrt_derp_latency_measurement *m = p;
  if (seen.n >= ROUNDS_MAX)
    return 0;
  seen.at[seen.n] = m->at_ns - MRT_TEST_START_NS;
  seen.count[seen.n] = m->n;
  for (size_t i = 0; i < m->n && i < REGIONS_MAX; i++)
    seen.res[seen.n][i] = m->results[i]; /* the payload's array dies after us */
  seen.n++;
  return 0;
}

static int on_home(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)r;
  if (seen.n_home < ROUNDS_MAX)
    seen.home[seen.n_home++] = *(const mrt_home_region_changed *)p;
  return 0;
}

static const mrt_handler_entry recorder_handlers[] = {
    {&mrt_msg_derp_latency_measurement, on_measurement},
    {&mrt_msg_home_region_changed, on_home},
    {NULL, NULL}};
static const mrt_actor_class recorder_class = {.name = "recorder", .handlers = recorder_handlers};

/* ---- fixture ------------------------------------------------------------------------------ */

typedef struct fixture {
  mrt_runtime *rt;
  mrt_ref *recorder, *m;
  mrt_ref *resp[REGIONS_MAX];
  uint16_t port[REGIONS_MAX];
  size_t n_resp;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  memset(&seen, 0, sizeof seen);
  assert_int_equal(mrt_test_runtime_new(1, &f->rt), 0);
  assert_int_equal(mrt_actor_spawn(f->rt, &recorder_class, NULL, NULL, &f->recorder), 0);
  mrt_bus *bus = mrt_runtime_bus(f->rt);
  assert_int_equal(mrt_node_bus_configure(bus), 0);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_derp_latency_measurement, f->recorder), 0);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_home_region_changed, f->recorder), 0);
  capture_start();
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  capture_stop();
  for (size_t i = 0; i < f->n_resp; i++)
    mrt_ref_unref(f->resp[i]);
  mrt_ref_unref(f->m);
  mrt_ref_unref(f->recorder);
  mrt_runtime_unref(f->rt);
  free(f);
  return 0;
}

static uint16_t add_responder(fixture *f, uint64_t delay) {
  f->resp[f->n_resp] = responder_on(f->rt, delay, &f->port[f->n_resp]);
  assert_non_null(f->resp[f->n_resp]);
  return f->port[f->n_resp++];
}

static mrt_derp_latency_config loop_config(void) {
  mrt_derp_latency_config cfg = mrt_derp_latency_config_default();
  cfg.listen_addr = lo4(0);
  return cfg;
}

static void spawn_measurer(fixture *f, const mrt_derp_latency_config *cfg) {
  assert_int_equal(mrt_derp_latency_spawn(f->rt, cfg, NULL, &f->m), 0);
  settle_io(f->rt);
}

static void publish_map(fixture *f, const region_spec *r, size_t n) {
  mrt_derp_map *map = derp_map_of(r, n);
  assert_non_null(map);
  assert_true(mrt_node_publish_derp_map(f->rt, map) >= 0);
}

static void measure_now(fixture *f) {
  mrt_measure_now mn = {.reason = 7};
  assert_true(mrt_publish_measure_now(mrt_runtime_bus(f->rt), &mn) >= 0);
}

static mrt_derp_latency_stats stats_of(fixture *f) {
  mrt_derp_latency_stats s;
  memset(&s, 0, sizeof s);
  assert_int_equal(MRT_ASK_SYNC(derp_latency_stats, f->m, &(mrt_none){0}, &s, 0), 0);
  return s;
}

static uint64_t now_rel(fixture *f) {
  return mrt_runtime_now(f->rt) - MRT_TEST_START_NS;
}

/* Runs one round to its end, in 1 ms steps of virtual time. */
static void run_round(fixture *f, uint64_t span) {
  step_time(f->rt, span, MRT_MS(1));
}

/* Three regions at 10, 30 and 60 ms. */
static void three_regions(fixture *f) {
  uint16_t a = add_responder(f, MRT_MS(10));
  uint16_t b = add_responder(f, MRT_MS(30));
  uint16_t c = add_responder(f, MRT_MS(60));
  region_spec r[] = {{3, "sixty", {c, 0}}, {1, "ten", {a, 0}}, {2, "thirty", {b, 0}}};
  publish_map(f, r, 3);
}

/* A responder answering in `style` after `delay`. */
static uint16_t add_styled(fixture *f, uint64_t delay, mrt_stun_responder_style style) {
  mrt_stun_responder_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.listen_addr = lo4(0);
  cfg.delay_ns = delay;
  cfg.style = style;
  size_t i = f->n_resp;
  assert_int_equal(mrt_stun_responder_spawn(f->rt, &cfg, NULL, &f->resp[i]), 0);
  mrt_stun_responder_info info;
  assert_int_equal(MRT_ASK_SYNC(stun_responder_info, f->resp[i], &(mrt_none){0}, &info, 0), 0);
  f->port[i] = info.port;
  f->n_resp++;
  return info.port;
}

/* The measurer's per-server statistics; release with mrt_stun_server_list_release. */
static mrt_stun_server_list servers_of(fixture *f) {
  mrt_stun_server_list l;
  memset(&l, 0, sizeof l);
  assert_int_equal(MRT_ASK_SYNC(derp_latency_servers, f->m, &(mrt_none){0}, &l, 0), 0);
  return l;
}

static void set_delay(fixture *f, size_t i, uint64_t delay) {
  assert_int_equal(MRT_ASK_SYNC(stun_responder_set_delay, f->resp[i], &delay, &(mrt_none){0}, 0),
                   0);
}

/* ---- measurement and home region --------------------------------------------------------- */

static void three_responders_home_is_fastest(void **state) {
  fixture *f = *state;
  mrt_derp_latency_config cfg = loop_config();
  spawn_measurer(f, &cfg);
  uint64_t t0 = now_rel(f);
  three_regions(f); /* a new map triggers a measurement */
  run_round(f, MRT_MS(300));
  assert_int_equal(seen.n, 1);
  assert_int_equal(seen.count[0], 3);
  int want_id[] = {1, 2, 3};
  uint64_t want_ms[] = {10, 30, 60};
  const char *want_code[] = {"ten", "thirty", "sixty"};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(seen.res[0][i].region_id, want_id[i]);
    assert_int_equal(seen.res[0][i].latency_ns, MRT_MS(want_ms[i]));
    assert_string_equal(seen.res[0][i].region_code, want_code[i]);
    assert_int_equal(port_of_addr(&seen.res[0][i].probed), f->port[i]);
  }
  /* Every probe finished at 60 ms: no need to wait for the 250 ms. */
  assert_int_equal(seen.at[0], t0 + MRT_MS(60));
  assert_int_equal(seen.n_home, 1);
  assert_int_equal(seen.home[0].old_region, 0);
  assert_int_equal(seen.home[0].new_region, 1);
  assert_int_equal(stats_of(f).home_region, 1);
}

static void home_keeps_within_hysteresis_and_switches_beyond(void **state) {
  fixture *f = *state;
  mrt_derp_latency_config cfg = loop_config();
  spawn_measurer(f, &cfg);
  three_regions(f);
  run_round(f, MRT_MS(300));
  assert_int_equal(seen.n_home, 1);
  /* Home 5 ms slower than the best (< 10 ms): kept. Past the 5-minute
   * window, so the old 10 ms score no longer counts. */
  set_delay(f, 0, MRT_MS(35));
  mrt_runtime_advance(f->rt, MRT_SEC(301));
  measure_now(f);
  run_round(f, MRT_MS(300));
  assert_int_equal(seen.n, 2);
  assert_int_equal(seen.res[1][0].region_id, 2);
  assert_int_equal(seen.res[1][1].region_id, 1);
  assert_int_equal(seen.res[1][1].latency_ns, MRT_MS(35));
  assert_int_equal(seen.n_home, 1); /* no change, nothing published */
  assert_int_equal(stats_of(f).home_region, 1);
  /* Home 50 ms slower and the best under two thirds of it: switched. */
  set_delay(f, 0, MRT_MS(80));
  mrt_runtime_advance(f->rt, MRT_SEC(301));
  measure_now(f);
  run_round(f, MRT_MS(300));
  assert_int_equal(seen.n, 3);
  assert_int_equal(seen.n_home, 2);
  assert_int_equal(seen.home[1].old_region, 1);
  assert_int_equal(seen.home[1].new_region, 2);
  assert_int_equal(stats_of(f).home_changes, 2);
}

static void home_region_changed_is_retained(void **state) {
  fixture *f = *state;
  mrt_derp_latency_config cfg = loop_config();
  spawn_measurer(f, &cfg);
  three_regions(f);
  run_round(f, MRT_MS(300));
  /* A subscriber that comes later still learns the current home. */
  const mrt_msg_type *types[] = {&mrt_msg_home_region_changed};
  mrt_ref *late = NULL;
  assert_int_equal(mrt_test_tap_spawn(f->rt, types, 1, &late), 0);
  assert_int_equal(mrt_bus_subscribe(mrt_runtime_bus(f->rt), &mrt_msg_home_region_changed, late),
                   0);
  settle_io(f->rt);
  assert_int_equal(mrt_test_tap_count(late, &mrt_msg_home_region_changed), 1);
  mrt_test_tap_record rec;
  assert_int_equal(mrt_test_tap_get(late, &mrt_msg_home_region_changed, 0, &rec), 0);
  assert_int_equal(((const mrt_home_region_changed *)(const void *)rec.data)->new_region, 1);
  mrt_ref_unref(late);
}

/* ---- triggers ----------------------------------------------------------------------------- */

static void measure_now_without_a_map_is_a_noop(void **state) {
  fixture *f = *state;
  mrt_derp_latency_config cfg = loop_config();
  spawn_measurer(f, &cfg);
  measure_now(f);
  run_round(f, MRT_MS(500));
  assert_int_equal(seen.n, 0);
  mrt_derp_latency_stats s = stats_of(f);
  assert_int_equal(s.measure_now, 1);
  assert_int_equal(s.ignored, 1);
  assert_false(s.have_map);
  assert_false(s.measuring);
  assert_int_equal(capture_count(MRT_LOG_INFO, "MeasureNow ignored: no DERP map"), 1);
  /* Once a map arrives, it measures; and MeasureNow re-measures. */
  three_regions(f);
  run_round(f, MRT_MS(300));
  assert_int_equal(seen.n, 1);
  measure_now(f);
  run_round(f, MRT_MS(300));
  assert_int_equal(seen.n, 2);
  assert_int_equal(stats_of(f).ignored, 1);
}

static void measure_nows_during_a_round_fold_into_one_follow_up(void **state) {
  fixture *f = *state;
  mrt_derp_latency_config cfg = loop_config();
  spawn_measurer(f, &cfg);
  three_regions(f);
  run_round(f, MRT_MS(5));
  assert_true(stats_of(f).measuring);
  for (int i = 0; i < 3; i++)
    measure_now(f);
  settle_io(f->rt);
  mrt_derp_latency_stats s = stats_of(f);
  assert_true(s.follow_up);
  assert_int_equal(s.folded, 2);
  run_round(f, MRT_MS(600));
  assert_int_equal(seen.n, 2); /* the round, then ONE follow-up */
  assert_int_equal(seen.at[1] - seen.at[0], MRT_MS(60));
  assert_false(stats_of(f).measuring);
}

static void a_new_map_is_measured(void **state) {
  fixture *f = *state;
  mrt_derp_latency_config cfg = loop_config();
  spawn_measurer(f, &cfg);
  three_regions(f);
  run_round(f, MRT_MS(300));
  uint16_t d = add_responder(f, MRT_MS(5));
  region_spec r[] = {{9, "five", {d, 0}}};
  publish_map(f, r, 1);
  run_round(f, MRT_MS(300));
  assert_int_equal(seen.n, 2);
  assert_int_equal(seen.count[1], 1);
  assert_int_equal(seen.res[1][0].region_id, 9);
  assert_int_equal(seen.res[1][0].latency_ns, MRT_MS(5));
  assert_int_equal(stats_of(f).maps, 2);
}

/* ---- when a round ends ------------------------------------------------------------------------ */

static void enough_results_after_the_minimum_wait(void **state) {
  fixture *f = *state;
  mrt_derp_latency_config cfg = loop_config();
  spawn_measurer(f, &cfg);
  uint64_t t0 = now_rel(f);
  uint16_t p[4] = {add_responder(f, MRT_MS(10)), add_responder(f, MRT_MS(20)),
                   add_responder(f, MRT_MS(30)), add_responder(f, MRT_SEC(2))};
  region_spec r[] = {
      {1, "a", {p[0], 0}}, {2, "b", {p[1], 0}}, {3, "c", {p[2], 0}}, {4, "slow", {p[3], 0}}};
  publish_map(f, r, 4);
  run_round(f, MRT_MS(400));
  assert_int_equal(seen.n, 1);
  assert_int_equal(seen.count[0], 3); /* the slow region did not make it */
  assert_int_equal(seen.at[0], t0 + MRT_MS(250));
}

/* A UDP socket on loopback that never answers (a dead STUN server). */
static int silent_server(uint16_t *port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  assert_true(fd >= 0);
  struct sockaddr_storage ss = lo4(0);
  assert_int_equal(bind(fd, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)), 0);
  socklen_t len = sizeof ss;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
  *port = port_of_addr(&ss);
  return fd;
}

static void report_deadline_ends_the_round(void **state) {
  fixture *f = *state;
  mrt_derp_latency_config cfg = loop_config();
  cfg.report_deadline_ns = MRT_SEC(2);
  cfg.probe_timeout_ns = MRT_SEC(10);
  spawn_measurer(f, &cfg);
  uint64_t t0 = now_rel(f);
  uint16_t dead;
  int fd = silent_server(&dead);
  region_spec r[] = {{1, "live", {add_responder(f, MRT_MS(10)), 0}}, {2, "dead", {dead, 0}}};
  publish_map(f, r, 2);
  run_round(f, MRT_MS(1900));
  assert_int_equal(seen.n, 0);
  run_round(f, MRT_MS(200));
  assert_int_equal(seen.n, 1);
  assert_int_equal(seen.count[0], 1);
  assert_int_equal(seen.at[0], t0 + MRT_SEC(2));
  close(fd);
}

static void silent_server_fails_over_to_the_next(void **state) {
  fixture *f = *state;
  mrt_derp_latency_config cfg = loop_config();
  cfg.probe_timeout_ns = MRT_MS(100);
  spawn_measurer(f, &cfg);
  uint16_t dead;
  int fd = silent_server(&dead);
  uint16_t live = add_responder(f, MRT_MS(10));
  region_spec r[] = {{1, "two-nodes", {dead, live}}};
  publish_map(f, r, 1);
  run_round(f, MRT_MS(300));
  assert_int_equal(seen.n, 1);
  assert_int_equal(seen.count[0], 1);
  /* RTT from the request to the server that answered, not from the start. */
  assert_int_equal(seen.res[0][0].latency_ns, MRT_MS(10));
  assert_int_equal(port_of_addr(&seen.res[0][0].probed), live);
  mrt_derp_latency_stats s = stats_of(f);
  assert_int_equal(s.timeouts, 1);
  assert_int_equal(s.failovers, 1);
  assert_int_equal(s.requests_sent, 2);
  close(fd);
}

/* ---- hostile answers --------------------------------------------------------------------------- */

static ssize_t recv_driving(fixture *f, int fd, uint8_t *buf, size_t cap,
                            struct sockaddr_storage *from) {
  for (int i = 0; i < 5000; i++) {
    socklen_t len = sizeof *from;
    ssize_t n = recvfrom(fd, buf, cap, 0, (struct sockaddr *)from, &len);
    if (n >= 0)
      return n;
    settle_io(f->rt);
  }
  return -1;
}

static void send_to(int fd, const struct sockaddr_storage *to, const void *buf, size_t len) {
  assert_int_equal(sendto(fd, buf, len, 0, (const struct sockaddr *)to, sizeof(struct sockaddr_in)),
                   (ssize_t)len);
}

static void only_the_matching_response_counts(void **state) {
  fixture *f = *state;
  mrt_derp_latency_config cfg = loop_config();
  spawn_measurer(f, &cfg);
  uint16_t port, other_port;
  int fd = silent_server(&port), other = silent_server(&other_port);
  region_spec r[] = {{1, "fake", {port, 0}}};
  publish_map(f, r, 1);
  uint8_t req[256], resp[MRT_STUN_RESPONSE_MAX_LEN];
  struct sockaddr_storage client;
  ssize_t n = recv_driving(f, fd, req, sizeof req, &client);
  assert_true(n > 0);
  mrt_stun_txid txid;
  assert_int_equal(mrt_stun_parse_binding_request(req, (size_t)n, &txid), 0);
  /* Garbage, a wrong transaction id, and the right one from a wrong source. */
  send_to(fd, &client, "hello, world", 12);
  mrt_stun_txid wrong = txid;
  wrong.bytes[0] ^= 0xff;
  int len = mrt_stun_build_binding_response(resp, sizeof resp, &wrong, (struct sockaddr *)&client);
  assert_true(len > 0);
  send_to(fd, &client, resp, (size_t)len);
  len = mrt_stun_build_binding_response(resp, sizeof resp, &txid, (struct sockaddr *)&client);
  send_to(other, &client, resp, (size_t)len);
  run_round(f, MRT_MS(20));
  assert_int_equal(seen.n, 0);
  mrt_derp_latency_stats s = stats_of(f);
  assert_int_equal(s.garbage, 1);
  assert_int_equal(s.stale, 2);
  assert_int_equal(s.responses, 0);
  /* The real answer completes the probe with the RTT so far. */
  send_to(fd, &client, resp, (size_t)len);
  run_round(f, MRT_MS(10));
  assert_int_equal(seen.n, 1);
  assert_int_equal(seen.count[0], 1);
  assert_int_equal(seen.res[0][0].latency_ns, MRT_MS(20));
  /* A replay after the round is stale too. */
  send_to(fd, &client, resp, (size_t)len);
  run_round(f, MRT_MS(10));
  assert_int_equal(stats_of(f).stale, 3);
  assert_int_equal(seen.n, 1);
  close(fd);
  close(other);
}

/* ---- classic servers and per-server statistics ------------------------------------------- */

static void classic_servers_get_a_latency(void **state) {
  fixture *f = *state;
  mrt_derp_latency_config cfg = loop_config();
  spawn_measurer(f, &cfg);
  uint16_t both = add_styled(f, MRT_MS(10), MRT_STUN_RESPONDER_CLASSIC);
  uint16_t old = add_styled(f, MRT_MS(20), MRT_STUN_RESPONDER_RFC3489);
  uint16_t now = add_styled(f, MRT_MS(30), MRT_STUN_RESPONDER_RFC5389);
  region_spec r[] = {{1, "both", {both, 0}}, {2, "rfc3489", {old, 0}}, {3, "rfc5389", {now, 0}}};
  publish_map(f, r, 3);
  run_round(f, MRT_MS(300));
  assert_int_equal(seen.n, 1);
  assert_int_equal(seen.count[0], 3);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(seen.res[0][i].region_id, i + 1);
    assert_int_equal(seen.res[0][i].latency_ns, MRT_MS(10 * (i + 1)));
  }
  assert_int_equal(seen.n_home, 1);
  assert_int_equal(seen.home[0].new_region, 1);
  mrt_derp_latency_stats st = stats_of(f);
  assert_int_equal(st.garbage, 0);
  assert_int_equal(st.responses, 3);

  mrt_stun_server_list l = servers_of(f);
  assert_int_equal(l.n, 3);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(l.servers[i].region_id, (int)i + 1);
    assert_int_equal(port_of_addr(&l.servers[i].server), r[i].ports[0]);
    assert_int_equal(l.servers[i].sent, 1);
    assert_int_equal(l.servers[i].answered, 1);
    assert_int_equal(l.servers[i].rejected, 0);
    assert_string_equal(l.servers[i].last_reason, "");
  }
  assert_int_equal(l.other_rejected, 0);
  mrt_stun_server_list_release(&l);
  assert_null(l.servers);

  /* A new map: a server that stays keeps its counters, the others go. */
  publish_map(f, r + 1, 1);
  run_round(f, MRT_MS(300));
  assert_int_equal(seen.n, 2);
  l = servers_of(f);
  assert_int_equal(l.n, 1);
  assert_int_equal(l.servers[0].region_id, 2);
  assert_int_equal(l.servers[0].sent, 2);
  assert_int_equal(l.servers[0].answered, 2);
  mrt_stun_server_list_release(&l);
}

/* Records at debug level (or above) whose text contains `needle`. */
static int debug_lines(const char *needle) {
  return capture_count(MRT_LOG_DEBUG, needle);
}

static void garbage_is_rejected_with_a_reason(void **state) {
  fixture *f = *state;
  mrt_log_level level = mrt_log_get_level();
  mrt_log_set_level(MRT_LOG_DEBUG);
  mrt_derp_latency_config cfg = loop_config();
  cfg.probe_timeout_ns = MRT_MS(100);
  spawn_measurer(f, &cfg);
  uint16_t bad, stranger_port;
  int fd = silent_server(&bad), stranger = silent_server(&stranger_port);
  region_spec r[] = {{1, "good", {add_responder(f, MRT_MS(10)), 0}}, {2, "junk", {bad, 0}}};
  publish_map(f, r, 2);
  uint8_t req[256];
  struct sockaddr_storage client;
  ssize_t n = recv_driving(f, fd, req, sizeof req, &client);
  assert_true(n > 0);
  mrt_stun_txid txid;
  assert_int_equal(mrt_stun_parse_binding_request(req, (size_t)n, &txid), 0);

  /* Junk (with a terminal escape that must never reach a log line)... */
  static const char junk[] = "hello, world\x1b[2J";
  send_to(fd, &client, junk, sizeof junk - 1);
  /* ...then an answer with an attribute nobody knows: SOFTWARE's type with
   * the comprehension-optional bit cleared, FINGERPRINT dropped... */
  uint8_t resp[MRT_STUN_RESPONSE_MAX_LEN];
  assert_int_equal(
      mrt_stun_build_binding_response(resp, sizeof resp, &txid, (struct sockaddr *)&client), 52);
  assert_int_equal(resp[32], 0x80);
  resp[32] = 0x00;
  resp[3] = 24;
  send_to(fd, &client, resp, 44);
  /* ...and junk from an address that is no server of the map. */
  send_to(stranger, &client, junk, sizeof junk - 1);
  run_round(f, MRT_MS(5));

  mrt_stun_server_list l = servers_of(f);
  assert_int_equal(l.n, 2);
  assert_int_equal(l.servers[1].region_id, 2);
  assert_int_equal(l.servers[1].sent, 1);
  assert_int_equal(l.servers[1].answered, 0);
  assert_int_equal(l.servers[1].rejected, 2);
  assert_true(l.servers[1].last_rejected_ns > 0);
  assert_string_equal(l.servers[1].last_reason,
                      "unknown comprehension-required attribute (attribute 0x0022)");
  assert_int_equal(l.other_rejected, 1);
  assert_string_equal(l.other_last_reason, "shorter than a STUN header");
  mrt_stun_server_list_release(&l);
  /* Each kind is logged at debug, naming the server, never echoing bytes. */
  assert_int_equal(debug_lines("STUN answer rejected from=127.0.0.1:"), 2);
  assert_int_equal(debug_lines("region=2 rejected=1: shorter than a STUN header"), 1);
  assert_int_equal(debug_lines("rejected=2: unknown comprehension-required attribute"), 1);
  assert_int_equal(debug_lines("(no STUN server) rejected=1: shorter than a STUN header"), 1);
  assert_int_equal(debug_lines("hello"), 0);
  assert_int_equal(debug_lines("\x1b"), 0);

  /* The junk region gets no latency: its only server timed out. */
  run_round(f, MRT_MS(300));
  assert_int_equal(seen.n, 1);
  assert_int_equal(seen.count[0], 1);
  assert_int_equal(seen.res[0][0].region_id, 1);
  mrt_derp_latency_stats st = stats_of(f);
  assert_int_equal(st.garbage, 3);
  assert_int_equal(st.timeouts, 1);
  l = servers_of(f);
  assert_int_equal(l.servers[0].answered, 1);
  assert_int_equal(l.servers[0].rejected, 0);
  mrt_stun_server_list_release(&l);

  /* A stream of the same junk is counted whole but logged sparingly: when
   * the reason changes (the 3rd) and at powers of two (the 4th), not at 5..7. */
  for (int i = 0; i < 5; i++)
    send_to(fd, &client, junk, sizeof junk - 1);
  run_round(f, MRT_MS(5));
  l = servers_of(f);
  assert_int_equal(l.servers[1].rejected, 7);
  assert_string_equal(l.servers[1].last_reason, "shorter than a STUN header");
  mrt_stun_server_list_release(&l);
  assert_int_equal(debug_lines("STUN answer rejected from=127.0.0.1:"), 4);
  assert_int_equal(debug_lines("region=2 rejected=4:"), 1);
  assert_int_equal(debug_lines("region=2 rejected=5:"), 0);
  close(stranger);
  close(fd);
  mrt_log_set_level(level);
}

static void empty_map_reports_nothing_and_keeps_no_home(void **state) {
  fixture *f = *state;
  mrt_derp_latency_config cfg = loop_config();
  spawn_measurer(f, &cfg);
  publish_map(f, NULL, 0);
  run_round(f, MRT_MS(10));
  assert_int_equal(seen.n, 1);
  assert_int_equal(seen.count[0], 0);
  assert_int_equal(seen.n_home, 0);
  assert_int_equal(stats_of(f).home_region, 0);
}

static void spawn_checks_its_arguments(void **state) {
  fixture *f = *state;
  mrt_ref *out = (mrt_ref *)&out;
  mrt_derp_latency_config cfg = loop_config();
  assert_int_equal(mrt_derp_latency_spawn(NULL, &cfg, NULL, &out), -EINVAL);
  assert_null(out);
  mrt_derp_latency_config bad = cfg;
  bad.listen_addr.ss_family = AF_UNIX;
  assert_int_equal(mrt_derp_latency_spawn(f->rt, &bad, NULL, &out), -EINVAL);
  bad = cfg;
  bad.min_results = 0;
  assert_int_equal(mrt_derp_latency_spawn(f->rt, &bad, NULL, &out), -EINVAL);
  bad = cfg;
  bad.report_deadline_ns = 0;
  assert_int_equal(mrt_derp_latency_spawn(f->rt, &bad, NULL, &out), -EINVAL);
  bad = cfg;
  bad.home.keep_ratio_den = 0;
  assert_int_equal(mrt_derp_latency_spawn(f->rt, &bad, NULL, &out), -EINVAL);
  assert_null(out);
  /* NULL config: the defaults (wildcard sockets). */
  assert_int_equal(mrt_derp_latency_spawn(f->rt, NULL, NULL, &f->m), 0);
  settle_io(f->rt);
  assert_true(mrt_ref_alive(f->m));
}

static void start_fails_when_the_socket_cannot_bind(void **state) {
  fixture *f = *state;
  uint16_t taken;
  int fd = silent_server(&taken);
  mrt_derp_latency_config cfg = loop_config();
  cfg.listen_addr = lo4(taken);
  assert_int_equal(mrt_derp_latency_spawn(f->rt, &cfg, NULL, &f->m), 0);
  mrt_derp_latency_stats s;
  /* An ask queued before on_start gets on_start's error. */
  assert_int_equal(MRT_ASK_SYNC(derp_latency_stats, f->m, &(mrt_none){0}, &s, 0), -EADDRINUSE);
  assert_false(mrt_ref_alive(f->m));
  assert_int_equal(capture_count(MRT_LOG_ERROR, "no measuring socket"), 1);
  close(fd);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(three_responders_home_is_fastest),
      T(home_keeps_within_hysteresis_and_switches_beyond),
      T(home_region_changed_is_retained),
      T(measure_now_without_a_map_is_a_noop),
      T(measure_nows_during_a_round_fold_into_one_follow_up),
      T(a_new_map_is_measured),
      T(enough_results_after_the_minimum_wait),
      T(report_deadline_ends_the_round),
      T(silent_server_fails_over_to_the_next),
      T(only_the_matching_response_counts),
      T(classic_servers_get_a_latency),
      T(garbage_is_rejected_with_a_reason),
      T(empty_map_reports_nothing_and_keeps_no_home),
      T(spawn_checks_its_arguments),
      T(start_fails_when_the_socket_cannot_bind),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
