/* SPDX-License-Identifier: MIT */
/* meshrt-node — the observer actor (see observer.h).
 *
 * Why an actor: everything it watches is actor state or bus traffic, and as
 * an actor it can subscribe, ask asynchronously and keep its bookkeeping
 * without locks. Only the view (numbers other threads read) has a mutex; the
 * journal locks itself.
 *
 * Rebinds. NetmonSupervisor answers a link change by asking DirectManager to
 * rebind and then publishing MeasureNow, so a MeasureNow that is not the
 * operator's means "a reaction just finished": the observer then asks
 * DirectManager for its socket and journals the rebind with the raw link
 * changes that led to it. The periodic poll deliberately ignores generation
 * changes of the same DirectManager (it could see a rebind before that
 * MeasureNow arrives and report it twice); it only notices a new
 * DirectManager (first start, restart) and path changes.
 *
 * Threading: handlers, timers and continuations run in the actor's context
 * on its executor. mn_observer_link_change may be called from any thread
 * (it is a tell); mn_observer_rebind from host threads (it asks).
 */
#include "observer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logsink.h"
#include "util.h"

#define POLL_PERIOD MRT_MS(250)
#define ASK_TIMEOUT MRT_SEC(3)
#define PEERS_TRACKED 64
#define PENDING_LINKS 32

/* ---- messages ----------------------------------------------------------------------- */

typedef struct obs_attach {
  mrt_ref *sup;
} obs_attach;

/* A raw link change; `change` owns its list (mrt_link_change_release). */
typedef struct obs_link {
  mrt_link_change change;
  char what[120];
  char source[16];
} obs_link;

static void attach_drop(void *p) {
  mrt_ref_unref(((obs_attach *)p)->sup);
}
static void link_drop(void *p) {
  mrt_link_change_release(&((obs_link *)p)->change);
}

MRT_MESSAGE_DECLARE(, obs_attach, obs_attach, mrt_none);
MRT_MESSAGE_DECLARE(, obs_link, obs_link, mrt_none);
MRT_MESSAGE_DECLARE(, obs_rebind, mrt_none, mn_rebind_result);
MRT_MESSAGE_DEFINE(obs_attach, obs_attach, mrt_none, attach_drop, NULL);
MRT_MESSAGE_DEFINE(obs_link, obs_link, mrt_none, link_drop, NULL);
MRT_MESSAGE_DEFINE(obs_rebind, mrt_none, mn_rebind_result, NULL, NULL);

/* ---- state --------------------------------------------------------------------------- */

typedef struct peer_track {
  uint64_t id;
  bool has_path;
  struct sockaddr_storage best;
  uint64_t reconfirms; /* DirectManager's count of re-confirmations after rebinds */
} peer_track;

typedef struct obs {
  mn_observer_args a;
  mrt_ref *sup, *direct;
  mrt_derp_map *map;     /* the DERP map in force (for region codes), or NULL */
  uint64_t direct_id;    /* actor id of the DirectManager whose socket we reported */
  uint64_t gen_reported; /* its socket generation as last journalled */
  uint16_t port_reported;
  bool polling;
  mrt_reply *op_reply; /* an operator rebind in progress */
  size_t n_peers;
  peer_track peers[PEERS_TRACKED];
  size_t n_pending; /* raw link changes not yet answered by a rebind */
  uint64_t pending[PENDING_LINKS];
  uint64_t dropped_reported; /* view.link_changes_dropped already logged */
} obs;

/* What to do once DirectManager's current ref is known. */
enum then { THEN_POLL = 1, THEN_CHECK = 2, THEN_OP_REBIND = 3 };

void mn_view_init(mn_view *v) {
  memset(v, 0, sizeof *v);
  pthread_mutex_init(&v->mu, NULL);
}

void mn_view_destroy(mn_view *v) {
  pthread_mutex_destroy(&v->mu);
}

void mn_view_note_dropped_link(mn_view *v) {
  pthread_mutex_lock(&v->mu);
  v->d.link_changes_dropped++;
  pthread_mutex_unlock(&v->mu);
}

void mn_view_get(mn_view *v, mn_view_data *out) {
  pthread_mutex_lock(&v->mu);
  *out = v->d;
  pthread_mutex_unlock(&v->mu);
}

static double ms_of(uint64_t ns) {
  return (double)ns / 1e6;
}

