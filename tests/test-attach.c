/* SPDX-License-Identifier: MIT */
/* Tests: embedding — mrt_runtime_attach runs executor 0 inside a host's own
 * event_base, driven by the host's loop; host threads tell and ask_sync while
 * it runs; ask_sync from the loop's thread refuses with -EDEADLK; shutdown on
 * the attach thread removes every event meshrt added to the host's base. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <event2/event.h>

#include <meshrt/meshrt.h>

MRT_MESSAGE_DECLARE(, add, int, int);
MRT_MESSAGE_DEFINE(add, int, int, NULL, NULL);
MRT_MESSAGE_DECLARE(, finish, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(finish, mrt_none, mrt_none, NULL, NULL);

typedef struct sum_state {
  int sum;
  int ticks;
  bool ran_on_host_thread;
  bool ticked_on_host_thread;
  int exit_after; /* ticks after which the host's loop ends; 0: never */
} sum_state;

/* The attached timer test ends its host loop after this many ticks. */
#define TICKS_WANTED 10

static pthread_t host_thread;

static int on_add(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  sum_state *st = state;
  st->sum += *(const int *)p;
  st->ran_on_host_thread = pthread_equal(pthread_self(), host_thread);
  if (r != NULL)
    return MRT_REPLY(add, r, &st->sum);
  return 0;
}

static int on_finish(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)state;
  (void)p;
  (void)r;
  /* Runs on the host's loop thread: ending the host's loop is safe here. */
  return event_base_loopexit(mrt_actor_event_base(self), NULL);
}

static int tick(mrt_actor *self, void *state, void *ud) {
  (void)ud;
  sum_state *st = state;
  st->ticked_on_host_thread = pthread_equal(pthread_self(), host_thread);
  /* Ending the host's loop from here is safe: this runs on its thread. */
  if (++st->ticks == st->exit_after)
    return event_base_loopexit(mrt_actor_event_base(self), NULL);
  return 0;
}

/* args: the number of ticks after which to end the host's loop (0: never). */
static int sum_start(mrt_actor *self, void *state, const void *args) {
  ((sum_state *)state)->exit_after = *(const int *)args;
  return mrt_timer_start(self, MRT_MS(1), MRT_MS(1), tick, NULL, NULL);
}

static const mrt_handler_entry sum_handlers[] = {
    {&mrt_msg_add, on_add}, {&mrt_msg_finish, on_finish}, {NULL, NULL}};
static const mrt_actor_class sum_class = {.name = "sum",
                                          .state_size = sizeof(sum_state),
                                          .args_size = sizeof(int),
                                          .on_start = sum_start,
                                          .handlers = sum_handlers};

typedef struct client {
  mrt_ref *to;
  int ok;
  int last;
} client;

static void *client_main(void *arg) {
  client *c = arg;
  for (int i = 1; i <= 1000; i++) {
    if (MRT_TELL(add, c->to, &(int){1}) == 0)
      c->ok++;
    int sum = 0;
    if (MRT_ASK_SYNC(add, c->to, &(int){0}, &sum, MRT_SEC(10)) == 0)
      c->last = sum;
  }
  MRT_TELL(finish, c->to, &(mrt_none){0});
  return NULL;
}

static void attach_runs_under_host_loop(void **unused) {
  (void)unused;
  host_thread = pthread_self();
  struct event_base *base = event_base_new();
  assert_non_null(base);
  mrt_runtime *rt;
  assert_int_equal(mrt_runtime_new(NULL, &rt), 0);
  assert_int_equal(mrt_runtime_attach(rt, NULL), -EINVAL);
  assert_int_equal(mrt_runtime_attach(rt, base), 0);
  assert_int_equal(mrt_runtime_attach(rt, base), -EINVAL);
  assert_int_equal(mrt_runtime_start(rt), -EINVAL);
  mrt_ref *a;
  assert_int_equal(mrt_actor_spawn(rt, &sum_class, &(int){0}, NULL, &a), 0);
  /* The loop's own thread must not block on the runtime it drives. */
  int sum;
  assert_int_equal(MRT_ASK_SYNC(add, a, &(int){0}, &sum, MRT_MS(10)), -EDEADLK);
  assert_int_equal(mrt_runtime_run_until_idle(rt), -EINVAL);
  client c = {a, 0, 0};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, client_main, &c), 0);
  assert_int_equal(event_base_dispatch(base), 0); /* until on_finish */
  pthread_join(th, NULL);
  assert_int_equal(c.ok, 1000);
  assert_int_equal(c.last, 1000);
  assert_int_equal(mrt_runtime_shutdown(rt), 0);
  /* Nothing of meshrt's is left registered on the host's base. */
  assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 0);
  mrt_ref_unref(a);
  mrt_runtime_unref(rt);
  event_base_free(base);
}

/* Handlers really run on the host thread, and real-clock timers fire there. */
static void attached_handlers_run_on_host_thread(void **unused) {
  (void)unused;
  host_thread = pthread_self();
  struct event_base *base = event_base_new();
  mrt_runtime *rt;
  assert_int_equal(mrt_runtime_new(NULL, &rt), 0);
  assert_int_equal(mrt_runtime_attach(rt, base), 0);
  mrt_ref *a;
  static const int exit_after = TICKS_WANTED;
  assert_int_equal(mrt_actor_spawn(rt, &sum_class, &exit_after, NULL, &a), 0);
  assert_int_equal(MRT_TELL(add, a, &(int){5}), 0);
  /* The loop runs until the 1 ms timer has ticked TICKS_WANTED times, however
   * long a loaded machine takes for that; the 60 s exit only stops a loop
   * whose timers never fire (then the tick count below fails). */
  struct timeval never = {60, 0};
  event_base_loopexit(base, &never);
  event_base_dispatch(base);
  sum_state *st = NULL;
  /* Safe to peek: the loop is not running, and only it runs this actor. */
  st = mrt_actor_state(a);
  assert_non_null(st);
  assert_int_equal(st->sum, 5);
  assert_true(st->ran_on_host_thread);
  assert_true(st->ticks >= TICKS_WANTED);
  assert_true(st->ticked_on_host_thread);
  mrt_runtime_unref(rt); /* shutdown from the attach thread */
  assert_false(mrt_ref_alive(a));
  mrt_ref_unref(a);
  event_base_free(base);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(attach_runs_under_host_loop),
      cmocka_unit_test(attached_handlers_run_on_host_thread),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
