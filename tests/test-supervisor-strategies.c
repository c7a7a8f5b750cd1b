/* SPDX-License-Identifier: MIT */
/* Tests: supervisor start order and restart behaviour on the virtual clock —
 * children start in spec order, each after the previous one's on_start;
 * one-for-one, one-for-all and rest-for-one with 3+ children (siblings
 * stopped one at a time in reverse start order, restarted in start order);
 * restart policies; on_start failures; backoff growth and the crash-loop
 * gate; the restart limit (window, exhaustion, escalation of a top-level
 * supervisor); nested supervisors escalating to their parent; orderly and
 * runtime shutdown; spec validation. */
#include "test-supervisor-fixture.h"

static mrt_supervisor_spec spec_of(mrt_supervisor_strategy s, mrt_child_spec *ch, size_t n) {
  return (mrt_supervisor_spec){.name = "root", .strategy = s, .children = ch, .n_children = n};
}

static unsigned long long spawned_seen_by(const char *name) {
  char prefix[48];
  snprintf(prefix, sizeof prefix, "spawned:%s:", name);
  for (int i = 0; i < tlog_n; i++)
    if (strncmp(tlog[i], prefix, strlen(prefix)) == 0)
      return strtoull(tlog[i] + strlen(prefix), NULL, 10);
  fail_msg("%s never started", name);
  return 0;
}

static void boot_starts_in_spec_order_each_after_previous_on_start(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("a", NOARGS), worker("b", NOARGS), worker("c", NOARGS)};
  mrt_supervisor_spec spec = spec_of(MRT_STRATEGY_ONE_FOR_ONE, ch, 3);
  mrt_ref *sup = spawn_sup(&spec);
  static const char *const order[] = {"start:a", "start:b", "start:c"};
  tlog_expect_order(0, order, 3);
  /* Had the supervisor spawned them all at once, each on_start would see
   * the same count; one more per child means: spawned after the previous
   * one's on_start ran. */
  assert_int_equal(spawned_seen_by("b"), spawned_seen_by("a") + 1);
  assert_int_equal(spawned_seen_by("c"), spawned_seen_by("b") + 1);
  mrt_supervisor_state *st;
  assert_int_equal(mrt_supervisor_current_state(sup, &st), 0);
  assert_int_equal(st->phase, MRT_SUPERVISOR_RUNNING);
  assert_int_equal(st->n_children, 3);
  const char *ids[] = {"a", "b", "c"};
  for (size_t i = 0; i < 3; i++) {
    const mrt_child_record *r = &st->children[i];
    assert_string_equal(r->id, ids[i]);
    assert_true(r->active);
    assert_int_equal(r->attempt, 1);
    assert_int_equal(r->generation, 0);
    assert_int_equal(r->status, MRT_CHILD_READY); /* immediate readiness */
    assert_int_equal(r->operation, MRT_OP_ACTIVE);
    assert_int_equal(r->stop_state, MRT_STOP_NONE);
  }
  mrt_supervisor_state_free(st);
  /* Events in order: a's starting/running/ready before b's starting. */
  assert_true(journal_last(sup, MRT_SUP_EV_READY, "a").seq <
              journal_last(sup, MRT_SUP_EV_STARTING, "b").seq);
  mrt_ref_unref(sup);
}

