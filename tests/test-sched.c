/* SPDX-License-Identifier: MIT */
/* Tests: scheduling across executors (runtime/executor.c) — an actor woken
 * from another executor moves to the waker's thread, a pinned actor (timers,
 * explicit executor) never does, a moved actor keeps timers, fd watches,
 * asks, deferred replies and monitors working, ready work is donated to an
 * idle executor but a pipeline with credits is not split, actors on four executors telling one actor that keeps
 * moving lose nothing and keep per-sender order, executor 0 of an attached
 * runtime (the host's loop thread) neither loses nor gains actors, the
 * `near` spawn hint, and an idle runtime that neither spins nor wakes.
 *
 * Which thread runs a handler is observed with pthread_self(); nothing here
 * depends on timing: the tests wait for messages, never for the clock (the
 * idle test sleeps only to give a misbehaving runtime time to show itself).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <meshrt/meshrt.h>
#include <meshrt/testing.h>

#include "order-actor.h"

static uint64_t thread_id(void) {
  return (uint64_t)pthread_self();
}

typedef struct ball {
  mrt_ref *from; /* borrowed: the sender outlives the exchange */
} ball;

typedef struct run_req {
  mrt_ref *peer;
  uint32_t rounds;
} run_req;

MRT_MESSAGE_DECLARE(, ping, ball, mrt_none);
MRT_MESSAGE_DEFINE(ping, ball, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, pong, ball, mrt_none);
MRT_MESSAGE_DEFINE(pong, ball, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, run, run_req, uint64_t);
MRT_MESSAGE_DEFINE(run, run_req, uint64_t, NULL, NULL);
MRT_MESSAGE_DECLARE(, go, run_req, mrt_none);
MRT_MESSAGE_DEFINE(go, run_req, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, where, mrt_none, uint64_t);
MRT_MESSAGE_DEFINE(where, mrt_none, uint64_t, NULL, NULL);
MRT_MESSAGE_DECLARE(, done, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(done, mrt_none, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, wait_all, uint32_t, uint64_t);
MRT_MESSAGE_DEFINE(wait_all, uint32_t, uint64_t, NULL, NULL);
MRT_MESSAGE_DECLARE(, strayed, mrt_none, uint64_t);
MRT_MESSAGE_DEFINE(strayed, mrt_none, uint64_t, NULL, NULL);

static int reply_where(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)p;
  uint64_t me = thread_id();
  return MRT_REPLY(where, r, &me);
}

static uint64_t where(mrt_ref *ref) {
  uint64_t t = 0;
  assert_int_equal(MRT_ASK_SYNC(where, ref, &(mrt_none){0}, &t, MRT_SEC(60)), 0);
  return t;
}

/* ---- anchor: a do-nothing actor to pin an executor and place others near -- */

static const mrt_handler_entry anchor_handlers[] = {{&mrt_msg_where, reply_where}, {NULL, NULL}};
static const mrt_actor_class anchor_class = {.name = "anchor", .handlers = anchor_handlers};

static mrt_ref *spawn_anchor(mrt_runtime *rt, int executor) {
  mrt_ref *a = NULL;
  mrt_spawn_opts o = {.executor = executor};
  assert_int_equal(mrt_actor_spawn(rt, &anchor_class, NULL, &o, &a), 0);
  return a;
}

/* ---- echo: answers ping with pong; optionally pinned by a timer ---------- */

typedef struct echo_state {
  uint64_t pings;
  uint64_t start_thread; /* where on_start ran */
  uint64_t strayed;      /* a ping was handled on another thread */
} echo_state;

static int echo_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  (void)args;
  ((echo_state *)state)->start_thread = thread_id();
  return 0;
}

static int echo_ping(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)r;
  echo_state *st = state;
  st->pings++;
  if (thread_id() != st->start_thread)
    st->strayed = 1;
  return MRT_TELL(pong, ((const ball *)p)->from, &(ball){self});
}

static int echo_strayed(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  return MRT_REPLY(strayed, r, &((echo_state *)state)->strayed);
}

static int never(mrt_actor *self, void *state, void *ud) {
  (void)self;
  (void)state;
  (void)ud;
  return 0;
}

/* A timer, even one far away, ties the actor to its executor. */
static int timed_echo_start(mrt_actor *self, void *state, const void *args) {
  echo_start(self, state, args);
  return mrt_timer_start(self, MRT_SEC(3600), 0, never, NULL, NULL);
}

static const mrt_handler_entry echo_handlers[] = {{&mrt_msg_ping, echo_ping},
                                                  {&mrt_msg_where, reply_where},
                                                  {&mrt_msg_strayed, echo_strayed},
                                                  {NULL, NULL}};
static const mrt_actor_class echo_class = {.name = "echo",
                                           .state_size = sizeof(echo_state),
                                           .on_start = echo_start,
                                           .handlers = echo_handlers};
static const mrt_actor_class timed_echo_class = {.name = "timed-echo",
                                                 .state_size = sizeof(echo_state),
                                                 .on_start = timed_echo_start,
                                                 .handlers = echo_handlers};

/* ---- pinger: `rounds` round trips with a peer, then answers or reports ---- */

typedef struct pinger_state {
  mrt_ref *peer;
  mrt_ref *report_to; /* `go`: told `done` at the end */
  mrt_reply *token;   /* `run`: answered at the end with our thread */
  uint32_t left;
  uint64_t last_thread;
  uint64_t start_thread;
  uint64_t strayed; /* a pong was handled on another thread than on_start */
} pinger_state;

