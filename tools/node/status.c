/* SPDX-License-Identifier: MIT */
/* meshrt-node — the `status` and `children` replies.
 *
 * status gathers the node at a glance: our socket and endpoints (DirectManager),
 * every peer with its path and RTT, DERP region latencies and the home region
 * (the observer's view and DerpLatencyMeasurer), the link monitor's state
 * (NetmonSupervisor), per-server STUN statistics of both STUN clients (why a
 * region has no latency), and where the control socket and metrics are. A child
 * that is not running (paused by an operator, restarting) is reported as
 * unavailable in its section, never as a failed command: status is what an
 * operator runs when something is wrong.
 *
 * Threading: service thread (it blocks on asks with short timeouts).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "app.h"

#define ASK_TIMEOUT MRT_SEC(2)

static double ms_of(uint64_t ns) {
  return (double)ns / 1e6;
}

static json_t *addr_json(const struct sockaddr_storage *ss) {
  char a[MN_ADDR_STR_MAX];
  return ss->ss_family == AF_UNSPEC ? json_null() : json_string(mn_addr_str(ss, a, sizeof a));
}

static json_t *unavailable(int err) {
  return json_pack("{s:s, s:s}", "state", "unavailable", "error", mrt_strerror(err));
}

/* A new reference to the running attempt of child `id`, or NULL (*err). */
static mrt_ref *child(mn_app *app, const char *id, int *err) {
  mrt_ref *ref = NULL;
  *err = mrt_supervisor_child_ref(mrt_node_supervisor(app->node), id, &ref);
  return *err == 0 ? ref : NULL;
}

/* ---- DirectManager ---------------------------------------------------------------------- */

static json_t *peer_json(const mrt_direct_peer_status *p, uint64_t now_ns) {
  char hex[2 * MRT_PROBE_KEY_LEN + 1];
  json_t *cands = json_array();
  for (size_t i = 0; i < p->n_candidates; i++) {
    const mrt_direct_candidate_status *c = &p->candidates[i];
    json_array_append_new(cands,
                          json_pack("{s:o, s:b, s:f, s:I, s:I, s:b}", "addr", addr_json(&c->addr),
                                    "confirmed", c->confirmed, "rtt_ms", ms_of(c->rtt_ns),
                                    "pings_sent", (json_int_t)c->pings_sent, "pongs_received",
                                    (json_int_t)c->pongs_received, "learned", c->learned));
  }
  double trust =
      p->has_path && p->trust_until_ns > now_ns ? (double)(p->trust_until_ns - now_ns) / 1e9 : 0.0;
  return json_pack("{s:I, s:s, s:b, s:o, s:f, s:f, s:I, s:I, s:o, s:o}", "id", (json_int_t)p->id,
                   "public_key", mn_hex(p->key, sizeof p->key, hex, sizeof hex), "has_path",
                   p->has_path, "path", p->has_path ? addr_json(&p->best) : json_null(), "rtt_ms",
                   p->has_path ? ms_of(p->best_rtt_ns) : 0.0, "trusted_for_s", trust,
                   "learned_candidates", (json_int_t)p->n_learned, "endpoint_updates_received",
                   (json_int_t)p->updates_received, "reconfirmed_after_rebind_s",
                   p->reconfirms > 0 ? json_real((double)p->reconfirm_ns / 1e9) : json_null(),
                   "candidates", cands);
}

/* What DirectManager refused and learned: a user's first look when a path
 * does not come back. */
static json_t *probes_json(const mrt_direct_counters *c) {
  return json_pack(
      "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}}", "pongs_withheld",
      (json_int_t)c->pongs_withheld, "rejected_unauthenticated",
      (json_int_t)c->probe_unauthenticated, "rejected_replayed", (json_int_t)c->probe_replayed,
      "rejected_malformed", (json_int_t)c->probe_malformed, "rejected_unknown_peer",
      (json_int_t)c->probe_unknown_peer, "challenges_sent", (json_int_t)c->challenges_sent,
      "candidates_learned", (json_int_t)c->candidates_learned, "candidates_evicted",
      (json_int_t)c->candidates_evicted, "observed_learned", (json_int_t)c->observed_learned,
      "endpoint_updates", "sent", (json_int_t)c->updates_sent, "received",
      (json_int_t)c->updates_received, "rejected_replayed", (json_int_t)c->updates_replayed,
      "rejected_unusable", (json_int_t)c->updates_rejected);
}