static void one_for_one_restarts_only_the_failed_child_after_backoff(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("a", NOARGS), worker("b", NOARGS), worker("c", NOARGS)};
  mrt_supervisor_spec spec = spec_of(MRT_STRATEGY_ONE_FOR_ONE, ch, 3);
  mrt_ref *sup = spawn_sup(&spec);
  tell_child(sup, "b", W_FAIL);
  mrt_child_record b = record(sup, "b");
  assert_false(b.active);
  assert_int_equal(b.status, MRT_CHILD_STOPPED);
  assert_int_equal(b.backoff.phase, MRT_BACKOFF_BACKING_OFF);
  assert_int_equal(b.backoff.until_ns, now() + MRT_MS(500));
  assert_true(b.has_last_failure);
  assert_int_equal(b.last_failure.error, -EIO);
  assert_string_equal(b.last_failure.reason, "b asked to fail");
  assert_int_equal(b.failures, 1);
  mrt_supervisor_event ev = journal_last(sup, MRT_SUP_EV_BACKOFF_SCHEDULED, "b");
  assert_int_equal(ev.until_ns, now() + MRT_MS(500));
  advance(MRT_MS(499));
  assert_int_equal(attempts_of("b"), 1);
  advance(MRT_MS(1));
  assert_int_equal(attempts_of("b"), 2);
  b = record(sup, "b");
  assert_true(b.active);
  assert_int_equal(b.attempt, 2);
  assert_int_equal(b.generation, 1);
  assert_int_equal(b.restarts, 1);
  assert_int_equal(attempts_of("a"), 1);
  assert_int_equal(attempts_of("c"), 1);
  assert_int_equal(tlog_count("stop:a") + tlog_count("stop:c"), 0);
  assert_int_equal(journal_count(sup, MRT_SUP_EV_RESTARTING, "b"), 1);
  mrt_ref_unref(sup);
}

static void one_for_all_stops_all_in_reverse_and_restarts_in_order(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("a", NOARGS), worker("b", NOARGS), worker("c", NOARGS),
                         worker("d", NOARGS)};
  mrt_supervisor_spec spec = spec_of(MRT_STRATEGY_ONE_FOR_ALL, ch, 4);
  mrt_ref *sup = spawn_sup(&spec);
  int mark = tlog_n;
  tell_child(sup, "b", W_FAIL);
  static const char *const stops[] = {"stop:b", "stop:d", "stop:c", "stop:a", "start:a"};
  int after = tlog_expect_order(mark, stops, 5);
  /* a comes before b and its gate is open: back at once; b waits for its
   * gate, and c and d wait for b. */
  assert_int_equal(attempts_of("b"), 1);
  assert_int_equal(attempts_of("c"), 1);
  assert_int_equal(attempts_of("d"), 1);
  advance(MRT_MS(500));
  static const char *const starts[] = {"start:b", "start:c", "start:d"};
  tlog_expect_order(after, starts, 3);
  const char *ids[] = {"a", "b", "c", "d"};
  for (size_t i = 0; i < 4; i++) {
    mrt_child_record r = record(sup, ids[i]);
    assert_int_equal(r.attempt, 2);
    assert_int_equal(r.generation, 1); /* one restart, one generation */
  }
  mrt_supervisor_metrics *m;
  assert_int_equal(mrt_supervisor_metrics_get(sup, &m), 0);
  assert_int_equal(m->restarts, 1); /* a group restart counts once */
  mrt_supervisor_metrics_free(m);
  mrt_ref_unref(sup);
}

static void rest_for_one_stops_later_siblings_one_at_a_time(void **unused) {
  (void)unused;
  worker_args defer = {.on_request = ON_REQUEST_DEFER};
  mrt_child_spec ch[] = {worker("a", NOARGS), worker("b", NOARGS), worker("c", defer),
                         worker("d", defer)};
  mrt_supervisor_spec spec = spec_of(MRT_STRATEGY_REST_FOR_ONE, ch, 4);
  mrt_ref *sup = spawn_sup(&spec);
  tell_child(sup, "b", W_FAIL);
  /* Newest first, and c only once d is gone. */
  assert_int_equal(tlog_count("request:d"), 1);
  assert_int_equal(tlog_count("request:c"), 0);
  assert_int_equal(record(sup, "d").status, MRT_CHILD_STOPPING);
  tell_child(sup, "d", W_RELEASE);
  assert_int_equal(tlog_count("request:c"), 1);
  int mark = tlog_n;
  tell_child(sup, "c", W_RELEASE);
  assert_int_equal(tlog_find_from(mark, "start:b"), -1); /* b's gate is closed */
  advance(MRT_MS(500));
  static const char *const starts[] = {"start:b", "start:c", "start:d"};
  tlog_expect_order(mark, starts, 3);
  assert_int_equal(attempts_of("a"), 1);
  assert_int_equal(tlog_count("stop:a"), 0);
  assert_int_equal(record(sup, "d").attempt, 2);
  mrt_ref_unref(sup);
}

