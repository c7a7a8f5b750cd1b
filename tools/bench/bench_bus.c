/* SPDX-License-Identifier: MIT */
/* meshrt-bench — bus fan-out: one publisher actor, 100 subscribers.
 *
 * The publisher publishes in chunks of 64 (the runtime's batch) with two
 * chunks in flight: the subscriber that completes a chunk last gives the
 * publisher a credit for the next one, so mailboxes stay bounded and the
 * executor interleaves publishing with delivery as a real node would. One op = one delivery (a publish to 100
 * subscribers is 100 ops); the payload is copied once per publish, not per
 * subscriber. The subscriber that completes the count last signals the latch.
 *
 * Threads: handlers on executor threads; the host spawns, subscribes, kicks
 * the publisher off and waits.
 */
#include <stdatomic.h>

#include "bench.h"

#define SUBSCRIBERS 100
#define CHUNK 64 /* = the runtime's default batch: each subscriber drains a chunk per turn */

typedef struct fanout_item {
  uint64_t seq;
} fanout_item;

MRT_MESSAGE_DECLARE(, fanout_item, fanout_item, mrt_none);
MRT_MESSAGE_DEFINE(fanout_item, fanout_item, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, fanout_go, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(fanout_go, mrt_none, mrt_none, NULL, NULL);

#define IN_FLIGHT 2 /* chunks */

typedef struct fanout_shared {
  uint64_t per_subscriber;           /* publishes each subscriber must see */
  atomic_uint finished;              /* subscribers that saw them all */
  atomic_uint chunk_done[IN_FLIGHT]; /* subscribers done with a chunk slot */
  mrt_ref *publisher;
  bench_latch latch;
} fanout_shared;

typedef struct sub_state {
  fanout_shared *shared;
  uint64_t seen;
} sub_state;

static int sub_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  ((sub_state *)state)->shared = *(fanout_shared *const *)args;
  return 0;
}

static int sub_item(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  (void)r;
  sub_state *st = state;
  fanout_shared *sh = st->shared;
  uint64_t seq = ((const fanout_item *)p)->seq;
  if (seq % CHUNK == CHUNK - 1) {
    /* The last subscriber through a chunk hands the publisher a credit. */
    atomic_uint *slot = &sh->chunk_done[seq / CHUNK % IN_FLIGHT];
    if (atomic_fetch_add(slot, 1) + 1 == SUBSCRIBERS) {
      atomic_store(slot, 0);
      MRT_TELL(fanout_go, sh->publisher, &(mrt_none){0});
    }
  }
  if (++st->seen == sh->per_subscriber && atomic_fetch_add(&sh->finished, 1) + 1 == SUBSCRIBERS)
    bench_latch_signal(&sh->latch, st->seen);
  return 0;
}

static const mrt_handler_entry sub_handlers[] = {
    {&mrt_msg_fanout_item, sub_item}, {&mrt_msg_bench_ready, bench_on_ready}, {NULL, NULL}};
static const mrt_actor_class sub_class = {.name = "fanout-sub",
                                          .state_size = sizeof(sub_state),
                                          .args_size = sizeof(fanout_shared *),
                                          .on_start = sub_start,
                                          .handlers = sub_handlers};

typedef struct pub_state {
  fanout_shared *shared;
  uint64_t published;
} pub_state;

static int pub_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  ((pub_state *)state)->shared = *(fanout_shared *const *)args;
  return 0;
}

static int pub_go(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)p;
  (void)r;
  pub_state *st = state;
  mrt_bus *bus = mrt_runtime_bus(mrt_actor_runtime(self));
  for (int i = 0; i < CHUNK && st->published < st->shared->per_subscriber; i++) {
    fanout_item item = {st->published++};
    if (mrt_bus_publish(bus, &mrt_msg_fanout_item, &item, sizeof item) < 0)
      bench_die("bus publish failed");
  }
  return 0;
}

static const mrt_handler_entry pub_handlers[] = {
    {&mrt_msg_fanout_go, pub_go}, {&mrt_msg_bench_ready, bench_on_ready}, {NULL, NULL}};
static const mrt_actor_class pub_class = {.name = "fanout-pub",
                                          .state_size = sizeof(pub_state),
                                          .args_size = sizeof(fanout_shared *),
                                          .on_start = pub_start,
                                          .handlers = pub_handlers};

void bench_bus_fanout(const bench_cfg *cfg, bench_sample *out) {
  mrt_runtime *rt = bench_runtime_start(cfg);
  mrt_bus *bus = mrt_runtime_bus(rt);
  fanout_shared shared = {.per_subscriber = cfg->ops / SUBSCRIBERS / CHUNK * CHUNK};
  if (shared.per_subscriber == 0)
    shared.per_subscriber = CHUNK;
  atomic_init(&shared.finished, 0);
  bench_latch_init(&shared.latch);
  fanout_shared *sp = &shared;
  mrt_ref *subs[SUBSCRIBERS];
  for (int i = 0; i < SUBSCRIBERS; i++) {
    BENCH_CHECK(mrt_actor_spawn(rt, &sub_class, &sp, NULL, &subs[i]));
    BENCH_CHECK(mrt_bus_subscribe(bus, &mrt_msg_fanout_item, subs[i]));
    bench_wait_ready(subs[i]);
  }
  mrt_ref *pub;
  BENCH_CHECK(mrt_actor_spawn(rt, &pub_class, &sp, NULL, &pub));
  shared.publisher = pub;
  for (int i = 0; i < IN_FLIGHT; i++)
    atomic_init(&shared.chunk_done[i], 0);
  bench_wait_ready(pub);
  uint64_t t0 = bench_now_ns();
  for (int i = 0; i < IN_FLIGHT; i++)
    BENCH_CHECK(MRT_TELL(fanout_go, pub, &(mrt_none){0}));
  bench_latch_wait(&shared.latch);
  /* main.c divides by cfg->ops; the run delivered whole chunks, so scale. */
  uint64_t delivered = shared.per_subscriber * SUBSCRIBERS;
  out->elapsed_ns = (shared.latch.end_ns - t0) * cfg->ops / delivered;
  mrt_ref_unref(pub);
  for (int i = 0; i < SUBSCRIBERS; i++)
    mrt_ref_unref(subs[i]);
  bench_runtime_finish(rt);
  bench_latch_destroy(&shared.latch);
}
