/* SPDX-License-Identifier: MIT */
/* meshrt — the handful of opaque types every other header refers to.
 *
 * mrt_ref is a refcounted handle to an actor: any thread may hold one, send
 * through it, and drop it; holding one never keeps a stopped actor alive.
 * mrt_actor is the same object seen from inside: the `self` a handler, timer
 * or continuation receives, usable for calls that must run in the actor's own
 * context (timers, asks, monitors). Inside a handler `self` may be passed
 * wherever an mrt_ref is expected (it is a borrowed ref).
 */
#ifndef MESHRT_TYPES_H
#define MESHRT_TYPES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mrt_runtime mrt_runtime;
typedef struct mrt_ref mrt_ref;
typedef struct mrt_ref mrt_actor;
typedef struct mrt_reply mrt_reply;

/* A handler: runs in the actor's context with its state. `reply` is NULL for
 * tells and a reply token for asks. Returning a negative errno fails the
 * actor (it stops abnormally with that error). */
typedef int (*mrt_handler_fn)(mrt_actor *self, void *state, const void *payload, mrt_reply *reply);

/* An ask continuation: runs once, in the asker's context. `status` is >= 0 with
 * `reply` pointing at the reply (valid during the call; its drop hook runs
 * after), or a negative errno with `reply` NULL. Returning a negative errno
 * fails the asker. */
typedef int (*mrt_ask_fn)(mrt_actor *self, void *state, int status, const void *reply, void *ud);

/* A timer callback: runs in the owning actor's context. A negative return
 * fails the actor. */
typedef int (*mrt_timer_fn)(mrt_actor *self, void *state, void *ud);

#define MRT_NS_PER_US UINT64_C(1000)
#define MRT_NS_PER_MS UINT64_C(1000000)
#define MRT_NS_PER_SEC UINT64_C(1000000000)
#define MRT_MS(x) ((uint64_t)(x)*MRT_NS_PER_MS)
#define MRT_SEC(x) ((uint64_t)(x)*MRT_NS_PER_SEC)

#ifdef __cplusplus
}
#endif
#endif
