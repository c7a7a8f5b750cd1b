/* SPDX-License-Identifier: MIT */
/* Tests: actor lifecycle — on_start before messages, on_start failure failing
 * queued asks, stop after the current message, kill, double stop, stop from
 * inside a handler, a handler stopping its own asker, monitors (DOWN with the
 * reason, NOPROC), links (abnormal exits propagate, normal ones do not,
 * trapping), refs outliving actors and the runtime, ids never reused, spawn
 * and send after shutdown, and shutdown order and signal. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <meshrt/meshrt.h>
#include <meshrt/testing.h>

MRT_MESSAGE_DECLARE(, poke, int, int);
MRT_MESSAGE_DEFINE(poke, int, int, NULL, NULL);
MRT_MESSAGE_DECLARE(, watch, mrt_ref *, mrt_none);
MRT_MESSAGE_DEFINE(watch, mrt_ref *, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, fail, int, mrt_none);
MRT_MESSAGE_DEFINE(fail, int, mrt_none, NULL, NULL);

/* Events recorded by all actors of a test, in order. */
#define EVENTS_MAX 256
static struct {
  char what[16];
  uint64_t id;
  int a, b;
  char reason[MRT_EXIT_REASON_MAX];
} events[EVENTS_MAX];
static int n_events;

static void record(const char *what, uint64_t id, int a, int b, const char *reason) {
  if (n_events >= EVENTS_MAX)
    return;
  snprintf(events[n_events].what, sizeof events[0].what, "%s", what);
  events[n_events].id = id;
  events[n_events].a = a;
  events[n_events].b = b;
  snprintf(events[n_events].reason, sizeof events[0].reason, "%s", reason ? reason : "");
  n_events++;
}

static int find_event(const char *what, uint64_t id) {
  for (int i = 0; i < n_events; i++)
    if (strcmp(events[i].what, what) == 0 && (id == 0 || events[i].id == id))
      return i;
  return -1;
}

static int count_events(const char *what) {
  int n = 0;
  for (int i = 0; i < n_events; i++)
    n += strcmp(events[i].what, what) == 0;
  return n;
}

/* ---- a configurable actor ------------------------------------------------ */

typedef struct life_args {
  int start_error;   /* on_start returns this */
  bool stop_on_poke; /* poke handler stops self */
  bool trap;         /* trap exits */
  bool watch_shutdown;
} life_args;

typedef struct life_state {
  bool started;
  bool saw_shutdown;
  int pokes;
} life_state;

static int life_start(mrt_actor *self, void *state, const void *args) {
  const life_args *a = args;
  life_state *st = state;
  record("start", mrt_ref_id(self), 0, 0, NULL);
  if (a->start_error)
    return a->start_error;
  if (a->trap)
    assert_int_equal(mrt_actor_trap_exits(self, true), 0);
  if (a->watch_shutdown)
    assert_int_equal(mrt_shutdown_watch(self), 0);
  st->started = true;
  return 0;
}

static void life_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  life_state *st = state;
  record("stop", mrt_ref_id(self), (int)why->kind, st->saw_shutdown, why->reason);
}

static int life_poke(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  life_state *st = state;
  record("poke", mrt_ref_id(self), *(const int *)p, st->started, NULL);
  st->pokes++;
  /* The flag is per actor instance; stop when asked to by a negative poke. */
  if (*(const int *)p < 0)
    mrt_actor_stop(self);
  if (r != NULL)
    return MRT_REPLY(poke, r, &st->pokes);
  return 0;
}

static int life_watch(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)state;
  (void)r;
  return mrt_monitor(self, *(mrt_ref *const *)p);
}

static int life_fail(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)state;
  (void)r;
  return mrt_actor_fail(self, *(const int *)p, "asked to fail with %d", *(const int *)p);
}

static int life_down(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)state;
  (void)r;
  const mrt_down *d = p;
  record("down", mrt_ref_id(self), (int)d->exit.kind, (int)d->id, d->exit.reason);
  return 0;
}

static int life_exit(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)state;
  (void)r;
  const mrt_down *d = p;
  record("exit", mrt_ref_id(self), (int)d->exit.kind, (int)d->id, d->exit.reason);
  return 0;
}

static int life_shutdown(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)p;
  (void)r;
  ((life_state *)state)->saw_shutdown = true;
  record("signal", mrt_ref_id(self), 0, 0, NULL);
  return 0;
}