static void pinger_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)self;
  (void)why;
  pinger_state *st = state;
  mrt_ref_unref(st->peer);
  mrt_ref_unref(st->report_to);
}

static int pinger_begin(mrt_actor *self, pinger_state *st, const run_req *req) {
  if (thread_id() != st->start_thread)
    st->strayed = 1;
  mrt_ref_unref(st->peer);
  st->peer = mrt_ref_ref(req->peer);
  st->left = req->rounds;
  return MRT_TELL(ping, st->peer, &(ball){self});
}

static int pinger_run(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  pinger_state *st = state;
  st->token = mrt_reply_defer(r);
  return pinger_begin(self, st, p);
}

typedef struct go_args {
  mrt_ref *report_to;
} go_args;

static int pinger_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  pinger_state *st = state;
  st->report_to = mrt_ref_ref(((const go_args *)args)->report_to);
  st->start_thread = thread_id();
  return 0;
}

static int pinger_go(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)r;
  return pinger_begin(self, state, p);
}

static int pinger_pong(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)p;
  (void)r;
  pinger_state *st = state;
  st->last_thread = thread_id();
  if (st->last_thread != st->start_thread)
    st->strayed = 1;
  if (--st->left > 0)
    return MRT_TELL(ping, st->peer, &(ball){self});
  if (st->token != NULL) {
    uint64_t me = thread_id();
    mrt_reply *tok = st->token;
    st->token = NULL;
    return MRT_REPLY(run, tok, &me);
  }
  return st->report_to != NULL ? MRT_TELL(done, st->report_to, &(mrt_none){0}) : 0;
}

static int pinger_where(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  return MRT_REPLY(where, r, &((pinger_state *)state)->last_thread);
}

static int pinger_strayed(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  return MRT_REPLY(strayed, r, &((pinger_state *)state)->strayed);
}

static const mrt_handler_entry pinger_handlers[] = {
    {&mrt_msg_run, pinger_run},         {&mrt_msg_go, pinger_go},
    {&mrt_msg_pong, pinger_pong},       {&mrt_msg_where, pinger_where},
    {&mrt_msg_strayed, pinger_strayed}, {NULL, NULL}};
static const mrt_actor_class pinger_class = {.name = "pinger",
                                             .state_size = sizeof(pinger_state),
                                             .args_size = sizeof(go_args),
                                             .on_start = pinger_start,
                                             .on_stop = pinger_stop,
                                             .handlers = pinger_handlers};

static mrt_ref *spawn_pinger(mrt_runtime *rt, const mrt_spawn_opts *o, mrt_ref *report_to) {
  mrt_ref *p = NULL;
  go_args ga = {report_to};
  assert_int_equal(mrt_actor_spawn(rt, &pinger_class, &ga, o, &p), 0);
  return p;
}

static mrt_runtime *started(unsigned executors) {
  mrt_runtime *rt = NULL;
  assert_int_equal(mrt_runtime_new(&(mrt_runtime_config){.executors = executors}, &rt), 0);
  assert_int_equal(mrt_runtime_start(rt), 0);
  return rt;
}

/* ---- moving --------------------------------------------------------------- */

static void woken_actor_moves_to_the_wakers_executor(void **unused) {
  (void)unused;
  mrt_runtime *rt = started(2);
  mrt_ref *anchor1 = spawn_anchor(rt, 1);
  mrt_ref *echo = NULL;
  assert_int_equal(
      mrt_actor_spawn(rt, &echo_class, NULL,
                      &(mrt_spawn_opts){.executor = MRT_EXECUTOR_AUTO, .near = anchor1}, &echo),
      0);
  uint64_t t1 = where(anchor1);
  assert_int_equal(where(echo), t1); /* placed near the anchor, on executor 1 */
  mrt_ref *pinger = spawn_pinger(rt, &(mrt_spawn_opts){.executor = 0}, NULL);
  uint64_t t0 = 0;
  assert_int_equal(MRT_ASK_SYNC(run, pinger, (&(run_req){echo, 1000}), &t0, MRT_SEC(60)), 0);
  assert_true(t0 != t1);
  /* The pinger (pinned to executor 0) woke the echo every round trip: the
   * echo now runs on the pinger's thread. */
  assert_int_equal(where(echo), t0);
  mrt_runtime_stats st;
  mrt_runtime_get_stats(rt, &st);
  assert_true(st.moves >= 1);
  mrt_ref_unref(pinger);
  mrt_ref_unref(echo);
  mrt_ref_unref(anchor1);
  mrt_runtime_unref(rt);
}

static void pinned_actor_never_moves(void **unused) {
  (void)unused;
  mrt_runtime *rt = started(2);
  mrt_ref *anchor1 = spawn_anchor(rt, 1);
  mrt_ref *echo = NULL;
  assert_int_equal(
      mrt_actor_spawn(rt, &timed_echo_class, NULL,
                      &(mrt_spawn_opts){.executor = MRT_EXECUTOR_AUTO, .near = anchor1}, &echo),
      0);
  uint64_t t1 = where(anchor1);
  mrt_ref *pinger = spawn_pinger(rt, &(mrt_spawn_opts){.executor = 0}, NULL);
  uint64_t t0 = 0;
  assert_int_equal(MRT_ASK_SYNC(run, pinger, (&(run_req){echo, 1000}), &t0, MRT_SEC(60)), 0);
  assert_true(t0 != t1);
  assert_int_equal(where(echo), t1); /* its timer keeps it on executor 1 */
  /* Explicit placement pins as well: the pinger never left executor 0
   * although the echo answered it from executor 1 every time. */
  assert_int_equal(where(pinger), t0);
  mrt_ref_unref(pinger);
  mrt_ref_unref(echo);
  mrt_ref_unref(anchor1);
  mrt_runtime_unref(rt);
}

