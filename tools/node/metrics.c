/* SPDX-License-Identifier: MIT */
/* meshrt-node — the metrics endpoint: GET /metrics in the Prometheus text
 * exposition format (version 0.0.4), served by libevent's HTTP server.
 *
 * Families: meshrt_node_* (info, uptime), meshrt_runtime_* (actors,
 * messages), meshrt_bus_* (per message type), meshrt_supervisor_* (rendered
 * by the library), meshrt_link_* and meshrt_rebinds_* (link changes and the
 * rebinds that answered them), meshrt_direct_* and meshrt_probe_rtt_seconds
 * (paths and their RTT), meshrt_derp_* (region latencies, home region),
 * meshrt_stun_* (per STUN server: requests, answers, refusals, for both
 * STUN clients). Values are read at scrape time: a scrape is a handful of
 * asks.
 *
 * Connections are capped at MAX_CLIENTS, counted by the accept guard as the
 * control socket's clients are: a connection over the cap is told 503 and
 * closed at once. evhttp (libevent 2.1) has no cap of its own and no hook
 * that sees a new connection together with its evhttp_connection, so the
 * bufferevent callback (evhttp_set_bevcb) makes each connection's
 * bufferevent and notes it, and right after evhttp has set it up ("adopt",
 * in the same loop iteration, before anything is read) the connection is
 * found from it (evhttp makes the evhttp_connection its bufferevent's
 * callback argument; checked both ways) and admitted, with a close callback
 * that gives its place back, or refused.
 *
 * Threading: the HTTP server runs on the service thread; rendering is
 * host-thread code (it blocks on asks) and needs nothing else.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "accept_guard.h"
#include "app.h"

#define ASK_TIMEOUT MRT_SEC(2)
#define BUS_TYPES_MAX 128
/* Scrapers are one or two Prometheus servers and a curl now and then; the
 * cap is a quarter of the descriptors control.c keeps (FD_RESERVE) for the
 * whole rest of the node. */
#define MAX_CLIENTS 32

/* A connection evhttp has just accepted, not yet admitted. */
typedef struct fresh {
  struct bufferevent *bev; /* a reference of ours */
  struct fresh *next;
} fresh;

struct mn_metrics {
  struct evhttp *http;
  mn_accept_guard *guard;    /* caps connections, pauses accepting while descriptors run out */
  struct event *adopt;       /* admits the fresh connections */
  fresh *fresh, **fresh_end; /* in accept order, so the first ones get the places */
};

/* Prometheus label values escape backslash, double quote and newline. */
static void label(FILE *f, const char *v) {
  for (; *v; v++) {
    if (*v == '\n') {
      fputs("\\n", f);
      continue;
    }
    if (*v == '\\' || *v == '"')
      fputc('\\', f);
    fputc(*v, f);
  }
}

static void family(FILE *f, const char *name, const char *type, const char *help) {
  fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, const char *type, const char *help, double v) {
  family(f, name, type, help);
  fprintf(f, "%s %.*g\n", name, v == (double)(int64_t)v ? 17 : 9, v);
}

/* ---- runtime and bus ------------------------------------------------------------------------- */

typedef struct bus_rows {
  size_t n;
  const char *name[BUS_TYPES_MAX];
  mrt_bus_stats s[BUS_TYPES_MAX];
} bus_rows;

static void collect_bus(const mrt_msg_type *type, const mrt_bus_stats *s, void *ud) {
  bus_rows *rows = ud;
  if (rows->n == BUS_TYPES_MAX)
    return;
  rows->name[rows->n] = type->name;
  rows->s[rows->n++] = *s;
}

static void render_bus(FILE *f, mn_app *app) {
  bus_rows *rows = calloc(1, sizeof *rows);
  if (rows == NULL)
    return;
  mrt_bus_foreach_type(mrt_runtime_bus(app->rt), collect_bus, rows);
  static const char *const names[] = {"published_total", "delivered_total", "dropped_full_total",
                                      "dropped_dead_total", "subscribers"};
  static const char *const helps[] = {
      "Messages published, by type.", "Deliveries to subscribers, by type.",
      "Deliveries dropped because a mailbox was full, by type.",
      "Deliveries dropped because the subscriber had stopped, by type.",
      "Current subscribers, by type."};
  for (int k = 0; k < 5; k++) {
    char name[64];
    snprintf(name, sizeof name, "meshrt_bus_%s", names[k]);
    family(f, name, k == 4 ? "gauge" : "counter", helps[k]);
    for (size_t i = 0; i < rows->n; i++) {
      const mrt_bus_stats *s = &rows->s[i];
      uint64_t v[] = {s->published, s->delivered, s->dropped_full, s->dropped_dead, s->subscribers};
      fprintf(f, "%s{type=\"", name);
      label(f, rows->name[i]);
      fprintf(f, "\"} %llu\n", (unsigned long long)v[k]);
    }
  }
  free(rows);
}

