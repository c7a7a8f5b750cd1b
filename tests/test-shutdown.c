/* SPDX-License-Identifier: MIT */
/* Tests: shutdown of a threaded runtime with messages and asks in flight —
 * every payload's drop hook runs exactly once, every ask is answered (none
 * hangs), executors join, and valgrind finds nothing leaked. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <meshrt/meshrt.h>

typedef struct parcel {
  int *body;
} parcel;

static atomic_int drops;
static void parcel_drop(void *p) {
  atomic_fetch_add(&drops, 1);
  free(((parcel *)p)->body);
}

MRT_MESSAGE_DECLARE(, parcel, parcel, int);
MRT_MESSAGE_DEFINE(parcel, parcel, int, parcel_drop, NULL);
MRT_MESSAGE_DECLARE(, keep, int, int); /* the token is kept, never answered */
MRT_MESSAGE_DECLARE(, try_shutdown, mrt_none, int);
MRT_MESSAGE_DEFINE(try_shutdown, mrt_none, int, NULL, NULL);
MRT_MESSAGE_DEFINE(keep, int, int, NULL, NULL);

typedef struct sink_state {
  int seen;
} sink_state;

static int on_parcel(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  (void)r;
  ((sink_state *)state)->seen++;
  return 0;
}

static int on_keep(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)p;
  mrt_reply_defer(r);
  return 0;
}

static int on_try_shutdown(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)state;
  (void)p;
  int rc = mrt_runtime_shutdown(mrt_actor_runtime(self));
  return MRT_REPLY(try_shutdown, r, &rc);
}

static const mrt_handler_entry sink_handlers[] = {{&mrt_msg_parcel, on_parcel},
                                                  {&mrt_msg_keep, on_keep},
                                                  {&mrt_msg_try_shutdown, on_try_shutdown},
                                                  {NULL, NULL}};
static const mrt_actor_class sink_class = {
    .name = "sink", .state_size = sizeof(sink_state), .handlers = sink_handlers};

typedef struct waiter {
  mrt_ref *to;
  int rc;
} waiter;

static void *waiter_main(void *arg) {
  waiter *w = arg;
  int out;
  w->rc = MRT_ASK_SYNC(keep, w->to, &(int){1}, &out, MRT_SEC(60));
  return NULL;
}

#define ACTORS 40
#define PER_ACTOR 2000

static void shutdown_with_work_in_flight(void **unused) {
  (void)unused;
  atomic_store(&drops, 0);
  mrt_runtime *rt;
  assert_int_equal(mrt_runtime_new(&(mrt_runtime_config){.executors = 2}, &rt), 0);
  assert_int_equal(mrt_runtime_start(rt), 0);
  mrt_ref *refs[ACTORS];
  for (int i = 0; i < ACTORS; i++)
    assert_int_equal(mrt_actor_spawn(rt, &sink_class, NULL, NULL, &refs[i]), 0);
  waiter w[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (waiter){refs[i], 1};
    pthread_create(&th[i], NULL, waiter_main, &w[i]);
  }
  int sent = 0;
  for (int j = 0; j < PER_ACTOR; j++)
    for (int i = 0; i < ACTORS; i++) {
      parcel p = {malloc(sizeof(int))};
      if (MRT_TELL(parcel, refs[i], &p) == 0)
        sent++;
      else
        free(p.body);
    }
  assert_int_equal(mrt_runtime_shutdown(rt), 0);
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    /* Answered by the shutdown (-ESRCH), or refused if it came too late. */
    assert_int_equal(w[i].rc, -ESRCH);
  }
  assert_int_equal(atomic_load(&drops), sent);
  parcel late = {NULL};
  assert_int_equal(MRT_TELL(parcel, refs[0], &late), -ESRCH);
  for (int i = 0; i < ACTORS; i++)
    mrt_ref_unref(refs[i]);
  mrt_runtime_unref(rt);
}

static void shutdown_from_an_actor_is_refused(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *a;
  assert_int_equal(mrt_runtime_new(NULL, &rt), 0);
  assert_int_equal(mrt_runtime_start(rt), 0);
  assert_int_equal(mrt_actor_spawn(rt, &sink_class, NULL, NULL, &a), 0);
  int rc = 0;
  assert_int_equal(MRT_ASK_SYNC(try_shutdown, a, &(mrt_none){0}, &rc, MRT_SEC(10)), 0);
  assert_int_equal(rc, -EDEADLK); /* it would wait for its own executor */
  assert_false(mrt_runtime_shutting_down(rt));
  assert_int_equal(mrt_runtime_shutdown(rt), 0);
  mrt_ref_unref(a);
  assert_true(mrt_runtime_shutting_down(rt));
  assert_int_equal(mrt_runtime_shutdown(NULL), -EINVAL);
  mrt_runtime_unref(rt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(shutdown_with_work_in_flight),
      cmocka_unit_test(shutdown_from_an_actor_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
