/* SPDX-License-Identifier: MIT */
/* Tests: what a supervisor lets you observe — current_state records with all
 * their fields (and 20 reads in a row each under 1 ms), readiness (immediate,
 * explicit, unreported vs not ready), heartbeats (none vs stale, on the
 * virtual clock), the bounded event journal with sequence numbers, the same
 * events on the bus, metrics through the API and as Prometheus text. */
#include "test-supervisor-fixture.h"

static mrt_ref *boot(mrt_child_spec *ch, size_t n) {
  mrt_supervisor_spec spec = {.name = "obs", .children = ch, .n_children = n};
  return spawn_sup(&spec);
}

static void current_state_exposes_full_runtime_records(void **unused) {
  (void)unused;
  worker_args lively = {.ready_on_start = true, .heartbeat_on_start = true};
  mrt_child_spec ch[] = {worker("alpha", lively), worker("beta", lively)};
  ch[0].readiness = ch[1].readiness = MRT_READINESS_EXPLICIT;
  ch[0].heartbeat_stale_ns = ch[1].heartbeat_stale_ns = MRT_SEC(10);
  mrt_ref *sup = boot(ch, 2);
  mrt_supervisor_state *st;
  assert_int_equal(mrt_supervisor_current_state(sup, &st), 0);
  assert_string_equal(st->name, "obs");
  assert_int_equal(st->actor_id, mrt_ref_id(sup));
  assert_int_equal(st->now_ns, now());
  assert_int_equal(st->n_children, 2);
  assert_string_equal(st->children[0].id, "alpha");
  assert_string_equal(st->children[1].id, "beta");
  for (size_t i = 0; i < 2; i++) {
    const mrt_child_record *r = &st->children[i];
    assert_true(r->active);
    assert_true(r->actor_id > 0);
    assert_int_equal(r->attempt, 1);
    assert_int_equal(r->generation, 0);
    assert_int_equal(r->status, MRT_CHILD_READY);
    assert_int_equal(r->operation, MRT_OP_ACTIVE);
    assert_int_equal(r->readiness, MRT_READINESS_READY);
    assert_true(r->has_heartbeat);
    assert_int_equal(r->last_heartbeat_ns, now());
    assert_false(r->heartbeat_stale);
    assert_int_equal(r->heartbeat_stale_threshold_ns, MRT_SEC(10));
    assert_true(r->restart_limit.remaining > 0);
    assert_int_equal(r->backoff.phase, MRT_BACKOFF_IDLE);
    assert_int_equal(r->next_backoff_ns, MRT_MS(500));
    assert_false(r->has_stop_failure);
    assert_false(r->has_last_failure);
    assert_int_equal(r->stop_state, MRT_STOP_NONE);
  }
  mrt_supervisor_state_free(st);
  assert_state_reads_consistent(sup);
  assert_int_equal(mrt_supervisor_current_state(NULL, &st), -EINVAL);
  assert_int_equal(mrt_supervisor_current_state(sup, NULL), -EINVAL);
  assert_null(mrt_supervisor_state_find(NULL, "alpha"));
  mrt_ref_unref(sup);
}

static void readiness_distinguishes_unreported_from_not_ready(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("worker", NOARGS), worker("eager", NOARGS)};
  ch[0].readiness = MRT_READINESS_EXPLICIT;
  mrt_ref *sup = boot(ch, 2);
  mrt_child_record r = record(sup, "worker");
  assert_int_equal(r.readiness, MRT_READINESS_UNREPORTED);
  assert_int_equal(r.status, MRT_CHILD_RUNNING);
  assert_int_equal(record(sup, "eager").readiness, MRT_READINESS_READY);
  tell_child(sup, "worker", W_NOT_READY);
  r = record(sup, "worker");
  assert_int_equal(r.readiness, MRT_READINESS_NOT_READY);
  assert_int_equal(r.status, MRT_CHILD_RUNNING);
  tell_child(sup, "worker", W_READY);
  r = record(sup, "worker");
  assert_int_equal(r.readiness, MRT_READINESS_READY);
  assert_int_equal(r.status, MRT_CHILD_READY);
  tell_child(sup, "worker", W_READY); /* no change, no event */
  assert_int_equal(journal_count(sup, MRT_SUP_EV_NOT_READY, "worker"), 1);
  assert_int_equal(journal_count(sup, MRT_SUP_EV_READY, "worker"), 1);
  /* An immediate child that degrades is no longer ready either. */
  tell_child(sup, "eager", W_NOT_READY);
  assert_int_equal(record(sup, "eager").status, MRT_CHILD_RUNNING);
  assert_state_reads_consistent(sup);
  mrt_ref_unref(sup);
}

