/* SPDX-License-Identifier: MIT */
/* meshrt-ctl — human-readable output of the control commands' results.
 *
 * The node's replies are JSON (see meshrt-ctl(1)); this file only formats
 * them, tolerating missing fields (an older or newer node) by printing "-".
 * --json bypasses it entirely. Single-threaded.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

const char *ctl_str(const json_t *o, const char *key, const char *dflt) {
  const json_t *v = json_object_get(o, key);
  return json_is_string(v) ? json_string_value(v) : dflt;
}

long long ctl_int(const json_t *o, const char *key) {
  return (long long)json_integer_value(json_object_get(o, key));
}

double ctl_real(const json_t *o, const char *key) {
  return json_number_value(json_object_get(o, key));
}

static void field(FILE *out, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void field(FILE *out, const char *name, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(out, "%-13s ", name);
  vfprintf(out, fmt, ap);
  fputc('\n', out);
  va_end(ap);
}

static void join_addrs(const json_t *arr, char *buf, size_t len) {
  size_t i, used = 0;
  const json_t *a;
  buf[0] = '\0';
  json_array_foreach(arr, i, a) {
    if (json_is_string(a) && used < len)
      used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", json_string_value(a));
  }
  if (buf[0] == '\0')
    snprintf(buf, len, "-");
}

/* ---- status ------------------------------------------------------------------------------ */

static void render_socket(const json_t *r, FILE *out) {
  const json_t *s = json_object_get(r, "socket");
  char buf[512];
  if (strcmp(ctl_str(s, "state", "-"), "bound") == 0)
    field(out, "socket", "%s (generation %lld)", ctl_str(s, "local", "-"),
          ctl_int(s, "generation"));
  else
    field(out, "socket", "%s %s", ctl_str(s, "state", "-"), ctl_str(s, "error", ""));
  join_addrs(json_object_get(r, "endpoints"), buf, sizeof buf);
  field(out, "endpoints", "%s", buf);
  join_addrs(json_object_get(r, "reflexive"), buf, sizeof buf);
  field(out, "reflexive", "%s", buf);
}

static void render_monitor(const json_t *m, FILE *out) {
  const char *state = ctl_str(m, "state", "-");
  field(out, "link monitor", "%s: %s (link changes %lld, rebinds %lld + %lld by operator%s)",
        ctl_str(m, "kind", "-"), state, ctl_int(m, "link_changes"),
        ctl_int(m, "rebinds_after_link_changes"), ctl_int(m, "rebinds_by_operator"),
        ctl_int(m, "rebind_failures") ? ", some failed" : "");
  if (json_object_get(m, "note") != NULL)
    field(out, "", "%s", ctl_str(m, "note", ""));
}

void ctl_render_regions(const json_t *r, FILE *out) {
  const json_t *regions = json_object_get(r, "regions");
  if (json_array_size(regions) == 0) {
    fprintf(out, "%s\n",
            ctl_int(r, "measurements") > 0 ? "no DERP region answered"
                                           : "no DERP region measured yet");
    return;
  }
  static const char *const head[] = {"REGION", "CODE", "LATENCY", "", NULL};
  ctl_table *t = ctl_table_new(head);
  size_t i;
  const json_t *g;
  json_array_foreach(regions, i, g) {
    ctl_table_row(t, "%lld\t%s\t%.1f ms\t%s", ctl_int(g, "id"), ctl_str(g, "code", "-"),
                  ctl_real(g, "latency_ms"),
                  json_is_true(json_object_get(g, "home")) ? "home" : "");
  }
  ctl_table_print(t, out);
}

/* "N peers: A with a direct path, B without", from the node's peer_summary
 * (over every peer, however few rows it sent), or counted here for a node
 * that sends no summary. Returns the total. */
