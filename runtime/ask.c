/* SPDX-License-Identifier: MIT */
/* meshrt — asks and replies.
 *
 * An ask record carries one request from asker to replier and its answer back.
 * It is shared by two sides, so it is refcounted: the asker side (a pending
 * list entry or a blocked host thread) and the token side (the request
 * envelope, then the handler or the actor that deferred it). The `state` word
 * decides, with one compare-and-swap, who resolves the ask: the replier
 * (PENDING -> REPLYING -> REPLIED) or the asker giving up (PENDING ->
 * ABANDONED on timeout or stop). Whoever loses never touches the other side's
 * data, which is what makes "exactly once" hold across threads.
 *
 * Threads: a token is answered by the actor that holds it (any thread may
 * answer, the CAS makes it safe); continuations run in the asker's context.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* Ask records with small replies come from the asking executor's free list:
 * an actor-to-actor ask would otherwise pay two trips through the allocator's
 * slow path (calloc bypasses glibc's per-thread cache). */
#define ASK_POOL_REPLY 64
#define ASK_POOL_MAX 1024

static void ask_free(mrt__ask *a) {
  mrt__executor *ex = mrt__executor_current();
  if (a->pooled && ex != NULL && ex->ask_pool_len < ASK_POOL_MAX) {
    a->pend_next = ex->ask_pool;
    ex->ask_pool = a;
    ex->ask_pool_len++;
    return;
  }
  free(a);
}

void mrt__ask_pool_free(mrt__executor *ex) {
  while (ex->ask_pool != NULL) {
    mrt__ask *a = ex->ask_pool;
    ex->ask_pool = a->pend_next;
    free(a);
  }
  ex->ask_pool_len = 0;
}

mrt__ask *mrt__ask_new(const mrt_msg_type *type) {
  mrt__executor *ex = mrt__executor_current();
  bool pooled = type->reply_size <= ASK_POOL_REPLY;
  mrt__ask *a;
  if (pooled && ex != NULL && ex->ask_pool != NULL) {
    a = ex->ask_pool;
    ex->ask_pool = a->pend_next;
    ex->ask_pool_len--;
  } else {
    a = malloc(sizeof *a + (pooled ? ASK_POOL_REPLY : type->reply_size));
    if (a == NULL)
      return NULL;
  }
  memset(a, 0, sizeof *a); /* the header only; the reply is written before it is read */
  a->pooled = pooled;
  a->env.kind = MRT__ENV_REPLY;
  a->type = type;
  atomic_init(&a->refs, 2); /* asker side + token side */
  atomic_init(&a->state, MRT__ASK_PENDING);
  return a;
}

void mrt__ask_release(mrt__ask *a) {
  /* acq_rel: the last side to let go must see the other side's writes (the
   * reply data, reply_valid) before dropping and freeing. */
  if (atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) != 1)
    return;
  if (a->reply_valid && a->type->reply_drop != NULL)
    a->type->reply_drop(a->reply);
  mrt_ref_unref(a->asker);
  ask_free(a);
}

static void token_unlink(mrt__ask *a) {
  mrt_ref *h = a->holder;
  if (a->tok_prev != NULL)
    a->tok_prev->tok_next = a->tok_next;
  else
    h->tokens = a->tok_next;
  if (a->tok_next != NULL)
    a->tok_next->tok_prev = a->tok_prev;
  a->tok_prev = a->tok_next = NULL;
  a->holder = NULL;
}

/* Hands the answer to a host thread in mrt_ask_sync. A waiter still spinning
 * sees DONE and returns at once: this exchange is then our last touch of its
 * stack. A waiter that switched to SLEEPING (holding `mu`) waits for
 * `signalled`, which we set under `mu`: it returns only after our unlock, so
 * its stack (mu, cv) outlives our use of them. */
