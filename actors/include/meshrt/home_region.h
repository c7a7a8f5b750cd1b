/* SPDX-License-Identifier: MIT */
/* meshrt — home (preferred) DERP region selection.
 *
 * After each latency measurement round, DerpLatencyMeasurer asks this selector
 * which region should be home. Switching home makes every peer re-learn how to
 * reach the node, so the selector resists flapping:
 *
 *   - it keeps a history of the rounds of the last `window_ns` (5 min); a region's
 *     score is its best (lowest) latency in that window, this round included;
 *   - candidates are the regions measured in this round; the best is the lowest
 *     score, ties going to the lower region id;
 *   - the best region is taken when there is no home, when the home is missing
 *     from this round, or when the home is itself best (ties included);
 *   - otherwise the old home is KEPT if `old - best < min_gain_ns` (10 ms) or
 *     `best > old / keep_ratio_den * keep_ratio_num` (old/3*2), where old and best
 *     are scores. The arithmetic is unsigned integer nanoseconds, dividing first
 *     (as Go's time.Duration does): for old = 35 ms the bound is 23 333 332 ns,
 *     not 23 333 333. With whole-millisecond inputs divisible by 3 this equals the
 *     millisecond arithmetic (36 ms -> 24 ms, and best = 24 ms switches);
 *   - a round with no results keeps the old home until more than
 *     `no_data_keep_ns` (120 s) have passed since the last round with results;
 *     after that there is no home (0) until results arrive again.
 *
 * Region ids are positive; 0 means "no home". Time is nanoseconds on one
 * monotonic clock (the runtime clock), never going backwards across calls.
 *
 * The selector is pure: it reads no clock, does no I/O and does not log. It
 * allocates its history (at most cfg.max_samples entries, oldest dropped first);
 * mrt_home_region_fini() frees it.
 *
 * Threading: not thread-safe. A selector belongs to one actor and is touched only
 * from that actor's handlers, which never run concurrently.
 */
#ifndef MESHRT_HOME_REGION_H
#define MESHRT_HOME_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <meshrt/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Upper bound accepted for cfg.max_samples (keeps size arithmetic trivially
 * overflow-free). */
#define MRT_HOME_REGION_MAX_SAMPLES_LIMIT (1u << 22)

/* One region's latency in one round. */
typedef struct mrt_region_latency {
  int region_id; /* > 0 */
  uint64_t latency_ns;
} mrt_region_latency;

/* Tunables. Start from mrt_home_region_config_default() and change single
 * fields, so fields added later keep sensible values. */
typedef struct mrt_home_region_config {
  uint64_t window_ns;       /* history window for scores, > 0; 5 min */
  uint64_t min_gain_ns;     /* keep the home unless best beats it by at least this; 10 ms */
  uint32_t keep_ratio_num;  /* keep the home if best > old / den * num; */
  uint32_t keep_ratio_den;  /*   1 <= num <= den; 2 and 3 */
  uint64_t no_data_keep_ns; /* keep the home this long through empty rounds; 120 s */
  size_t max_samples;       /* history bound (region results), 1..LIMIT; 16384 */
} mrt_home_region_config;

struct mrt_home_region_sample; /* private to home_region.c */

/* The selector. Public only so an actor can embed it in its state; the fields
 * belong to home_region.c. A zero-filled selector is not initialised and every
 * function rejects it with -EINVAL. */
typedef struct mrt_home_region {
  uint32_t magic;                         /* set by init, cleared by fini */
  mrt_home_region_config cfg;             /* validated copy */
  struct mrt_home_region_sample *samples; /* history, oldest first, from start */
  size_t start, len, cap;
  int home;               /* 0 = none */
  bool seen_round;        /* last_round_ns is meaningful */
  uint64_t last_round_ns; /* latest now_ns accepted */
  uint64_t last_data_ns;  /* latest round that had results */
} mrt_home_region;

/* The documented defaults (see mrt_home_region_config). Any thread. */
MRT_API mrt_home_region_config mrt_home_region_config_default(void);

/* Initialise *sel (caller-owned storage) with a copy of *cfg, or the defaults
 * when cfg is NULL; no home, empty history. Returns 0, or -EINVAL if sel is NULL
 * or the config is invalid (then *sel is untouched). Must be paired with
 * mrt_home_region_fini(). */
MRT_API int mrt_home_region_init(mrt_home_region *sel, const mrt_home_region_config *cfg);

/* Free the history and zero *sel (it must be initialised again before reuse).
 * NULL-safe; a zero-filled selector is fine. */
MRT_API void mrt_home_region_fini(mrt_home_region *sel);

/* Record one measurement round taken at now_ns and select the home region.
 * results[0..n) (caller-owned, only read during the call) must have distinct,
 * positive region ids; n == 0 is a round without data (results may then be NULL).
 * On success stores the home region (0 = none) in *home_out and whether it
 * differs from the previous home in *changed_out (either pointer may be NULL) and
 * returns 0. On failure the selector is unchanged and the return is -EINVAL (bad
 * argument, duplicate or non-positive id, now_ns before the previous round),
 * -E2BIG (n > cfg.max_samples) or -ENOMEM. */
MRT_API int mrt_home_region_observe(mrt_home_region *sel, uint64_t now_ns,
                                    const mrt_region_latency *results, size_t n, int *home_out,
                                    bool *changed_out);

/* The current home region (0 = none), or -EINVAL. */
MRT_API int mrt_home_region_home(const mrt_home_region *sel);

/* A region's score as of now_ns: its best latency among recorded rounds no older
 * than window_ns, in *score_ns. Returns 0, -ENOENT if it has none, or -EINVAL.
 * For metrics and tests; does not modify the selector. */
MRT_API int mrt_home_region_score(const mrt_home_region *sel, uint64_t now_ns, int region_id,
                                  uint64_t *score_ns);

#ifdef __cplusplus
}
#endif
#endif
