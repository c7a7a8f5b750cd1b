/* SPDX-License-Identifier: MIT */
/* Shared fixture of the supervisor tests (test-supervisor-*.c): a log of what
 * the test children did, configurable child classes, a bus sink that keeps
 * every supervisor event, and helpers over the public API.
 *
 * Everything runs on the hand-driven, virtual-clock runtime of
 * <meshrt/testing.h>: actors run on the test thread while it drives the
 * runtime (mrt_ask_sync, mrt_runtime_advance), so the globals below need no
 * locking. Functions are static and marked unused: each test file uses a
 * different subset.
 */
#ifndef TEST_SUPERVISOR_FIXTURE_H
#define TEST_SUPERVISOR_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <meshrt/supervise.h>
#include <meshrt/testing.h>

#define FIX __attribute__((unused)) static

static mrt_runtime *rt;

/* ---- the log --------------------------------------------------------------------- */

#define TLOG_MAX 1024
static char tlog[TLOG_MAX][64];
static int tlog_n;

FIX __attribute__((format(printf, 1, 2))) void tlogf(const char *fmt, ...) {
  if (tlog_n >= TLOG_MAX)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tlog[tlog_n++], sizeof tlog[0], fmt, ap);
  va_end(ap);
}

/* Index of the first entry equal to s at or after `from`, or -1. */
FIX int tlog_find_from(int from, const char *s) {
  for (int i = from < 0 ? 0 : from; i < tlog_n; i++)
    if (strcmp(tlog[i], s) == 0)
      return i;
  return -1;
}

FIX int tlog_find(const char *s) {
  return tlog_find_from(0, s);
}

FIX int tlog_count(const char *s) {
  int n = 0;
  for (int i = 0; i < tlog_n; i++)
    n += strcmp(tlog[i], s) == 0;
  return n;
}

/* Asserts that the entries appear in this order (not necessarily adjacent),
 * starting at `from`; returns the index after the last. */
FIX int tlog_expect_order(int from, const char *const *seq, size_t n) {
  int at = from;
  for (size_t i = 0; i < n; i++) {
    int k = tlog_find_from(at, seq[i]);
    if (k < 0)
      fail_msg("log: \"%s\" missing after index %d", seq[i], at);
    at = k + 1;
  }
  return at;
}

/* ---- test children ------------------------------------------------------------------ */

enum { W_FAIL = 1, W_EXIT, W_HEARTBEAT, W_READY, W_NOT_READY, W_RELEASE };

MRT_MESSAGE_DECLARE(, wcmd, int, mrt_none);
MRT_MESSAGE_DEFINE(wcmd, int, mrt_none, NULL, NULL);

typedef enum stop_mode {
  ON_REQUEST_STOP = 0, /* a stop request stops at once */
  ON_REQUEST_DEFER,    /* logs the request; stops only on W_RELEASE */
} stop_mode;

typedef struct worker_args {
  char name[24];
  int start_error;   /* on_start returns it */
  int fail_attempts; /* the first N attempts fail right after on_start */
  bool ready_on_start;
  bool heartbeat_on_start;
  stop_mode on_request;
} worker_args;

/* A worker with default behaviour. */
#define NOARGS ((worker_args){.start_error = 0})

typedef struct worker_state {
  char name[24];
  int attempt;
  stop_mode on_request;
} worker_state;

FIX int attempts_of(const char *name) {
  char key[64];
  snprintf(key, sizeof key, "start:%s", name);
  return tlog_count(key);
}

static int worker_start(mrt_actor *self, void *state, const void *args) {
  const worker_args *a = args;
  worker_state *st = state;
  snprintf(st->name, sizeof st->name, "%s", a->name);
  st->on_request = a->on_request;
  st->attempt = attempts_of(a->name) + 1;
  mrt_runtime_stats s;
  mrt_runtime_get_stats(mrt_actor_runtime(self), &s);
  tlogf("start:%s", a->name);
  tlogf("spawned:%s:%llu", a->name, (unsigned long long)s.actors_spawned);
  if (a->start_error)
    return a->start_error;
  if (a->heartbeat_on_start)
    assert_int_equal(mrt_supervisor_heartbeat(self), 0);
  if (a->ready_on_start)
    assert_int_equal(mrt_supervisor_report_ready(self), 0);
  if (st->attempt <= a->fail_attempts)
    assert_int_equal(MRT_TELL(wcmd, self, &(int){W_FAIL}), 0);
  return 0;
}

static void worker_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)self;
  worker_state *st = state;
  tlogf("stop:%s", st->name);
  tlogf("exit:%s:%s", st->name, mrt_exit_kind_name(why->kind));
}

