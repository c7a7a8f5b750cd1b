/* SPDX-License-Identifier: MIT */
/* meshrt — restart backoff tracker with crash-loop gate.
 *
 * One tracker per supervised child decides when that child may be restarted.
 * Each crash opens a backoff gate that grows geometrically (500 ms, 1 s, 2 s,
 * ... capped at 60 s by default); too many crashes inside a rolling window trip
 * a crash-loop gate with a much longer cooldown (5 crashes in 60 s -> 5 min).
 * A run that lasts long enough earns a fresh slate.
 *
 * The tracker is pure: it never reads a clock, allocates or logs. The caller
 * passes "now" as nanoseconds on a monotonic clock (the runtime clock, or a
 * virtual clock in tests); every instant in this API is on that same clock.
 *
 * Threading: a tracker is not thread-safe. It is owned by one supervisor actor
 * and is only touched from that actor's handlers, which never run concurrently.
 */
#ifndef MESHRT_BACKOFF_H
#define MESHRT_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

#include <meshrt/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Most crashes a tracker can remember. The crash-loop threshold may not exceed
 * it: deciding "threshold crashes inside the window" never needs more than the
 * last threshold - 1 crashes, so the history is a fixed array, not a list. */
#define MRT_BACKOFF_HISTORY_MAX 16u

/* Tunables. mrt_backoff_config_default() gives the documented defaults; start
 * from it and change single fields so new fields keep sensible values. */
typedef struct mrt_backoff_config {
  uint64_t initial_ns;              /* gate after the first crash; 500 ms */
  double factor;                    /* growth per further crash, >= 1; 2.0 */
  uint64_t max_ns;                  /* cap on the gate, >= initial_ns; 60 s */
  uint32_t crash_loop_threshold;    /* crashes in the window that trip the
                                         crash-loop gate, 1..MRT_BACKOFF_HISTORY_MAX; 5 */
  uint64_t crash_loop_window_ns;    /* rolling window for that count; 60 s */
  uint64_t crash_loop_cooldown_ns;  /* how long the crash-loop gate holds; 5 min */
  uint64_t stable_run_threshold_ns; /* a run at least this long resets the
                                         backoff and the crash count; 60 s */
} mrt_backoff_config;

typedef enum mrt_backoff_phase {
  MRT_BACKOFF_IDLE = 0,      /* no gate: a restart is admissible now */
  MRT_BACKOFF_BACKING_OFF,   /* ordinary backoff gate until until_ns */
  MRT_BACKOFF_CRASH_LOOPING, /* crash-loop gate until until_ns */
} mrt_backoff_phase;

/* A snapshot of the gate. until_ns is the earliest instant a restart may be
 * admitted (the gate is open at until_ns itself); it is 0 when phase is IDLE. */
typedef struct mrt_backoff_status {
  mrt_backoff_phase phase;
  uint64_t until_ns;
} mrt_backoff_status;

/* The tracker. Its definition is public only so that a supervisor can embed it
 * by value in each child record; the fields are owned by backoff.c and must be
 * read and changed through the functions below. A zero-filled tracker is not
 * initialised and every function rejects it with -EINVAL. */
typedef struct mrt_backoff {
  mrt_backoff_config cfg;                    /* validated copy of the configuration */
  uint64_t next_ns;                          /* gate length the next ordinary crash applies */
  uint64_t started_ns;                       /* start of the current run, if run_open */
  bool run_open;                             /* a start was observed and its end not yet */
  mrt_backoff_phase phase;                   /* gate as last set; may have expired since */
  uint64_t until_ns;                         /* gate deadline, 0 when IDLE */
  uint32_t crash_count;                      /* live entries in crashes[], < threshold */
  uint64_t crashes[MRT_BACKOFF_HISTORY_MAX]; /* recent crashes, oldest first */
} mrt_backoff;

/* The documented defaults: 500 ms doubling to 60 s; 5 crashes in 60 s trip a
 * 5-minute crash-loop gate; a 60 s run resets. Any thread. */
MRT_API mrt_backoff_config mrt_backoff_config_default(void);

/* Initialise *bt (caller-owned storage; nothing to free) from a copy of *cfg,
 * in the IDLE phase. Returns 0, or -EINVAL if an argument is NULL or the config
 * is invalid: a zero duration or threshold, max_ns < initial_ns, a factor below
 * 1 or not finite, or a threshold above MRT_BACKOFF_HISTORY_MAX. On failure *bt
 * is left untouched. */
MRT_API int mrt_backoff_init(mrt_backoff *bt, const mrt_backoff_config *cfg);

/* The child started at now_ns. Opens the gate (IDLE): a start means a restart
 * was admitted, by deadline or by force. If the previous run was never reported
 * as ended and has lasted at least stable_run_threshold_ns, it counts as a
 * stable run and resets the backoff and the crash count. Returns 0 or -EINVAL. */
MRT_API int mrt_backoff_observe_start(mrt_backoff *bt, uint64_t now_ns);

/* The child exited cleanly at now_ns. Ends the current run (resetting as above
 * if it was stable) and opens the gate. Returns 0 or -EINVAL. */
MRT_API int mrt_backoff_observe_clean_exit(mrt_backoff *bt, uint64_t now_ns);

/* The child crashed at now_ns. Ends the current run (a stable run resets first,
 * so this crash then counts as the first one), records the crash and closes the
 * gate: CRASH_LOOPING for crash_loop_cooldown_ns if this makes
 * crash_loop_threshold crashes within crash_loop_window_ns, else BACKING_OFF for
 * the current backoff, which then grows by factor up to max_ns. Tripping the
 * crash-loop gate resets the backoff and the crash count, so the child starts
 * afresh after the cooldown. Returns 0 or -EINVAL. */
MRT_API int mrt_backoff_observe_crash(mrt_backoff *bt, uint64_t now_ns);

/* The gate as of now_ns, into *out: a gate whose until_ns <= now_ns reads as
 * IDLE even before mrt_backoff_release_expired() commits it. Does not modify the
 * tracker. A restart is admissible exactly when out->phase is IDLE.
 * Returns 0 or -EINVAL. */
MRT_API int mrt_backoff_state(const mrt_backoff *bt, uint64_t now_ns, mrt_backoff_status *out);

/* Commit an expired gate (called from the supervisor's periodic tick, so it can
 * report the release once). Returns 1 if a gate was set and its deadline is
 * <= now_ns (the tracker is now IDLE), 0 if nothing changed, or -EINVAL. */
MRT_API int mrt_backoff_release_expired(mrt_backoff *bt, uint64_t now_ns);

/* Operator override: open the gate now and forget the crash history and the
 * grown backoff, so the next crash gets the initial backoff rather than
 * re-entering a long cooldown. Returns 1 if a gate was set (even one already
 * past its deadline but not yet released), 0 if the tracker was IDLE, or
 * -EINVAL. */
MRT_API int mrt_backoff_force_release(mrt_backoff *bt);

/* The gate length the next ordinary (non-crash-loop) crash would apply, into
 * *out_ns; for metrics and tests. Returns 0 or -EINVAL. */
MRT_API int mrt_backoff_next_window(const mrt_backoff *bt, uint64_t *out_ns);

#ifdef __cplusplus
}
#endif

#endif
