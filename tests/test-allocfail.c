/* SPDX-License-Identifier: MIT */
/* Tests: allocation failure, the way SQLite tests every malloc.
 *
 * Each scenario is a short sequence of public calls of the runtime, the bus or
 * the supervisor. It runs once per N = 1, 2, ... with the Nth allocation the
 * test thread makes inside the sequence failing (failalloc.h), until a run
 * makes fewer than N allocations (no failure was injected); then again with
 * the Nth and every later allocation of the sequence failing (memory stays
 * short until the calls return). After every run, with memory back:
 *   - each call returned success or a negative errno (-ENOMEM, or an error
 *     that follows from it, e.g. an actor whose on_start failed is gone);
 *   - every ask was answered exactly once (continuations counted per ask);
 *   - every payload's drop hook ran exactly once (the caller drops what a
 *     failed send left it; the runtime drops everything it accepted);
 *   - the runtime is still usable (a new actor, a tell and two asks work),
 *     and, for supervisors, the tree settles with every active child running;
 *   - shutdown gives back every byte (failalloc's count; ASan and valgrind
 *     check the same at exit).
 * Hand-driven runtimes on the virtual clock run on the test thread, so every
 * allocation the runtime makes for the calls is counted and each run is
 * deterministic. The started-runtime scenario counts the test thread only
 * (meson runs it with glibc's thread-stack cache off, so that each
 * pthread_create allocates and a failing one is among the runs).
 *
 * FAILALLOC_ONLY=<scenario> runs one scenario, FAILALLOC_VERBOSE=1 prints a
 * line per run and the runtime's log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <meshrt/bus.h>
#include <meshrt/meshrt.h>
#include <meshrt/supervisor.h>
#include <meshrt/testing.h>

#include "failalloc.h"

/* A run that needs more allocations than this never finishes. */
#define MAX_N 20000

static bool verbose;
/* The run in progress fails every allocation from the Nth on. */
static bool sticky_run;

/* ---- accounting -------------------------------------------------------------------- */

#define MAX_ITEMS 64
#define MAX_ASKS 64

/* Everything runs on the test thread, except the started-runtime scenario,
 * whose actors touch nothing here. */
static struct {
  uint32_t items;               /* ids handed out */
  unsigned drops[MAX_ITEMS];    /* drop hook runs per item */
  unsigned received[MAX_ITEMS]; /* deliveries of an item to a handler */
  uint32_t asks;                /* asks accepted (mrt_ask returned 0) */
  unsigned answers[MAX_ASKS];   /* continuation runs per accepted ask */
  int status[MAX_ASKS];         /* the status each continuation got */
  unsigned ask_refused;         /* mrt_ask returned an error */
  unsigned ticks, downs, exits; /* timer runs, DOWNs and EXITs received */
  int timer_rc, send_after_rc;  /* in go_timers; 1: not tried */
  uint32_t send_after_item;
  int watch_rc[2][2];          /* [client][monitor, link]; 1: not tried */
  unsigned news[2][MAX_ITEMS]; /* bus deliveries per subscriber and item */
} acc;

static void acc_reset(void) {
  memset(&acc, 0, sizeof acc);
  for (int i = 0; i < 2; i++)
    acc.watch_rc[i][0] = acc.watch_rc[i][1] = 1;
  acc.timer_rc = acc.send_after_rc = 1;
}

/* A payload that owns heap memory: the drop hook frees it and counts. */
typedef struct item {
  uint32_t id;
  char *buf;
} item;

static void item_drop(void *p) {
  item *it = p;
  assert_true(it->id < acc.items);
  acc.drops[it->id]++;
  free(it->buf);
}

/* The test's own allocation may be the injected failure too: a NULL buffer
 * still has to be dropped exactly once. */
static item item_new(void) {
  assert_true(acc.items < MAX_ITEMS);
  item it = {acc.items++, malloc(24)};
  return it;
}

static void check_drops(const char *where) {
  for (uint32_t i = 0; i < acc.items; i++)
    if (acc.drops[i] != 1)
      fail_msg("%s: item %u dropped %u times", where, i, acc.drops[i]);
}

static void check_answers(const char *where) {
  for (uint32_t i = 0; i < acc.asks; i++)
    if (acc.answers[i] != 1)
      fail_msg("%s: ask %u answered %u times", where, i, acc.answers[i]);
}

/* Results a call may give under allocation failure. */
static void expect_ok_or_enomem(int rc, const char *what) {
  if (rc < 0 && rc != -ENOMEM)
    fail_msg("%s returned %s", what, mrt_strerror(rc));
}

/* ---- messages -------------------------------------------------------------------------- */

typedef struct watch_req {
  mrt_ref *target; /* reference owned by the message */
  int who;         /* which client slot records the results */
  bool monitor, link;
} watch_req;

static void watch_req_drop(void *p) {
  mrt_ref_unref(((watch_req *)p)->target);
}

