/* SPDX-License-Identifier: MIT */
/* Tests: what a full bounded mailbox does to each kind of send.
 *
 *   - an ask into a full mailbox fails at once with -EAGAIN, from a host
 *     thread (mrt_ask_sync: nothing is driven, no time passes) and from an
 *     actor (mrt_ask returns it; the continuation never runs); the actor
 *     recovers once it has handled its queue;
 *   - runtime notices skip the bound: DOWN (monitor), EXIT (link with
 *     trap_exits) and the shutdown signal reach an actor whose mailbox is
 *     full;
 *   - the bus's latest-value policy (MRT_BUS_LATEST): a flood into a full
 *     mailbox is counted as dropped_full and the subscriber then receives
 *     the newest value exactly once; subscribing to a LATEST type that is not
 *     retained delivers nothing; a subscriber that stops while owed a value
 *     costs nothing (the runtime goes idle); and on a threaded runtime with
 *     publishers racing the subscriber, the last value published always
 *     arrives and the mailbox never holds more than its capacity.
 * Hand-driven virtual-clock runtimes, except the threaded race.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <stdatomic.h>
#include <string.h>

#include <meshrt/meshrt.h>
#include <meshrt/testing.h>

MRT_MESSAGE_DECLARE(, val, uint64_t, mrt_none);
MRT_MESSAGE_DEFINE(val, uint64_t, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, fill, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(fill, mrt_none, mrt_none, NULL, NULL);

typedef struct seen {
  uint64_t vals, last, fills, downs, exits, shutdowns;
} seen;
MRT_MESSAGE_DECLARE(, seen_get, mrt_none, seen);
MRT_MESSAGE_DEFINE(seen_get, mrt_none, seen, NULL, NULL);
MRT_BUS_TYPED(val, uint64_t);

/* ---- a recorder: counts what it receives ------------------------------------------------ */

static int rec_val(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)r;
  seen *s = state;
  s->vals++;
  s->last = *(const uint64_t *)p;
  return 0;
}

static int rec_fill(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  (void)r;
  ((seen *)state)->fills++;
  return 0;
}

static int rec_down(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)r;
  (void)p; /* `who` belongs to the message */
  ((seen *)state)->downs++;
  return 0;
}

static int rec_exit(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)r;
  (void)p;
  ((seen *)state)->exits++;
  return 0;
}

static int rec_shutdown(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  (void)r;
  ((seen *)state)->shutdowns++;
  return 0;
}

static int rec_get(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  return MRT_REPLY(seen_get, r, (seen *)state);
}

static int rec_start(mrt_actor *self, void *state, const void *args) {
  (void)state;
  (void)args;
  return mrt_shutdown_watch(self);
}

static const mrt_handler_entry rec_handlers[] = {{&mrt_msg_val, rec_val},
                                                 {&mrt_msg_fill, rec_fill},
                                                 {&mrt_msg_down, rec_down},
                                                 {&mrt_msg_exit, rec_exit},
                                                 {&mrt_msg_shutdown, rec_shutdown},
                                                 {&mrt_msg_seen_get, rec_get},
                                                 {NULL, NULL}};
static const mrt_actor_class rec_class = {.name = "recorder",
                                          .state_size = sizeof(seen),
                                          .on_start = rec_start,
                                          .handlers = rec_handlers};

static mrt_ref *spawn_rec(mrt_runtime *rt, uint32_t capacity, bool trap) {
  mrt_ref *r;
  mrt_spawn_opts o = {
      .executor = MRT_EXECUTOR_AUTO, .mailbox_capacity = capacity, .trap_exits = trap};
  assert_int_equal(mrt_actor_spawn(rt, &rec_class, NULL, &o, &r), 0);
  return r;
}

static seen get_seen(mrt_ref *r) {
  seen s;
  memset(&s, 0, sizeof s);
  assert_int_equal(MRT_ASK_SYNC(seen_get, r, &(mrt_none){0}, &s, MRT_SEC(30)), 0);
  return s;
}

static void fill_up(mrt_ref *r, uint32_t capacity) {
  for (uint32_t i = 0; i < capacity; i++)
    assert_int_equal(MRT_TELL(fill, r, &(mrt_none){0}), 0);
  assert_int_equal(MRT_TELL(fill, r, &(mrt_none){0}), -EAGAIN);
}

/* ---- asks ---------------------------------------------------------------------------------- */

/* An asker actor: on `val` it asks `target` (its spawn arg) and records. */
typedef struct asker {
  mrt_ref *target;
  int ask_rc;
  int continuations;
} asker;
MRT_MESSAGE_DECLARE(, asker_get, mrt_none, asker);
MRT_MESSAGE_DEFINE(asker_get, mrt_none, asker, NULL, NULL);

