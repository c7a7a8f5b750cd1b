/* SPDX-License-Identifier: MIT */
/* meshrt — actor lifecycle and the per-turn message loop.
 *
 * Scheduling: an actor is on its executor's run queue at most once, guarded by
 * the `scheduled` flag. A sender pushes into the mailbox and then, if the flag
 * was clear (IDLE), sets it (QUEUED) and queues the actor. The executor, after
 * a turn that emptied the mailbox, clears the flag and re-checks the mailbox;
 * both sides use seq_cst for "write then read the other's word", so a message
 * can never be left in a mailbox with nobody scheduled to handle it. A sender
 * running on another executor may instead take the actor over (IDLE ->
 * MOVING -> QUEUED, writing the new executor in between; see executor.c),
 * which is why the flag only ever changes by compare-and-swap from IDLE, and
 * why the re-check after clearing it reads only the mailbox's producer end:
 * from the clear on, another thread may be the mailbox's consumer.
 *
 * Lifecycle: STARTING (on_start pending) -> RUNNING -> STOPPING -> DEAD. The
 * stop path runs on the actor's executor: cancel timers, resolve the asks it
 * waits on, deliver replies and discard the rest of the mailbox, on_stop, fail
 * deferred tokens, free the state, then tell monitors and links. The control
 * block outlives the actor for as long as refs exist; messages that race into
 * a dead mailbox are discarded when the executor or the last unref finds them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static _Thread_local mrt_ref *tls_actor __attribute__((tls_model("initial-exec")));
/* The type of the message whose handler runs now (for catch-all handlers). */
static _Thread_local const mrt_msg_type *tls_msg_type __attribute__((tls_model("initial-exec")));

mrt_ref *mrt__actor_current(void) {
  return tls_actor;
}

mrt_ref *mrt__actor_set_current(mrt_ref *cell) {
  mrt_ref *prev = tls_actor;
  tls_actor = cell;
  return prev;
}

/* ---- refs ---------------------------------------------------------------- */

mrt_ref *mrt_ref_ref(mrt_ref *ref) {
  /* Relaxed: taking a reference from one we already hold needs no ordering. */
  if (ref != NULL)
    atomic_fetch_add_explicit(&ref->refs, 1, memory_order_relaxed);
  return ref;
}

static void discard_mailbox(mrt_ref *cell, int ask_err);

/* Control blocks are recycled through a free list per executor (the one
 * whose thread frees them), as envelopes are: spawn-and-stop churn (workers,
 * fork-join) would otherwise cost a trip through the allocator's slow path
 * both ways. The list is capped, so a burst of actors does not stay resident
 * after it ends. Only the executor's own thread touches its list. */
#define CELL_POOL_MAX 1024

/* The executor whose list this thread may use for `rt`, or NULL. */
static mrt__executor *cell_pool_of(const mrt_runtime *rt) {
  mrt__executor *ex = mrt__executor_current();
  return ex != NULL && ex->rt == rt ? ex : NULL;
}

static mrt_ref *cell_alloc(mrt_runtime *rt) {
  mrt__executor *ex = cell_pool_of(rt);
  if (ex == NULL || ex->cell_pool == NULL)
    return calloc(1, sizeof(mrt_ref));
  mrt_ref *cell = ex->cell_pool;
  ex->cell_pool = cell->reg_next; /* the free list reuses the registry link */
  ex->cell_pool_len--;
  memset(cell, 0, sizeof *cell);
  return cell;
}

static void cell_release_mem(mrt_runtime *rt, mrt_ref *cell) {
  mrt__executor *ex = cell_pool_of(rt);
  if (ex == NULL || ex->cell_pool_len >= CELL_POOL_MAX) {
    free(cell);
    return;
  }
  cell->reg_next = ex->cell_pool;
  ex->cell_pool = cell;
  ex->cell_pool_len++;
}

