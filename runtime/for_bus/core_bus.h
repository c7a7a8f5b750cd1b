/* SPDX-License-Identifier: MIT */
/* meshrt — what the runtime core gives the bus (bus/bus.c), and nothing more.
 *
 * The bus is part of libmeshrt but not of the core: it reaches actors and the
 * runtime through these calls (runtime/core_bus.c) instead of the core's
 * structures in runtime/internal.h, so the core's layout can change without
 * the bus noticing, and the bus cannot come to depend on more of the core by
 * accident. Only the bus's build is given this folder.
 *
 * Threads: every function may be called from any thread, unless it says
 * otherwise.
 */
#ifndef MESHRT_CORE_BUS_H
#define MESHRT_CORE_BUS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <meshrt/message.h>
#include <meshrt/types.h>

/* A payload shared by several envelopes (bus fan-out): freed, and its drop
 * hook run, when the last envelope lets go. Made by the bus (malloc of the
 * struct plus the payload), released through mrt__shared_release. */
typedef struct mrt__shared {
  _Atomic uint32_t refs;
  const mrt_msg_type *type;
  max_align_t data[];
} mrt__shared;

typedef struct mrt__env mrt__env;

/* Drops one reference; the last runs the type's drop hook and frees `s`. */
void mrt__shared_release(mrt__shared *s);
/* An envelope pointing at `s` (it takes no reference of its own), or NULL
 * without memory. */
mrt__env *mrt__env_new_shared(mrt__shared *shared);
/* Frees an envelope that was never delivered, leaving its shared payload's
 * references alone. */
void mrt__env_free_unshared(mrt__env *env);
/* Pushes a user envelope into `to`'s mailbox; a bounded mailbox that is full
 * refuses it with -EAGAIN (the caller still owns env). */
int mrt__actor_enqueue(mrt_ref *to, mrt__env *env);

/* The actor has not begun to stop (acquire: sees its stop as soon as it is
 * published). */
bool mrt__cell_alive(const mrt_ref *cell);
/* The runtime the actor belongs to. */
mrt_runtime *mrt__cell_runtime(const mrt_ref *cell);
/* The actor's class has a handler for `type`. */
bool mrt__cell_accepts(const mrt_ref *cell, const mrt_msg_type *type);
/* The bus owes the actor a latest value its full mailbox missed: marks it
 * and makes sure the actor runs, so mrt__bus_catch_up follows its turn. */
void mrt__cell_owe_bus(mrt_ref *cell);

/* The runtime's bus, or NULL before its first use (acquire). */
void *mrt__runtime_bus_get(mrt_runtime *rt);
/* Installs `bus` with the functions that free it and drop its subscriptions
 * at shutdown, unless another thread did first: returns the runtime's bus,
 * `bus` or the winner's (then `bus` is the caller's to free). */
void *mrt__runtime_bus_install(mrt_runtime *rt, void *bus, void (*free_fn)(void *bus),
                               void (*shutdown_fn)(void *bus));

/* Implemented by the bus: the end of a turn of `cell` that was owed values
 * (its executor thread; the core has already cleared the mark). Delivers the
 * latest value of each MRT_BUS_LATEST type it missed; false if its mailbox
 * is full again and a value is still owed. */
bool mrt__bus_catch_up(void *bus, mrt_ref *cell);

#endif