MRT_MESSAGE_DECLARE(, item, item, int);
MRT_MESSAGE_DEFINE(item, item, int, item_drop, NULL);
MRT_MESSAGE_DECLARE(, news, item, mrt_none);
MRT_MESSAGE_DEFINE(news, item, mrt_none, item_drop, NULL);
MRT_MESSAGE_DECLARE(, echo, int, int);
MRT_MESSAGE_DEFINE(echo, int, int, NULL, NULL);
MRT_MESSAGE_DECLARE(, hold, int, int); /* the server keeps the token */
MRT_MESSAGE_DEFINE(hold, int, int, NULL, NULL);
MRT_MESSAGE_DECLARE(, go_ask, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(go_ask, mrt_none, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, go_hold, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(go_hold, mrt_none, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, go_timers, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(go_timers, mrt_none, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, go_watch, watch_req, mrt_none);
MRT_MESSAGE_DEFINE(go_watch, watch_req, mrt_none, watch_req_drop, NULL);

/* ---- the server: answers echo, receives items, keeps `hold` tokens ---------------- */

typedef struct server_state {
  mrt_reply *held[4];
  unsigned n_held;
} server_state;

static int server_item(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  const item *it = p;
  acc.received[it->id]++;
  return r != NULL ? MRT_REPLY(item, r, &(int){(int)it->id}) : 0;
}

static int server_echo(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  return r != NULL ? MRT_REPLY(echo, r, &(int){*(const int *)p + 1}) : 0;
}

static int server_hold(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  server_state *st = state;
  if (r != NULL && st->n_held < 4)
    st->held[st->n_held++] = mrt_reply_defer(r); /* answered -ESRCH when we stop */
  return 0;
}

static const mrt_handler_entry server_handlers[] = {
    {&mrt_msg_item, server_item},
    {&mrt_msg_echo, server_echo},
    {&mrt_msg_hold, server_hold},
    {NULL, NULL},
};
static const mrt_actor_class server_class = {
    .name = "af-server",
    .state_size = sizeof(server_state),
    .handlers = server_handlers,
};

/* ---- the client: asks, timers, monitors and links from inside an actor ------------ */

typedef struct client_args {
  mrt_ref *server; /* reference owned by the args */
  bool busy_start; /* on_start allocates: a timer and an ask */
} client_args;

typedef struct client_state {
  mrt_ref *server;
} client_state;

static void client_args_drop(void *p) {
  mrt_ref_unref(((client_args *)p)->server);
}

static int client_answer(mrt_actor *self, void *state, int status, const void *reply, void *ud) {
  (void)self;
  (void)state;
  (void)reply;
  uintptr_t tag = (uintptr_t)ud;
  assert_true(tag < acc.asks);
  acc.answers[tag]++;
  acc.status[tag] = status;
  return 0;
}

/* An ask whose result is accounted for: accepted (answered exactly once,
 * later) or refused (never answered). */
static int client_ask(mrt_actor *self, client_state *st, const mrt_msg_type *type) {
  assert_true(acc.asks < MAX_ASKS);
  uintptr_t tag = acc.asks;
  int v = 1;
  int rc = mrt_ask(self, st->server, type, &v, sizeof v, MRT_SEC(30), client_answer, (void *)tag);
  if (rc == 0)
    acc.asks++;
  else
    acc.ask_refused++;
  return rc;
}

static int client_tick(mrt_actor *self, void *state, void *ud) {
  (void)self;
  (void)state;
  (void)ud;
  acc.ticks++;
  return 0;
}

static int client_on_start(mrt_actor *self, void *state, const void *args) {
  client_state *st = state;
  const client_args *a = args;
  st->server = a->server; /* the args' reference is ours now */
  if (!a->busy_start)
    return 0;
  int rc = mrt_timer_start(self, MRT_SEC(1), 0, client_tick, NULL, NULL);
  if (rc == 0)
    rc = client_ask(self, st, &mrt_msg_echo);
  if (rc < 0)
    st->server = mrt_ref_unref(st->server); /* on_stop will not run */
  return rc;
}

static void client_on_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)self;
  (void)why;
  client_state *st = state;
  st->server = mrt_ref_unref(st->server);
}

static int client_go_ask(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)p;
  (void)r;
  client_ask(self, state, &mrt_msg_echo);
  return 0;
}

static int client_go_hold(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)p;
  (void)r;
  client_ask(self, state, &mrt_msg_hold);
  return 0;
}

static int client_go_timers(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)p;
  (void)r;
  client_state *st = state;
  acc.timer_rc = mrt_timer_start(self, MRT_SEC(1), 0, client_tick, NULL, NULL);
  item it = item_new();
  acc.send_after_item = it.id;
  acc.send_after_rc = MRT_SEND_AFTER(item, self, st->server, MRT_SEC(1), &it, NULL);
  if (acc.send_after_rc < 0)
    item_drop(&it); /* not accepted: still ours */
  return 0;
}

static int client_go_watch(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)state;
  (void)r;
  const watch_req *w = p;
  if (w->monitor)
    acc.watch_rc[w->who][0] = mrt_monitor(self, w->target);
  if (w->link)
    acc.watch_rc[w->who][1] = mrt_link(self, w->target);
  return 0;
}

static int client_down(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)p;
  (void)r;
  acc.downs++;
  return 0;
}

static int client_exit(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)p;
  (void)r;
  acc.exits++;
  return 0;
}

static const mrt_handler_entry client_handlers[] = {
    {&mrt_msg_go_ask, client_go_ask},
    {&mrt_msg_go_hold, client_go_hold},
    {&mrt_msg_go_timers, client_go_timers},
    {&mrt_msg_go_watch, client_go_watch},
    {&mrt_msg_down, client_down},
    {&mrt_msg_exit, client_exit},
    {NULL, NULL},
};
static const mrt_actor_class client_class = {
    .name = "af-client",
    .state_size = sizeof(client_state),
    .args_size = sizeof(client_args),
    .on_start = client_on_start,
    .on_stop = client_on_stop,
    .args_drop = client_args_drop,
    .handlers = client_handlers,
};

/* ---- bus subscribers ------------------------------------------------------------------ */

typedef struct sub_args {
  int slot;
} sub_args;

typedef struct sub_state {
  int slot;
} sub_state;

static int sub_on_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  ((sub_state *)state)->slot = ((const sub_args *)args)->slot;
  return 0;
}

static int sub_news(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)r;
  const item *it = p;
  acc.news[((sub_state *)state)->slot][it->id]++;
  return 0;
}

static const mrt_handler_entry sub_handlers[] = {{&mrt_msg_news, sub_news}, {NULL, NULL}};
static const mrt_actor_class sub_class = {
    .name = "af-subscriber",
    .state_size = sizeof(sub_state),
    .args_size = sizeof(sub_args),
    .on_start = sub_on_start,
    .handlers = sub_handlers,
};

/* ---- supervised workers ------------------------------------------------------------- */

static int worker_tick(mrt_actor *self, void *state, void *ud) {
  (void)state;
  (void)ud;
  mrt_supervisor_heartbeat(self);
  return 0;
}