static int asker_done(mrt_actor *self, void *state, int status, const void *reply, void *ud) {
  (void)self;
  (void)status;
  (void)reply;
  (void)ud;
  ((asker *)state)->continuations++;
  return 0;
}

static int asker_go(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)p;
  (void)r;
  asker *a = state;
  a->ask_rc = MRT_ASK(seen_get, self, a->target, &(mrt_none){0}, MRT_SEC(5), asker_done, NULL);
  return 0;
}

static int asker_get(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  return MRT_REPLY(asker_get, r, (asker *)state);
}

static int asker_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  ((asker *)state)->target = *(mrt_ref *const *)args;
  ((asker *)state)->ask_rc = 1;
  return 0;
}

static const mrt_handler_entry asker_handlers[] = {
    {&mrt_msg_val, asker_go}, {&mrt_msg_asker_get, asker_get}, {NULL, NULL}};
static const mrt_actor_class asker_class = {.name = "asker",
                                            .state_size = sizeof(asker),
                                            .args_size = sizeof(mrt_ref *),
                                            .on_start = asker_start,
                                            .handlers = asker_handlers};

static void ask_into_full_mailbox_fails_at_once(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_ref *target = spawn_rec(rt, 4, false);
  mrt_runtime_run_until_idle(rt);
  fill_up(target, 4);
  uint64_t t0 = mrt_runtime_now(rt);
  /* -EAGAIN at once. Had the ask waited for room, it would have driven the
   * runtime (hand-driven) and the fills would have been handled first. */
  seen s;
  assert_int_equal(MRT_ASK_SYNC(seen_get, target, &(mrt_none){0}, &s, MRT_SEC(10)), -EAGAIN);
  assert_int_equal(mrt_runtime_now(rt), t0);
  /* Recovered: the fills are handled and asks succeed again. */
  mrt_runtime_run_until_idle(rt);
  s = get_seen(target);
  assert_int_equal(s.fills, 4);
  mrt_ref_unref(target);
  mrt_runtime_unref(rt);
}

/* The asker's turn comes before the target's: it must meet the full mailbox. */
static void ask_from_actor_into_full_mailbox(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(2, &rt), 0);
  /* The asker on executor 0, the target on executor 1: a drive pass runs
   * executor 0 first, so the ask is made while the target is still full. */
  mrt_ref *target;
  mrt_spawn_opts to = {.executor = 1, .mailbox_capacity = 4};
  assert_int_equal(mrt_actor_spawn(rt, &rec_class, NULL, &to, &target), 0);
  mrt_ref *a;
  mrt_spawn_opts ao = {.executor = 0};
  assert_int_equal(mrt_actor_spawn(rt, &asker_class, &target, &ao, &a), 0);
  mrt_runtime_run_until_idle(rt);
  fill_up(target, 4);
  assert_int_equal(MRT_TELL(val, a, &(uint64_t){1}), 0);
  mrt_runtime_advance(rt, MRT_SEC(6));
  asker st;
  assert_int_equal(MRT_ASK_SYNC(asker_get, a, &(mrt_none){0}, &st, MRT_SEC(5)), 0);
  assert_int_equal(st.ask_rc, -EAGAIN);
  assert_int_equal(st.continuations, 0);
  /* Asked again with room: answered. */
  assert_int_equal(MRT_TELL(val, a, &(uint64_t){2}), 0);
  mrt_runtime_run_until_idle(rt);
  assert_int_equal(MRT_ASK_SYNC(asker_get, a, &(mrt_none){0}, &st, MRT_SEC(5)), 0);
  assert_int_equal(st.ask_rc, 0);
  assert_int_equal(st.continuations, 1);
  mrt_ref_unref(a);
  mrt_ref_unref(target);
  mrt_runtime_unref(rt);
}

/* ---- notices -------------------------------------------------------------------------------- */

/* A watcher that monitors (or links to) its spawn arg on `val`. */
typedef struct mon_state {
  mrt_ref *target;
  seen s;
} mon_state;

static int mon_val(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)r;
  mon_state *m = state;
  return *(const uint64_t *)p == 1 ? mrt_monitor(self, m->target) : mrt_link(self, m->target);
}

static int mon_down(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  return rec_down(self, &((mon_state *)state)->s, p, r);
}

static int mon_exit(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  return rec_exit(self, &((mon_state *)state)->s, p, r);
}

static int mon_fill(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  return rec_fill(self, &((mon_state *)state)->s, p, r);
}

