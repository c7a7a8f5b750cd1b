/* SPDX-License-Identifier: MIT */
/* Tests: the periodic reconciler, mirroring the seed boot-reconciler tests —
 * the initial pass fires at once, the next after one interval (default 30 s),
 * a failing pass does not stop the loop, stopping lets the running pass
 * finish; plus run-now (at once, coalesced while a pass runs), desired and
 * actual state handed to the pass, asynchronous passes and their timeout, and
 * a reconciler supervised like any other child. */
#include "test-supervisor-fixture.h"

typedef struct probe {
  int passes;
  uint64_t at[64];
  uint64_t last_pass;
  int fail_with;
  bool async;
  uint64_t async_delay;
  int finished, done_rc;
  int observed, released, seen_desired, seen_actual;
} probe;

static probe P;

static int finish_async(mrt_actor *self, void *state, void *ud) {
  (void)state;
  P.done_rc = mrt_reconciler_pass_done(self, (uint64_t)(uintptr_t)ud, P.fail_with);
  P.finished++;
  return 0;
}

static int pass_cb(mrt_actor *self, const mrt_reconcile_input *in, void *ud) {
  probe *p = ud;
  if (p->passes < 64)
    p->at[p->passes] = in->now_ns;
  p->passes++;
  p->last_pass = in->pass;
  p->seen_desired = in->desired != NULL ? *(const int *)in->desired : -1;
  p->seen_actual = in->actual != NULL ? *(const int *)in->actual : -1;
  if (!p->async)
    return p->fail_with;
  assert_int_equal(
      mrt_timer_start(self, p->async_delay, 0, finish_async, (void *)(uintptr_t)in->pass, NULL), 0);
  return MRT_RECONCILE_ASYNC;
}

static int observe_cb(mrt_actor *self, void *ud, void **actual) {
  (void)self;
  probe *p = ud;
  int *v = malloc(sizeof *v);
  *v = 100 + ++p->observed;
  *actual = v;
  return 0;
}

static void release_cb(void *actual, void *ud) {
  ((probe *)ud)->released++;
  free(actual);
}

static int setup(void **state) {
  memset(&P, 0, sizeof P);
  return fixture_setup(state);
}

static mrt_ref *spawn_rc(uint64_t interval) {
  mrt_reconciler_config cfg = {.name = "test", .interval_ns = interval, .pass = pass_cb, .ud = &P};
  mrt_ref *r;
  assert_int_equal(mrt_reconciler_spawn(rt, &cfg, NULL, &r), 0);
  mrt_runtime_run_until_idle(rt);
  return r;
}

static mrt_reconciler_stats stats(mrt_ref *r) {
  mrt_reconciler_stats s;
  assert_int_equal(mrt_reconciler_get_stats(r, &s), 0);
  return s;
}

static void initial_pass_fires_immediately(void **unused) {
  (void)unused;
  uint64_t t0 = now();
  mrt_ref *r = spawn_rc(MRT_MS(50));
  assert_int_equal(P.passes, 1);
  assert_int_equal(P.at[0], t0);
  assert_int_equal(P.last_pass, 1);
  advance(MRT_MS(49));
  assert_int_equal(P.passes, 1);
  mrt_reconciler_stats s = stats(r);
  assert_int_equal(s.passes, 1);
  assert_false(s.running);
  assert_int_equal(s.next_pass_ns, t0 + MRT_MS(50));
  mrt_ref_unref(r);
}

static void passes_follow_the_interval(void **unused) {
  (void)unused;
  uint64_t t0 = now();
  mrt_ref *r = spawn_rc(MRT_MS(10));
  advance(MRT_MS(20));
  assert_int_equal(P.passes, 3);
  assert_int_equal(P.at[1], t0 + MRT_MS(10));
  assert_int_equal(P.at[2], t0 + MRT_MS(20));
  mrt_ref_unref(r);
}

static void default_interval_is_thirty_seconds(void **unused) {
  (void)unused;
  uint64_t t0 = now();
  mrt_ref *r = spawn_rc(0);
  assert_int_equal(stats(r).next_pass_ns, t0 + MRT_RECONCILER_DEFAULT_INTERVAL);
  advance(MRT_SEC(30) - 1);
  assert_int_equal(P.passes, 1);
  advance(1);
  assert_int_equal(P.passes, 2);
  mrt_ref_unref(r);
}

