/* SPDX-License-Identifier: MIT */
/* meshrt — message types.
 *
 * A message type is a static descriptor: a name, the exact payload size, the
 * exact reply size (for asks), and optional drop hooks that release pointers a
 * payload or reply owns. Payloads are copied into the runtime's envelopes on
 * send; the drop hook runs exactly once per accepted payload, after the handler
 * returned or when the message is discarded undelivered. A send that fails
 * leaves ownership with the caller (the hook does not run).
 *
 * MRT_MESSAGE_DECLARE declares a descriptor, and the typed macros below send
 * it with the payload and reply types checked by the compiler:
 *
 *   MRT_MESSAGE_DECLARE(, ping, struct ping, struct pong)
 *   MRT_MESSAGE_DEFINE(ping, struct ping, struct pong, NULL, NULL)
 *   MRT_TELL(ping, ref, &(struct ping){ .seq = 1 });
 *
 * Passing a pointer of the wrong type to a typed macro (MRT_TELL, MRT_ASK,
 * MRT_ASK_SYNC, MRT_REPLY, MRT_SEND_AFTER) does not compile, whatever the
 * warning flags; the raw calls (mrt_tell, mrt_ask, ...) check the size only and
 * return -EINVAL. The typed macros need C11 (_Generic): they are C-only. Being
 * macros, they split their arguments at commas outside parentheses, so a
 * compound literal with a comma between its braces goes in parentheses:
 * MRT_TELL(ping, ref, &((struct ping){ .seq = 1, .ttl = 2 })).
 */
#ifndef MESHRT_MESSAGE_H
#define MESHRT_MESSAGE_H

#include <stddef.h>
#include <stdint.h>
#include <meshrt/export.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mrt_msg_type {
  const char *name;
  size_t payload_size;             /* exact size a send must pass */
  size_t reply_size;               /* exact size a reply must pass */
  void (*drop)(void *payload);     /* optional: release what the payload owns */
  void (*reply_drop)(void *reply); /* optional: release what a reply owns */
} mrt_msg_type;

/* The payload (or reply) of messages that carry nothing. */
typedef struct mrt_none {
  uint8_t unused;
} mrt_none;

#define MRT_MESSAGE_DEFINE(name, payload_t, reply_t, drop_fn, reply_drop_fn)                       \
  const mrt_msg_type mrt_msg_##name = {#name, sizeof(payload_t), sizeof(reply_t), (drop_fn),       \
                                       (reply_drop_fn)}

/* Why macros and not inline functions: a pointer of the wrong type passed to
 * a function parameter is a constraint violation that GCC (before 14) and clang
 * only warn about, and the function would then copy sizeof(payload) bytes of
 * the wrong object. A _Generic selection with no matching association is an
 * error in every C11 compiler under any flags, so the typed macros route each
 * payload or reply pointer through one: it yields the pointer unchanged when it
 * points to the declared type (const or not), and fails to compile otherwise.
 * NULL and void * match nothing either: use the raw calls to pass those. The
 * pointer expression is evaluated exactly once (only the selected association
 * is). */
#define MRT_MSG_IN_(T, p) _Generic((p), T * : (p), T const * : (p))
#define MRT_MSG_OUT_(T, p) _Generic((p), T * : (p))

/* `api` is MRT_API for types exported by a shared library, empty otherwise.
 * The typed macros expand to <meshrt/send.h> and <meshrt/timer.h> calls;
 * include <meshrt/meshrt.h> (or those two) where they are used. The two
 * typedefs name the types for the macros; mrt_payload_NAME casts a handler's
 * raw payload pointer. */
#define MRT_MESSAGE_DECLARE(api, name, payload_t, reply_t)                                         \
  api extern const mrt_msg_type mrt_msg_##name;                                                    \
  typedef payload_t mrt__payload_of_##name;                                                        \
  typedef reply_t mrt__reply_of_##name;                                                            \
  static inline __attribute__((unused)) payload_t const *mrt_payload_##name(const void *raw) {     \
    return (payload_t const *)raw;                                                                 \
  }                                                                                                \
  typedef int mrt_msg_##name##_declared_

/* mrt_tell of message `name`; p points to its payload type. */
#define MRT_TELL(name, to, p)                                                                      \
  mrt_tell((to), &mrt_msg_##name, MRT_MSG_IN_(mrt__payload_of_##name, p),                          \
           sizeof(mrt__payload_of_##name))

/* mrt_ask of message `name` from actor `self`; p points to its payload type. */
#define MRT_ASK(name, self, to, p, timeout_ns, cb, ud)                                             \
  mrt_ask((self), (to), &mrt_msg_##name, MRT_MSG_IN_(mrt__payload_of_##name, p),                   \
          sizeof(mrt__payload_of_##name), (timeout_ns), (cb), (ud))

/* mrt_ask_sync of message `name`; p points to its payload type, out to a
 * writable reply. */
#define MRT_ASK_SYNC(name, to, p, out, timeout_ns)                                                 \
  mrt_ask_sync((to), &mrt_msg_##name, MRT_MSG_IN_(mrt__payload_of_##name, p),                      \
               sizeof(mrt__payload_of_##name), MRT_MSG_OUT_(mrt__reply_of_##name, out),            \
               sizeof(mrt__reply_of_##name), (timeout_ns))

/* mrt_reply_send answering message `name`; rep points to its reply type. */
#define MRT_REPLY(name, r, rep)                                                                    \
  mrt_reply_send((r), MRT_MSG_IN_(mrt__reply_of_##name, rep), sizeof(mrt__reply_of_##name))

/* mrt_send_after of message `name`; p points to its payload type. */
#define MRT_SEND_AFTER(name, self, to, delay_ns, p, id_out)                                        \
  mrt_send_after((self), (to), (delay_ns), &mrt_msg_##name,                                        \
                 MRT_MSG_IN_(mrt__payload_of_##name, p), sizeof(mrt__payload_of_##name), (id_out))

#ifdef __cplusplus
}
#endif
#endif
