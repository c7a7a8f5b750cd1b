/* SPDX-License-Identifier: MIT */
/* meshrt-bench — actor-to-actor messaging: pingpong, counting, threadring
 * and ask (Savina-style workloads).
 *
 * Each benchmark spawns its actors on a fresh started runtime, makes sure
 * they have started (bench_wait_ready), then the host starts the clock and
 * kicks the workload off with one tell. From then on only actors run; the
 * actor that sees the last operation signals a latch, which stamps the end
 * time. With one executor (the default) every message stays on one thread;
 * with more, the host spawns round robin, so the first messages cross
 * threads, and then the runtime moves each woken actor to its waker's
 * executor (see runtime/executor.c): what --matrix compares.
 *
 * Threads: handlers run on executor threads; the host thread only spawns,
 * tells the first message and waits on the latch. Refs stored in actor state
 * are taken in a handler and dropped in on_stop, so they never outlive it.
 */
#include <stddef.h>

#include "bench.h"

/* Spawns an actor of `cls` with a copy of `args`; the caller owns the ref. */
static mrt_ref *spawn(mrt_runtime *rt, const mrt_actor_class *cls, const void *args) {
  mrt_ref *ref = NULL;
  BENCH_CHECK(mrt_actor_spawn(rt, cls, args, NULL, &ref));
  return ref;
}

/* ==== pingpong ============================================================
 * Two actors, one message in flight: the pinger sends ping carrying its own
 * ref, the ponger answers with pong to that ref. One op = one round trip
 * (two tells, two handler runs). */

typedef struct pp_ball {
  mrt_ref *from; /* borrowed: the pinger outlives the exchange */
} pp_ball;

MRT_MESSAGE_DECLARE(, pp_ping, pp_ball, mrt_none);
MRT_MESSAGE_DEFINE(pp_ping, pp_ball, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, pp_pong, pp_ball, mrt_none);
MRT_MESSAGE_DEFINE(pp_pong, pp_ball, mrt_none, NULL, NULL);

typedef struct pinger_args {
  mrt_ref *peer;
  uint64_t rounds;
  bench_latch *latch;
} pinger_args;

typedef pinger_args pinger_state;

static int pinger_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  pinger_state *st = state;
  *st = *(const pinger_args *)args;
  st->peer = mrt_ref_ref(st->peer);
  return 0;
}

static void pinger_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)self;
  (void)why;
  mrt_ref_unref(((pinger_state *)state)->peer);
}

static int pinger_on_pong(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)payload;
  (void)r;
  pinger_state *st = state;
  if (--st->rounds == 0) {
    bench_latch_signal(st->latch, 0);
    return 0;
  }
  return MRT_TELL(pp_ping, st->peer, &(pp_ball){self});
}

static int ponger_on_ping(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)state;
  (void)r;
  return MRT_TELL(pp_pong, ((const pp_ball *)payload)->from, &(pp_ball){self});
}

static const mrt_handler_entry pinger_handlers[] = {
    {&mrt_msg_pp_pong, pinger_on_pong}, {&mrt_msg_bench_ready, bench_on_ready}, {NULL, NULL}};
static const mrt_actor_class pinger_class = {.name = "bench-pinger",
                                             .state_size = sizeof(pinger_state),
                                             .args_size = sizeof(pinger_args),
                                             .on_start = pinger_start,
                                             .on_stop = pinger_stop,
                                             .handlers = pinger_handlers};

static const mrt_handler_entry ponger_handlers[] = {
    {&mrt_msg_pp_ping, ponger_on_ping}, {&mrt_msg_bench_ready, bench_on_ready}, {NULL, NULL}};
static const mrt_actor_class ponger_class = {.name = "bench-ponger", .handlers = ponger_handlers};

void bench_pingpong(const bench_cfg *cfg, bench_sample *out) {
  mrt_runtime *rt = bench_runtime_start(cfg);
  bench_latch latch;
  bench_latch_init(&latch);
  mrt_ref *ponger = spawn(rt, &ponger_class, NULL);
  pinger_args pa = {ponger, cfg->ops, &latch};
  mrt_ref *pinger = spawn(rt, &pinger_class, &pa);
  bench_wait_ready(ponger);
  bench_wait_ready(pinger);
  uint64_t t0 = bench_now_ns();
  /* The host serves the first ping on the pinger's behalf. */
  BENCH_CHECK(MRT_TELL(pp_ping, ponger, &(pp_ball){pinger}));
  bench_latch_wait(&latch);
  out->elapsed_ns = latch.end_ns - t0;
  mrt_ref_unref(pinger);
  mrt_ref_unref(ponger);
  bench_runtime_finish(rt);
  bench_latch_destroy(&latch);
}

