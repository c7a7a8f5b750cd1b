/* SPDX-License-Identifier: MIT */
/* Tests for home-region selection (actors/home_region.c).
 *
 * The original design's known cases come first, each as two rounds: the first
 * makes region 1 home (region 2 far behind), the second offers region 2 at the
 * "best" latency while region 1 stays at "old". Then the integer boundaries,
 * history-based scores, window expiry, empty rounds (the 120 s rule), a home
 * that goes missing, ties, the history bound, and argument checks. Time is a
 * virtual nanosecond clock starting at 0.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <meshrt/home_region.h>

#define MS(x) ((uint64_t)(x)*UINT64_C(1000000))
#define SEC(x) ((uint64_t)(x)*UINT64_C(1000000000))

/* One round: ROUND(&sel, now, {id, latency}, ...) -> the new home. */
#define ROUND(sel, now, ...)                                                                       \
  round_of((sel), (now), (const mrt_region_latency[]){__VA_ARGS__},                                \
           sizeof((const mrt_region_latency[]){__VA_ARGS__}) / sizeof(mrt_region_latency), NULL)

static int round_of(mrt_home_region *sel, uint64_t now, const mrt_region_latency *r, size_t n,
                    bool *changed) {
  int home = -1;
  bool ch = false;

  assert_int_equal(mrt_home_region_observe(sel, now, r, n, &home, &ch), 0);
  assert_int_equal(home, mrt_home_region_home(sel));
  if (changed != NULL)
    *changed = ch;
  return home;
}

static int empty_round(mrt_home_region *sel, uint64_t now, bool *changed) {
  return round_of(sel, now, NULL, 0, changed);
}

/* Home is region 1 scoring old_ns; region 2 now scores best_ns. Returns the
 * home after the second round. */
static int decide(uint64_t old_ns, uint64_t best_ns) {
  mrt_home_region sel;
  int home;

  assert_int_equal(mrt_home_region_init(&sel, NULL), 0);
  assert_int_equal(ROUND(&sel, SEC(0), {1, old_ns}, {2, old_ns + MS(500)}), 1);
  home = ROUND(&sel, SEC(10), {1, old_ns}, {2, best_ns});
  mrt_home_region_fini(&sel);
  return home;
}

static void test_known_25_vs_20_keeps(void **state) {
  (void)state;
  assert_int_equal(decide(MS(25), MS(20)), 1); /* gain 5 ms < 10 ms */
}

static void test_known_100_vs_20_switches(void **state) {
  (void)state;
  assert_int_equal(decide(MS(100), MS(20)), 2); /* gain 80 ms, 20 <= 66 */
}

static void test_known_60_vs_45_keeps(void **state) {
  (void)state;
  assert_int_equal(decide(MS(60), MS(45)), 1); /* gain 15 ms, but 45 > 40 */
}

/* 36/3*2 = 24 exactly: best must be strictly above the bound to keep. */
static void test_known_36_vs_24_switches_at_two_thirds(void **state) {
  (void)state;
  assert_int_equal(decide(MS(36), MS(24)), 2);
  assert_int_equal(decide(MS(36), MS(24) + 1), 1);
}

/* The absolute rule is strict too: a gain of exactly 10 ms is enough. */
static void test_absolute_gain_boundary(void **state) {
  (void)state;
  assert_int_equal(decide(MS(15), MS(5)), 2);
  assert_int_equal(decide(MS(15), MS(5) + 1), 1);
}

/* Nanosecond integer arithmetic divides first: for old = 35 ms the bound is
 * 35000000/3*2 = 23333332, where old*2/3 would give 23333333. */
static void test_integer_division_comes_first(void **state) {
  (void)state;
  assert_int_equal(decide(MS(35), 23333333), 1);
  assert_int_equal(decide(MS(35), 23333332), 2);
}