static long long render_peer_summary(const json_t *r, FILE *out) {
  const json_t *peers = json_object_get(r, "peers"), *sum = json_object_get(r, "peer_summary");
  long long total = (long long)json_array_size(peers), with = 0;
  if (json_is_object(sum)) {
    total = ctl_int(sum, "total");
    with = ctl_int(sum, "with_path");
  } else {
    size_t i;
    const json_t *p;
    json_array_foreach(peers, i, p) {
      with += json_is_true(json_object_get(p, "has_path"));
    }
  }
  if (total > 0)
    field(out, "peers", "%lld: %lld with a direct path, %lld without", total, with, total - with);
  return total;
}

static void render_peers(const json_t *r, FILE *out) {
  const json_t *peers = json_object_get(r, "peers");
  long long total = render_peer_summary(r, out);
  if (total == 0) {
    fprintf(out, "no peers\n");
    return;
  }
  if (json_array_size(peers) > 0) {
    static const char *const head[] = {"PEER", "PATH", "RTT", "TRUSTED FOR", "CANDIDATES", NULL};
    ctl_table *t = ctl_table_new(head);
    size_t i;
    const json_t *p;
    json_array_foreach(peers, i, p) {
      bool up = json_is_true(json_object_get(p, "has_path"));
      if (up)
        ctl_table_row(t, "%lld\t%s\t%.3f ms\t%.1f s\t%zu", ctl_int(p, "id"),
                      ctl_str(p, "path", "-"), ctl_real(p, "rtt_ms"), ctl_real(p, "trusted_for_s"),
                      json_array_size(json_object_get(p, "candidates")));
      else
        ctl_table_row(t, "%lld\t(no direct path)\t-\t-\t%zu", ctl_int(p, "id"),
                      json_array_size(json_object_get(p, "candidates")));
    }
    ctl_table_print(t, out);
  }
  long long hidden = total - (long long)json_array_size(peers);
  if (hidden > 0)
    fprintf(out, "(%lld more not shown; meshrt-ctl status --peers all lists every peer)\n", hidden);
}

/* What DirectManager refused and learned from peers. */
static void render_probes(const json_t *p, FILE *out) {
  if (!json_is_object(p))
    return;
  const json_t *u = json_object_get(p, "endpoint_updates");
  field(out, "probes", "refused %lld unauthenticated, %lld replayed, %lld malformed",
        ctl_int(p, "rejected_unauthenticated"), ctl_int(p, "rejected_replayed"),
        ctl_int(p, "rejected_malformed"));
  field(out, "learned", "%lld candidates (%lld evicted), %lld own addresses from pongs",
        ctl_int(p, "candidates_learned"), ctl_int(p, "candidates_evicted"),
        ctl_int(p, "observed_learned"));
  field(out, "endpoint updates", "sent %lld, received %lld, refused %lld", ctl_int(u, "sent"),
        ctl_int(u, "received"), ctl_int(u, "rejected_replayed") + ctl_int(u, "rejected_unusable"));
}

/* Past this many rows the STUN table shows only the servers worth a look. */
#define STUN_ROWS_ALL 20

static bool stun_row_wanted(const json_t *g, bool all) {
  return all || ctl_int(g, "rejected") > 0 ||
         (ctl_int(g, "sent") > 0 && ctl_int(g, "answered") == 0);
}

/* Per-server STUN statistics: every server when there are few, else those
 * that refused something or never answered, so a region without a latency
 * has its explanation on screen. Nothing when the node reports none. */
