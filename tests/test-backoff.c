/* SPDX-License-Identifier: MIT */
/* Tests for the restart backoff tracker (runtime/supervise/backoff.c).
 *
 * The first thirteen tests mirror the seed tracker's own tests one for one;
 * the rest pin down behaviour the seed left implicit (run-length measurement,
 * window boundaries, saturation) and the argument checks. Time is a virtual
 * nanosecond clock starting at 0, which also proves the rolling window works
 * at the clock's origin.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include <meshrt/backoff.h>

#define MS(x) ((uint64_t)(x)*UINT64_C(1000000))
#define SEC(x) ((uint64_t)(x)*UINT64_C(1000000000))

static mrt_backoff make_tracker(const mrt_backoff_config *cfg) {
  mrt_backoff_config def = mrt_backoff_config_default();
  mrt_backoff bt;

  assert_int_equal(mrt_backoff_init(&bt, cfg != NULL ? cfg : &def), 0);
  return bt;
}

static mrt_backoff_status status_at(const mrt_backoff *bt, uint64_t now_ns) {
  mrt_backoff_status st = {.phase = (mrt_backoff_phase)-1, .until_ns = 1};

  assert_int_equal(mrt_backoff_state(bt, now_ns, &st), 0);
  return st;
}

static uint64_t window_of(const mrt_backoff *bt) {
  uint64_t ns = 0;

  assert_int_equal(mrt_backoff_next_window(bt, &ns), 0);
  return ns;
}

static void crash(mrt_backoff *bt, uint64_t now_ns) {
  assert_int_equal(mrt_backoff_observe_crash(bt, now_ns), 0);
}

static void start(mrt_backoff *bt, uint64_t now_ns) {
  assert_int_equal(mrt_backoff_observe_start(bt, now_ns), 0);
}

/* ---- Ports of the seed's tests ---------------------------------------- */

static void fresh_tracker_is_idle_and_admissible(void **state) {
  (void)state;
  mrt_backoff bt = make_tracker(NULL);
  mrt_backoff_status st = status_at(&bt, SEC(0));

  assert_int_equal(st.phase, MRT_BACKOFF_IDLE);
  assert_int_equal(st.until_ns, 0);
  assert_int_equal(mrt_backoff_release_expired(&bt, SEC(0)), 0);
}

static void first_crash_flips_to_backing_off_with_initial_window(void **state) {
  (void)state;
  mrt_backoff bt = make_tracker(NULL);

  crash(&bt, SEC(0));
  mrt_backoff_status st = status_at(&bt, SEC(0));
  assert_int_equal(st.phase, MRT_BACKOFF_BACKING_OFF);
  assert_int_equal(st.until_ns, MS(500));
}

static void consecutive_crashes_double_the_backoff_up_to_the_cap(void **state) {
  (void)state;
  mrt_backoff bt = make_tracker(NULL);

  /* Four crashes stay below the threshold of five. They apply 500 ms, 1 s,
     * 2 s and 4 s, so the last gate ends 4 s after the fourth crash. */
  for (uint64_t i = 0; i < 4; i++)
    crash(&bt, SEC(i));
  mrt_backoff_status st = status_at(&bt, SEC(3));
  assert_int_equal(st.phase, MRT_BACKOFF_BACKING_OFF);
  assert_int_equal(st.until_ns, SEC(3) + SEC(4));
}

static void fifth_crash_within_window_flips_to_crash_looping(void **state) {
  (void)state;
  mrt_backoff bt = make_tracker(NULL);

  for (uint64_t i = 0; i < 5; i++)
    crash(&bt, SEC(i));
  mrt_backoff_status st = status_at(&bt, SEC(4));
  assert_int_equal(st.phase, MRT_BACKOFF_CRASH_LOOPING);
  assert_int_equal(st.until_ns, SEC(4) + SEC(5 * 60));
}

static void crash_loop_count_slides_with_the_window(void **state) {
  (void)state;
  mrt_backoff bt = make_tracker(NULL);

  for (uint64_t i = 0; i < 4; i++)
    crash(&bt, SEC(i));
  /* The first four are out of the 60 s window by now. */
  crash(&bt, SEC(120));
  assert_int_equal(status_at(&bt, SEC(120)).phase, MRT_BACKOFF_BACKING_OFF);
}