static void restart_policies_decide_on_the_exit(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("perm", NOARGS), worker("t-ok", NOARGS), worker("t-bad", NOARGS),
                         worker("tmp-ok", NOARGS), worker("tmp-bad", NOARGS)};
  ch[1].restart = ch[2].restart = MRT_RESTART_TRANSIENT;
  ch[3].restart = ch[4].restart = MRT_RESTART_TEMPORARY;
  mrt_supervisor_spec spec = spec_of(MRT_STRATEGY_ONE_FOR_ONE, ch, 5);
  mrt_ref *sup = spawn_sup(&spec);
  tell_child(sup, "perm", W_EXIT);   /* normal exit: clean, no gate */
  tell_child(sup, "t-ok", W_EXIT);   /* normal: transient stays down */
  tell_child(sup, "t-bad", W_FAIL);  /* abnormal: transient restarts */
  tell_child(sup, "tmp-ok", W_EXIT); /* temporary: never */
  tell_child(sup, "tmp-bad", W_FAIL);
  assert_int_equal(attempts_of("perm"), 2);
  assert_int_equal(journal_count(sup, MRT_SUP_EV_EXITED, "perm"), 1);
  advance(MRT_SEC(1));
  assert_int_equal(attempts_of("t-ok"), 1);
  assert_int_equal(attempts_of("t-bad"), 2);
  assert_int_equal(attempts_of("tmp-ok"), 1);
  assert_int_equal(attempts_of("tmp-bad"), 1);
  mrt_child_record r = record(sup, "tmp-bad");
  assert_false(r.active);
  assert_int_equal(r.status, MRT_CHILD_STOPPED);
  assert_int_equal(r.attempt, 0);
  assert_true(r.has_last_failure);
  assert_false(record(sup, "t-ok").active);
  assert_true(record(sup, "t-bad").active);
  mrt_ref_unref(sup);
}

static void on_start_failure_backs_off_and_boot_goes_on(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("a", NOARGS), worker("b", (worker_args){.start_error = -EIO}),
                         worker("c", NOARGS)};
  mrt_supervisor_spec spec = spec_of(MRT_STRATEGY_ONE_FOR_ONE, ch, 3);
  mrt_ref *sup = spawn_sup(&spec);
  static const char *const order[] = {"start:a", "start:b", "start:c"};
  tlog_expect_order(0, order, 3);
  mrt_child_record b = record(sup, "b");
  assert_false(b.active);
  assert_int_equal(b.last_failure.error, -EIO);
  assert_non_null(strstr(b.last_failure.reason, "on_start"));
  assert_int_equal(b.backoff.phase, MRT_BACKOFF_BACKING_OFF);
  assert_true(record(sup, "c").active);
  advance(MRT_MS(500));
  assert_int_equal(attempts_of("b"), 2);
  mrt_ref_unref(sup);
}