/* Its on_start allocates (a periodic timer), so a child can fail to start. */
static int worker_on_start(mrt_actor *self, void *state, const void *args) {
  (void)state;
  (void)args;
  return mrt_timer_start(self, MRT_SEC(10), MRT_SEC(10), worker_tick, NULL, NULL);
}

static const mrt_handler_entry worker_handlers[] = {
    {&mrt_msg_echo, server_echo},
    {&mrt_msg_supervisor_stop_request, mrt_supervisor_stop_request_default},
    {NULL, NULL},
};
static const mrt_actor_class worker_class = {
    .name = "af-worker",
    .on_start = worker_on_start,
    .handlers = worker_handlers,
};

static mrt_child_spec worker_spec(const char *id) {
  return (mrt_child_spec){.id = id, .cls = &worker_class, .heartbeat_stale_ns = MRT_SEC(60)};
}

/* ---- the fixture ------------------------------------------------------------------------ */

typedef struct fx {
  mrt_runtime *rt;
  mrt_ref *server, *client, *client2, *victim, *sub[2], *sup;
  int rc[8];
  item it[4];
} fx;

static void quiet_sink(const mrt_log_record *rec, void *user) {
  (void)user;
  if (verbose)
    fprintf(stderr, "  log %s %s: %s\n", mrt_log_level_name(rec->level),
            rec->component ? rec->component : "-", rec->text);
}

/* libevent reports its own allocation failures on stderr. */
static void quiet_libevent(int severity, const char *msg) {
  if (verbose)
    fprintf(stderr, "  libevent %d: %s\n", severity, msg);
}

static mrt_runtime *new_runtime(void) {
  mrt_runtime *rt = NULL;
  assert_int_equal(mrt_test_runtime_new(2, &rt), 0);
  return rt;
}

static mrt_ref *spawn(mrt_runtime *rt, const mrt_actor_class *cls, const void *args,
                      const mrt_spawn_opts *opts) {
  mrt_ref *ref = NULL;
  assert_int_equal(mrt_actor_spawn(rt, cls, args, opts, &ref), 0);
  return ref;
}

static int spawn_client(mrt_runtime *rt, mrt_ref *server, bool busy, const mrt_spawn_opts *opts,
                        mrt_ref **out) {
  client_args a = {mrt_ref_ref(server), busy};
  int rc = mrt_actor_spawn(rt, &client_class, &a, opts, out);
  if (rc < 0)
    mrt_ref_unref(a.server); /* a failed spawn keeps no args */
  return rc;
}

static void base_world(fx *f) {
  f->rt = new_runtime();
  f->server = spawn(f->rt, &server_class, NULL, NULL);
}

static void client_world(fx *f) {
  base_world(f);
  mrt_spawn_opts trap = {.executor = MRT_EXECUTOR_AUTO, .trap_exits = true};
  assert_int_equal(spawn_client(f->rt, f->server, false, &trap, &f->client), 0);
  assert_int_equal(spawn_client(f->rt, f->server, false, NULL, &f->client2), 0);
  mrt_runtime_run_until_idle(f->rt);
}

/* A tell whose payload the caller drops if the tell fails. */
static int tell_item(mrt_ref *to, item *it) {
  int rc = MRT_TELL(item, to, it);
  if (rc < 0)
    item_drop(it);
  return rc;
}

/* The runtime still works: a new actor starts, a tell arrives, a host ask and
 * an actor's ask are answered. Nothing here is failed on purpose. */
static void check_usable(fx *f) {
  if (f->server == NULL || !mrt_ref_alive(f->server)) {
    mrt_ref_unref(f->server);
    f->server = spawn(f->rt, &server_class, NULL, NULL);
  }
  mrt_ref *c = NULL;
  assert_int_equal(spawn_client(f->rt, f->server, false, NULL, &c), 0);
  item it = item_new();
  uint32_t id = it.id;
  assert_int_equal(tell_item(f->server, &it), 0);
  int reply = 0;
  assert_int_equal(MRT_ASK_SYNC(echo, f->server, &(int){41}, &reply, MRT_SEC(30)), 0);
  assert_int_equal(reply, 42);
  assert_int_equal(acc.received[id], 1);
  uint32_t ask = acc.asks;
  assert_int_equal(MRT_TELL(go_ask, c, &(mrt_none){0}), 0);
  mrt_runtime_run_until_idle(f->rt);
  assert_int_equal(acc.asks, ask + 1);
  assert_int_equal(acc.answers[ask], 1);
  assert_int_equal(acc.status[ask], 0);
  mrt_actor_stop(c);
  mrt_ref_unref(c);
}

static void teardown(fx *f) {
  if (f->rt != NULL)
    assert_int_equal(mrt_runtime_shutdown(f->rt), 0);
  mrt_ref **refs[] = {&f->server, &f->client, &f->client2, &f->victim,
                      &f->sub[0], &f->sub[1], &f->sup};
  for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
    *refs[i] = mrt_ref_unref(*refs[i]);
  f->rt = mrt_runtime_unref(f->rt);
}

/* ---- the driver ---------------------------------------------------------------------------- */

typedef struct scenario {
  const char *name;
  void (*setup)(fx *f);
  void (*step)(fx *f);              /* the calls under test */
  void (*check)(fx *f, bool fired); /* right after them, nothing failing */
  bool usable;                      /* the runtime must work afterwards */
} scenario;

/* One run with the nth allocation failing (0: none), and with `sticky` every
 * one after it too. Returns whether a failure was injected. */
static bool run_once(const scenario *s, uint64_t nth, bool sticky) {
  fx f = {0};
  acc_reset();
  if (s->setup != NULL)
    s->setup(&f);
  sticky_run = sticky;
  failalloc_arm(nth, sticky);
  s->step(&f);
  uint64_t count = failalloc_count();
  bool fired = failalloc_disarm();
  if (verbose)
    fprintf(stderr, "%s: N=%llu%s allocations=%llu fired=%d\n", s->name, (unsigned long long)nth,
            sticky ? " and on" : "", (unsigned long long)count, fired);
  if (s->check != NULL)
    s->check(&f, fired);
  if (s->usable)
    check_usable(&f);
  teardown(&f);
  check_drops(s->name);
  check_answers(s->name);
  return fired;
}

