/* SPDX-License-Identifier: MIT */
/* meshrt — tell, ask and reply.
 *
 * tell: fire and forget, from any thread. ask: a request whose reply (or error)
 * comes back exactly once — to a continuation in the asker's own context
 * (mrt_ask, actors only) or to a blocked host thread (mrt_ask_sync). A handler
 * answers through its mrt_reply token, at once or later (mrt_reply_defer). No
 * ask can hang: a token dropped unanswered answers -ECANCELED, a target that
 * stops answers -ESRCH, and every ask has a deadline (-ETIMEDOUT). A reply
 * arriving after its deadline is discarded (its drop hook runs).
 */
#ifndef MESHRT_SEND_H
#define MESHRT_SEND_H

#include <stddef.h>
#include <stdint.h>
#include <meshrt/export.h>
#include <meshrt/message.h>
#include <meshrt/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Default deadline for asks given timeout_ns == 0. */
#define MRT_ASK_DEFAULT_TIMEOUT MRT_SEC(5)

/* Sends `payload` (exactly type->payload_size bytes, copied) to `to`.
 * Any thread, including handlers; `to` and `type` are borrowed. Returns 0, or
 * -EINVAL (NULL/size mismatch), -ENOTSUP (class does not handle the type),
 * -ESRCH (stopped or runtime down), -EAGAIN (bounded mailbox full), -ENOMEM.
 * On success the message owns whatever the payload points to (the type's
 * drop hook releases it once, after the handler or when the message is
 * discarded); on failure the caller keeps it. Per sender, messages arrive in
 * send order. */
MRT_API int mrt_tell(mrt_ref *to, const mrt_msg_type *type, const void *payload, size_t size);

/* Asks `to` from actor `self` (must be called in self's context: a handler,
 * timer, continuation or on_start). `cb` runs exactly once, later, in self's
 * context, unless this returns an error (then it never runs). timeout_ns == 0
 * means MRT_ASK_DEFAULT_TIMEOUT. If `self` stops first, cb runs with
 * -ECANCELED before on_stop. The payload's ownership is as for mrt_tell; `ud`
 * stays the caller's. Errors as mrt_tell, plus -EINVAL when called outside
 * self's context or with a NULL cb, and -ESRCH when self is stopping. A full
 * bounded mailbox fails the ask at once with -EAGAIN (asks never wait for
 * room); the reply coming back never counts against the asker's own bound.
 * Every ask arms a timeout timer, which pins self to its executor. */
MRT_API int mrt_ask(mrt_actor *self, mrt_ref *to, const mrt_msg_type *type, const void *payload,
                    size_t size, uint64_t timeout_ns, mrt_ask_fn cb, void *ud);

/* Asks from a thread that is not an executor and waits for the answer, up to
 * timeout_ns (0: MRT_ASK_DEFAULT_TIMEOUT; measured on the runtime clock). The
 * payload's ownership is as for mrt_tell. The reply is copied to `reply_out`
 * (exactly type->reply_size bytes); on success the caller owns what it points
 * to (a reply that arrives after the deadline is dropped with the type's
 * reply_drop hook). Returns the reply status (>= 0) or -EINVAL (NULL, reply
 * size mismatch), -ETIMEDOUT, -ESRCH, -ECANCELED, an error the handler
 * answered with, -EDEADLK (called from an executor thread, an actor or the
 * thread that drives an attached runtime), -ENOMEM, or a send error (-EAGAIN
 * at once for a full bounded mailbox, without waiting or driving). On a
 * runtime driven by hand (neither started nor attached) the calling thread
 * drives the runtime while it waits; with the virtual clock it advances time to
 * the next timer when idle, so a silent target times out deterministically. */
MRT_API int mrt_ask_sync(mrt_ref *to, const mrt_msg_type *type, const void *payload, size_t size,
                         void *reply_out, size_t reply_size, uint64_t timeout_ns);

/* Answers an ask with a reply of exactly type->reply_size bytes (copied; what
 * it points to passes to the asker, or to the type's reply_drop hook if the
 * asker no longer waits; on -EINVAL it stays the caller's). Call in the
 * context of the actor that received the token: in the handler, or later if
 * it deferred the token, which is invalid once answered. Returns 0, -EINVAL
 * (NULL/size mismatch/already answered). */
MRT_API int mrt_reply_send(mrt_reply *reply, const void *data, size_t size);

/* Answers an ask with a negative errno, which the asker receives as its
 * status (err must be < 0: a success carries data, see mrt_reply_send). Same
 * rules as mrt_reply_send; -EINVAL also for err >= 0. */
MRT_API int mrt_reply_error(mrt_reply *reply, int err);

/* Keeps a token past the handler's return so it can be answered later from
 * another handler or timer of the same actor (the actor holds it until it
 * answers; the token stays valid until then). Call in the handler that
 * received it. Returns the token (NULL for NULL; an answered or already
 * deferred token is returned unchanged). If the actor stops with the token
 * unanswered, the asker gets -ESRCH. */
MRT_API mrt_reply *mrt_reply_defer(mrt_reply *reply);

/* The message type a token answers (borrowed, static), or NULL for NULL.
 * Wherever the token is valid. */
MRT_API const mrt_msg_type *mrt_reply_type(const mrt_reply *reply);

#ifdef __cplusplus
}
#endif
#endif
