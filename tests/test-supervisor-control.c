/* SPDX-License-Identifier: MIT */
/* Tests: operator control of supervised children, mirroring the seed
 * supervisor-child-control-tests — pause delivers the stop and blocks
 * restarts; remove deletes the record (with and without a running attempt);
 * quarantine blocks restarts; commands target the current attempt; repeated
 * stop commands are idempotent and deliver no extra stop (running and idle
 * children); a child ignoring its grace period gives a stop-failure outcome
 * with phase and reason; restart-limit exhaustion shows in outcomes; an
 * operator command wins over an automatic restart racing with it; resume,
 * restart (bypassing backoff, not counted against the limit) and add. */
#include "test-supervisor-fixture.h"

static mrt_ref *boot(mrt_child_spec *ch, size_t n) {
  mrt_supervisor_spec spec = {.name = "ctl", .children = ch, .n_children = n};
  return spawn_sup(&spec);
}

static void pause_delivers_stop_and_blocks_restart(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("worker", (worker_args){.on_request = ON_REQUEST_DEFER})};
  mrt_ref *sup = boot(ch, 1);
  mrt_child_outcome o;
  assert_int_equal(mrt_supervisor_pause(sup, "worker", &o), 0);
  assert_string_equal(o.child_id, "worker");
  assert_int_equal(o.command, MRT_CHILD_CMD_PAUSE);
  assert_true(o.command_id > 0);
  assert_int_equal(o.operation_before, MRT_OP_ACTIVE);
  assert_int_equal(o.operation_after, MRT_OP_PAUSED);
  assert_int_equal(o.status, MRT_CHILD_STOPPING);
  assert_int_equal(o.stop_state, MRT_STOP_REQUESTED);
  assert_true(o.stop_delivered);
  assert_false(o.idempotent);
  assert_int_equal(o.attempt, 1);
  assert_int_equal(o.generation, 0);
  assert_int_equal(tlog_count("request:worker"), 1); /* the child saw the stop */
  mrt_child_record r = record(sup, "worker");
  assert_int_equal(r.operation, MRT_OP_PAUSED);
  assert_int_equal(r.status, MRT_CHILD_STOPPING);
  mrt_supervisor_event ev = journal_last(sup, MRT_SUP_EV_STOP_DELIVERED, "worker");
  assert_int_equal(ev.command, MRT_CHILD_CMD_PAUSE);
  assert_int_equal(ev.command_id, o.command_id);
  assert_int_equal(ev.attempt, 1);
  assert_int_equal(ev.generation, 0);
  ev = journal_last(sup, MRT_SUP_EV_PAUSED, "worker");
  assert_int_equal(ev.operation_from, MRT_OP_ACTIVE);
  assert_int_equal(ev.operation_to, MRT_OP_PAUSED);
  assert_int_equal(ev.command_id, o.command_id);
  tell_child(sup, "worker", W_RELEASE);
  advance(MRT_SEC(600));
  assert_int_equal(attempts_of("worker"), 1);
  r = record(sup, "worker");
  assert_false(r.active);
  assert_int_equal(r.attempt, 0);
  assert_int_equal(r.stop_state, MRT_STOP_COMPLETED);
  mrt_ref_unref(sup);
}

static void remove_stops_then_deletes_the_record(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("worker", (worker_args){.on_request = ON_REQUEST_DEFER}),
                         worker("other", NOARGS)};
  mrt_ref *sup = boot(ch, 2);
  mrt_child_outcome o;
  assert_int_equal(mrt_supervisor_remove(sup, "worker", &o), 0);
  assert_int_equal(o.operation_after, MRT_OP_REMOVED);
  assert_true(o.stop_delivered);
  assert_int_equal(o.status, MRT_CHILD_STOPPING);
  assert_int_equal(tlog_count("request:worker"), 1);
  assert_true(has_record(sup, "worker")); /* until it has exited */
  assert_int_equal(record(sup, "worker").operation, MRT_OP_REMOVED);
  tell_child(sup, "worker", W_RELEASE);
  assert_false(has_record(sup, "worker"));
  mrt_supervisor_event ev = journal_last(sup, MRT_SUP_EV_REMOVED, "worker");
  assert_true(ev.had_attempt);
  assert_int_equal(ev.status, MRT_CHILD_STOPPED);
  assert_int_equal(mrt_supervisor_pause(sup, "worker", &o), -ENOENT);
  assert_int_equal(mrt_supervisor_remove(sup, "worker", &o), -ENOENT);
  assert_true(record(sup, "other").active);
  mrt_ref_unref(sup);
}