static void observe_start_after_stable_run_resets_the_window(void **state) {
  (void)state;
  mrt_backoff bt = make_tracker(NULL);

  crash(&bt, SEC(0));
  start(&bt, SEC(1));
  assert_int_equal(window_of(&bt), SEC(1));
  /* The run begun at 1 s went unreported for 120 s: a stable run. */
  start(&bt, SEC(121));
  assert_int_equal(window_of(&bt), MS(500));
}

static void observe_start_before_stable_run_keeps_the_doubled_window(void **state) {
  (void)state;
  mrt_backoff bt = make_tracker(NULL);

  crash(&bt, SEC(0));
  assert_int_equal(window_of(&bt), SEC(1));
  start(&bt, SEC(1));
  start(&bt, SEC(5)); /* 4 s, well under the 60 s threshold */
  assert_int_equal(window_of(&bt), SEC(1));
}

static void release_expired_flips_backing_off_to_idle_after_until_elapses(void **state) {
  (void)state;
  mrt_backoff bt = make_tracker(NULL);

  crash(&bt, SEC(0));
  assert_int_equal(mrt_backoff_release_expired(&bt, SEC(0)), 0);
  assert_int_equal(status_at(&bt, SEC(0)).phase, MRT_BACKOFF_BACKING_OFF);

  assert_int_equal(mrt_backoff_release_expired(&bt, MS(600)), 1);
  /* Committed: the gate stays open even when asked about an earlier time,
     * and a second release has nothing left to do. */
  assert_int_equal(status_at(&bt, SEC(0)).phase, MRT_BACKOFF_IDLE);
  assert_int_equal(mrt_backoff_release_expired(&bt, MS(600)), 0);
}

static void admissibility_predicate_honors_until_boundary(void **state) {
  (void)state;
  mrt_backoff bt = make_tracker(NULL);

  crash(&bt, SEC(0));
  uint64_t until = status_at(&bt, SEC(0)).until_ns;
  assert_int_equal(until, MS(500));
  assert_int_equal(status_at(&bt, until - MS(1)).phase, MRT_BACKOFF_BACKING_OFF);
  assert_int_equal(status_at(&bt, until).phase, MRT_BACKOFF_IDLE);
}

static void backoff_caps_at_max(void **state) {
  (void)state;
  mrt_backoff bt = make_tracker(NULL);

  /* 200 s apart, so each crash is alone in its window and never trips. */
  for (uint64_t i = 0; i < 15; i++)
    crash(&bt, SEC(i * 200));
  assert_int_equal(status_at(&bt, SEC(14 * 200)).phase, MRT_BACKOFF_BACKING_OFF);
  assert_int_equal(window_of(&bt), SEC(60));
}

static void force_release_clears_backing_off_gate_and_resets_window(void **state) {
  (void)state;
  mrt_backoff bt = make_tracker(NULL);

  crash(&bt, SEC(0));
  crash(&bt, SEC(1));
  assert_int_equal(status_at(&bt, SEC(1)).phase, MRT_BACKOFF_BACKING_OFF);
  assert_true(window_of(&bt) > mrt_backoff_config_default().initial_ns);

  assert_int_equal(mrt_backoff_force_release(&bt), 1);
  assert_int_equal(status_at(&bt, SEC(1)).phase, MRT_BACKOFF_IDLE);
  assert_int_equal(window_of(&bt), mrt_backoff_config_default().initial_ns);
}

static void force_release_returns_false_when_already_idle(void **state) {
  (void)state;
  mrt_backoff bt = make_tracker(NULL);

  assert_int_equal(mrt_backoff_force_release(&bt), 0);
  assert_int_equal(status_at(&bt, SEC(0)).phase, MRT_BACKOFF_IDLE);
}

