/* SPDX-License-Identifier: MIT */
/* meshrt — envelopes: the runtime's copy of a message on its way to a handler.
 *
 * An envelope holds the payload inline (copied from the sender) or points at a
 * shared payload (bus fan-out). Small envelopes are recycled through a free
 * list owned by the executor whose thread frees them, because the hot paths (tell,
 * ping-pong, fan-out) allocate and free one per message. Pools are touched only
 * by their executor's thread; envelopes made or freed elsewhere use malloc.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static size_t env_size(size_t payload) {
  return sizeof(mrt__env) + payload;
}

static void env_init(mrt__env *env, bool pooled) {
  env->kind = MRT__ENV_USER;
  env->pooled = pooled;
  env->counted = 0;
  env->type = NULL;
  env->ask = NULL;
  env->payload = mrt__env_inline(env);
  env->shared = NULL;
  env->fn = NULL; /* the sender sets it; STOP envelopes set `exit` instead */
}

/* Off the hot path, so that taking from the pool needs no saved registers. */
static __attribute__((noinline)) mrt__env *env_malloc(size_t payload) {
  bool pooled = payload <= MRT__ENV_POOL_PAYLOAD;
  mrt__env *env = malloc(env_size(pooled ? MRT__ENV_POOL_PAYLOAD : payload));
  if (env != NULL)
    env_init(env, pooled);
  return env;
}

static inline mrt__env *env_alloc(size_t payload) {
  mrt__executor *local = mrt__executor_current();
  if (payload > MRT__ENV_POOL_PAYLOAD || local == NULL || local->pool == NULL)
    return env_malloc(payload);
  mrt__env *env = local->pool;
  local->pool = (mrt__env *)(void *)env->payload;
  local->pool_len--;
  env_init(env, true);
  return env;
}

/* Copies a payload into an envelope. Most payloads are a few bytes (a
 * handle, a counter, an empty struct): up to 16 bytes, two fixed-size moves
 * that may overlap do it without a call into libc, whose memcpy costs more
 * than such a copy. */
static void copy_payload(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  if (n >= 8 && n <= 16) {
    uint64_t head, tail;
    memcpy(&head, s, 8);
    memcpy(&tail, s + n - 8, 8);
    memcpy(d, &head, 8);
    memcpy(d + n - 8, &tail, 8);
  } else if (n >= 4 && n < 8) {
    uint32_t head, tail;
    memcpy(&head, s, 4);
    memcpy(&tail, s + n - 4, 4);
    memcpy(d, &head, 4);
    memcpy(d + n - 4, &tail, 4);
  } else if (n > 0 && n < 4) {
    d[0] = s[0];
    d[n / 2] = s[n / 2];
    d[n - 1] = s[n - 1];
  } else if (n > 16) {
    memcpy(d, s, n);
  }
}

mrt__env *mrt__env_new(const mrt_msg_type *type, const void *payload) {
  mrt__env *env = env_alloc(type->payload_size);
  if (env == NULL)
    return NULL;
  env->type = type;
  copy_payload(env->payload, payload, type->payload_size);
  return env;
}

mrt__env *mrt__env_new_shared(mrt__shared *shared) {
  mrt__env *env = env_alloc(0);
  if (env == NULL)
    return NULL;
  env->type = shared->type;
  env->shared = shared;
  env->payload = shared->data;
  return env;
}

void mrt__shared_release(mrt__shared *s) {
  /* acq_rel: the last releaser must see every other holder's reads finished
   * before it runs the drop hook and frees the block. */
  if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
    return;
  if (s->type->drop != NULL)
    s->type->drop(s->data);
  free(s);
}

void mrt__env_free(mrt__env *env) {
  mrt__executor *local = mrt__executor_current();
  if (env->pooled && local != NULL && local->pool_len < MRT__ENV_POOL_MAX) {
    /* The free list reuses the payload pointer field as its link. */
    env->payload = local->pool;
    local->pool = env;
    local->pool_len++;
    return;
  }
  free(env);
}

void mrt__env_discard_slow(mrt__env *env, int ask_err) {
  switch (env->kind) {
  case MRT__ENV_REPLY:
    /* An ask record coming home to an asker that is gone: nobody will read
     * the reply, so release what it owns. */
    mrt__ask_release(mrt__container_of(env, mrt__ask, env));
    return;
  case MRT__ENV_STOP: mrt__exit_free(env->exit); break;
  default:
    if (env->ask != NULL) {
      mrt__ask_answer(env->ask, ask_err, NULL);
      mrt__ask_release(env->ask);
    }
    if (env->shared != NULL)
      mrt__shared_release(env->shared);
    else if (env->type != NULL && env->type->drop != NULL)
      env->type->drop(env->payload);
    break;
  }
  mrt__env_free(env);
}