static const mrt_handler_entry life_handlers[] = {
    {&mrt_msg_poke, life_poke},
    {&mrt_msg_watch, life_watch},
    {&mrt_msg_fail, life_fail},
    {&mrt_msg_down, life_down},
    {&mrt_msg_exit, life_exit},
    {&mrt_msg_shutdown, life_shutdown},
    {NULL, NULL},
};
static const mrt_actor_class life_class = {.name = "life",
                                           .state_size = sizeof(life_state),
                                           .args_size = sizeof(life_args),
                                           .on_start = life_start,
                                           .on_stop = life_stop,
                                           .handlers = life_handlers};

static mrt_ref *spawn(mrt_runtime *rt, life_args a, const mrt_spawn_opts *opts) {
  mrt_ref *ref = NULL;
  assert_int_equal(mrt_actor_spawn(rt, &life_class, &a, opts, &ref), 0);
  return ref;
}

static int reset(void **state) {
  (void)state;
  n_events = 0;
  return 0;
}

/* ---- tests --------------------------------------------------------------- */

static void on_start_runs_before_earlier_messages(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_ref *a = spawn(rt, (life_args){0}, NULL);
  assert_int_equal(MRT_TELL(poke, a, &(int){1}), 0); /* before on_start ran */
  assert_int_equal(n_events, 0);                     /* spawn returned at once */
  mrt_runtime_run_until_idle(rt);
  assert_string_equal(events[0].what, "start");
  assert_string_equal(events[1].what, "poke");
  assert_int_equal(events[1].b, 1); /* the handler saw on_start's state */
  mrt_ref_unref(a);
  mrt_runtime_unref(rt);
}

static void on_start_failure_fails_queued_asks(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  /* Two executors, driven in index order: the watcher (executor 0) monitors
   * `a` before `a` (executor 1) gets to run its failing on_start. */
  assert_int_equal(mrt_test_runtime_new(2, &rt), 0);
  mrt_ref *watcher = spawn(rt, (life_args){0}, &(mrt_spawn_opts){.executor = 0});
  mrt_ref *a = spawn(rt, (life_args){.start_error = -EADDRINUSE}, &(mrt_spawn_opts){.executor = 1});
  assert_int_equal(MRT_TELL(watch, watcher, &a), 0);
  int out;
  assert_int_equal(MRT_ASK_SYNC(poke, a, &(int){1}, &out, 0), -EADDRINUSE);
  assert_false(mrt_ref_alive(a));
  assert_int_equal(count_events("poke"), 0);
  assert_int_equal(count_events("stop"), 0); /* on_stop only after a good start */
  int d = find_event("down", mrt_ref_id(watcher));
  assert_true(d >= 0);
  assert_int_equal(events[d].a, MRT_EXIT_FAILED);
  assert_string_equal(events[d].reason, "on_start returned Address already in use");
  assert_int_equal(MRT_TELL(poke, a, &(int){1}), -ESRCH);
  mrt_ref_unref(watcher);
  mrt_ref_unref(a);
  mrt_runtime_unref(rt);
}

static void stop_takes_effect_after_current_message(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_ref *a = spawn(rt, (life_args){0}, NULL);
  assert_int_equal(MRT_TELL(poke, a, &(int){1}), 0);
  assert_int_equal(MRT_TELL(poke, a, &(int){-1}), 0); /* stops itself here */
  assert_int_equal(MRT_TELL(poke, a, &(int){3}), 0);
  int out;
  assert_int_equal(MRT_ASK_SYNC(poke, a, &(int){4}, &out, 0), -ESRCH);
  assert_int_equal(count_events("poke"), 2);
  int s = find_event("stop", mrt_ref_id(a));
  assert_true(s >= 0);
  assert_int_equal(events[s].a, MRT_EXIT_NORMAL);
  /* Double stop: the actor is gone now. */
  assert_int_equal(mrt_actor_stop(a), -ESRCH);
  assert_int_equal(mrt_actor_kill(a), -ESRCH);
  assert_int_equal(mrt_actor_stop(NULL), -EINVAL);
  mrt_ref_unref(a);
  mrt_runtime_unref(rt);
}