void mrt__cell_pool_free(mrt__executor *ex) {
  while (ex->cell_pool != NULL) {
    mrt_ref *cell = ex->cell_pool;
    ex->cell_pool = cell->reg_next;
    free(cell);
  }
  ex->cell_pool_len = 0;
}

static void cell_free(mrt_ref *cell) {
  mrt_runtime *rt = cell->rt;
  discard_mailbox(cell, -ESRCH); /* stragglers pushed after the actor died */
  mrt__exit_free(cell->exit);
  mrt__exit_free(atomic_load_explicit(&cell->stop_req, memory_order_relaxed));
  /* Before the release: the host's hold outlives every drain, so the
   * runtime (and this executor's list) is still there. */
  cell_release_mem(rt, cell);
  mrt__runtime_release(rt);
}

mrt_ref *mrt_ref_unref(mrt_ref *ref) {
  /* acq_rel: the last holder must see all other holders' writes before free. */
  if (ref != NULL && atomic_fetch_sub_explicit(&ref->refs, 1, memory_order_acq_rel) == 1)
    cell_free(ref);
  return NULL;
}

uint64_t mrt_ref_id(const mrt_ref *ref) {
  return ref ? ref->id : 0;
}

bool mrt_ref_alive(const mrt_ref *ref) {
  return ref != NULL && atomic_load_explicit(&ref->life, memory_order_acquire) < MRT__LIFE_STOPPING;
}

bool mrt_ref_accepts(const mrt_ref *ref, const mrt_msg_type *type) {
  return ref != NULL && type != NULL && mrt__actor_accepts(ref->cls, type);
}

const char *mrt_ref_name(const mrt_ref *ref) {
  return ref && ref->cls->name ? ref->cls->name : "?";
}

/* ---- exits --------------------------------------------------------------- */

bool mrt_exit_is_abnormal(const mrt_exit *e) {
  return e != NULL && (e->kind == MRT_EXIT_FAILED || e->kind == MRT_EXIT_KILLED ||
                       e->kind == MRT_EXIT_LINKED || e->kind == MRT_EXIT_NOPROC);
}

const char *mrt_exit_kind_name(mrt_exit_kind kind) {
  switch (kind) {
  case MRT_EXIT_NORMAL: return "normal";
  case MRT_EXIT_SHUTDOWN: return "shutdown";
  case MRT_EXIT_FAILED: return "failed";
  case MRT_EXIT_KILLED: return "killed";
  case MRT_EXIT_LINKED: return "linked";
  case MRT_EXIT_NOPROC: return "noproc";
  }
  return "?";
}

/* The exits of plain stop and kill requests are shared constants: stopping is
 * on the spawn-and-stop hot path, and these carry nothing per actor. */
static const mrt_exit stop_exit = {MRT_EXIT_NORMAL, 0, "stop"};
static const mrt_exit kill_exit = {MRT_EXIT_KILLED, 0, "kill"};

/* Exits recorded without memory. A stop must happen even when its record
 * cannot be allocated (a lost kill, a linked peer left running or a shutdown
 * waiting forever would be worse), so exit_new falls back to one of these:
 * the kind is kept, the error and reason are not. Never written (exits are
 * read-only once made), never freed. */
static const mrt_exit oom_exits[] = {
    [MRT_EXIT_NORMAL] = {MRT_EXIT_NORMAL, 0, "stop (reason lost: out of memory)"},
    [MRT_EXIT_SHUTDOWN] = {MRT_EXIT_SHUTDOWN, 0, "shutdown (reason lost: out of memory)"},
    [MRT_EXIT_FAILED] = {MRT_EXIT_FAILED, -ENOMEM, "failed (reason lost: out of memory)"},
    [MRT_EXIT_KILLED] = {MRT_EXIT_KILLED, 0, "kill (reason lost: out of memory)"},
    [MRT_EXIT_LINKED] = {MRT_EXIT_LINKED, -ENOMEM, "linked (reason lost: out of memory)"},
    [MRT_EXIT_NOPROC] = {MRT_EXIT_NOPROC, -ESRCH, "noproc (reason lost: out of memory)"},
};