/* ---- a moved actor keeps its timers, fd watches, asks, replies, monitors -- */

MRT_MESSAGE_DECLARE(, arm, ball, mrt_none);
MRT_MESSAGE_DEFINE(arm, ball, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, bump, uint64_t, uint64_t);
MRT_MESSAGE_DEFINE(bump, uint64_t, uint64_t, NULL, NULL);

enum { SEEN_TIMER = 1, SEEN_IO = 2, SEEN_REPLY = 4, SEEN_DOWN = 8, SEEN_ALL = 15 };

typedef struct mover_state {
  echo_state echo;
  uint64_t home;    /* the thread it ran on when armed */
  unsigned seen;    /* SEEN_* */
  int other_thread; /* callbacks seen on any other thread */
  int fds[2];
  mrt_reply *waiter; /* wait_all, answered once everything was seen */
} mover_state;

static void mover_note(mover_state *st, unsigned what) {
  if (thread_id() != st->home)
    st->other_thread++;
  st->seen |= what;
}

static int mover_answer_waiter(mover_state *st) {
  if (st->waiter == NULL || st->seen != SEEN_ALL)
    return 0;
  uint64_t v = (uint64_t)st->other_thread;
  mrt_reply *w = st->waiter;
  st->waiter = NULL;
  return MRT_REPLY(wait_all, w, &v);
}

static int mover_timer(mrt_actor *self, void *state, void *ud) {
  (void)self;
  (void)ud;
  mover_note(state, SEEN_TIMER);
  return mover_answer_waiter(state);
}

static int mover_io(mrt_actor *self, void *state, int fd, short events, void *ud) {
  (void)self;
  (void)events;
  (void)ud;
  char c;
  if (read(fd, &c, 1) != 1)
    return -EIO;
  mover_note(state, SEEN_IO);
  return mover_answer_waiter(state);
}

static int mover_reply(mrt_actor *self, void *state, int status, const void *reply, void *ud) {
  (void)self;
  (void)ud;
  if (status < 0 || *(const uint64_t *)reply != 42)
    return status < 0 ? status : -EPROTO;
  mover_note(state, SEEN_REPLY);
  return mover_answer_waiter(state);
}

/* Armed after it moved: a timer, a watch on a pipe with a byte in it, an ask
 * to the server (payload.from), and a monitor on the anchor (stopped later). */
static int mover_arm(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)r;
  mover_state *st = state;
  st->home = thread_id();
  int rc = mrt_timer_start(self, MRT_MS(1), 0, mover_timer, NULL, NULL);
  if (rc < 0)
    return rc;
  if (pipe(st->fds) != 0)
    return -errno;
  if ((rc = mrt_io_watch(self, st->fds[0], MRT_IO_READ, mover_io, NULL, NULL)) < 0)
    return rc;
  if (write(st->fds[1], "x", 1) != 1)
    return -EIO;
  if ((rc = MRT_ASK(bump, self, ((const ball *)p)->from, &(uint64_t){41}, MRT_SEC(60), mover_reply,
                    NULL)) < 0)
    return rc;
  return 0;
}

static int mover_monitor(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)state;
  (void)r;
  return mrt_monitor(self, ((const ball *)p)->from);
}

static int mover_down(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  (void)r;
  mover_note(state, SEEN_DOWN);
  return mover_answer_waiter(state);
}

static int mover_wait(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  mover_state *st = state;
  st->waiter = mrt_reply_defer(r);
  return mover_answer_waiter(st);
}

static void mover_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)self;
  (void)why;
  mover_state *st = state;
  if (st->home != 0) {
    close(st->fds[0]);
    close(st->fds[1]);
  }
}

MRT_MESSAGE_DECLARE(, watch_it, ball, mrt_none);
MRT_MESSAGE_DEFINE(watch_it, ball, mrt_none, NULL, NULL);

static const mrt_handler_entry mover_handlers[] = {{&mrt_msg_ping, echo_ping},
                                                   {&mrt_msg_where, reply_where},
                                                   {&mrt_msg_arm, mover_arm},
                                                   {&mrt_msg_watch_it, mover_monitor},
                                                   {&mrt_msg_down, mover_down},
                                                   {&mrt_msg_wait_all, mover_wait},
                                                   {NULL, NULL}};
static const mrt_actor_class mover_class = {.name = "mover",
                                            .state_size = sizeof(mover_state),
                                            .on_stop = mover_stop,
                                            .handlers = mover_handlers};

/* The server answers bump; the watcher monitors the mover and counts DOWNs. */
static int server_bump(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  uint64_t v = *(const uint64_t *)p + 1;
  return MRT_REPLY(bump, r, &v);
}

static const mrt_handler_entry server_handlers[] = {{&mrt_msg_bump, server_bump}, {NULL, NULL}};
static const mrt_actor_class server_class = {.name = "server", .handlers = server_handlers};

typedef struct watcher_state {
  uint64_t downs;
  mrt_reply *waiter;
} watcher_state;

static int watcher_watch(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)state;
  (void)r;
  return mrt_monitor(self, ((const ball *)p)->from);
}

static int watcher_down(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  (void)r;
  watcher_state *st = state;
  st->downs++;
  if (st->waiter == NULL)
    return 0;
  mrt_reply *w = st->waiter;
  st->waiter = NULL;
  return MRT_REPLY(wait_all, w, &st->downs);
}