static void force_release_clears_crash_looping_gate(void **state) {
  (void)state;
  mrt_backoff_config cfg = mrt_backoff_config_default();
  cfg.crash_loop_threshold = 3;
  cfg.crash_loop_window_ns = SEC(60);
  mrt_backoff bt = make_tracker(&cfg);

  crash(&bt, SEC(0));
  crash(&bt, SEC(1));
  crash(&bt, SEC(2));
  assert_int_equal(status_at(&bt, SEC(2)).phase, MRT_BACKOFF_CRASH_LOOPING);
  assert_int_equal(mrt_backoff_force_release(&bt), 1);
  assert_int_equal(status_at(&bt, SEC(2)).phase, MRT_BACKOFF_IDLE);
}

/* ---- Behaviour beyond the seed's tests ---------------------------------- */

/* A crash ending a long run is judged as the first crash of a fresh slate. */
static void crash_after_stable_run_gets_initial_backoff(void **state) {
  (void)state;
  mrt_backoff bt = make_tracker(NULL);

  crash(&bt, SEC(0));
  crash(&bt, SEC(1));
  assert_int_equal(window_of(&bt), SEC(2));
  start(&bt, SEC(3));
  crash(&bt, SEC(100)); /* ran 97 s */
  mrt_backoff_status st = status_at(&bt, SEC(100));
  assert_int_equal(st.phase, MRT_BACKOFF_BACKING_OFF);
  assert_int_equal(st.until_ns, SEC(100) + MS(500));
  assert_int_equal(window_of(&bt), SEC(1));
}

/* Time spent down (backing off, stopped) is not running time: a crash closes
 * the run, so a later start does not mistake the gap for a stable run. */
static void downtime_is_not_counted_as_a_stable_run(void **state) {
  (void)state;
  mrt_backoff bt = make_tracker(NULL);

  crash(&bt, SEC(0));
  start(&bt, SEC(1));
  crash(&bt, SEC(2)); /* ran 1 s */
  assert_int_equal(window_of(&bt), SEC(2));
  start(&bt, SEC(100));
  assert_int_equal(window_of(&bt), SEC(2));
}

static void clean_exit_resets_only_after_a_stable_run(void **state) {
  (void)state;
  mrt_backoff bt = make_tracker(NULL);

  crash(&bt, SEC(0));
  start(&bt, SEC(1));
  assert_int_equal(mrt_backoff_observe_clean_exit(&bt, SEC(30)), 0);
  assert_int_equal(window_of(&bt), SEC(1));
  assert_int_equal(status_at(&bt, SEC(30)).phase, MRT_BACKOFF_IDLE);

  start(&bt, SEC(40));
  assert_int_equal(mrt_backoff_observe_clean_exit(&bt, SEC(100)), 0);
  assert_int_equal(window_of(&bt), MS(500));
}

/* A start means a restart was admitted (possibly forced while gated), and a
 * clean exit ends the episode: either way no gate may linger. */
static void start_and_clean_exit_open_the_gate(void **state) {
  (void)state;
  mrt_backoff bt = make_tracker(NULL);

  crash(&bt, SEC(0));
  start(&bt, MS(100));
  assert_int_equal(status_at(&bt, MS(100)).phase, MRT_BACKOFF_IDLE);
  assert_int_equal(mrt_backoff_release_expired(&bt, SEC(1)), 0);

  crash(&bt, SEC(1));
  assert_int_equal(mrt_backoff_observe_clean_exit(&bt, SEC(1) + MS(100)), 0);
  assert_int_equal(status_at(&bt, SEC(1) + MS(100)).phase, MRT_BACKOFF_IDLE);
  assert_int_equal(mrt_backoff_force_release(&bt), 0);
}

/* A crash exactly one window after the oldest still counts against it. */
static void crash_loop_window_includes_its_boundary(void **state) {
  (void)state;
  mrt_backoff inside = make_tracker(NULL);
  mrt_backoff outside = make_tracker(NULL);

  for (uint64_t i = 0; i < 4; i++) {
    crash(&inside, SEC(i));
    crash(&outside, SEC(i));
  }
  crash(&inside, SEC(60));
  crash(&outside, SEC(60) + 1);
  assert_int_equal(status_at(&inside, SEC(60)).phase, MRT_BACKOFF_CRASH_LOOPING);
  assert_int_equal(status_at(&outside, SEC(60) + 1).phase, MRT_BACKOFF_BACKING_OFF);
}