/* pause and quarantine: the child fails while its stop is under way, and is
 * not restarted (the operator wins over the automatic restart). */
static void held_child_is_not_restarted(mrt_child_command_kind kind) {
  tlog_n = 0;
  mrt_child_spec ch[] = {worker("worker", (worker_args){.on_request = ON_REQUEST_DEFER})};
  mrt_ref *sup = boot(ch, 1);
  mrt_child_command cmd;
  assert_int_equal(mrt_child_command_init(&cmd, kind, "worker"), 0);
  mrt_child_outcome o;
  assert_int_equal(mrt_supervisor_control(sup, &cmd, &o, 0), 0);
  mrt_child_operation op = kind == MRT_CHILD_CMD_PAUSE ? MRT_OP_PAUSED : MRT_OP_QUARANTINED;
  assert_int_equal(o.operation_after, op);
  tell_child(sup, "worker", W_FAIL); /* the release: it fails instead of stopping */
  advance(MRT_SEC(600));
  assert_int_equal(attempts_of("worker"), 1);
  mrt_child_record r = record(sup, "worker");
  assert_int_equal(r.operation, op);
  assert_false(r.active);
  assert_int_equal(r.attempt, 0);
  mrt_ref_unref(sup);
}

static void quarantine_blocks_auto_restart(void **unused) {
  (void)unused;
  held_child_is_not_restarted(MRT_CHILD_CMD_QUARANTINE);
}

static void pause_blocks_auto_restart_after_exit(void **unused) {
  (void)unused;
  held_child_is_not_restarted(MRT_CHILD_CMD_PAUSE);
}

static void command_targets_the_current_attempt(void **unused) {
  (void)unused;
  mrt_backoff_config fast = mrt_backoff_config_default();
  fast.initial_ns = 1;
  mrt_child_spec ch[] = {
      worker("worker", (worker_args){.fail_attempts = 1, .on_request = ON_REQUEST_DEFER})};
  ch[0].backoff = &fast;
  mrt_ref *sup = boot(ch, 1);
  advance(1);
  assert_int_equal(attempts_of("worker"), 2);
  assert_int_equal(record(sup, "worker").attempt, 2);
  mrt_child_outcome o;
  assert_int_equal(mrt_supervisor_pause(sup, "worker", &o), 0);
  assert_int_equal(o.attempt, 2);
  assert_int_equal(o.generation, 1);
  assert_int_equal(tlog_count("request:worker#2"), 1);
  assert_int_equal(tlog_count("request:worker#1"), 0);
  mrt_ref_unref(sup);
}

static void repeat(mrt_ref *sup, const char *id, mrt_child_command_kind kind,
                   mrt_child_operation op) {
  mrt_child_command cmd;
  mrt_child_outcome o;
  assert_int_equal(mrt_child_command_init(&cmd, kind, id), 0);
  assert_int_equal(mrt_supervisor_control(sup, &cmd, &o, 0), 0);
  assert_int_equal(o.operation_after, op);
  assert_false(o.idempotent);
  int stops = journal_count(sup, MRT_SUP_EV_STOP_DELIVERED, id);
  int ops =
      journal_count(sup, MRT_SUP_EV_PAUSED, id) + journal_count(sup, MRT_SUP_EV_QUARANTINED, id);
  for (int i = 0; i < 10; i++) {
    assert_int_equal(mrt_child_command_init(&cmd, kind, id), 0);
    assert_int_equal(mrt_supervisor_control(sup, &cmd, &o, 0), 0);
    assert_true(o.idempotent);
    assert_false(o.stop_delivered);
    assert_int_equal(o.operation_before, o.operation_after);
    assert_int_equal(o.operation_after, op);
  }
  assert_int_equal(journal_count(sup, MRT_SUP_EV_STOP_DELIVERED, id), stops);
  assert_int_equal(journal_count(sup, MRT_SUP_EV_PAUSED, id) +
                       journal_count(sup, MRT_SUP_EV_QUARANTINED, id),
                   ops);
}

