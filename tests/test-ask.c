/* SPDX-License-Identifier: MIT */
/* Tests: ask from actors (continuations in the asker's context), deferred
 * replies, dropped tokens, timeouts with late replies discarded, asks to
 * stopped actors, askers that stop with asks pending, and mrt_ask_sync across
 * threads including -EDEADLK from an executor thread. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>

#include <meshrt/meshrt.h>
#include <meshrt/testing.h>

/* A reply that owns heap memory, to count drop hooks. */
typedef struct boxed {
  int *value;
} boxed;

static int reply_drops;
static void boxed_drop(void *p) {
  reply_drops++;
  free(((boxed *)p)->value);
}

MRT_MESSAGE_DECLARE(, square, int, boxed);
MRT_MESSAGE_DEFINE(square, int, boxed, NULL, boxed_drop);
MRT_MESSAGE_DECLARE(, hold, int, boxed); /* replied later, by `release` */
MRT_MESSAGE_DEFINE(hold, int, boxed, NULL, boxed_drop);
MRT_MESSAGE_DECLARE(, release, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(release, mrt_none, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, ignore, int, boxed); /* handler never answers */
MRT_MESSAGE_DEFINE(ignore, int, boxed, NULL, boxed_drop);
MRT_MESSAGE_DECLARE(, broken, int, boxed); /* handler fails */
MRT_MESSAGE_DEFINE(broken, int, boxed, NULL, boxed_drop);
MRT_MESSAGE_DECLARE(, delayed, int, boxed); /* replied by a timer after 2 s */
MRT_MESSAGE_DEFINE(delayed, int, boxed, NULL, boxed_drop);
MRT_MESSAGE_DECLARE(, nested, int, int); /* server asks itself an ask_sync */
MRT_MESSAGE_DEFINE(nested, int, int, NULL, NULL);

static boxed box(int v) {
  boxed b = {malloc(sizeof(int))};
  *b.value = v;
  return b;
}

/* ---- the server ---------------------------------------------------------- */

typedef struct server_state {
  mrt_reply *held;
  int held_value;
} server_state;

static int on_square(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  int v = *(const int *)p;
  boxed b = box(v * v);
  return MRT_REPLY(square, r, &b);
}

static int on_hold(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  server_state *st = state;
  st->held = mrt_reply_defer(r);
  st->held_value = *(const int *)p;
  return 0;
}

static int on_release(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  (void)r;
  server_state *st = state;
  if (st->held == NULL)
    return 0;
  boxed b = box(st->held_value + 1);
  int rc = MRT_REPLY(hold, st->held, &b);
  st->held = NULL;
  return rc;
}

static int on_ignore(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)p;
  (void)r;
  return 0;
}

static int on_broken(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)p;
  (void)r;
  return -EIO;
}

static int delayed_fire(mrt_actor *self, void *state, void *ud) {
  (void)self;
  (void)ud;
  server_state *st = state;
  boxed b = box(st->held_value * 10);
  MRT_REPLY(delayed, st->held, &b);
  st->held = NULL;
  return 0;
}

static int on_delayed(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  server_state *st = state;
  st->held = mrt_reply_defer(r);
  st->held_value = *(const int *)p;
  return mrt_timer_start(self, MRT_SEC(2), 0, delayed_fire, NULL, NULL);
}

static int on_nested(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)state;
  (void)p;
  boxed out;
  int rc = MRT_ASK_SYNC(square, self, &(int){2}, &out, MRT_MS(10));
  return MRT_REPLY(nested, r, &rc);
}

static const mrt_handler_entry server_handlers[] = {
    {&mrt_msg_square, on_square},   {&mrt_msg_hold, on_hold},
    {&mrt_msg_release, on_release}, {&mrt_msg_ignore, on_ignore},
    {&mrt_msg_broken, on_broken},   {&mrt_msg_delayed, on_delayed},
    {&mrt_msg_nested, on_nested},   {NULL, NULL},
};
static const mrt_actor_class server_class = {
    .name = "server", .state_size = sizeof(server_state), .handlers = server_handlers};

/* ---- the asking actor ---------------------------------------------------- */

typedef struct ask_req {
  const mrt_msg_type *type;
  int arg;
  uint64_t timeout_ns;
} ask_req;

typedef struct result {
  int calls;
  int status;
  int value;
  bool in_context;
} result;