void mrt__exit_free(mrt_exit *e) {
  /* Compared as integers: e may point anywhere, not only into the array. */
  uintptr_t p = (uintptr_t)e, lo = (uintptr_t)oom_exits;
  if (e != &stop_exit && e != &kill_exit && (p < lo || p >= lo + sizeof oom_exits))
    free(e);
}

/* Never NULL (see oom_exits). */
static mrt_exit *exit_new(mrt_exit_kind kind, int err, const char *reason) {
  mrt_exit *e = calloc(1, sizeof *e);
  if (e == NULL)
    return (mrt_exit *)&oom_exits[kind];
  e->kind = kind;
  e->error = err;
  if (reason != NULL)
    snprintf(e->reason, sizeof e->reason, "%s", reason);
  return e;
}

/* ---- scheduling ---------------------------------------------------------- */

/* The caller saw the flag IDLE and may take the actor onto its own executor
 * (see executor.c). IDLE -> MOVING claims it; `pinned` is read again now that
 * the claim orders it after the actor's last turn; the new executor is
 * written; QUEUED (release) publishes it to readers that acquire the flag
 * (mailbox depth). */
static void take_and_schedule(mrt__executor *cur, mrt_ref *cell) {
  uint32_t idle = MRT__SCHED_IDLE;
  if (!atomic_compare_exchange_strong_explicit(&cell->scheduled, &idle, MRT__SCHED_MOVING,
                                               memory_order_seq_cst, memory_order_relaxed))
    return; /* another sender queues it */
  if (!atomic_load_explicit(&cell->pinned, memory_order_relaxed)) {
    atomic_store_explicit(&cell->ex, cur, memory_order_relaxed);
    mrt__stat_add(&cur->moves_in, 1);
  }
  atomic_store_explicit(&cell->scheduled, MRT__SCHED_QUEUED, memory_order_release);
  mrt__executor_schedule(mrt__cell_ex(cell), cell);
}

void mrt__actor_schedule_if_idle(mrt_ref *cell) {
  /* A compare-and-swap, not an exchange, so a MOVING flag is never
   * overwritten. */
  mrt__executor *cur = mrt__executor_current();
  if (cur != NULL && mrt__executor_may_take(cur, cell)) {
    take_and_schedule(cur, cell);
    return;
  }
  uint32_t idle = MRT__SCHED_IDLE;
  if (atomic_compare_exchange_strong_explicit(&cell->scheduled, &idle, MRT__SCHED_QUEUED,
                                              memory_order_seq_cst, memory_order_relaxed))
    mrt__executor_schedule(mrt__cell_ex(cell), cell);
}

/* Records `e` as the stop request unless one is there already (then `e` is
 * freed), and schedules the actor to act on it. */
static void request_stop_with(mrt_ref *cell, mrt_exit *e) {
  mrt_exit *expected = NULL;
  /* acq_rel: the executor that reads the request (acquire) sees its text. */
  if (!atomic_compare_exchange_strong_explicit(&cell->stop_req, &expected, e, memory_order_acq_rel,
                                               memory_order_acquire)) {
    mrt__exit_free(e); /* an earlier request wins */
    return;
  }
  mrt__actor_ensure_scheduled(cell);
}

void mrt__actor_request_stop(mrt_ref *cell, mrt_exit_kind kind, int err, const char *reason) {
  if (atomic_load_explicit(&cell->stop_req, memory_order_acquire) != NULL)
    return;
  mrt_exit *e = exit_new(kind, err, reason);
  request_stop_with(cell, e);
}

void mrt__actor_check_result(mrt_ref *cell, int rc, const char *where) {
  if (rc >= 0)
    return;
  char reason[MRT_EXIT_REASON_MAX];
  snprintf(reason, sizeof reason, "%s returned %s", where, mrt_strerror(rc));
  mrt__actor_request_stop(cell, MRT_EXIT_FAILED, rc, reason);
}

