/* SPDX-License-Identifier: MIT */
/* meshrt — mrt_ask_sync: a host thread asks and waits.
 *
 * The waiting thread owns the asker side of an ask record and a wait struct
 * on its stack. It first spins on the struct's `phase` for up to ten times
 * the runtime's spin time (SYNC_SPIN_STRETCH): an actor on an awake executor
 * answers in about a microsecond, far less than a condition-variable sleep
 * and wake-up costs.
 * Only then does it initialise a mutex/condvar pair and sleep (ask.c,
 * deliver_sync, describes the hand-over). It gives up at the deadline by
 * winning the record's CAS (PENDING -> ABANDONED); if the replier won
 * instead, the reply is already being handed over and the thread waits for
 * it without a deadline.
 *
 * On a hand-driven runtime there is nobody else to run the target, so the
 * waiting thread drives the executors itself; with the virtual clock it
 * advances time to the next timer whenever the runtime is idle, so asks to
 * silent actors time out deterministically and instantly.
 */
#include <sched.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static bool replied(mrt__ask *a) {
  /* Acquire: pairs with deliver_sync's release store of REPLIED. */
  return atomic_load_explicit(&a->state, memory_order_acquire) == MRT__ASK_REPLIED;
}

static bool handed_over(mrt__sync_wait *w) {
  /* Acquire: pairs with deliver_sync's exchange; status and reply are then
   * visible. */
  return atomic_load_explicit(&w->phase, memory_order_acquire) == MRT__SYNC_DONE;
}

static bool give_up(mrt__ask *a) {
  int expected = MRT__ASK_PENDING;
  return atomic_compare_exchange_strong_explicit(&a->state, &expected, MRT__ASK_ABANDONED,
                                                 memory_order_acq_rel, memory_order_acquire);
}

/* Hand-driven runtime: drive until replied or the (runtime-clock) deadline. */
static bool wait_driving(mrt_runtime *rt, mrt__ask *a, uint64_t deadline) {
  for (;;) {
    mrt__runtime_idle_pass(rt);
    if (replied(a))
      return true;
    uint64_t now = mrt_runtime_now(rt);
    if (now >= deadline)
      return false;
    if (rt->virtual_clock) {
      /* Idle: only a timer (or the deadline) can move things along. */
      uint64_t next = deadline;
      for (unsigned i = 0; i < rt->n_ex; i++) {
        mrt__timer *t = mrt__timer_heap_top(&rt->ex[i].timers);
        if (t != NULL && t->deadline < next)
          next = t->deadline;
      }
      mrt__runtime_advance_until(rt, next);
    } else {
      /* Real clock: wait for sockets or timers; yield briefly. */
      struct timespec pause = {0, 50 * 1000};
      nanosleep(&pause, NULL);
    }
  }
}

static bool handed_over_poll(void *w) {
  return handed_over(w);
}

/* Sleeps until the hand-over or the absolute deadline `abs_ns`
 * (CLOCK_MONOTONIC; UINT64_MAX: none). Returns true once handed over. Once
 * the waiter has announced it sleeps, "handed over" means the replier has
 * signalled, i.e. is done with mu and cv (see deliver_sync); seeing DONE is
 * not enough. Called again (without deadline) after a lost race to time out,
 * it waits for that signal. */
static bool sleep_wait(mrt__sync_wait *w, uint64_t abs_ns) {
  if (!w->sleep_ready) {
    pthread_mutex_init(&w->mu, NULL);
    /* The deadline is on CLOCK_MONOTONIC; the condvar must agree. */
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &attr);
    pthread_condattr_destroy(&attr);
    w->sleep_ready = true;
  }
  struct timespec ts = {.tv_sec = (time_t)(abs_ns / MRT_NS_PER_SEC),
                        .tv_nsec = (long)(abs_ns % MRT_NS_PER_SEC)};
  pthread_mutex_lock(&w->mu);
  if (!w->slept) {
    int expected = MRT__SYNC_SPINNING;
    /* acq_rel: a replier that reads SLEEPING also sees mu and cv initialised;
     * failing on DONE (the replier saw SPINNING and is gone) acquires the
     * reply. */
    if (!atomic_compare_exchange_strong_explicit(&w->phase, &expected, MRT__SYNC_SLEEPING,
                                                 memory_order_acq_rel, memory_order_acquire)) {
      pthread_mutex_unlock(&w->mu);
      return true;
    }
    w->slept = true;
  }
  int rc = 0;
  while (!w->signalled && rc == 0)
    rc = abs_ns == UINT64_MAX ? pthread_cond_wait(&w->cv, &w->mu)
                              : pthread_cond_timedwait(&w->cv, &w->mu, &ts);
  bool done = w->signalled;
  pthread_mutex_unlock(&w->mu);
  return done;
}

/* Each host thread's own spin gate: whether its asks get answered within
 * the spin budget depends on what it asks and how loaded the machine is. */