static void render_runtime(FILE *f, mn_app *app) {
  mrt_runtime_stats st;
  mrt_runtime_get_stats(app->rt, &st);
  family(f, "meshrt_node_info", "gauge", "The node: mode, version and link monitor.");
  fprintf(f, "meshrt_node_info{mode=\"%s\",version=\"%s\",link_monitor=\"%s\"} 1\n",
          app->demo ? "demo" : "config", MN_VERSION, mn_monitor_kind_name(app->monitor_kind));
  sample(f, "meshrt_node_uptime_seconds", "gauge", "Seconds since the node started.",
         (double)(mn_now_ns() - app->started_ns) / 1e9);
  sample(f, "meshrt_runtime_executors", "gauge", "Executor threads.",
         mrt_runtime_executors(app->rt));
  sample(f, "meshrt_runtime_actors", "gauge", "Live actors.", (double)st.actors_live);
  sample(f, "meshrt_runtime_actors_spawned_total", "counter", "Actors spawned.",
         (double)st.actors_spawned);
  sample(f, "meshrt_runtime_actors_stopped_total", "counter", "Actors stopped.",
         (double)st.actors_stopped);
  sample(f, "meshrt_runtime_messages_handled_total", "counter", "Messages handled by actors.",
         (double)st.messages_handled);
  uint64_t queued = 0, deepest = 0;
  if (mrt_runtime_mailbox_depth(app->rt, &queued, &deepest) == 0) {
    sample(f, "meshrt_runtime_mailbox_messages", "gauge",
           "Messages waiting in actors' mailboxes (total mailbox depth).", (double)queued);
    sample(f, "meshrt_runtime_mailbox_deepest", "gauge", "Messages waiting in the fullest mailbox.",
           (double)deepest);
  }
}

static void render_supervision(FILE *f, mn_app *app) {
  mrt_supervisor_metrics *m = NULL;
  if (mrt_supervisor_metrics_get(mrt_node_supervisor(app->node), &m) < 0)
    return;
  const mrt_supervisor_metrics *list[] = {m};
  int len = mrt_supervisor_metrics_render(list, 1, NULL, 0);
  char *buf = len > 0 ? malloc((size_t)len + 1) : NULL;
  if (buf != NULL && mrt_supervisor_metrics_render(list, 1, buf, (size_t)len + 1) == len)
    fputs(buf, f);
  free(buf);
  mrt_supervisor_metrics_free(m);
}

/* ---- the node's actors ---------------------------------------------------------------------- */

static void render_links(FILE *f, mn_app *app, const mn_view_data *v) {
  sample(f, "meshrt_link_changes_total", "counter", "Raw link changes the monitor reported.",
         (double)v->link_changes);
  mrt_ref *nm = NULL;
  mrt_netmon_supervisor_stats st;
  memset(&st, 0, sizeof st);
  if (app->monitor_kind != MN_MONITOR_OFF &&
      mrt_supervisor_child_ref(mrt_node_supervisor(app->node), MRT_NODE_CHILD_NETMON, &nm) == 0)
    (void)MRT_ASK_SYNC(netmon_supervisor_stats, nm, &(mrt_none){0}, &st, ASK_TIMEOUT);
  mrt_ref_unref(nm);
  sample(f, "meshrt_link_change_events_total", "counter",
         "Coalesced link-change events NetmonSupervisor received.", (double)st.events);
  family(f, "meshrt_rebinds_total", "counter", "Socket rebinds, by cause.");
  fprintf(f, "meshrt_rebinds_total{cause=\"link-change\"} %llu\n",
          (unsigned long long)v->rebinds_link);
  fprintf(f, "meshrt_rebinds_total{cause=\"operator\"} %llu\n",
          (unsigned long long)v->rebinds_operator);
  sample(f, "meshrt_rebind_failures_total", "counter",
         "Link-change reactions that did not get a new socket.", (double)v->rebind_failures);
  sample(f, "meshrt_rebind_busy_retries_total", "counter",
         "Rebinds asked again because DirectManager's mailbox was full.", (double)st.busy_retries);
  sample(f, "meshrt_link_changes_dropped_total", "counter",
         "Raw link changes the node's observer refused with a full mailbox.",
         (double)v->link_changes_dropped);
}