/* "Raw 20 vs 60 with smoothed 50: keep" — scores come from the history, not the
 * latest raw values. Region 1 was 50 ms a minute ago and measures 60 ms now;
 * region 2 measures 36 ms. On raw values (60 vs 36: 36 <= 40) it would switch;
 * on scores (50 vs 36: gain 14 ms, but 36 > 33.3) the home is kept. */
static void test_scores_come_from_history(void **state) {
  mrt_home_region sel;
  uint64_t score = 0;
  bool changed = true;
  (void)state;

  assert_int_equal(mrt_home_region_init(&sel, NULL), 0);
  assert_int_equal(ROUND(&sel, SEC(0), {1, MS(50)}, {2, MS(90)}), 1);
  assert_int_equal(
      round_of(&sel, SEC(60), (const mrt_region_latency[]){{1, MS(60)}, {2, MS(36)}}, 2, &changed),
      1);
  assert_false(changed);
  assert_int_equal(mrt_home_region_score(&sel, SEC(60), 1, &score), 0);
  assert_int_equal(score, MS(50));
  assert_int_equal(mrt_home_region_score(&sel, SEC(60), 2, &score), 0);
  assert_int_equal(score, MS(36));
  /* And a region whose old best is excellent stays home despite a bad round. */
  assert_int_equal(ROUND(&sel, SEC(70), {1, MS(20)}, {2, MS(60)}), 1);
  assert_int_equal(ROUND(&sel, SEC(80), {1, MS(60)}, {2, MS(25)}), 1);
  mrt_home_region_fini(&sel);
}

/* A sample exactly window_ns old still counts; one nanosecond later it is gone. */
static void test_window_expiry(void **state) {
  mrt_home_region sel;
  uint64_t score = 0;
  bool changed = false;
  (void)state;

  assert_int_equal(mrt_home_region_init(&sel, NULL), 0);
  assert_int_equal(ROUND(&sel, SEC(0), {1, MS(20)}, {2, MS(50)}), 1);
  assert_int_equal(ROUND(&sel, SEC(60), {1, MS(60)}, {2, MS(30)}), 1); /* 20 vs 30 */
  assert_int_equal(ROUND(&sel, SEC(300), {1, MS(60)}, {2, MS(30)}), 1);
  assert_int_equal(mrt_home_region_score(&sel, SEC(300), 1, &score), 0);
  assert_int_equal(score, MS(20));
  /* The t=0 sample has expired: 60 vs 30 -> switch. */
  assert_int_equal(round_of(&sel, SEC(300) + 1,
                            (const mrt_region_latency[]){{1, MS(60)}, {2, MS(30)}}, 2, &changed),
                   2);
  assert_true(changed);
  assert_int_equal(mrt_home_region_score(&sel, SEC(300) + 1, 1, &score), 0);
  assert_int_equal(score, MS(60));
  assert_int_equal(mrt_home_region_score(&sel, SEC(1000), 1, &score), -ENOENT);
  mrt_home_region_fini(&sel);
}

/* Empty rounds keep the home for 120 s after the last round with data
 * (inclusive), then drop it; the next data round picks afresh. */
static void test_no_data_keeps_home_120s(void **state) {
  mrt_home_region sel;
  bool changed = true;
  (void)state;

  assert_int_equal(mrt_home_region_init(&sel, NULL), 0);
  assert_int_equal(ROUND(&sel, SEC(0), {1, MS(20)}, {2, MS(50)}), 1);
  assert_int_equal(ROUND(&sel, SEC(100), {1, MS(20)}, {2, MS(50)}), 1);
  /* Counted from t=100 s (the last round with data), not from t=0. */
  assert_int_equal(empty_round(&sel, SEC(150), &changed), 1);
  assert_false(changed);
  assert_int_equal(empty_round(&sel, SEC(220), &changed), 1);
  assert_false(changed);
  assert_int_equal(empty_round(&sel, SEC(220) + 1, &changed), 0);
  assert_true(changed);
  assert_int_equal(empty_round(&sel, SEC(230), &changed), 0);
  assert_false(changed);
  assert_int_equal(round_of(&sel, SEC(240), (const mrt_region_latency[]){{2, MS(45)}}, 1, &changed),
                   2);
  assert_true(changed);
  mrt_home_region_fini(&sel);
}

