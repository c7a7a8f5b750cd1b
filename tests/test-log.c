/* Tests: logging (levels, replaceable sink, record fields) and mrt_strerror. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <meshrt/meshrt.h>

static int seen;
static char last_text[256];
static char last_component[32];
static mrt_log_level last_level;

static void capture(const mrt_log_record *rec, void *user) {
  (*(int *)user)++;
  last_level = rec->level;
  snprintf(last_text, sizeof last_text, "%s", rec->text);
  snprintf(last_component, sizeof last_component, "%s", rec->component);
}

static void sink_receives_records_at_or_above_level(void **unused) {
  (void)unused;
  seen = 0;
  mrt_log_set_sink(capture, &seen);
  mrt_log_set_level(MRT_LOG_INFO);
  mrt_log(MRT_LOG_INFO, "test", "bound socket port=%d", 41641);
  assert_int_equal(seen, 1);
  assert_string_equal(last_text, "bound socket port=41641");
  assert_string_equal(last_component, "test");
  assert_int_equal(last_level, MRT_LOG_INFO);
  mrt_log(MRT_LOG_DEBUG, "test", "hidden");
  assert_int_equal(seen, 1);
  mrt_log_set_level(MRT_LOG_TRACE);
  mrt_log(MRT_LOG_DEBUG, "test", "shown");
  assert_int_equal(seen, 2);
  /* The runtime logs refused calls through the same sink. */
  assert_int_equal(mrt_actor_stop(NULL), -EINVAL);
  assert_int_equal(seen, 3);
  assert_string_equal(last_component, "runtime");
  mrt_log_set_sink(NULL, NULL);
  mrt_log_set_level(MRT_LOG_INFO);
}

static void levels_parse_and_name(void **unused) {
  (void)unused;
  assert_int_equal(mrt_log_level_parse("debug"), MRT_LOG_DEBUG);
  assert_int_equal(mrt_log_level_parse("WARN"), MRT_LOG_WARN);
  assert_int_equal(mrt_log_level_parse("warning"), MRT_LOG_WARN);
  assert_int_equal(mrt_log_level_parse("loud"), -EINVAL);
  assert_int_equal(mrt_log_level_parse(NULL), -EINVAL);
  assert_string_equal(mrt_log_level_name(MRT_LOG_ERROR), "error");
}

static void strerror_names_codes(void **unused) {
  (void)unused;
  assert_string_equal(mrt_strerror(0), "success");
  assert_string_equal(mrt_strerror(-ESRCH), "actor gone");
  assert_string_equal(mrt_strerror(-EAGAIN), "mailbox full");
  assert_string_equal(mrt_strerror(-EDEADLK), "blocking call on an executor thread");
  assert_string_equal(mrt_strerror(-EADDRINUSE), "Address already in use");
  assert_string_equal(mrt_strerror(-99999), "unknown error");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sink_receives_records_at_or_above_level),
      cmocka_unit_test(levels_parse_and_name),
      cmocka_unit_test(strerror_names_codes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