/* After the cooldown the count starts afresh even if the cooldown is shorter
 * than the window and the old crashes would still be inside it. */
static void crash_loop_restarts_count_and_backoff_after_cooldown(void **state) {
  (void)state;
  mrt_backoff_config cfg = mrt_backoff_config_default();
  cfg.crash_loop_threshold = 3;
  cfg.crash_loop_cooldown_ns = SEC(10);
  mrt_backoff bt = make_tracker(&cfg);

  crash(&bt, SEC(0));
  crash(&bt, SEC(1));
  crash(&bt, SEC(2));
  assert_int_equal(status_at(&bt, SEC(11)).phase, MRT_BACKOFF_CRASH_LOOPING);
  assert_int_equal(window_of(&bt), MS(500));
  assert_int_equal(mrt_backoff_release_expired(&bt, SEC(12)), 1);

  crash(&bt, SEC(13));
  mrt_backoff_status st = status_at(&bt, SEC(13));
  assert_int_equal(st.phase, MRT_BACKOFF_BACKING_OFF);
  assert_int_equal(st.until_ns, SEC(13) + MS(500));
}

/* The largest threshold the fixed history allows trips on exactly that many. */
static void threshold_at_history_capacity_trips_exactly(void **state) {
  (void)state;
  mrt_backoff_config cfg = mrt_backoff_config_default();
  cfg.crash_loop_threshold = MRT_BACKOFF_HISTORY_MAX;
  mrt_backoff bt = make_tracker(&cfg);

  for (uint64_t i = 0; i + 1 < MRT_BACKOFF_HISTORY_MAX; i++)
    crash(&bt, SEC(i));
  assert_int_equal(status_at(&bt, SEC(MRT_BACKOFF_HISTORY_MAX - 2)).phase, MRT_BACKOFF_BACKING_OFF);
  crash(&bt, SEC(MRT_BACKOFF_HISTORY_MAX - 1));
  assert_int_equal(status_at(&bt, SEC(MRT_BACKOFF_HISTORY_MAX - 1)).phase,
                   MRT_BACKOFF_CRASH_LOOPING);
}

static void fractional_factor_grows_and_caps(void **state) {
  (void)state;
  mrt_backoff_config cfg = mrt_backoff_config_default();
  cfg.initial_ns = SEC(1);
  cfg.factor = 1.5;
  cfg.max_ns = SEC(3);
  mrt_backoff bt = make_tracker(&cfg);
  const uint64_t expect[] = {MS(1500), MS(2250), SEC(3), SEC(3)};

  for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
    crash(&bt, SEC(i * 100));
    assert_int_equal(window_of(&bt), expect[i]);
  }
}

/* Deadlines near the end of the clock saturate instead of wrapping into the
 * past, which would open the gate at once. */
static void deadlines_saturate_at_end_of_clock(void **state) {
  (void)state;
  mrt_backoff bt = make_tracker(NULL);

  crash(&bt, UINT64_MAX - 1);
  mrt_backoff_status st = status_at(&bt, UINT64_MAX - 1);
  assert_int_equal(st.phase, MRT_BACKOFF_BACKING_OFF);
  assert_true(st.until_ns == UINT64_MAX);
}

/* ---- Argument checks ---------------------------------------------------- */