static void repeated_stop_commands_are_idempotent(void **unused) {
  (void)unused;
  worker_args defer = {.on_request = ON_REQUEST_DEFER};
  mrt_child_spec ch[] = {worker("pause-worker", defer), worker("remove-worker", defer),
                         worker("quarantine-worker", defer)};
  mrt_ref *sup = boot(ch, 3);
  repeat(sup, "pause-worker", MRT_CHILD_CMD_PAUSE, MRT_OP_PAUSED);
  repeat(sup, "remove-worker", MRT_CHILD_CMD_REMOVE, MRT_OP_REMOVED);
  repeat(sup, "quarantine-worker", MRT_CHILD_CMD_QUARANTINE, MRT_OP_QUARANTINED);
  advance(MRT_MS(50));
  assert_int_equal(tlog_count("request:pause-worker"), 1);
  assert_int_equal(tlog_count("request:remove-worker"), 1);
  assert_int_equal(tlog_count("request:quarantine-worker"), 1);
  mrt_ref_unref(sup);
}

static void repeated_stop_commands_on_idle_children_are_idempotent(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("paused-idle", NOARGS), worker("quarantined-idle", NOARGS)};
  ch[0].restart = ch[1].restart = MRT_RESTART_TEMPORARY;
  mrt_ref *sup = boot(ch, 2);
  tell_child(sup, "paused-idle", W_EXIT);
  tell_child(sup, "quarantined-idle", W_EXIT);
  assert_false(record(sup, "paused-idle").active);
  repeat(sup, "paused-idle", MRT_CHILD_CMD_PAUSE, MRT_OP_PAUSED);
  repeat(sup, "quarantined-idle", MRT_CHILD_CMD_QUARANTINE, MRT_OP_QUARANTINED);
  assert_int_equal(journal_count(sup, MRT_SUP_EV_STOP_DELIVERED, NULL), 0);
  mrt_ref_unref(sup);
}

static void remove_without_active_attempt(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("worker", NOARGS)};
  ch[0].restart = MRT_RESTART_TEMPORARY;
  mrt_ref *sup = boot(ch, 1);
  tell_child(sup, "worker", W_EXIT);
  mrt_child_outcome o;
  assert_int_equal(mrt_supervisor_remove(sup, "worker", &o), 0);
  assert_int_equal(o.stop_state, MRT_STOP_NO_ACTIVE_ATTEMPT);
  assert_false(o.active);
  assert_int_equal(o.attempt, 0);
  assert_int_equal(o.generation, 0);
  assert_int_equal(o.status, MRT_CHILD_STOPPED);
  assert_false(o.stop_delivered);
  assert_int_equal(o.operation_after, MRT_OP_REMOVED);
  assert_false(o.idempotent);
  assert_false(has_record(sup, "worker"));
  mrt_supervisor_event ev = journal_last(sup, MRT_SUP_EV_REMOVED, "worker");
  assert_false(ev.had_attempt);
  assert_int_equal(ev.operation_from, MRT_OP_ACTIVE);
  mrt_ref_unref(sup);
}