/* ---- the stop path ------------------------------------------------------- */

static inline mrt__env *pop_env(mrt_ref *cell) {
  mrt__node *node = mrt__mpsc_pop(&cell->mailbox);
  if (node == NULL)
    return NULL;
  mrt__env *env = mrt__container_of(node, mrt__env, node);
  if (env->counted)
    atomic_fetch_sub_explicit(&cell->queued, 1, memory_order_relaxed);
  return env;
}

static void discard_mailbox(mrt_ref *cell, int ask_err) {
  mrt__env *env;
  while ((env = pop_env(cell)) != NULL)
    mrt__env_discard(env, ask_err);
}

/* While stopping: replies still run their continuations (every ask resolves
 * exactly once); everything else is discarded. */
static void drain_while_stopping(mrt_ref *cell, int ask_err) {
  mrt__env *env;
  while ((env = pop_env(cell)) != NULL) {
    if (env->kind == MRT__ENV_REPLY)
      mrt__ask_deliver(cell, mrt__container_of(env, mrt__ask, env));
    else
      mrt__env_discard(env, ask_err);
  }
}

static void do_stop(mrt_ref *cell, mrt_exit *why) {
  mrt_runtime *rt = cell->rt;
  cell->exit = why;
  /* Release: senders that acquire STOPPING stop pushing; tells return -ESRCH. */
  atomic_store_explicit(&cell->life, MRT__LIFE_STOPPING, memory_order_release);
  mrt_ref *prev = mrt__actor_set_current(cell);
  mrt__timer_cancel_all(cell);
  mrt__io_cancel_all(cell);
  mrt__ask_abandon_pending(cell);
  /* Asks queued before a failed on_start get on_start's error. */
  int ask_err = (!cell->started && why->error < 0) ? why->error : -ESRCH;
  drain_while_stopping(cell, ask_err);
  if (cell->started && cell->cls->on_stop != NULL)
    cell->cls->on_stop(cell, cell->state, why);
  mrt__ask_fail_tokens(cell, -ESRCH);
  mrt__actor_set_current(prev);
  if (cell->args != NULL) {
    if (cell->cls->args_drop != NULL)
      cell->cls->args_drop(cell->args);
    free(cell->args);
    cell->args = NULL;
  }
  free(cell->state);
  cell->state = NULL;
  /* A parent reference must not outlive the child: parents usually hold
   * their children's refs too, and the cycle would never be freed. */
  mrt_ref *parent = cell->parent;
  cell->parent = NULL;
  atomic_store_explicit(&cell->life, MRT__LIFE_DEAD, memory_order_release);
  mrt__watch_notify_exit(cell);
  discard_mailbox(cell, -ESRCH);
  mrt_log(why->kind == MRT_EXIT_FAILED ? MRT_LOG_WARN : MRT_LOG_DEBUG, "runtime",
          "actor stopped actor=%s id=%llu exit=%s error=%s reason=\"%s\"", cell->cls->name,
          (unsigned long long)cell->id, mrt_exit_kind_name(why->kind), mrt_strerror(why->error),
          why->reason);
  mrt__runtime_unregister(rt, cell); /* drops the registry's reference */
  mrt_ref_unref(parent);
}

static mrt_exit *take_stop_request(mrt_ref *cell) {
  /* Acquire: see the request's contents written by another thread. */
  mrt_exit *req = atomic_exchange_explicit(&cell->stop_req, NULL, memory_order_acquire);
  return req;
}

static bool stop_requested(mrt_ref *cell) {
  return atomic_load_explicit(&cell->stop_req, memory_order_acquire) != NULL;
}

static void stop_now(mrt_ref *cell, mrt_exit *why) {
  do_stop(cell, why != NULL ? why : (mrt_exit *)&stop_exit);
}