static void backoff_doubles_then_crash_loop_gate_holds_five_minutes(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("x", (worker_args){.fail_attempts = 100})};
  mrt_supervisor_spec spec = spec_of(MRT_STRATEGY_ONE_FOR_ONE, ch, 1);
  spec.max_restarts = 100;
  spec.restart_window_ns = MRT_SEC(60);
  mrt_ref *sup = spawn_sup(&spec);
  uint64_t gates[] = {MRT_MS(500), MRT_SEC(1), MRT_SEC(2), MRT_SEC(4)};
  for (int i = 0; i < 4; i++) {
    mrt_child_record r = record(sup, "x");
    assert_int_equal(r.backoff.phase, MRT_BACKOFF_BACKING_OFF);
    assert_int_equal(r.backoff.until_ns, now() + gates[i]);
    advance(gates[i] - 1);
    assert_int_equal(attempts_of("x"), i + 1);
    advance(1);
    assert_int_equal(attempts_of("x"), i + 2);
  }
  /* The fifth crash inside 60 s trips the crash-loop gate. */
  mrt_child_record r = record(sup, "x");
  assert_int_equal(r.backoff.phase, MRT_BACKOFF_CRASH_LOOPING);
  assert_int_equal(r.backoff.until_ns, now() + MRT_SEC(300));
  assert_int_equal(journal_last(sup, MRT_SUP_EV_BACKOFF_SCHEDULED, "x").backoff_phase,
                   MRT_BACKOFF_CRASH_LOOPING);
  advance(MRT_SEC(300) - 1);
  assert_int_equal(attempts_of("x"), 5);
  advance(1);
  assert_int_equal(attempts_of("x"), 6);
  mrt_supervisor_metrics *m;
  assert_int_equal(mrt_supervisor_metrics_get(sup, &m), 0);
  assert_int_equal(m->children[0].backoff_ns_total,
                   MRT_MS(500) + MRT_SEC(1) + MRT_SEC(2) + MRT_SEC(4) + MRT_SEC(300) + MRT_MS(500));
  mrt_supervisor_metrics_free(m);
  mrt_ref_unref(sup);
}

static void restart_limit_exceeded_stops_tree_and_fails_supervisor(void **unused) {
  (void)unused;
  mrt_ref *sink = sink_spawn();
  mrt_child_spec ch[] = {worker("a", NOARGS), worker("b", NOARGS), worker("c", NOARGS)};
  mrt_supervisor_spec spec = spec_of(MRT_STRATEGY_ONE_FOR_ONE, ch, 3);
  spec.max_restarts = 2;
  spec.restart_window_ns = MRT_SEC(60);
  mrt_ref *sup = spawn_sup(&spec);
  mrt_ref *w = watch(sup);
  tell_child(sup, "a", W_FAIL);
  advance(MRT_MS(500));
  tell_child(sup, "a", W_FAIL);
  advance(MRT_SEC(1));
  assert_int_equal(attempts_of("a"), 3);
  mrt_child_record r = record(sup, "a");
  assert_int_equal(r.restart_limit.used, 2);
  assert_int_equal(r.restart_limit.remaining, 0);
  assert_true(r.restart_limit.exhausted);
  assert_int_equal(sink_count(MRT_SUP_EV_LIMIT_EXHAUSTED, NULL), 1);
  int mark = tlog_n;
  tell_child(sup, "a", W_FAIL);
  static const char *const stops[] = {"stop:a", "stop:c", "stop:b"};
  tlog_expect_order(mark, stops, 3);
  assert_false(mrt_ref_alive(sup));
  assert_int_equal(watched_downs, 1);
  assert_int_equal(watched_down.exit.kind, MRT_EXIT_FAILED);
  assert_int_equal(watched_down.exit.error, MRT_SUPERVISOR_EINTENSITY);
  assert_non_null(strstr(watched_down.exit.reason, "intensity exceeded"));
  assert_int_equal(sink_count(MRT_SUP_EV_ESCALATED, "a"), 1);
  assert_int_equal(attempts_of("a"), 3); /* not restarted a fourth time */
  mrt_ref_unref(w);
  mrt_ref_unref(sup);
  mrt_ref_unref(sink);
}