static int mon_get(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  return MRT_REPLY(seen_get, r, &((mon_state *)state)->s);
}

static int mon_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  ((mon_state *)state)->target = *(mrt_ref *const *)args;
  return 0;
}

static const mrt_handler_entry mon_handlers[] = {
    {&mrt_msg_val, mon_val},   {&mrt_msg_down, mon_down},    {&mrt_msg_exit, mon_exit},
    {&mrt_msg_fill, mon_fill}, {&mrt_msg_seen_get, mon_get}, {NULL, NULL}};
static const mrt_actor_class mon_class = {.name = "monitor",
                                          .state_size = sizeof(mon_state),
                                          .args_size = sizeof(mrt_ref *),
                                          .on_start = mon_start,
                                          .handlers = mon_handlers};

static void down_and_exit_reach_a_full_mailbox(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  /* Targets on executor 0, watchers on executor 1: a drive pass runs
   * executor 0 first, so the targets stop while the watchers are full. */
  assert_int_equal(mrt_test_runtime_new(2, &rt), 0);
  mrt_ref *t1, *t2;
  mrt_spawn_opts ot = {.executor = 0};
  assert_int_equal(mrt_actor_spawn(rt, &rec_class, NULL, &ot, &t1), 0);
  assert_int_equal(mrt_actor_spawn(rt, &rec_class, NULL, &ot, &t2), 0);
  mrt_ref *m1, *m2;
  mrt_spawn_opts o1 = {.executor = 1, .mailbox_capacity = 2};
  mrt_spawn_opts o2 = {.executor = 1, .mailbox_capacity = 2, .trap_exits = true};
  assert_int_equal(mrt_actor_spawn(rt, &mon_class, &t1, &o1, &m1), 0);
  assert_int_equal(mrt_actor_spawn(rt, &mon_class, &t2, &o2, &m2), 0);
  assert_int_equal(MRT_TELL(val, m1, &(uint64_t){1}), 0); /* monitor t1 */
  assert_int_equal(MRT_TELL(val, m2, &(uint64_t){2}), 0); /* link to t2 */
  mrt_runtime_run_until_idle(rt);
  fill_up(m1, 2);
  fill_up(m2, 2);
  /* t1 stops normally (DOWN to m1); t2 is killed (EXIT to m2, trapping). */
  assert_int_equal(mrt_actor_stop(t1), 0);
  assert_int_equal(mrt_actor_kill(t2), 0);
  mrt_runtime_run_until_idle(rt);
  seen s1 = get_seen(m1), s2 = get_seen(m2);
  assert_int_equal(s1.fills, 2);
  assert_int_equal(s1.downs, 1);
  assert_int_equal(s2.fills, 2);
  assert_int_equal(s2.exits, 1);
  mrt_ref_unref(m1);
  mrt_ref_unref(m2);
  mrt_ref_unref(t1);
  mrt_ref_unref(t2);
  mrt_runtime_unref(rt);
}

static seen shutdown_seen;

static void on_rec_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)self;
  (void)why;
  shutdown_seen = *(seen *)state;
}

static void shutdown_signal_reaches_a_full_mailbox(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_actor_class cls = rec_class;
  cls.on_stop = on_rec_stop;
  mrt_ref *r;
  mrt_spawn_opts o = {.executor = MRT_EXECUTOR_AUTO, .mailbox_capacity = 2};
  assert_int_equal(mrt_actor_spawn(rt, &cls, NULL, &o, &r), 0);
  mrt_runtime_run_until_idle(rt);
  fill_up(r, 2);
  memset(&shutdown_seen, 0, sizeof shutdown_seen);
  assert_int_equal(mrt_runtime_shutdown(rt), 0);
  assert_int_equal(shutdown_seen.fills, 2);
  assert_int_equal(shutdown_seen.shutdowns, 1);
  mrt_ref_unref(r);
  mrt_runtime_unref(rt);
}

/* ---- the latest-value bus policy ------------------------------------------------------------- */

static const mrt_bus_type_opts latest = {.policy = MRT_BUS_LATEST, .retained = false};