/* Probes refused, candidates learned, endpoint updates, rebind recovery. */
static void render_learning(FILE *f, const mrt_direct_status *ds) {
  const mrt_direct_counters *c = &ds->counters;
  family(f, "meshrt_direct_probes_rejected_total", "counter",
         "Probe datagrams refused, by reason; none of them changed a path.");
  fprintf(f, "meshrt_direct_probes_rejected_total{reason=\"unauthenticated\"} %llu\n",
          (unsigned long long)c->probe_unauthenticated);
  fprintf(f, "meshrt_direct_probes_rejected_total{reason=\"replayed\"} %llu\n",
          (unsigned long long)c->probe_replayed);
  fprintf(f, "meshrt_direct_probes_rejected_total{reason=\"malformed\"} %llu\n",
          (unsigned long long)c->probe_malformed);
  fprintf(f, "meshrt_direct_probes_rejected_total{reason=\"unknown_peer\"} %llu\n",
          (unsigned long long)c->probe_unknown_peer);
  fprintf(f, "meshrt_direct_probes_rejected_total{reason=\"stale\"} %llu\n",
          (unsigned long long)c->probe_stale);
  sample(f, "meshrt_direct_pongs_withheld_total", "counter",
         "Pings from sources that are no candidate left unanswered (over 8/s per peer).",
         (double)c->pongs_withheld);
  sample(f, "meshrt_direct_challenges_sent_total", "counter",
         "Pings to a new source a peer pinged us from.", (double)c->challenges_sent);
  sample(f, "meshrt_direct_candidates_learned_total", "counter",
         "Candidates learned from peers' traffic.", (double)c->candidates_learned);
  sample(f, "meshrt_direct_candidates_evicted_total", "counter",
         "Learned candidates evicted, least recently heard first.", (double)c->candidates_evicted);
  family(f, "meshrt_direct_endpoint_updates_total", "counter",
         "Endpoint updates sent to peers and received from them.");
  fprintf(f, "meshrt_direct_endpoint_updates_total{direction=\"sent\"} %llu\n",
          (unsigned long long)c->updates_sent);
  fprintf(f, "meshrt_direct_endpoint_updates_total{direction=\"received\"} %llu\n",
          (unsigned long long)c->updates_received);
  family(f, "meshrt_direct_endpoint_updates_rejected_total", "counter",
         "Endpoint updates refused: replayed (not newer) or without a usable endpoint.");
  fprintf(f, "meshrt_direct_endpoint_updates_rejected_total{reason=\"replayed\"} %llu\n",
          (unsigned long long)c->updates_replayed);
  fprintf(f, "meshrt_direct_endpoint_updates_rejected_total{reason=\"unusable\"} %llu\n",
          (unsigned long long)c->updates_rejected);
  sample(f, "meshrt_direct_rebinds_port_kept_total", "counter", "Rebinds that kept the port.",
         (double)c->rebinds_port_kept);
  family(f, "meshrt_peer_learned_candidates", "gauge", "Learned candidates per peer.");
  for (size_t i = 0; i < ds->n_peers; i++)
    fprintf(f, "meshrt_peer_learned_candidates{peer=\"%llu\"} %zu\n",
            (unsigned long long)ds->peers[i].id, ds->peers[i].n_learned);
  family(f, "meshrt_peer_reconfirm_after_rebind_seconds", "gauge",
         "Time from our last rebind until the peer's path was confirmed again.");
  for (size_t i = 0; i < ds->n_peers; i++)
    if (ds->peers[i].reconfirms > 0)
      fprintf(f, "meshrt_peer_reconfirm_after_rebind_seconds{peer=\"%llu\"} %.9f\n",
              (unsigned long long)ds->peers[i].id, (double)ds->peers[i].reconfirm_ns / 1e9);
}

