/* SPDX-License-Identifier: MIT */
/* Tests: the typed bus — per-publisher order across 3 subscribers, idempotent
 * subscribe, unsubscribe, pruning of stopped subscribers (counters), full
 * mailboxes under both policies, retained values for late subscribers,
 * publishing from handlers and from 4 host threads at once, the payload drop
 * hook running exactly once per publish, and a tap observing bus traffic. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <meshrt/meshrt.h>
#include <meshrt/testing.h>

/* A payload owning heap memory: the drop hook must run once per publish. */
typedef struct event {
  uint32_t sender;
  uint32_t seq;
  uint32_t *owned;
} event;

static atomic_int drops;
static void event_drop(void *p) {
  atomic_fetch_add(&drops, 1);
  free(((event *)p)->owned);
}

MRT_MESSAGE_DECLARE(, event, event, mrt_none);
MRT_MESSAGE_DEFINE(event, event, mrt_none, event_drop, NULL);
MRT_BUS_TYPED(event, event);
MRT_MESSAGE_DECLARE(, stats, mrt_none, int64_t);
MRT_MESSAGE_DEFINE(stats, mrt_none, int64_t, NULL, NULL);
MRT_MESSAGE_DECLARE(, relay, uint32_t, mrt_none); /* subscriber re-publishes from a handler */
MRT_MESSAGE_DEFINE(relay, uint32_t, mrt_none, NULL, NULL);

static event make_event(uint32_t sender, uint32_t seq) {
  event e = {sender, seq, malloc(sizeof(uint32_t))};
  *e.owned = seq;
  return e;
}

#define SENDERS 4

typedef struct sub_state {
  int64_t count;
  int64_t disorder;
  uint32_t next[SENDERS];
  bool payload_ok;
} sub_state;

static int sub_event(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)r;
  sub_state *st = state;
  const event *e = p;
  if (st->count == 0)
    st->payload_ok = true;
  if (e->sender < SENDERS) {
    if (e->seq != st->next[e->sender])
      st->disorder++;
    st->next[e->sender] = e->seq + 1;
  }
  if (*e->owned != e->seq) /* the shared payload is intact */
    st->payload_ok = false;
  st->count++;
  return 0;
}

/* Replies count, or -1 if anything arrived out of order or corrupted. */
static int sub_stats(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  sub_state *st = state;
  int64_t v = st->disorder || (st->count && !st->payload_ok) ? -1 : st->count;
  return MRT_REPLY(stats, r, &v);
}

static int sub_relay(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)state;
  (void)r;
  event e = make_event(0, *(const uint32_t *)p);
  int rc = mrt_publish_event(mrt_runtime_bus(mrt_actor_runtime(self)), &e);
  if (rc < 0)
    free(e.owned);
  return rc < 0 ? rc : 0;
}

static const mrt_handler_entry sub_handlers[] = {{&mrt_msg_event, sub_event},
                                                 {&mrt_msg_stats, sub_stats},
                                                 {&mrt_msg_relay, sub_relay},
                                                 {NULL, NULL}};
static const mrt_actor_class sub_class = {
    .name = "subscriber", .state_size = sizeof(sub_state), .handlers = sub_handlers};

static int64_t received(mrt_ref *sub) {
  int64_t v = -2;
  assert_int_equal(MRT_ASK_SYNC(stats, sub, &(mrt_none){0}, &v, MRT_SEC(30)), 0);
  return v;
}

static mrt_ref *spawn_sub(mrt_runtime *rt, uint32_t capacity) {
  mrt_ref *r;
  mrt_spawn_opts o = {.executor = MRT_EXECUTOR_AUTO, .mailbox_capacity = capacity};
  assert_int_equal(mrt_actor_spawn(rt, &sub_class, NULL, &o, &r), 0);
  return r;
}

static int publish_n(mrt_bus *bus, uint32_t sender, uint32_t n) {
  int total = 0;
  for (uint32_t i = 0; i < n; i++) {
    event e = make_event(sender, i);
    int rc = mrt_publish_event(bus, &e);
    if (rc < 0)
      free(e.owned);
    else
      total += rc;
  }
  return total;
}

static int setup(void **state) {
  (void)state;
  atomic_store(&drops, 0);
  return 0;
}

static void ordered_fan_out_to_three(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(2, &rt), 0);
  mrt_bus *bus = mrt_runtime_bus(rt);
  assert_ptr_equal(bus, mrt_runtime_bus(rt)); /* one bus per runtime */
  mrt_ref *subs[3];
  for (int i = 0; i < 3; i++) {
    subs[i] = spawn_sub(rt, 0);
    assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_event, subs[i]), 0);
  }
  assert_int_equal(publish_n(bus, 1, 1000), 3000);
  for (int i = 0; i < 3; i++)
    assert_int_equal(received(subs[i]), 1000);
  assert_int_equal(atomic_load(&drops), 1000); /* once per publish, not per delivery */
  mrt_bus_stats st;
  assert_int_equal(mrt_bus_stats_get(bus, &mrt_msg_event, &st), 0);
  assert_int_equal(st.published, 1000);
  assert_int_equal(st.delivered, 3000);
  assert_int_equal(st.subscribers, 3);
  assert_int_equal(st.dropped_full + st.dropped_dead, 0);
  for (int i = 0; i < 3; i++)
    mrt_ref_unref(subs[i]);
  mrt_runtime_unref(rt);
}