static void ignored_grace_period_gives_stop_failure_outcome(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("worker", (worker_args){.on_request = ON_REQUEST_DEFER}),
                         worker("waited", (worker_args){.on_request = ON_REQUEST_DEFER})};
  ch[0].shutdown_grace_ns = ch[1].shutdown_grace_ns = MRT_MS(20);
  mrt_ref *sup = boot(ch, 2);
  mrt_child_outcome o;
  assert_int_equal(mrt_supervisor_pause(sup, "worker", &o), 0);
  assert_true(o.stop_delivered);
  assert_false(o.has_failure);
  advance(MRT_MS(40));
  mrt_child_record r = record(sup, "worker");
  assert_true(r.has_stop_failure);
  assert_int_equal(r.stop_failure.phase, MRT_STOP_PHASE_WAIT_COMPLETION);
  assert_true(strlen(r.stop_failure.reason) > 0);
  assert_int_equal(r.stop_state, MRT_STOP_FAILED);
  assert_false(r.active); /* killed */
  assert_int_equal(tlog_count("exit:worker:killed"), 1);
  assert_int_equal(mrt_supervisor_pause(sup, "worker", &o), 0); /* repeated */
  assert_true(o.idempotent);
  assert_true(o.has_failure);
  assert_int_equal(o.failure.phase, MRT_STOP_PHASE_WAIT_COMPLETION);
  assert_true(strlen(o.failure.reason) > 0);
  mrt_supervisor_event ev = journal_last(sup, MRT_SUP_EV_STOP_FAILED, "worker");
  assert_int_equal(ev.attempt, 1);
  assert_int_equal(ev.generation, 0);
  assert_int_equal(ev.status, MRT_CHILD_STOPPING);
  assert_int_equal(ev.stop_state, MRT_STOP_FAILED);
  assert_int_equal(ev.stop_phase, MRT_STOP_PHASE_WAIT_COMPLETION);
  assert_true(strlen(ev.reason) > 0);
  /* With wait, the outcome itself carries the failure. */
  mrt_child_command cmd;
  assert_int_equal(mrt_child_command_init(&cmd, MRT_CHILD_CMD_REMOVE, "waited"), 0);
  cmd.wait = true;
  uint64_t t0 = now();
  assert_int_equal(mrt_supervisor_control(sup, &cmd, &o, 0), 0);
  assert_true(now() - t0 >= MRT_MS(20));
  assert_true(o.stop_delivered);
  assert_int_equal(o.stop_state, MRT_STOP_FAILED);
  assert_true(o.has_failure);
  assert_int_equal(o.failure.phase, MRT_STOP_PHASE_WAIT_COMPLETION);
  assert_false(has_record(sup, "waited"));
  mrt_ref_unref(sup);
}

static void plain_class_is_stopped_directly(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {
      {.id = "plain", .cls = &plain_class, .args = &(worker_args){.name = "plain"}}};
  mrt_ref *sup = boot(ch, 1);
  mrt_child_command cmd;
  assert_int_equal(mrt_child_command_init(&cmd, MRT_CHILD_CMD_PAUSE, "plain"), 0);
  cmd.wait = true;
  mrt_child_outcome o;
  assert_int_equal(mrt_supervisor_control(sup, &cmd, &o, 0), 0);
  assert_true(o.stop_delivered);
  assert_int_equal(o.stop_state, MRT_STOP_COMPLETED);
  assert_false(o.has_failure);
  assert_int_equal(tlog_count("exit:plain:normal"), 1);
  mrt_ref_unref(sup);
}

static void restart_limit_exhaustion_visible_in_outcome(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("worker", NOARGS)};
  mrt_supervisor_spec spec = {.name = "ctl",
                              .max_restarts = 2,
                              .restart_window_ns = MRT_SEC(60),
                              .children = ch,
                              .n_children = 1};
  mrt_ref *sup = spawn_sup(&spec);
  tell_child(sup, "worker", W_FAIL);
  advance(MRT_MS(500));
  tell_child(sup, "worker", W_FAIL);
  advance(MRT_SEC(1));
  assert_int_equal(attempts_of("worker"), 3);
  mrt_child_record r = record(sup, "worker");
  assert_int_equal(r.restart_limit.limit, 2);
  assert_int_equal(r.restart_limit.used, 2);
  assert_int_equal(r.restart_limit.remaining, 0);
  assert_true(r.restart_limit.exhausted);
  assert_int_equal(r.restart_limit.window_ns, MRT_SEC(60));
  mrt_child_outcome o;
  assert_int_equal(mrt_supervisor_pause(sup, "worker", &o), 0);
  assert_int_equal(o.restart_limit.limit, 2);
  assert_int_equal(o.restart_limit.remaining, 0);
  assert_true(o.restart_limit.exhausted);
  assert_true(o.restart_limit.updated_at_ns >= r.restart_limit.updated_at_ns);
  assert_int_equal(journal_count(sup, MRT_SUP_EV_LIMIT_EXHAUSTED, NULL), 1);
  mrt_ref_unref(sup);
}