static int watcher_wait(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  watcher_state *st = state;
  if (st->downs > 0)
    return MRT_REPLY(wait_all, r, &st->downs);
  st->waiter = mrt_reply_defer(r);
  return 0;
}

static const mrt_handler_entry watcher_handlers[] = {{&mrt_msg_watch_it, watcher_watch},
                                                     {&mrt_msg_down, watcher_down},
                                                     {&mrt_msg_wait_all, watcher_wait},
                                                     {NULL, NULL}};
static const mrt_actor_class watcher_class = {
    .name = "watcher", .state_size = sizeof(watcher_state), .handlers = watcher_handlers};

static void moved_actor_keeps_timers_io_asks_and_monitors(void **unused) {
  (void)unused;
  mrt_runtime *rt = started(2);
  mrt_ref *anchor1 = spawn_anchor(rt, 1);
  mrt_ref *victim = spawn_anchor(rt, 1);
  mrt_ref *mover = NULL, *server = NULL, *watcher = NULL;
  assert_int_equal(
      mrt_actor_spawn(rt, &mover_class, NULL,
                      &(mrt_spawn_opts){.executor = MRT_EXECUTOR_AUTO, .near = anchor1}, &mover),
      0);
  assert_int_equal(
      mrt_actor_spawn(rt, &server_class, NULL, &(mrt_spawn_opts){.executor = 1}, &server), 0);
  assert_int_equal(
      mrt_actor_spawn(rt, &watcher_class, NULL, &(mrt_spawn_opts){.executor = 1}, &watcher), 0);
  /* Monitors set up before the move: the watcher on the mover, the mover on
   * the victim. */
  assert_int_equal(MRT_TELL(watch_it, watcher, &(ball){mover}), 0);
  assert_int_equal(MRT_TELL(watch_it, mover, &(ball){victim}), 0);
  uint64_t t1 = where(anchor1);
  assert_int_equal(where(mover), t1);

  mrt_ref *pinger = spawn_pinger(rt, &(mrt_spawn_opts){.executor = 0}, NULL);
  uint64_t t0 = 0;
  assert_int_equal(MRT_ASK_SYNC(run, pinger, (&(run_req){mover, 100}), &t0, MRT_SEC(60)), 0);
  assert_int_equal(where(mover), t0); /* moved to executor 0 */

  /* Now it arms a timer, an fd watch and an ask (each pins it), and the
   * victim it monitors stops. */
  assert_int_equal(MRT_TELL(arm, mover, &(ball){server}), 0);
  assert_int_equal(mrt_actor_stop(victim), 0);
  uint64_t elsewhere = UINT64_MAX;
  assert_int_equal(MRT_ASK_SYNC(wait_all, mover, &(uint32_t){0}, &elsewhere, MRT_SEC(60)), 0);
  assert_int_equal(elsewhere, 0); /* every callback ran on its new executor */

  /* Pinned now: more pings from executor 1 do not move it back. */
  mrt_ref *pinger1 = spawn_pinger(rt, &(mrt_spawn_opts){.executor = 1}, NULL);
  uint64_t t1b = 0;
  assert_int_equal(MRT_ASK_SYNC(run, pinger1, (&(run_req){mover, 100}), &t1b, MRT_SEC(60)), 0);
  assert_int_equal(t1b, t1);
  assert_int_equal(where(mover), t0);

  /* And the monitor set before the move still fires. */
  assert_int_equal(mrt_actor_stop(mover), 0);
  uint64_t downs = 0;
  assert_int_equal(MRT_ASK_SYNC(wait_all, watcher, &(uint32_t){0}, &downs, MRT_SEC(60)), 0);
  assert_int_equal(downs, 1);

  mrt_ref_unref(pinger1);
  mrt_ref_unref(pinger);
  mrt_ref_unref(watcher);
  mrt_ref_unref(server);
  mrt_ref_unref(mover);
  mrt_ref_unref(victim);
  mrt_ref_unref(anchor1);
  mrt_runtime_unref(rt);
}

/* ---- donation -------------------------------------------------------------- */

#define PAIRS 8

typedef struct collector_state {
  uint32_t done;
  uint32_t want;
  mrt_reply *waiter;
} collector_state;

static int collector_answer(collector_state *st) {
  if (st->waiter == NULL || st->done < st->want)
    return 0;
  uint64_t v = st->done;
  mrt_reply *w = st->waiter;
  st->waiter = NULL;
  return MRT_REPLY(wait_all, w, &v);
}

static int collector_done(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  (void)r;
  collector_state *st = state;
  st->done++;
  return collector_answer(st);
}

static int collector_wait(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  collector_state *st = state;
  st->want = *(const uint32_t *)p;
  st->waiter = mrt_reply_defer(r);
  return collector_answer(st);
}

static const mrt_handler_entry collector_handlers[] = {{&mrt_msg_done, collector_done},
                                                       {&mrt_msg_wait_all, collector_wait},
                                                       {&mrt_msg_where, reply_where},
                                                       {NULL, NULL}};
static const mrt_actor_class collector_class = {
    .name = "collector", .state_size = sizeof(collector_state), .handlers = collector_handlers};