/* ---- start and dispatch -------------------------------------------------- */

static bool do_start(mrt_ref *cell) {
  int rc = 0;
  if (cell->cls->on_start != NULL) {
    mrt_ref *prev = mrt__actor_set_current(cell);
    rc = cell->cls->on_start(cell, cell->state, cell->args);
    mrt__actor_set_current(prev);
  }
  free(cell->args);
  cell->args = NULL;
  if (rc < 0) {
    char reason[MRT_EXIT_REASON_MAX];
    snprintf(reason, sizeof reason, "on_start returned %s", mrt_strerror(rc));
    mrt__exit_free(take_stop_request(cell));
    stop_now(cell, exit_new(MRT_EXIT_FAILED, rc, reason));
    return false;
  }
  cell->started = true;
  atomic_store_explicit(&cell->life, MRT__LIFE_RUNNING, memory_order_release);
  return true;
}

/* Handles one envelope. Returns false if it stopped the actor. */
static bool dispatch(mrt__executor *ex, mrt_ref *cell, mrt__env *env) {
  if (env->kind == MRT__ENV_REPLY) {
    mrt__ask_deliver(cell, mrt__container_of(env, mrt__ask, env));
    return true;
  }
  if (env->kind == MRT__ENV_STOP) {
    mrt_exit *why = env->exit;
    env->exit = NULL;
    mrt__env_free(env);
    stop_now(cell, why);
    return false;
  }
  mrt_handler_fn fn = env->fn != NULL ? env->fn : mrt__actor_handler(cell->cls, env->type);
  mrt_ref *prev = mrt__actor_set_current(cell);
  const mrt_msg_type *prev_type = tls_msg_type;
  tls_msg_type = env->type;
  int rc = fn(cell, cell->state, env->payload, (mrt_reply *)env->ask);
  tls_msg_type = prev_type;
  mrt__actor_set_current(prev);
  mrt__stat_add(&ex->handled, 1);
  mrt__ask *a = env->ask;
  if (a != NULL && a->taken) {
    /* The deferred token belongs to the actor now, with a reference of its
     * own (mrt_reply_defer): the envelope's is dropped here. The record may
     * even be answered and waited for already; that reference kept it alive
     * until this check. */
    env->ask = NULL;
    mrt__ask_release(a);
  } else if (a != NULL && !a->answered)
    mrt__ask_answer(a, rc < 0 ? rc : -ECANCELED, NULL);
  const char *type_name = env->type->name;
  mrt__env_discard(env, -ECANCELED);
  if (rc < 0) {
    char where[64];
    snprintf(where, sizeof where, "handler for %s", type_name);
    mrt__actor_check_result(cell, rc, where);
  }
  return true;
}

/* Clears `scheduled`, then re-checks for work that raced in (see the file
 * comment). Returns true if the actor must run again. */
static bool go_idle(mrt_ref *cell) {
  atomic_store_explicit(&cell->scheduled, MRT__SCHED_IDLE, memory_order_seq_cst);
  /* bus_owed, seq_cst: the bus sets it and then schedules us (core_bus.c), the
   * same "write then read the other's word" as a push. A stopping actor is
   * owed nothing. */
  bool owed = atomic_load_explicit(&cell->bus_owed, memory_order_seq_cst) != 0 &&
              atomic_load_explicit(&cell->life, memory_order_relaxed) < MRT__LIFE_STOPPING;
  /* From here another executor may take the actor and consume its mailbox:
   * look at the producers' end only. */
  bool more = !mrt__mpsc_idle_after_drain(&cell->mailbox) || owed ||
              (stop_requested(cell) &&
               atomic_load_explicit(&cell->life, memory_order_relaxed) < MRT__LIFE_STOPPING);
  if (!more)
    return false;
  /* seq_cst: as in ensure_scheduled; whoever sets the flag queues the actor
   * (a sender that won it may be moving the actor: leave MOVING alone). */
  uint32_t idle = MRT__SCHED_IDLE;
  return atomic_compare_exchange_strong_explicit(&cell->scheduled, &idle, MRT__SCHED_QUEUED,
                                                 memory_order_seq_cst, memory_order_relaxed);
}

