/* SPDX-License-Identifier: MIT */
/* Tests: meshrt-node's metrics endpoint, scraped and parsed.
 *
 * The demo runs with --metrics 127.0.0.1:0 (an ephemeral port, found through
 * `meshrt-ctl status`) and the manual link monitor; after one injected link
 * change (and its rebind) and one operator rebind, GET /metrics must answer
 * 200 with the Prometheus text content type, and the body must parse as text
 * exposition 0.0.4: HELP/TYPE lines, one TYPE per family before its samples,
 * well-formed names, labels and values, no duplicate series. The families
 * the issue asks for must be there with plausible values: runtime, bus
 * counters, supervision, link changes and rebinds, probe RTT, region
 * latencies, home region, and per-server STUN counters of both STUN clients
 * (the demo's middle region is a classic RFC 3489-era server, and answers).
 * Other paths get 404, other methods are refused.
 * Arguments: the meshrt-node and meshrt-ctl binaries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <netinet/in.h>

#include "test-node-proc.h"

#define SERIES_MAX 512

typedef struct series {
  char key[256]; /* name{labels} as written */
  double value;
} series;

typedef struct scrape {
  int status;
  char content_type[128];
  size_t n;
  series s[SERIES_MAX];
  char types[SERIES_MAX][96];
  size_t n_types;
} scrape;

static node_proc node;
static char metrics_host[64];
static int metrics_port;

/* ---- the text format ---------------------------------------------------------------------------
 */

static const char *parse_name(const char *p) {
  if (!(isalpha((unsigned char)*p) || *p == '_' || *p == ':'))
    return NULL;
  while (isalnum((unsigned char)*p) || *p == '_' || *p == ':')
    p++;
  return p;
}

/* {a="x",b="y\"z"}: returns the end, or NULL if malformed. */
static const char *parse_labels(const char *p) {
  if (*p != '{')
    return p;
  p++;
  while (*p != '}') {
    const char *e = parse_name(p);
    if (e == NULL || *e != '=' || e[1] != '"')
      return NULL;
    for (p = e + 2; *p != '"'; p++) {
      if (*p == '\0' || *p == '\n')
        return NULL;
      if (*p == '\\' && (p[1] == '\\' || p[1] == '"' || p[1] == 'n'))
        p++;
    }
    p++;
    if (*p == ',')
      p++;
    else if (*p != '}')
      return NULL;
  }
  return p + 1;
}

static bool typed(const scrape *sc, const char *name, size_t len) {
  for (size_t i = 0; i < sc->n_types; i++)
    if (strlen(sc->types[i]) == len && strncmp(sc->types[i], name, len) == 0)
      return true;
  return false;
}

static void parse_comment(scrape *sc, const char *line) {
  char name[96], type[32];
  if (strncmp(line, "# HELP ", 7) == 0) {
    assert_non_null(parse_name(line + 7));
    return;
  }
  if (sscanf(line, "# TYPE %95s %31s", name, type) != 2)
    fail_msg("bad comment line: %s", line);
  assert_true(!strcmp(type, "counter") || !strcmp(type, "gauge") || !strcmp(type, "untyped") ||
              !strcmp(type, "histogram") || !strcmp(type, "summary"));
  if (typed(sc, name, strlen(name)))
    fail_msg("family %s declared twice", name);
  snprintf(sc->types[sc->n_types++], sizeof sc->types[0], "%s", name);
}

static void parse_sample(scrape *sc, const char *line) {
  const char *name_end = parse_name(line);
  const char *end = name_end ? parse_labels(name_end) : NULL;
  if (end == NULL || *end != ' ')
    fail_msg("bad sample line: %s", line);
  if (!typed(sc, line, (size_t)(name_end - line)))
    fail_msg("sample before its TYPE: %s", line);
  char *vend;
  double v = strtod(end + 1, &vend);
  if (vend == end + 1 || (*vend != '\0' && *vend != ' '))
    fail_msg("bad value: %s", line);
  assert_true(sc->n < SERIES_MAX);
  series *s = &sc->s[sc->n++];
  snprintf(s->key, sizeof s->key, "%.*s", (int)(end - line), line);
  s->value = v;
  for (size_t i = 0; i + 1 < sc->n; i++)
    if (strcmp(sc->s[i].key, s->key) == 0)
      fail_msg("duplicate series %s", s->key);
}

