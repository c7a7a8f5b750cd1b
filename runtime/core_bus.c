/* SPDX-License-Identifier: MIT */
/* meshrt — the core's side of for_bus/core_bus.h: the few things the bus
 * (bus/bus.c) may know about actors and the runtime, as calls.
 *
 * The bus lives in libmeshrt beside the core but does not see the core's
 * structures; it asks these functions instead. Each is a field read or the
 * one atomic handshake it names, so the bus's hot path (one liveness check
 * per delivery) costs a direct call inside the library.
 *
 * Threads: any thread, unless a function says otherwise.
 */
#include "internal.h"

bool mrt__cell_alive(const mrt_ref *cell) {
  /* Acquire: a stop published by another thread is seen here before the
   * bus hands the actor another envelope. */
  return atomic_load_explicit(&((mrt_ref *)cell)->life, memory_order_acquire) < MRT__LIFE_STOPPING;
}

mrt_runtime *mrt__cell_runtime(const mrt_ref *cell) {
  return cell->rt;
}

bool mrt__cell_accepts(const mrt_ref *cell, const mrt_msg_type *type) {
  return mrt__actor_accepts(cell->cls, type);
}

void mrt__cell_owe_bus(mrt_ref *cell) {
  /* seq_cst store, then the scheduling check: pairs with go_idle (actor.c),
   * which clears `scheduled` and then reads bus_owed, so either the actor
   * sees the flag or we see it idle and schedule it. */
  atomic_store_explicit(&cell->bus_owed, 1, memory_order_seq_cst);
  mrt__actor_ensure_scheduled(cell);
}

void mrt__actor_bus_catch_up(mrt_ref *cell) {
  /* seq_cst: pairs with mrt__cell_owe_bus; an owe after this exchange sets
   * the mark again. */
  if (atomic_exchange_explicit(&cell->bus_owed, 0, memory_order_seq_cst) == 0)
    return;
  void *bus = mrt__runtime_bus_get(cell->rt);
  /* Full again: the mailbox holds messages, so there is another turn. */
  if (bus != NULL && !mrt__bus_catch_up(bus, cell))
    atomic_store_explicit(&cell->bus_owed, 1, memory_order_seq_cst);
}

void mrt__env_free_unshared(mrt__env *env) {
  env->shared = NULL; /* the envelope took no reference of its own */
  mrt__env_free(env);
}

void *mrt__runtime_bus_get(mrt_runtime *rt) {
  /* Acquire: see the bus fully built by whichever thread installed it. */
  return atomic_load_explicit(&rt->bus, memory_order_acquire);
}

void *mrt__runtime_bus_install(mrt_runtime *rt, void *bus, void (*free_fn)(void *bus),
                               void (*shutdown_fn)(void *bus)) {
  rt->bus_free = free_fn; /* the same functions whoever wins */
  rt->bus_shutdown = shutdown_fn;
  void *expected = NULL;
  /* acq_rel: publish our bus (release) or see the winner's (acquire). */
  if (!atomic_compare_exchange_strong_explicit(&rt->bus, &expected, bus, memory_order_acq_rel,
                                               memory_order_acquire))
    return expected;
  return bus;
}