static void render_direct(FILE *f, mn_app *app) {
  mrt_ref *dm = NULL;
  mrt_direct_status *ds = NULL;
  if (mrt_supervisor_child_ref(mrt_node_supervisor(app->node), MRT_NODE_CHILD_DIRECT, &dm) == 0)
    (void)MRT_ASK_SYNC(direct_state, dm, &(mrt_none){0}, &ds, ASK_TIMEOUT);
  mrt_ref_unref(dm);
  sample(f, "meshrt_direct_up", "gauge", "1 when DirectManager answers.", ds != NULL);
  if (ds == NULL)
    return;
  const mrt_direct_counters *c = &ds->counters;
  sample(f, "meshrt_direct_socket_port", "gauge", "The UDP port bound now.", ds->sock.port);
  sample(f, "meshrt_direct_socket_generation", "gauge", "Successful binds so far.",
         (double)ds->sock.generation);
  sample(f, "meshrt_direct_pings_sent_total", "counter", "Probe pings sent.",
         (double)c->pings_sent);
  sample(f, "meshrt_direct_pongs_received_total", "counter", "Probe pongs accepted.",
         (double)c->pongs_received);
  sample(f, "meshrt_direct_path_changes_total", "counter", "Best-path changes.",
         (double)c->path_changes);
  sample(f, "meshrt_direct_stun_sent_total", "counter", "STUN requests sent.",
         (double)c->stun_sent);
  sample(f, "meshrt_direct_stun_responses_total", "counter", "STUN responses accepted.",
         (double)c->stun_responses);
  render_learning(f, ds);
  family(f, "meshrt_peer_path_up", "gauge", "1 when the peer has a trusted direct path.");
  for (size_t i = 0; i < ds->n_peers; i++)
    fprintf(f, "meshrt_peer_path_up{peer=\"%llu\"} %d\n", (unsigned long long)ds->peers[i].id,
            ds->peers[i].has_path);
  family(f, "meshrt_probe_rtt_seconds", "gauge", "Round-trip time of the peer's best path.");
  for (size_t i = 0; i < ds->n_peers; i++)
    if (ds->peers[i].has_path)
      fprintf(f, "meshrt_probe_rtt_seconds{peer=\"%llu\"} %.9f\n",
              (unsigned long long)ds->peers[i].id, (double)ds->peers[i].best_rtt_ns / 1e9);
  mrt_direct_status_free(ds);
}

static void render_derp(FILE *f, const mn_view_data *v) {
  family(f, "meshrt_derp_region_latency_seconds", "gauge",
         "Latency of each DERP region in the last measurement.");
  for (size_t i = 0; i < v->n_regions; i++) {
    fprintf(f, "meshrt_derp_region_latency_seconds{region=\"%d\",code=\"", v->regions[i].id);
    label(f, v->regions[i].code);
    fprintf(f, "\"} %.9f\n", (double)v->regions[i].latency_ns / 1e9);
  }
  sample(f, "meshrt_derp_home_region", "gauge", "The home DERP region's id (0: none).",
         v->home_region);
  sample(f, "meshrt_derp_home_region_changes_total", "counter", "Home-region changes.",
         (double)v->home_changes);
  sample(f, "meshrt_derp_measurements_total", "counter", "DERP latency measurements.",
         (double)v->rounds);
}

/* Per-server counters of both STUN clients. The last refusal's reason is in
 * `meshrt-ctl status`, not here: a free-text label would make a new series
 * for every reason. */