static void operator_wins_over_pending_restart(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("worker", NOARGS)};
  mrt_ref *sup = boot(ch, 1);
  tell_child(sup, "worker", W_FAIL); /* restart scheduled in 500 ms */
  assert_int_equal(record(sup, "worker").backoff.phase, MRT_BACKOFF_BACKING_OFF);
  mrt_child_outcome o;
  assert_int_equal(mrt_supervisor_pause(sup, "worker", &o), 0);
  assert_false(o.stop_delivered);
  assert_false(o.idempotent);
  assert_int_equal(o.stop_state, MRT_STOP_NO_ACTIVE_ATTEMPT);
  advance(MRT_SEC(10));
  assert_int_equal(attempts_of("worker"), 1);
  assert_int_equal(mrt_supervisor_resume(sup, "worker", &o), 0);
  assert_int_equal(o.operation_after, MRT_OP_ACTIVE);
  assert_false(o.idempotent);
  assert_true(o.active); /* the gate had opened: started at once */
  assert_int_equal(attempts_of("worker"), 2);
  assert_int_equal(mrt_supervisor_resume(sup, "worker", &o), 0);
  assert_true(o.idempotent);
  assert_int_equal(journal_count(sup, MRT_SUP_EV_RESUMED, "worker"), 1);
  mrt_ref_unref(sup);
}

static void restart_bypasses_backoff_and_the_limit(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("worker", NOARGS), worker("other", NOARGS)};
  mrt_ref *sup = boot(ch, 2);
  tell_child(sup, "worker", W_FAIL);
  advance(MRT_MS(500));
  tell_child(sup, "worker", W_FAIL); /* now gated for 1 s */
  mrt_child_record r = record(sup, "worker");
  assert_int_equal(r.backoff.phase, MRT_BACKOFF_BACKING_OFF);
  uint32_t used = r.restart_limit.used;
  mrt_child_outcome o;
  assert_int_equal(mrt_supervisor_restart(sup, "worker", &o), 0);
  assert_true(o.active);
  assert_int_equal(attempts_of("worker"), 3);
  r = record(sup, "worker");
  assert_int_equal(r.backoff.phase, MRT_BACKOFF_IDLE);
  assert_int_equal(r.next_backoff_ns, MRT_MS(500)); /* the slate was wiped */
  assert_int_equal(r.restart_limit.used, used);
  /* Restarting a running child: stop, then a new attempt at once. */
  assert_int_equal(mrt_supervisor_restart(sup, "other", &o), 0);
  assert_true(o.stop_delivered);
  advance(0);
  assert_int_equal(attempts_of("other"), 2);
  assert_int_equal(tlog_count("stop:other"), 1);
  r = record(sup, "other");
  assert_true(r.active);
  assert_int_equal(r.attempt, 2);
  /* Restart also releases a quarantine. */
  assert_int_equal(mrt_supervisor_quarantine(sup, "other", NULL), 0);
  assert_int_equal(mrt_supervisor_restart(sup, "other", &o), 0);
  assert_int_equal(o.operation_before, MRT_OP_QUARANTINED);
  assert_int_equal(o.operation_after, MRT_OP_ACTIVE);
  assert_int_equal(attempts_of("other"), 3);
  mrt_ref_unref(sup);
}

static void add_child_at_run_time(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("a", NOARGS)};
  mrt_ref *sup = boot(ch, 1);
  mrt_child_spec late = worker("late", NOARGS);
  mrt_child_outcome o;
  assert_int_equal(mrt_supervisor_add_child(sup, &late, &o), 0);
  assert_false(o.idempotent);
  assert_int_equal(o.command, MRT_CHILD_CMD_ADD);
  assert_true(o.active);
  assert_int_equal(o.attempt, 1);
  assert_int_equal(attempts_of("late"), 1);
  mrt_supervisor_state *st;
  assert_int_equal(mrt_supervisor_current_state(sup, &st), 0);
  assert_int_equal(st->n_children, 2);
  assert_string_equal(st->children[1].id, "late"); /* appended to the start order */
  mrt_supervisor_state_free(st);
  assert_int_equal(journal_count(sup, MRT_SUP_EV_ADDED, "late"), 1);
  late = worker("late", NOARGS);
  assert_int_equal(mrt_supervisor_add_child(sup, &late, &o), 0);
  assert_true(o.idempotent);
  assert_int_equal(attempts_of("late"), 1);
  mrt_child_spec clash = {.id = "late", .cls = &plain_class, .args = &(worker_args){.name = "x"}};
  assert_int_equal(mrt_supervisor_add_child(sup, &clash, &o), -EEXIST);
  mrt_child_spec bad = {.id = "bad"};
  assert_int_equal(mrt_supervisor_add_child(sup, &bad, &o), -EINVAL);
  assert_int_equal(mrt_supervisor_pause(sup, "nobody", &o), -ENOENT);
  assert_int_equal(mrt_supervisor_pause(NULL, "a", &o), -EINVAL);
  assert_int_equal(mrt_supervisor_pause(sup, NULL, &o), -EINVAL);
  mrt_ref_unref(sup);
}