static void ready_work_is_donated_to_an_idle_executor(void **unused) {
  (void)unused;
  mrt_runtime *rt = started(2);
  mrt_ref *collector = NULL;
  assert_int_equal(
      mrt_actor_spawn(rt, &collector_class, NULL, &(mrt_spawn_opts){.executor = 0}, &collector), 0);
  uint64_t t0 = where(collector);
  /* Eight independent pairs, all starting (unpinned) on executor 0. */
  mrt_ref *pingers[PAIRS], *echoes[PAIRS];
  for (int i = 0; i < PAIRS; i++) {
    mrt_spawn_opts near0 = {.executor = MRT_EXECUTOR_AUTO, .near = collector};
    assert_int_equal(mrt_actor_spawn(rt, &echo_class, NULL, &near0, &echoes[i]), 0);
    pingers[i] = spawn_pinger(rt, &near0, collector);
    assert_int_equal(where(pingers[i]), 0); /* started (no pong yet) */
  }
  for (int i = 0; i < PAIRS; i++)
    assert_int_equal(MRT_TELL(go, pingers[i], (&(run_req){echoes[i], 20000})), 0);
  uint64_t n = 0;
  assert_int_equal(MRT_ASK_SYNC(wait_all, collector, &(uint32_t){PAIRS}, &n, MRT_SEC(120)), 0);
  assert_int_equal(n, PAIRS);
  mrt_runtime_stats st;
  mrt_runtime_get_stats(rt, &st);
  assert_true(st.donations >= 1);
  /* A donated actor's next turn runs on the idle executor: some actor of the
   * pairs, all started on executor 0, handled messages on another thread. */
  (void)t0;
  uint64_t strayed = 0;
  for (int i = 0; i < PAIRS; i++) {
    uint64_t a = 0, b = 0;
    assert_int_equal(MRT_ASK_SYNC(strayed, pingers[i], &(mrt_none){0}, &a, MRT_SEC(60)), 0);
    assert_int_equal(MRT_ASK_SYNC(strayed, echoes[i], &(mrt_none){0}, &b, MRT_SEC(60)), 0);
    strayed += a + b;
  }
  assert_true(strayed >= 1);
  for (int i = 0; i < PAIRS; i++) {
    mrt_ref_unref(pingers[i]);
    mrt_ref_unref(echoes[i]);
  }
  mrt_ref_unref(collector);
  mrt_runtime_unref(rt);
}

/* ---- a pipeline with credits is not split ---------------------------------- */

/* A producer sends chunks of `inc` to a counter, each followed by a credit;
 * the counter answers a credit with `refill`, and two chunks are in flight.
 * On one executor the ready list holds the counter alone, and both now and
 * then: far below the donation threshold of two, so nothing is donated.
 * (With a moving average that did not decay, each "both ready" turn raised
 * it for good, and the pipeline was split and pulled back every few chunks.) */

#define PIPE_CHUNK 1000
#define PIPE_CHUNKS 2000

MRT_MESSAGE_DECLARE(, inc, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(inc, mrt_none, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, credit, ball, mrt_none);
MRT_MESSAGE_DEFINE(credit, ball, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, refill, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(refill, mrt_none, mrt_none, NULL, NULL);

typedef struct pipe_counter_state {
  uint64_t count;
  uint32_t credits;
  mrt_reply *waiter;
} pipe_counter_state;

static int pipe_counter_answer(pipe_counter_state *st) {
  if (st->waiter == NULL || st->credits < PIPE_CHUNKS)
    return 0;
  mrt_reply *w = st->waiter;
  st->waiter = NULL;
  return MRT_REPLY(wait_all, w, &st->count);
}

static int pipe_counter_inc(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  (void)r;
  ((pipe_counter_state *)state)->count++;
  return 0;
}

static int pipe_counter_credit(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)r;
  pipe_counter_state *st = state;
  st->credits++;
  int rc = MRT_TELL(refill, ((const ball *)p)->from, &(mrt_none){0});
  return rc < 0 ? rc : pipe_counter_answer(st);
}

static int pipe_counter_wait(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  pipe_counter_state *st = state;
  st->waiter = mrt_reply_defer(r);
  return pipe_counter_answer(st);
}

static const mrt_handler_entry pipe_counter_handlers[] = {{&mrt_msg_inc, pipe_counter_inc},
                                                          {&mrt_msg_credit, pipe_counter_credit},
                                                          {&mrt_msg_wait_all, pipe_counter_wait},
                                                          {NULL, NULL}};
static const mrt_actor_class pipe_counter_class = {.name = "pipe-counter",
                                                   .state_size = sizeof(pipe_counter_state),
                                                   .handlers = pipe_counter_handlers};

typedef struct pipe_producer_state {
  mrt_ref *counter; /* borrowed: the test holds it until the end */
  uint32_t chunks;
} pipe_producer_state;

static int pipe_producer_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  ((pipe_producer_state *)state)->counter = *(mrt_ref *const *)args;
  return 0;
}

static int pipe_producer_refill(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)p;
  (void)r;
  pipe_producer_state *st = state;
  if (st->chunks == PIPE_CHUNKS)
    return 0;
  st->chunks++;
  for (int i = 0; i < PIPE_CHUNK; i++) {
    int rc = MRT_TELL(inc, st->counter, &(mrt_none){0});
    if (rc < 0)
      return rc;
  }
  return MRT_TELL(credit, st->counter, &(ball){self});
}

static const mrt_handler_entry pipe_producer_handlers[] = {{&mrt_msg_refill, pipe_producer_refill},
                                                           {NULL, NULL}};
static const mrt_actor_class pipe_producer_class = {.name = "pipe-producer",
                                                    .state_size = sizeof(pipe_producer_state),
                                                    .args_size = sizeof(mrt_ref *),
                                                    .on_start = pipe_producer_start,
                                                    .handlers = pipe_producer_handlers};