static void journal(obs *o, const char *kind, json_t *fields) {
  mn_journal_append(o->a.journal, kind, fields);
}

/* ---- sockets and rebinds -------------------------------------------------------------- */

/* A DirectManager we have not reported yet (first start or a restart). */
static void note_new_direct(obs *o, uint64_t actor_id, const mrt_sock_info *si) {
  bool restart = o->direct_id != 0;
  char a[MN_ADDR_STR_MAX];
  o->direct_id = actor_id;
  o->gen_reported = si->generation;
  o->port_reported = si->port;
  mn_addr_str(&si->local, a, sizeof a);
  mrt_log(MRT_LOG_INFO, MN_LOG, "%s socket %s port=%u",
          restart ? "DirectManager restarted, bound" : "bound",
          si->inert ? "(none: relay-only)" : a, si->port);
  journal(o, "socket",
          json_pack("{s:s, s:s, s:i, s:b, s:b}", "event", restart ? "restarted" : "bound", "local",
                    a, "port", (int)si->port, "inert", si->inert, "dual_stack", si->dual_stack));
  pthread_mutex_lock(&o->a.view->mu);
  o->a.view->d.bound = !si->inert;
  o->a.view->d.port = si->port;
  o->a.view->d.generation = si->generation;
  pthread_mutex_unlock(&o->a.view->mu);
}

static json_t *pending_links(obs *o) {
  json_t *arr = json_array();
  for (size_t i = 0; i < o->n_pending; i++)
    json_array_append_new(arr, json_integer((json_int_t)o->pending[i]));
  o->n_pending = 0;
  return arr;
}

void mn_port_note(const mrt_sock_info *si, uint16_t old_port, char *buf, size_t len) {
  if (si->port_outcome == MRT_PORT_CHANGED && si->port_error != 0)
    snprintf(buf, len, "changed: port %u unavailable (%s)", old_port, mrt_strerror(si->port_error));
  else
    snprintf(buf, len, "%s", mrt_port_outcome_name(si->port_outcome));
}

/* A rebind of the DirectManager we know: journal it with its cause. */
static void note_rebind(obs *o, const mrt_sock_info *si, const char *cause) {
  bool changed = si->generation != o->gen_reported;
  uint16_t old_port = o->port_reported;
  bool link = strcmp(cause, "link-change") == 0;
  char note[96];
  mn_port_note(si, old_port, note, sizeof note);
  json_t *ev = json_pack("{s:s, s:b, s:i, s:i, s:I, s:s}", "cause", cause, "ok", changed,
                         "old_port", (int)old_port, "new_port", (int)si->port, "generation",
                         (json_int_t)si->generation, "port", changed ? note : "unchanged");
  if (link)
    json_object_set_new(ev, "link_changes", pending_links(o));
  journal(o, "rebind", ev);
  mrt_log(changed ? MRT_LOG_INFO : MRT_LOG_WARN, MN_LOG, "%s -> rebind%s: port %u -> %u (%s)",
          link ? "link change" : "operator request", changed ? "" : " did not take effect",
          old_port, si->port, changed ? note : "old socket kept");
  o->gen_reported = si->generation;
  o->port_reported = si->port;
  pthread_mutex_lock(&o->a.view->mu);
  o->a.view->d.port = si->port;
  o->a.view->d.generation = si->generation;
  if (!changed)
    o->a.view->d.rebind_failures++;
  else if (link)
    o->a.view->d.rebinds_link++;
  else
    o->a.view->d.rebinds_operator++;
  pthread_mutex_unlock(&o->a.view->mu);
}

static int on_checked(mrt_actor *self, void *state, int status, const void *reply, void *ud) {
  (void)ud;
  obs *o = state;
  if (status < 0 || reply == NULL) {
    mrt_log(MRT_LOG_WARN, MN_LOG, "after a link change: DirectManager unreachable err=%s",
            mrt_strerror(status));
    journal(o, "rebind",
            json_pack("{s:s, s:b, s:s, s:o}", "cause", "link-change", "ok", 0, "error",
                      mrt_strerror(status), "link_changes", pending_links(o)));
    return 0;
  }
  if (mrt_ref_id(o->direct) != o->direct_id) {
    /* DirectManager was restarted and rebound before the poll noticed: the
     * rebind is still the answer to the link change, from the old socket's
     * port to the new one. */
    uint16_t old_port = o->port_reported;
    note_new_direct(o, mrt_ref_id(o->direct), reply);
    o->port_reported = old_port;
    o->gen_reported = 0; /* generations start at 1: this counts as a change */
  }
  note_rebind(o, reply, "link-change");
  return 0;
}