static void render_stun(const json_t *r, FILE *out) {
  const json_t *rows = json_object_get(r, "stun_servers");
  size_t i, wanted = 0, n = json_array_size(rows);
  const json_t *g;
  bool all = n <= STUN_ROWS_ALL;
  json_array_foreach(rows, i, g) wanted += stun_row_wanted(g, all);
  if (n > 0)
    fputc('\n', out);
  if (wanted > 0) {
    static const char *const head[] = {"STUN SERVER", "CLIENT",   "REGION",         "SENT",
                                       "ANSWERED",    "REJECTED", "LAST REJECTION", NULL};
    ctl_table *t = ctl_table_new(head);
    json_array_foreach(rows, i, g) {
      if (stun_row_wanted(g, all))
        ctl_table_row(t, "%s\t%s\t%lld\t%lld\t%lld\t%lld\t%s", ctl_str(g, "server", "-"),
                      ctl_str(g, "client", "-"), ctl_int(g, "region"), ctl_int(g, "sent"),
                      ctl_int(g, "answered"), ctl_int(g, "rejected"),
                      ctl_str(g, "last_rejection", "-"));
    }
    ctl_table_print(t, out);
  }
  if (n > wanted)
    fprintf(out, "%zu %sSTUN servers answering normally (--json lists all)\n", n - wanted,
            wanted > 0 ? "more " : "");
  json_array_foreach(json_object_get(r, "stun_rejected_elsewhere"), i, g) {
    fprintf(out, "%s: %lld STUN datagrams from other addresses refused (last: %s)\n",
            ctl_str(g, "client", "-"), ctl_int(g, "rejected"), ctl_str(g, "last_rejection", "-"));
  }
}

void ctl_render_status(const json_t *r, FILE *out) {
  field(out, "node", "%s (pid %lld, up %.1f s, meshrt-node %s)", ctl_str(r, "mode", "-"),
        ctl_int(r, "pid"), ctl_real(r, "uptime_s"), ctl_str(r, "version", "-"));
  if (json_is_string(json_object_get(r, "config")))
    field(out, "config", "%s", ctl_str(r, "config", "-"));
  field(out, "public key", "%s", ctl_str(r, "public_key", "-"));
  render_socket(r, out);
  const json_t *home = json_object_get(r, "home_region");
  if (json_is_object(home))
    field(out, "home region", "%lld (%s)", ctl_int(home, "id"), ctl_str(home, "code", "-"));
  else
    field(out, "home region", "none yet");
  render_monitor(json_object_get(r, "link_monitor"), out);
  render_probes(json_object_get(r, "probes"), out);
  field(out, "control", "%s", ctl_str(r, "control_socket", "-"));
  field(out, "metrics", "%s", ctl_str(r, "metrics", "off"));
  fputc('\n', out);
  ctl_render_regions(r, out);
  render_stun(r, out);
  fputc('\n', out);
  render_peers(r, out);
}

/* ---- children and operator commands ------------------------------------------------------- */

void ctl_render_children(const json_t *r, FILE *out) {
  const json_t *lim = json_object_get(r, "restart_limit");
  field(out, "supervisor", "%s: %s (restarts left %lld of %lld per %.0f s)",
        ctl_str(r, "supervisor", "-"), ctl_str(r, "phase", "-"), ctl_int(lim, "remaining"),
        ctl_int(lim, "limit"), ctl_real(lim, "window_s"));
  fputc('\n', out);
  static const char *const head[] = {"CHILD",    "STATUS",   "OPERATION",    "ATTEMPT", "STARTS",
                                     "RESTARTS", "FAILURES", "LAST FAILURE", NULL};
  ctl_table *t = ctl_table_new(head);
  size_t i;
  const json_t *c;
  json_array_foreach(json_object_get(r, "children"), i, c) {
    const json_t *lf = json_object_get(c, "last_failure");
    ctl_table_row(t, "%s\t%s\t%s\t%lld\t%lld\t%lld\t%lld\t%s", ctl_str(c, "id", "-"),
                  ctl_str(c, "status", "-"), ctl_str(c, "operation", "-"), ctl_int(c, "attempt"),
                  ctl_int(c, "starts"), ctl_int(c, "restarts"), ctl_int(c, "failures"),
                  lf ? ctl_str(lf, "reason", ctl_str(lf, "exit", "-")) : "-");
  }
  ctl_table_print(t, out);
}