/* Makes sure this turn holds a reference before anything that may stop the
 * actor (which drops the registry's reference). */
static void hold(mrt_ref *cell, bool *held) {
  if (!*held) {
    mrt_ref_ref(cell);
    *held = true;
  }
}

void mrt__actor_run(mrt__executor *ex, mrt_ref *cell) {
  /* Read once, now: once go_idle clears `scheduled`, another thread may
   * queue the cell again and rewrite rq_ref (see mrt__executor_schedule). */
  bool held = cell->rq_ref;
  mrt__guard_enter(cell);
  int life = atomic_load_explicit(&cell->life, memory_order_relaxed);
  if (life == MRT__LIFE_STARTING)
    hold(cell, &held);
  if (life == MRT__LIFE_STARTING && !do_start(cell))
    life = MRT__LIFE_DEAD;
  else if (life == MRT__LIFE_STARTING)
    life = MRT__LIFE_RUNNING;
  if (life >= MRT__LIFE_STOPPING) {
    discard_mailbox(cell, -ESRCH); /* raced in after the stop */
  } else {
    unsigned n = 0;
    bool running = true;
    while (running && n < ex->rt->batch) {
      if (stop_requested(cell)) {
        hold(cell, &held);
        stop_now(cell, take_stop_request(cell));
        running = false;
        break;
      }
      mrt__env *env = pop_env(cell);
      if (env == NULL)
        break;
      if (env->kind == MRT__ENV_STOP)
        hold(cell, &held); /* dispatching it stops the actor */
      running = dispatch(ex, cell, env);
      n++;
    }
    if (running && stop_requested(cell)) {
      hold(cell, &held);
      stop_now(cell, take_stop_request(cell));
      running = false;
    }
    /* The turn made room: latest values the bus could not deliver to a full
     * mailbox go in now, behind what is queued. */
    if (running && atomic_load_explicit(&cell->bus_owed, memory_order_seq_cst) != 0)
      mrt__actor_bus_catch_up(cell);
    if (running && n == ex->rt->batch) {
      /* Fairness: back of the queue, keeping what the queue held. */
      cell->rq_ref = held;
      mrt__guard_leave(cell);
      mrt__executor_requeue(ex, cell);
      return;
    }
  }
  /* Before go_idle: from its store on, another thread may run the actor. */
  mrt__guard_leave(cell);
  if (go_idle(cell)) {
    mrt__executor *home = mrt__cell_ex(cell);
    if (home == ex) {
      cell->rq_ref = held;
      mrt__executor_requeue(ex, cell);
      return;
    }
    /* Meanwhile another executor took the actor, ran it and let it go idle:
     * it belongs there now. Queue it there, as from another thread. */
    mrt__executor_schedule(home, cell); /* takes the queue's own reference */
    if (held)
      mrt_ref_unref(cell);
    return;
  }
  if (held)
    mrt_ref_unref(cell); /* the queue's (or this turn's) reference */
}

/* ---- spawn --------------------------------------------------------------- */

static int check_class(const mrt_actor_class *cls) {
  if (cls == NULL || cls->name == NULL)
    return -EINVAL;
  if (cls->handlers == NULL && cls->handle_any == NULL)
    return -EINVAL;
  return 0;
}

/* Placement: an explicit executor (the actor is then pinned there); the
 * executor of the `near` actor now (a hint: both may move later); the
 * spawner's executor when an actor spawns; otherwise round robin. */