static void latest_delivers_newest_after_flood(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_bus *bus = mrt_runtime_bus(rt);
  assert_int_equal(mrt_bus_configure(bus, &mrt_msg_val, &latest), 0);
  mrt_ref *sub = spawn_rec(rt, 4, false), *wide = spawn_rec(rt, 0, false);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_val, sub), 0);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_val, wide), 0);
  mrt_runtime_run_until_idle(rt);
  /* 1,000 publishes, nothing driven: 4 fit, 996 are dropped and counted. */
  for (uint64_t i = 1; i <= 1000; i++)
    assert_int_equal(mrt_publish_val(bus, &i), i <= 4 ? 2 : 1);
  mrt_bus_stats st;
  assert_int_equal(mrt_bus_stats_get(bus, &mrt_msg_val, &st), 0);
  assert_int_equal(st.published, 1000);
  assert_int_equal(st.dropped_full, 996);
  uint64_t total, deepest;
  assert_int_equal(mrt_runtime_mailbox_depth(rt, &total, &deepest), 0);
  assert_int_equal(deepest, 1000); /* the unbounded one; the bounded one holds 4 */
  mrt_runtime_run_until_idle(rt);
  /* The four queued ones, then the newest once: 1000 values folded into 5. */
  seen s = get_seen(sub);
  assert_int_equal(s.vals, 5);
  assert_int_equal(s.last, 1000);
  assert_int_equal(get_seen(wide).vals, 1000);
  assert_int_equal(mrt_bus_stats_get(bus, &mrt_msg_val, &st), 0);
  assert_int_equal(st.delivered, 1000 + 5);
  /* Owed nothing now: more publishes with room arrive one for one. */
  uint64_t v = 1001;
  assert_int_equal(mrt_publish_val(bus, &v), 2);
  mrt_runtime_run_until_idle(rt);
  s = get_seen(sub);
  assert_int_equal(s.vals, 6);
  assert_int_equal(s.last, 1001);
  mrt_ref_unref(sub);
  mrt_ref_unref(wide);
  mrt_runtime_unref(rt);
}

static void latest_subscribe_gets_only_retained_values(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_bus *bus = mrt_runtime_bus(rt);
  assert_int_equal(mrt_bus_configure(bus, &mrt_msg_val, &latest), 0);
  assert_int_equal(mrt_bus_configure(bus, &mrt_msg_val, &(mrt_bus_type_opts){.policy = 3}),
                   -EINVAL);
  uint64_t v = 7;
  assert_int_equal(mrt_publish_val(bus, &v), 0);
  mrt_ref *late = spawn_rec(rt, 4, false);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_val, late), 0);
  mrt_runtime_run_until_idle(rt);
  assert_int_equal(get_seen(late).vals, 0); /* kept for catch-up only, not retained */
  mrt_bus_type_opts kept = {.policy = MRT_BUS_LATEST, .retained = true};
  assert_int_equal(mrt_bus_configure(bus, &mrt_msg_val, &kept), 0);
  mrt_ref *later = spawn_rec(rt, 4, false);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_val, later), 0);
  mrt_runtime_run_until_idle(rt);
  seen s = get_seen(later);
  assert_int_equal(s.vals, 1);
  assert_int_equal(s.last, 7);
  mrt_ref_unref(late);
  mrt_ref_unref(later);
  mrt_runtime_unref(rt);
}

static void latest_owed_to_a_stopped_subscriber_costs_nothing(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_bus *bus = mrt_runtime_bus(rt);
  assert_int_equal(mrt_bus_configure(bus, &mrt_msg_val, &latest), 0);
  mrt_ref *sub = spawn_rec(rt, 1, false), *other = spawn_rec(rt, 0, false);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_val, sub), 0);
  mrt_runtime_run_until_idle(rt);
  for (uint64_t i = 1; i <= 3; i++)
    (void)mrt_publish_val(bus, &i);
  assert_int_equal(mrt_actor_stop(sub), 0);
  /* Returns (the runtime goes idle: no turn spins on the owed value) and the
   * runtime still works. */
  mrt_runtime_run_until_idle(rt);
  assert_false(mrt_ref_alive(sub));
  assert_int_equal(get_seen(other).vals, 0);
  uint64_t v = 4;
  assert_int_equal(mrt_publish_val(bus, &v), 0); /* the stopped one is pruned */
  mrt_bus_stats st;
  assert_int_equal(mrt_bus_stats_get(bus, &mrt_msg_val, &st), 0);
  assert_int_equal(st.subscribers, 0);
  mrt_ref_unref(sub);
  mrt_ref_unref(other);
  mrt_runtime_unref(rt);
}

/* Threaded: two publishers race a slow subscriber on another executor. */
#define RACE_PUBLISHERS 2
#define RACE_EACH 100000
#define RACE_CAPACITY 4

typedef struct race {
  mrt_bus *bus;
  uint64_t base;
} race;

static void *race_publisher(void *arg) {
  race *r = arg;
  for (uint64_t i = 1; i <= RACE_EACH; i++) {
    uint64_t v = r->base + i;
    (void)mrt_publish_val(r->bus, &v);
  }
  return NULL;
}

