/* SPDX-License-Identifier: MIT */
/* meshrt-node — rate-limited log lines.
 *
 * A condition that can repeat as fast as the loop spins (accept failing with
 * EMFILE, clients refused at the cap) is logged at most once per interval,
 * and the next line says how many were held back, so a flood costs a few
 * lines instead of millions. A limiter is a plain struct owned by one thread
 * (the service loop); no locking.
 */
#ifndef MESHRT_TOOLS_RATELIMIT_H
#define MESHRT_TOOLS_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct mn_ratelimit {
  uint64_t next_ns;    /* no line before this (0: none logged yet) */
  uint64_t suppressed; /* held back since the last line */
} mn_ratelimit;

/* True when a line may be logged at now_ns (then *held gets how many were
 * held back since the last one, and the next line waits interval_ns); false
 * counts one more held back. */
static inline bool mn_ratelimit_allow(mn_ratelimit *r, uint64_t now_ns, uint64_t interval_ns,
                                      uint64_t *held) {
  if (r->next_ns != 0 && now_ns < r->next_ns) {
    r->suppressed++;
    return false;
  }
  *held = r->suppressed;
  r->suppressed = 0;
  r->next_ns = now_ns + interval_ns;
  return true;
}

#endif
