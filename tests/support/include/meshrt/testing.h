/* SPDX-License-Identifier: MIT */
/* meshrt-testing — helpers for testing code that runs on meshrt.
 *
 * Installed with libmeshrt for hosts' own tests. A fixture builds a runtime on
 * the virtual clock, driven by hand (so tests decide when time moves and
 * never sleep). Stand-in actors replace real collaborators:
 *   - counter: counts every message it receives, of any type;
 *   - tap: records every message of the types it was given (a copy of up to
 *     MRT_TEST_TAP_PAYLOAD_MAX bytes of each payload, and the time);
 *   - responder: answers asks per message type from a script: a canned reply,
 *     an error, or silence (the asker times out).
 * Queries (count, nth record) are asks, so they work from the test thread with
 * mrt_ask_sync, which drives a hand-driven runtime while it waits.
 */
#ifndef MESHRT_TESTING_H
#define MESHRT_TESTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <meshrt/meshrt.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Virtual time the fixture starts at: 1000 s, so "now - x" never wraps. */
#define MRT_TEST_START_NS MRT_SEC(1000)

/* Creates a hand-driven runtime on the virtual clock, at MRT_TEST_START_NS,
 * with `executors` executors (0 means 1). *out owns one reference (drop it
 * with mrt_runtime_unref). Drive it from one thread (the test's). Returns 0
 * or mrt_runtime_new's errors (-EINVAL, -ENOMEM, ...). */
MRT_API int mrt_test_runtime_new(unsigned executors, mrt_runtime **out);

/* ---- counter ------------------------------------------------------------- */

/* Spawns a counter; *out receives a reference the caller owns. Any thread.
 * Returns 0 or mrt_actor_spawn's errors. */
MRT_API int mrt_test_counter_spawn(mrt_runtime *rt, mrt_ref **out);
/* Messages received so far (not counting this query), or a negative errno
 * (mrt_ask_sync's: call from the test thread, not from an actor). */
MRT_API int64_t mrt_test_counter_get(mrt_ref *counter);

/* ---- tap ----------------------------------------------------------------- */
#define MRT_TEST_TAP_TYPES_MAX 16
#define MRT_TEST_TAP_PAYLOAD_MAX 256

typedef struct mrt_test_tap_record {
  const mrt_msg_type *type;
  uint64_t at_ns; /* runtime clock when received */
  uint64_t seq;   /* order across all recorded types */
  size_t size;    /* bytes copied into data */
  unsigned char data[MRT_TEST_TAP_PAYLOAD_MAX];
} mrt_test_tap_record;

/* Spawns a tap recording the `n` types given (at most MRT_TEST_TAP_TYPES_MAX;
 * the array is copied, the descriptors borrowed); it accepts every type but
 * records only those. Asks of recorded types are answered -ECANCELED (a tap
 * observes, it does not answer). *out receives a reference the caller owns.
 * Any thread. Returns 0, -EINVAL (too many types, NULL types with n > 0) or
 * mrt_actor_spawn's errors. */
MRT_API int mrt_test_tap_spawn(mrt_runtime *rt, const mrt_msg_type *const *types, size_t n,
                               mrt_ref **out);
/* Records of `type` so far (type NULL: of all types), or a negative errno
 * (-ENOMEM, or mrt_ask_sync's). Test thread. */
MRT_API int64_t mrt_test_tap_count(mrt_ref *tap, const mrt_msg_type *type);
/* Copies the index-th record of `type` (NULL: of all types) into *out.
 * Test thread. Returns 0, -ENOENT if there is no such record, -EINVAL (NULL
 * out), -ENOMEM, or mrt_ask_sync's errors. */
MRT_API int mrt_test_tap_get(mrt_ref *tap, const mrt_msg_type *type, size_t index,
                             mrt_test_tap_record *out);

/* ---- scripted responder -------------------------------------------------- */
typedef enum mrt_test_action {
  MRT_TEST_REPLY = 0, /* answer with `reply` (type->reply_size bytes) */
  MRT_TEST_ERROR,     /* answer with `error` (< 0) */
  MRT_TEST_SILENCE,   /* keep the token and never answer */
} mrt_test_action;

typedef struct mrt_test_step {
  const mrt_msg_type *type;
  mrt_test_action action;
  const void *reply; /* copied at spawn */
  int error;
} mrt_test_step;

/* Spawns a responder. For each ask of a type, it plays that type's next step in
 * script order; the last step of a type repeats. Tells are counted only. It
 * accepts every type: asks of types not in the script are answered -ENOTSUP.
 * The script (1..32 steps) and each REPLY's reply bytes are copied. *out
 * receives a reference the caller owns. Any thread. Returns 0, -EINVAL (no
 * or too many steps, a step without type, a REPLY without reply, an ERROR
 * with error >= 0), -ENOMEM or mrt_actor_spawn's errors. */
MRT_API int mrt_test_responder_spawn(mrt_runtime *rt, const mrt_test_step *steps, size_t n,
                                     mrt_ref **out);
/* Messages of `type` received so far (NULL: all), or a negative errno
 * (mrt_ask_sync's). Test thread. */
MRT_API int64_t mrt_test_responder_count(mrt_ref *responder, const mrt_msg_type *type);

#ifdef __cplusplus
}
#endif
#endif