static int worker_cmd(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)r;
  worker_state *st = state;
  switch (*(const int *)p) {
  case W_FAIL: return mrt_actor_fail(self, -EIO, "%s asked to fail", st->name);
  case W_EXIT: return mrt_actor_stop(self);
  case W_HEARTBEAT: return mrt_supervisor_heartbeat(self);
  case W_READY: return mrt_supervisor_report_ready(self);
  case W_NOT_READY: return mrt_supervisor_report_not_ready(self);
  case W_RELEASE: return mrt_actor_stop(self);
  }
  return -EINVAL;
}

static int worker_request(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  worker_state *st = state;
  tlogf("request:%s", st->name);
  tlogf("request:%s#%d", st->name, st->attempt);
  if (st->on_request == ON_REQUEST_STOP)
    return mrt_supervisor_stop_request_default(self, state, p, r);
  return 0;
}

static const mrt_handler_entry worker_handlers[] = {
    {&mrt_msg_wcmd, worker_cmd},
    {&mrt_msg_supervisor_stop_request, worker_request},
    {NULL, NULL},
};
static const mrt_actor_class worker_class __attribute__((unused)) = {
    .name = "worker",
    .state_size = sizeof(worker_state),
    .args_size = sizeof(worker_args),
    .on_start = worker_start,
    .on_stop = worker_stop,
    .handlers = worker_handlers,
};

/* A class that does not handle stop requests: stopped with mrt_actor_stop. */
static const mrt_handler_entry plain_handlers[] = {{&mrt_msg_wcmd, worker_cmd}, {NULL, NULL}};
static const mrt_actor_class plain_class __attribute__((unused)) = {
    .name = "plain",
    .state_size = sizeof(worker_state),
    .args_size = sizeof(worker_args),
    .on_start = worker_start,
    .on_stop = worker_stop,
    .handlers = plain_handlers,
};

/* A worker spec: args copied at once, so a compound literal will do. */
FIX mrt_child_spec worker(const char *id, worker_args a) {
  if (a.name[0] == '\0')
    snprintf(a.name, sizeof a.name, "%s", id);
  static worker_args slots[64];
  static unsigned next;
  worker_args *slot = &slots[next++ % 64]; /* lives until the spec is spawned */
  *slot = a;
  return (mrt_child_spec){.id = id, .cls = &worker_class, .args = slot};
}

/* ---- the bus sink ---------------------------------------------------------------------- */

#define SINK_MAX 512
static mrt_supervisor_event sink_events[SINK_MAX];
static int sink_n;

static int sink_on_event(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)r;
  if (sink_n < SINK_MAX)
    sink_events[sink_n++] = *(const mrt_supervisor_event *)p;
  return 0;
}

static const mrt_handler_entry sink_handlers[] = {{&mrt_msg_supervisor_event, sink_on_event},
                                                  {NULL, NULL}};
static const mrt_actor_class sink_class
    __attribute__((unused)) = {.name = "sink", .handlers = sink_handlers};

FIX mrt_ref *sink_spawn(void) {
  mrt_ref *sink;
  assert_int_equal(mrt_actor_spawn(rt, &sink_class, NULL, NULL, &sink), 0);
  assert_int_equal(mrt_bus_subscribe(mrt_runtime_bus(rt), &mrt_msg_supervisor_event, sink), 0);
  return sink;
}

FIX int sink_count(mrt_supervisor_event_kind kind, const char *child) {
  int n = 0;
  for (int i = 0; i < sink_n; i++)
    n += sink_events[i].kind == kind &&
         (child == NULL || strcmp(sink_events[i].child_id, child) == 0);
  return n;
}

/* ---- a watcher: records the DOWN of a monitored actor -------------------------------- */

static mrt_down watched_down;
static int watched_downs;

static int watcher_start(mrt_actor *self, void *state, const void *args) {
  (void)state;
  return mrt_monitor(self, *(mrt_ref *const *)args);
}

static int watcher_down(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)r;
  watched_down = *(const mrt_down *)p;
  watched_down.who = NULL; /* the message keeps its reference */
  watched_downs++;
  return 0;
}

static const mrt_handler_entry watcher_handlers[] = {{&mrt_msg_down, watcher_down}, {NULL, NULL}};
static const mrt_actor_class watcher_class __attribute__((unused)) = {
    .name = "watcher",
    .args_size = sizeof(mrt_ref *),
    .on_start = watcher_start,
    .handlers = watcher_handlers,
};

FIX mrt_ref *watch(mrt_ref *target) {
  mrt_ref *w;
  assert_int_equal(mrt_actor_spawn(rt, &watcher_class, &target, NULL, &w), 0);
  mrt_runtime_run_until_idle(rt);
  return w;
}

/* ---- helpers over the public API --------------------------------------------------------- */