static void heartbeat_missing_differs_from_stale(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("worker", NOARGS)};
  ch[0].heartbeat_stale_ns = MRT_MS(100);
  mrt_ref *sup = boot(ch, 1);
  advance(MRT_SEC(1));
  mrt_child_record r = record(sup, "worker");
  assert_false(r.has_heartbeat); /* never reported: not stale */
  assert_false(r.heartbeat_stale);
  tell_child(sup, "worker", W_HEARTBEAT);
  uint64_t beat = now();
  r = record(sup, "worker");
  assert_true(r.has_heartbeat);
  assert_int_equal(r.last_heartbeat_ns, beat);
  assert_false(r.heartbeat_stale);
  advance(MRT_MS(99));
  r = record(sup, "worker");
  assert_int_equal(r.heartbeat_age_ns, MRT_MS(99));
  assert_false(r.heartbeat_stale);
  assert_int_equal(journal_count(sup, MRT_SUP_EV_HEARTBEAT_STALE, "worker"), 0);
  advance(MRT_MS(1));
  assert_true(record(sup, "worker").heartbeat_stale);
  mrt_supervisor_event ev = journal_last(sup, MRT_SUP_EV_HEARTBEAT_STALE, "worker");
  assert_int_equal(ev.at_ns, beat + MRT_MS(100));
  assert_int_equal(ev.attempt, 1);
  advance(MRT_SEC(5)); /* one event per stale spell */
  assert_int_equal(journal_count(sup, MRT_SUP_EV_HEARTBEAT_STALE, "worker"), 1);
  tell_child(sup, "worker", W_HEARTBEAT);
  assert_false(record(sup, "worker").heartbeat_stale);
  mrt_supervisor_metrics *m;
  assert_int_equal(mrt_supervisor_metrics_get(sup, &m), 0);
  assert_int_equal(m->children[0].stale_heartbeats, 1);
  mrt_supervisor_metrics_free(m);
  /* Heartbeats keep it fresh. */
  for (int i = 0; i < 5; i++) {
    advance(MRT_MS(60));
    tell_child(sup, "worker", W_HEARTBEAT);
  }
  assert_int_equal(journal_count(sup, MRT_SUP_EV_HEARTBEAT_STALE, "worker"), 1);
  mrt_ref_unref(sup);
}

static void journal_is_bounded_and_numbered(void **unused) {
  (void)unused;
  mrt_child_spec ch[] = {worker("a", NOARGS), worker("b", NOARGS)};
  mrt_supervisor_spec spec = {
      .name = "obs", .journal_capacity = 8, .children = ch, .n_children = 2};
  mrt_ref *sup = spawn_sup(&spec);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(mrt_supervisor_pause(sup, "a", NULL), 0);
    assert_int_equal(mrt_supervisor_resume(sup, "a", NULL), 0);
  }
  mrt_supervisor_event_list *l;
  assert_int_equal(mrt_supervisor_events(sup, 0, &l), 0);
  assert_int_equal(l->n, 8);
  assert_true(l->last_seq > 8);
  assert_int_equal(l->dropped, l->last_seq - 8);
  for (size_t i = 0; i < l->n; i++) {
    assert_int_equal(l->events[i].seq, l->last_seq - 7 + i);
    assert_string_equal(l->events[i].supervisor, "obs");
    assert_int_equal(l->events[i].supervisor_id, mrt_ref_id(sup));
    assert_true(i == 0 || l->events[i].at_ns >= l->events[i - 1].at_ns);
  }
  uint64_t last = l->last_seq;
  mrt_supervisor_event_list_free(l);
  assert_int_equal(mrt_supervisor_events(sup, last - 2, &l), 0);
  assert_int_equal(l->n, 2);
  assert_int_equal(l->dropped, 0);
  assert_int_equal(l->events[0].seq, last - 1);
  mrt_supervisor_event_list_free(l);
  assert_int_equal(mrt_supervisor_events(sup, last, &l), 0);
  assert_int_equal(l->n, 0);
  mrt_supervisor_event_list_free(l);
  assert_int_equal(mrt_supervisor_events(NULL, 0, &l), -EINVAL);
  mrt_ref_unref(sup);
}