static mrt__executor *pick_executor(mrt_runtime *rt, const mrt_spawn_opts *opts) {
  if (opts != NULL && opts->executor >= 0)
    return (unsigned)opts->executor < rt->n_ex ? &rt->ex[opts->executor] : NULL;
  if (opts != NULL && opts->near != NULL && opts->near->rt == rt)
    return mrt__cell_ex(opts->near);
  mrt_ref *cur = mrt__actor_current();
  if (cur != NULL && cur->rt == rt)
    return mrt__cell_ex(cur);
  /* Relaxed: round robin only spreads load; no ordering needed. */
  unsigned i = atomic_fetch_add_explicit(&rt->rr, 1, memory_order_relaxed);
  return &rt->ex[i % rt->n_ex];
}

static mrt_ref *cell_new(mrt_runtime *rt, const mrt_actor_class *cls, const void *args,
                         const mrt_spawn_opts *opts) {
  mrt_ref *cell = cell_alloc(rt);
  if (cell == NULL)
    return NULL;
  if (cls->state_size > 0 && (cell->state = calloc(1, cls->state_size)) == NULL)
    goto fail;
  if (cls->args_size > 0) {
    if ((cell->args = malloc(cls->args_size)) == NULL)
      goto fail;
    if (args != NULL)
      memcpy(cell->args, args, cls->args_size);
    else
      memset(cell->args, 0, cls->args_size);
  }
  cell->rt = rt;
  cell->cls = cls;
  cell->capacity = opts ? opts->mailbox_capacity : 0;
  cell->trap_exits = opts ? opts->trap_exits : false;
  cell->parent = opts ? mrt_ref_ref(opts->parent) : NULL;
  mrt__mpsc_init(&cell->mailbox);
  atomic_init(&cell->refs, 1); /* the registry's: dropped when the actor dies */
  atomic_init(&cell->life, MRT__LIFE_STARTING);
  atomic_init(&cell->scheduled, MRT__SCHED_QUEUED);
  atomic_init(&cell->pinned, opts != NULL && opts->executor >= 0);
  atomic_init(&cell->stop_req, NULL);
  atomic_init(&cell->queued, 0);
  atomic_init(&cell->bus_owed, 0);
  return cell;
fail:
  free(cell->state);
  cell_release_mem(rt, cell);
  return NULL;
}

int mrt_actor_spawn(mrt_runtime *rt, const mrt_actor_class *cls, const void *args,
                    const mrt_spawn_opts *opts, mrt_ref **out) {
  if (out != NULL)
    *out = NULL;
  if (rt == NULL || check_class(cls) < 0 || (cls->args_size > 0 && args == NULL)) {
    mrt_log(MRT_LOG_WARN, "runtime", "spawn refused: %s",
            rt == NULL    ? "NULL runtime"
            : cls == NULL ? "NULL class"
                          : "bad class or args");
    return -EINVAL;
  }
  if (opts != NULL && opts->near != NULL && opts->near->rt != rt) {
    mrt_log(MRT_LOG_WARN, "runtime", "spawn refused: 'near' actor belongs to another runtime");
    return -EINVAL;
  }
  mrt__executor *ex = pick_executor(rt, opts);
  if (ex == NULL) {
    mrt_log(MRT_LOG_WARN, "runtime", "spawn refused: executor %d out of range", opts->executor);
    return -EINVAL;
  }
  mrt_ref *cell = cell_new(rt, cls, args, opts);
  if (cell == NULL)
    return -ENOMEM;
  atomic_init(&cell->ex, ex);
#ifdef MRT__ACTOR_GUARD
  atomic_init(&cell->guard, 0);
#endif
  int rc = mrt__runtime_register(rt, cell);
  if (rc < 0) {
    mrt_ref_unref(cell->parent);
    free(cell->args);
    free(cell->state);
    cell_release_mem(rt, cell);
    return rc;
  }
  if (opts != NULL && opts->link_to != NULL && (rc = mrt__watch_link(cell, opts->link_to)) < 0) {
    /* Spawned means linked: undo the registration; the actor never ran. */
    mrt_ref_unref(cell->parent);
    cell->parent = NULL;
    free(cell->args);
    cell->args = NULL;
    free(cell->state);
    cell->state = NULL;
    atomic_store_explicit(&cell->life, MRT__LIFE_DEAD, memory_order_release);
    mrt__runtime_unregister(rt, cell); /* drops the last reference */
    return rc;
  }
  if (out != NULL)
    *out = mrt_ref_ref(cell);
  mrt__executor_schedule(ex, cell); /* `scheduled` starts at 1: on_start runs first */
  return 0;
}