static json_t *addrs_json(const struct sockaddr_storage *a, size_t n) {
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(arr, addr_json(&a[i]));
  return arr;
}

static void add_direct(mn_app *app, json_t *s) {
  int err;
  mrt_ref *dm = child(app, MRT_NODE_CHILD_DIRECT, &err);
  mrt_direct_status *ds = NULL;
  if (dm != NULL)
    err = MRT_ASK_SYNC(direct_state, dm, &(mrt_none){0}, &ds, ASK_TIMEOUT);
  mrt_ref_unref(dm);
  if (err < 0 || ds == NULL) {
    json_object_set_new(s, "socket", unavailable(err < 0 ? err : -ESRCH));
    json_object_set_new(s, "peers", json_array());
    return;
  }
  const mrt_sock_info *si = &ds->sock;
  json_object_set_new(s, "socket",
                      json_pack("{s:s, s:o, s:i, s:I, s:b, s:b}", "state",
                                si->inert ? "relay-only" : "bound", "local", addr_json(&si->local),
                                "port", (int)si->port, "generation", (json_int_t)si->generation,
                                "inert", si->inert, "dual_stack", si->dual_stack));
  json_object_set_new(s, "endpoints", addrs_json(ds->advertised.endpoints, ds->advertised.n));
  json_object_set_new(s, "reflexive", addrs_json(ds->reflexive, ds->n_reflexive));
  json_t *peers = json_array();
  for (size_t i = 0; i < ds->n_peers; i++)
    json_array_append_new(peers, peer_json(&ds->peers[i], ds->now_ns));
  json_object_set_new(s, "peers", peers);
  json_object_set_new(s, "stun",
                      json_pack("{s:I, s:I, s:I}", "servers", (json_int_t)ds->n_stun_servers,
                                "sent", (json_int_t)ds->counters.stun_sent, "responses",
                                (json_int_t)ds->counters.stun_responses));
  json_object_set_new(s, "probes", probes_json(&ds->counters));
  mrt_direct_status_free(ds);
}

/* ---- regions, link monitor ---------------------------------------------------------------- */

static void add_regions(mn_app *app, json_t *s, const mn_view_data *v) {
  json_t *regions = json_array();
  const char *home_code = "";
  for (size_t i = 0; i < v->n_regions; i++) {
    const mn_region_view *r = &v->regions[i];
    if (r->id == v->home_region)
      home_code = r->code;
    json_array_append_new(regions, json_pack("{s:i, s:s, s:f, s:b}", "id", r->id, "code", r->code,
                                             "latency_ms", ms_of(r->latency_ns), "home",
                                             r->id == v->home_region));
  }
  json_object_set_new(s, "regions", regions);
  json_object_set_new(s, "home_region",
                      v->home_region
                          ? json_pack("{s:i, s:s}", "id", v->home_region, "code", home_code)
                          : json_null());
  int err;
  mrt_ref *dl = child(app, MRT_NODE_CHILD_DERP_LATENCY, &err);
  mrt_derp_latency_stats st;
  memset(&st, 0, sizeof st);
  if (dl != NULL)
    err = MRT_ASK_SYNC(derp_latency_stats, dl, &(mrt_none){0}, &st, ASK_TIMEOUT);
  mrt_ref_unref(dl);
  json_object_set_new(s, "measurer",
                      err < 0 ? unavailable(err)
                              : json_pack("{s:s, s:b, s:b, s:I}", "state", "running", "have_map",
                                          st.have_map, "measuring", st.measuring, "rounds",
                                          (json_int_t)st.rounds));
}