/* Every N until a run needs fewer than N allocations: first with only the
 * Nth failing (a transient shortage), then with all from the Nth on (memory
 * stays short until the calls return: what they do to recover must not need
 * memory either). */
static void run(const scenario *s) {
  assert_true(failalloc_active());
  run_once(s, 0, false); /* warm-up: lazily made globals (libevent's, libc's) exist now */
  for (int sticky = 0; sticky < 2; sticky++) {
    uint64_t n = 1;
    for (;; n++) {
      if (n > MAX_N)
        fail_msg("%s: still failing allocations at N=%llu", s->name, (unsigned long long)n);
      int64_t before = failalloc_live_bytes();
      bool fired = run_once(s, n, sticky);
      int64_t leaked = failalloc_live_bytes() - before;
      if (leaked != 0)
        fail_msg("%s: N=%llu%s: %lld bytes not freed", s->name, (unsigned long long)n,
                 sticky ? " and on" : "", (long long)leaked);
      if (!fired)
        break;
    }
    print_message("%s: %llu allocation points, %s\n", s->name, (unsigned long long)(n - 1),
                  sticky ? "each failing with all after it" : "each failing once");
  }
}

#define SCENARIO(fn, ...)                                                                          \
  static void fn(void **unused) {                                                                  \
    (void)unused;                                                                                  \
    static const scenario s = {#fn, __VA_ARGS__};                                                  \
    run(&s);                                                                                       \
  }

/* ---- runtime: new, start, shutdown ------------------------------------------------------ */

static void new_step(fx *f) {
  mrt_runtime_config cfg = {
      .executors = 2, .virtual_clock = true, .virtual_start_ns = MRT_TEST_START_NS};
  f->rc[0] = mrt_runtime_new(&cfg, &f->rt);
}

static void new_check(fx *f, bool fired) {
  (void)fired;
  expect_ok_or_enomem(f->rc[0], "mrt_runtime_new");
  assert_true((f->rc[0] == 0) == (f->rt != NULL));
  if (f->rt == NULL)
    f->rt = new_runtime(); /* and it must work when memory is back */
}

SCENARIO(runtime_new, NULL, new_step, new_check, true)

/* Threads: the test thread's allocations (the runtime, the executors'
 * libevent bases, pthread_create's) are counted; the executor threads'
 * are not, so the run stays deterministic. */
static void start_step(fx *f) {
  mrt_runtime_config cfg = {.executors = 2};
  f->rc[0] = mrt_runtime_new(&cfg, &f->rt);
  if (f->rc[0] == 0)
    f->rc[1] = mrt_runtime_start(f->rt);
}

static void start_check(fx *f, bool fired) {
  (void)fired;
  expect_ok_or_enomem(f->rc[0], "mrt_runtime_new");
  if (f->rt == NULL)
    return;
  /* pthread_create reports a failed allocation as EAGAIN. */
  if (f->rc[1] < 0 && f->rc[1] != -ENOMEM && f->rc[1] != -EAGAIN)
    fail_msg("mrt_runtime_start returned %s", mrt_strerror(f->rc[1]));
  if (f->rc[1] < 0) /* a failed start can be retried */
    assert_int_equal(mrt_runtime_start(f->rt), 0);
  /* Usable: an actor on each executor answers. */
  for (int i = 0; i < 2; i++) {
    mrt_spawn_opts o = {.executor = i};
    mrt_ref *s = spawn(f->rt, &server_class, NULL, &o);
    int reply = 0;
    assert_int_equal(MRT_ASK_SYNC(echo, s, &(int){i}, &reply, MRT_SEC(60)), 0);
    assert_int_equal(reply, i + 1);
    mrt_ref_unref(s);
  }
}

SCENARIO(runtime_start, NULL, start_step, start_check, false)

/* Shutdown of a busy runtime: asks pending both ways, timers, monitors,
 * links, bus subscriptions with a retained value, a supervisor tree. */
static void busy_world(fx *f) {
  client_world(f);
  mrt_ref *c3 = NULL;
  assert_int_equal(spawn_client(f->rt, f->server, true, NULL, &c3), 0);
  mrt_runtime_run_until_idle(f->rt);
  assert_int_equal(MRT_TELL(go_hold, f->client, &(mrt_none){0}), 0);
  assert_int_equal(MRT_TELL(go_timers, f->client, &(mrt_none){0}), 0);
  f->victim = spawn(f->rt, &server_class, NULL, NULL);
  watch_req w = {mrt_ref_ref(f->victim), 0, true, true};
  assert_int_equal(MRT_TELL(go_watch, f->client, &w), 0);
  mrt_bus *bus = mrt_runtime_bus(f->rt);
  assert_non_null(bus);
  assert_int_equal(mrt_bus_configure(bus, &mrt_msg_news, &(mrt_bus_type_opts){.retained = true}),
                   0);
  f->sub[0] = spawn(f->rt, &sub_class, &(sub_args){0}, NULL);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_news, f->sub[0]), 0);
  item it = item_new();
  assert_int_equal(mrt_bus_publish(bus, &mrt_msg_news, &it, sizeof it), 1);
  it = item_new();
  assert_int_equal(MRT_TELL(item, f->server, &it), 0); /* queued, not yet handled */
  mrt_child_spec ch[] = {worker_spec("a"), worker_spec("b")};
  mrt_supervisor_spec spec = {.name = "af-sup", .children = ch, .n_children = 2};
  assert_int_equal(mrt_supervisor_spawn(f->rt, &spec, NULL, &f->sup), 0);
  assert_int_equal(mrt_supervisor_await_boot(f->sup, 0), 0);
  assert_int_equal(MRT_TELL(go_hold, c3, &(mrt_none){0}), 0);
  mrt_ref_unref(c3);
}

static void shutdown_step(fx *f) {
  f->rc[0] = mrt_runtime_shutdown(f->rt);
}