void ctl_render_outcome(const json_t *r, FILE *out) {
  const char *child = ctl_str(r, "child", "-");
  if (json_is_true(json_object_get(r, "idempotent")))
    fprintf(out, "%s: already %s; nothing changed\n", child, ctl_str(r, "operation_after", "-"));
  else
    fprintf(out, "%s: %s -> %s, now %s%s\n", child, ctl_str(r, "operation_before", "-"),
            ctl_str(r, "operation_after", "-"), ctl_str(r, "status", "-"),
            json_is_true(json_object_get(r, "stop_delivered")) ? " (stop delivered)" : "");
  if (json_is_string(json_object_get(r, "failure")))
    fprintf(out, "%s: stop failed: %s\n", child, ctl_str(r, "failure", ""));
}

void ctl_render_rebind(const json_t *r, FILE *out) {
  fprintf(out, "rebound: port %lld -> %lld (%s; generation %lld)\n", ctl_int(r, "old_port"),
          ctl_int(r, "new_port"), ctl_str(r, "port", "-"), ctl_int(r, "generation"));
}

/* ---- events -------------------------------------------------------------------------------- */

static void join_ints(const json_t *arr, char *buf, size_t len) {
  size_t i, used = 0;
  const json_t *v;
  buf[0] = '\0';
  json_array_foreach(arr, i, v) {
    if (used < len)
      used += (size_t)snprintf(buf + used, len - used, "%s#%lld", i ? "," : "",
                               (long long)json_integer_value(v));
  }
}

static void rebind_detail(const json_t *ev, char *buf, size_t len) {
  char links[256];
  join_ints(json_object_get(ev, "link_changes"), links, sizeof links);
  if (json_is_string(json_object_get(ev, "error")))
    snprintf(buf, len, "failed after a %s: %s", ctl_str(ev, "cause", "-"),
             ctl_str(ev, "error", "-"));
  else if (!json_is_true(json_object_get(ev, "ok")))
    snprintf(buf, len, "no new socket after a %s (still port %lld)", ctl_str(ev, "cause", "-"),
             ctl_int(ev, "new_port"));
  else
    snprintf(buf, len, "port %lld -> %lld (%s%s%s; port %s)", ctl_int(ev, "old_port"),
             ctl_int(ev, "new_port"), ctl_str(ev, "cause", "-"), links[0] ? " " : "", links,
             ctl_str(ev, "port", "-"));
}

static void regions_detail(const json_t *ev, char *buf, size_t len) {
  size_t i, used = 0;
  const json_t *g;
  buf[0] = '\0';
  json_array_foreach(json_object_get(ev, "regions"), i, g) {
    if (used < len)
      used +=
          (size_t)snprintf(buf + used, len - used, "%s%lld/%s %.1fms", i ? ", " : "",
                           ctl_int(g, "id"), ctl_str(g, "code", "-"), ctl_real(g, "latency_ms"));
  }
  if (buf[0] == '\0')
    snprintf(buf, len, "no region answered");
}

static void supervisor_detail(const json_t *ev, char *buf, size_t len) {
  const char *reason = ctl_str(ev, "reason", "");
  snprintf(buf, len, "%s/%s %s (attempt %lld, %s)%s%s", ctl_str(ev, "supervisor", "-"),
           ctl_str(ev, "child", ""), ctl_str(ev, "event", "-"), ctl_int(ev, "attempt"),
           ctl_str(ev, "status", "-"), reason[0] ? ": " : "", reason);
}

static void config_detail(const json_t *ev, char *buf, size_t len) {
  if (!json_is_true(json_object_get(ev, "ok"))) {
    snprintf(buf, len, "reload refused: %s", ctl_str(ev, "error", "-"));
    return;
  }
  char *a = json_dumps(json_object_get(ev, "applied"), JSON_COMPACT);
  char *n = json_dumps(json_object_get(ev, "needs_restart"), JSON_COMPACT);
  snprintf(buf, len, "applied %s; needs a restart %s", a ? a : "-", n ? n : "-");
  free(a);
  free(n);
}

