/* SPDX-License-Identifier: MIT */
/* meshrt — actor timers on the runtime clock.
 *
 * Each executor keeps a binary min-heap of its actors' timers ordered by
 * (deadline, creation sequence), so equal deadlines fire in creation order.
 * With the real clock one libevent timer per executor is armed for the
 * earliest deadline; with the virtual clock mrt_runtime_advance() pops timers
 * itself. Timers are created, cancelled and fired only on their owner's
 * executor thread, so the heap needs no lock. A timer belongs to its actor and
 * is cancelled when the actor stops.
 */
#include <stdlib.h>
#include <event2/event.h>

#include "internal.h"

/* ---- heap ---------------------------------------------------------------- */

static bool earlier(const mrt__timer *a, const mrt__timer *b) {
  return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_set(mrt__timer_heap *h, size_t i, mrt__timer *t) {
  h->items[i] = t;
  t->heap_index = i;
}

static void sift_up(mrt__timer_heap *h, size_t i) {
  mrt__timer *t = h->items[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!earlier(t, h->items[parent]))
      break;
    heap_set(h, i, h->items[parent]);
    i = parent;
  }
  heap_set(h, i, t);
}

static void sift_down(mrt__timer_heap *h, size_t i) {
  mrt__timer *t = h->items[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= h->len)
      break;
    if (child + 1 < h->len && earlier(h->items[child + 1], h->items[child]))
      child++;
    if (!earlier(h->items[child], t))
      break;
    heap_set(h, i, h->items[child]);
    i = child;
  }
  heap_set(h, i, t);
}

int mrt__timer_heap_push(mrt__timer_heap *h, mrt__timer *t) {
  mrt__timer **items = mrt__grow(h->items, &h->cap, h->len, sizeof *items, 64);
  if (items == NULL)
    return -ENOMEM;
  h->items = items;
  heap_set(h, h->len++, t);
  sift_up(h, h->len - 1);
  return 0;
}

void mrt__timer_heap_remove(mrt__timer_heap *h, mrt__timer *t) {
  size_t i = t->heap_index;
  mrt__timer *last = h->items[--h->len];
  if (last != t) {
    heap_set(h, i, last);
    sift_up(h, i);
    sift_down(h, last->heap_index);
  }
  t->heap_index = SIZE_MAX;
}

mrt__timer *mrt__timer_heap_top(const mrt__timer_heap *h) {
  return h->len ? h->items[0] : NULL;
}

void mrt__timer_heap_free(mrt__timer_heap *h) {
  free(h->items);
  h->items = NULL;
  h->len = h->cap = 0;
}

/* ---- arming the real clock ------------------------------------------------ */

/* Arms the libevent timer only when the earliest deadline moved earlier:
 * asks add and cancel a timeout each, and re-arming on every change would
 * cost an event_add/event_del pair per ask. A wake-up for a timer that was
 * cancelled meanwhile finds nothing due and re-arms for the next one. */
void mrt__timer_rearm(mrt__executor *ex) {
  if (ex->rt->virtual_clock || ex->timer_ev == NULL)
    return;
  mrt__timer *top = mrt__timer_heap_top(&ex->timers);
  if (top == NULL || top->deadline >= ex->armed_deadline)
    return;
  uint64_t deadline = top->deadline;
  ex->armed_deadline = deadline;
  uint64_t now = mrt__monotonic_ns();
  uint64_t delay = deadline > now ? deadline - now : 0;
  struct timeval tv = {.tv_sec = (time_t)(delay / MRT_NS_PER_SEC),
                       .tv_usec = (suseconds_t)(delay % MRT_NS_PER_SEC / MRT_NS_PER_US)};
  event_add(ex->timer_ev, &tv);
}

/* ---- timers owned by actors ---------------------------------------------- */

/* Timers come from a per-executor free list: every ask makes and drops one
 * (its timeout), and the allocator's slow path would dominate an ask. */
#define TIMER_POOL_MAX 1024