MRT_MESSAGE_DECLARE(, do_ask, ask_req, mrt_none);
MRT_MESSAGE_DEFINE(do_ask, ask_req, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, get_result, mrt_none, result);
MRT_MESSAGE_DEFINE(get_result, mrt_none, result, NULL, NULL);

typedef struct asker_args {
  mrt_ref *server;
} asker_args;

typedef struct asker_state {
  mrt_ref *server;
  mrt_actor *self;
  result res;
} asker_state;

static int asker_start(mrt_actor *self, void *state, const void *args) {
  asker_state *st = state;
  st->server = mrt_ref_ref(((const asker_args *)args)->server);
  st->self = self;
  return 0;
}

static void asker_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)self;
  (void)why;
  mrt_ref_unref(((asker_state *)state)->server);
}

static int continuation(mrt_actor *self, void *state, int status, const void *reply, void *ud) {
  (void)ud;
  asker_state *st = state;
  st->res.calls++;
  st->res.status = status;
  st->res.in_context = st->self == self && mrt_actor_state(self) == state;
  if (status >= 0)
    st->res.value = *((const boxed *)reply)->value;
  return 0;
}

static int on_do_ask(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)r;
  asker_state *st = state;
  const ask_req *q = p;
  int rc =
      mrt_ask(self, st->server, q->type, &q->arg, sizeof q->arg, q->timeout_ns, continuation, NULL);
  if (rc < 0) {
    st->res.calls = -1;
    st->res.status = rc;
  }
  return 0;
}

static int on_get_result(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  return MRT_REPLY(get_result, r, &((asker_state *)state)->res);
}

static const mrt_handler_entry asker_handlers[] = {
    {&mrt_msg_do_ask, on_do_ask}, {&mrt_msg_get_result, on_get_result}, {NULL, NULL}};
static const mrt_actor_class asker_class = {.name = "asker",
                                            .state_size = sizeof(asker_state),
                                            .args_size = sizeof(asker_args),
                                            .on_start = asker_start,
                                            .on_stop = asker_stop,
                                            .handlers = asker_handlers};