static void restart_limit_window_slides(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("a", NOARGS)};
  mrt_supervisor_spec spec = spec_of(MRT_STRATEGY_ONE_FOR_ONE, ch, 1);
  spec.max_restarts = 1;
  spec.restart_window_ns = MRT_SEC(10);
  mrt_ref *sup = spawn_sup(&spec);
  tell_child(sup, "a", W_FAIL);
  advance(MRT_MS(500));
  assert_true(record(sup, "a").restart_limit.exhausted);
  advance(MRT_SEC(10));
  mrt_child_record r = record(sup, "a");
  assert_int_equal(r.restart_limit.used, 0);
  assert_int_equal(r.restart_limit.remaining, 1);
  assert_int_equal(r.restart_limit.window_ns, MRT_SEC(10));
  tell_child(sup, "a", W_FAIL); /* the old restart left the window: no escalation */
  advance(MRT_SEC(2));
  assert_true(mrt_ref_alive(sup));
  assert_int_equal(attempts_of("a"), 3);
  mrt_ref_unref(sup);
}

static void nested_supervisor_escalates_to_its_parent(void **unused) {
  (void)unused;
  mrt_child_spec inner_ch[] = {worker("x", NOARGS), worker("y", NOARGS)};
  mrt_supervisor_spec inner = {.name = "inner",
                               .max_restarts = 1,
                               .restart_window_ns = MRT_SEC(60),
                               .children = inner_ch,
                               .n_children = 2};
  mrt_child_spec ch[] = {{.id = "inner", .supervisor = &inner}, worker("z", NOARGS)};
  mrt_supervisor_spec spec = spec_of(MRT_STRATEGY_ONE_FOR_ONE, ch, 2);
  spec.max_restarts = 5;
  mrt_ref *root = spawn_sup(&spec);
  /* The nested supervisor counts as started once its children are. */
  static const char *const order[] = {"start:x", "start:y", "start:z"};
  tlog_expect_order(0, order, 3);
  mrt_ref *inner_ref;
  assert_int_equal(mrt_supervisor_child_ref(root, "inner", &inner_ref), 0);
  tell_child(inner_ref, "x", W_FAIL);
  advance(MRT_MS(500));
  assert_int_equal(attempts_of("x"), 2);
  int mark = tlog_n;
  tell_child(inner_ref, "x", W_FAIL); /* a second restart exceeds inner's limit of 1 */
  static const char *const stops[] = {"stop:x", "stop:y"};
  tlog_expect_order(mark, stops, 2);
  assert_false(mrt_ref_alive(inner_ref));
  mrt_ref_unref(inner_ref);
  mrt_child_record r = record(root, "inner");
  assert_false(r.active);
  assert_int_equal(r.last_failure.error, MRT_SUPERVISOR_EINTENSITY);
  assert_non_null(strstr(r.last_failure.reason, "intensity exceeded"));
  assert_int_equal(r.backoff.phase, MRT_BACKOFF_BACKING_OFF);
  advance(MRT_MS(500));
  r = record(root, "inner");
  assert_true(r.active);
  assert_int_equal(r.attempt, 2);
  assert_int_equal(attempts_of("x"), 3);
  assert_int_equal(attempts_of("y"), 2);
  assert_int_equal(attempts_of("z"), 1);
  mrt_ref_unref(root);
}

static void shutdown_stops_children_in_reverse_order_then_itself(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("a", (worker_args){.on_request = ON_REQUEST_DEFER}),
                         worker("b", NOARGS), worker("c", NOARGS)};
  ch[0].shutdown_grace_ns = MRT_MS(100);
  mrt_supervisor_spec spec = spec_of(MRT_STRATEGY_ONE_FOR_ONE, ch, 3);
  mrt_ref *sup = spawn_sup(&spec);
  uint64_t t0 = now();
  assert_int_equal(mrt_supervisor_shutdown(sup, 0), 0);
  static const char *const stops[] = {"stop:c", "stop:b", "request:a", "stop:a"};
  tlog_expect_order(0, stops, 4);
  assert_string_equal(tlog[tlog_find("stop:a") + 1], "exit:a:killed"); /* grace ignored */
  assert_true(now() - t0 >= MRT_MS(100));
  assert_false(mrt_ref_alive(sup));
  assert_int_equal(mrt_supervisor_shutdown(sup, 0), -ESRCH);
  mrt_ref_unref(sup);
}

