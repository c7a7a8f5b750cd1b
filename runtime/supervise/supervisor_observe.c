/* SPDX-License-Identifier: MIT */
/* meshrt — supervisor observability: events, restart limit, state snapshots,
 * metrics and their Prometheus rendering.
 *
 * Every transition becomes an event with a per-supervisor sequence number. It
 * goes to a bounded ring (the journal; the oldest is overwritten, and readers
 * learn how many they missed) and to the runtime's bus, so operators and other
 * actors can follow every supervisor without polling. State, events and
 * metrics are answered to asks with freshly allocated snapshots that the
 * reply owns, so a reader never sees the supervisor's memory and a reader that
 * gave up (timed out) leaks nothing: the reply's drop hook frees it.
 *
 * Threads: the handlers and event functions run in the supervisor's context;
 * mrt_supervisor_metrics_render and the free functions are pure (any thread).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor_internal.h"

/* ---- events ---------------------------------------------------------------------- */

int mrt__sup_journal_init(mrt__sup *sup) {
  sup->journal = calloc(sup->def->journal_capacity, sizeof *sup->journal);
  return sup->journal != NULL ? 0 : -ENOMEM;
}

void mrt__sup_event_init(mrt__sup *sup, const mrt__child *c, mrt_supervisor_event_kind kind,
                         mrt_supervisor_event *ev) {
  memset(ev, 0, sizeof *ev);
  ev->at_ns = mrt__sup_now(sup);
  ev->supervisor_id = mrt_ref_id(sup->self);
  snprintf(ev->supervisor, sizeof ev->supervisor, "%s", sup->def->name);
  ev->kind = kind;
  ev->command = sup->cur_command;
  ev->command_id = sup->cur_command_id;
  ev->stop_state = MRT_STOP_NONE;
  if (c == NULL)
    return;
  snprintf(ev->child_id, sizeof ev->child_id, "%s", c->def.id);
  /* The running attempt, or the one that just ended (exit events). */
  ev->attempt = c->attempt;
  ev->generation = c->generation;
  ev->status = c->status;
  ev->operation_from = ev->operation_to = c->operation;
  ev->stop_state = c->stop_state;
}

void mrt__sup_event_commit(mrt__sup *sup, mrt_supervisor_event *ev) {
  ev->seq = ++sup->seq;
  uint32_t cap = sup->def->journal_capacity;
  sup->journal[(sup->j_head + sup->j_len) % cap] = *ev;
  if (sup->j_len < cap)
    sup->j_len++;
  else
    sup->j_head = (sup->j_head + 1) % cap; /* overwrote the oldest */
  mrt_log(MRT_LOG_DEBUG, MRT__SUP_LOG, "event seq=%llu supervisor=%s kind=%s child=%s",
          (unsigned long long)ev->seq, ev->supervisor, mrt_supervisor_event_kind_name(ev->kind),
          ev->child_id);
  mrt_bus *bus = mrt_runtime_bus(mrt_actor_runtime(sup->self));
  if (bus != NULL)
    mrt_bus_publish(bus, &mrt_msg_supervisor_event, ev, sizeof *ev);
}

void mrt__sup_emit(mrt__sup *sup, const mrt__child *c, mrt_supervisor_event_kind kind) {
  mrt_supervisor_event ev;
  mrt__sup_event_init(sup, c, kind, &ev);
  mrt__sup_event_commit(sup, &ev);
}

static int copy_events(mrt__sup *sup, uint64_t after, mrt_supervisor_event_list **out) {
  uint32_t cap = sup->def->journal_capacity;
  uint64_t first = sup->seq - sup->j_len + 1; /* oldest seq still kept */
  uint64_t from = after + 1 > first ? after + 1 : first;
  size_t n = from <= sup->seq ? (size_t)(sup->seq - from + 1) : 0;
  mrt_supervisor_event_list *l = malloc(sizeof *l + n * sizeof l->events[0]);
  if (l == NULL)
    return -ENOMEM;
  l->last_seq = sup->seq;
  l->dropped = first > after + 1 ? first - (after + 1) : 0;
  l->n = n;
  for (size_t i = 0; i < n; i++)
    l->events[i] = sup->journal[(sup->j_head + (from - first) + i) % cap];
  *out = l;
  return 0;
}

int mrt__sup_on_events(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)self;
  mrt__sup_heal(state);
  if (reply == NULL)
    return 0;
  const mrt_supervisor_events_query *q = payload;
  mrt_supervisor_events_reply r = {NULL};
  int rc = copy_events(state, q->after_seq, &r.list);
  return rc < 0 ? mrt_reply_error(reply, rc) : MRT_REPLY(supervisor_events, reply, &r);
}