static void deliver_sync(mrt__ask *a) {
  mrt__sync_wait *w = a->sync;
  /* Release: the hand-driven waiter polls `state` (replied()). */
  atomic_store_explicit(&a->state, MRT__ASK_REPLIED, memory_order_release);
  /* acq_rel: publishes status and reply to a spinning waiter (acquire on its
   * side), and sees mu and cv initialised if the waiter went to sleep. */
  int was = atomic_exchange_explicit(&w->phase, MRT__SYNC_DONE, memory_order_acq_rel);
  if (was == MRT__SYNC_SLEEPING) {
    pthread_mutex_lock(&w->mu);
    w->signalled = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
  } else {
    /* The host thread was spinning: it is in a request loop more often than
     * not, and its next ask comes within a microsecond. Tell our executor to
     * spin for it whatever its spin gate says (see spin_for_work); two
     * gates that close independently would otherwise rarely reopen together. */
    mrt__executor *ex = mrt__executor_current();
    if (ex != NULL)
      ex->waiter_spinning = true;
  }
}

int mrt__ask_answer(mrt__ask *a, int status, const void *data) {
  if (a->answered)
    return -EINVAL;
  a->answered = true;
  int expected = MRT__ASK_PENDING;
  /* acq_rel CAS: winning publishes nothing yet (the reply is written after),
   * but it must order after any earlier abandon by the asker (acquire). */
  if (!atomic_compare_exchange_strong_explicit(&a->state, &expected, MRT__ASK_REPLYING,
                                               memory_order_acq_rel, memory_order_acquire)) {
    /* The asker gave up: nobody will read this reply. */
    if (data != NULL && a->type->reply_drop != NULL)
      a->type->reply_drop((void *)data);
    return 0;
  }
  a->status = status;
  if (data != NULL && status >= 0) {
    memcpy(a->reply, data, a->type->reply_size);
    a->reply_valid = true;
  }
  if (a->sync != NULL) {
    deliver_sync(a);
    return 0;
  }
  /* One more reference for the mailbox that carries the record home. The
   * caller's token reference keeps the record alive until we are done here. */
  atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
  mrt__mpsc_push(&a->asker->mailbox, &a->env.node);
  mrt__actor_ensure_scheduled(a->asker);
  /* Release: a stopping asker spinning on REPLYING may now drain its mailbox
   * and will find the envelope pushed above. */
  atomic_store_explicit(&a->state, MRT__ASK_REPLIED, memory_order_release);
  return 0;
}

static void pending_unlink(mrt_ref *asker, mrt__ask *a) {
  if (a->pend_prev != NULL)
    a->pend_prev->pend_next = a->pend_next;
  else
    asker->pending = a->pend_next;
  if (a->pend_next != NULL)
    a->pend_next->pend_prev = a->pend_prev;
  a->pend_prev = a->pend_next = NULL;
}

/* Runs the continuation once in the asker's context and drops the asker
 * side's reference. */
static void run_continuation(mrt_ref *asker, mrt__ask *a, int status) {
  pending_unlink(asker, a);
  if (a->timeout != NULL) {
    mrt__timer_cancel(a->timeout);
    a->timeout = NULL;
  }
  mrt_ref *prev = mrt__actor_set_current(asker);
  int rc = a->cb(asker, asker->state, status,
                 status >= 0 && a->reply_valid ? (const void *)a->reply : NULL, a->ud);
  mrt__actor_set_current(prev);
  mrt__actor_check_result(asker, rc, "ask continuation");
  mrt__ask_release(a);
}

void mrt__ask_deliver(mrt_ref *asker, mrt__ask *a) {
  run_continuation(asker, a, a->status);
  mrt__ask_release(a); /* the mailbox's reference */
}

static bool abandon(mrt__ask *a) {
  int expected = MRT__ASK_PENDING;
  /* acq_rel: pairs with the replier's CAS; exactly one of us wins. */
  return atomic_compare_exchange_strong_explicit(&a->state, &expected, MRT__ASK_ABANDONED,
                                                 memory_order_acq_rel, memory_order_acquire);
}

void mrt__ask_timed_out(mrt_ref *asker, mrt__ask *a) {
  a->timeout = NULL; /* the timer system frees a fired one-shot timer */
  if (abandon(a))
    run_continuation(asker, a, -ETIMEDOUT);
  /* Otherwise the reply is on its way home and will run the continuation. */
}

void mrt__ask_abandon_pending(mrt_ref *asker) {
  mrt__ask *a = asker->pending;
  while (a != NULL) {
    mrt__ask *next = a->pend_next;
    if (abandon(a)) {
      run_continuation(asker, a, -ECANCELED);
    } else {
      /* A replier won; its envelope is being pushed into our mailbox. Wait
       * for the push (a few instructions on another thread) so the stop path's
       * mailbox drain delivers it. */
      while (atomic_load_explicit(&a->state, memory_order_acquire) == MRT__ASK_REPLYING)
        sched_yield();
    }
    a = next;
  }
}