static void runtime_shutdown_takes_the_tree_down(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("a", NOARGS), worker("b", NOARGS), worker("c", NOARGS)};
  mrt_supervisor_spec spec = spec_of(MRT_STRATEGY_ONE_FOR_ALL, ch, 3);
  mrt_ref *sup = spawn_sup(&spec);
  assert_int_equal(mrt_runtime_shutdown(rt), 0);
  static const char *const stops[] = {"stop:c", "stop:b", "stop:a"};
  tlog_expect_order(0, stops, 3);
  assert_int_equal(attempts_of("a"), 1); /* nothing restarted during shutdown */
  assert_false(mrt_ref_alive(sup));
  mrt_ref_unref(sup);
}

static void args_drop_class(void *args) {
  (void)args;
}
static const mrt_actor_class owning_class = {.name = "owning",
                                             .args_size = sizeof(int),
                                             .args_drop = args_drop_class,
                                             .handlers = worker_handlers};

static void invalid_specs_are_refused(void **unused) {
  (void)unused;
  mrt_ref *sup = (mrt_ref *)1;
  assert_int_equal(mrt_supervisor_spawn(NULL, NULL, NULL, &sup), -EINVAL);
  assert_null(sup);
  mrt_child_spec dup[] = {worker("a", NOARGS), worker("a", NOARGS)};
  mrt_supervisor_spec spec = spec_of(MRT_STRATEGY_ONE_FOR_ONE, dup, 2);
  assert_int_equal(mrt_supervisor_spawn(rt, &spec, NULL, &sup), -EINVAL);
  mrt_child_spec owning[] = {{.id = "o", .cls = &owning_class, .args = &(int){1}}};
  spec = spec_of(MRT_STRATEGY_ONE_FOR_ONE, owning, 1);
  assert_int_equal(mrt_supervisor_spawn(rt, &spec, NULL, &sup), -EINVAL);
  mrt_backoff_config bad = mrt_backoff_config_default();
  bad.factor = 0.5;
  mrt_child_spec bad_backoff[] = {worker("a", NOARGS)};
  bad_backoff[0].backoff = &bad;
  spec = spec_of(MRT_STRATEGY_ONE_FOR_ONE, bad_backoff, 1);
  assert_int_equal(mrt_supervisor_spawn(rt, &spec, NULL, &sup), -EINVAL);
  mrt_child_spec noid[] = {worker("", NOARGS)};
  spec = spec_of(MRT_STRATEGY_ONE_FOR_ONE, noid, 1);
  assert_int_equal(mrt_supervisor_spawn(rt, &spec, NULL, &sup), -EINVAL);
  spec = spec_of((mrt_supervisor_strategy)7, NULL, 0);
  assert_int_equal(mrt_supervisor_spawn(rt, &spec, NULL, &sup), -EINVAL);
  spec = spec_of(MRT_STRATEGY_ONE_FOR_ONE, NULL, 0);
  spec.name = NULL;
  assert_int_equal(mrt_supervisor_spawn(rt, &spec, NULL, &sup), -EINVAL);
  /* A spec that contains itself is refused, not followed forever. */
  mrt_supervisor_spec loop = {.name = "loop", .n_children = 1};
  mrt_child_spec self_child = {.id = "me", .supervisor = &loop};
  loop.children = &self_child;
  assert_int_equal(mrt_supervisor_spawn(rt, &loop, NULL, &sup), -EINVAL);
  /* Empty supervisors are fine, and boot at once. */
  spec = spec_of(MRT_STRATEGY_ONE_FOR_ONE, NULL, 0);
  sup = spawn_sup(&spec);
  assert_int_equal(mrt_supervisor_await_boot(NULL, 0), -EINVAL);
  mrt_ref_unref(sup);
}