/* ---- restart limit ----------------------------------------------------------------- */

void mrt__sup_limit_state(mrt__sup *sup, mrt_restart_limit_state *out) {
  uint64_t now = mrt__sup_now(sup), window = sup->def->window_ns;
  uint32_t max = sup->def->max_restarts;
  /* Restarts older than the window no longer count. */
  while (sup->limit_len > 0 && now - sup->limit_at[sup->limit_head] >= window) {
    sup->limit_head = (sup->limit_head + 1) % max;
    sup->limit_len--;
  }
  *out = (mrt_restart_limit_state){
      .limit = max,
      .used = sup->limit_len,
      .remaining = max - sup->limit_len,
      .exhausted = sup->limit_len >= max,
      .window_ns = window,
      .updated_at_ns = sup->limit_updated_ns,
  };
}

/* ---- state ------------------------------------------------------------------------- */

void mrt__sup_fill_record(mrt__sup *sup, const mrt__child *c, uint64_t now, mrt_child_record *r) {
  memset(r, 0, sizeof *r);
  snprintf(r->id, sizeof r->id, "%s", c->def.id);
  r->restart = c->def.restart;
  r->active = c->ref != NULL;
  if (r->active) {
    r->actor_id = c->actor_id;
    r->attempt = c->attempt;
    r->generation = c->generation;
  }
  r->status = c->status;
  r->operation = c->operation;
  r->readiness = c->readiness;
  r->has_heartbeat = r->active && c->has_heartbeat;
  r->heartbeat_stale_threshold_ns = c->def.stale_ns;
  if (r->has_heartbeat) {
    r->last_heartbeat_ns = c->last_heartbeat_ns;
    r->heartbeat_age_ns = now - c->last_heartbeat_ns;
    r->heartbeat_stale = c->def.stale_ns > 0 && r->heartbeat_age_ns >= c->def.stale_ns;
  }
  mrt__sup_limit_state(sup, &r->restart_limit);
  mrt_backoff_state(&c->backoff, now, &r->backoff);
  mrt_backoff_next_window(&c->backoff, &r->next_backoff_ns);
  r->stop_state = c->stop_state;
  if (!r->active && c->stop_state == MRT_STOP_NONE)
    r->stop_state = MRT_STOP_NO_ACTIVE_ATTEMPT;
  r->has_stop_failure = c->has_stop_failure;
  r->stop_failure = c->stop_failure;
  r->has_last_failure = c->has_last_failure;
  r->last_failure = c->last_failure;
  r->starts = c->starts;
  r->restarts = c->restarts;
  r->failures = c->failures;
}

static mrt_supervisor_state *snapshot(mrt__sup *sup) {
  mrt_supervisor_state *st = malloc(sizeof *st + sup->n * sizeof st->children[0]);
  if (st == NULL)
    return NULL;
  uint64_t now = mrt__sup_now(sup);
  memset(st, 0, sizeof *st);
  snprintf(st->name, sizeof st->name, "%s", sup->def->name);
  st->actor_id = mrt_ref_id(sup->self);
  st->strategy = sup->def->strategy;
  st->phase = sup->phase;
  st->now_ns = now;
  st->generation = sup->generation;
  st->last_event_seq = sup->seq;
  mrt__sup_limit_state(sup, &st->restart_limit);
  st->n_children = sup->n;
  for (size_t i = 0; i < sup->n; i++)
    mrt__sup_fill_record(sup, sup->children[i], now, &st->children[i]);
  return st;
}

int mrt__sup_on_state(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)self;
  (void)payload;
  mrt__sup_heal(state);
  if (reply == NULL)
    return 0;
  mrt_supervisor_state_reply r = {snapshot(state)};
  return r.state == NULL ? mrt_reply_error(reply, -ENOMEM) : MRT_REPLY(supervisor_state, reply, &r);
}

void mrt_supervisor_state_free(mrt_supervisor_state *state) {
  free(state);
}

const mrt_child_record *mrt_supervisor_state_find(const mrt_supervisor_state *state,
                                                  const char *id) {
  if (state == NULL || id == NULL)
    return NULL;
  for (size_t i = 0; i < state->n_children; i++)
    if (strcmp(state->children[i].id, id) == 0)
      return &state->children[i];
  return NULL;
}

void mrt_supervisor_event_list_free(mrt_supervisor_event_list *list) {
  free(list);
}

/* ---- metrics ----------------------------------------------------------------------- */