static void add_monitor(mn_app *app, json_t *s, const mn_view_data *v) {
  json_t *m =
      json_pack("{s:s, s:I, s:I, s:I, s:I}", "kind", mn_monitor_kind_name(app->monitor_kind),
                "link_changes", (json_int_t)v->link_changes, "rebinds_after_link_changes",
                (json_int_t)v->rebinds_link, "rebinds_by_operator", (json_int_t)v->rebinds_operator,
                "rebind_failures", (json_int_t)v->rebind_failures);
  if (app->monitor_note[0] != '\0')
    json_object_set_new(m, "note", json_string(app->monitor_note));
  if (app->monitor_kind == MN_MONITOR_OFF) {
    json_object_set_new(m, "state", json_string("off"));
    json_object_set_new(s, "link_monitor", m);
    return;
  }
  int err;
  mrt_ref *nm = child(app, MRT_NODE_CHILD_NETMON, &err);
  mrt_netmon_supervisor_stats st;
  memset(&st, 0, sizeof st);
  if (nm != NULL)
    err = MRT_ASK_SYNC(netmon_supervisor_stats, nm, &(mrt_none){0}, &st, ASK_TIMEOUT);
  mrt_ref_unref(nm);
  if (err < 0) {
    json_object_set_new(m, "state", json_string("unavailable"));
    json_object_set_new(m, "error", json_string(mrt_strerror(err)));
  } else {
    json_object_set_new(m, "state", json_string(st.degraded ? "degraded" : "watching"));
    json_object_set_new(m, "watching", json_string(st.monitor));
    json_object_set_new(m, "events", json_integer((json_int_t)st.events));
    json_object_set_new(m, "reactions", json_integer((json_int_t)st.rebinds));
    json_object_set_new(m, "pending", json_boolean(st.pending));
    json_object_set_new(m, "busy_retries", json_integer((json_int_t)st.busy_retries));
  }
  json_object_set_new(m, "link_changes_dropped", json_integer((json_int_t)v->link_changes_dropped));
  json_object_set_new(s, "link_monitor", m);
}

/* ---- STUN servers ---------------------------------------------------------------------------- */

/* Appends `client`'s per-server rows to s.stun_servers and, when datagrams
 * from other addresses were refused, an entry to s.stun_rejected_elsewhere.
 * The reasons are the actors' own fixed text (<meshrt/stun_stats.h>). */
static void add_stun_rows(json_t *s, const char *client, const mrt_stun_server_list *l) {
  json_t *rows = json_object_get(s, "stun_servers");
  for (size_t i = 0; i < l->n; i++) {
    const mrt_stun_server_stats *st = &l->servers[i];
    json_array_append_new(
        rows,
        json_pack("{s:s, s:i, s:o, s:I, s:I, s:I, s:o}", "client", client, "region", st->region_id,
                  "server", addr_json(&st->server), "sent", (json_int_t)st->sent, "answered",
                  (json_int_t)st->answered, "rejected", (json_int_t)st->rejected, "last_rejection",
                  st->last_reason[0] ? json_string(st->last_reason) : json_null()));
  }
  if (l->other_rejected > 0)
    json_array_append_new(json_object_get(s, "stun_rejected_elsewhere"),
                          json_pack("{s:s, s:I, s:s}", "client", client, "rejected",
                                    (json_int_t)l->other_rejected, "last_rejection",
                                    l->other_last_reason));
}

/* Both STUN clients' statistics; a client that is not running adds none. */
static void add_stun(mn_app *app, json_t *s) {
  json_object_set_new(s, "stun_servers", json_array());
  json_object_set_new(s, "stun_rejected_elsewhere", json_array());
  /* The clients are named after the children that run them. */
  static const char *const ids[] = {MRT_NODE_CHILD_DERP_LATENCY, MRT_NODE_CHILD_DIRECT};
  for (int i = 0; i < 2; i++) {
    int err;
    mrt_ref *ref = child(app, ids[i], &err);
    mrt_stun_server_list l;
    memset(&l, 0, sizeof l);
    if (ref != NULL)
      err = i == 0 ? MRT_ASK_SYNC(derp_latency_servers, ref, &(mrt_none){0}, &l, ASK_TIMEOUT)
                   : MRT_ASK_SYNC(direct_stun_servers, ref, &(mrt_none){0}, &l, ASK_TIMEOUT);
    mrt_ref_unref(ref);
    if (err == 0)
      add_stun_rows(s, ids[i], &l);
    mrt_stun_server_list_release(&l);
  }
}