static void render_stun(FILE *f, mn_app *app) {
  static const char *const ids[] = {MRT_NODE_CHILD_DERP_LATENCY, MRT_NODE_CHILD_DIRECT};
  mrt_stun_server_list lists[2];
  memset(lists, 0, sizeof lists);
  for (int i = 0; i < 2; i++) {
    mrt_ref *ref = NULL;
    if (mrt_supervisor_child_ref(mrt_node_supervisor(app->node), ids[i], &ref) != 0)
      continue;
    int rc = i == 0
                 ? MRT_ASK_SYNC(derp_latency_servers, ref, &(mrt_none){0}, &lists[i], ASK_TIMEOUT)
                 : MRT_ASK_SYNC(direct_stun_servers, ref, &(mrt_none){0}, &lists[i], ASK_TIMEOUT);
    mrt_ref_unref(ref);
    if (rc < 0)
      memset(&lists[i], 0, sizeof lists[i]);
  }
  static const char *const names[] = {"meshrt_stun_requests_total", "meshrt_stun_answered_total",
                                      "meshrt_stun_rejected_total"};
  static const char *const helps[] = {
      "STUN Binding requests sent, by client and server.",
      "STUN answers accepted, by client and server.",
      ("STUN datagrams from the server that were refused (malformed, an error response, or no "
       "request in flight), by client and server; meshrt-ctl status shows the last reason.")};
  for (int k = 0; k < 3; k++) {
    family(f, names[k], "counter", helps[k]);
    for (int i = 0; i < 2; i++) {
      for (size_t j = 0; j < lists[i].n; j++) {
        const mrt_stun_server_stats *st = &lists[i].servers[j];
        uint64_t v[] = {st->sent, st->answered, st->rejected};
        char addr[MN_ADDR_STR_MAX];
        fprintf(f, "%s{client=\"%s\",region=\"%d\",server=\"", names[k], ids[i], st->region_id);
        label(f, mn_addr_str(&st->server, addr, sizeof addr));
        fprintf(f, "\"} %llu\n", (unsigned long long)v[k]);
      }
    }
  }
  family(f, "meshrt_stun_rejected_elsewhere_total", "counter",
         "STUN datagrams refused from addresses that are no STUN server of the DERP map.");
  for (int i = 0; i < 2; i++) {
    fprintf(f, "meshrt_stun_rejected_elsewhere_total{client=\"%s\"} %llu\n", ids[i],
            (unsigned long long)lists[i].other_rejected);
    mrt_stun_server_list_release(&lists[i]);
  }
}

char *mn_metrics_render(mn_app *app) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (f == NULL)
    return NULL;
  mn_view_data v;
  mn_view_get(&app->view, &v);
  render_runtime(f, app);
  render_bus(f, app);
  render_supervision(f, app);
  render_links(f, app, &v);
  render_direct(f, app);
  render_derp(f, &v);
  render_stun(f, app);
  if (fclose(f) != 0) {
    free(text);
    return NULL;
  }
  return text;
}

/* ---- HTTP ------------------------------------------------------------------------------------ */

static void on_metrics(struct evhttp_request *req, void *ud) {
  char *text = mn_metrics_render(ud);
  if (text == NULL) {
    evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
    return;
  }
  struct evbuffer *body = evbuffer_new();
  if (body == NULL) {
    free(text);
    evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
    return;
  }
  evbuffer_add(body, text, strlen(text));
  free(text);
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                    "text/plain; version=0.0.4; charset=utf-8");
  evhttp_send_reply(req, HTTP_OK, "OK", body);
  evbuffer_free(body);
}

static void on_other(struct evhttp_request *req, void *ud) {
  (void)ud;
  evhttp_send_error(req, HTTP_NOTFOUND, "not found: the metrics are at /metrics");
}

/* ---- the connection cap ---------------------------------------------------------------------- */

static void on_conn_close(struct evhttp_connection *evcon, void *ud) {
  (void)evcon;
  mn_accept_guard_release(((struct mn_metrics *)ud)->guard);
}

/* evhttp asks for each new connection's bufferevent. */
static struct bufferevent *on_new_conn(struct event_base *base, void *ud) {
  struct mn_metrics *m = ud;
  fresh *f = malloc(sizeof *f);
  struct bufferevent *bev =
      f != NULL ? bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE) : NULL;
  if (bev == NULL) {
    free(f);
    return NULL; /* evhttp makes one itself: that connection goes uncounted */
  }
  /* Ours too: if evhttp drops the connection before the adoption, the
   * bufferevent (and its descriptor) lives until we let go. */
  bufferevent_incref(bev);
  f->bev = bev;
  f->next = NULL;
  *m->fresh_end = f;
  m->fresh_end = &f->next;
  event_active(m->adopt, EV_TIMEOUT, 1);
  return bev;
}

/* Lets go of a fresh connection (closing it if evhttp has dropped it). */
static fresh *fresh_drop(fresh *f) {
  fresh *next = f->next;
  bufferevent_decref(f->bev);
  free(f);
  return next;
}

