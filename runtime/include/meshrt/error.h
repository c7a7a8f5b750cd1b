/* SPDX-License-Identifier: MIT */
/* meshrt — error codes.
 *
 * Every meshrt function that can fail returns an int: >= 0 on success, a
 * negative errno value on failure. The codes mean the same thing everywhere:
 *   -EINVAL     a bad argument (NULL, wrong payload size, call from the wrong context)
 *   -ESRCH      the target actor is gone (stopped, or the runtime shut down)
 *   -EAGAIN     the target's bounded mailbox is full; nothing was delivered
 *   -ETIMEDOUT  an ask's deadline passed before a reply arrived
 *   -ECANCELED  a reply token was dropped unanswered, or the asker stopped
 *   -ENOTSUP    the target's class does not handle that message type
 *   -EDEADLK    a blocking call was made from an executor thread
 *   -ESHUTDOWN  the runtime is shutting down (spawn, start)
 *   -ENOENT     the timer or monitor named does not exist (any more)
 *   -ENOMEM     out of memory
 */
#ifndef MESHRT_ERROR_H
#define MESHRT_ERROR_H

#include <errno.h>
#include <meshrt/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Returns a static, human-readable name for a meshrt error code (negative
 * errno) or for 0. Never NULL. Any thread. */
MRT_API const char *mrt_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