static void a_pipeline_with_credits_is_not_split(void **unused) {
  (void)unused;
  mrt_runtime *rt = started(2);
  mrt_ref *counter = NULL, *producer = NULL;
  assert_int_equal(mrt_actor_spawn(rt, &pipe_counter_class, NULL, NULL, &counter), 0);
  assert_int_equal(mrt_actor_spawn(rt, &pipe_producer_class, &counter, NULL, &producer), 0);
  for (int i = 0; i < 2; i++) /* two chunks in flight */
    assert_int_equal(MRT_TELL(refill, producer, &(mrt_none){0}), 0);
  uint64_t count = 0;
  assert_int_equal(MRT_ASK_SYNC(wait_all, counter, &(uint32_t){0}, &count, MRT_SEC(120)), 0);
  assert_int_equal(count, (uint64_t)PIPE_CHUNK * PIPE_CHUNKS);
  mrt_runtime_stats st;
  mrt_runtime_get_stats(rt, &st);
  assert_int_equal(st.donations, 0);
  mrt_ref_unref(producer);
  mrt_ref_unref(counter);
  mrt_runtime_unref(rt);
}

/* ---- many executors telling an actor that keeps moving --------------------- */

#define PER_SENDER 100000
#define CHUNK 1000

MRT_MESSAGE_DECLARE(, more, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(more, mrt_none, mrt_none, NULL, NULL);

typedef struct sender_args {
  mrt_ref *to;
  uint32_t id;
} sender_args;

typedef struct sender_state {
  sender_args a;
  uint32_t sent;
  mrt_reply *waiter;
} sender_state;

static int sender_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  sender_state *st = state;
  st->a = *(const sender_args *)args;
  st->a.to = mrt_ref_ref(st->a.to);
  return 0;
}

static void sender_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)self;
  (void)why;
  mrt_ref_unref(((sender_state *)state)->a.to);
}

static int sender_answer(sender_state *st) {
  if (st->waiter == NULL || st->sent < PER_SENDER)
    return 0;
  uint64_t v = st->sent;
  mrt_reply *w = st->waiter;
  st->waiter = NULL;
  return MRT_REPLY(wait_all, w, &v);
}

/* A chunk per turn, then a note to self, so the receiver goes idle now and
 * then and the four executors race to take it. */
static int sender_more(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)p;
  (void)r;
  sender_state *st = state;
  for (int i = 0; i < CHUNK && st->sent < PER_SENDER; i++) {
    int rc = MRT_TELL(num, st->a.to, (&(num){st->a.id, st->sent}));
    if (rc < 0)
      return rc;
    st->sent++;
  }
  if (st->sent < PER_SENDER)
    return MRT_TELL(more, self, &(mrt_none){0});
  return sender_answer(st);
}

static int sender_wait(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  sender_state *st = state;
  st->waiter = mrt_reply_defer(r);
  return sender_answer(st);
}

static const mrt_handler_entry sender_handlers[] = {
    {&mrt_msg_more, sender_more}, {&mrt_msg_wait_all, sender_wait}, {NULL, NULL}};
static const mrt_actor_class sender_class = {.name = "sender",
                                             .state_size = sizeof(sender_state),
                                             .args_size = sizeof(sender_args),
                                             .on_start = sender_start,
                                             .on_stop = sender_stop,
                                             .handlers = sender_handlers};

static void four_executors_tell_a_moving_actor(void **unused) {
  (void)unused;
  mrt_runtime *rt = started(4);
  mrt_ref *recv = NULL;
  assert_int_equal(mrt_actor_spawn(rt, &order_class, NULL, NULL, &recv), 0);
  mrt_ref *senders[SENDERS];
  for (uint32_t i = 0; i < SENDERS; i++) {
    sender_args sa = {recv, i};
    assert_int_equal(
        mrt_actor_spawn(rt, &sender_class, &sa, &(mrt_spawn_opts){.executor = (int)i}, &senders[i]),
        0);
  }
  for (uint32_t i = 0; i < SENDERS; i++)
    assert_int_equal(MRT_TELL(more, senders[i], &(mrt_none){0}), 0);
  for (uint32_t i = 0; i < SENDERS; i++) {
    uint64_t sent = 0;
    assert_int_equal(MRT_ASK_SYNC(wait_all, senders[i], &(uint32_t){0}, &sent, MRT_SEC(120)), 0);
    assert_int_equal(sent, PER_SENDER);
  }
  /* Every send has happened before this ask is queued behind them. */
  uint64_t total = 0;
  assert_int_equal(MRT_ASK_SYNC(get, recv, &(mrt_none){0}, &total, MRT_SEC(120)), 0);
  assert_int_equal(total, (uint64_t)SENDERS * PER_SENDER); /* UINT64_MAX: reordered */
  for (uint32_t i = 0; i < SENDERS; i++)
    mrt_ref_unref(senders[i]);
  mrt_ref_unref(recv);
  mrt_runtime_unref(rt);
}

/* ---- attached: executor 0 runs in the host's loop and keeps to itself ---------- */

MRT_MESSAGE_DECLARE(, quit_loop, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(quit_loop, mrt_none, mrt_none, NULL, NULL);

static int loop_quit(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)state;
  (void)p;
  (void)r;
  /* On the host's loop thread: ending the host's loop is safe here. */
  return event_base_loopexit(mrt_actor_event_base(self), NULL);
}

static const mrt_handler_entry quitter_handlers[] = {
    {&mrt_msg_quit_loop, loop_quit}, {&mrt_msg_where, reply_where}, {NULL, NULL}};
static const mrt_actor_class quitter_class = {.name = "quitter", .handlers = quitter_handlers};

typedef struct attached_world {
  mrt_runtime *rt;
  mrt_ref *quitter; /* pinned on executor 0 */
  mrt_ref *anchor1; /* pinned on executor 1 */
  uint64_t loop_thread;
  int failures;
} attached_world;