static void failure_in_one_pass_does_not_stop_the_loop(void **unused) {
  (void)unused;
  P.fail_with = -EIO;
  mrt_ref *r = spawn_rc(MRT_MS(10));
  advance(MRT_MS(30));
  assert_int_equal(P.passes, 4);
  mrt_reconciler_stats s = stats(r);
  assert_int_equal(s.failures, 4);
  assert_int_equal(s.last_status, -EIO);
  assert_true(mrt_ref_alive(r));
  P.fail_with = 0;
  advance(MRT_MS(10));
  s = stats(r);
  assert_int_equal(s.passes, 5);
  assert_int_equal(s.failures, 4);
  assert_int_equal(s.last_status, 0);
  mrt_ref_unref(r);
}

static void stop_lets_the_current_pass_finish(void **unused) {
  (void)unused;
  P.async = true;
  P.async_delay = MRT_MS(20);
  mrt_ref *r = spawn_rc(MRT_MS(50));
  assert_int_equal(mrt_reconciler_stop(r), 0);
  mrt_runtime_run_until_idle(rt);
  assert_true(mrt_ref_alive(r)); /* the pass is still running */
  advance(MRT_MS(20));
  assert_int_equal(P.finished, 1);
  assert_int_equal(P.done_rc, 0);
  assert_false(mrt_ref_alive(r));
  assert_int_equal(P.passes, 1);
  mrt_ref_unref(r);
  /* Idle: it stops at once; the runtime's shutdown signal does the same. */
  P.async = false;
  r = spawn_rc(MRT_MS(50));
  assert_int_equal(mrt_reconciler_stop(r), 0);
  mrt_runtime_run_until_idle(rt);
  assert_false(mrt_ref_alive(r));
  mrt_ref_unref(r);
  r = spawn_rc(MRT_MS(50));
  assert_int_equal(mrt_runtime_shutdown(rt), 0);
  assert_false(mrt_ref_alive(r));
  mrt_ref_unref(r);
}

static void run_now_runs_at_once_and_coalesces(void **unused) {
  (void)unused;
  uint64_t t0 = now();
  mrt_ref *r = spawn_rc(MRT_SEC(30));
  advance(MRT_SEC(1));
  mrt_reconcile_result res;
  assert_int_equal(mrt_reconciler_run_now_sync(r, &res, 0), 0);
  assert_int_equal(res.pass, 2);
  assert_int_equal(res.status, 0);
  assert_int_equal(P.at[1], t0 + MRT_SEC(1));
  assert_int_equal(stats(r).next_pass_ns, t0 + MRT_SEC(31)); /* counted from that pass */
  P.async = true;
  P.async_delay = MRT_MS(10);
  assert_int_equal(mrt_reconciler_run_now(r), 0);
  mrt_runtime_run_until_idle(rt);
  assert_int_equal(P.passes, 3);
  assert_true(stats(r).running);
  for (int i = 0; i < 3; i++)
    assert_int_equal(mrt_reconciler_run_now(r), 0);
  mrt_runtime_run_until_idle(rt);
  assert_int_equal(P.passes, 3); /* no second pass while one runs */
  advance(MRT_MS(10));
  assert_int_equal(P.passes, 4); /* the three requests: one pass */
  advance(MRT_MS(10));
  assert_int_equal(P.passes, 4);
  mrt_reconciler_stats s = stats(r);
  assert_int_equal(s.passes, 4);
  assert_int_equal(s.coalesced, 2);
  assert_false(s.running);
  mrt_ref_unref(r);
}

static void pass_gets_desired_and_actual(void **unused) {
  (void)unused;
  int desired1 = 1, desired2 = 2;
  mrt_reconciler_config cfg = {.interval_ns = MRT_MS(10),
                               .observe = observe_cb,
                               .release_actual = release_cb,
                               .pass = pass_cb,
                               .desired = &desired1,
                               .ud = &P};
  mrt_ref *r;
  assert_int_equal(mrt_reconciler_spawn(rt, &cfg, NULL, &r), 0);
  mrt_runtime_run_until_idle(rt);
  assert_int_equal(P.seen_desired, 1);
  assert_int_equal(P.seen_actual, 101);
  assert_int_equal(mrt_reconciler_set_desired(r, &desired2), 0);
  advance(MRT_MS(10));
  assert_int_equal(P.seen_desired, 2);
  assert_int_equal(P.seen_actual, 102);
  assert_int_equal(P.released, P.observed);
  mrt_ref_unref(r);
}