static int on_op_rebound(mrt_actor *self, void *state, int status, const void *reply, void *ud) {
  (void)ud;
  obs *o = state;
  mrt_reply *r = o->op_reply;
  o->op_reply = NULL;
  if (status < 0 || reply == NULL) {
    if (r != NULL)
      mrt_reply_error(r, status < 0 ? status : -EIO);
    return 0;
  }
  const mrt_sock_info *si = reply;
  mn_rebind_result res = {
      .old_port = o->port_reported, .new_port = si->port, .generation = si->generation};
  mn_port_note(si, o->port_reported, res.port_note, sizeof res.port_note);
  note_rebind(o, si, "operator");
  if (r != NULL)
    MRT_REPLY(obs_rebind, r, &res);
  return 0;
}

/* Before an operator rebind of a DirectManager we have not seen yet (it was
 * restarted since the last poll): note its socket first, so the rebind is
 * reported from its own old port. */
static int on_op_sock(mrt_actor *self, void *state, int status, const void *reply, void *ud) {
  (void)ud;
  obs *o = state;
  if (status >= 0 && reply != NULL)
    note_new_direct(o, mrt_ref_id(o->direct), reply);
  int rc = status < 0 ? status
                      : MRT_ASK(direct_rebind, self, o->direct, &(mrt_none){0}, ASK_TIMEOUT,
                                on_op_rebound, NULL);
  if (rc < 0)
    on_op_rebound(self, o, rc, NULL, NULL);
  return 0;
}

/* ---- paths ------------------------------------------------------------------------------- */

static peer_track *track_of(obs *o, uint64_t id) {
  for (size_t i = 0; i < o->n_peers; i++)
    if (o->peers[i].id == id)
      return &o->peers[i];
  if (o->n_peers == PEERS_TRACKED)
    return NULL;
  peer_track *t = &o->peers[o->n_peers++];
  memset(t, 0, sizeof *t);
  t->id = id;
  return t;
}

/* A path confirmed again after our rebind: how long that took, in the
 * journal (the operator's "did the rebind hurt?"). */
static void note_reconfirm(obs *o, peer_track *t, const mrt_direct_peer_status *p) {
  bool news = p->reconfirms > t->reconfirms; /* fewer: a restarted DirectManager */
  t->reconfirms = p->reconfirms;
  if (!news)
    return;
  char a[MN_ADDR_STR_MAX];
  mn_addr_str(&p->best, a, sizeof a);
  double s = (double)p->reconfirm_ns / 1e9;
  mrt_log(MRT_LOG_INFO, MN_LOG, "peer %llu: re-confirmed %.3f ms after rebind via %s",
          (unsigned long long)p->id, s * 1e3, p->has_path ? a : "-");
  journal(o, "path",
          json_pack("{s:I, s:s, s:s, s:f, s:f}", "peer", (json_int_t)p->id, "state", "re-confirmed",
                    "addr", p->has_path ? a : "-", "after_rebind_s", s, "rtt_ms",
                    p->has_path ? ms_of(p->best_rtt_ns) : 0.0));
}

static void note_peer(obs *o, const mrt_direct_peer_status *p) {
  peer_track *t = track_of(o, p->id);
  if (t == NULL)
    return;
  note_reconfirm(o, t, p);
  bool moved = p->has_path && t->has_path && memcmp(&p->best, &t->best, sizeof p->best) != 0;
  if (p->has_path == t->has_path && !moved)
    return;
  const char *what = !p->has_path ? "lost" : moved ? "changed" : "confirmed";
  char a[MN_ADDR_STR_MAX];
  mn_addr_str(p->has_path ? &p->best : &t->best, a, sizeof a);
  if (p->has_path)
    mrt_log(MRT_LOG_INFO, MN_LOG, "peer %llu: direct path %s via %s rtt=%.3fms",
            (unsigned long long)p->id, what, a, ms_of(p->best_rtt_ns));
  else
    mrt_log(MRT_LOG_INFO, MN_LOG, "peer %llu: direct path lost (was %s)", (unsigned long long)p->id,
            a);
  journal(o, "path",
          json_pack("{s:I, s:s, s:s, s:f}", "peer", (json_int_t)p->id, "state", what, "addr", a,
                    "rtt_ms", p->has_path ? ms_of(p->best_rtt_ns) : 0.0));
  t->has_path = p->has_path;
  t->best = p->best;
  pthread_mutex_lock(&o->a.view->mu);
  o->a.view->d.path_changes++;
  pthread_mutex_unlock(&o->a.view->mu);
}