/* ==== counting ============================================================
 * A producer tells a counter `ops` increments. It sends them in chunks and
 * follows each chunk with a credit marker; the counter, reaching the marker,
 * tells the producer to send the next chunk. With CHUNKS_IN_FLIGHT chunks
 * outstanding the counter never waits for the producer, yet its mailbox stays
 * bounded (at most CHUNK * CHUNKS_IN_FLIGHT envelopes), as Savina intends. */

#define COUNT_CHUNK 1000
#define CHUNKS_IN_FLIGHT 2

typedef struct cnt_from {
  mrt_ref *from; /* borrowed: the producer outlives the exchange */
} cnt_from;

MRT_MESSAGE_DECLARE(, cnt_inc, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(cnt_inc, mrt_none, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, cnt_credit, cnt_from, mrt_none);
MRT_MESSAGE_DEFINE(cnt_credit, cnt_from, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, cnt_finish, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(cnt_finish, mrt_none, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, cnt_more, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(cnt_more, mrt_none, mrt_none, NULL, NULL);

typedef struct producer_args {
  mrt_ref *counter;
  uint64_t total;
} producer_args;

typedef struct producer_state {
  mrt_ref *counter;
  uint64_t total;
  uint64_t sent;
} producer_state;

typedef struct counter_state {
  uint64_t count;
  bench_latch *latch;
} counter_state;

static int producer_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  producer_state *st = state;
  const producer_args *a = args;
  st->counter = mrt_ref_ref(a->counter);
  st->total = a->total;
  return 0;
}

static void producer_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)self;
  (void)why;
  mrt_ref_unref(((producer_state *)state)->counter);
}

static int producer_on_more(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)payload;
  (void)r;
  producer_state *st = state;
  if (st->sent >= st->total)
    return 0; /* a credit for a chunk that was never needed */
  uint64_t n = st->total - st->sent < COUNT_CHUNK ? st->total - st->sent : COUNT_CHUNK;
  for (uint64_t i = 0; i < n; i++) {
    int rc = MRT_TELL(cnt_inc, st->counter, &(mrt_none){0});
    if (rc < 0)
      return rc;
  }
  st->sent += n;
  if (st->sent == st->total)
    return MRT_TELL(cnt_finish, st->counter, &(mrt_none){0});
  return MRT_TELL(cnt_credit, st->counter, &(cnt_from){self});
}

static int counter_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  ((counter_state *)state)->latch = *(bench_latch *const *)args;
  return 0;
}

static int counter_on_inc(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)self;
  (void)payload;
  (void)r;
  ((counter_state *)state)->count++;
  return 0;
}

static int counter_on_credit(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)self;
  (void)state;
  (void)r;
  return MRT_TELL(cnt_more, ((const cnt_from *)payload)->from, &(mrt_none){0});
}

static int counter_on_finish(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)self;
  (void)payload;
  (void)r;
  counter_state *st = state;
  bench_latch_signal(st->latch, st->count);
  return 0;
}

static const mrt_handler_entry producer_handlers[] = {
    {&mrt_msg_cnt_more, producer_on_more}, {&mrt_msg_bench_ready, bench_on_ready}, {NULL, NULL}};
static const mrt_actor_class producer_class = {.name = "bench-producer",
                                               .state_size = sizeof(producer_state),
                                               .args_size = sizeof(producer_args),
                                               .on_start = producer_start,
                                               .on_stop = producer_stop,
                                               .handlers = producer_handlers};

static const mrt_handler_entry counter_handlers[] = {{&mrt_msg_cnt_inc, counter_on_inc},
                                                     {&mrt_msg_cnt_credit, counter_on_credit},
                                                     {&mrt_msg_cnt_finish, counter_on_finish},
                                                     {&mrt_msg_bench_ready, bench_on_ready},
                                                     {NULL, NULL}};