static void shutdown_check(fx *f, bool fired) {
  (void)fired;
  assert_int_equal(f->rc[0], 0);
  mrt_runtime_stats st;
  mrt_runtime_get_stats(f->rt, &st);
  assert_int_equal(st.actors_live, 0);
  /* The asks the server held were answered when it stopped. */
  for (uint32_t i = 0; i < acc.asks; i++)
    assert_int_equal(acc.answers[i], 1);
}

SCENARIO(runtime_shutdown, busy_world, shutdown_step, shutdown_check, false)

/* ---- actors: spawn with on_start, tell, ask, ask_sync, timers ------------------------- */

/* A client whose on_start allocates, and one linked to the victim at spawn. */
static void spawn_step(fx *f) {
  f->rc[0] = spawn_client(f->rt, f->server, true, NULL, &f->client);
  mrt_spawn_opts linked = {.executor = MRT_EXECUTOR_AUTO, .link_to = f->victim};
  f->rc[1] = spawn_client(f->rt, f->server, false, &linked, &f->client2);
  mrt_runtime_run_until_idle(f->rt);
}

static void spawn_world(fx *f) {
  base_world(f);
  f->victim = spawn(f->rt, &server_class, NULL, NULL);
  mrt_runtime_run_until_idle(f->rt);
}

static void spawn_check(fx *f, bool fired) {
  (void)fired;
  expect_ok_or_enomem(f->rc[0], "mrt_actor_spawn");
  if (f->rc[0] < 0) {
    assert_null(f->client);
    return;
  }
  /* on_start ran; if it failed (its timer or its ask), the actor is gone. */
  if (mrt_ref_alive(f->client)) {
    assert_int_equal(acc.asks, 1);
    mrt_runtime_advance(f->rt, MRT_SEC(2));
    assert_int_equal(acc.ticks, 1);
  }
  /* Spawned means linked: the victim's abnormal exit takes it down. */
  expect_ok_or_enomem(f->rc[1], "mrt_actor_spawn");
  assert_true((f->rc[1] == 0) == (f->client2 != NULL));
  assert_int_equal(mrt_ref_alive(f->client2), f->rc[1] == 0);
  assert_int_equal(mrt_actor_kill(f->victim), 0);
  mrt_runtime_run_until_idle(f->rt);
  assert_false(mrt_ref_alive(f->client2));
}

SCENARIO(actor_spawn, spawn_world, spawn_step, spawn_check, true)

static void tell_step(fx *f) {
  for (int i = 0; i < 2; i++) {
    item it = f->it[i];
    f->rc[i] = tell_item(f->server, &it);
  }
  mrt_runtime_run_until_idle(f->rt);
}

static void tell_world(fx *f) {
  base_world(f);
  f->it[0] = item_new();
  f->it[1] = item_new();
}

static void tell_check(fx *f, bool fired) {
  (void)fired;
  for (int i = 0; i < 2; i++) {
    expect_ok_or_enomem(f->rc[i], "mrt_tell");
    /* Accepted means delivered (the server is alive and unbounded). */
    assert_int_equal(acc.received[f->it[i].id], f->rc[i] == 0 ? 1 : 0);
  }
  assert_true(mrt_ref_alive(f->server));
}

SCENARIO(tell, tell_world, tell_step, tell_check, true)

static void ask_step(fx *f) {
  f->rc[0] = MRT_TELL(go_ask, f->client, &(mrt_none){0});
  mrt_runtime_run_until_idle(f->rt);
}

static void ask_check(fx *f, bool fired) {
  (void)fired;
  expect_ok_or_enomem(f->rc[0], "mrt_tell");
  if (f->rc[0] < 0)
    return;
  /* Either the ask was refused at once, or it is answered by now. */
  assert_int_equal(acc.asks + acc.ask_refused, 1);
  if (acc.asks == 1) {
    assert_int_equal(acc.answers[0], 1);
    expect_ok_or_enomem(acc.status[0], "the ask's answer");
  }
  assert_true(mrt_ref_alive(f->client));
}

SCENARIO(ask_from_actor, client_world, ask_step, ask_check, true)

static void ask_sync_step(fx *f) {
  int reply = 0;
  f->rc[0] = MRT_ASK_SYNC(echo, f->server, &(int){1}, &reply, MRT_SEC(30));
  f->rc[1] = reply;
  item it = f->it[0];
  int id = -1;
  f->rc[2] = MRT_ASK_SYNC(item, f->server, &it, &id, MRT_SEC(30));
  /* A refused ask leaves the payload with the caller; an accepted one does not. */
  if (f->rc[2] < 0 && acc.received[it.id] == 0 && acc.drops[it.id] == 0)
    item_drop(&it);
  f->rc[3] = id;
}

static void ask_sync_world(fx *f) {
  base_world(f);
  f->it[0] = item_new();
}

static void ask_sync_check(fx *f, bool fired) {
  (void)fired;
  expect_ok_or_enomem(f->rc[0], "mrt_ask_sync");
  if (f->rc[0] == 0)
    assert_int_equal(f->rc[1], 2);
  expect_ok_or_enomem(f->rc[2], "mrt_ask_sync");
  if (f->rc[2] == 0)
    assert_int_equal(f->rc[3], (int)f->it[0].id);
}

SCENARIO(ask_sync, ask_sync_world, ask_sync_step, ask_sync_check, true)

static void timers_step(fx *f) {
  f->rc[0] = MRT_TELL(go_timers, f->client, &(mrt_none){0});
  mrt_runtime_advance(f->rt, MRT_SEC(2));
}

static void timers_check(fx *f, bool fired) {
  (void)fired;
  expect_ok_or_enomem(f->rc[0], "mrt_tell");
  assert_true(mrt_ref_alive(f->client));
  if (f->rc[0] < 0)
    return;
  expect_ok_or_enomem(acc.timer_rc, "mrt_timer_start");
  expect_ok_or_enomem(acc.send_after_rc, "mrt_send_after");
  /* A timer that started has fired; a message sent later has arrived. */
  assert_int_equal(acc.ticks, acc.timer_rc == 0 ? 1 : 0);
  assert_int_equal(acc.received[acc.send_after_item], acc.send_after_rc == 0 ? 1 : 0);
}

