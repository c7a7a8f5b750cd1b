/* SPDX-License-Identifier: MIT */
/* A stand-in actor shared by test-tell.c and test-sched.c: it receives
 * numbered messages from up to SENDERS senders and checks that each sender's
 * messages arrive in the order sent (per-sender order is what tell promises,
 * whatever the executors and moves in between). `get` answers how many it
 * received, or UINT64_MAX once one was out of order (or from an unknown
 * sender), so a single ask checks both "none lost" and "in order".
 *
 * Threading: its handlers run in the actor's context, as any actor's; the
 * definitions are static, for one test file each.
 */
#ifndef MESHRT_TEST_ORDER_ACTOR_H
#define MESHRT_TEST_ORDER_ACTOR_H

#include <stdint.h>

#include <meshrt/meshrt.h>

#define SENDERS 4

typedef struct num {
  uint32_t sender;
  uint32_t seq;
} num;

MRT_MESSAGE_DECLARE(, num, num, mrt_none);
MRT_MESSAGE_DEFINE(num, num, mrt_none, NULL, NULL);
MRT_MESSAGE_DECLARE(, get, mrt_none, uint64_t);
MRT_MESSAGE_DEFINE(get, mrt_none, uint64_t, NULL, NULL);

typedef struct order_state {
  uint64_t total;
  uint32_t next[SENDERS];
  uint64_t out_of_order;
} order_state;

static int order_num(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)r;
  order_state *st = state;
  const num *n = p;
  if (n->sender >= SENDERS || n->seq != st->next[n->sender])
    st->out_of_order++;
  else
    st->next[n->sender] = n->seq + 1;
  st->total++;
  return 0;
}

static int order_get(mrt_actor *self, void *state, const void *p, mrt_reply *r) {
  (void)self;
  (void)p;
  order_state *st = state;
  uint64_t v = st->out_of_order ? UINT64_MAX : st->total;
  return MRT_REPLY(get, r, &v);
}

static const mrt_handler_entry order_handlers[] = {
    {&mrt_msg_num, order_num}, {&mrt_msg_get, order_get}, {NULL, NULL}};
static const mrt_actor_class order_class = {
    .name = "order", .state_size = sizeof(order_state), .handlers = order_handlers};

#endif
