/* SPDX-License-Identifier: MIT */
/* meshrt — timers on the runtime clock.
 *
 * Timers belong to an actor: they run in its context, and they die with it. All
 * time comes from the runtime clock (monotonic real time, or the virtual clock
 * driven by mrt_runtime_advance). Timer ids are unique per runtime and never
 * reused, so cancelling a timer that already fired is a safe -ENOENT.
 * Every function here must be called in `self`'s context.
 */
#ifndef MESHRT_TIMER_H
#define MESHRT_TIMER_H

#include <stddef.h>
#include <stdint.h>
#include <meshrt/export.h>
#include <meshrt/message.h>
#include <meshrt/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Starts a timer that calls fn(self, state, ud) after delay_ns and then, if
 * period_ns > 0, every period_ns (missed periods on a late real clock are
 * skipped, not replayed). `ud` stays the caller's (the timer only passes it
 * on). Writes its id to *id_out if not NULL. Starting a timer pins self to
 * its executor. Returns 0, -EINVAL (NULL fn, not in self's context, actor
 * stopping), -ENOMEM. */
MRT_API int mrt_timer_start(mrt_actor *self, uint64_t delay_ns, uint64_t period_ns, mrt_timer_fn fn,
                            void *ud, uint64_t *id_out);

/* Cancels a timer of self (a send_after's payload is dropped with its hook).
 * Returns 0, or -ENOENT if it fired (one-shot) or never existed, -EINVAL
 * outside self's context. */
MRT_API int mrt_timer_cancel(mrt_actor *self, uint64_t id);

/* Tells `to` a copy of `payload` after delay_ns. The payload is copied now,
 * and on success the pending message owns what it points to: if the timer is
 * cancelled, or `self` stops first, the payload's drop hook runs. If `to` is
 * gone or its bounded mailbox is full when it fires, the message is dropped
 * (drop hook runs). The timer holds a reference to `to` until then. On
 * failure the caller keeps the payload's pointers. Returns 0 or the errors of
 * mrt_timer_start (-EINVAL, -ENOMEM) and the argument checks of mrt_tell
 * (-EINVAL, -ENOTSUP). */
MRT_API int mrt_send_after(mrt_actor *self, mrt_ref *to, uint64_t delay_ns,
                           const mrt_msg_type *type, const void *payload, size_t size,
                           uint64_t *id_out);

#ifdef __cplusplus
}
#endif
#endif
