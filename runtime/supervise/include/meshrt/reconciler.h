/* SPDX-License-Identifier: MIT */
/* meshrt — the periodic reconciler: an actor that keeps converging actual
 * state towards desired state.
 *
 * It runs one pass at once, then one every interval (default 30 s), counted
 * from the end of the previous pass. A pass is a user callback given the
 * desired state (a borrowed pointer, replaceable with
 * mrt_reconciler_set_desired) and the actual state (produced for that pass by
 * an optional observe callback). A pass that fails is logged and counted, and
 * the loop goes on. A pass may finish later (return MRT_RECONCILE_ASYNC, e.g.
 * after asks of its own, then call mrt_reconciler_pass_done from the
 * reconciler's context); such a pass that outlives its timeout counts as
 * failed with -ETIMEDOUT.
 *
 * "Reconcile now" runs a pass at once; if one is running, requests are
 * coalesced into a single pass that starts when it ends (the running pass may
 * have read state from before the request). Stopping (mrt_reconciler_stop, a
 * supervisor's stop request, the runtime's shutdown signal) lets the current
 * pass finish, then the actor exits. (A runtime shutdown then also stops every
 * actor once its queued messages are handled, so an asynchronous pass still
 * waiting for replies at that point is abandoned; release_actual still runs.)
 *
 * mrt_reconciler_class takes an mrt_reconciler_config as its args and owns
 * nothing in it, so it can be a supervisor's child. Callbacks run in the
 * reconciler's context; the ud, desired and actual pointers are the host's
 * and must outlive their use.
 */
#ifndef MESHRT_RECONCILER_H
#define MESHRT_RECONCILER_H

#include <stdbool.h>
#include <stdint.h>
#include <meshrt/actor.h>
#include <meshrt/export.h>
#include <meshrt/message.h>
#include <meshrt/send.h>
#include <meshrt/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MRT_RECONCILER_DEFAULT_INTERVAL MRT_SEC(30)
/* A pass callback's return value: the pass goes on; it ends with
 * mrt_reconciler_pass_done(). */
#define MRT_RECONCILE_ASYNC 1

typedef struct mrt_reconcile_input {
  const void *desired; /* as last set (borrowed) */
  const void *actual;  /* what observe produced for this pass, or NULL */
  uint64_t pass;       /* 1, 2, ... */
  uint64_t now_ns;
} mrt_reconcile_input;

typedef struct mrt_reconciler_config {
  const char *name;         /* for logs (static); NULL: "reconciler" */
  uint64_t interval_ns;     /* 0: MRT_RECONCILER_DEFAULT_INTERVAL */
  uint64_t pass_timeout_ns; /* asynchronous passes; 0: the interval */
  /* Optional: reads the actual state for a pass into *actual (released with
   * release_actual when the pass ends). A negative return fails the pass. */
  int (*observe)(mrt_actor *self, void *ud, void **actual);
  void (*release_actual)(void *actual, void *ud);
  /* Required. Returns >= 0 (done), a negative errno (failed) or
   * MRT_RECONCILE_ASYNC. */
  int (*pass)(mrt_actor *self, const mrt_reconcile_input *in, void *ud);
  const void *desired;
  void *ud;
} mrt_reconciler_config;

typedef struct mrt_reconcile_result {
  uint64_t pass;
  int status; /* the pass's result: >= 0, or a negative errno */
} mrt_reconcile_result;

typedef struct mrt_reconciler_stats {
  uint64_t passes;   /* passes finished */
  uint64_t failures; /* of which failed (including timeouts) */
  uint64_t timeouts;
  uint64_t coalesced; /* run-now requests folded into a pending pass */
  uint64_t last_pass_end_ns;
  int last_status;
  bool running;
  uint64_t next_pass_ns; /* when the next periodic pass is due (0: none) */
} mrt_reconciler_stats;

/* The reconciler's actor class, for supervisor child specs: args are an
 * mrt_reconciler_config (copied; the pointers in it stay the host's). on_start
 * fails with -EINVAL when the config has no pass callback. */
MRT_API extern const mrt_actor_class mrt_reconciler_class;

/* Spawns a reconciler with a copy of *cfg (opts may be NULL); *out receives a
 * reference the caller owns (NULL on failure). The config's pointers (name,
 * desired, ud) stay the host's and must outlive the actor. Any thread.
 * Returns 0, -EINVAL (NULL, no pass callback), -ENOMEM, -ESHUTDOWN. */
MRT_API int mrt_reconciler_spawn(mrt_runtime *rt, const mrt_reconciler_config *cfg,
                                 const mrt_spawn_opts *opts, mrt_ref **out);

/* Ends asynchronous pass `pass` with `status`. Call in the reconciler's own
 * context (a continuation or timer of `self`). Returns 0, -EINVAL (self is
 * not a reconciler), -ECANCELED (that pass is not running any more: it timed
 * out). */
MRT_API int mrt_reconciler_pass_done(mrt_actor *self, uint64_t pass, int status);

/* Requests a pass now (coalesced, see above). Any thread. Returns 0, -EINVAL
 * (NULL) or the errors of mrt_tell (-ESRCH when it has stopped, -ENOTSUP
 * when `reconciler` is not one). */
MRT_API int mrt_reconciler_run_now(mrt_ref *reconciler);
/* The same, waiting for that pass's result (host thread; timeout_ns 0: 5 s).
 * Returns 0 with *out filled, or -ESHUTDOWN (stopping), -ETIMEDOUT, -ESRCH,
 * -EINVAL, -EDEADLK. */
MRT_API int mrt_reconciler_run_now_sync(mrt_ref *reconciler, mrt_reconcile_result *out,
                                        uint64_t timeout_ns);
/* Replaces the desired state (borrowed: it must stay valid while passes may
 * read it, so free an old one only after a pass that began later has ended,
 * e.g. after mrt_reconciler_run_now_sync) for the passes that begin after it
 * arrives. Any thread. Returns 0, -EINVAL (NULL
 * reconciler) or the errors of mrt_tell. */
MRT_API int mrt_reconciler_set_desired(mrt_ref *reconciler, const void *desired);
/* Finishes the current pass (if any), then stops; does not wait. Any
 * thread. Returns 0, -EINVAL (NULL) or the errors of mrt_tell. */
MRT_API int mrt_reconciler_stop(mrt_ref *reconciler);
/* Reads the counters into *out (caller's storage). Host thread (it uses
 * mrt_ask_sync, 5 s deadline). Returns 0, -EINVAL (NULL), or the errors of
 * mrt_ask_sync (-ESRCH, -ETIMEDOUT, -EDEADLK, ...). */
MRT_API int mrt_reconciler_get_stats(mrt_ref *reconciler, mrt_reconciler_stats *out);

typedef struct mrt_reconciler_desired {
  const void *desired;
} mrt_reconciler_desired;

MRT_MESSAGE_DECLARE(MRT_API, reconcile_now, mrt_none, mrt_reconcile_result);
MRT_MESSAGE_DECLARE(MRT_API, reconciler_set_desired, mrt_reconciler_desired, mrt_none);
MRT_MESSAGE_DECLARE(MRT_API, reconciler_stop, mrt_none, mrt_none);
MRT_MESSAGE_DECLARE(MRT_API, reconciler_stats, mrt_none, mrt_reconciler_stats);

#ifdef __cplusplus
}
#endif
#endif