static _Thread_local mrt__spin_gate tls_spin_gate;

/* Whether the executor that runs `to` is draining or spinning right now (its
 * wake flag is set then; see mrt__executor_wake): then the answer tends to
 * come within the spin budget, whatever this thread's gate has learnt. A racy
 * hint (relaxed loads): a wrong guess costs one spin or one sleep. */
static bool executor_awake(mrt_ref *to) {
  mrt__executor *ex = mrt__cell_ex(to);
  return ex != NULL && atomic_load_explicit(&ex->wake_pending, memory_order_relaxed);
}

/* A waiting host thread spins up to this many spin budgets (rt->spin_ns) when
 * it spins at all. Long enough to cover an executor's wake-up from epoll
 * (tens of microseconds on a virtual machine), so that the answer finds this
 * thread still spinning, which tells the executor to spin for our next ask
 * (ask.c, deliver_sync): then both stay awake while the asks keep coming.
 * With a spin as short as the executor's, a machine whose wake-ups take
 * longer than the budget falls into "both asleep" (about 100 us a round trip
 * here) and seldom leaves it. The gate still closes after spins that did not
 * pay, so a slow actor costs four long spins, then one every 32 asks. */
#define SYNC_SPIN_STRETCH 10

static bool wait_blocking(mrt_runtime *rt, mrt_ref *to, mrt__sync_wait *w, uint64_t timeout_ns) {
  uint64_t now = mrt__monotonic_ns();
  uint64_t deadline = timeout_ns > UINT64_MAX - 1 - now ? UINT64_MAX - 1 : now + timeout_ns;
  uint64_t budget = rt->spin_ns < timeout_ns ? rt->spin_ns : timeout_ns;
  if (budget > 0 && (executor_awake(to) || mrt__spin_gate_open(&tls_spin_gate))) {
    budget = budget * SYNC_SPIN_STRETCH < timeout_ns ? budget * SYNC_SPIN_STRETCH : timeout_ns;
    bool got = mrt__spin_until(handed_over_poll, w, now + budget);
    mrt__spin_gate_note(&tls_spin_gate, got && mrt__monotonic_ns() - now <= budget);
    if (got)
      return true;
  }
  return sleep_wait(w, deadline);
}

static int finish(mrt__ask *a, bool got, void *reply_out) {
  mrt__sync_wait *w = a->sync;
  if (!got && give_up(a)) {
    mrt__ask_release(a);
    return -ETIMEDOUT;
  }
  /* The replier won (maybe just now): the hand-over is imminent. A waiter
   * that announced its sleep waits for the replier's signal even if DONE is
   * already visible, so that the replier is done with mu and cv. */
  if (w->slept || !handed_over(w))
    sleep_wait(w, UINT64_MAX);
  int status = a->status;
  if (status >= 0 && a->reply_valid) {
    memcpy(reply_out, a->reply, a->type->reply_size);
    a->reply_valid = false; /* ownership passed to the caller */
  }
  mrt__ask_release(a);
  return status;
}

int mrt_ask_sync(mrt_ref *to, const mrt_msg_type *type, const void *payload, size_t size,
                 void *reply_out, size_t reply_size, uint64_t timeout_ns) {
  if (type == NULL || to == NULL || reply_size != type->reply_size ||
      (reply_size > 0 && reply_out == NULL)) {
    mrt_log(MRT_LOG_WARN, "runtime", "ask_sync refused: %s",
            type == NULL || to == NULL ? "NULL argument" : "reply size mismatch");
    return -EINVAL;
  }
  mrt_runtime *rt = to->rt;
  if (mrt__executor_current() != NULL || mrt__actor_current() != NULL ||
      (rt->mode == MRT__MODE_ATTACHED && pthread_equal(pthread_self(), rt->attach_thread))) {
    mrt_log(MRT_LOG_WARN, "runtime", "ask_sync refused: would block an executor thread");
    return -EDEADLK;
  }
  if (timeout_ns == 0)
    timeout_ns = MRT_ASK_DEFAULT_TIMEOUT;
  mrt__ask *a = mrt__ask_new(type);
  if (a == NULL)
    return -ENOMEM;
  mrt__sync_wait w = {.sleep_ready = false, .slept = false, .signalled = false};
  atomic_init(&w.phase, MRT__SYNC_SPINNING);
  a->sync = &w;
  int rc = mrt__send_env(to, type, payload, size, a, "ask_sync");
  if (rc < 0) {
    mrt__ask_release(a);
    mrt__ask_release(a);
  } else {
    bool got;
    if (rt->mode == MRT__MODE_HAND) {
      uint64_t now = mrt_runtime_now(rt);
      got = wait_driving(rt, a, timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns);
    } else {
      got = wait_blocking(rt, to, &w, timeout_ns);
    }
    rc = finish(a, got, reply_out);
  }
  if (w.sleep_ready) {
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
  }
  return rc;
}