static int on_polled(mrt_actor *self, void *state, int status, const void *reply, void *ud) {
  (void)self;
  (void)ud;
  obs *o = state;
  o->polling = false;
  if (status < 0 || reply == NULL)
    return 0;
  const mrt_direct_status *s = *(mrt_direct_status *const *)reply;
  if (s == NULL)
    return 0;
  if (mrt_ref_id(o->direct) != o->direct_id)
    note_new_direct(o, mrt_ref_id(o->direct), &s->sock);
  for (size_t i = 0; i < s->n_peers; i++)
    note_peer(o, &s->peers[i]);
  return 0;
}

/* ---- finding DirectManager ---------------------------------------------------------------- */

static void run_then(mrt_actor *self, obs *o, enum then t) {
  bool alive = o->direct != NULL && mrt_ref_alive(o->direct);
  int rc = -ESRCH;
  if (t == THEN_POLL && alive)
    rc = MRT_ASK(direct_state, self, o->direct, &(mrt_none){0}, ASK_TIMEOUT, on_polled, NULL);
  else if (t == THEN_CHECK && alive)
    rc = MRT_ASK(direct_sock_info, self, o->direct, &(mrt_none){0}, ASK_TIMEOUT, on_checked, NULL);
  else if (t == THEN_OP_REBIND && alive && mrt_ref_id(o->direct) != o->direct_id)
    rc = MRT_ASK(direct_sock_info, self, o->direct, &(mrt_none){0}, ASK_TIMEOUT, on_op_sock, NULL);
  else if (t == THEN_OP_REBIND && alive)
    rc = MRT_ASK(direct_rebind, self, o->direct, &(mrt_none){0}, ASK_TIMEOUT, on_op_rebound, NULL);
  if (rc == 0)
    return;
  /* The continuation will not run: settle here what it would have. */
  if (t == THEN_POLL)
    o->polling = false;
  else if (t == THEN_CHECK)
    on_checked(self, o, rc, NULL, NULL);
  else
    on_op_rebound(self, o, rc, NULL, NULL);
}

static int on_direct_found(mrt_actor *self, void *state, int status, const void *reply, void *ud) {
  obs *o = state;
  const mrt_supervisor_child_reply *cr = reply;
  if (status >= 0 && cr != NULL && cr->ref != NULL) {
    mrt_ref_unref(o->direct);
    o->direct = mrt_ref_ref(cr->ref); /* the reply's reference lives only during this call */
  }
  run_then(self, o, (enum then)(uintptr_t)ud);
  return 0;
}

static void with_direct(mrt_actor *self, obs *o, enum then t) {
  if ((o->direct == NULL || !mrt_ref_alive(o->direct)) && o->sup != NULL) {
    mrt_supervisor_child_query q;
    memset(&q, 0, sizeof q);
    snprintf(q.id, sizeof q.id, "%s", MRT_NODE_CHILD_DIRECT);
    if (MRT_ASK(supervisor_child, self, o->sup, &q, ASK_TIMEOUT, on_direct_found,
                (void *)(uintptr_t)t) == 0)
      return;
  }
  run_then(self, o, t);
}

/* Raw link changes our full mailbox refused (counted by the senders in the
 * view): one warning per batch, from the next link change or poll. */
static void report_dropped_links(obs *o) {
  pthread_mutex_lock(&o->a.view->mu);
  uint64_t dropped = o->a.view->d.link_changes_dropped;
  pthread_mutex_unlock(&o->a.view->mu);
  if (dropped <= o->dropped_reported)
    return;
  mrt_log(MRT_LOG_WARN, MN_LOG, "%llu raw link changes were not journalled: the observer was busy",
          (unsigned long long)(dropped - o->dropped_reported));
  o->dropped_reported = dropped;
}