static void events_are_published_on_the_bus(void **unused) {
  (void)unused;
  mrt_ref *sink = sink_spawn();
  mrt_child_spec ch[] = {worker("a", NOARGS), worker("b", NOARGS), worker("c", NOARGS)};
  mrt_ref *sup = boot(ch, 3);
  tell_child(sup, "b", W_FAIL);
  advance(MRT_SEC(1));
  mrt_supervisor_event_list *l;
  assert_int_equal(mrt_supervisor_events(sup, 0, &l), 0);
  assert_int_equal(sink_n, (int)l->n);
  for (size_t i = 0; i < l->n; i++) {
    assert_int_equal(sink_events[i].seq, i + 1);
    assert_int_equal(sink_events[i].seq, l->events[i].seq);
    assert_int_equal(sink_events[i].kind, l->events[i].kind);
    assert_int_equal(sink_events[i].at_ns, l->events[i].at_ns);
    assert_string_equal(sink_events[i].child_id, l->events[i].child_id);
  }
  mrt_supervisor_event_list_free(l);
  static const mrt_supervisor_event_kind expect[] = {
      MRT_SUP_EV_FAILED,   MRT_SUP_EV_BACKOFF_SCHEDULED, MRT_SUP_EV_RESTARTING,
      MRT_SUP_EV_STARTING, MRT_SUP_EV_RUNNING,           MRT_SUP_EV_READY};
  int at = 0;
  for (size_t k = 0; k < sizeof expect / sizeof expect[0]; k++) {
    while (at < sink_n &&
           !(sink_events[at].kind == expect[k] && strcmp(sink_events[at].child_id, "b") == 0))
      at++;
    assert_true(at < sink_n);
  }
  mrt_supervisor_event f = journal_last(sup, MRT_SUP_EV_FAILED, "b");
  assert_int_equal(f.attempt, 1); /* the attempt that failed */
  assert_int_equal(f.status, MRT_CHILD_STOPPED);
  assert_int_equal(f.exit_kind, MRT_EXIT_FAILED);
  assert_int_equal(f.error, -EIO);
  assert_string_equal(f.reason, "b asked to fail");
  mrt_bus_stats bs;
  assert_int_equal(mrt_bus_stats_get(mrt_runtime_bus(rt), &mrt_msg_supervisor_event, &bs), 0);
  assert_int_equal(bs.published, (uint64_t)sink_n);
  mrt_ref_unref(sup);
  mrt_ref_unref(sink);
}

/* A failure, a restart and a pause, then the metrics. */
static mrt_supervisor_metrics *metrics_after_activity(mrt_ref **sup) {
  static mrt_child_spec ch[2];
  ch[0] = worker("a", NOARGS);
  ch[1] = worker("b\"q\\", NOARGS);
  *sup = boot(ch, 2);
  tell_child(*sup, "a", W_FAIL);
  advance(MRT_SEC(1));
  assert_int_equal(mrt_supervisor_pause(*sup, "b\"q\\", NULL), 0);
  mrt_supervisor_metrics *m;
  assert_int_equal(mrt_supervisor_metrics_get(*sup, &m), 0);
  return m;
}

static void metrics_through_the_api(void **unused) {
  (void)unused;
  mrt_ref *sup;
  mrt_supervisor_metrics *m = metrics_after_activity(&sup);
  assert_string_equal(m->name, "obs");
  assert_int_equal(m->restarts, 1);
  assert_int_equal(m->escalations, 0);
  assert_int_equal(m->operations[MRT_CHILD_CMD_PAUSE], 1);
  assert_int_equal(m->limit, MRT_SUPERVISOR_DEFAULT_MAX_RESTARTS);
  assert_int_equal(m->limit_remaining, MRT_SUPERVISOR_DEFAULT_MAX_RESTARTS - 1);
  assert_int_equal(m->n_children, 2);
  assert_int_equal(m->children[0].restarts, 1);
  assert_int_equal(m->children[0].failures, 1);
  assert_int_equal(m->children[0].starts, 2);
  assert_int_equal(m->children[0].backoff_ns_total, MRT_MS(500));
  assert_true(m->children[0].ready);
  assert_int_equal(m->children[1].operation, MRT_OP_PAUSED);
  assert_int_equal(m->children[1].status, MRT_CHILD_STOPPED);
  mrt_supervisor_metrics_free(m);
  assert_int_equal(mrt_supervisor_metrics_get(NULL, &m), -EINVAL);
  assert_int_equal(mrt_supervisor_metrics_get(sup, NULL), -EINVAL);
  mrt_ref_unref(sup);
}

