/* SPDX-License-Identifier: MIT */
/* Tests: libmeshrt-testing's stand-ins — the fixture's virtual clock, the
 * counter, the tap (types filter, order, payload copies, times) and the
 * scripted responder (replies, errors, silence, repetition of the last step). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <meshrt/meshrt.h>
#include <meshrt/testing.h>

MRT_MESSAGE_DECLARE(, ping, int, int);
MRT_MESSAGE_DEFINE(ping, int, int, NULL, NULL);
MRT_MESSAGE_DECLARE(, note, int, mrt_none);
MRT_MESSAGE_DEFINE(note, int, mrt_none, NULL, NULL);

static void fixture_runs_on_virtual_clock(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  assert_int_equal(mrt_test_runtime_new(0, &rt), 0);
  assert_int_equal(mrt_runtime_now(rt), MRT_TEST_START_NS);
  assert_int_equal(mrt_runtime_advance(rt, MRT_SEC(3600)), 0);
  assert_int_equal(mrt_runtime_now(rt), MRT_TEST_START_NS + MRT_SEC(3600));
  assert_int_equal(mrt_runtime_advance_to_next(rt), 0); /* no timers */
  assert_int_equal(mrt_runtime_start(rt), -EINVAL);     /* driven by hand */
  mrt_runtime_unref(rt);
}

static void counter_counts_everything(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *c;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  assert_int_equal(mrt_test_counter_spawn(rt, &c), 0);
  for (int i = 0; i < 5; i++)
    assert_int_equal(MRT_TELL(note, c, &i), 0);
  assert_int_equal(MRT_TELL(ping, c, &(int){1}), 0);
  assert_int_equal(mrt_test_counter_get(c), 6);
  assert_int_equal(mrt_test_counter_get(c), 6); /* queries are not counted */
  mrt_ref_unref(c);
  mrt_runtime_unref(rt);
}

static void tap_records_given_types_in_order(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *tap;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  const mrt_msg_type *types[] = {&mrt_msg_note};
  assert_int_equal(mrt_test_tap_spawn(rt, types, 1, &tap), 0);
  assert_int_equal(MRT_TELL(note, tap, &(int){10}), 0);
  assert_int_equal(MRT_TELL(ping, tap, &(int){99}), 0); /* accepted, not recorded */
  mrt_runtime_advance(rt, MRT_MS(5));
  assert_int_equal(MRT_TELL(note, tap, &(int){20}), 0);
  assert_int_equal(mrt_test_tap_count(tap, &mrt_msg_note), 2);
  assert_int_equal(mrt_test_tap_count(tap, NULL), 2);
  assert_int_equal(mrt_test_tap_count(tap, &mrt_msg_ping), 0);
  mrt_test_tap_record rec;
  assert_int_equal(mrt_test_tap_get(tap, &mrt_msg_note, 1, &rec), 0);
  assert_int_equal(*(const int *)(const void *)rec.data, 20);
  assert_int_equal(rec.at_ns, MRT_TEST_START_NS + MRT_MS(5));
  assert_ptr_equal(rec.type, &mrt_msg_note);
  assert_int_equal(mrt_test_tap_get(tap, &mrt_msg_note, 2, &rec), -ENOENT);
  /* A tap answers no asks. */
  int out;
  assert_int_equal(MRT_ASK_SYNC(ping, tap, &(int){1}, &out, 0), -ECANCELED);
  const mrt_msg_type *too_many[MRT_TEST_TAP_TYPES_MAX + 1] = {0};
  assert_int_equal(mrt_test_tap_spawn(rt, too_many, MRT_TEST_TAP_TYPES_MAX + 1, &tap), -EINVAL);
  mrt_ref_unref(tap);
  mrt_runtime_unref(rt);
}

static void responder_plays_its_script(void **unused) {
  (void)unused;
  mrt_runtime *rt;
  mrt_ref *r;
  assert_int_equal(mrt_test_runtime_new(1, &rt), 0);
  int one = 1, two = 2;
  mrt_test_step script[] = {
      {&mrt_msg_ping, MRT_TEST_REPLY, &one, 0},
      {&mrt_msg_ping, MRT_TEST_ERROR, NULL, -EBUSY},
      {&mrt_msg_ping, MRT_TEST_SILENCE, NULL, 0},
      {&mrt_msg_ping, MRT_TEST_REPLY, &two, 0},
  };
  assert_int_equal(mrt_test_responder_spawn(rt, script, 4, &r), 0);
  int out = 0;
  assert_int_equal(MRT_ASK_SYNC(ping, r, &(int){0}, &out, 0), 0);
  assert_int_equal(out, 1);
  assert_int_equal(MRT_ASK_SYNC(ping, r, &(int){0}, &out, 0), -EBUSY);
  uint64_t t0 = mrt_runtime_now(rt);
  assert_int_equal(MRT_ASK_SYNC(ping, r, &(int){0}, &out, MRT_SEC(2)), -ETIMEDOUT);
  assert_int_equal(mrt_runtime_now(rt) - t0, MRT_SEC(2));
  for (int i = 0; i < 3; i++) { /* the last step repeats */
    assert_int_equal(MRT_ASK_SYNC(ping, r, &(int){0}, &out, 0), 0);
    assert_int_equal(out, 2);
  }
  assert_int_equal(mrt_test_responder_count(r, &mrt_msg_ping), 6);
  mrt_none none;
  assert_int_equal(mrt_ask_sync(r, &mrt_msg_note, &(int){0}, sizeof(int), &none, sizeof none, 0),
                   -ENOTSUP); /* not in the script */
  assert_int_equal(mrt_test_responder_count(r, NULL), 7);
  mrt_test_step bad[] = {{&mrt_msg_ping, MRT_TEST_ERROR, NULL, 5}};
  mrt_ref *r2 = NULL;
  assert_int_equal(mrt_test_responder_spawn(rt, bad, 1, &r2), -EINVAL);
  assert_null(r2);
  mrt_ref_unref(r);
  mrt_runtime_unref(rt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fixture_runs_on_virtual_clock),
      cmocka_unit_test(counter_counts_everything),
      cmocka_unit_test(tap_records_given_types_in_order),
      cmocka_unit_test(responder_plays_its_script),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