static int on_poll_timer(mrt_actor *self, void *state, void *ud) {
  (void)ud;
  obs *o = state;
  report_dropped_links(o);
  if (o->sup == NULL || o->polling)
    return 0;
  o->polling = true;
  with_direct(self, o, THEN_POLL);
  return 0;
}

/* ---- bus messages ------------------------------------------------------------------------- */

static const char *region_code(const obs *o, int id) {
  const mrt_derp_region *r = mrt_derp_map_find_region(o->map, id);
  return r != NULL ? r->region_code : "";
}

static int on_derp_map(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)r;
  obs *o = state;
  mrt_derp_map_unref(o->map);
  /* The message owns its reference only until we return. */
  o->map = mrt_derp_map_ref(((const mrt_derp_map_update *)p)->map);
  return 0;
}

static int on_measurement(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)r;
  obs *o = state;
  const mrt_derp_latency_measurement *m = p;
  char text[512];
  size_t len = 0;
  json_t *regions = json_array();
  pthread_mutex_lock(&o->a.view->mu);
  mn_view_data *d = &o->a.view->d;
  d->rounds++;
  d->n_regions = m->n < MN_VIEW_REGIONS_MAX ? m->n : MN_VIEW_REGIONS_MAX;
  for (size_t i = 0; i < d->n_regions; i++) {
    const mrt_derp_region_result *res = &m->results[i];
    d->regions[i].id = res->region_id;
    d->regions[i].latency_ns = res->latency_ns;
    snprintf(d->regions[i].code, sizeof d->regions[i].code, "%s", res->region_code);
    if (len < sizeof text)
      len += (size_t)snprintf(text + len, sizeof text - len, "%s%d/%s %.1fms", i ? ", " : "",
                              res->region_id, res->region_code, ms_of(res->latency_ns));
    json_array_append_new(regions,
                          json_pack("{s:i, s:s, s:f}", "id", res->region_id, "code",
                                    res->region_code, "latency_ms", ms_of(res->latency_ns)));
  }
  pthread_mutex_unlock(&o->a.view->mu);
  mrt_log(MRT_LOG_INFO, MN_LOG, "region latencies: %s", m->n ? text : "(no region answered)");
  journal(o, "measurement", json_pack("{s:o}", "regions", regions));
  return 0;
}

static int on_home(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)r;
  obs *o = state;
  const mrt_home_region_changed *h = p;
  const char *code = region_code(o, h->new_region);
  pthread_mutex_lock(&o->a.view->mu);
  o->a.view->d.home_region = h->new_region;
  o->a.view->d.home_changes++;
  pthread_mutex_unlock(&o->a.view->mu);
  if (h->new_region != 0)
    mrt_log(MRT_LOG_INFO, MN_LOG, "home region: %d (%s)%s", h->new_region, code,
            h->old_region ? " (changed)" : "");
  else
    mrt_log(MRT_LOG_WARN, MN_LOG, "no home region: no DERP region answers");
  journal(o, "home-region",
          json_pack("{s:i, s:i, s:s}", "old", h->old_region, "new", h->new_region, "code", code));
  return 0;
}

static int on_measure_now(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)r;
  obs *o = state;
  /* The operator's own MeasureNow is journalled by the control socket. */
  if (((const mrt_measure_now *)p)->reason != MN_MEASURE_OPERATOR)
    with_direct(self, o, THEN_CHECK);
  return 0;
}

static int on_sup_event(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)r;
  obs *o = state;
  const mrt_supervisor_event *ev = p;
  json_t *f = json_pack("{s:s, s:s, s:s, s:I, s:s}", "supervisor", ev->supervisor, "event",
                        mrt_supervisor_event_kind_name(ev->kind), "child", ev->child_id, "attempt",
                        (json_int_t)ev->attempt, "status", mrt_child_status_name(ev->status));
  if (ev->reason[0] != '\0')
    json_object_set_new(f, "reason", json_string(ev->reason));
  if (ev->error != 0)
    json_object_set_new(f, "error", json_string(mrt_strerror(ev->error)));
  if (ev->command != MRT_CHILD_CMD_NONE)
    json_object_set_new(f, "command", json_string(mrt_child_command_name(ev->command)));
  if (ev->kind == MRT_SUP_EV_FAILED || ev->kind == MRT_SUP_EV_EXITED ||
      ev->kind == MRT_SUP_EV_STOPPED || ev->kind == MRT_SUP_EV_ESCALATED)
    json_object_set_new(f, "exit", json_string(mrt_exit_kind_name(ev->exit_kind)));
  journal(o, "supervisor", f);
  pthread_mutex_lock(&o->a.view->mu);
  o->a.view->d.supervisor_events++;
  pthread_mutex_unlock(&o->a.view->mu);
  return 0;
}