static void metrics_as_prometheus_text(void **unused) {
  (void)unused;
  mrt_ref *sup;
  mrt_supervisor_metrics *m = metrics_after_activity(&sup);
  const mrt_supervisor_metrics *one[] = {m};
  int need = mrt_supervisor_metrics_render(one, 1, NULL, 0);
  assert_true(need > 0);
  char *text = malloc((size_t)need + 1);
  assert_int_equal(mrt_supervisor_metrics_render(one, 1, text, (size_t)need + 1), need);
  assert_int_equal(strlen(text), (size_t)need);
  static const char *const lines[] = {
      "# TYPE meshrt_supervisor_restarts_total counter\n",
      "meshrt_supervisor_restarts_total{supervisor=\"obs\"} 1\n",
      "meshrt_supervisor_restart_limit_remaining{supervisor=\"obs\"} 2\n",
      "meshrt_supervisor_child_restarts_total{supervisor=\"obs\",child=\"a\"} 1\n",
      "meshrt_supervisor_child_failures_total{supervisor=\"obs\",child=\"a\"} 1\n",
      "meshrt_supervisor_child_backoff_seconds_total{supervisor=\"obs\",child=\"a\"} 0.5\n",
      "meshrt_supervisor_child_ready{supervisor=\"obs\",child=\"a\"} 1\n",
      "meshrt_supervisor_child_status{supervisor=\"obs\",child=\"a\",status=\"ready\"} 1\n",
      "meshrt_supervisor_child_status{supervisor=\"obs\",child=\"a\",status=\"running\"} 0\n",
      "meshrt_supervisor_child_operation{supervisor=\"obs\",child=\"b\\\"q\\\\\",operation="
      "\"paused\"} 1\n",
      "meshrt_supervisor_operations_total{supervisor=\"obs\",command=\"pause\"} 1\n",
      "meshrt_supervisor_child_heartbeat_stale_total{supervisor=\"obs\",child=\"a\"} 0\n",
  };
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
    if (strstr(text, lines[i]) == NULL)
      fail_msg("missing line: %s\n--- got:\n%s", lines[i], text);
  /* Truncation behaves like snprintf. */
  char small[16];
  assert_int_equal(mrt_supervisor_metrics_render(one, 1, small, sizeof small), need);
  assert_int_equal(strlen(small), sizeof small - 1);
  assert_memory_equal(small, text, sizeof small - 1);
  /* Two supervisors: one header per family. */
  const mrt_supervisor_metrics *two[] = {m, m};
  int need2 = mrt_supervisor_metrics_render(two, 2, NULL, 0);
  char *text2 = malloc((size_t)need2 + 1);
  mrt_supervisor_metrics_render(two, 2, text2, (size_t)need2 + 1);
  int types = 0;
  for (const char *p = text2; (p = strstr(p, "# TYPE meshrt_supervisor_restarts_total ")); p++)
    types++;
  assert_int_equal(types, 1);
  assert_int_equal(mrt_supervisor_metrics_render(NULL, 1, text2, 4), -EINVAL);
  free(text2);
  free(text);
  mrt_supervisor_metrics_free(m);
  mrt_ref_unref(sup);
}

static void names_are_stable(void **unused) {
  (void)unused;
  assert_string_equal(mrt_child_status_name(MRT_CHILD_STOPPING), "stopping");
  assert_string_equal(mrt_child_operation_name(MRT_OP_QUARANTINED), "quarantined");
  assert_string_equal(mrt_readiness_name(MRT_READINESS_NOT_READY), "not_ready");
  assert_string_equal(mrt_stop_state_name(MRT_STOP_FAILED), "failed");
  assert_string_equal(mrt_child_command_name(MRT_CHILD_CMD_RESTART), "restart");
  assert_string_equal(mrt_supervisor_event_kind_name(MRT_SUP_EV_LIMIT_EXHAUSTED),
                      "limit_exhausted");
  assert_string_equal(mrt_supervisor_event_kind_name((mrt_supervisor_event_kind)99), "?");
}

static int orphan_result = 1;
static int orphan_start(mrt_actor *self, void *state, const void *args) {
  (void)state;
  (void)args;
  orphan_result = mrt_supervisor_heartbeat(self);
  return 0;
}
static const mrt_actor_class orphan_class = {
    .name = "orphan", .on_start = orphan_start, .handlers = plain_handlers};

static void reports_need_a_supervisor(void **unused) {
  (void)unused;
  mrt_ref *orphan;
  assert_int_equal(mrt_actor_spawn(rt, &orphan_class, NULL, NULL, &orphan), 0);
  mrt_runtime_run_until_idle(rt);
  assert_int_equal(orphan_result, -ESRCH);
  assert_int_equal(mrt_supervisor_report_ready(NULL), -EINVAL);
  mrt_ref_unref(orphan);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
      T(current_state_exposes_full_runtime_records),
      T(readiness_distinguishes_unreported_from_not_ready),
      T(heartbeat_missing_differs_from_stale),
      T(journal_is_bounded_and_numbered),
      T(events_are_published_on_the_bus),
      T(metrics_through_the_api),
      T(metrics_as_prometheus_text),
      T(reports_need_a_supervisor),
      cmocka_unit_test(names_are_stable),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