void mrt__ask_fail_tokens(mrt_ref *holder, int err) {
  while (holder->tokens != NULL) {
    mrt__ask *a = holder->tokens;
    token_unlink(a);
    mrt__ask_answer(a, err, NULL);
    mrt__ask_release(a);
  }
}

/* ---- public: async ask -------------------------------------------------- */

int mrt_ask(mrt_actor *self, mrt_ref *to, const mrt_msg_type *type, const void *payload,
            size_t size, uint64_t timeout_ns, mrt_ask_fn cb, void *ud) {
  if (!mrt__in_context(self) || cb == NULL) {
    mrt_log(MRT_LOG_WARN, "runtime", "ask refused: %s",
            cb == NULL ? "NULL continuation" : "not called from the asking actor's context");
    return -EINVAL;
  }
  if (atomic_load_explicit(&self->life, memory_order_relaxed) >= MRT__LIFE_STOPPING)
    return -ESRCH;
  if (type == NULL)
    return -EINVAL;
  mrt__ask *a = mrt__ask_new(type);
  if (a == NULL)
    return -ENOMEM;
  a->asker = mrt_ref_ref(self);
  a->cb = cb;
  a->ud = ud;
  a->timeout = mrt__timer_add(self, timeout_ns ? timeout_ns : MRT_ASK_DEFAULT_TIMEOUT, 0);
  if (a->timeout == NULL) {
    mrt_ref_unref(a->asker);
    ask_free(a);
    return -ENOMEM;
  }
  a->timeout->ask = a;
  int rc = mrt__send_env(to, type, payload, size, a, "ask");
  if (rc < 0) {
    mrt__timer_cancel(a->timeout);
    mrt_ref_unref(a->asker);
    ask_free(a);
    return rc;
  }
  a->pend_next = self->pending;
  if (self->pending != NULL)
    self->pending->pend_prev = a;
  self->pending = a;
  return 0;
}

/* ---- public: replies ---------------------------------------------------- */

static int answer_public(mrt_reply *r, int status, const void *data) {
  mrt__ask *a = (mrt__ask *)r;
  int rc = mrt__ask_answer(a, status, data);
  if (rc < 0) {
    mrt_log(MRT_LOG_WARN, "runtime", "reply refused: already answered type=%s", a->type->name);
    return rc;
  }
  if (a->taken) {
    /* A deferred token belongs to its holder until answered. */
    token_unlink(a);
    mrt__ask_release(a);
  }
  return 0;
}

int mrt_reply_send(mrt_reply *r, const void *data, size_t size) {
  if (r == NULL || data == NULL || size != ((mrt__ask *)r)->type->reply_size) {
    mrt_log(MRT_LOG_WARN, "runtime", "reply refused: %s",
            r == NULL ? "NULL token" : "reply size mismatch");
    return -EINVAL;
  }
  return answer_public(r, 0, data);
}

int mrt_reply_error(mrt_reply *r, int err) {
  if (r == NULL || err >= 0) {
    mrt_log(MRT_LOG_WARN, "runtime", "reply refused: %s",
            r == NULL ? "NULL token" : "error replies need a negative errno");
    return -EINVAL;
  }
  return answer_public(r, err, NULL);
}

mrt_reply *mrt_reply_defer(mrt_reply *r) {
  mrt__ask *a = (mrt__ask *)r;
  mrt_ref *self = mrt__actor_current();
  if (a == NULL || a->answered || a->taken || self == NULL)
    return r;
  a->taken = true;
  /* The holder's own reference: the request envelope keeps its reference
   * until the handler returns (dispatch), and the token may be answered, and
   * its asker gone, before that. Relaxed: taken from one we hold. */
  atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
  a->holder = self;
  a->tok_next = self->tokens;
  if (self->tokens != NULL)
    self->tokens->tok_prev = a;
  self->tokens = a;
  return r;
}

const mrt_msg_type *mrt_reply_type(const mrt_reply *r) {
  return r ? ((const mrt__ask *)r)->type : NULL;
}