static const mrt_actor_class counter_class = {.name = "bench-counter",
                                              .state_size = sizeof(counter_state),
                                              .args_size = sizeof(bench_latch *),
                                              .on_start = counter_start,
                                              .handlers = counter_handlers};

void bench_counting(const bench_cfg *cfg, bench_sample *out) {
  mrt_runtime *rt = bench_runtime_start(cfg);
  bench_latch latch;
  bench_latch_init(&latch);
  bench_latch *lp = &latch;
  mrt_ref *counter = spawn(rt, &counter_class, &lp);
  producer_args pa = {counter, cfg->ops};
  mrt_ref *producer = spawn(rt, &producer_class, &pa);
  bench_wait_ready(counter);
  bench_wait_ready(producer);
  uint64_t t0 = bench_now_ns();
  for (int i = 0; i < CHUNKS_IN_FLIGHT; i++)
    BENCH_CHECK(MRT_TELL(cnt_more, producer, &(mrt_none){0}));
  uint64_t counted = bench_latch_wait(&latch);
  out->elapsed_ns = latch.end_ns - t0;
  if (counted != cfg->ops)
    bench_die("counting: counter saw %llu of %llu messages", (unsigned long long)counted,
              (unsigned long long)cfg->ops);
  mrt_ref_unref(producer);
  mrt_ref_unref(counter);
  bench_runtime_finish(rt);
  bench_latch_destroy(&latch);
}

/* ==== threadring ==========================================================
 * RING_SIZE actors in a ring pass one token; each hop decrements it, and the
 * actor that receives 0 signals. One op = one hop (one tell + one handler). */

#define RING_SIZE 100

typedef struct tr_link {
  mrt_ref *next;
} tr_link;

MRT_MESSAGE_DECLARE(, tr_link, tr_link, mrt_none);
MRT_MESSAGE_DEFINE(tr_link, tr_link, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, tr_token, uint64_t, mrt_none);
MRT_MESSAGE_DEFINE(tr_token, uint64_t, mrt_none, NULL, NULL);

typedef struct ring_state {
  mrt_ref *next;
  bench_latch *latch;
} ring_state;

static int ring_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  ((ring_state *)state)->latch = *(bench_latch *const *)args;
  return 0;
}

static void ring_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)self;
  (void)why;
  mrt_ref_unref(((ring_state *)state)->next);
}

static int ring_on_link(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)self;
  (void)r;
  ring_state *st = state;
  mrt_ref_unref(st->next);
  st->next = mrt_ref_ref(((const tr_link *)payload)->next);
  return 0;
}

static int ring_on_token(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)self;
  (void)r;
  ring_state *st = state;
  uint64_t left = *(const uint64_t *)payload;
  if (left == 0) {
    bench_latch_signal(st->latch, 0);
    return 0;
  }
  left--;
  return MRT_TELL(tr_token, st->next, &left);
}

static const mrt_handler_entry ring_handlers[] = {{&mrt_msg_tr_link, ring_on_link},
                                                  {&mrt_msg_tr_token, ring_on_token},
                                                  {&mrt_msg_bench_ready, bench_on_ready},
                                                  {NULL, NULL}};
static const mrt_actor_class ring_class = {.name = "bench-ring",
                                           .state_size = sizeof(ring_state),
                                           .args_size = sizeof(bench_latch *),
                                           .on_start = ring_start,
                                           .on_stop = ring_stop,
                                           .handlers = ring_handlers};

void bench_threadring(const bench_cfg *cfg, bench_sample *out) {
  mrt_runtime *rt = bench_runtime_start(cfg);
  bench_latch latch;
  bench_latch_init(&latch);
  bench_latch *lp = &latch;
  mrt_ref *ring[RING_SIZE];
  for (int i = 0; i < RING_SIZE; i++)
    ring[i] = spawn(rt, &ring_class, &lp);
  for (int i = 0; i < RING_SIZE; i++)
    BENCH_CHECK(MRT_TELL(tr_link, ring[i], &(tr_link){ring[(i + 1) % RING_SIZE]}));
  for (int i = 0; i < RING_SIZE; i++)
    bench_wait_ready(ring[i]); /* queued behind the link: linked and started */
  uint64_t t0 = bench_now_ns();
  BENCH_CHECK(MRT_TELL(tr_token, ring[0], &cfg->ops));
  bench_latch_wait(&latch);
  out->elapsed_ns = latch.end_ns - t0;
  for (int i = 0; i < RING_SIZE; i++)
    mrt_ref_unref(ring[i]);
  bench_runtime_finish(rt);
  bench_latch_destroy(&latch);
}

