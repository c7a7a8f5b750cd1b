/* SPDX-License-Identifier: MIT */
/* meshrt — names for error codes (see <meshrt/error.h>). Pure, any thread. */
#include <string.h>

#include "internal.h"

const char *mrt_strerror(int err) {
  switch (err) {
  case 0: return "success";
  case -EINVAL: return "invalid argument";
  case -ESRCH: return "actor gone";
  case -EAGAIN: return "mailbox full";
  case -ETIMEDOUT: return "timed out";
  case -ECANCELED: return "reply abandoned";
  case -ENOTSUP: return "message type not handled";
  case -EDEADLK: return "blocking call on an executor thread";
  case -ESHUTDOWN: return "runtime shutting down";
  case -ENOENT: return "no such timer or monitor";
  case -ENOMEM: return "out of memory";
  case -EALREADY: return "already in progress";
  default: break;
  }
  if (err < 0) {
    /* strerrordesc_np is glibc's thread-safe, locale-free strerror: it
     * returns a static string, or NULL for codes it does not know. */
    const char *desc = strerrordesc_np(-err);
    return desc != NULL ? desc : "unknown error";
  }
  return "success";
}