SCENARIO(timers, client_world, timers_step, timers_check, true)

/* ---- monitors and links ------------------------------------------------------------------ */

static void watch_world(fx *f) {
  client_world(f);
  f->victim = spawn(f->rt, &server_class, NULL, NULL);
  mrt_runtime_run_until_idle(f->rt);
}

/* client (traps exits) monitors and links the victim; client2 (does not
 * trap) links it; then the victim is killed. */
static void watch_step(fx *f) {
  watch_req w1 = {mrt_ref_ref(f->victim), 0, true, true};
  f->rc[0] = MRT_TELL(go_watch, f->client, &w1);
  if (f->rc[0] < 0)
    mrt_ref_unref(w1.target);
  watch_req w2 = {mrt_ref_ref(f->victim), 1, false, true};
  f->rc[1] = MRT_TELL(go_watch, f->client2, &w2);
  if (f->rc[1] < 0)
    mrt_ref_unref(w2.target);
  mrt_runtime_run_until_idle(f->rt);
  f->rc[2] = mrt_actor_kill(f->victim);
  mrt_runtime_run_until_idle(f->rt);
}

static void watch_check(fx *f, bool fired) {
  (void)fired;
  expect_ok_or_enomem(f->rc[0], "mrt_tell");
  expect_ok_or_enomem(f->rc[1], "mrt_tell");
  expect_ok_or_enomem(f->rc[2], "mrt_actor_kill");
  if (f->rc[2] == 0)
    assert_false(mrt_ref_alive(f->victim));
  else
    assert_int_equal(mrt_actor_kill(f->victim), 0);
  mrt_runtime_run_until_idle(f->rt);
  expect_ok_or_enomem(acc.watch_rc[0][0] == 1 ? 0 : acc.watch_rc[0][0], "mrt_monitor");
  expect_ok_or_enomem(acc.watch_rc[0][1] == 1 ? 0 : acc.watch_rc[0][1], "mrt_link");
  expect_ok_or_enomem(acc.watch_rc[1][1] == 1 ? 0 : acc.watch_rc[1][1], "mrt_link");
  /* An accepted monitor delivers one DOWN; an accepted link one EXIT to the
   * trapping client and a stop to the other. */
  assert_int_equal(acc.downs, acc.watch_rc[0][0] == 0 ? 1 : 0);
  assert_int_equal(acc.exits, acc.watch_rc[0][1] == 0 ? 1 : 0);
  assert_true(mrt_ref_alive(f->client));
  assert_int_equal(mrt_ref_alive(f->client2), acc.watch_rc[1][1] != 0);
}

SCENARIO(monitor_link, watch_world, watch_step, watch_check, true)

/* ---- the bus ----------------------------------------------------------------------------- */

static mrt_bus_publish_result bus_res[2];

static void bus_world(fx *f) {
  base_world(f);
  f->sub[0] = spawn(f->rt, &sub_class, &(sub_args){0}, NULL);
  f->sub[1] = spawn(f->rt, &sub_class, &(sub_args){1}, NULL);
  mrt_runtime_run_until_idle(f->rt);
  f->it[0] = item_new();
  f->it[1] = item_new();
  memset(bus_res, 0, sizeof bus_res);
}

/* A publish whose payload the caller drops if the publish fails. */
static int publish(mrt_bus *bus, item *it, mrt_bus_publish_result *res) {
  int rc = mrt_bus_publish_ex(bus, &mrt_msg_news, it, sizeof *it, res);
  if (rc < 0)
    item_drop(it);
  return rc;
}

/* sub[0] subscribes, a retained value is published, sub[1] subscribes (and
 * gets it), a second value reaches both. */
static void bus_step(fx *f) {
  mrt_bus *bus = mrt_runtime_bus(f->rt);
  f->rc[0] = bus != NULL ? 0 : -ENOMEM;
  if (bus == NULL) {
    item_drop(&f->it[0]);
    item_drop(&f->it[1]);
    return;
  }
  f->rc[1] = mrt_bus_configure(bus, &mrt_msg_news, &(mrt_bus_type_opts){.retained = true});
  f->rc[2] = mrt_bus_subscribe(bus, &mrt_msg_news, f->sub[0]);
  item it = f->it[0];
  f->rc[3] = publish(bus, &it, &bus_res[0]);
  f->rc[4] = mrt_bus_subscribe(bus, &mrt_msg_news, f->sub[1]);
  it = f->it[1];
  f->rc[5] = publish(bus, &it, &bus_res[1]);
  mrt_runtime_run_until_idle(f->rt);
}

static void bus_check(fx *f, bool fired) {
  (void)fired;
  for (int i = 0; i < 6; i++)
    expect_ok_or_enomem(f->rc[i], "bus call");
  if (f->rc[0] < 0)
    return;
  uint32_t a = f->it[0].id, b = f->it[1].id;
  /* Each publish accounts for every subscriber it had: delivered, or
   * reported dropped (a mailbox full, or no memory for the envelope). */
  unsigned subs_a = f->rc[2] == 0, subs_b = subs_a + (f->rc[4] == 0);
  if (f->rc[3] == 0)
    assert_int_equal(bus_res[0].delivered + bus_res[0].dropped_full, subs_a);
  if (f->rc[5] == 0)
    assert_int_equal(bus_res[1].delivered + bus_res[1].dropped_full, subs_b);
  /* What a publish reports delivered has arrived. */
  if (f->rc[3] == 0)
    assert_int_equal(bus_res[0].delivered, acc.news[0][a]);
  if (f->rc[5] == 0)
    assert_int_equal(bus_res[1].delivered, acc.news[0][b] + acc.news[1][b]);
  /* A subscriber accepted while a value is retained receives it; one refused
   * receives nothing. */
  if (f->rc[1] == 0 && f->rc[3] == 0 && f->rc[4] == 0)
    assert_int_equal(acc.news[1][a], 1);
  if (f->rc[4] != 0) {
    assert_int_equal(acc.news[1][a], 0);
    assert_int_equal(acc.news[1][b], 0);
  }
}

