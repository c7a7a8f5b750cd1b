/* meshrt — message types.
 *
 * A message type is a static descriptor: a name, the exact payload size, the
 * exact reply size (for asks), and optional drop hooks that release pointers a
 * payload or reply owns. Payloads are copied into the runtime's envelopes on
 * send; the drop hook runs exactly once per accepted payload, after the handler
 * returned or when the message is discarded undelivered. A send that fails
 * leaves ownership with the caller (the hook does not run).
 *
 * MRT_MESSAGE_DECLARE declares a descriptor and type-checked inline wrappers:
 *
 *   MRT_MESSAGE_DECLARE(, ping, struct ping, struct pong)
 *   MRT_MESSAGE_DEFINE(ping, struct ping, struct pong, NULL, NULL)
 *   mrt_tell_ping(ref, &(struct ping){ .seq = 1 });
 *
 * Passing a pointer of the wrong type to a wrapper does not compile; the raw
 * calls (mrt_tell, mrt_ask, ...) check the size and return -EINVAL.
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
  size_t payload_size;          /* exact size a send must pass */
  size_t reply_size;            /* exact size a reply must pass */
  void (*drop)(void *payload);  /* optional: release what the payload owns */
  void (*reply_drop)(void *reply); /* optional: release what a reply owns */
} mrt_msg_type;

/* The payload (or reply) of messages that carry nothing. */
typedef struct mrt_none {
  uint8_t unused;
} mrt_none;

#define MRT_MESSAGE_DEFINE(name, payload_t, reply_t, drop_fn, reply_drop_fn)     \
  const mrt_msg_type mrt_msg_##name = {                                          \
      #name, sizeof(payload_t), sizeof(reply_t), (drop_fn), (reply_drop_fn)}

/* Wrappers a file does not use must not warn (clang's -Wunused-function). */
#define MRT_MSG_FN_ static inline __attribute__((unused))

/* `api` is MRT_API for types exported by a shared library, empty otherwise.
 * The wrappers are defined in <meshrt/send.h>'s terms; include <meshrt/meshrt.h>
 * or <meshrt/send.h> before using them. */
#define MRT_MESSAGE_DECLARE(api, name, payload_t, reply_t)                         \
  api extern const mrt_msg_type mrt_msg_##name;                                    \
  MRT_MSG_FN_ int mrt_tell_##name(mrt_ref *to, payload_t const *p) {             \
    return mrt_tell(to, &mrt_msg_##name, p, sizeof *p);                            \
  }                                                                                \
  MRT_MSG_FN_ int mrt_ask_##name(mrt_actor *self, mrt_ref *to, payload_t const *p, \
                                   uint64_t timeout_ns, mrt_ask_fn cb, void *ud) { \
    return mrt_ask(self, to, &mrt_msg_##name, p, sizeof *p, timeout_ns, cb, ud);   \
  }                                                                                \
  MRT_MSG_FN_ int mrt_ask_sync_##name(mrt_ref *to, payload_t const *p,           \
                                        reply_t *out, uint64_t timeout_ns) {       \
    return mrt_ask_sync(to, &mrt_msg_##name, p, sizeof *p, out, sizeof *out,       \
                        timeout_ns);                                               \
  }                                                                                \
  MRT_MSG_FN_ int mrt_reply_##name(mrt_reply *r, reply_t const *rep) {           \
    return mrt_reply_send(r, rep, sizeof *rep);                                    \
  }                                                                                \
  MRT_MSG_FN_ int mrt_send_after_##name(mrt_actor *self, mrt_ref *to,            \
                                          uint64_t delay_ns, payload_t const *p,   \
                                          uint64_t *timer_out) {                   \
    return mrt_send_after(self, to, delay_ns, &mrt_msg_##name, p, sizeof *p,       \
                          timer_out);                                              \
  }                                                                                \
  MRT_MSG_FN_ payload_t const *mrt_payload_##name(const void *raw) {             \
    return (payload_t const *)raw;                                                 \
  }                                                                                \
  typedef int mrt_msg_##name##_declared_

#ifdef __cplusplus
}
#endif
#endif