typedef struct fixture {
  mrt_runtime *rt;
  mrt_ref *server;
  mrt_ref *asker;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  reply_drops = 0;
  assert_int_equal(mrt_test_runtime_new(1, &f->rt), 0);
  assert_int_equal(mrt_actor_spawn(f->rt, &server_class, NULL, NULL, &f->server), 0);
  asker_args a = {f->server};
  assert_int_equal(mrt_actor_spawn(f->rt, &asker_class, &a, NULL, &f->asker), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  mrt_ref_unref(f->asker);
  mrt_ref_unref(f->server);
  mrt_runtime_unref(f->rt);
  free(f);
  return 0;
}

static result ask_and_collect(fixture *f, const mrt_msg_type *type, int arg, uint64_t timeout) {
  ask_req q = {type, arg, timeout};
  assert_int_equal(MRT_TELL(do_ask, f->asker, &q), 0);
  mrt_runtime_run_until_idle(f->rt);
  result res;
  assert_int_equal(MRT_ASK_SYNC(get_result, f->asker, &(mrt_none){0}, &res, 0), 0);
  return res;
}

static void ask_runs_continuation_in_asker_context(void **state) {
  fixture *f = *state;
  result res = ask_and_collect(f, &mrt_msg_square, 7, 0);
  assert_int_equal(res.calls, 1);
  assert_int_equal(res.status, 0);
  assert_int_equal(res.value, 49);
  assert_true(res.in_context);
  assert_int_equal(reply_drops, 1); /* the reply's hook ran after the continuation */
}

static void deferred_reply_answers_later(void **state) {
  fixture *f = *state;
  result res = ask_and_collect(f, &mrt_msg_hold, 5, MRT_SEC(10));
  assert_int_equal(res.calls, 0); /* still waiting */
  assert_int_equal(MRT_TELL(release, f->server, &(mrt_none){0}), 0);
  mrt_runtime_run_until_idle(f->rt);
  assert_int_equal(MRT_ASK_SYNC(get_result, f->asker, &(mrt_none){0}, &res, 0), 0);
  assert_int_equal(res.calls, 1);
  assert_int_equal(res.value, 6);
}

static void deferred_reply_from_timer(void **state) {
  fixture *f = *state;
  result res = ask_and_collect(f, &mrt_msg_delayed, 4, MRT_SEC(5));
  assert_int_equal(res.calls, 0);
  mrt_runtime_advance(f->rt, MRT_SEC(2));
  assert_int_equal(MRT_ASK_SYNC(get_result, f->asker, &(mrt_none){0}, &res, 0), 0);
  assert_int_equal(res.calls, 1);
  assert_int_equal(res.value, 40);
}

static void dropped_token_answers_canceled(void **state) {
  fixture *f = *state;
  result res = ask_and_collect(f, &mrt_msg_ignore, 1, 0);
  assert_int_equal(res.calls, 1);
  assert_int_equal(res.status, -ECANCELED);
}

static void handler_error_is_the_answer(void **state) {
  fixture *f = *state;
  result res = ask_and_collect(f, &mrt_msg_broken, 1, 0);
  assert_int_equal(res.calls, 1);
  assert_int_equal(res.status, -EIO);
  assert_false(mrt_ref_alive(f->server)); /* a failing handler fails its actor */
}

static void timeout_then_late_reply_is_discarded(void **state) {
  fixture *f = *state;
  result res = ask_and_collect(f, &mrt_msg_hold, 5, MRT_SEC(1));
  assert_int_equal(res.calls, 0);
  mrt_runtime_advance(f->rt, MRT_SEC(1));
  assert_int_equal(MRT_ASK_SYNC(get_result, f->asker, &(mrt_none){0}, &res, 0), 0);
  assert_int_equal(res.calls, 1);
  assert_int_equal(res.status, -ETIMEDOUT);
  /* The late reply is dropped (its hook runs) and the continuation does not
   * run a second time. */
  assert_int_equal(MRT_TELL(release, f->server, &(mrt_none){0}), 0);
  mrt_runtime_run_until_idle(f->rt);
  assert_int_equal(reply_drops, 1);
  assert_int_equal(MRT_ASK_SYNC(get_result, f->asker, &(mrt_none){0}, &res, 0), 0);
  assert_int_equal(res.calls, 1);
}

static void ask_to_stopped_actor(void **state) {
  fixture *f = *state;
  assert_int_equal(mrt_actor_stop(f->server), 0);
  mrt_runtime_run_until_idle(f->rt);
  result res = ask_and_collect(f, &mrt_msg_square, 3, 0);
  assert_int_equal(res.calls, -1); /* refused at the call: the callback never runs */
  assert_int_equal(res.status, -ESRCH);
  boxed out;
  assert_int_equal(MRT_ASK_SYNC(square, f->server, &(int){3}, &out, 0), -ESRCH);
}

static void target_stops_with_token_held(void **state) {
  fixture *f = *state;
  result res = ask_and_collect(f, &mrt_msg_hold, 5, MRT_SEC(10));
  assert_int_equal(res.calls, 0);
  assert_int_equal(mrt_actor_stop(f->server), 0);
  mrt_runtime_run_until_idle(f->rt);
  assert_int_equal(MRT_ASK_SYNC(get_result, f->asker, &(mrt_none){0}, &res, 0), 0);
  assert_int_equal(res.calls, 1);
  assert_int_equal(res.status, -ESRCH);
}

static void asker_stops_with_ask_pending(void **state) {
  fixture *f = *state;
  result res = ask_and_collect(f, &mrt_msg_hold, 5, MRT_SEC(10));
  assert_int_equal(res.calls, 0);
  assert_int_equal(mrt_actor_stop(f->asker), 0);
  mrt_runtime_run_until_idle(f->rt);
  assert_false(mrt_ref_alive(f->asker));
  /* The server's later reply finds nobody waiting: dropped, not leaked. */
  assert_int_equal(MRT_TELL(release, f->server, &(mrt_none){0}), 0);
  mrt_runtime_run_until_idle(f->rt);
  assert_int_equal(reply_drops, 1);
}

static void ask_sync_on_hand_driven_runtime(void **state) {
  fixture *f = *state;
  boxed out;
  assert_int_equal(MRT_ASK_SYNC(square, f->server, &(int){9}, &out, 0), 0);
  assert_int_equal(*out.value, 81);
  free(out.value); /* the caller owns the reply */
  /* A silent target times out on the virtual clock, instantly. */
  uint64_t before = mrt_runtime_now(f->rt);
  assert_int_equal(MRT_ASK_SYNC(hold, f->server, &(int){1}, &out, MRT_SEC(3)), -ETIMEDOUT);
  assert_true(mrt_runtime_now(f->rt) - before >= MRT_SEC(3));
  /* Time does not pass while the target is busy answering: a 7 ns deadline
   * is enough for a target that answers at once. */
  assert_int_equal(MRT_ASK_SYNC(square, f->server, &(int){1}, &out, 7), 0);
  assert_int_equal(*out.value, 1);
  free(out.value);
}

static void ask_sync_rejects_bad_input(void **state) {
  fixture *f = *state;
  boxed out;
  assert_int_equal(mrt_ask_sync(f->server, &mrt_msg_square, &(int){1}, sizeof(int), &out, 1, 0),
                   -EINVAL);
  assert_int_equal(mrt_ask_sync(NULL, &mrt_msg_square, &(int){1}, sizeof(int), &out, sizeof out, 0),
                   -EINVAL);
  assert_int_equal(mrt_ask_sync(f->server, &mrt_msg_square, &(int){1}, 3, &out, sizeof out, 0),
                   -EINVAL);
  assert_int_equal(
      mrt_ask_sync(f->asker, &mrt_msg_square, &(int){1}, sizeof(int), &out, sizeof out, 0),
      -ENOTSUP);
  assert_int_equal(mrt_reply_error(NULL, -EIO), -EINVAL);
}

/* ---- threaded ------------------------------------------------------------ */

typedef struct syncer {
  mrt_ref *server;
  int ok;
} syncer;

static void *sync_main(void *arg) {
  syncer *s = arg;
  for (int i = 0; i < 2000; i++) {
    boxed out;
    /* A failed ask writes no reply: out.value is then garbage, not ours to
     * free. */
    if (MRT_ASK_SYNC(square, s->server, &(int){i}, &out, MRT_SEC(10)) != 0)
      continue;
    if (*out.value == i * i)
      s->ok++;
    free(out.value);
  }
  return NULL;
}

static void ask_sync_across_threads(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *server;
  assert_int_equal(mrt_runtime_new(&(mrt_runtime_config){.executors = 2}, &rt), 0);
  assert_int_equal(mrt_runtime_start(rt), 0);
  assert_int_equal(mrt_actor_spawn(rt, &server_class, NULL, NULL, &server), 0);
  pthread_t th[3];
  syncer s[3];
  for (int i = 0; i < 3; i++) {
    s[i] = (syncer){server, 0};
    pthread_create(&th[i], NULL, sync_main, &s[i]);
  }
  for (int i = 0; i < 3; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(s[i].ok, 2000);
  }
  /* From an executor thread, ask_sync refuses rather than deadlock. */
  int nested = 0;
  assert_int_equal(MRT_ASK_SYNC(nested, server, &(int){0}, &nested, MRT_SEC(10)), 0);
  assert_int_equal(nested, -EDEADLK);
  /* A real-clock timeout on a threaded runtime. */
  boxed out;
  assert_int_equal(MRT_ASK_SYNC(hold, server, &(int){1}, &out, MRT_MS(20)), -ETIMEDOUT);
  mrt_ref_unref(server);
  mrt_runtime_unref(rt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(ask_runs_continuation_in_asker_context, setup, teardown),
      cmocka_unit_test_setup_teardown(deferred_reply_answers_later, setup, teardown),
      cmocka_unit_test_setup_teardown(deferred_reply_from_timer, setup, teardown),
      cmocka_unit_test_setup_teardown(dropped_token_answers_canceled, setup, teardown),
      cmocka_unit_test_setup_teardown(handler_error_is_the_answer, setup, teardown),
      cmocka_unit_test_setup_teardown(timeout_then_late_reply_is_discarded, setup, teardown),
      cmocka_unit_test_setup_teardown(ask_to_stopped_actor, setup, teardown),
      cmocka_unit_test_setup_teardown(target_stops_with_token_held, setup, teardown),
      cmocka_unit_test_setup_teardown(asker_stops_with_ask_pending, setup, teardown),
      cmocka_unit_test_setup_teardown(ask_sync_on_hand_driven_runtime, setup, teardown),
      cmocka_unit_test_setup_teardown(ask_sync_rejects_bad_input, setup, teardown),
      cmocka_unit_test(ask_sync_across_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