SCENARIO(bus, bus_world, bus_step, bus_check, true)

/* ---- supervisors ------------------------------------------------------------------------- */

static mrt_child_spec nested_children[] = {
    {.id = "n1", .cls = &worker_class},
};

static const mrt_supervisor_spec nested_spec = {
    .name = "af-nested", .children = nested_children, .n_children = 1};

/* "a" and "b" are workers; "n" a nested supervisor (its boot is reported by
 * a message of its own, not confirmed by the barrier). */
static mrt_child_spec sup_children[] = {
    {.id = "a", .cls = &worker_class, .heartbeat_stale_ns = MRT_SEC(60)},
    {.id = "b", .cls = &worker_class, .heartbeat_stale_ns = MRT_SEC(60)},
    {.id = "n", .supervisor = &nested_spec},
};

static const mrt_supervisor_spec sup_spec = {
    .name = "af-sup", .children = sup_children, .n_children = 3};

/* Long enough for any backoff gate (a crash loop cools down for 5 min). */
#define SETTLE MRT_SEC(700)

static void dump_events(mrt_ref *sup) {
  mrt_supervisor_event_list *l = NULL;
  if (!verbose || mrt_supervisor_events(sup, 0, &l) < 0)
    return;
  for (size_t k = 0; k < l->n; k++)
    fprintf(stderr, "  event %llu %s %s attempt %llu status %s\n",
            (unsigned long long)l->events[k].seq, mrt_supervisor_event_kind_name(l->events[k].kind),
            l->events[k].child_id, (unsigned long long)l->events[k].attempt,
            mrt_child_status_name(l->events[k].status));
  mrt_supervisor_event_list_free(l);
}

/* Every ACTIVE child of `sup` runs (and answers), no other does, in nested
 * supervisors too. */
static void check_children(mrt_ref *sup) {
  mrt_supervisor_state *st = NULL;
  assert_int_equal(mrt_supervisor_current_state(sup, &st), 0);
  for (size_t i = 0; i < st->n_children; i++) {
    const mrt_child_record *r = &st->children[i];
    bool running = r->status == MRT_CHILD_RUNNING || r->status == MRT_CHILD_READY;
    if (r->operation == MRT_OP_ACTIVE && (!r->active || !running)) {
      dump_events(sup);
      fail_msg("child %s is active but not running (status %s, attempt %llu)", r->id,
               mrt_child_status_name(r->status), (unsigned long long)r->attempt);
    }
    if (r->operation != MRT_OP_ACTIVE && r->active)
      fail_msg("child %s is %s but running", r->id, mrt_child_operation_name(r->operation));
    /* Workers stop as soon as they are asked: a stop that had to be forced
     * after the grace period means a stop request was lost. */
    if (r->has_stop_failure)
      fail_msg("child %s: stop failed: %s", r->id, r->stop_failure.reason);
    if (!r->active)
      continue;
    mrt_ref *c = NULL;
    assert_int_equal(mrt_supervisor_child_ref(sup, r->id, &c), 0);
    if (mrt_ref_accepts(c, &mrt_msg_echo)) {
      int reply = 0;
      assert_int_equal(MRT_ASK_SYNC(echo, c, &(int){7}, &reply, MRT_SEC(30)), 0);
      assert_int_equal(reply, 8);
    } else {
      check_children(c);
    }
    mrt_ref_unref(c);
  }
  mrt_supervisor_state_free(st);
}

/* After the gates open, the tree runs as specified. A restart whose gate
 * timer could not be started (no memory) is retried at the supervisor's next
 * message: a query comes first. */
static void check_tree(fx *f) {
  mrt_supervisor_state *st = NULL;
  assert_int_equal(mrt_supervisor_current_state(f->sup, &st), 0);
  mrt_supervisor_state_free(st);
  mrt_runtime_advance(f->rt, SETTLE);
  check_children(f->sup);
  /* Operator commands work again. */
  mrt_child_outcome o;
  assert_int_equal(mrt_supervisor_restart(f->sup, "a", &o), 0);
}

static void sup_spawn_step(fx *f) {
  f->rc[0] = mrt_supervisor_spawn(f->rt, &sup_spec, NULL, &f->sup);
  if (f->rc[0] == 0)
    f->rc[1] = mrt_supervisor_await_boot(f->sup, 0);
}

static void sup_spawn_check(fx *f, bool fired) {
  (void)fired;
  expect_ok_or_enomem(f->rc[0], "mrt_supervisor_spawn");
  if (f->rc[0] < 0)
    return;
  /* A supervisor whose own start failed says so, and is gone. */
  /* -ENOMEM: the wait could not be sent, or the supervisor's start failed
   * (then it is gone). -ETIMEDOUT: memory stayed short, so children could
   * not start (and the restart timers for them could not be set). */
  if (!sticky_run || f->rc[1] != -ETIMEDOUT)
    expect_ok_or_enomem(f->rc[1], "mrt_supervisor_await_boot");
  if (f->rc[1] < 0 && mrt_supervisor_await_boot(f->sup, 0) < 0) {
    mrt_runtime_run_until_idle(f->rt);
    assert_false(mrt_ref_alive(f->sup));
    return;
  }
  check_tree(f);
}

SCENARIO(supervisor_spawn, base_world, sup_spawn_step, sup_spawn_check, true)

static void sup_world(fx *f) {
  base_world(f);
  assert_int_equal(mrt_supervisor_spawn(f->rt, &sup_spec, NULL, &f->sup), 0);
  assert_int_equal(mrt_supervisor_await_boot(f->sup, 0), 0);
}

static void sup_add_step(fx *f) {
  mrt_child_spec c = worker_spec("c");
  mrt_child_outcome o;
  f->rc[0] = mrt_supervisor_add_child(f->sup, &c, &o);
}