/* A home not heard from this round is replaced by the best region at once,
 * even though its own history would still beat that region. */
static void test_home_missing_this_round(void **state) {
  mrt_home_region sel;
  bool changed = false;
  (void)state;

  assert_int_equal(mrt_home_region_init(&sel, NULL), 0);
  assert_int_equal(ROUND(&sel, SEC(0), {1, MS(20)}, {2, MS(25)}, {3, MS(26)}), 1);
  assert_int_equal(
      round_of(&sel, SEC(10), (const mrt_region_latency[]){{3, MS(26)}, {2, MS(25)}}, 2, &changed),
      2);
  assert_true(changed);
  mrt_home_region_fini(&sel);
}

/* With the hysteresis switched off (no minimum gain, ratio 1/1), only strictly
 * better regions win: a tie keeps the home even when the rival has a lower id,
 * and the first round breaks ties by the lower id. */
static void test_ties_without_hysteresis(void **state) {
  mrt_home_region_config cfg = mrt_home_region_config_default();
  mrt_home_region sel;
  (void)state;

  cfg.min_gain_ns = 0;
  cfg.keep_ratio_num = 1;
  cfg.keep_ratio_den = 1;
  assert_int_equal(mrt_home_region_init(&sel, &cfg), 0);
  assert_int_equal(ROUND(&sel, SEC(0), {7, MS(30)}, {5, MS(30)}), 5);
  mrt_home_region_fini(&sel);

  assert_int_equal(mrt_home_region_init(&sel, &cfg), 0);
  assert_int_equal(ROUND(&sel, SEC(0), {2, MS(20)}, {1, MS(30)}), 2);
  assert_int_equal(ROUND(&sel, SEC(1), {2, MS(25)}, {1, MS(20)}), 2); /* tie 20/20 */
  assert_int_equal(ROUND(&sel, SEC(2), {2, MS(25)}, {1, MS(20) - 1}), 1);
  mrt_home_region_fini(&sel);
}

/* The history keeps at most max_samples region results, dropping the oldest. */
static void test_history_bound(void **state) {
  mrt_home_region_config cfg = mrt_home_region_config_default();
  mrt_home_region sel;
  uint64_t score = 0;
  (void)state;

  cfg.max_samples = 4;
  assert_int_equal(mrt_home_region_init(&sel, &cfg), 0);
  assert_int_equal(ROUND(&sel, SEC(0), {1, MS(10)}, {2, MS(50)}), 1);
  assert_int_equal(ROUND(&sel, SEC(1), {1, MS(100)}, {2, MS(50)}), 1); /* 10 vs 50 */
  /* Third round: the t=0 results are pushed out, region 1 scores 100. */
  assert_int_equal(ROUND(&sel, SEC(2), {1, MS(100)}, {2, MS(50)}), 2);
  assert_int_equal(mrt_home_region_score(&sel, SEC(2), 1, &score), 0);
  assert_int_equal(score, MS(100));
  /* Many more rounds stay within the bound and keep working. */
  for (int i = 3; i < 200; i++)
    assert_int_equal(ROUND(&sel, SEC(i), {1, MS(100)}, {2, MS(50)}), 2);
  assert_true(sel.len <= 4);
  mrt_home_region_fini(&sel);
}

/* Bad input is refused with -EINVAL/-E2BIG, outputs untouched, and none of it
 * reaches the history or the home. */
