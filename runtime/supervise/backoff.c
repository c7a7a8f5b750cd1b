/* SPDX-License-Identifier: MIT */
/* Restart backoff tracker with crash-loop gate.
 *
 * A supervisor must not restart a crashing child in a tight loop: every crash
 * closes a gate whose length grows geometrically, and a burst of crashes inside
 * a rolling window trips a much longer crash-loop gate, so a hopeless child
 * costs little while a child with a transient fault comes back quickly. A run
 * that lasts long enough proves the child healthy again and wipes the slate.
 * The tracker is a pure state machine driven by caller-supplied monotonic time,
 * so the supervisor can run it on the runtime clock and tests on a virtual one.
 *
 * Threading: not thread-safe and needs no locking; each tracker is owned by one
 * supervisor actor and only touched from its handlers.
 */
#include <meshrt/backoff.h>

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#define MS_NS UINT64_C(1000000)
#define S_NS (UINT64_C(1000) * MS_NS)

/* Deadlines saturate rather than wrap: a gate ending "at the end of time" is
 * the safe reading of an absurd cooldown, whereas a wrapped deadline would lie
 * in the past and open the gate at once. */
static uint64_t add_sat(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Differences saturate at 0 so that a clock near its origin (a virtual clock
 * starts at 0) or a caller passing an earlier instant cannot wrap around into
 * a huge duration. */
static uint64_t sub_sat(uint64_t a, uint64_t b) {
  return a > b ? a - b : 0;
}

static bool config_valid(const mrt_backoff_config *cfg) {
  /* "!(factor >= 1.0)" also rejects NaN, which compares false to anything. */
  if (!(cfg->factor >= 1.0) || !isfinite(cfg->factor))
    return false;
  return cfg->initial_ns > 0 && cfg->max_ns >= cfg->initial_ns && cfg->crash_loop_threshold > 0 &&
         cfg->crash_loop_threshold <= MRT_BACKOFF_HISTORY_MAX && cfg->crash_loop_window_ns > 0 &&
         cfg->crash_loop_cooldown_ns > 0 && cfg->stable_run_threshold_ns > 0;
}

/* init stores only valid configs, whose threshold is never 0, so a zero
 * threshold identifies a tracker that was zero-filled but never initialised. */
static bool tracker_ready(const mrt_backoff *bt) {
  return bt != NULL && bt->cfg.crash_loop_threshold != 0;
}

static void reset_slate(mrt_backoff *bt) {
  bt->next_ns = bt->cfg.initial_ns;
  bt->crash_count = 0;
}

/* Close the current run at now. A stable run resets the slate; either way the
 * run is over, so time spent stopped or backing off is never counted as
 * healthy running time by a later end-of-run. */
static void end_run(mrt_backoff *bt, uint64_t now_ns) {
  if (bt->run_open && sub_sat(now_ns, bt->started_ns) >= bt->cfg.stable_run_threshold_ns)
    reset_slate(bt);
  bt->run_open = false;
}

static void open_gate(mrt_backoff *bt) {
  bt->phase = MRT_BACKOFF_IDLE;
  bt->until_ns = 0;
}

/* Drop crashes older than the rolling window. The history is in time order,
 * so the expired ones form a prefix. A crash exactly window_ns old still
 * counts: the window is closed at both ends. */
static void expire_crashes(mrt_backoff *bt, uint64_t now_ns) {
  uint64_t cutoff = sub_sat(now_ns, bt->cfg.crash_loop_window_ns);
  uint32_t n = 0;

  while (n < bt->crash_count && bt->crashes[n] < cutoff)
    n++;
  if (n == 0)
    return;
  bt->crash_count -= n;
  memmove(bt->crashes, bt->crashes + n, bt->crash_count * sizeof bt->crashes[0]);
}

/* Grow the backoff by factor, capped at max. The product is formed in double,
 * which is exact for the default doubling; clamping to at least the current
 * value keeps the sequence monotonic even where rounding of a huge value
 * (beyond 2^53 ns, about 104 days) could nudge it down. */
static uint64_t grow_window(const mrt_backoff_config *cfg, uint64_t cur_ns) {
  double grown = (double)cur_ns * cfg->factor;
  uint64_t next;

  if (grown >= (double)cfg->max_ns)
    return cfg->max_ns;
  next = (uint64_t)grown;
  return next < cur_ns ? cur_ns : next;
}

mrt_backoff_config mrt_backoff_config_default(void) {
  mrt_backoff_config cfg = {
      .initial_ns = 500 * MS_NS,
      .factor = 2.0,
      .max_ns = 60 * S_NS,
      .crash_loop_threshold = 5,
      .crash_loop_window_ns = 60 * S_NS,
      .crash_loop_cooldown_ns = 5 * 60 * S_NS,
      /* Equal to the crash-loop window: surviving one whole window is what
         * earns a fresh slate. */
      .stable_run_threshold_ns = 60 * S_NS,
  };
  return cfg;
}

int mrt_backoff_init(mrt_backoff *bt, const mrt_backoff_config *cfg) {
  if (bt == NULL || cfg == NULL || !config_valid(cfg))
    return -EINVAL;
  memset(bt, 0, sizeof *bt);
  bt->cfg = *cfg;
  reset_slate(bt);
  open_gate(bt);
  return 0;
}

int mrt_backoff_observe_start(mrt_backoff *bt, uint64_t now_ns) {
  if (!tracker_ready(bt))
    return -EINVAL;
  /* A start with the previous run still open means its end went unreported;
     * judge that run by how long it lasted up to this start. */
  end_run(bt, now_ns);
  bt->run_open = true;
  bt->started_ns = now_ns;
  open_gate(bt);
  return 0;
}

int mrt_backoff_observe_clean_exit(mrt_backoff *bt, uint64_t now_ns) {
  if (!tracker_ready(bt))
    return -EINVAL;
  end_run(bt, now_ns);
  open_gate(bt);
  return 0;
}

int mrt_backoff_observe_crash(mrt_backoff *bt, uint64_t now_ns) {
  if (!tracker_ready(bt))
    return -EINVAL;
  end_run(bt, now_ns);
  expire_crashes(bt, now_ns);
  /* Tripping clears the history, so fewer than threshold crashes are ever
     * kept between calls and there is always room for this one. */
  assert(bt->crash_count < bt->cfg.crash_loop_threshold);
  bt->crashes[bt->crash_count++] = now_ns;

  /* The crash-loop gate wins over ordinary backoff: a child that hit the
     * threshold deserves the long cooldown. Afterwards it starts from scratch
     * (initial backoff, empty count) instead of resuming a maxed-out backoff
     * or re-tripping on its first crash when the cooldown is shorter than the
     * window. */
  if (bt->crash_count >= bt->cfg.crash_loop_threshold) {
    bt->phase = MRT_BACKOFF_CRASH_LOOPING;
    bt->until_ns = add_sat(now_ns, bt->cfg.crash_loop_cooldown_ns);
    reset_slate(bt);
    return 0;
  }
  bt->phase = MRT_BACKOFF_BACKING_OFF;
  bt->until_ns = add_sat(now_ns, bt->next_ns);
  bt->next_ns = grow_window(&bt->cfg, bt->next_ns);
  return 0;
}

int mrt_backoff_state(const mrt_backoff *bt, uint64_t now_ns, mrt_backoff_status *out) {
  if (!tracker_ready(bt) || out == NULL)
    return -EINVAL;
  if (bt->phase == MRT_BACKOFF_IDLE || bt->until_ns <= now_ns) {
    out->phase = MRT_BACKOFF_IDLE;
    out->until_ns = 0;
  } else {
    out->phase = bt->phase;
    out->until_ns = bt->until_ns;
  }
  return 0;
}

int mrt_backoff_release_expired(mrt_backoff *bt, uint64_t now_ns) {
  if (!tracker_ready(bt))
    return -EINVAL;
  if (bt->phase == MRT_BACKOFF_IDLE || bt->until_ns > now_ns)
    return 0;
  open_gate(bt);
  return 1;
}

int mrt_backoff_force_release(mrt_backoff *bt) {
  bool was_gated;

  if (!tracker_ready(bt))
    return -EINVAL;
  was_gated = bt->phase != MRT_BACKOFF_IDLE;
  open_gate(bt);
  reset_slate(bt);
  return was_gated ? 1 : 0;
}

int mrt_backoff_next_window(const mrt_backoff *bt, uint64_t *out_ns) {
  if (!tracker_ready(bt) || out_ns == NULL)
    return -EINVAL;
  *out_ns = bt->next_ns;
  return 0;
}