#define CHECK(w, cond) ((cond) ? (void)0 : (void)((w)->failures++))

/* For the client thread: cmocka's asserts belong to the test's thread. */
static uint64_t where_nofail(mrt_ref *ref) {
  uint64_t t = 0;
  return MRT_ASK_SYNC(where, ref, &(mrt_none){0}, &t, MRT_SEC(60)) == 0 ? t : 0;
}

static mrt_ref *pinger_nofail(mrt_runtime *rt, int executor) {
  mrt_ref *p = NULL;
  go_args ga = {NULL};
  mrt_actor_spawn(rt, &pinger_class, &ga, &(mrt_spawn_opts){.executor = executor}, &p);
  return p;
}

/* A host thread (ask_sync refuses on the loop's thread). */
static void *attached_client(void *arg) {
  attached_world *w = arg;
  mrt_runtime *rt = w->rt;
  mrt_ref *echo0 = NULL, *echo1 = NULL, *pinger0 = NULL, *pinger1 = NULL;
  CHECK(w, mrt_actor_spawn(rt, &echo_class, NULL,
                           &(mrt_spawn_opts){.executor = MRT_EXECUTOR_AUTO, .near = w->quitter},
                           &echo0) == 0);
  CHECK(w, mrt_actor_spawn(rt, &echo_class, NULL,
                           &(mrt_spawn_opts){.executor = MRT_EXECUTOR_AUTO, .near = w->anchor1},
                           &echo1) == 0);
  pinger0 = pinger_nofail(rt, 0);
  pinger1 = pinger_nofail(rt, 1);
  CHECK(w, pinger0 != NULL && pinger1 != NULL && echo0 != NULL && echo1 != NULL);
  uint64_t t1 = where_nofail(w->anchor1), t = 0;
  CHECK(w, t1 != 0 && t1 != w->loop_thread);
  /* Woken from executor 1 all the time, the actor on executor 0 stays. */
  CHECK(w, MRT_ASK_SYNC(run, pinger1, (&(run_req){echo0, 200}), &t, MRT_SEC(60)) == 0);
  CHECK(w, t == t1 && where_nofail(echo0) == w->loop_thread);
  /* Woken from executor 0 all the time, the actor on executor 1 stays. */
  CHECK(w, MRT_ASK_SYNC(run, pinger0, (&(run_req){echo1, 200}), &t, MRT_SEC(60)) == 0);
  CHECK(w, t == w->loop_thread && where_nofail(echo1) == t1);
  mrt_ref_unref(pinger1);
  mrt_ref_unref(pinger0);
  mrt_ref_unref(echo1);
  mrt_ref_unref(echo0);
  CHECK(w, MRT_TELL(quit_loop, w->quitter, &(mrt_none){0}) == 0);
  return NULL;
}

static void attached_executor_0_keeps_to_itself(void **unused) {
  (void)unused;
  struct event_base *base = event_base_new();
  assert_non_null(base);
  attached_world w = {.loop_thread = thread_id()};
  assert_int_equal(mrt_runtime_new(&(mrt_runtime_config){.executors = 3}, &w.rt), 0);
  assert_int_equal(mrt_runtime_attach(w.rt, base), 0);
  assert_int_equal(
      mrt_actor_spawn(w.rt, &quitter_class, NULL, &(mrt_spawn_opts){.executor = 0}, &w.quitter), 0);
  w.anchor1 = spawn_anchor(w.rt, 1);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, attached_client, &w), 0);
  event_base_dispatch(base); /* until the quitter ends it */
  pthread_join(th, NULL);
  assert_int_equal(w.failures, 0);
  assert_int_equal(mrt_runtime_shutdown(w.rt), 0);
  mrt_ref_unref(w.anchor1);
  mrt_ref_unref(w.quitter);
  mrt_runtime_unref(w.rt);
  event_base_free(base);
}

/* ---- the near hint ---------------------------------------------------------- */

typedef struct base_state {
  struct event_base *base;
} base_state;

static int base_start(mrt_actor *self, void *state, const void *args) {
  (void)args;
  ((base_state *)state)->base = mrt_actor_event_base(self);
  return 0;
}

MRT_MESSAGE_DECLARE(, base, mrt_none, uint64_t);
MRT_MESSAGE_DEFINE(base, mrt_none, uint64_t, NULL, NULL);

static int base_get(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  uint64_t v = (uint64_t)(uintptr_t)((base_state *)state)->base;
  return MRT_REPLY(base, r, &v);
}

static const mrt_handler_entry base_handlers[] = {{&mrt_msg_base, base_get}, {NULL, NULL}};
static const mrt_actor_class base_class = {.name = "base",
                                           .state_size = sizeof(base_state),
                                           .on_start = base_start,
                                           .handlers = base_handlers};

static uint64_t base_of(mrt_ref *ref) {
  uint64_t b = 0;
  assert_int_equal(MRT_ASK_SYNC(base, ref, &(mrt_none){0}, &b, 0), 0);
  return b;
}