static mrt_supervisor_metrics *metrics_snapshot(mrt__sup *sup) {
  mrt_supervisor_metrics *m = malloc(sizeof *m + sup->n * sizeof m->children[0]);
  if (m == NULL)
    return NULL;
  memset(m, 0, sizeof *m);
  snprintf(m->name, sizeof m->name, "%s", sup->def->name);
  m->restarts = sup->restarts;
  m->escalations = sup->escalations;
  m->events = sup->seq;
  memcpy(m->operations, sup->operations, sizeof m->operations);
  mrt_restart_limit_state lim;
  mrt__sup_limit_state(sup, &lim);
  m->limit = lim.limit;
  m->limit_remaining = lim.remaining;
  m->n_children = sup->n;
  for (size_t i = 0; i < sup->n; i++) {
    const mrt__child *c = sup->children[i];
    mrt_child_metrics *cm = &m->children[i];
    memset(cm, 0, sizeof *cm);
    snprintf(cm->id, sizeof cm->id, "%s", c->def.id);
    cm->status = c->status;
    cm->operation = c->operation;
    cm->ready = c->ref != NULL && c->readiness == MRT_READINESS_READY;
    cm->starts = c->starts;
    cm->restarts = c->restarts;
    cm->failures = c->failures;
    cm->stale_heartbeats = c->stale_count;
    cm->stop_failures = c->stop_failures;
    cm->backoff_ns_total = c->backoff_ns_total;
  }
  return m;
}

int mrt__sup_on_metrics(mrt_actor *self, void *state, const void *payload, mrt_reply *reply) {
  (void)self;
  (void)payload;
  mrt__sup_heal(state);
  if (reply == NULL)
    return 0;
  mrt_supervisor_metrics_reply r = {metrics_snapshot(state)};
  return r.metrics == NULL ? mrt_reply_error(reply, -ENOMEM)
                           : MRT_REPLY(supervisor_metrics, reply, &r);
}

void mrt_supervisor_metrics_free(mrt_supervisor_metrics *m) {
  free(m);
}

/* ---- Prometheus text ---------------------------------------------------------------- */

/* An output cursor that keeps counting past the end, as snprintf does. */
typedef struct out {
  char *buf;
  size_t size, len;
} out;

__attribute__((format(printf, 2, 3))) static void put(out *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t room = o->len < o->size ? o->size - o->len : 0;
  int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
  va_end(ap);
  if (n > 0)
    o->len += (size_t)n;
}

/* Label values escape backslash, double quote and newline. */
static void put_label(out *o, const char *s) {
  for (; *s; s++) {
    if (*s == '\\' || *s == '"')
      put(o, "\\%c", *s);
    else if (*s == '\n')
      put(o, "\\n");
    else
      put(o, "%c", *s);
  }
}

static void family(out *o, const char *name, const char *type, const char *help) {
  put(o, "# HELP meshrt_supervisor_%s %s\n# TYPE meshrt_supervisor_%s %s\n", name, help, name,
      type);
}

static void sample(out *o, const char *name, const mrt_supervisor_metrics *m,
                   const mrt_child_metrics *c, const char *extra_key, const char *extra_val,
                   double value) {
  put(o, "meshrt_supervisor_%s{supervisor=\"", name);
  put_label(o, m->name);
  if (c != NULL) {
    put(o, "\",child=\"");
    put_label(o, c->id);
  }
  if (extra_key != NULL)
    put(o, "\",%s=\"%s", extra_key, extra_val);
  /* Counters are integers: print them exactly; only seconds need a fraction. */
  if (value >= 0 && value < 9e15 && (double)(uint64_t)value == value)
    put(o, "\"} %llu\n", (unsigned long long)value);
  else
    put(o, "\"} %.9g\n", value);
}

typedef double (*sup_value_fn)(const mrt_supervisor_metrics *m);
typedef double (*child_value_fn)(const mrt_child_metrics *c);

static double v_restarts(const mrt_supervisor_metrics *m) {
  return (double)m->restarts;
}
static double v_escalations(const mrt_supervisor_metrics *m) {
  return (double)m->escalations;
}
static double v_events(const mrt_supervisor_metrics *m) {
  return (double)m->events;
}
static double v_limit(const mrt_supervisor_metrics *m) {
  return m->limit;
}
static double v_remaining(const mrt_supervisor_metrics *m) {
  return m->limit_remaining;
}
static double c_starts(const mrt_child_metrics *c) {
  return (double)c->starts;
}
static double c_restarts(const mrt_child_metrics *c) {
  return (double)c->restarts;
}
static double c_failures(const mrt_child_metrics *c) {
  return (double)c->failures;
}
static double c_stale(const mrt_child_metrics *c) {
  return (double)c->stale_heartbeats;
}
static double c_stop_failures(const mrt_child_metrics *c) {
  return (double)c->stop_failures;
}
static double c_ready(const mrt_child_metrics *c) {
  return c->ready;
}
static double c_backoff(const mrt_child_metrics *c) {
  return (double)c->backoff_ns_total / (double)MRT_NS_PER_SEC;
}