static void subscribe_is_idempotent_and_unsubscribe_works(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_bus *bus = mrt_runtime_bus(rt);
  mrt_ref *s = spawn_sub(rt, 0);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_event, s), 0);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_event, s), 0);
  assert_int_equal(publish_n(bus, 0, 1), 1);
  assert_int_equal(received(s), 1);
  assert_int_equal(mrt_bus_unsubscribe(bus, &mrt_msg_event, s), 0);
  assert_int_equal(mrt_bus_unsubscribe(bus, &mrt_msg_event, s), -ENOENT);
  assert_int_equal(publish_n(bus, 0, 1), 0); /* nobody: not an error */
  assert_int_equal(received(s), 1);
  assert_int_equal(atomic_load(&drops), 2);
  mrt_ref_unref(s);
  mrt_runtime_unref(rt);
}

static void stopped_subscribers_are_pruned(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_bus *bus = mrt_runtime_bus(rt);
  mrt_ref *a = spawn_sub(rt, 0), *b = spawn_sub(rt, 0);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_event, a), 0);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_event, b), 0);
  assert_int_equal(publish_n(bus, 0, 1), 2);
  assert_int_equal(mrt_actor_stop(a), 0);
  mrt_runtime_run_until_idle(rt);
  assert_int_equal(publish_n(bus, 1, 3), 3); /* only b */
  assert_int_equal(received(b), 4);
  mrt_bus_stats st;
  assert_int_equal(mrt_bus_stats_get(bus, &mrt_msg_event, &st), 0);
  assert_int_equal(st.dropped_dead, 1); /* pruned at the first publish after */
  assert_int_equal(st.subscribers, 1);
  assert_int_equal(st.delivered, 5);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_event, a), -ESRCH);
  assert_int_equal(atomic_load(&drops), 4);
  mrt_ref_unref(a);
  mrt_ref_unref(b);
  mrt_runtime_unref(rt);
}

static void full_mailbox_best_effort_and_report(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_bus *bus = mrt_runtime_bus(rt);
  mrt_ref *slow = spawn_sub(rt, 2), *fast = spawn_sub(rt, 0);
  mrt_runtime_run_until_idle(rt);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_event, slow), 0);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_event, fast), 0);
  /* Best effort: 5 publishes, the bounded one takes 2; publish returns
   * deliveries and never blocks. */
  assert_int_equal(publish_n(bus, 0, 5), 2 + 5);
  mrt_bus_stats st;
  mrt_bus_stats_get(bus, &mrt_msg_event, &st);
  assert_int_equal(st.dropped_full, 3);
  mrt_runtime_run_until_idle(rt);
  /* Report: publish returns the failed deliveries. */
  assert_int_equal(
      mrt_bus_configure(bus, &mrt_msg_event, &(mrt_bus_type_opts){.policy = MRT_BUS_REPORT}), 0);
  event e = make_event(1, 0);
  assert_int_equal(mrt_publish_event(bus, &e), 0);
  e = make_event(1, 1);
  assert_int_equal(mrt_publish_event(bus, &e), 0);
  e = make_event(1, 2);
  assert_int_equal(mrt_publish_event(bus, &e), 1);
  mrt_bus_publish_result res;
  e = make_event(1, 3);
  assert_int_equal(mrt_bus_publish_ex(bus, &mrt_msg_event, &e, sizeof e, &res), 0);
  assert_int_equal(res.delivered, 1);
  assert_int_equal(res.dropped_full, 1);
  mrt_runtime_run_until_idle(rt);
  assert_int_equal(received(fast), 9);
  assert_int_equal(atomic_load(&drops), 9);
  mrt_ref_unref(slow);
  mrt_ref_unref(fast);
  mrt_runtime_unref(rt);
}