/* One event's description, by kind. */
static void detail(const json_t *ev, char *buf, size_t len) {
  const char *kind = ctl_str(ev, "kind", "");
  if (strcmp(kind, "rebind") == 0)
    rebind_detail(ev, buf, len);
  else if (strcmp(kind, "link-change") == 0) /* where, when the node says so */
    snprintf(buf, len, "%s%s%s%s [%s]",
             ctl_str(ev, "summary", "")[0] ? ctl_str(ev, "summary", "") : ctl_str(ev, "flags", "-"),
             ctl_str(ev, "what", "")[0] ? " (" : "", ctl_str(ev, "what", ""),
             ctl_str(ev, "what", "")[0] ? ")" : "", ctl_str(ev, "source", "-"));
  else if (strcmp(kind, "supervisor") == 0)
    supervisor_detail(ev, buf, len);
  else if (strcmp(kind, "measurement") == 0)
    regions_detail(ev, buf, len);
  else if (strcmp(kind, "home-region") == 0)
    snprintf(buf, len, "%lld (%s), was %lld", ctl_int(ev, "new"), ctl_str(ev, "code", "-"),
             ctl_int(ev, "old"));
  else if (strcmp(kind, "path") == 0 && strcmp(ctl_str(ev, "state", "-"), "lost") == 0)
    snprintf(buf, len, "peer %lld lost its direct path (was %s)", ctl_int(ev, "peer"),
             ctl_str(ev, "addr", "-"));
  else if (strcmp(kind, "path") == 0 && json_is_number(json_object_get(ev, "after_rebind_s")))
    snprintf(buf, len, "peer %lld re-confirmed %.3f ms after rebind via %s", ctl_int(ev, "peer"),
             ctl_real(ev, "after_rebind_s") * 1e3, ctl_str(ev, "addr", "-"));
  else if (strcmp(kind, "path") == 0)
    snprintf(buf, len, "peer %lld %s via %s rtt %.3f ms", ctl_int(ev, "peer"),
             ctl_str(ev, "state", "-"), ctl_str(ev, "addr", "-"), ctl_real(ev, "rtt_ms"));
  else if (strcmp(kind, "socket") == 0)
    snprintf(buf, len, "%s %s", ctl_str(ev, "event", "-"), ctl_str(ev, "local", "-"));
  else if (strcmp(kind, "measure") == 0)
    snprintf(buf, len, "re-measure requested (%s)", ctl_str(ev, "cause", "-"));
  else if (strcmp(kind, "config") == 0)
    config_detail(ev, buf, len);
  else {
    char *text = json_dumps(ev, JSON_COMPACT);
    snprintf(buf, len, "%s", text ? text : "-");
    free(text);
  }
}

void ctl_render_events(const json_t *events, FILE *out) {
  if (json_array_size(events) == 0) {
    fprintf(out, "no events\n");
    return;
  }
  static const char *const head[] = {"SEQ", "TIME", "KIND", "WHAT", NULL};
  ctl_table *t = ctl_table_new(head);
  size_t i;
  const json_t *ev;
  char buf[1024];
  json_array_foreach(events, i, ev) {
    detail(ev, buf, sizeof buf);
    ctl_table_row(t, "%lld\t%s\t%s\t%s", ctl_int(ev, "seq"), ctl_str(ev, "time", "-"),
                  ctl_str(ev, "kind", "-"), buf);
  }
  ctl_table_print(t, out);
}

void ctl_render_event_line(const json_t *ev, FILE *out) {
  char buf[1024];
  detail(ev, buf, sizeof buf);
  fprintf(out, "%-5lld %s %-12s %s\n", ctl_int(ev, "seq"), ctl_str(ev, "time", "-"),
          ctl_str(ev, "kind", "-"), buf);
}