static void commands_after_shutdown_fail(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("a", NOARGS)};
  mrt_ref *sup = boot(ch, 1);
  assert_int_equal(mrt_supervisor_shutdown(sup, 0), 0);
  mrt_child_outcome o;
  assert_int_equal(mrt_supervisor_pause(sup, "a", &o), -ESRCH);
  mrt_child_spec late = worker("late", NOARGS);
  assert_int_equal(mrt_supervisor_add_child(sup, &late, &o), -ESRCH); /* and no leak */
  mrt_ref_unref(sup);
}

/* An actor operating a supervisor: asks from its own context (the ADD's spec
 * copy travels in the message), and may not use the blocking wrappers. */
static mrt_child_outcome async_outcome;
static int async_status = 1, blocking_status = 1;

static int operator_done(mrt_actor *self, void *state, int status, const void *reply, void *ud) {
  (void)self;
  (void)state;
  (void)ud;
  async_status = status;
  if (status >= 0)
    async_outcome = *(const mrt_child_outcome *)reply;
  return 0;
}

static int operator_start(mrt_actor *self, void *state, const void *args) {
  (void)state;
  mrt_ref *sup = *(mrt_ref *const *)args;
  blocking_status = mrt_supervisor_pause(sup, "a", NULL);
  mrt_child_spec spec = worker("via-actor", NOARGS);
  mrt_child_command cmd;
  assert_int_equal(mrt_child_command_init_add(&cmd, &spec), 0);
  int rc = MRT_ASK(supervisor_control, self, sup, &cmd, 0, operator_done, NULL);
  if (rc < 0)
    mrt_child_command_clear(&cmd); /* not sent: still ours */
  return rc;
}

static const mrt_actor_class operator_class = {.name = "operator",
                                               .args_size = sizeof(mrt_ref *),
                                               .on_start = operator_start,
                                               .handlers = plain_handlers};

static void actors_operate_supervisors_asynchronously(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("a", NOARGS)};
  mrt_ref *sup = boot(ch, 1);
  mrt_ref *op;
  assert_int_equal(mrt_actor_spawn(rt, &operator_class, &sup, NULL, &op), 0);
  advance(0);
  assert_int_equal(blocking_status, -EDEADLK);
  assert_int_equal(async_status, 0);
  assert_int_equal(async_outcome.command, MRT_CHILD_CMD_ADD);
  assert_string_equal(async_outcome.child_id, "via-actor");
  assert_false(async_outcome.idempotent);
  assert_int_equal(attempts_of("via-actor"), 1);
  assert_true(record(sup, "via-actor").active);
  assert_true(record(sup, "a").active); /* the blocking pause never happened */
  mrt_ref_unref(op);
  mrt_ref_unref(sup);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
      T(pause_delivers_stop_and_blocks_restart),
      T(remove_stops_then_deletes_the_record),
      T(quarantine_blocks_auto_restart),
      T(pause_blocks_auto_restart_after_exit),
      T(command_targets_the_current_attempt),
      T(repeated_stop_commands_are_idempotent),
      T(repeated_stop_commands_on_idle_children_are_idempotent),
      T(remove_without_active_attempt),
      T(ignored_grace_period_gives_stop_failure_outcome),
      T(plain_class_is_stopped_directly),
      T(restart_limit_exhaustion_visible_in_outcome),
      T(operator_wins_over_pending_restart),
      T(restart_bypasses_backoff_and_the_limit),
      T(add_child_at_run_time),
      T(commands_after_shutdown_fail),
      T(actors_operate_supervisors_asynchronously),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