static mrt__timer *timer_alloc(mrt__executor *ex) {
  mrt__timer *t = ex->timer_pool;
  if (t != NULL) {
    ex->timer_pool = t->next;
    ex->timer_pool_len--;
  } else if ((t = malloc(sizeof *t)) == NULL) {
    return NULL;
  }
  *t = (mrt__timer){0};
  return t;
}

static void timer_release(mrt__executor *ex, mrt__timer *t) {
  if (ex->timer_pool_len < TIMER_POOL_MAX && mrt__executor_current() == ex) {
    t->next = ex->timer_pool;
    ex->timer_pool = t;
    ex->timer_pool_len++;
    return;
  }
  free(t);
}

void mrt__timer_pool_free(mrt__executor *ex) {
  while (ex->timer_pool != NULL) {
    mrt__timer *t = ex->timer_pool;
    ex->timer_pool = t->next;
    free(t);
  }
  ex->timer_pool_len = 0;
}

mrt__timer *mrt__timer_add(mrt_ref *owner, uint64_t delay_ns, uint64_t period_ns) {
  /* Timers fire on this executor's thread outside the owner's turns: the
   * owner must never move (executor.c). Pinned before the timer exists. */
  mrt__cell_pin(owner);
  mrt__executor *ex = mrt__cell_ex(owner);
  mrt__timer *t = timer_alloc(ex);
  if (t == NULL)
    return NULL;
  uint64_t now = mrt_runtime_now(owner->rt);
  t->deadline = delay_ns > UINT64_MAX - now ? UINT64_MAX : now + delay_ns;
  t->period = period_ns;
  /* Only this executor's thread makes its timers: plain counters suffice.
   * Ties between executors (virtual clock) fire in executor order. */
  t->seq = ex->timer_seq++;
  t->heap_index = SIZE_MAX;
  t->owner = owner;
  if (mrt__timer_heap_push(&ex->timers, t) < 0) {
    timer_release(ex, t);
    return NULL;
  }
  t->next = owner->timers;
  if (owner->timers != NULL)
    owner->timers->prev = t;
  owner->timers = t;
  mrt__timer_rearm(ex);
  return t;
}

static void timer_unlink(mrt__timer *t) {
  mrt_ref *owner = t->owner;
  if (t->prev != NULL)
    t->prev->next = t->next;
  else
    owner->timers = t->next;
  if (t->next != NULL)
    t->next->prev = t->prev;
  t->prev = t->next = NULL;
}

static void timer_free(mrt__timer *t) {
  if (t->send_env != NULL)
    mrt__env_discard(t->send_env, -ECANCELED);
  mrt_ref_unref(t->send_to);
  timer_release(mrt__cell_ex(t->owner), t);
}

/* Public timers get an id unique in the runtime without a shared counter. */
static uint64_t timer_public_id(mrt__executor *ex) {
  return (++ex->timer_ids << 8) | ex->index;
}

void mrt__timer_cancel(mrt__timer *t) {
  mrt__executor *ex = mrt__cell_ex(t->owner);
  timer_unlink(t);
  if (t->heap_index != SIZE_MAX)
    mrt__timer_heap_remove(&ex->timers, t);
  timer_free(t);
}

void mrt__timer_cancel_all(mrt_ref *owner) {
  while (owner->timers != NULL) {
    mrt__timer *t = owner->timers;
    if (t->ask != NULL)
      t->ask->timeout = NULL;
    mrt__timer_cancel(t);
  }
}

