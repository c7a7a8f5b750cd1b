/* SPDX-License-Identifier: MIT */
/* Compile-fail case: MRT_REPLY with a reply of the wrong type.
 * It must not compile under any warning flags (the test passes -w). */
#include "uses.h"

int cf_case(mrt_actor *self, mrt_ref *to, mrt_reply *r, mrt_ask_fn cb);
int cf_case(mrt_actor *self, mrt_ref *to, mrt_reply *r, mrt_ask_fn cb) {
  cf_imposter wrong = {1};
  cf_pong pong;
  (void)self, (void)to, (void)r, (void)cb, (void)wrong, (void)pong;
  return MRT_REPLY(cf_ping, r, &wrong); /* the wrong line */
}
