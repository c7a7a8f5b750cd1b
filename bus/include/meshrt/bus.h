/* SPDX-License-Identifier: MIT */
/* meshrt — the typed publish/subscribe bus.
 *
 * One bus per runtime, keyed by message type. Actors subscribe to a type;
 * mrt_bus_publish() delivers one payload to every live subscriber, in
 * subscription order, without blocking the publisher. The payload is copied
 * once and shared by every delivery: its drop hook runs exactly once, after the
 * last subscriber's handler (or when nobody took it). Per publisher, every
 * subscriber sees publishes in publish order.
 *
 * Per type (set with mrt_bus_configure before or while in use):
 *   - delivery policy for a full bounded subscriber mailbox: best effort (drop
 *     that copy and count it; the default), report (publish returns the
 *     number of failed deliveries), or latest (drop and count it, and deliver
 *     the type's newest value to that subscriber as soon as a turn of its has
 *     made room: for state where a newer value supersedes every older one, so
 *     a flood of publishes costs a subscriber one mailbox slot per type and
 *     the last value published always arrives);
 *   - retained: the bus keeps the last published value, and a new subscriber
 *     receives it at once on subscribing (current-value state such as the DERP
 *     map or the home region).
 * Subscribers that stop are pruned at the next publish and never receive
 * anything after their stop. Every function may be called from any thread,
 * including handlers.
 */
#ifndef MESHRT_BUS_H
#define MESHRT_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <meshrt/export.h>
#include <meshrt/message.h>
#include <meshrt/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mrt_bus mrt_bus;

typedef enum mrt_bus_policy {
  MRT_BUS_BEST_EFFORT = 0, /* full mailbox: drop that copy, count it */
  MRT_BUS_REPORT = 1,      /* full mailbox: count it and report it to the publisher */
  MRT_BUS_LATEST = 2,      /* full mailbox: count it; the newest value follows when
                              the subscriber has room (counted as delivered then) */
} mrt_bus_policy;

typedef struct mrt_bus_type_opts {
  mrt_bus_policy policy;
  bool retained;
} mrt_bus_type_opts;

typedef struct mrt_bus_stats {
  uint64_t published;
  uint64_t delivered;
  uint64_t dropped_full;
  uint64_t dropped_dead;
  uint64_t subscribers;
} mrt_bus_stats;

typedef struct mrt_bus_publish_result {
  uint32_t delivered;
  uint32_t dropped_full;
  uint32_t dropped_dead;
} mrt_bus_publish_result;

/* The runtime's bus (created on first use, owned and freed by the runtime:
 * never free it; valid as long as the runtime is). NULL only for a NULL
 * runtime or out of memory. Any thread. */
MRT_API mrt_bus *mrt_runtime_bus(mrt_runtime *rt);

/* Sets a type's policy and retention (`type` is borrowed for the bus's
 * life: a static descriptor; *opts is copied). Turning retention off (and the
 * policy away from latest) releases a kept value. Any thread. Returns 0,
 * -EINVAL (NULL, unknown policy), -ENOMEM. */
MRT_API int mrt_bus_configure(mrt_bus *bus, const mrt_msg_type *type,
                              const mrt_bus_type_opts *opts);

/* Subscribes `sub` to `type`. Idempotent: a second subscribe is a no-op
 * (returns 0). If the type is retained and holds a value, `sub` receives it
 * now (unless its bounded mailbox is full). Any thread. Returns 0, -EINVAL
 * (NULL, sub of another runtime), -ENOTSUP (sub's class does not handle the
 * type), -ESRCH (sub has stopped), -ENOMEM (not subscribed, nothing
 * delivered). The bus takes a reference of its own to `sub` and drops it on
 * unsubscribe, when it prunes a stopped subscriber, or at shutdown. */
MRT_API int mrt_bus_subscribe(mrt_bus *bus, const mrt_msg_type *type, mrt_ref *sub);

/* Removes a subscription and drops the bus's reference to `sub`; deliveries
 * already in its mailbox still arrive. Any thread. Returns 0, -EINVAL (NULL),
 * or -ENOENT if there was none. */
MRT_API int mrt_bus_unsubscribe(mrt_bus *bus, const mrt_msg_type *type, mrt_ref *sub);

/* Publishes a copy of `payload` (exactly type->payload_size bytes). On success
 * the bus owns what the payload points to (the drop hook runs once, later).
 * Never blocks on a subscriber; any thread, including handlers. Returns, for
 * best-effort and latest types, the number of deliveries (0 when nobody
 * subscribes — not an error); for report types, the number of deliveries
 * that failed because a mailbox was full (0: all delivered). Negative errno:
 * -EINVAL (NULL, size mismatch), -ENOMEM; on either the caller keeps what the
 * payload points to (the drop hook does not run). */
MRT_API int mrt_bus_publish(mrt_bus *bus, const mrt_msg_type *type, const void *payload,
                            size_t size);

/* As mrt_bus_publish, with the full outcome in *result (caller's storage, may
 * be NULL; zeros on failure). Same ownership and threads. Returns 0 or a
 * negative errno (-EINVAL, -ENOMEM). */
MRT_API int mrt_bus_publish_ex(mrt_bus *bus, const mrt_msg_type *type, const void *payload,
                               size_t size, mrt_bus_publish_result *result);

/* Counters of a type into *out (caller's storage; all zero for a type never
 * used). A snapshot taken under the type's lock. Any thread. Returns 0 or
 * -EINVAL (NULL). */
MRT_API int mrt_bus_stats_get(mrt_bus *bus, const mrt_msg_type *type, mrt_bus_stats *out);

/* Calls fn for every type the bus has seen (for metrics), on the calling
 * thread, with a snapshot of its counters (borrowed for the call) and no bus
 * lock held, so fn may call the bus. Any thread. Returns 0, -EINVAL (NULL bus
 * or fn), -ENOMEM (fn was not called). */
MRT_API int mrt_bus_foreach_type(
    mrt_bus *bus, void (*fn)(const mrt_msg_type *type, const mrt_bus_stats *s, void *ud), void *ud);

#define MRT_BUS_TYPED(name, payload_t)                                                             \
  static inline __attribute__((unused)) int mrt_publish_##name(mrt_bus *bus, payload_t const *p) { \
    return mrt_bus_publish(bus, &mrt_msg_##name, p, sizeof *p);                                    \
  }                                                                                                \
  typedef int mrt_bus_##name##_typed_

#ifdef __cplusplus
}
#endif
#endif