/* The connection of a fresh bufferevent, or NULL if evhttp has dropped it
 * (freeing a bufferevent clears its callbacks). */
static struct evhttp_connection *conn_of(struct bufferevent *bev) {
  bufferevent_data_cb rd = NULL;
  void *arg = NULL;
  bufferevent_getcb(bev, &rd, NULL, NULL, &arg);
  if (rd == NULL || arg == NULL)
    return NULL;
  struct evhttp_connection *evcon = arg;
  return evhttp_connection_get_bufferevent(evcon) == bev ? evcon : NULL;
}

static void on_adopt(evutil_socket_t fd, short what, void *ud) {
  (void)fd;
  (void)what;
  struct mn_metrics *m = ud;
  static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                             "Connection: close\r\n\r\n";
  while (m->fresh != NULL) {
    struct evhttp_connection *evcon = conn_of(m->fresh->bev);
    if (evcon != NULL && mn_accept_guard_admit(m->guard)) {
      evhttp_connection_set_closecb(evcon, on_conn_close, m);
    } else if (evcon != NULL) {
      ssize_t n = send(bufferevent_getfd(m->fresh->bev), busy, sizeof busy - 1,
                       MSG_DONTWAIT | MSG_NOSIGNAL);
      (void)n;
      evhttp_connection_free(evcon); /* closed when we let go of it too */
    }
    m->fresh = fresh_drop(m->fresh);
  }
  m->fresh_end = &m->fresh;
}

/* ---- opening --------------------------------------------------------------------------------- */

static int listen_on(const struct sockaddr_storage *addr, int *out) {
  int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  int one = 1;
  socklen_t len =
      addr->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (const struct sockaddr *)addr, len) < 0 || listen(fd, 64) < 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  *out = fd;
  return 0;
}

int mn_metrics_open(mn_app *app, const struct sockaddr_storage *addr, struct event_base *base,
                    struct mn_metrics **out) {
  char want[MN_ADDR_STR_MAX];
  mn_addr_str(addr, want, sizeof want);
  int fd = -1;
  int rc = listen_on(addr, &fd);
  struct mn_metrics *m = rc == 0 ? calloc(1, sizeof *m) : NULL;
  bool owned = false; /* once evhttp accepts on fd, evhttp_free closes it */
  struct evhttp_bound_socket *bs = NULL;
  if (m != NULL)
    m->fresh_end = &m->fresh;
  if (rc == 0 && m != NULL && (m->http = evhttp_new(base)) != NULL)
    owned = (bs = evhttp_accept_socket_with_handle(m->http, fd)) != NULL;
  if (rc == 0 && !owned)
    rc = -ENOMEM;
  if (rc == 0)
    rc = mn_accept_guard_new(base, evhttp_bound_socket_get_listener(bs), "metrics endpoint",
                             &m->guard);
  if (rc == 0 && (m->adopt = event_new(base, -1, 0, on_adopt, m)) == NULL)
    rc = -ENOMEM;
  if (rc < 0) {
    mrt_log(MRT_LOG_ERROR, MN_LOG, "metrics endpoint unavailable addr=%s err=%s", want,
            strerror(-rc));
    if (fd >= 0 && !owned)
      close(fd);
    mn_metrics_close(m);
    return rc;
  }
  mn_accept_guard_set_cap(m->guard, MAX_CLIENTS);
  evhttp_set_bevcb(m->http, on_new_conn, m);
  evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
  evhttp_set_cb(m->http, "/metrics", on_metrics, app);
  evhttp_set_gencb(m->http, on_other, NULL);
  struct sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0)
    mn_addr_str(&bound, app->metrics_addr, sizeof app->metrics_addr);
  *out = m;
  return 0;
}

void mn_metrics_close(struct mn_metrics *m) {
  if (m == NULL)
    return;
  mn_accept_guard_free(m->guard); /* before evhttp frees the listener */
  m->guard = NULL;                /* evhttp_free runs the close callbacks */
  while (m->fresh != NULL)
    m->fresh = fresh_drop(m->fresh);
  if (m->http != NULL)
    evhttp_free(m->http);
  if (m->adopt != NULL)
    event_free(m->adopt);
  free(m);
}
