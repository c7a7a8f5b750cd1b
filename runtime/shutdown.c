/* SPDX-License-Identifier: MIT */
/* meshrt — runtime shutdown.
 *
 * Order: raise the shutdown signal (watchers get mrt_msg_shutdown), then stop
 * actors one at a time from the newest to the oldest — so a supervisor's
 * children, spawned after it, stop before it — each by a STOP envelope queued
 * behind what its mailbox already holds; then stop the executor threads and
 * discard whatever raced in. The caller waits for each actor: on a condition
 * variable when another thread runs its executor, or by driving the executor
 * itself when it may (hand-driven runtimes, the attach thread).
 */
#include <stdlib.h>
#include <event2/event.h>

#include "internal.h"

static bool is_dead(mrt_ref *cell) {
  return atomic_load_explicit(&cell->life, memory_order_acquire) == MRT__LIFE_DEAD;
}

static void wait_dead(mrt_runtime *rt, mrt_ref *cell) {
  /* Actors on a drivable executor (hand-driven, or executor 0 of an attached
   * runtime) never move (executor.c), so this answer cannot go stale. */
  mrt__executor *ex = mrt__cell_ex(cell);
  if (mrt__runtime_drivable(rt, ex)) {
    while (!is_dead(cell)) {
      if (rt->mode == MRT__MODE_HAND)
        mrt__runtime_idle_pass(rt);
      else
        mrt__executor_drain(ex, UINT32_MAX);
    }
    return;
  }
  pthread_mutex_lock(&rt->mu);
  while (!is_dead(cell))
    pthread_cond_wait(&rt->cv, &rt->mu);
  pthread_mutex_unlock(&rt->mu);
}

static void stop_all_actors(mrt_runtime *rt) {
  for (;;) {
    pthread_mutex_lock(&rt->mu);
    mrt_ref *cell = mrt_ref_ref(rt->reg_tail);
    pthread_mutex_unlock(&rt->mu);
    if (cell == NULL)
      return;
    /* Without memory for the STOP envelope, the actor stops after its current
     * message instead (the rest of its mailbox is discarded: drop hooks run,
     * asks are answered): better than waiting forever for it. */
    if (mrt__actor_post_stop(cell, MRT_EXIT_SHUTDOWN, "runtime shutdown") < 0)
      mrt__actor_request_stop(cell, MRT_EXIT_SHUTDOWN, 0, "runtime shutdown");
    wait_dead(rt, cell);
    mrt_ref_unref(cell);
  }
}

static void stop_executors(mrt_runtime *rt) {
  for (unsigned i = 0; i < rt->n_ex; i++)
    mrt__executor_stop_thread(&rt->ex[i]);
  /* Now no thread runs any executor: discard what raced in, here. */
  for (unsigned i = 0; i < rt->n_ex; i++)
    mrt__executor_drain(&rt->ex[i], UINT32_MAX);
  if (rt->mode == MRT__MODE_ATTACHED) {
    /* Leave the host's base as we found it. */
    mrt__executor *ex = &rt->ex[0];
    event_free(ex->wake_ev);
    event_free(ex->timer_ev);
    ex->wake_ev = ex->timer_ev = NULL;
  }
}

int mrt_runtime_shutdown(mrt_runtime *rt) {
  if (rt == NULL)
    return -EINVAL;
  if (mrt__actor_current() != NULL || mrt__executor_current() != NULL) {
    mrt_log(MRT_LOG_WARN, "runtime", "shutdown refused: called from an executor thread");
    return -EDEADLK;
  }
  pthread_mutex_lock(&rt->mu);
  int state = atomic_load_explicit(&rt->state, memory_order_relaxed);
  if (state >= MRT__RT_SHUTTING_DOWN) {
    /* Idempotent: a second caller waits for the first to finish. */
    while (atomic_load_explicit(&rt->state, memory_order_relaxed) != MRT__RT_DOWN)
      pthread_cond_wait(&rt->cv, &rt->mu);
    pthread_mutex_unlock(&rt->mu);
    return 0;
  }
  atomic_store_explicit(&rt->state, MRT__RT_SHUTTING_DOWN, memory_order_release);
  pthread_mutex_unlock(&rt->mu);

  mrt_log(MRT_LOG_DEBUG, "runtime", "shutdown begins");
  mrt__watch_signal_shutdown(rt);
  stop_all_actors(rt);
  stop_executors(rt);
  /* The bus holds references to subscribers (which hold the runtime): let go
   * of them, and of retained values, so everything can be freed. */
  void *bus = atomic_load_explicit(&rt->bus, memory_order_acquire);
  if (bus != NULL)
    rt->bus_shutdown(bus);

  pthread_mutex_lock(&rt->mu);
  atomic_store_explicit(&rt->state, MRT__RT_DOWN, memory_order_release);
  pthread_cond_broadcast(&rt->cv);
  pthread_mutex_unlock(&rt->mu);
  mrt_log(MRT_LOG_DEBUG, "runtime", "shutdown complete");
  return 0;
}
