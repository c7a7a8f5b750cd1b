/* SPDX-License-Identifier: MIT */
/* meshrt — tell: validating a send and putting an envelope in a mailbox.
 *
 * Any thread may tell. The mailbox is an MPSC queue; after pushing, the sender
 * makes sure the actor is scheduled on its executor exactly once (the
 * `scheduled` flag handshake described in actor.c). A bounded mailbox reserves
 * a slot before anything is pushed, so a full mailbox rejects the whole send.
 *
 * Runtime notices (DOWN and EXIT from monitors and links, the shutdown signal)
 * skip the bound: each is sent at most once per watch or per actor, so they
 * cannot grow a mailbox without limit, and losing one would leave an actor
 * waiting for news that never comes (a supervisor that never restarts a
 * child, an actor that never sees the shutdown it watches for).
 */
#include <stdlib.h>

#include "internal.h"

bool mrt__actor_accepts(const mrt_actor_class *cls, const mrt_msg_type *type) {
  return mrt__actor_handler(cls, type) != NULL;
}

mrt_handler_fn mrt__actor_handler(const mrt_actor_class *cls, const mrt_msg_type *type) {
  if (cls->handlers != NULL)
    for (const mrt_handler_entry *h = cls->handlers; h->type != NULL; h++)
      if (h->type == type)
        return h->fn;
  return cls->handle_any;
}

/* Validates a send of `type`/`size` to `to`; logs why it is refused. On
 * success *fn is the receiver's handler, which the envelope carries. */
static int check_send(mrt_ref *to, const mrt_msg_type *type, const void *payload, size_t size,
                      const char *what, mrt_handler_fn *fn) {
  if (to == NULL || type == NULL) {
    mrt_log(MRT_LOG_WARN, "runtime", "%s refused: NULL %s", what, to ? "type" : "target");
    return -EINVAL;
  }
  if (size != type->payload_size || (size > 0 && payload == NULL)) {
    mrt_log(MRT_LOG_WARN, "runtime", "%s refused: %s type=%s size=%zu expected=%zu", what,
            payload == NULL ? "NULL payload" : "payload size mismatch", type->name, size,
            type->payload_size);
    return -EINVAL;
  }
  *fn = mrt__actor_handler(to->cls, type);
  if (*fn == NULL) {
    mrt_log(MRT_LOG_DEBUG, "runtime", "%s refused: type not handled type=%s actor=%s", what,
            type->name, to->cls->name);
    return -ENOTSUP;
  }
  return 0;
}

int mrt__actor_enqueue(mrt_ref *to, mrt__env *env) {
  if (to->capacity > 0 && env->kind == MRT__ENV_USER) {
    /* Relaxed: the counter only bounds memory; the queue itself orders data. */
    uint32_t was = atomic_fetch_add_explicit(&to->queued, 1, memory_order_relaxed);
    if (was >= to->capacity) {
      atomic_fetch_sub_explicit(&to->queued, 1, memory_order_relaxed);
      return -EAGAIN;
    }
    env->counted = 1;
  }
  mrt__mpsc_push(&to->mailbox, &env->node);
  mrt__actor_ensure_scheduled(to);
  return 0;
}

void mrt__actor_enqueue_notice(mrt_ref *to, mrt__env *env) {
  /* Not counted, so popping it gives back no slot (see pop_env in actor.c). */
  mrt__mpsc_push(&to->mailbox, &env->node);
  mrt__actor_ensure_scheduled(to);
}

int mrt__tell_notice(mrt_ref *to, const mrt_msg_type *type, const void *payload, size_t size) {
  mrt_handler_fn fn;
  int rc = check_send(to, type, payload, size, "notice", &fn);
  if (rc < 0)
    return rc;
  /* Acquire: as in mrt__send_env. */
  if (atomic_load_explicit(&to->life, memory_order_acquire) >= MRT__LIFE_STOPPING ||
      !mrt__runtime_accepting(to->rt))
    return -ESRCH;
  mrt__env *env = mrt__env_new(type, payload);
  if (env == NULL)
    return -ENOMEM;
  env->fn = fn;
  mrt__actor_enqueue_notice(to, env);
  return 0;
}

int mrt__send_env(mrt_ref *to, const mrt_msg_type *type, const void *payload, size_t size,
                  mrt__ask *ask, const char *what) {
  mrt_handler_fn fn;
  int rc = check_send(to, type, payload, size, what, &fn);
  if (rc < 0)
    return rc;
  /* Acquire pairs with the release in the stop path: a sender that still sees
   * a running actor may push; stragglers are drained by the stop path. */
  if (atomic_load_explicit(&to->life, memory_order_acquire) >= MRT__LIFE_STOPPING ||
      !mrt__runtime_accepting(to->rt))
    return -ESRCH;
  mrt__env *env = mrt__env_new(type, payload);
  if (env == NULL)
    return -ENOMEM;
  env->ask = ask;
  env->fn = fn;
  rc = mrt__actor_enqueue(to, env);
  if (rc < 0) {
    env->ask = NULL; /* the caller still owns its ask record on failure */
    mrt__env_free(env);
  }
  return rc;
}

int mrt_tell(mrt_ref *to, const mrt_msg_type *type, const void *payload, size_t size) {
  return mrt__send_env(to, type, payload, size, NULL, "tell");
}