static void stop_twice_while_running_is_idempotent(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_ref *a = spawn(rt, (life_args){0}, NULL);
  assert_int_equal(mrt_actor_stop(a), 0);
  assert_int_equal(mrt_actor_stop(a), 0);
  assert_int_equal(mrt_actor_kill(a), 0); /* the first request wins */
  mrt_runtime_run_until_idle(rt);
  assert_int_equal(count_events("stop"), 1);
  assert_int_equal(events[find_event("stop", 0)].a, MRT_EXIT_NORMAL);
  mrt_ref_unref(a);
  mrt_runtime_unref(rt);
}

static void monitors_get_down_with_reason(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_ref *a = spawn(rt, (life_args){0}, NULL);
  mrt_ref *b = spawn(rt, (life_args){0}, NULL);
  mrt_ref *w = spawn(rt, (life_args){0}, NULL);
  assert_int_equal(MRT_TELL(watch, w, &a), 0);
  assert_int_equal(MRT_TELL(watch, w, &b), 0);
  mrt_runtime_run_until_idle(rt);
  assert_int_equal(MRT_TELL(fail, a, &(int){-EPIPE}), 0);
  assert_int_equal(mrt_actor_kill(b), 0);
  mrt_runtime_run_until_idle(rt);
  assert_int_equal(count_events("down"), 2);
  int da = -1, db = -1;
  for (int i = 0; i < n_events; i++) {
    if (strcmp(events[i].what, "down") != 0)
      continue;
    if ((uint64_t)events[i].b == mrt_ref_id(a))
      da = i;
    if ((uint64_t)events[i].b == mrt_ref_id(b))
      db = i;
  }
  assert_true(da >= 0 && db >= 0);
  assert_int_equal(events[da].a, MRT_EXIT_FAILED);
  assert_string_equal(events[da].reason, "asked to fail with -32");
  assert_int_equal(events[db].a, MRT_EXIT_KILLED);
  /* Monitoring an actor that is already gone: DOWN with NOPROC at once. */
  assert_int_equal(MRT_TELL(watch, w, &a), 0);
  mrt_runtime_run_until_idle(rt);
  assert_int_equal(count_events("down"), 3);
  assert_int_equal(events[n_events - 1].a, MRT_EXIT_NOPROC);
  mrt_ref_unref(a);
  mrt_ref_unref(b);
  mrt_ref_unref(w);
  mrt_runtime_unref(rt);
}

static void links_propagate_abnormal_exits(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_ref *a = spawn(rt, (life_args){0}, NULL);
  mrt_spawn_opts link = {.executor = MRT_EXECUTOR_AUTO, .link_to = a};
  mrt_ref *b = spawn(rt, (life_args){0}, &link);
  mrt_ref *c = spawn(rt, (life_args){0}, &link);
  mrt_ref *t = spawn(rt, (life_args){.trap = true}, &link);
  mrt_runtime_run_until_idle(rt);
  /* b exits normally: nothing propagates. */
  assert_int_equal(mrt_actor_stop(b), 0);
  mrt_runtime_run_until_idle(rt);
  assert_true(mrt_ref_alive(a));
  /* a fails: c stops (LINKED); t traps and gets an EXIT message instead. */
  assert_int_equal(MRT_TELL(fail, a, &(int){-EIO}), 0);
  mrt_runtime_run_until_idle(rt);
  assert_false(mrt_ref_alive(a));
  assert_false(mrt_ref_alive(c));
  assert_true(mrt_ref_alive(t));
  assert_int_equal(events[find_event("stop", mrt_ref_id(c))].a, MRT_EXIT_LINKED);
  int e = find_event("exit", mrt_ref_id(t));
  assert_true(e >= 0);
  assert_int_equal(events[e].a, MRT_EXIT_FAILED);
  assert_int_equal((uint64_t)events[e].b, mrt_ref_id(a));
  mrt_ref_unref(a);
  mrt_ref_unref(b);
  mrt_ref_unref(c);
  mrt_ref_unref(t);
  mrt_runtime_unref(rt);
}

/* A server that, while answering, stops the actor asking it. */
typedef struct stopper_state {
  int unused;
} stopper_state;
MRT_MESSAGE_DECLARE(, stop_me, mrt_ref *, int);
MRT_MESSAGE_DEFINE(stop_me, mrt_ref *, int, NULL, NULL);
MRT_MESSAGE_DECLARE(, go, mrt_ref *, mrt_none);
MRT_MESSAGE_DEFINE(go, mrt_ref *, mrt_none, NULL, NULL);