/* ---- our own messages ---------------------------------------------------------------------- */

static int on_attach(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)r;
  obs *o = state;
  if (o->sup != NULL)
    return 0;
  o->sup = mrt_ref_ref(((const obs_attach *)p)->sup);
  on_poll_timer(self, o, NULL);
  return mrt_timer_start(self, POLL_PERIOD, POLL_PERIOD, on_poll_timer, NULL, NULL);
}

/* One change for the journal: its kind, interface and address (or where the
 * default route went) as separate fields for scripts, and the text. Names
 * are escaped: they are the kernel's (or an operator's) bytes, and JSON must
 * carry neither control characters nor invalid UTF-8. */
static json_t *change_json(const mrt_link_change_item *it) {
  char kind[64], text[256], name[64];
  mrt_link_change_flags_str(it->flags & ~MRT_LINK_CHANGE_RESYNC, kind, sizeof kind);
  json_t *j = json_pack("{s:s, s:s}", "change", kind, "text",
                        mrt_link_change_item_str(it, text, sizeof text));
  if (j == NULL)
    return NULL;
  if (it->ifname[0] != '\0')
    json_object_set_new(j, "interface",
                        json_string(mrt_link_ifname_str(it->ifname, name, sizeof name)));
  if (it->old_ifname[0] != '\0')
    json_object_set_new(j, "was",
                        json_string(mrt_link_ifname_str(it->old_ifname, name, sizeof name)));
  if (it->family == AF_INET || it->family == AF_INET6)
    json_object_set_new(j, "family", json_string(it->family == AF_INET ? "inet" : "inet6"));
  char addr[INET6_ADDRSTRLEN];
  if ((it->flags & (MRT_LINK_CHANGE_ADDR_ADDED | MRT_LINK_CHANGE_ADDR_REMOVED)) &&
      (it->family == AF_INET || it->family == AF_INET6) &&
      inet_ntop(it->family, it->addr, addr, sizeof addr) != NULL) {
    char a[INET6_ADDRSTRLEN + 8];
    snprintf(a, sizeof a, "%s/%u", addr, (unsigned)it->prefixlen);
    json_object_set_new(j, "address", json_string(a));
  }
  if (it->flags & MRT_LINK_CHANGE_RESYNC)
    json_object_set_new(j, "resync", json_true());
  return j;
}

static json_t *changes_json(const mrt_link_change *c) {
  json_t *arr = json_array();
  for (uint32_t i = 0; arr != NULL && i < c->n_changes && c->changes != NULL; i++)
    json_array_append_new(arr, change_json(&c->changes[i]));
  return arr;
}

static int on_link(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)r;
  obs *o = state;
  const obs_link *l = p;
  char flags[128], list[2048];
  mrt_link_change_flags_str(l->change.flags, flags, sizeof flags);
  mrt_link_change_list_str(&l->change, list, sizeof list);
  mrt_log(MRT_LOG_INFO, MN_LOG, "link change: %s%s%s%s", list[0] ? list : flags,
          l->what[0] ? " (" : "", l->what, l->what[0] ? ")" : "");
  json_t *ev = json_pack("{s:s, s:s, s:s, s:o, s:I, s:s}", "flags", flags, "what", l->what,
                         "source", l->source, "changes", changes_json(&l->change), "more_changes",
                         (json_int_t)l->change.more_changes, "summary", list);
  uint64_t seq = mn_journal_append(o->a.journal, "link-change", ev);
  if (seq != 0 && o->n_pending < PENDING_LINKS)
    o->pending[o->n_pending++] = seq;
  pthread_mutex_lock(&o->a.view->mu);
  o->a.view->d.link_changes++;
  pthread_mutex_unlock(&o->a.view->mu);
  report_dropped_links(o);
  return 0;
}

