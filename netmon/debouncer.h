/* SPDX-License-Identifier: MIT */
/* meshrt — the link-change debouncer (private to netmon/).
 *
 * Folds raw changes into coalesced events: each raw change (re)starts a
 * trailing settle timer; the first raw change of a burst also starts a
 * max-wait timer, so a never-quiet stream still emits at least once per max
 * wait. Runs on the owning actor's runtime timers; every call must be made in
 * that actor's context. The struct must stay at a fixed address while in use
 * (it is the timers' user data): keep it in the actor's state. What a burst
 * changed is kept in a bounded list (change_list.h), so a storm costs no
 * memory.
 */
#ifndef MESHRT_NETMON_DEBOUNCER_H
#define MESHRT_NETMON_DEBOUNCER_H

#include <meshrt/meshrt.h>
#include <meshrt/netmon.h>

#include "change_list.h"

/* A burst is over: `raw_events` raw changes, which changed `changes`. */
typedef void (*mrt__debounce_emit_fn)(mrt_actor *self, uint32_t raw_events,
                                      const mrt__link_changes *changes, void *ud);

typedef struct mrt__debouncer {
  uint64_t settle_ns, max_wait_ns;
  uint32_t raw_events;       /* 0: nothing pending */
  mrt__link_changes pending; /* what the pending raw changes changed */
  uint64_t settle_timer, max_timer;
  mrt__debounce_emit_fn emit;
  void *ud;
} mrt__debouncer;

void mrt__debouncer_init(mrt__debouncer *d, const mrt_debounce_config *cfg,
                         mrt__debounce_emit_fn emit, void *ud);
/* One raw change and what it changed. Returns 0 or a timer error. */
int mrt__debouncer_raw(mrt__debouncer *d, mrt_actor *self, const mrt__link_changes *raw);
/* Emits a pending change now (source closed). */
void mrt__debouncer_flush(mrt__debouncer *d, mrt_actor *self);
/* Forgets a pending change without emitting (shutdown). */
void mrt__debouncer_cancel(mrt__debouncer *d, mrt_actor *self);

#endif