static const struct {
  const char *name, *type, *help;
  sup_value_fn fn;
} sup_families[] = {
    {"restarts_total", "counter", "Automatic restarts (one per strategy restart).", v_restarts},
    {"escalations_total", "counter", "Times the restart limit was exceeded.", v_escalations},
    {"events_total", "counter", "Events emitted.", v_events},
    {"restart_limit", "gauge", "Restarts allowed per window.", v_limit},
    {"restart_limit_remaining", "gauge", "Restarts left in the current window.", v_remaining},
};

static const struct {
  const char *name, *type, *help;
  child_value_fn fn;
} child_families[] = {
    {"child_starts_total", "counter", "Attempts started.", c_starts},
    {"child_restarts_total", "counter", "Attempts started after the first.", c_restarts},
    {"child_failures_total", "counter", "Abnormal exits.", c_failures},
    {"child_backoff_seconds_total", "counter", "Time restarts waited for backoff gates.",
     c_backoff},
    {"child_heartbeat_stale_total", "counter", "Times the heartbeat went stale.", c_stale},
    {"child_stop_failures_total", "counter", "Stops that ran past the grace period.",
     c_stop_failures},
    {"child_ready", "gauge", "1 if the running attempt is ready.", c_ready},
};

static void render_state_families(out *o, const mrt_supervisor_metrics *const *m, size_t n) {
  family(o, "child_status", "gauge", "1 for the child's current status.");
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < m[i]->n_children; j++)
      for (int s = MRT_CHILD_STARTING; s <= MRT_CHILD_STOPPED; s++)
        sample(o, "child_status", m[i], &m[i]->children[j], "status",
               mrt_child_status_name((mrt_child_status)s), (int)m[i]->children[j].status == s);
  family(o, "child_operation", "gauge", "1 for the child's current operator state.");
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < m[i]->n_children; j++)
      for (int s = MRT_OP_ACTIVE; s <= MRT_OP_REMOVED; s++)
        sample(o, "child_operation", m[i], &m[i]->children[j], "operation",
               mrt_child_operation_name((mrt_child_operation)s),
               (int)m[i]->children[j].operation == s);
  family(o, "operations_total", "counter", "Operator commands received, by command.");
  for (size_t i = 0; i < n; i++)
    for (int k = MRT_CHILD_CMD_PAUSE; k < MRT_CHILD_CMD_COUNT; k++)
      sample(o, "operations_total", m[i], NULL, "command",
             mrt_child_command_name((mrt_child_command_kind)k), (double)m[i]->operations[k]);
}

int mrt_supervisor_metrics_render(const mrt_supervisor_metrics *const *m, size_t n, char *buf,
                                  size_t size) {
  if ((m == NULL && n > 0) || (buf == NULL && size > 0)) {
    mrt_log(MRT_LOG_WARN, MRT__SUP_LOG, "metrics render refused: NULL argument");
    return -EINVAL;
  }
  for (size_t i = 0; i < n; i++)
    if (m[i] == NULL) {
      mrt_log(MRT_LOG_WARN, MRT__SUP_LOG, "metrics render refused: NULL metrics");
      return -EINVAL;
    }
  out o = {buf, size, 0};
  if (size > 0)
    buf[0] = '\0';
  for (size_t f = 0; f < sizeof sup_families / sizeof sup_families[0]; f++) {
    family(&o, sup_families[f].name, sup_families[f].type, sup_families[f].help);
    for (size_t i = 0; i < n; i++)
      sample(&o, sup_families[f].name, m[i], NULL, NULL, NULL, sup_families[f].fn(m[i]));
  }
  for (size_t f = 0; f < sizeof child_families / sizeof child_families[0]; f++) {
    family(&o, child_families[f].name, child_families[f].type, child_families[f].help);
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < m[i]->n_children; j++)
        sample(&o, child_families[f].name, m[i], &m[i]->children[j], NULL, NULL,
               child_families[f].fn(&m[i]->children[j]));
  }
  render_state_families(&o, m, n);
  return o.len > INT32_MAX ? INT32_MAX : (int)o.len;
}
