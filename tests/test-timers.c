/* SPDX-License-Identifier: MIT */
/* Tests: timers on the virtual clock — one-shot and periodic timers, cancel,
 * mrt_send_after, deadline order with ties in creation order, timers dying
 * with their actor (payload drop hooks run), a simulated hour in well under a
 * second, and a real-clock timer on a started runtime. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <time.h>

#include <meshrt/meshrt.h>
#include <meshrt/testing.h>

#define LOG_MAX 64

typedef struct timer_state {
  uint64_t fired_at[LOG_MAX];
  int fired_tag[LOG_MAX];
  size_t n;
  uint64_t periodic_id;
  uint64_t ticks;
} timer_state;

typedef struct plan {
  uint64_t delay;
  uint64_t period;
  int tag;
} plan;

typedef struct report {
  size_t n;
  uint64_t ticks;
  int tags[LOG_MAX];
  uint64_t at[LOG_MAX];
} report;

MRT_MESSAGE_DECLARE(, plan, plan, uint64_t); /* replies with the timer id */
MRT_MESSAGE_DEFINE(plan, plan, uint64_t, NULL, NULL);
MRT_MESSAGE_DECLARE(, cancel, uint64_t, int);
MRT_MESSAGE_DEFINE(cancel, uint64_t, int, NULL, NULL);
MRT_MESSAGE_DECLARE(, report, mrt_none, report);
MRT_MESSAGE_DEFINE(report, mrt_none, report, NULL, NULL);

static int tagged(mrt_actor *self, void *state, void *ud) {
  timer_state *st = state;
  if (st->n < LOG_MAX) {
    st->fired_at[st->n] = mrt_actor_now(self);
    st->fired_tag[st->n] = (int)(intptr_t)ud;
    st->n++;
  }
  st->ticks++;
  return 0;
}

static int on_plan(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)state;
  const plan *pl = p;
  uint64_t id = 0;
  int rc = mrt_timer_start(self, pl->delay, pl->period, tagged, (void *)(intptr_t)pl->tag, &id);
  if (rc < 0)
    return mrt_reply_error(r, rc);
  return MRT_REPLY(plan, r, &id);
}

static int on_cancel(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)state;
  int rc = mrt_timer_cancel(self, *(const uint64_t *)p);
  return MRT_REPLY(cancel, r, &rc);
}

static int on_report(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  timer_state *st = state;
  report rep = {.n = st->n, .ticks = st->ticks};
  for (size_t i = 0; i < st->n; i++) {
    rep.tags[i] = st->fired_tag[i];
    rep.at[i] = st->fired_at[i];
  }
  return MRT_REPLY(report, r, &rep);
}

static const mrt_handler_entry timer_handlers[] = {{&mrt_msg_plan, on_plan},
                                                   {&mrt_msg_cancel, on_cancel},
                                                   {&mrt_msg_report, on_report},
                                                   {NULL, NULL}};
static const mrt_actor_class timer_class = {
    .name = "timers", .state_size = sizeof(timer_state), .handlers = timer_handlers};

static uint64_t add_timer(mrt_ref *a, uint64_t delay, uint64_t period, int tag) {
  uint64_t id = 0;
  assert_int_equal(MRT_ASK_SYNC(plan, a, &((plan){delay, period, tag}), &id, 0), 0);
  return id;
}

static report get_report(mrt_ref *a) {
  report rep;
  assert_int_equal(MRT_ASK_SYNC(report, a, &(mrt_none){0}, &rep, 0), 0);
  return rep;
}

static void one_shot_timers_fire_in_deadline_order(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *a;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  assert_int_equal(mrt_actor_spawn(rt, &timer_class, NULL, NULL, &a), 0);
  uint64_t t0 = mrt_runtime_now(rt);
  add_timer(a, MRT_MS(300), 0, 3);
  add_timer(a, MRT_MS(100), 0, 1);
  add_timer(a, MRT_MS(200), 0, 2);
  add_timer(a, MRT_MS(200), 0, 22); /* same deadline: after tag 2 */
  assert_int_equal(mrt_runtime_advance(rt, MRT_MS(99)), 0);
  assert_int_equal(get_report(a).n, 0);
  assert_int_equal(mrt_runtime_advance(rt, MRT_MS(1000)), 4);
  report rep = get_report(a);
  assert_int_equal(rep.n, 4);
  int want[] = {1, 2, 22, 3};
  uint64_t at[] = {100, 200, 200, 300};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(rep.tags[i], want[i]);
    assert_int_equal(rep.at[i] - t0, MRT_MS(at[i])); /* fired at its deadline */
  }
  mrt_ref_unref(a);
  mrt_runtime_unref(rt);
}

