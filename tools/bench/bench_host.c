/* SPDX-License-Identifier: MIT */
/* meshrt-bench — host threads talking to actors: ask_sync (a blocking round
 * trip from a host thread) and xthread (a host thread streaming tells).
 *
 * These measure the cross-thread paths an embedding program uses: envelopes
 * allocated off-executor, the executor's eventfd wake-up (or its spin before
 * sleeping), and for ask_sync the hand-over to the waiting thread (a spin on
 * the reply, then a condvar sleep). The host thread here is the process's
 * main thread; the actor lives on an executor thread of a started runtime.
 *
 * Threads: the host thread runs the loops below; handlers run on the
 * executor. xthread's final count is fetched with an ask_sync that queues
 * behind every earlier tell (per-sender order), so it sees them all.
 */
#include <stddef.h>

#include "bench.h"

MRT_MESSAGE_DECLARE(, host_inc, uint64_t, uint64_t);
MRT_MESSAGE_DEFINE(host_inc, uint64_t, uint64_t, NULL, NULL);
MRT_MESSAGE_DECLARE(, host_msg, uint64_t, mrt_none);
MRT_MESSAGE_DEFINE(host_msg, uint64_t, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, host_count, mrt_none, uint64_t);
MRT_MESSAGE_DEFINE(host_count, mrt_none, uint64_t, NULL, NULL);

typedef struct sink_state {
  uint64_t count;
  uint64_t out_of_order; /* a tell that overtook an earlier one */
} sink_state;

static int sink_on_inc(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)self;
  (void)state;
  uint64_t v = *(const uint64_t *)payload + 1;
  return MRT_REPLY(host_inc, r, &v);
}

static int sink_on_msg(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)self;
  (void)r;
  sink_state *st = state;
  if (*(const uint64_t *)payload != st->count)
    st->out_of_order++;
  st->count++;
  return 0;
}

static int sink_on_count(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)self;
  (void)payload;
  sink_state *st = state;
  uint64_t v = st->out_of_order ? UINT64_MAX : st->count;
  return MRT_REPLY(host_count, r, &v);
}

static const mrt_handler_entry sink_handlers[] = {{&mrt_msg_host_inc, sink_on_inc},
                                                  {&mrt_msg_host_msg, sink_on_msg},
                                                  {&mrt_msg_host_count, sink_on_count},
                                                  {&mrt_msg_bench_ready, bench_on_ready},
                                                  {NULL, NULL}};
static const mrt_actor_class sink_class = {
    .name = "bench-sink", .state_size = sizeof(sink_state), .handlers = sink_handlers};

static mrt_ref *spawn_sink(mrt_runtime *rt) {
  mrt_ref *sink = NULL;
  BENCH_CHECK(mrt_actor_spawn(rt, &sink_class, NULL, NULL, &sink));
  bench_wait_ready(sink);
  return sink;
}

void bench_ask_sync(const bench_cfg *cfg, bench_sample *out) {
  mrt_runtime *rt = bench_runtime_start(cfg);
  mrt_ref *sink = spawn_sink(rt);
  uint64_t t0 = bench_now_ns();
  for (uint64_t i = 0; i < cfg->ops; i++) {
    uint64_t reply = 0;
    BENCH_CHECK(MRT_ASK_SYNC(host_inc, sink, &i, &reply, MRT_SEC(10)));
    if (reply != i + 1)
      bench_die("ask_sync: reply %llu to %llu", (unsigned long long)reply, (unsigned long long)i);
  }
  out->elapsed_ns = bench_now_ns() - t0;
  mrt_ref_unref(sink);
  bench_runtime_finish(rt);
}

void bench_xthread(const bench_cfg *cfg, bench_sample *out) {
  mrt_runtime *rt = bench_runtime_start(cfg);
  mrt_ref *sink = spawn_sink(rt);
  uint64_t t0 = bench_now_ns();
  for (uint64_t i = 0; i < cfg->ops; i++)
    BENCH_CHECK(MRT_TELL(host_msg, sink, &i));
  uint64_t count = 0;
  BENCH_CHECK(MRT_ASK_SYNC(host_count, sink, &(mrt_none){0}, &count, MRT_SEC(60)));
  out->elapsed_ns = bench_now_ns() - t0;
  if (count != cfg->ops)
    bench_die("xthread: sink handled %llu of %llu messages%s", (unsigned long long)count,
              (unsigned long long)cfg->ops, count == UINT64_MAX ? " (out of order)" : "");
  mrt_ref_unref(sink);
  bench_runtime_finish(rt);
}
