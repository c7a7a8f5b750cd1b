/* SPDX-License-Identifier: MIT */
/* Tests: tell — delivery, order, type and size checks, bounded mailboxes,
 * fairness between busy actors, and 4 host threads telling one actor 1,000,000
 * messages on a threaded runtime of 2 and of 4 executors (none lost,
 * per-sender order kept). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <meshrt/meshrt.h>
#include <meshrt/testing.h>

#include "order-actor.h"

MRT_MESSAGE_DECLARE(, other, uint64_t, mrt_none);
MRT_MESSAGE_DEFINE(other, uint64_t, mrt_none, NULL, NULL);

static uint64_t get_total(mrt_ref *ref) {
  uint64_t v = 0;
  assert_int_equal(MRT_ASK_SYNC(get, ref, &(mrt_none){0}, &v, MRT_SEC(30)), 0);
  return v;
}

static void tell_delivers_in_order(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *a;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  assert_int_equal(mrt_actor_spawn(rt, &order_class, NULL, NULL, &a), 0);
  for (uint32_t i = 0; i < 1000; i++)
    assert_int_equal(MRT_TELL(num, a, &((num){0, i})), 0);
  assert_int_equal(get_total(a), 1000); /* UINT64_MAX would mean out of order */
  mrt_ref_unref(a);
  mrt_runtime_unref(rt);
}

static void tell_rejects_bad_input(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *a;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  assert_int_equal(mrt_actor_spawn(rt, &order_class, NULL, NULL, &a), 0);
  num n = {0, 0};
  assert_int_equal(mrt_tell(NULL, &mrt_msg_num, &n, sizeof n), -EINVAL);
  assert_int_equal(mrt_tell(a, NULL, &n, sizeof n), -EINVAL);
  assert_int_equal(mrt_tell(a, &mrt_msg_num, &n, sizeof n - 1), -EINVAL);
  assert_int_equal(mrt_tell(a, &mrt_msg_num, NULL, sizeof n), -EINVAL);
  assert_int_equal(MRT_TELL(other, a, &(uint64_t){1}), -ENOTSUP);
  assert_int_equal(get_total(a), 0);
  mrt_ref_unref(a);
  mrt_runtime_unref(rt);
}

static void bounded_mailbox_rejects_when_full(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *a;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_spawn_opts opts = {.executor = MRT_EXECUTOR_AUTO, .mailbox_capacity = 8};
  assert_int_equal(mrt_actor_spawn(rt, &order_class, NULL, &opts, &a), 0);
  for (uint32_t i = 0; i < 8; i++)
    assert_int_equal(MRT_TELL(num, a, &((num){0, i})), 0);
  assert_int_equal(MRT_TELL(num, a, &((num){0, 8})), -EAGAIN);
  assert_int_equal(MRT_TELL(num, a, &((num){0, 8})), -EAGAIN);
  mrt_runtime_run_until_idle(rt);
  /* Room again once handled; the rejected sends left no trace. */
  assert_int_equal(MRT_TELL(num, a, &((num){0, 8})), 0);
  assert_int_equal(get_total(a), 9);
  mrt_ref_unref(a);
  mrt_runtime_unref(rt);
}

/* Every payload size arrives byte for byte: small payloads are copied with
 * fixed-size moves that overlap (envelope.c), pooled ones up to 64 bytes,
 * larger ones with malloc. Types are made at run time, one per size; the
 * actor takes any message and checks the bytes against the pattern. */
#define SIZES 100

typedef struct bytes_state {
  uint64_t good, bad;
} bytes_state;

static uint8_t pattern(size_t size, size_t i) {
  return (uint8_t)(size * 31 + i * 7 + 1);
}

static int bytes_any(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  bytes_state *st = state;
  const mrt_msg_type *type = mrt_actor_msg_type(self);
  if (type == &mrt_msg_get) {
    uint64_t verdict = st->bad == 0 ? st->good : UINT64_MAX;
    return MRT_REPLY(get, r, &verdict);
  }
  const uint8_t *b = p;
  bool same = true;
  for (size_t i = 0; i < type->payload_size; i++)
    same = same && b[i] == pattern(type->payload_size, i);
  if (same)
    st->good++;
  else
    st->bad++;
  return 0;
}

