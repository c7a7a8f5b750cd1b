/* meshrt — mrt_ask_sync: a host thread asks and waits.
 *
 * The waiting thread owns the asker side of an ask record and a mutex/condvar
 * pair on its stack. It gives up at the deadline by winning the record's CAS
 * (PENDING -> ABANDONED); if the replier won instead, the reply is already
 * being handed over and the thread waits for it without a deadline.
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

static bool wait_blocking(mrt_runtime *rt, mrt__ask *a, uint64_t timeout_ns) {
  (void)rt;
  mrt__sync_wait *w = a->sync;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t abs = (uint64_t)ts.tv_sec * MRT_NS_PER_SEC + (uint64_t)ts.tv_nsec + timeout_ns;
  ts.tv_sec = (time_t)(abs / MRT_NS_PER_SEC);
  ts.tv_nsec = (long)(abs % MRT_NS_PER_SEC);
  pthread_mutex_lock(&w->mu);
  int rc = 0;
  while (!w->done && rc == 0)
    rc = pthread_cond_timedwait(&w->cv, &w->mu, &ts);
  bool done = w->done;
  pthread_mutex_unlock(&w->mu);
  return done;
}

static int finish(mrt__ask *a, bool got, void *reply_out) {
  mrt__sync_wait *w = a->sync;
  if (!got && give_up(a)) {
    mrt__ask_release(a);
    return -ETIMEDOUT;
  }
  /* The replier won (maybe just now): the hand-over is imminent. */
  pthread_mutex_lock(&w->mu);
  while (!w->done)
    pthread_cond_wait(&w->cv, &w->mu);
  pthread_mutex_unlock(&w->mu);
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
  mrt__sync_wait w = {.done = false};
  pthread_mutex_init(&w.mu, NULL);
  /* The deadline is computed on CLOCK_MONOTONIC; the condvar must agree. */
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&w.cv, &attr);
  pthread_condattr_destroy(&attr);
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
      got = wait_blocking(rt, a, timeout_ns);
    }
    rc = finish(a, got, reply_out);
  }
  pthread_mutex_destroy(&w.mu);
  pthread_cond_destroy(&w.cv);
  return rc;
}