static void init_rejects_invalid_configs(void **state) {
  (void)state;
  const mrt_backoff_config def = mrt_backoff_config_default();
  mrt_backoff_config bad[11];
  size_t n = 0;
  mrt_backoff bt, pristine;

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    bad[i] = def;
  bad[n++].initial_ns = 0;
  bad[n++].max_ns = 0;
  bad[n++].max_ns = def.initial_ns - 1;
  bad[n++].factor = 0.5;
  bad[n++].factor = NAN;
  bad[n++].factor = INFINITY;
  bad[n++].crash_loop_threshold = 0;
  bad[n++].crash_loop_threshold = MRT_BACKOFF_HISTORY_MAX + 1;
  bad[n++].crash_loop_window_ns = 0;
  bad[n++].crash_loop_cooldown_ns = 0;
  bad[n++].stable_run_threshold_ns = 0;
  assert_int_equal(n, sizeof bad / sizeof bad[0]);

  memset(&pristine, 0xa5, sizeof pristine);
  for (size_t i = 0; i < n; i++) {
    bt = pristine;
    assert_int_equal(mrt_backoff_init(&bt, &bad[i]), -EINVAL);
    assert_memory_equal(&bt, &pristine, sizeof bt);
  }
  assert_int_equal(mrt_backoff_init(NULL, &def), -EINVAL);
  assert_int_equal(mrt_backoff_init(&bt, NULL), -EINVAL);

  /* Edge values that are valid: constant backoff, threshold of one. */
  mrt_backoff_config edge = def;
  edge.factor = 1.0;
  edge.max_ns = edge.initial_ns;
  edge.crash_loop_threshold = 1;
  assert_int_equal(mrt_backoff_init(&bt, &edge), 0);
  crash(&bt, SEC(0));
  assert_int_equal(status_at(&bt, SEC(0)).phase, MRT_BACKOFF_CRASH_LOOPING);
}

static void calls_reject_null_and_uninitialised_trackers(void **state) {
  (void)state;
  mrt_backoff zeroed;
  mrt_backoff *trackers[] = {NULL, &zeroed};
  mrt_backoff_status st;
  uint64_t ns;

  memset(&zeroed, 0, sizeof zeroed);
  for (size_t i = 0; i < sizeof trackers / sizeof trackers[0]; i++) {
    mrt_backoff *bt = trackers[i];
    assert_int_equal(mrt_backoff_observe_start(bt, 0), -EINVAL);
    assert_int_equal(mrt_backoff_observe_clean_exit(bt, 0), -EINVAL);
    assert_int_equal(mrt_backoff_observe_crash(bt, 0), -EINVAL);
    assert_int_equal(mrt_backoff_state(bt, 0, &st), -EINVAL);
    assert_int_equal(mrt_backoff_release_expired(bt, 0), -EINVAL);
    assert_int_equal(mrt_backoff_force_release(bt), -EINVAL);
    assert_int_equal(mrt_backoff_next_window(bt, &ns), -EINVAL);
  }

  mrt_backoff bt = make_tracker(NULL);
  assert_int_equal(mrt_backoff_state(&bt, 0, NULL), -EINVAL);
  assert_int_equal(mrt_backoff_next_window(&bt, NULL), -EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fresh_tracker_is_idle_and_admissible),
      cmocka_unit_test(first_crash_flips_to_backing_off_with_initial_window),
      cmocka_unit_test(consecutive_crashes_double_the_backoff_up_to_the_cap),
      cmocka_unit_test(fifth_crash_within_window_flips_to_crash_looping),
      cmocka_unit_test(crash_loop_count_slides_with_the_window),
      cmocka_unit_test(observe_start_after_stable_run_resets_the_window),
      cmocka_unit_test(observe_start_before_stable_run_keeps_the_doubled_window),
      cmocka_unit_test(release_expired_flips_backing_off_to_idle_after_until_elapses),
      cmocka_unit_test(admissibility_predicate_honors_until_boundary),
      cmocka_unit_test(backoff_caps_at_max),
      cmocka_unit_test(force_release_clears_backing_off_gate_and_resets_window),
      cmocka_unit_test(force_release_returns_false_when_already_idle),
      cmocka_unit_test(force_release_clears_crash_looping_gate),
      cmocka_unit_test(crash_after_stable_run_gets_initial_backoff),
      cmocka_unit_test(downtime_is_not_counted_as_a_stable_run),
      cmocka_unit_test(clean_exit_resets_only_after_a_stable_run),
      cmocka_unit_test(start_and_clean_exit_open_the_gate),
      cmocka_unit_test(crash_loop_window_includes_its_boundary),
      cmocka_unit_test(crash_loop_restarts_count_and_backoff_after_cooldown),
      cmocka_unit_test(threshold_at_history_capacity_trips_exactly),
      cmocka_unit_test(fractional_factor_grows_and_caps),
      cmocka_unit_test(deadlines_saturate_at_end_of_clock),
      cmocka_unit_test(init_rejects_invalid_configs),
      cmocka_unit_test(calls_reject_null_and_uninitialised_trackers),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