json_t *mn_status_json(mn_app *app) {
  char hex[2 * MRT_PROBE_KEY_LEN + 1], url[MN_ADDR_STR_MAX + 32];
  mn_view_data v;
  mn_view_get(&app->view, &v);
  snprintf(url, sizeof url, "http://%s/metrics", app->metrics_addr);
  json_t *s = json_pack("{s:s, s:s, s:i, s:f, s:s, s:o, s:o, s:o, s:I}", "mode",
                        app->demo ? "demo" : "config", "version", MN_VERSION, "pid", (int)getpid(),
                        "uptime_s", (double)(mn_now_ns() - app->started_ns) / 1e9, "public_key",
                        mn_hex(app->public_key, sizeof app->public_key, hex, sizeof hex), "config",
                        app->config ? mn_json_text(app->config->path) : json_null(),
                        "control_socket", mn_json_text(app->control_path), "metrics",
                        app->metrics_addr[0] ? json_string(url) : json_null(), "journal_last_seq",
                        (json_int_t)mn_journal_last_seq(app->journal));
  if (s != NULL)
    json_object_set_new(s, "measurements", json_integer((json_int_t)v.rounds));
  if (s == NULL)
    return NULL;
  add_direct(app, s);
  add_regions(app, s, &v);
  add_monitor(app, s, &v);
  add_stun(app, s);
  return s;
}

/* ---- children ---------------------------------------------------------------------------------
 */

static const char *restart_name(mrt_restart_policy p) {
  return p == MRT_RESTART_PERMANENT   ? "permanent"
         : p == MRT_RESTART_TRANSIENT ? "transient"
                                      : "temporary";
}

static const char *phase_name(mrt_supervisor_phase p) {
  static const char *const names[] = {"booting", "running", "stopping", "escalating"};
  return (unsigned)p < 4 ? names[p] : "?";
}

static const char *backoff_name(mrt_backoff_phase p) {
  return p == MRT_BACKOFF_IDLE          ? "idle"
         : p == MRT_BACKOFF_BACKING_OFF ? "backing-off"
                                        : "crash-looping";
}

static json_t *record_json(const mrt_child_record *c) {
  json_t *j = json_pack(
      "{s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:s, s:s}", "id", c->id, "status",
      mrt_child_status_name(c->status), "operation", mrt_child_operation_name(c->operation),
      "readiness", mrt_readiness_name(c->readiness), "restart", restart_name(c->restart), "active",
      c->active, "actor_id", (json_int_t)c->actor_id, "attempt", (json_int_t)c->attempt, "starts",
      (json_int_t)c->starts, "restarts", (json_int_t)c->restarts, "failures",
      (json_int_t)c->failures, "backoff", backoff_name(c->backoff.phase), "stop_state",
      mrt_stop_state_name(c->stop_state));
  if (j != NULL && c->has_last_failure)
    json_object_set_new(
        j, "last_failure",
        json_pack("{s:s, s:s, s:s}", "exit", mrt_exit_kind_name(c->last_failure.exit_kind), "error",
                  mrt_strerror(c->last_failure.error), "reason", c->last_failure.reason));
  return j;
}

json_t *mn_children_json(mn_app *app, int *err) {
  mrt_supervisor_state *st = NULL;
  *err = mrt_supervisor_current_state(mrt_node_supervisor(app->node), &st);
  if (*err < 0)
    return NULL;
  json_t *children = json_array();
  for (size_t i = 0; i < st->n_children; i++)
    json_array_append_new(children, record_json(&st->children[i]));
  json_t *j = json_pack("{s:s, s:s, s:I, s:{s:i, s:i, s:f}, s:o}", "supervisor", st->name, "phase",
                        phase_name(st->phase), "generation", (json_int_t)st->generation,
                        "restart_limit", "limit", (int)st->restart_limit.limit, "remaining",
                        (int)st->restart_limit.remaining, "window_s",
                        (double)st->restart_limit.window_ns / 1e9, "children", children);
  mrt_supervisor_state_free(st);
  if (j == NULL)
    *err = -ENOMEM;
  return j;
}