static int on_stop_me(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  mrt_actor_stop(*(mrt_ref *const *)p);
  return MRT_REPLY(stop_me, r, &(int){7});
}
static const mrt_handler_entry stopper_handlers[] = {{&mrt_msg_stop_me, on_stop_me}, {NULL, NULL}};
static const mrt_actor_class stopper_class = {
    .name = "stopper", .state_size = sizeof(stopper_state), .handlers = stopper_handlers};

static int cont_count;
static int cont_status;
static int asker_cont(mrt_actor *self, void *state, int status, const void *reply, void *ud) {
  (void)self;
  (void)state;
  (void)reply;
  (void)ud;
  cont_count++;
  cont_status = status;
  return 0;
}
static int on_go(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)state;
  (void)r;
  mrt_ref *me = self;
  return MRT_ASK(stop_me, self, *(mrt_ref *const *)p, &me, 0, asker_cont, NULL);
}
static const mrt_handler_entry goer_handlers[] = {{&mrt_msg_go, on_go}, {NULL, NULL}};
static const mrt_actor_class goer_class = {.name = "goer", .handlers = goer_handlers};

static void handler_stops_its_own_asker(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *server, *asker;
  cont_count = 0;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  assert_int_equal(mrt_actor_spawn(rt, &stopper_class, NULL, NULL, &server), 0);
  assert_int_equal(mrt_actor_spawn(rt, &goer_class, NULL, NULL, &asker), 0);
  assert_int_equal(MRT_TELL(go, asker, &server), 0);
  mrt_runtime_run_until_idle(rt);
  assert_false(mrt_ref_alive(asker));
  assert_true(mrt_ref_alive(server));
  /* The continuation ran exactly once, before the asker was gone. */
  assert_int_equal(cont_count, 1);
  assert_true(cont_status == 0 || cont_status == -ECANCELED);
  mrt_runtime_advance(rt, MRT_SEC(10)); /* no late timeout fires a second time */
  assert_int_equal(cont_count, 1);
  mrt_ref_unref(server);
  mrt_ref_unref(asker);
  mrt_runtime_unref(rt);
}

static void refs_outlive_actor_and_runtime(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_ref *a = spawn(rt, (life_args){0}, NULL);
  mrt_ref *b = spawn(rt, (life_args){0}, NULL);
  uint64_t ida = mrt_ref_id(a), idb = mrt_ref_id(b);
  assert_true(idb > ida);
  assert_int_equal(mrt_actor_stop(a), 0);
  mrt_runtime_run_until_idle(rt);
  mrt_ref *c = spawn(rt, (life_args){0}, NULL);
  assert_true(mrt_ref_id(c) > idb); /* ids are never reused */
  assert_int_equal(MRT_TELL(poke, a, &(int){1}), -ESRCH);
  mrt_runtime_unref(rt); /* shuts down; refs stay valid handles */
  assert_int_equal(mrt_ref_id(a), ida);
  assert_false(mrt_ref_alive(b));
  assert_int_equal(MRT_TELL(poke, b, &(int){1}), -ESRCH);
  assert_int_equal(mrt_actor_stop(b), -ESRCH);
  int out;
  assert_int_equal(MRT_ASK_SYNC(poke, c, &(int){1}, &out, 0), -ESRCH);
  mrt_ref_unref(a);
  mrt_ref_unref(b);
  mrt_ref_unref(c);
}

static void spawn_after_shutdown_is_refused(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  assert_int_equal(mrt_runtime_shutdown(rt), 0);
  assert_int_equal(mrt_runtime_shutdown(rt), 0); /* idempotent */
  mrt_ref *a = NULL;
  life_args args = {0};
  assert_int_equal(mrt_actor_spawn(rt, &life_class, &args, NULL, &a), -ESHUTDOWN);
  assert_null(a);
  assert_int_equal(mrt_actor_spawn(NULL, &life_class, &args, NULL, &a), -EINVAL);
  mrt_runtime_unref(rt);
}

static void spawn_rejects_bad_input(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *a = NULL;
  assert_int_equal(mrt_test_runtime_new(2, &rt), 0);
  assert_int_equal(mrt_actor_spawn(rt, NULL, NULL, NULL, &a), -EINVAL);
  mrt_actor_class no_handlers = {.name = "empty"};
  assert_int_equal(mrt_actor_spawn(rt, &no_handlers, NULL, NULL, &a), -EINVAL);
  assert_int_equal(mrt_actor_spawn(rt, &life_class, NULL, NULL, &a), -EINVAL); /* args needed */
  mrt_spawn_opts far = {.executor = 2};
  life_args args = {0};
  assert_int_equal(mrt_actor_spawn(rt, &life_class, &args, &far, &a), -EINVAL);
  assert_null(a);
  mrt_runtime_unref(rt);
}