static void periodic_timer_and_cancel(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *a;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  assert_int_equal(mrt_actor_spawn(rt, &timer_class, NULL, NULL, &a), 0);
  uint64_t id = add_timer(a, MRT_SEC(1), MRT_SEC(1), 7);
  assert_int_equal(mrt_runtime_advance(rt, MRT_MS(10500)), 10);
  assert_int_equal(get_report(a).ticks, 10);
  int rc = 1;
  assert_int_equal(MRT_ASK_SYNC(cancel, a, &id, &rc, 0), 0);
  assert_int_equal(rc, 0);
  assert_int_equal(mrt_runtime_advance(rt, MRT_SEC(10)), 0);
  assert_int_equal(get_report(a).ticks, 10);
  /* Cancelling again, or a fired one-shot, is a safe -ENOENT. */
  assert_int_equal(MRT_ASK_SYNC(cancel, a, &id, &rc, 0), 0);
  assert_int_equal(rc, -ENOENT);
  uint64_t once = add_timer(a, MRT_MS(1), 0, 8);
  mrt_runtime_advance(rt, MRT_MS(5));
  assert_int_equal(MRT_ASK_SYNC(cancel, a, &once, &rc, 0), 0);
  assert_int_equal(rc, -ENOENT);
  mrt_ref_unref(a);
  mrt_runtime_unref(rt);
}

static void simulated_hour_is_fast_and_exact(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *a;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  assert_int_equal(mrt_actor_spawn(rt, &timer_class, NULL, NULL, &a), 0);
  add_timer(a, MRT_MS(250), MRT_MS(250), 1); /* 14,400 ticks in an hour */
  add_timer(a, MRT_SEC(1), MRT_SEC(1), 2);   /* 3,600 */
  add_timer(a, MRT_SEC(60), MRT_SEC(60), 3); /* 60 */
  assert_int_equal(mrt_runtime_advance(rt, MRT_SEC(3600)), 14400 + 3600 + 60);
  assert_int_equal(get_report(a).ticks, 14400 + 3600 + 60);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  /* A virtual hour does not wait for a real one. Usually well under a
   * second; the bound is generous so that valgrind next to a CPU hog cannot
   * reach it, while a clock that really slept would. */
  assert_true(secs < 60.0);
  mrt_ref_unref(a);
  mrt_runtime_unref(rt);
}

/* ---- send_after and timers dying with their actor ------------------------ */

typedef struct owned {
  int *p;
} owned;
static int owned_drops;
static void owned_drop(void *p) {
  owned_drops++;
  free(((owned *)p)->p);
}
MRT_MESSAGE_DECLARE(, later, owned, mrt_none);
MRT_MESSAGE_DEFINE(later, owned, mrt_none, owned_drop, NULL);
MRT_MESSAGE_DECLARE(, schedule, uint64_t, mrt_none);
MRT_MESSAGE_DEFINE(schedule, uint64_t, mrt_none, NULL, NULL);

typedef struct sender_state {
  mrt_ref *to;
} sender_state;

static int sender_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  ((sender_state *)state)->to = *(mrt_ref *const *)args;
  return 0;
}

static int on_schedule(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)r;
  owned o = {malloc(sizeof(int))};
  *o.p = 42;
  int rc = MRT_SEND_AFTER(later, self, ((sender_state *)state)->to, *(const uint64_t *)p, &o, NULL);
  if (rc < 0)
    free(o.p);
  return rc;
}

static const mrt_handler_entry sender_handlers[] = {{&mrt_msg_schedule, on_schedule}, {NULL, NULL}};
static const mrt_actor_class sender_class = {.name = "sender",
                                             .state_size = sizeof(sender_state),
                                             .args_size = sizeof(mrt_ref *),
                                             .on_start = sender_start,
                                             .handlers = sender_handlers};