static int on_rebind_request(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)p;
  obs *o = state;
  if (r == NULL)
    return 0;
  if (o->op_reply != NULL) { /* one at a time; the operator may retry */
    mrt_reply_error(r, -EBUSY);
    return 0;
  }
  o->op_reply = mrt_reply_defer(r);
  with_direct(self, o, THEN_OP_REBIND);
  return 0;
}

static void on_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)self;
  (void)why;
  obs *o = state;
  o->direct = mrt_ref_unref(o->direct);
  o->sup = mrt_ref_unref(o->sup);
  o->map = mrt_derp_map_unref(o->map);
}

static int on_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  obs *o = state;
  o->a = *(const mn_observer_args *)args;
  return 0;
}

static const mrt_handler_entry handlers[] = {{&mrt_msg_derp_latency_measurement, on_measurement},
                                             {&mrt_msg_home_region_changed, on_home},
                                             {&mrt_msg_measure_now, on_measure_now},
                                             {&mrt_msg_supervisor_event, on_sup_event},
                                             {&mrt_msg_derp_map_update, on_derp_map},
                                             {&mrt_msg_obs_attach, on_attach},
                                             {&mrt_msg_obs_link, on_link},
                                             {&mrt_msg_obs_rebind, on_rebind_request},
                                             {NULL, NULL}};

static const mrt_actor_class observer_class = {
    .name = "observer",
    .state_size = sizeof(obs),
    .args_size = sizeof(mn_observer_args),
    .on_start = on_start,
    .on_stop = on_stop,
    .handlers = handlers,
};

/* ---- API ------------------------------------------------------------------------------------ */

int mn_observer_spawn(mrt_runtime *rt, const mn_observer_args *args, mrt_ref **out) {
  mrt_ref *ref = NULL;
  mrt_spawn_opts opts = {.executor = MRT_EXECUTOR_AUTO,
                         .mailbox_capacity = MN_OBSERVER_MAILBOX_CAPACITY};
  int rc = mrt_actor_spawn(rt, &observer_class, args, &opts, &ref);
  mrt_bus *bus = mrt_runtime_bus(rt);
  if (rc == 0)
    rc = mrt_node_bus_configure(bus);
  const mrt_msg_type *types[] = {&mrt_msg_derp_latency_measurement, &mrt_msg_home_region_changed,
                                 &mrt_msg_measure_now, &mrt_msg_supervisor_event,
                                 &mrt_msg_derp_map_update};
  for (size_t i = 0; rc == 0 && i < sizeof types / sizeof *types; i++)
    rc = mrt_bus_subscribe(bus, types[i], ref);
  if (rc < 0) {
    if (ref != NULL)
      mrt_actor_stop(ref);
    mrt_ref_unref(ref);
    return rc;
  }
  *out = ref;
  return 0;
}

int mn_observer_attach(mrt_ref *observer, mrt_ref *sup) {
  obs_attach a = {mrt_ref_ref(sup)};
  int rc = MRT_TELL(obs_attach, observer, &a);
  /* Without the attach nothing is polled: wait for room (a host thread;
   * the boot's supervision events drain in milliseconds). */
  for (int i = 0; rc == -EAGAIN && i < 500; i++) {
    nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    rc = MRT_TELL(obs_attach, observer, &a);
  }
  if (rc < 0)
    mrt_ref_unref(a.sup); /* a failed send leaves ownership with us */
  return rc;
}

int mn_observer_link_change(mrt_ref *observer, const mrt_link_change *change, const char *what,
                            const char *source) {
  obs_link l;
  memset(&l, 0, sizeof l);
  /* Our own copy: the caller's list is only borrowed. Without memory the
   * change is still journalled, its items counted instead of listed. */
  if (mrt_link_change_copy(&l.change, change) == -EINVAL)
    return -EINVAL;
  snprintf(l.what, sizeof l.what, "%s", what ? what : "");
  snprintf(l.source, sizeof l.source, "%s", source ? source : "");
  int rc = MRT_TELL(obs_link, observer, &l);
  if (rc < 0)
    mrt_link_change_release(&l.change); /* a failed send leaves it with us */
  return rc;
}

int mn_observer_rebind(mrt_ref *observer, mn_rebind_result *out) {
  return MRT_ASK_SYNC(obs_rebind, observer, &(mrt_none){0}, out, MRT_SEC(5));
}