static const mrt_actor_class bytes_class = {
    .name = "bytes", .state_size = sizeof(bytes_state), .handle_any = bytes_any};

static void payloads_of_every_size_arrive_intact(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *a;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  assert_int_equal(mrt_actor_spawn(rt, &bytes_class, NULL, NULL, &a), 0);
  static mrt_msg_type types[SIZES + 1];
  uint8_t buf[SIZES + 8];
  for (size_t size = 1; size <= SIZES; size++) {
    types[size] = (mrt_msg_type){.name = "bytes", .payload_size = size};
    memset(buf, 0xee, sizeof buf); /* what follows the payload must not leak in */
    for (size_t i = 0; i < size; i++)
      buf[i] = pattern(size, i);
    assert_int_equal(mrt_tell(a, &types[size], buf, size), 0);
  }
  assert_int_equal(get_total(a), SIZES); /* UINT64_MAX: some payload differed */
  mrt_ref_unref(a);
  mrt_runtime_unref(rt);
}

/* Fairness: an actor that keeps re-telling itself cannot starve another. */
typedef struct spinner_state {
  uint64_t spins;
} spinner_state;

static int spin(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)p;
  (void)r;
  spinner_state *st = state;
  if (++st->spins < 100000)
    return MRT_TELL(other, self, &(uint64_t){st->spins});
  return 0;
}

static int spin_get(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  return MRT_REPLY(get, r, &((spinner_state *)state)->spins);
}

static const mrt_handler_entry spinner_handlers[] = {
    {&mrt_msg_other, spin}, {&mrt_msg_get, spin_get}, {NULL, NULL}};
static const mrt_actor_class spinner_class = {
    .name = "spinner", .state_size = sizeof(spinner_state), .handlers = spinner_handlers};

typedef struct probe_args {
  mrt_ref *spinner;
} probe_args;
typedef struct probe_state {
  mrt_ref *spinner;
  uint64_t spins_seen;
} probe_state;

static int probe_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  ((probe_state *)state)->spinner = ((const probe_args *)args)->spinner;
  return 0;
}

static int probe_num(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  (void)r;
  probe_state *st = state;
  /* Handlers of one executor run on one thread: reading the spinner's state
   * here is a test-only peek at how far it got. */
  st->spins_seen = ((spinner_state *)mrt_actor_state(st->spinner))->spins;
  return 0;
}

static int probe_get(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  return MRT_REPLY(get, r, &((probe_state *)state)->spins_seen);
}

static const mrt_handler_entry probe_handlers[] = {
    {&mrt_msg_num, probe_num}, {&mrt_msg_get, probe_get}, {NULL, NULL}};
static const mrt_actor_class probe_class = {.name = "probe",
                                            .state_size = sizeof(probe_state),
                                            .args_size = sizeof(probe_args),
                                            .on_start = probe_start,
                                            .handlers = probe_handlers};

static void busy_actor_cannot_starve_others(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *spinner, *probe;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  assert_int_equal(mrt_actor_spawn(rt, &spinner_class, NULL, NULL, &spinner), 0);
  probe_args pa = {spinner};
  assert_int_equal(mrt_actor_spawn(rt, &probe_class, &pa, NULL, &probe), 0);
  mrt_runtime_run_until_idle(rt); /* both started */
  assert_int_equal(MRT_TELL(other, spinner, &(uint64_t){0}), 0);
  assert_int_equal(MRT_TELL(num, probe, &((num){0, 0})), 0);
  uint64_t seen = 0, spins = 0;
  assert_int_equal(MRT_ASK_SYNC(get, probe, &(mrt_none){0}, &seen, 0), 0);
  assert_int_equal(MRT_ASK_SYNC(get, spinner, &(mrt_none){0}, &spins, 0), 0);
  /* The probe ran after a bounded number of the spinner's 64-message batches
   * (turns made ready by the executor itself get at most 16 in a row before
   * the cross-thread run queue is served), long before its 100,000 sends. */
  assert_true(seen <= 17 * 64 + 1);
  assert_int_equal(spins, 100000);
  mrt_ref_unref(probe);
  mrt_ref_unref(spinner);
  mrt_runtime_unref(rt);
}