static void send_after_delivers_later(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *tap, *sender;
  owned_drops = 0;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  const mrt_msg_type *types[] = {&mrt_msg_later};
  assert_int_equal(mrt_test_tap_spawn(rt, types, 1, &tap), 0);
  assert_int_equal(mrt_actor_spawn(rt, &sender_class, &tap, NULL, &sender), 0);
  uint64_t t0 = mrt_runtime_now(rt);
  assert_int_equal(MRT_TELL(schedule, sender, &(uint64_t){MRT_SEC(3)}), 0);
  mrt_runtime_advance(rt, MRT_MS(2999));
  assert_int_equal(mrt_test_tap_count(tap, &mrt_msg_later), 0);
  mrt_runtime_advance(rt, MRT_MS(1));
  assert_int_equal(mrt_test_tap_count(tap, &mrt_msg_later), 1);
  mrt_test_tap_record rec;
  assert_int_equal(mrt_test_tap_get(tap, &mrt_msg_later, 0, &rec), 0);
  assert_int_equal(rec.at_ns - t0, MRT_SEC(3));
  assert_int_equal(owned_drops, 1);
  /* A pending send_after dies with its sender: the payload is dropped once. */
  assert_int_equal(MRT_TELL(schedule, sender, &(uint64_t){MRT_SEC(3)}), 0);
  mrt_runtime_run_until_idle(rt);
  assert_int_equal(mrt_actor_stop(sender), 0);
  mrt_runtime_advance(rt, MRT_SEC(10));
  assert_int_equal(owned_drops, 2);
  assert_int_equal(mrt_test_tap_count(tap, &mrt_msg_later), 1);
  mrt_ref_unref(sender);
  mrt_ref_unref(tap);
  mrt_runtime_unref(rt);
}

static void timers_refuse_outside_actor_context(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *a;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  assert_int_equal(mrt_actor_spawn(rt, &timer_class, NULL, NULL, &a), 0);
  mrt_runtime_run_until_idle(rt);
  assert_int_equal(mrt_timer_start(a, 1, 0, tagged, NULL, NULL), -EINVAL);
  assert_int_equal(mrt_timer_cancel(a, 1), -EINVAL);
  assert_int_equal(mrt_send_after(a, a, 1, &mrt_msg_report, &(mrt_none){0}, sizeof(mrt_none), NULL),
                   -EINVAL);
  assert_int_equal(mrt_runtime_advance(NULL, 1), -EINVAL);
  mrt_ref_unref(a);
  mrt_runtime_unref(rt);
}

static void real_clock_timer_on_started_runtime(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *a;
  assert_int_equal(mrt_runtime_new(NULL, &rt), 0);
  assert_int_equal(mrt_runtime_advance(rt, 1), -EINVAL); /* not a virtual clock */
  assert_int_equal(mrt_runtime_start(rt), 0);
  assert_int_equal(mrt_runtime_start(rt), -EINVAL);
  assert_int_equal(mrt_actor_spawn(rt, &timer_class, NULL, NULL, &a), 0);
  uint64_t t0 = mrt_runtime_now(rt);
  add_timer(a, MRT_MS(20), 0, 1);
  report rep;
  do {
    struct timespec pause = {0, 2000000};
    nanosleep(&pause, NULL);
    rep = get_report(a);
  } while (rep.n == 0 && mrt_runtime_now(rt) - t0 < MRT_SEC(30)); /* "never fired" */
  assert_int_equal(rep.n, 1);
  assert_true(rep.at[0] - t0 >= MRT_MS(20));
  mrt_ref_unref(a);
  mrt_runtime_unref(rt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(one_shot_timers_fire_in_deadline_order),
      cmocka_unit_test(periodic_timer_and_cancel),
      cmocka_unit_test(simulated_hour_is_fast_and_exact),
      cmocka_unit_test(send_after_delivers_later),
      cmocka_unit_test(timers_refuse_outside_actor_context),
      cmocka_unit_test(real_clock_timer_on_started_runtime),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