static void near_hint_places_the_actor(void **unused) {
  (void)unused;
  mrt_runtime *rt, *other;
  assert_int_equal(mrt_test_runtime_new(3, &rt), 0);
  assert_int_equal(mrt_test_runtime_new(1, &other), 0);
  mrt_ref *a2 = NULL, *b = NULL, *c = NULL, *d = NULL, *foreign = NULL;
  assert_int_equal(mrt_actor_spawn(rt, &base_class, NULL, &(mrt_spawn_opts){.executor = 2}, &a2),
                   0);
  /* Round robin would start at executor 0; near puts them on executor 2. */
  assert_int_equal(mrt_actor_spawn(rt, &base_class, NULL,
                                   &(mrt_spawn_opts){.executor = MRT_EXECUTOR_AUTO, .near = a2},
                                   &b),
                   0);
  assert_int_equal(mrt_actor_spawn(rt, &base_class, NULL,
                                   &(mrt_spawn_opts){.executor = MRT_EXECUTOR_AUTO, .near = b}, &c),
                   0);
  /* An explicit executor wins over the hint. */
  assert_int_equal(
      mrt_actor_spawn(rt, &base_class, NULL, &(mrt_spawn_opts){.executor = 1, .near = a2}, &d), 0);
  assert_int_equal(mrt_actor_spawn(other, &base_class, NULL, NULL, &foreign), 0);
  mrt_ref *bad = (mrt_ref *)(uintptr_t)1;
  assert_int_equal(
      mrt_actor_spawn(rt, &base_class, NULL,
                      &(mrt_spawn_opts){.executor = MRT_EXECUTOR_AUTO, .near = foreign}, &bad),
      -EINVAL);
  assert_null(bad);
  mrt_runtime_run_until_idle(rt);
  uint64_t base2 = base_of(a2);
  assert_int_equal(base_of(b), base2);
  assert_int_equal(base_of(c), base2);
  assert_true(base_of(d) != base2);
  mrt_ref_unref(foreign);
  mrt_ref_unref(d);
  mrt_ref_unref(c);
  mrt_ref_unref(b);
  mrt_ref_unref(a2);
  mrt_runtime_unref(other);
  mrt_runtime_unref(rt);
}

/* ---- idle stays idle ----------------------------------------------------------- */

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0)
    ;
}

static bool same_activity(const mrt_runtime_stats *a, const mrt_runtime_stats *b) {
  return a->spins == b->spins && a->wakeups == b->wakeups &&
         a->messages_handled == b->messages_handled;
}

/* Waits until two snapshots 20 ms apart agree (the host's last messages may
 * still start a spin), then checks that nothing at all happens for 200 ms
 * more: no spin, no wake-up, no message. */
static void assert_stays_idle(mrt_runtime *rt, mrt_runtime_stats *out) {
  mrt_runtime_stats a, b;
  mrt_runtime_get_stats(rt, &a);
  int tries = 0;
  for (;;) {
    sleep_ms(20);
    mrt_runtime_get_stats(rt, &b);
    if (same_activity(&a, &b))
      break;
    a = b;
    assert_true(++tries < 100); /* 2 s of constant activity: not idle */
  }
  sleep_ms(200);
  mrt_runtime_get_stats(rt, out);
  assert_true(same_activity(&a, out));
}

static void idle_runtime_neither_spins_nor_wakes(void **unused) {
  (void)unused;
  mrt_runtime *rt = started(2);
  enum { IDLE_ACTORS = 1000 };
  mrt_ref **actors = calloc(IDLE_ACTORS, sizeof *actors);
  assert_non_null(actors);
  for (int i = 0; i < IDLE_ACTORS; i++)
    assert_int_equal(mrt_actor_spawn(rt, &echo_class, NULL, NULL, &actors[i]), 0);
  /* Executors run their queues in order: the last two spawned answering means
   * every actor has started. */
  where(actors[IDLE_ACTORS - 1]);
  where(actors[IDLE_ACTORS - 2]);
  mrt_runtime_stats st;
  assert_stays_idle(rt, &st);
  /* The host's messages were cross-thread work: the executors did spin after
   * them, and then stopped. */
  assert_true(st.spins >= 1);
  for (int i = 0; i < IDLE_ACTORS; i++)
    mrt_ref_unref(actors[i]);
  free(actors);
  mrt_runtime_unref(rt);
}

static void spinning_can_be_turned_off(void **unused) {
  (void)unused;
  mrt_runtime *rt = NULL;
  assert_int_equal(mrt_runtime_new(&(mrt_runtime_config){.executors = 2, .spin_ns = 2000000}, &rt),
                   -EINVAL);
  assert_int_equal(
      mrt_runtime_new(&(mrt_runtime_config){.executors = 2, .spin_ns = MRT_SPIN_OFF}, &rt), 0);
  assert_int_equal(mrt_runtime_start(rt), 0);
  mrt_ref *echo = NULL;
  assert_int_equal(mrt_actor_spawn(rt, &echo_class, NULL, NULL, &echo), 0);
  for (int i = 0; i < 100; i++)
    where(echo);
  mrt_runtime_stats st;
  assert_stays_idle(rt, &st);
  assert_int_equal(st.spins, 0);
  assert_int_equal(st.spin_ns, 0);
  assert_true(st.wakeups >= 1); /* so every ask woke the executor instead */
  mrt_ref_unref(echo);
  mrt_runtime_unref(rt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(woken_actor_moves_to_the_wakers_executor),
      cmocka_unit_test(pinned_actor_never_moves),
      cmocka_unit_test(moved_actor_keeps_timers_io_asks_and_monitors),
      cmocka_unit_test(ready_work_is_donated_to_an_idle_executor),
      cmocka_unit_test(a_pipeline_with_credits_is_not_split),
      cmocka_unit_test(four_executors_tell_a_moving_actor),
      cmocka_unit_test(attached_executor_0_keeps_to_itself),
      cmocka_unit_test(near_hint_places_the_actor),
      cmocka_unit_test(idle_runtime_neither_spins_nor_wakes),
      cmocka_unit_test(spinning_can_be_turned_off),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
