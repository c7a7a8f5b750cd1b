/* SPDX-License-Identifier: MIT */
/* Compile-fail tests: the correct uses every case file shares.
 *
 * Each case file is this header plus exactly one call that passes a pointer
 * of the wrong type to a typed message macro; ok.c is this header alone. The
 * control compiles (with the same flags) so a case that fails can only fail
 * on its one wrong line, not on a missing include or a typo here. Nothing is
 * linked or run: the files are compiled with -fsyntax-only.
 */
#ifndef MRT_COMPILE_FAIL_USES_H
#define MRT_COMPILE_FAIL_USES_H

#include <meshrt/send.h>
#include <meshrt/timer.h>

typedef struct {
  int seq;
} cf_ping;
typedef struct {
  long rtt;
} cf_pong;
/* Same size as cf_ping: a wrong type here used to go through with a warning
 * and no size mismatch for the runtime to catch. */
typedef struct {
  int other;
} cf_imposter;

MRT_MESSAGE_DECLARE(, cf_ping, cf_ping, cf_pong);
MRT_MESSAGE_DECLARE(, cf_ref, mrt_ref *, int);

int cf_uses(mrt_actor *self, mrt_ref *to, mrt_reply *r, mrt_ask_fn cb);

/* Every typed macro with pointers of the declared types, const or not. */
int cf_uses(mrt_actor *self, mrt_ref *to, mrt_reply *r, mrt_ask_fn cb) {
  cf_ping ping = {1};
  const cf_ping *cping = &ping;
  cf_pong pong;
  uint64_t id;
  int rc = MRT_TELL(cf_ping, to, &ping);
  rc |= MRT_TELL(cf_ping, to, cping);
  rc |= MRT_TELL(cf_ping, to, &((cf_ping){.seq = 2}));
  rc |= MRT_TELL(cf_ref, to, &to);
  rc |= MRT_ASK(cf_ping, self, to, cping, 0, cb, NULL);
  rc |= MRT_ASK_SYNC(cf_ping, to, &ping, &pong, 0);
  rc |= MRT_ASK_SYNC(cf_ref, to, &to, &rc, 0);
  rc |= MRT_REPLY(cf_ping, r, &pong);
  rc |= MRT_REPLY(cf_ping, r, (const cf_pong *)&pong);
  rc |= MRT_SEND_AFTER(cf_ping, self, to, 1, &ping, &id);
  rc |= MRT_SEND_AFTER(cf_ping, self, to, 1, cping, NULL);
  const cf_ping *back = mrt_payload_cf_ping(&ping);
  return rc + back->seq;
}

#endif