static void timer_fire(mrt__executor *ex, mrt__timer *t) {
  mrt_ref *owner = t->owner;
  if (t->ask != NULL) {
    mrt__ask *a = t->ask;
    timer_unlink(t);
    timer_free(t);
    mrt__ask_timed_out(owner, a);
    return;
  }
  if (t->send_env != NULL) {
    mrt__env *env = t->send_env;
    mrt_ref *to = t->send_to;
    t->send_env = NULL;
    timer_unlink(t);
    /* A target that stopped meanwhile just loses the message (drop runs). */
    if (atomic_load_explicit(&to->life, memory_order_acquire) >= MRT__LIFE_STOPPING ||
        mrt__actor_enqueue(to, env) < 0)
      mrt__env_discard(env, -ESRCH);
    timer_free(t);
    return;
  }
  bool periodic = t->period > 0;
  if (periodic) {
    uint64_t now = mrt_runtime_now(ex->rt);
    t->deadline += t->period;
    if (t->deadline <= now) /* a late real clock skips missed periods */
      t->deadline = now + t->period;
    t->seq = ex->timer_seq++;
    mrt__timer_heap_push(&ex->timers, t); /* cannot fail: the slot was just freed */
  } else {
    timer_unlink(t);
  }
  mrt_timer_fn fn = t->fn;
  void *ud = t->ud;
  if (!periodic)
    timer_release(ex, t);
  if (atomic_load_explicit(&owner->life, memory_order_relaxed) != MRT__LIFE_RUNNING)
    return;
  mrt_ref *prev = mrt__actor_set_current(owner);
  int rc = fn(owner, owner->state, ud);
  mrt__actor_set_current(prev);
  mrt__actor_check_result(owner, rc, "timer");
}

/* The owner outlives the call: its registry reference lasts until its stop
 * path, which runs in one of its turns, never inside a timer callback. */
void mrt__timer_fire(mrt__executor *ex, mrt__timer *t) {
  mrt_ref *owner = t->owner;
  mrt__guard_enter(owner);
  timer_fire(ex, t);
  mrt__guard_leave(owner);
}

/* ---- public -------------------------------------------------------------- */

static int check_context(const mrt_actor *self, const char *what) {
  if (!mrt__in_context(self)) {
    mrt_log(MRT_LOG_WARN, "runtime", "%s refused: not called from the actor's own context", what);
    return -EINVAL;
  }
  if (atomic_load_explicit(&self->life, memory_order_relaxed) >= MRT__LIFE_STOPPING)
    return -EINVAL;
  return 0;
}

int mrt_timer_start(mrt_actor *self, uint64_t delay_ns, uint64_t period_ns, mrt_timer_fn fn,
                    void *ud, uint64_t *id_out) {
  int rc = check_context(self, "timer start");
  if (rc < 0)
    return rc;
  if (fn == NULL)
    return -EINVAL;
  mrt__timer *t = mrt__timer_add(self, delay_ns, period_ns);
  if (t == NULL)
    return -ENOMEM;
  t->fn = fn;
  t->ud = ud;
  t->id = timer_public_id(mrt__cell_ex(self));
  if (id_out != NULL)
    *id_out = t->id;
  return 0;
}

int mrt_timer_cancel(mrt_actor *self, uint64_t id) {
  if (!mrt__in_context(self))
    return -EINVAL;
  for (mrt__timer *t = self->timers; t != NULL; t = t->next)
    if (t->id == id && id != 0) {
      mrt__timer_cancel(t);
      return 0;
    }
  return -ENOENT;
}

int mrt_send_after(mrt_actor *self, mrt_ref *to, uint64_t delay_ns, const mrt_msg_type *type,
                   const void *payload, size_t size, uint64_t *id_out) {
  int rc = check_context(self, "send_after");
  if (rc < 0)
    return rc;
  if (to == NULL || type == NULL || size != type->payload_size || (size && !payload))
    return -EINVAL;
  if (!mrt__actor_accepts(to->cls, type))
    return -ENOTSUP;
  mrt__env *env = mrt__env_new(type, payload);
  if (env == NULL)
    return -ENOMEM;
  mrt__timer *t = mrt__timer_add(self, delay_ns, 0);
  if (t == NULL) {
    mrt__env_free(env);
    return -ENOMEM;
  }
  t->send_env = env;
  t->send_to = mrt_ref_ref(to);
  t->id = timer_public_id(mrt__cell_ex(self));
  if (id_out != NULL)
    *id_out = t->id;
  return 0;
}