static int slow_val(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  /* A little work per message so the publishers outrun it. */
  volatile uint64_t x = 0;
  for (int i = 0; i < 2000; i++)
    x += (uint64_t)i;
  return rec_val(self, state, p, r);
}

static const mrt_handler_entry slow_handlers[] = {
    {&mrt_msg_val, slow_val}, {&mrt_msg_seen_get, rec_get}, {NULL, NULL}};
static const mrt_actor_class slow_class = {
    .name = "slow", .state_size = sizeof(seen), .handlers = slow_handlers};

static void latest_race_newest_always_lands(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_runtime_config cfg = {.executors = 2};
  assert_int_equal(mrt_runtime_new(&cfg, &rt), 0);
  assert_int_equal(mrt_runtime_start(rt), 0);
  mrt_bus *bus = mrt_runtime_bus(rt);
  assert_int_equal(mrt_bus_configure(bus, &mrt_msg_val, &latest), 0);
  mrt_ref *sub;
  mrt_spawn_opts o = {.executor = 1, .mailbox_capacity = RACE_CAPACITY};
  assert_int_equal(mrt_actor_spawn(rt, &slow_class, NULL, &o, &sub), 0);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_val, sub), 0);
  pthread_t th[RACE_PUBLISHERS];
  race args[RACE_PUBLISHERS];
  for (int i = 0; i < RACE_PUBLISHERS; i++) {
    args[i] = (race){bus, (uint64_t)i * 1000000};
    assert_int_equal(pthread_create(&th[i], NULL, race_publisher, &args[i]), 0);
  }
  uint64_t deepest_seen = 0;
  for (int i = 0; i < 20; i++) {
    uint64_t deepest = 0;
    assert_int_equal(mrt_runtime_mailbox_depth(rt, NULL, &deepest), 0);
    if (deepest > deepest_seen)
      deepest_seen = deepest;
  }
  for (int i = 0; i < RACE_PUBLISHERS; i++)
    pthread_join(th[i], NULL);
  /* One more publish after both: it is the newest and must land, whatever
   * the subscriber's mailbox held when it was published. */
  uint64_t final = 9000000;
  (void)mrt_publish_val(bus, &final);
  seen s;
  memset(&s, 0, sizeof s);
  /* Until the subscriber has handled the final value. A failed ask returns
   * at once, so pause between tries to let its executor run; the deadline
   * only keeps a broken runtime from hanging the test (a liveness bound:
   * the subscriber has a handful of messages left). */
  struct timespec pause = {0, 1000 * 1000};
  for (int i = 0; i < 30000 && s.last != final; i++) {
    int rc = MRT_ASK_SYNC(seen_get, sub, &(mrt_none){0}, &s, MRT_SEC(30));
    assert_true(rc == 0 || rc == -EAGAIN);
    if (s.last != final)
      nanosleep(&pause, NULL);
  }
  assert_int_equal(s.last, final);
  mrt_bus_stats st;
  assert_int_equal(mrt_bus_stats_get(bus, &mrt_msg_val, &st), 0);
  assert_int_equal(st.published, RACE_PUBLISHERS * RACE_EACH + 1);
  /* Every publish was delivered or counted as dropped (catch-ups add to the
   * deliveries, so at least as many as were published). */
  assert_true(st.delivered + st.dropped_full >= st.published);
  assert_true(s.vals <= st.delivered);
  /* The mailbox never held more than its capacity plus the ask in flight
   * (asks count too) and one owed value: bounded, whatever the race did. */
  assert_true(deepest_seen <= RACE_CAPACITY + 1);
  print_message("race: %llu values published, %llu handled, %llu dropped, deepest %llu\n",
                (unsigned long long)st.published, (unsigned long long)s.vals,
                (unsigned long long)st.dropped_full, (unsigned long long)deepest_seen);
  mrt_ref_unref(sub);
  mrt_runtime_unref(rt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(ask_into_full_mailbox_fails_at_once),
      cmocka_unit_test(ask_from_actor_into_full_mailbox),
      cmocka_unit_test(down_and_exit_reach_a_full_mailbox),
      cmocka_unit_test(shutdown_signal_reaches_a_full_mailbox),
      cmocka_unit_test(latest_delivers_newest_after_flood),
      cmocka_unit_test(latest_subscribe_gets_only_retained_values),
      cmocka_unit_test(latest_owed_to_a_stopped_subscriber_costs_nothing),
      cmocka_unit_test(latest_race_newest_always_lands),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