FIX int fixture_setup(void **state) {
  (void)state;
  tlog_n = 0;
  sink_n = 0;
  watched_downs = 0;
  memset(&watched_down, 0, sizeof watched_down);
  return mrt_test_runtime_new(1, &rt);
}

FIX int fixture_teardown(void **state) {
  (void)state;
  rt = mrt_runtime_unref(rt);
  return 0;
}

FIX uint64_t now(void) {
  return mrt_runtime_now(rt);
}

/* Lets time pass: timers fire in order, the runtime runs to quiescence. */
FIX void advance(uint64_t ns) {
  assert_true(mrt_runtime_advance(rt, ns) >= 0);
}

FIX mrt_ref *spawn_sup(const mrt_supervisor_spec *spec) {
  mrt_ref *sup;
  assert_int_equal(mrt_supervisor_spawn(rt, spec, NULL, &sup), 0);
  assert_int_equal(mrt_supervisor_await_boot(sup, 0), 0);
  return sup;
}

FIX mrt_child_record record(mrt_ref *sup, const char *id) {
  mrt_supervisor_state *st;
  assert_int_equal(mrt_supervisor_current_state(sup, &st), 0);
  const mrt_child_record *r = mrt_supervisor_state_find(st, id);
  if (r == NULL)
    fail_msg("no record for child %s", id);
  mrt_child_record copy = *r;
  mrt_supervisor_state_free(st);
  return copy;
}

FIX bool has_record(mrt_ref *sup, const char *id) {
  mrt_supervisor_state *st;
  assert_int_equal(mrt_supervisor_current_state(sup, &st), 0);
  bool found = mrt_supervisor_state_find(st, id) != NULL;
  mrt_supervisor_state_free(st);
  return found;
}

/* Sends a command to child `id`'s running attempt and lets it take effect. */
FIX void tell_child(mrt_ref *sup, const char *id, int op) {
  mrt_ref *c;
  assert_int_equal(mrt_supervisor_child_ref(sup, id, &c), 0);
  assert_int_equal(MRT_TELL(wcmd, c, &op), 0);
  mrt_ref_unref(c);
  advance(0);
}

/* Events of `kind` for `child` (NULL: any) in the supervisor's journal. */
FIX int journal_count(mrt_ref *sup, mrt_supervisor_event_kind kind, const char *child) {
  mrt_supervisor_event_list *l;
  assert_int_equal(mrt_supervisor_events(sup, 0, &l), 0);
  int n = 0;
  for (size_t i = 0; i < l->n; i++)
    n += l->events[i].kind == kind && (child == NULL || strcmp(l->events[i].child_id, child) == 0);
  mrt_supervisor_event_list_free(l);
  return n;
}

/* The last event of `kind` for `child` in the journal (fails if none). */
FIX mrt_supervisor_event journal_last(mrt_ref *sup, mrt_supervisor_event_kind kind,
                                      const char *child) {
  mrt_supervisor_event_list *l;
  assert_int_equal(mrt_supervisor_events(sup, 0, &l), 0);
  mrt_supervisor_event ev;
  bool found = false;
  for (size_t i = 0; i < l->n; i++)
    if (l->events[i].kind == kind && (child == NULL || strcmp(l->events[i].child_id, child) == 0)) {
      ev = l->events[i];
      found = true;
    }
  mrt_supervisor_event_list_free(l);
  if (!found)
    fail_msg("no %s event for %s", mrt_supervisor_event_kind_name(kind), child ? child : "*");
  return ev;
}

FIX uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * MRT_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Reading state 20 times in a row (the reads race nothing: the test's
 * children are quiet) gives 20 answers that agree with each other on every
 * child's identity and progress. How fast a read is belongs to meshrt-bench,
 * not to a test: an overloaded 2-core machine can stall any single read for
 * milliseconds. */
FIX void assert_state_reads_consistent(mrt_ref *sup) {
  mrt_supervisor_state *first;
  assert_int_equal(mrt_supervisor_current_state(sup, &first), 0);
  for (int i = 0; i < 20; i++) {
    mrt_supervisor_state *st;
    assert_int_equal(mrt_supervisor_current_state(sup, &st), 0);
    assert_int_equal(st->actor_id, first->actor_id);
    assert_int_equal(st->generation, first->generation);
    assert_int_equal(st->n_children, first->n_children);
    for (size_t c = 0; c < st->n_children; c++) {
      const mrt_child_record *a = &st->children[c], *b = &first->children[c];
      assert_string_equal(a->id, b->id);
      assert_int_equal(a->actor_id, b->actor_id);
      assert_int_equal(a->attempt, b->attempt);
      assert_int_equal(a->status, b->status);
    }
    mrt_supervisor_state_free(st);
  }
  mrt_supervisor_state_free(first);
}

#endif