static void parse_response(char *resp, scrape *sc) {
  memset(sc, 0, sizeof *sc);
  assert_non_null(resp);
  assert_int_equal(sscanf(resp, "HTTP/1.%*d %d", &sc->status), 1);
  char *ct = strcasestr(resp, "\r\nContent-Type: ");
  if (ct != NULL)
    sscanf(ct + 16, "%127[^\r]", sc->content_type);
  char *body = strstr(resp, "\r\n\r\n");
  assert_non_null(body);
  body += 4;
  for (char *save = NULL, *line = strtok_r(body, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    if (line[0] == '#')
      parse_comment(sc, line);
    else
      parse_sample(sc, line);
  }
}

/* The value of series `key`, or NAN. */
static double get(const scrape *sc, const char *key) {
  for (size_t i = 0; i < sc->n; i++)
    if (strcmp(sc->s[i].key, key) == 0)
      return sc->s[i].value;
  fail_msg("no series %s", key);
  return NAN;
}

/* Series whose key starts with `prefix` and whose value is at least `min`. */
static int count_prefix(const scrape *sc, const char *prefix, double min) {
  int n = 0;
  for (size_t i = 0; i < sc->n; i++)
    n += strncmp(sc->s[i].key, prefix, strlen(prefix)) == 0 && sc->s[i].value >= min;
  return n;
}

/* ---- tests
 * ----------------------------------------------------------------------------------------- */

static int setup_group(void **state) {
  (void)state;
  dir_make();
  static const char *const args[] = {"--metrics", "127.0.0.1:0", "--network-monitor", "manual",
                                     NULL};
  if (!node_start(&node, args))
    return -1;
  json_t *s = node_wait_status(&node, status_ready, NP_WAIT_MS);
  if (s == NULL) {
    dump_log(&node);
    return -1;
  }
  bool ok = status_metrics_addr(s, metrics_host, &metrics_port);
  json_decref(s);
  return ok ? 0 : -1;
}

static int teardown_group(void **state) {
  (void)state;
  int rc = node_stop(&node, SIGTERM, NP_WAIT_MS);
  reap_all();
  dir_remove(test_dir);
  return rc == 0 ? 0 : -1;
}

static bool rebound_after_link_change(const json_t *s) {
  const json_t *m = json_object_get(s, "link_monitor");
  return json_integer_value(json_object_get(m, "rebinds_after_link_changes")) >= 1 &&
         json_is_true(json_object_get(json_array_get(json_object_get(s, "peers"), 0), "has_path"));
}

static void metrics_scrape_parses_and_has_the_families(void **state) {
  (void)state;
  json_t *r = ctl_json(node.sock, NULL, "link-change", "default-route");
  assert_non_null(r);
  json_decref(r);
  json_t *s = node_wait_status(&node, rebound_after_link_change, NP_WAIT_MS);
  assert_non_null(s);
  json_decref(s);
  r = ctl_json(node.sock, NULL, "rebind", NULL);
  assert_non_null(r);
  json_decref(r);
  json_t *again = node_wait_status(&node, status_ready, NP_WAIT_MS); /* the peer's path is back */
  assert_non_null(again);
  json_decref(again);

  /* The link change's re-measurement finishes on its own time (the demo's
   * regions answer after up to 60 ms), possibly after the path is back:
   * scrape until it is in (the deadline only catches "never"). */
  static scrape sc;
  uint64_t deadline = mono_ms() + 10000;
  do {
    char *resp = http_request(metrics_host, metrics_port, "GET", "/metrics");
    parse_response(resp, &sc);
    free(resp);
    if (get(&sc, "meshrt_bus_published_total{type=\"derp_latency_measurement\"}") >= 2)
      break;
    sleep_ms(50);
  } while (mono_ms() < deadline);
  assert_int_equal(sc.status, 200);
  assert_string_equal(sc.content_type, "text/plain; version=0.0.4; charset=utf-8");
  assert_true(get(&sc, "meshrt_runtime_actors") >= 5);
  assert_true(get(&sc, "meshrt_runtime_messages_handled_total") > 0);
  assert_true(get(&sc, "meshrt_runtime_mailbox_messages") >= 0); /* present, a count */
  assert_true(get(&sc, "meshrt_runtime_mailbox_deepest") >= 0);
  assert_true(get(&sc, "meshrt_bus_published_total{type=\"derp_latency_measurement\"}") >= 2);
  assert_true(get(&sc, "meshrt_bus_delivered_total{type=\"supervisor_event\"}") >= 9);
  assert_true(get(&sc, "meshrt_supervisor_restarts_total{supervisor=\"node\"}") >= 0);
  assert_true(get(&sc, "meshrt_link_changes_total") >= 1);
  assert_true(get(&sc, "meshrt_link_change_events_total") >= 1);
  assert_true(get(&sc, "meshrt_rebinds_total{cause=\"link-change\"}") >= 1);
  assert_true(get(&sc, "meshrt_rebinds_total{cause=\"operator\"}") >= 1);
  assert_true(get(&sc, "meshrt_direct_socket_generation") >= 3);
  assert_true(get(&sc, "meshrt_peer_path_up{peer=\"2\"}") == 1);
  /* The operator rebind kept the port, and the peer's path came back. */
  assert_true(get(&sc, "meshrt_direct_rebinds_port_kept_total") >= 1);
  assert_true(get(&sc, "meshrt_rebind_busy_retries_total") == 0);
  assert_true(get(&sc, "meshrt_link_changes_dropped_total") == 0);
  assert_true(get(&sc, "meshrt_peer_reconfirm_after_rebind_seconds{peer=\"2\"}") >= 0);
  assert_true(get(&sc, "meshrt_direct_endpoint_updates_total{direction=\"sent\"}") >= 1);
  assert_true(get(&sc, "meshrt_direct_probes_rejected_total{reason=\"replayed\"}") >= 0);
  assert_true(get(&sc, "meshrt_peer_learned_candidates{peer=\"2\"}") >= 0);
  double rtt = get(&sc, "meshrt_probe_rtt_seconds{peer=\"2\"}");
  assert_true(rtt > 0 && rtt < 1);
  double near = get(&sc, "meshrt_derp_region_latency_seconds{region=\"1\",code=\"demo-near\"}");
  double far = get(&sc, "meshrt_derp_region_latency_seconds{region=\"3\",code=\"demo-far\"}");
  assert_true(near >= 0.008 && far >= 0.060 && near < far);
  assert_true(get(&sc, "meshrt_derp_home_region") == 1);
  /* One series per client, region and server. The measurer's rounds were
   * all answered; DirectManager swept after the link change (its answers may
   * have met the operator's rebind, which drops what is in flight). */
  static const char *const clients[] = {"derp-latency", "direct"};
  for (int c = 0; c < 2; c++) {
    for (int region = 1; region <= 3; region++) {
      char prefix[160];
      snprintf(prefix, sizeof prefix,
               "meshrt_stun_requests_total{client=\"%s\",region=\"%d\",server=\"127.0.0.1:",
               clients[c], region);
      assert_int_equal(count_prefix(&sc, prefix, 1), 1);
      snprintf(prefix, sizeof prefix,
               "meshrt_stun_answered_total{client=\"%s\",region=\"%d\",server=\"127.0.0.1:",
               clients[c], region);
      assert_int_equal(count_prefix(&sc, prefix, c == 0 ? 1 : 0), 1);
    }
  }
  assert_int_equal(count_prefix(&sc, "meshrt_stun_rejected_total{", 0), 6);
  /* DerpLatencyMeasurer refused nothing. DirectManager may have: the rebind
   * keeps its port, so answers to the requests it dropped still arrive,
   * and are refused as answering nothing in flight. */
  assert_int_equal(count_prefix(&sc, "meshrt_stun_rejected_total{client=\"derp-latency\"", 1), 0);
  assert_true(get(&sc, "meshrt_stun_rejected_elsewhere_total{client=\"direct\"}") == 0);
  assert_true(
      get(&sc, "meshrt_node_info{mode=\"demo\",version=\"0.1.0\",link_monitor=\"manual\"}") == 1);
}

static void other_paths_and_methods_are_refused(void **state) {
  (void)state;
  char *resp = http_request(metrics_host, metrics_port, "GET", "/");
  int status = 0;
  assert_non_null(resp);
  sscanf(resp, "HTTP/1.%*d %d", &status);
  free(resp);
  assert_int_equal(status, 404);
  resp = http_request(metrics_host, metrics_port, "POST", "/metrics");
  assert_non_null(resp);
  sscanf(resp, "HTTP/1.%*d %d", &status);
  free(resp);
  assert_true(status >= 400);
  /* ...and the endpoint still serves. */
  resp = http_request(metrics_host, metrics_port, "GET", "/metrics");
  sscanf(resp, "HTTP/1.%*d %d", &status);
  free(resp);
  assert_int_equal(status, 200);
}

int main(int argc, char **argv) {
  take_binaries(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(metrics_scrape_parses_and_has_the_families),
      cmocka_unit_test(other_paths_and_methods_are_refused),
  };
  return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