static void sup_add_check(fx *f, bool fired) {
  (void)fired;
  expect_ok_or_enomem(f->rc[0], "mrt_supervisor_add_child");
  check_tree(f);
  mrt_supervisor_state *st = NULL;
  assert_int_equal(mrt_supervisor_current_state(f->sup, &st), 0);
  bool added = mrt_supervisor_state_find(st, "c") != NULL;
  mrt_supervisor_state_free(st);
  if (f->rc[0] == 0)
    assert_true(added);
  /* Added or not, adding it again works. */
  mrt_child_spec c = worker_spec("c");
  mrt_child_outcome o;
  assert_int_equal(mrt_supervisor_add_child(f->sup, &c, &o), 0);
  assert_int_equal(o.idempotent, added);
}

SCENARIO(supervisor_add_child, sup_world, sup_add_step, sup_add_check, true)

static void sup_control_step(fx *f) {
  mrt_child_outcome o;
  f->rc[0] = mrt_supervisor_pause(f->sup, "a", &o);
  f->rc[1] = mrt_supervisor_restart(f->sup, "b", &o);
  f->rc[2] = mrt_supervisor_quarantine(f->sup, "b", &o);
  f->rc[3] = mrt_supervisor_resume(f->sup, "a", &o);
  f->rc[4] = mrt_supervisor_remove(f->sup, "b", &o);
  mrt_supervisor_state *st = NULL;
  f->rc[5] = mrt_supervisor_current_state(f->sup, &st);
  mrt_supervisor_state_free(st);
  mrt_supervisor_event_list *ev = NULL;
  f->rc[6] = mrt_supervisor_events(f->sup, 0, &ev);
  mrt_supervisor_event_list_free(ev);
  mrt_supervisor_metrics *m = NULL;
  f->rc[7] = mrt_supervisor_metrics_get(f->sup, &m);
  mrt_supervisor_metrics_free(m);
}

static void sup_control_check(fx *f, bool fired) {
  (void)fired;
  for (int i = 0; i < 8; i++)
    expect_ok_or_enomem(f->rc[i], "supervisor call");
  check_tree(f);
  mrt_supervisor_state *st = NULL;
  assert_int_equal(mrt_supervisor_current_state(f->sup, &st), 0);
  const mrt_child_record *a = mrt_supervisor_state_find(st, "a");
  const mrt_child_record *b = mrt_supervisor_state_find(st, "b");
  assert_non_null(a);
  /* What the commands that succeeded did, holds. */
  if (f->rc[3] == 0)
    assert_int_equal(a->operation, MRT_OP_ACTIVE);
  if (f->rc[4] == 0)
    assert_null(b);
  mrt_supervisor_state_free(st);
}

SCENARIO(supervisor_control, sup_world, sup_control_step, sup_control_check, true)

static void sup_shutdown_step(fx *f) {
  f->rc[0] = mrt_supervisor_shutdown(f->sup, 0);
}

static void sup_shutdown_check(fx *f, bool fired) {
  (void)fired;
  expect_ok_or_enomem(f->rc[0], "mrt_supervisor_shutdown");
  if (f->rc[0] < 0) /* the request was not delivered: it can be repeated */
    assert_int_equal(mrt_supervisor_shutdown(f->sup, 0), 0);
  mrt_runtime_run_until_idle(f->rt);
  assert_false(mrt_ref_alive(f->sup));
  mrt_runtime_stats st;
  mrt_runtime_get_stats(f->rt, &st);
  assert_int_equal(st.actors_live, 1); /* the server */
}

SCENARIO(supervisor_shutdown, sup_world, sup_shutdown_step, sup_shutdown_check, true)

/* ---- the allocator hook itself ------------------------------------------------------------- */

/* The hook reaches allocations made inside libmeshrt (and libevent), not
 * just the test's own: a runtime cannot be created when its first
 * allocation fails. */
static void hook_reaches_the_library(void **unused) {
  (void)unused;
  assert_true(failalloc_active());
  mrt_runtime *rt = NULL;
  failalloc_arm(1, false);
  int rc = mrt_runtime_new(NULL, &rt);
  assert_true(failalloc_disarm());
  assert_int_equal(rc, -ENOMEM);
  assert_null(rt);
  /* Sticky: every allocation after the first failing one fails too. */
  failalloc_arm(3, true);
  rc = mrt_runtime_new(NULL, &rt);
  uint64_t count = failalloc_count();
  assert_true(failalloc_disarm());
  assert_int_equal(rc, -ENOMEM);
  assert_true(count >= 3);
  /* Disarmed, nothing fails, and everything is given back. */
  int64_t before = failalloc_live_bytes();
  assert_int_equal(mrt_runtime_new(NULL, &rt), 0);
  assert_true(failalloc_live_bytes() > before);
  mrt_runtime_unref(rt);
  assert_int_equal(failalloc_live_bytes(), before);
}

int main(void) {
  verbose = getenv("FAILALLOC_VERBOSE") != NULL;
  void *volatile probe = malloc(1); /* volatile: the pair must not be elided */
  free(probe);
  if (!failalloc_active()) {
    /* Something else replaced the allocator first (valgrind does, unless
     * told --soname-synonyms=somalloc=nouserintercepts). */
    fprintf(stderr, "test-allocfail: the test's allocator is not in use, skipping\n");
    return 77;
  }
  event_set_log_callback(quiet_libevent);
  mrt_log_set_sink(quiet_sink, NULL);
  if (getenv("FAILALLOC_ONLY") != NULL) /* a debugging aid: one scenario */
    cmocka_set_test_filter(getenv("FAILALLOC_ONLY"));
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(hook_reaches_the_library),
      cmocka_unit_test(runtime_new),
      cmocka_unit_test(runtime_start),
      cmocka_unit_test(actor_spawn),
      cmocka_unit_test(tell),
      cmocka_unit_test(ask_from_actor),
      cmocka_unit_test(ask_sync),
      cmocka_unit_test(timers),
      cmocka_unit_test(monitor_link),
      cmocka_unit_test(bus),
      cmocka_unit_test(supervisor_spawn),
      cmocka_unit_test(supervisor_add_child),
      cmocka_unit_test(supervisor_control),
      cmocka_unit_test(supervisor_shutdown),
      cmocka_unit_test(runtime_shutdown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