/* ==== ask =================================================================
 * An asker actor asks a server `ops` times, one at a time: each continuation
 * checks the reply and issues the next ask. One op = one round trip (request
 * envelope, handler, reply record, continuation in the asker's context). */

MRT_MESSAGE_DECLARE(, ask_inc, uint64_t, uint64_t);
MRT_MESSAGE_DEFINE(ask_inc, uint64_t, uint64_t, NULL, NULL);
MRT_MESSAGE_DECLARE(, ask_go, mrt_none, mrt_none);
MRT_MESSAGE_DEFINE(ask_go, mrt_none, mrt_none, NULL, NULL);

typedef struct asker_args {
  mrt_ref *server;
  uint64_t rounds;
  bench_latch *latch;
} asker_args;

typedef struct asker_state {
  asker_args a;
  uint64_t seq;
} asker_state;

static int server_on_inc(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)self;
  (void)state;
  uint64_t v = *(const uint64_t *)payload + 1;
  return MRT_REPLY(ask_inc, r, &v);
}

static int asker_start(mrt_actor *self, void *state, const void *args) {
  (void)self;
  asker_state *st = state;
  st->a = *(const asker_args *)args;
  st->a.server = mrt_ref_ref(st->a.server);
  return 0;
}

static void asker_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)self;
  (void)why;
  mrt_ref_unref(((asker_state *)state)->a.server);
}

static int asker_next(mrt_actor *self, void *state, int status, const void *reply, void *ud);

static int asker_issue(mrt_actor *self, asker_state *st) {
  return MRT_ASK(ask_inc, self, st->a.server, &st->seq, 0, asker_next, NULL);
}

static int asker_next(mrt_actor *self, void *state, int status, const void *reply, void *ud) {
  (void)ud;
  asker_state *st = state;
  if (status < 0)
    return status; /* fails the asker; the host's latch times out loudly */
  if (*(const uint64_t *)reply != st->seq + 1)
    return -EPROTO;
  st->seq++;
  if (st->seq == st->a.rounds) {
    bench_latch_signal(st->a.latch, st->seq);
    return 0;
  }
  return asker_issue(self, st);
}

static int asker_on_go(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)payload;
  (void)r;
  return asker_issue(self, state);
}

static const mrt_handler_entry server_handlers[] = {
    {&mrt_msg_ask_inc, server_on_inc}, {&mrt_msg_bench_ready, bench_on_ready}, {NULL, NULL}};
static const mrt_actor_class server_class = {.name = "bench-server", .handlers = server_handlers};

static const mrt_handler_entry asker_handlers[] = {
    {&mrt_msg_ask_go, asker_on_go}, {&mrt_msg_bench_ready, bench_on_ready}, {NULL, NULL}};
static const mrt_actor_class asker_class = {.name = "bench-asker",
                                            .state_size = sizeof(asker_state),
                                            .args_size = sizeof(asker_args),
                                            .on_start = asker_start,
                                            .on_stop = asker_stop,
                                            .handlers = asker_handlers};

void bench_ask(const bench_cfg *cfg, bench_sample *out) {
  mrt_runtime *rt = bench_runtime_start(cfg);
  bench_latch latch;
  bench_latch_init(&latch);
  mrt_ref *server = spawn(rt, &server_class, NULL);
  asker_args aa = {server, cfg->ops, &latch};
  mrt_ref *asker = spawn(rt, &asker_class, &aa);
  bench_wait_ready(server);
  bench_wait_ready(asker);
  uint64_t t0 = bench_now_ns();
  BENCH_CHECK(MRT_TELL(ask_go, asker, &(mrt_none){0}));
  bench_latch_wait(&latch);
  out->elapsed_ns = latch.end_ns - t0;
  mrt_ref_unref(asker);
  mrt_ref_unref(server);
  bench_runtime_finish(rt);
  bench_latch_destroy(&latch);
}