static void shutdown_order_and_signal(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(2, &rt), 0);
  mrt_ref *refs[6];
  for (int i = 0; i < 6; i++)
    refs[i] = spawn(rt, (life_args){.watch_shutdown = i % 2 == 0}, NULL);
  mrt_runtime_run_until_idle(rt);
  for (int i = 0; i < 6; i++)
    assert_int_equal(MRT_TELL(poke, refs[i], &(int){i}), 0); /* queued, handled before the stop */
  assert_int_equal(mrt_runtime_shutdown(rt), 0);
  assert_int_equal(count_events("poke"), 6);
  assert_int_equal(count_events("signal"), 3);
  /* Stops came newest first; watchers saw the signal before stopping. */
  uint64_t last = UINT64_MAX;
  int stops = 0;
  for (int i = 0; i < n_events; i++) {
    if (strcmp(events[i].what, "stop") != 0)
      continue;
    assert_true(events[i].id < last);
    last = events[i].id;
    assert_int_equal(events[i].a, MRT_EXIT_SHUTDOWN);
    assert_int_equal(events[i].b, (events[i].id - mrt_ref_id(refs[0])) % 2 == 0);
    stops++;
  }
  assert_int_equal(stops, 6);
  for (int i = 0; i < 6; i++)
    mrt_ref_unref(refs[i]);
  mrt_runtime_unref(rt);
}

/* The parent recorded at spawn is visible to the child, and released when it
 * stops (so a parent holding its child's ref makes no cycle). */
MRT_MESSAGE_DECLARE(, whose, mrt_none, uint64_t);
MRT_MESSAGE_DEFINE(whose, mrt_none, uint64_t, NULL, NULL);
static int on_whose(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)state;
  (void)p;
  uint64_t id = mrt_ref_id(mrt_actor_parent(self));
  return MRT_REPLY(whose, r, &id);
}
static const mrt_handler_entry child_handlers[] = {{&mrt_msg_whose, on_whose}, {NULL, NULL}};
static const mrt_actor_class child_class = {.name = "child", .handlers = child_handlers};

static void parent_is_recorded(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_ref *parent = spawn(rt, (life_args){0}, NULL);
  mrt_ref *child, *orphan;
  mrt_spawn_opts o = {.executor = MRT_EXECUTOR_AUTO, .parent = parent};
  assert_int_equal(mrt_actor_spawn(rt, &child_class, NULL, &o, &child), 0);
  assert_int_equal(mrt_actor_spawn(rt, &child_class, NULL, NULL, &orphan), 0);
  uint64_t id = 0;
  assert_int_equal(MRT_ASK_SYNC(whose, child, &(mrt_none){0}, &id, 0), 0);
  assert_int_equal(id, mrt_ref_id(parent));
  assert_int_equal(MRT_ASK_SYNC(whose, orphan, &(mrt_none){0}, &id, 0), 0);
  assert_int_equal(id, 0);
  assert_null(mrt_actor_parent(NULL));
  mrt_ref_unref(child);
  mrt_ref_unref(orphan);
  mrt_ref_unref(parent);
  mrt_runtime_unref(rt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(on_start_runs_before_earlier_messages, reset),
      cmocka_unit_test_setup(on_start_failure_fails_queued_asks, reset),
      cmocka_unit_test_setup(stop_takes_effect_after_current_message, reset),
      cmocka_unit_test_setup(stop_twice_while_running_is_idempotent, reset),
      cmocka_unit_test_setup(monitors_get_down_with_reason, reset),
      cmocka_unit_test_setup(links_propagate_abnormal_exits, reset),
      cmocka_unit_test_setup(handler_stops_its_own_asker, reset),
      cmocka_unit_test_setup(refs_outlive_actor_and_runtime, reset),
      cmocka_unit_test_setup(spawn_after_shutdown_is_refused, reset),
      cmocka_unit_test_setup(spawn_rejects_bad_input, reset),
      cmocka_unit_test_setup(shutdown_order_and_signal, reset),
      cmocka_unit_test_setup(parent_is_recorded, reset),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