static void retained_value_reaches_late_subscriber(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *tap;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_bus *bus = mrt_runtime_bus(rt);
  assert_int_equal(mrt_bus_configure(bus, &mrt_msg_event, &(mrt_bus_type_opts){.retained = true}),
                   0);
  publish_n(bus, 2, 3); /* nobody listens yet; the last is kept */
  assert_int_equal(atomic_load(&drops), 2);
  const mrt_msg_type *types[] = {&mrt_msg_event};
  assert_int_equal(mrt_test_tap_spawn(rt, types, 1, &tap), 0);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_event, tap), 0);
  assert_int_equal(mrt_test_tap_count(tap, &mrt_msg_event), 1);
  mrt_test_tap_record rec;
  assert_int_equal(mrt_test_tap_get(tap, &mrt_msg_event, 0, &rec), 0);
  assert_int_equal(((const event *)(const void *)rec.data)->seq, 2);
  /* Later publishes follow the retained one, in order. */
  publish_n(bus, 2, 2);
  assert_int_equal(mrt_test_tap_count(tap, &mrt_msg_event), 3);
  assert_int_equal(mrt_test_tap_get(tap, &mrt_msg_event, 2, &rec), 0);
  assert_int_equal(((const event *)(const void *)rec.data)->seq, 1);
  /* Retention off releases the kept value. */
  assert_int_equal(mrt_bus_configure(bus, &mrt_msg_event, &(mrt_bus_type_opts){0}), 0);
  assert_int_equal(atomic_load(&drops), 5);
  mrt_ref_unref(tap);
  mrt_runtime_unref(rt);
}

static void publish_from_a_handler(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_bus *bus = mrt_runtime_bus(rt);
  mrt_ref *a = spawn_sub(rt, 0), *b = spawn_sub(rt, 0);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_event, b), 0);
  for (uint32_t i = 0; i < 10; i++)
    assert_int_equal(MRT_TELL(relay, a, &i), 0);
  mrt_runtime_run_until_idle(rt); /* else the query would overtake the relays */
  assert_int_equal(received(b), 10);
  assert_int_equal(atomic_load(&drops), 10);
  mrt_ref_unref(a);
  mrt_ref_unref(b);
  mrt_runtime_unref(rt);
}

static void bad_input(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  mrt_bus *bus = mrt_runtime_bus(rt);
  mrt_ref *counter;
  assert_int_equal(mrt_test_counter_spawn(rt, &counter), 0);
  mrt_ref *s = spawn_sub(rt, 0);
  event e = {0, 0, NULL};
  assert_null(mrt_runtime_bus(NULL));
  assert_int_equal(mrt_bus_publish(NULL, &mrt_msg_event, &e, sizeof e), -EINVAL);
  assert_int_equal(mrt_bus_publish(bus, &mrt_msg_event, &e, sizeof e - 1), -EINVAL);
  assert_int_equal(mrt_bus_publish(bus, &mrt_msg_event, NULL, sizeof e), -EINVAL);
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_event, NULL), -EINVAL);
  assert_int_equal(mrt_bus_subscribe(bus, NULL, s), -EINVAL);
  /* The subscriber class does not handle mrt_msg_down. */
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_down, s), -ENOTSUP);
  /* A catch-all class accepts any type. */
  assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_down, counter), 0);
  assert_int_equal(mrt_bus_configure(bus, &mrt_msg_event, &(mrt_bus_type_opts){.policy = 7}),
                   -EINVAL);
  assert_int_equal(atomic_load(&drops), 0); /* refused publishes drop nothing */
  mrt_ref_unref(counter);
  mrt_ref_unref(s);
  mrt_runtime_unref(rt);
}

typedef struct pub_args {
  mrt_bus *bus;
  uint32_t sender;
} pub_args;

static void *publisher_main(void *arg) {
  pub_args *a = arg;
  publish_n(a->bus, a->sender, 25000);
  return NULL;
}

static void four_host_threads_publish_concurrently(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_runtime_new(&(mrt_runtime_config){.executors = 2}, &rt), 0);
  assert_int_equal(mrt_runtime_start(rt), 0);
  mrt_bus *bus = mrt_runtime_bus(rt);
  mrt_ref *subs[2] = {spawn_sub(rt, 0), spawn_sub(rt, 0)};
  for (int i = 0; i < 2; i++)
    assert_int_equal(mrt_bus_subscribe(bus, &mrt_msg_event, subs[i]), 0);
  pthread_t th[SENDERS];
  pub_args args[SENDERS];
  for (uint32_t i = 0; i < SENDERS; i++) {
    args[i] = (pub_args){bus, i};
    pthread_create(&th[i], NULL, publisher_main, &args[i]);
  }
  for (int i = 0; i < SENDERS; i++)
    pthread_join(th[i], NULL);
  for (int i = 0; i < 2; i++)
    assert_int_equal(received(subs[i]), SENDERS * 25000); /* -1: reordered */
  for (int i = 0; i < 2; i++)
    mrt_ref_unref(subs[i]);
  mrt_runtime_unref(rt);
  assert_int_equal(atomic_load(&drops), SENDERS * 25000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(ordered_fan_out_to_three, setup),
      cmocka_unit_test_setup(subscribe_is_idempotent_and_unsubscribe_works, setup),
      cmocka_unit_test_setup(stopped_subscribers_are_pruned, setup),
      cmocka_unit_test_setup(full_mailbox_best_effort_and_report, setup),
      cmocka_unit_test_setup(retained_value_reaches_late_subscriber, setup),
      cmocka_unit_test_setup(publish_from_a_handler, setup),
      cmocka_unit_test_setup(bad_input, setup),
      cmocka_unit_test_setup(four_host_threads_publish_concurrently, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