static void async_pass_times_out(void **unused) {
  (void)unused;
  P.async = true;
  P.async_delay = MRT_MS(100);
  mrt_reconciler_config cfg = {
      .interval_ns = MRT_SEC(1), .pass_timeout_ns = MRT_MS(50), .pass = pass_cb, .ud = &P};
  mrt_ref *r;
  assert_int_equal(mrt_reconciler_spawn(rt, &cfg, NULL, &r), 0);
  advance(MRT_MS(50));
  mrt_reconciler_stats s = stats(r);
  assert_int_equal(s.timeouts, 1);
  assert_int_equal(s.failures, 1);
  assert_int_equal(s.last_status, -ETIMEDOUT);
  advance(MRT_MS(50));
  assert_int_equal(P.finished, 1);
  assert_int_equal(P.done_rc, -ECANCELED); /* too late */
  mrt_ref_unref(r);
}

static void bad_arguments_are_refused(void **unused) {
  (void)unused;
  mrt_ref *r = (mrt_ref *)1;
  assert_int_equal(mrt_reconciler_spawn(rt, &(mrt_reconciler_config){0}, NULL, &r), -EINVAL);
  assert_null(r);
  assert_int_equal(mrt_reconciler_spawn(NULL, NULL, NULL, &r), -EINVAL);
  assert_int_equal(mrt_reconciler_pass_done(NULL, 1, 0), -EINVAL);
  mrt_ref *counter;
  assert_int_equal(mrt_test_counter_spawn(rt, &counter), 0);
  assert_int_equal(mrt_reconciler_pass_done(counter, 1, 0), -EINVAL);
  assert_int_equal(mrt_reconciler_run_now(NULL), -EINVAL);
  assert_int_equal(mrt_reconciler_stop(NULL), -EINVAL);
  mrt_ref_unref(counter);
}

static void supervised_reconciler_finishes_its_pass_before_stopping(void **unused) {
  (void)unused;
  P.async = true;
  P.async_delay = MRT_MS(30);
  mrt_reconciler_config cfg = {.interval_ns = MRT_SEC(1), .pass = pass_cb, .ud = &P};
  mrt_child_spec ch[] = {{.id = "rec", .cls = &mrt_reconciler_class, .args = &cfg}};
  mrt_supervisor_spec spec = {.name = "root", .children = ch, .n_children = 1};
  mrt_ref *sup = spawn_sup(&spec);
  assert_int_equal(P.passes, 1);
  mrt_child_command cmd;
  assert_int_equal(mrt_child_command_init(&cmd, MRT_CHILD_CMD_PAUSE, "rec"), 0);
  cmd.wait = true;
  uint64_t t0 = now();
  mrt_child_outcome o;
  assert_int_equal(mrt_supervisor_control(sup, &cmd, &o, 0), 0);
  assert_int_equal(o.stop_state, MRT_STOP_COMPLETED);
  assert_int_equal(P.finished, 1); /* the pass ended first */
  assert_int_equal(now() - t0, MRT_MS(30));
  assert_int_equal(mrt_supervisor_resume(sup, "rec", &o), 0);
  assert_int_equal(P.passes, 2); /* a fresh reconciler passes at once */
  mrt_ref_unref(sup);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, fixture_teardown)
      T(initial_pass_fires_immediately),
      T(passes_follow_the_interval),
      T(default_interval_is_thirty_seconds),
      T(failure_in_one_pass_does_not_stop_the_loop),
      T(stop_lets_the_current_pass_finish),
      T(run_now_runs_at_once_and_coalesces),
      T(pass_gets_desired_and_actual),
      T(async_pass_times_out),
      T(bad_arguments_are_refused),
      T(supervised_reconciler_finishes_its_pass_before_stopping),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
