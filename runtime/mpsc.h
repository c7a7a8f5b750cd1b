/* SPDX-License-Identifier: MIT */
/* meshrt — intrusive multi-producer / single-consumer queue.
 *
 * Used for mailboxes (envelopes), executor run queues (actors) and executor
 * job queues. Producers on any thread push with one atomic exchange and never
 * wait; the single consumer (the owning executor) pops without atomics RMW.
 * This is Dmitry Vyukov's well-known node-based algorithm with a stub node.
 *
 * A pop can transiently return NULL while a producer is between its exchange
 * and its link store; mrt__mpsc_idle() tells "really empty" from "a push is in
 * progress", so consumers never conclude a queue is empty too early.
 */
#ifndef MESHRT_MPSC_H
#define MESHRT_MPSC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct mrt__node {
  _Atomic(struct mrt__node *) next;
} mrt__node;

typedef struct mrt__mpsc {
  _Atomic(mrt__node *) head; /* producers' end */
  mrt__node *tail;           /* consumer's end */
  mrt__node stub;
} mrt__mpsc;

static inline void mrt__mpsc_init(mrt__mpsc *q) {
  atomic_init(&q->stub.next, NULL);
  atomic_init(&q->head, &q->stub);
  q->tail = &q->stub;
}

/* Any thread. The exchange is seq_cst: callers rely on it being ordered before
 * their following load of a "scheduled"/"sleeping" flag (a Dekker-style
 * handshake with the consumer, which stores that flag and then checks idle). */
static inline void mrt__mpsc_push(mrt__mpsc *q, mrt__node *n) {
  atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
  mrt__node *prev = atomic_exchange_explicit(&q->head, n, memory_order_seq_cst);
  /* Release: the consumer that acquires this link sees the node's contents. */
  atomic_store_explicit(&prev->next, n, memory_order_release);
}

/* Consumer only. Returns NULL when empty or when a push is half done. */
static inline mrt__node *mrt__mpsc_pop(mrt__mpsc *q) {
  mrt__node *tail = q->tail;
  mrt__node *next = atomic_load_explicit(&tail->next, memory_order_acquire);
  if (tail == &q->stub) {
    if (next == NULL)
      return NULL;
    q->tail = next;
    tail = next;
    next = atomic_load_explicit(&next->next, memory_order_acquire);
  }
  if (next != NULL) {
    q->tail = next;
    return tail;
  }
  /* tail is the last linked node; if head moved on, a producer is mid-push. */
  if (tail != atomic_load_explicit(&q->head, memory_order_acquire))
    return NULL;
  mrt__mpsc_push(q, &q->stub);
  next = atomic_load_explicit(&tail->next, memory_order_acquire);
  if (next != NULL) {
    q->tail = next;
    return tail;
  }
  return NULL;
}

/* Consumer only: true when nothing is queued and no push is in progress.
 * seq_cst load pairs with the producers' seq_cst exchange (see push). */
static inline bool mrt__mpsc_idle(mrt__mpsc *q) {
  return q->tail == &q->stub && atomic_load_explicit(&q->head, memory_order_seq_cst) == &q->stub;
}

/* After the consumer has drained the queue (its last pop returned NULL): true
 * while no push has begun since. It reads only the producers' end, so a
 * former consumer may still ask after another thread has taken over
 * consuming (an actor that moved to another executor). seq_cst as in idle. */
static inline bool mrt__mpsc_idle_after_drain(mrt__mpsc *q) {
  return atomic_load_explicit(&q->head, memory_order_seq_cst) == &q->stub;
}

/* Consumer only: the number of nodes queued now (a walk; for metrics). Safe
 * because only the consumer unlinks nodes; a push in progress is not counted. */
static inline size_t mrt__mpsc_count(mrt__mpsc *q) {
  size_t n = 0;
  for (mrt__node *p = q->tail; p != NULL; p = atomic_load_explicit(&p->next, memory_order_acquire))
    n += p != &q->stub;
  return n;
}

#define mrt__container_of(ptr, type, member)                                                       \
  ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#endif
