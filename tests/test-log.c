/* SPDX-License-Identifier: MIT */
/* Tests: logging (levels, replaceable sink, record fields, sanitized text:
 * long records cut on a character boundary with "...", control characters
 * and invalid UTF-8 escaped), mrt_log_sanitize, and mrt_strerror. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <meshrt/meshrt.h>

static int seen;
static char last_text[2048];
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

/* Valid UTF-8 (no overlong forms, surrogates, or values past U+10FFFF) with
 * no C0 control character and no DEL. */
static bool clean(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    if (*p < 0x20 || *p == 0x7f)
      return false;
    size_t n = *p < 0x80                  ? 1
               : *p >= 0xc2 && *p <= 0xdf ? 2
               : *p >= 0xe0 && *p <= 0xef ? 3
               : *p >= 0xf0 && *p <= 0xf4 ? 4
                                          : 0;
    if (n == 0)
      return false;
    uint32_t v = *p & (n == 1 ? 0x7f : n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);
    for (size_t k = 1; k < n; k++) {
      if ((p[k] & 0xc0) != 0x80)
        return false;
      v = v << 6 | (p[k] & 0x3f);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) ||
        (v >= 0xd800 && v <= 0xdfff) || (v >= 0x80 && v <= 0x9f))
      return false;
    p += n;
  }
  return true;
}

/* A record longer than the 1024-byte buffer is cut on a character boundary
 * (never inside "é"), visibly. */
static void long_record_cut_on_a_character_boundary(void **unused) {
  (void)unused;
  char big[1400];
  size_t o = 0;
  big[o++] = 'x'; /* odd offset: a cut at 1023 bytes would split a character */
  while (o + 2 < sizeof big) {
    big[o++] = (char)0xc3;
    big[o++] = (char)0xa9;
  }
  big[o] = '\0';
  seen = 0;
  mrt_log_set_sink(capture, &seen);
  mrt_log(MRT_LOG_INFO, "test", "long %s", big);
  mrt_log_set_sink(NULL, NULL);
  assert_int_equal(seen, 1);
  assert_true(strlen(last_text) <= 1023);
  assert_true(strlen(last_text) > 1000);
  assert_true(clean(last_text));
  assert_string_equal(last_text + strlen(last_text) - 3, "...");
  assert_memory_equal(last_text + strlen(last_text) - 5, "\xc3\xa9", 2);
}

/* Control characters and invalid bytes in what a record quotes are escaped,
 * so a hostile name cannot forge a line or drive a terminal. */
static void records_escape_control_characters(void **unused) {
  (void)unused;
  seen = 0;
  mrt_log_set_sink(capture, &seen);
  mrt_log(MRT_LOG_INFO, "test", "name=%s next", "a\x1b[31mb\nFAKE line\r\x7f\xc2\x9b\xff\xc3");
  mrt_log_set_sink(NULL, NULL);
  assert_string_equal(last_text,
                      "name=a\\x1b[31mb\\x0aFAKE line\\x0d\\x7f\\xc2\\x9b\\xff\\xc3 next");
  assert_true(clean(last_text));
}

static void sanitize_cuts_escapes_and_marks(void **unused) {
  (void)unused;
  char out[16];
  /* fits: unchanged */
  assert_int_equal(mrt_log_sanitize(out, sizeof out, "caf\xc3\xa9", 5), 5);
  assert_string_equal(out, "caf\xc3\xa9");
  /* too long: cut on a boundary, "..." within the capacity */
  assert_int_equal(mrt_log_sanitize(out, 8, "abcdefghij", 10), 7);
  assert_string_equal(out, "abcd...");
  assert_int_equal(mrt_log_sanitize(out, 8, "ab\xe2\x82\xac\xe2\x82\xac", 8), 5);
  assert_string_equal(out, "ab...");
  /* an escape is never cut in half */
  mrt_log_sanitize(out, 10, "a\x01\x02", 3);
  assert_string_equal(out, "a\\x01\\x02");
  mrt_log_sanitize(out, 9, "a\x01\x02", 3);
  assert_string_equal(out, "a\\x01...");
  mrt_log_sanitize(out, 8, "a\x01\x02", 3);
  assert_string_equal(out, "a...");
  /* NUL bytes inside, overlong forms, surrogates, bidi overrides */
  char big[64];
  mrt_log_sanitize(big, sizeof big, "a\0b\xc0\xaf\xed\xa0\x80\xe2\x80\xae", 11);
  assert_string_equal(big, "a\\x00b\\xc0\\xaf\\xed\\xa0\\x80\\xe2\\x80\\xae");
  assert_true(clean(big));
  /* tiny or missing buffers */
  assert_int_equal(mrt_log_sanitize(out, 3, "abc", 3), 0);
  assert_string_equal(out, "");
  assert_int_equal(mrt_log_sanitize(NULL, 8, "abc", 3), 0);
  assert_int_equal(mrt_log_sanitize(out, 8, NULL, 0), 0);
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
      cmocka_unit_test(long_record_cut_on_a_character_boundary),
      cmocka_unit_test(records_escape_control_characters),
      cmocka_unit_test(sanitize_cuts_escapes_and_marks),
      cmocka_unit_test(levels_parse_and_name),
      cmocka_unit_test(strerror_names_codes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
