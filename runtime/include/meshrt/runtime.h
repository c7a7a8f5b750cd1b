/* SPDX-License-Identifier: MIT */
/* meshrt — the runtime: executors, clock, driving modes, shutdown.
 *
 * A runtime owns 1..N executors. Each executor is a libevent event_base plus a
 * run queue of ready actors, served by one thread. There are three ways to
 * drive a runtime:
 *   - mrt_runtime_start(): one thread per executor (the usual way);
 *   - mrt_runtime_attach(): executor 0 runs inside the host's own event_base,
 *     driven by the host's loop on the host's thread (other executors, if any,
 *     get their own threads);
 *   - by hand: neither started nor attached, the caller drives all executors
 *     with mrt_runtime_run_until_idle() / mrt_runtime_advance(). This is how
 *     tests run on the virtual clock.
 * Host threads that are not executors may spawn, tell and ask (sync).
 */
#ifndef MESHRT_RUNTIME_H
#define MESHRT_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <meshrt/export.h>
#include <meshrt/types.h>

struct event_base;

#ifdef __cplusplus
extern "C" {
#endif

/* Spinning: after handling work that another thread sent, an executor thread
 * polls its queues this long before it sleeps in epoll, and a host thread in
 * mrt_ask_sync polls for its reply up to ten times this long (to outlast the
 * executor's own wake-up) before it sleeps; a message that arrives meanwhile
 * costs no wake-up. Spins that do not pay are given up (adaptively). An idle
 * runtime never spins. */
#define MRT_SPIN_DEFAULT_NS 10000u /* 10 us */
#define MRT_SPIN_MAX_NS 1000000u   /* 1 ms */
#define MRT_SPIN_OFF UINT32_MAX    /* never spin (battery-powered hosts) */

typedef struct mrt_runtime_config {
  unsigned executors;        /* 0 means 1 */
  bool virtual_clock;        /* time moves only through mrt_runtime_advance() */
  uint64_t virtual_start_ns; /* initial virtual time */
  unsigned batch;            /* messages an actor handles per turn; 0 means 64 */
  uint32_t spin_ns;          /* 0: MRT_SPIN_DEFAULT_NS; up to MRT_SPIN_MAX_NS, or MRT_SPIN_OFF */
} mrt_runtime_config;

/* Creates a runtime (cfg may be NULL for defaults; it is read during the call
 * only). *out owns one host reference (drop it with mrt_runtime_unref); it is
 * NULL on failure. The runtime is hand-driven until mrt_runtime_start or
 * mrt_runtime_attach. Returns 0, -EINVAL (NULL out, more than 256 executors,
 * spin_ns above MRT_SPIN_MAX_NS and not MRT_SPIN_OFF), -ENOMEM, or a negative
 * errno from the event loop setup (eventfd). Any thread. */
MRT_API int mrt_runtime_new(const mrt_runtime_config *cfg, mrt_runtime **out);

/* Takes another reference. NULL-safe; returns rt. Any thread. */
MRT_API mrt_runtime *mrt_runtime_ref(mrt_runtime *rt);

/* Drops a reference. Dropping the last reference a host holds shuts the
 * runtime down first (see mrt_runtime_shutdown, same thread rules). NULL-safe;
 * returns NULL. Refs to actors may outlive the runtime safely (sends -ESRCH). */
MRT_API mrt_runtime *mrt_runtime_unref(mrt_runtime *rt);

/* Starts one thread per executor. Returns 0, -EINVAL (NULL, virtual clock,
 * or already started/attached), -ESHUTDOWN, or a pthread error (then the
 * threads it did start are stopped again: the runtime is hand-driven as
 * before and may be started again). Host thread (not an executor's). */
MRT_API int mrt_runtime_start(mrt_runtime *rt);

/* Runs executor 0 inside `base`, driven by the host's loop on the calling
 * thread (other executors get threads). `base` stays the host's: the runtime
 * adds its events to it and removes them at shutdown. The host must keep
 * running its loop while it expects actors on executor 0 to make progress,
 * and must call mrt_runtime_shutdown() from this same thread before freeing
 * `base`. Returns 0 or -EINVAL (NULL, virtual clock, already
 * started/attached), -ESHUTDOWN, -ENOMEM (the events could not be added), or
 * a pthread error starting the other executors' threads. */
MRT_API int mrt_runtime_attach(mrt_runtime *rt, struct event_base *base);

/* Drives a hand-driven runtime until no actor is ready and no I/O is pending
 * right now (due timers on the real clock fire too). One thread at a time
 * (the test's). Returns the number of actor turns and I/O callbacks run, or
 * -EINVAL if rt is NULL, started/attached, or it is called from inside an
 * actor. */
MRT_API int mrt_runtime_run_until_idle(mrt_runtime *rt);

/* Virtual clock only: moves time forward by delta_ns, firing due timers in
 * deadline order (ties in creation order) and running to quiescence after
 * each. Same thread rules as mrt_runtime_run_until_idle. Returns the number
 * of timers fired, or -EINVAL (NULL, real clock, started/attached, inside an
 * actor). */
MRT_API int mrt_runtime_advance(mrt_runtime *rt, uint64_t delta_ns);

/* Virtual clock only: advances to the next pending timer (if any) and fires
 * it. Same thread rules as mrt_runtime_run_until_idle. Returns 1 if a timer
 * fired, 0 if none is pending, -EINVAL (as mrt_runtime_advance). */
MRT_API int mrt_runtime_advance_to_next(mrt_runtime *rt);

/* Runtime clock in nanoseconds (CLOCK_MONOTONIC, or the virtual clock); 0 for
 * NULL. Any thread. */
MRT_API uint64_t mrt_runtime_now(const mrt_runtime *rt);

/* Shuts down: raises the shutdown signal (watchers get mrt_msg_shutdown),
 * then stops every actor in reverse spawn order — each handles what was
 * already in its mailbox first, then stops (on_stop runs, pending asks are
 * answered, drop hooks run) — then joins the executor threads. Out of memory
 * for an actor's STOP envelope, that actor stops after its current message
 * instead (the rest of its mailbox is discarded: drop hooks run, asks are
 * answered -ESRCH). Idempotent.
 * Returns 0, -EINVAL (NULL), or -EDEADLK when called from an executor thread
 * or an actor. Call from a host thread; for an attached runtime, from the
 * attaching thread. Memory is freed with the last reference, not here. */
MRT_API int mrt_runtime_shutdown(mrt_runtime *rt);

/* True once shutdown has begun (and for NULL). Any thread. */
MRT_API bool mrt_runtime_shutting_down(const mrt_runtime *rt);

/* Number of executors (fixed at creation); 0 for NULL. Any thread. */
MRT_API unsigned mrt_runtime_executors(const mrt_runtime *rt);

/* Runtime counters (racy snapshots; for metrics). */
typedef struct mrt_runtime_stats {
  uint64_t actors_live;
  uint64_t actors_spawned;
  uint64_t actors_stopped;
  uint64_t messages_handled;
  /* Scheduling across executors (see mrt_spawn_opts in <meshrt/actor.h>). */
  uint64_t moves;     /* actors taken by the executor of the actor that woke them */
  uint64_t donations; /* ready actors handed to an idle executor */
  uint64_t spins;     /* times an executor spun before sleeping */
  uint64_t spin_ns;   /* total time executors spent spinning */
  uint64_t wakeups;   /* times a sleeping executor had to be woken (eventfd) */
} mrt_runtime_stats;
/* Fills *out (caller's storage) with the counters: relaxed reads of counters
 * each executor writes, so a snapshot, not a consistent cut. Does nothing for
 * NULL arguments. Any thread; never blocks. */
MRT_API void mrt_runtime_get_stats(const mrt_runtime *rt, mrt_runtime_stats *out);

/* Mailbox depths now: messages waiting over all live actors (*total) and in
 * the fullest mailbox (*deepest); either may be NULL. Each executor counts its
 * own actors' mailboxes between turns (a walk, so this is for metrics, not hot
 * paths); the caller waits for that. Host threads (or the thread driving a
 * hand-driven/attached runtime); -EDEADLK from an executor thread, -EINVAL. */
MRT_API int mrt_runtime_mailbox_depth(mrt_runtime *rt, uint64_t *total, uint64_t *deepest);

#ifdef __cplusplus
}
#endif
#endif