static void test_invalid_arguments_leave_state_unchanged(void **state) {
  mrt_home_region_config cfg = mrt_home_region_config_default();
  mrt_home_region sel, zero;
  const mrt_region_latency dup[] = {{2, MS(1)}, {3, MS(1)}, {2, MS(2)}};
  const mrt_region_latency bad_id[] = {{3, MS(1)}, {-1, MS(1)}};
  const mrt_region_latency good[] = {{2, MS(1)}};
  uint64_t score = 0;
  int home = 99;
  bool changed = true;
  (void)state;

  memset(&zero, 0, sizeof(zero));
  assert_int_equal(mrt_home_region_observe(&zero, 0, good, 1, &home, NULL), -EINVAL);
  assert_int_equal(mrt_home_region_home(&zero), -EINVAL);
  assert_int_equal(mrt_home_region_home(NULL), -EINVAL);
  mrt_home_region_fini(&zero);
  mrt_home_region_fini(NULL);

  cfg.keep_ratio_num = 4; /* num > den */
  assert_int_equal(mrt_home_region_init(&sel, &cfg), -EINVAL);
  cfg = mrt_home_region_config_default();
  cfg.window_ns = 0;
  assert_int_equal(mrt_home_region_init(&sel, &cfg), -EINVAL);
  cfg = mrt_home_region_config_default();
  cfg.max_samples = MRT_HOME_REGION_MAX_SAMPLES_LIMIT + 1;
  assert_int_equal(mrt_home_region_init(&sel, &cfg), -EINVAL);
  assert_int_equal(mrt_home_region_init(NULL, NULL), -EINVAL);

  assert_int_equal(mrt_home_region_init(&sel, NULL), 0);
  assert_int_equal(ROUND(&sel, SEC(10), {1, MS(20)}, {2, MS(30)}), 1);
  assert_int_equal(mrt_home_region_observe(&sel, SEC(11), dup, 3, &home, &changed), -EINVAL);
  assert_int_equal(mrt_home_region_observe(&sel, SEC(11), bad_id, 2, &home, &changed), -EINVAL);
  assert_int_equal(mrt_home_region_observe(&sel, SEC(11), NULL, 1, &home, &changed), -EINVAL);
  assert_int_equal(mrt_home_region_observe(&sel, SEC(9), good, 1, &home, &changed), -EINVAL);
  assert_int_equal(home, 99);
  assert_true(changed);
  /* Had any of those rounds been recorded, region 2 would score 1 ms and
     * region 3 would have a score. */
  assert_int_equal(mrt_home_region_home(&sel), 1);
  assert_int_equal(mrt_home_region_score(&sel, SEC(11), 2, &score), 0);
  assert_int_equal(score, MS(30));
  assert_int_equal(mrt_home_region_score(&sel, SEC(11), 3, &score), -ENOENT);
  assert_int_equal(mrt_home_region_score(&sel, SEC(11), 2, NULL), -EINVAL);
  /* Time may stand still (two rounds at one instant). */
  assert_int_equal(ROUND(&sel, SEC(10), {1, MS(20)}), 1);
  mrt_home_region_fini(&sel);

  cfg.max_samples = 2;
  assert_int_equal(mrt_home_region_init(&sel, &cfg), 0);
  assert_int_equal(mrt_home_region_observe(&sel, 0, dup, 3, &home, NULL), -E2BIG);
  assert_int_equal(mrt_home_region_home(&sel), 0);
  mrt_home_region_fini(&sel);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_25_vs_20_keeps),
      cmocka_unit_test(test_known_100_vs_20_switches),
      cmocka_unit_test(test_known_60_vs_45_keeps),
      cmocka_unit_test(test_known_36_vs_24_switches_at_two_thirds),
      cmocka_unit_test(test_absolute_gain_boundary),
      cmocka_unit_test(test_integer_division_comes_first),
      cmocka_unit_test(test_scores_come_from_history),
      cmocka_unit_test(test_window_expiry),
      cmocka_unit_test(test_no_data_keeps_home_120s),
      cmocka_unit_test(test_home_missing_this_round),
      cmocka_unit_test(test_ties_without_hysteresis),
      cmocka_unit_test(test_history_bound),
      cmocka_unit_test(test_invalid_arguments_leave_state_unchanged),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