static void mailbox_depth_is_reported(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *a;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  assert_int_equal(mrt_actor_spawn(rt, &order_class, NULL, NULL, &a), 0);
  for (uint32_t i = 0; i < 10; i++)
    assert_int_equal(MRT_TELL(num, a, &((num){0, i})), 0);
  mrt_ref *b;
  assert_int_equal(mrt_actor_spawn(rt, &order_class, NULL, NULL, &b), 0);
  assert_int_equal(MRT_TELL(num, b, &((num){1, 0})), 0);
  uint64_t total = 0, deepest = 0;
  assert_int_equal(mrt_runtime_mailbox_depth(rt, &total, &deepest), 0);
  assert_int_equal(total, 11);
  assert_int_equal(deepest, 10);
  mrt_runtime_run_until_idle(rt);
  assert_int_equal(mrt_runtime_mailbox_depth(rt, &total, &deepest), 0);
  assert_int_equal(total, 0);
  assert_int_equal(deepest, 0);
  mrt_runtime_stats st;
  mrt_runtime_get_stats(rt, &st);
  assert_int_equal(st.messages_handled, 11);
  assert_int_equal(mrt_runtime_mailbox_depth(NULL, &total, NULL), -EINVAL);
  mrt_ref_unref(b);
  mrt_ref_unref(a);
  mrt_runtime_unref(rt);
}

typedef struct sender_args {
  mrt_ref *to;
  uint32_t sender;
  uint32_t count;
  int failures;
} sender_args;

static void *sender_main(void *arg) {
  sender_args *a = arg;
  for (uint32_t i = 0; i < a->count; i++)
    if (MRT_TELL(num, a->to, &((num){a->sender, i})) != 0)
      a->failures++;
  return NULL;
}

static void four_threads_one_million(unsigned executors) {
  mrt_runtime *rt;
  mrt_ref *a;
  assert_int_equal(mrt_runtime_new(&(mrt_runtime_config){.executors = executors}, &rt), 0);
  assert_int_equal(mrt_runtime_start(rt), 0);
  assert_int_equal(mrt_actor_spawn(rt, &order_class, NULL, NULL, &a), 0);
  pthread_t th[SENDERS];
  sender_args args[SENDERS];
  for (uint32_t i = 0; i < SENDERS; i++) {
    args[i] = (sender_args){a, i, 250000, 0};
    assert_int_equal(pthread_create(&th[i], NULL, sender_main, &args[i]), 0);
  }
  for (int i = 0; i < SENDERS; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(args[i].failures, 0);
  }
  /* The ask queues behind every tell (each sender's tells happened-before
   * the join), so the total is final. UINT64_MAX would mean a reordering. */
  assert_int_equal(get_total(a), 1000000);
  mrt_ref_unref(a);
  mrt_runtime_unref(rt);
}

static void four_threads_one_million_2_executors(void **unused) {
  (void)unused;
  four_threads_one_million(2);
}

static void four_threads_one_million_4_executors(void **unused) {
  (void)unused;
  four_threads_one_million(4);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tell_delivers_in_order),
      cmocka_unit_test(tell_rejects_bad_input),
      cmocka_unit_test(payloads_of_every_size_arrive_intact),
      cmocka_unit_test(bounded_mailbox_rejects_when_full),
      cmocka_unit_test(busy_actor_cannot_starve_others),
      cmocka_unit_test(mailbox_depth_is_reported),
      cmocka_unit_test(four_threads_one_million_2_executors),
      cmocka_unit_test(four_threads_one_million_4_executors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