static void killed_supervisor_takes_its_children_along(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("a", NOARGS), worker("b", NOARGS)};
  mrt_supervisor_spec spec = spec_of(MRT_STRATEGY_ONE_FOR_ONE, ch, 2);
  mrt_ref *sup = spawn_sup(&spec);
  assert_int_equal(mrt_actor_kill(sup), 0);
  mrt_runtime_run_until_idle(rt);
  assert_int_equal(tlog_count("stop:a"), 1);
  assert_int_equal(tlog_count("stop:b"), 1);
  assert_int_equal(attempts_of("a"), 1);
  mrt_ref_unref(sup);
}

/* The same engine on executor threads and the real clock: boot order holds
 * (children share the supervisor's executor), restarts happen, and host
 * threads read state while the tree runs. */
static void threaded_runtime_boots_in_order_and_restarts(void **unused) {
  (void)unused;
  mrt_runtime *trt;
  assert_int_equal(mrt_runtime_new(&(mrt_runtime_config){.executors = 2}, &trt), 0);
  assert_int_equal(mrt_runtime_start(trt), 0);
  mrt_backoff_config fast = mrt_backoff_config_default();
  fast.initial_ns = MRT_MS(1);
  mrt_child_spec ch[] = {worker("a", NOARGS), worker("b", NOARGS), worker("c", NOARGS)};
  for (int i = 0; i < 3; i++)
    ch[i].backoff = &fast;
  mrt_supervisor_spec spec = spec_of(MRT_STRATEGY_REST_FOR_ONE, ch, 3);
  mrt_ref *sup;
  assert_int_equal(mrt_supervisor_spawn(trt, &spec, NULL, &sup), 0);
  assert_int_equal(mrt_supervisor_await_boot(sup, MRT_SEC(10)), 0);
  /* The reply to await_boot orders the children's log writes before us. */
  assert_int_equal(spawned_seen_by("b"), spawned_seen_by("a") + 1);
  assert_int_equal(spawned_seen_by("c"), spawned_seen_by("b") + 1);
  mrt_ref *b;
  assert_int_equal(mrt_supervisor_child_ref(sup, "b", &b), 0);
  assert_int_equal(MRT_TELL(wcmd, b, &(int){W_FAIL}), 0);
  mrt_ref_unref(b);
  uint64_t deadline = mono_ns() + MRT_SEC(10);
  while (record(sup, "c").attempt != 2 && mono_ns() < deadline)
    nanosleep(&(struct timespec){0, 1000000}, NULL);
  assert_int_equal(record(sup, "b").attempt, 2);
  assert_int_equal(record(sup, "c").attempt, 2);
  assert_int_equal(record(sup, "a").attempt, 1);
  assert_state_reads_consistent(sup);
  assert_int_equal(mrt_supervisor_shutdown(sup, MRT_SEC(10)), 0);
  mrt_ref_unref(sup);
  mrt_runtime_unref(trt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
      T(boot_starts_in_spec_order_each_after_previous_on_start),
      T(one_for_one_restarts_only_the_failed_child_after_backoff),
      T(one_for_all_stops_all_in_reverse_and_restarts_in_order),
      T(rest_for_one_stops_later_siblings_one_at_a_time),
      T(restart_policies_decide_on_the_exit),
      T(on_start_failure_backs_off_and_boot_goes_on),
      T(backoff_doubles_then_crash_loop_gate_holds_five_minutes),
      T(restart_limit_exceeded_stops_tree_and_fails_supervisor),
      T(restart_limit_window_slides),
      T(nested_supervisor_escalates_to_its_parent),
      T(shutdown_stops_children_in_reverse_order_then_itself),
      T(runtime_shutdown_takes_the_tree_down),
      T(invalid_specs_are_refused),
      T(killed_supervisor_takes_its_children_along),
      T(threaded_runtime_boots_in_order_and_restarts),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