/* ---- public lifecycle ---------------------------------------------------- */

static int request_stop_public(mrt_ref *ref, const mrt_exit *e) {
  if (ref == NULL) {
    mrt_log(MRT_LOG_WARN, "runtime", "%s refused: NULL ref", e->reason);
    return -EINVAL;
  }
  if (atomic_load_explicit(&ref->life, memory_order_acquire) == MRT__LIFE_DEAD)
    return -ESRCH;
  if (atomic_load_explicit(&ref->stop_req, memory_order_acquire) == NULL)
    request_stop_with(ref, (mrt_exit *)e);
  return 0;
}

int mrt_actor_stop(mrt_ref *ref) {
  return request_stop_public(ref, &stop_exit);
}

int mrt_actor_kill(mrt_ref *ref) {
  return request_stop_public(ref, &kill_exit);
}

int mrt_actor_fail(mrt_actor *self, int err, const char *fmt, ...) {
  if (!mrt__in_context(self) || err >= 0) {
    mrt_log(MRT_LOG_WARN, "runtime", "fail refused: %s",
            err >= 0 ? "error must be a negative errno" : "not in the actor's context");
    return -EINVAL;
  }
  char reason[MRT_EXIT_REASON_MAX] = "";
  if (fmt != NULL) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
  }
  mrt__actor_request_stop(self, MRT_EXIT_FAILED, err, reason);
  return 0;
}

mrt_runtime *mrt_actor_runtime(const mrt_actor *self) {
  return self ? self->rt : NULL;
}

struct event_base *mrt_actor_event_base(const mrt_actor *self) {
  if (self == NULL)
    return NULL;
  /* Whatever the actor registers on this base runs on this executor's
   * thread: the actor must stay here from now on. */
  mrt__cell_pin((mrt_actor *)self);
  return mrt__cell_ex(self)->base;
}

uint64_t mrt_actor_now(const mrt_actor *self) {
  return self ? mrt_runtime_now(self->rt) : 0;
}

void *mrt_actor_state(mrt_actor *self) {
  return self ? self->state : NULL;
}

mrt_ref *mrt_actor_ref(mrt_actor *self) {
  return mrt_ref_ref(self);
}

mrt_ref *mrt_actor_parent(const mrt_actor *self) {
  if (self == NULL || atomic_load_explicit(&self->life, memory_order_acquire) == MRT__LIFE_DEAD)
    return NULL;
  return self->parent;
}

const mrt_msg_type *mrt_actor_msg_type(const mrt_actor *self) {
  return self != NULL && tls_actor == self ? tls_msg_type : NULL;
}

int mrt_actor_trap_exits(mrt_actor *self, bool trap) {
  if (!mrt__in_context(self))
    return -EINVAL;
  if (trap && !mrt__actor_accepts(self->cls, &mrt_msg_exit))
    return -ENOTSUP;
  self->trap_exits = trap;
  return 0;
}

/* Graceful stop for shutdown: queued behind what the actor already has. */
int mrt__actor_post_stop(mrt_ref *cell, mrt_exit_kind kind, const char *reason) {
  mrt__env *env = mrt__env_new(&mrt_msg_shutdown, &(mrt_none){0});
  if (env == NULL)
    return -ENOMEM;
  env->kind = MRT__ENV_STOP;
  env->exit = exit_new(kind, 0, reason);
  mrt__mpsc_push(&cell->mailbox, &env->node);
  mrt__actor_ensure_scheduled(cell);
  return 0;
}
