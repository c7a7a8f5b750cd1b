/* SPDX-License-Identifier: MIT */
/* meshrt — private structures shared by the runtime's files.
 *
 * Object map: an mrt_runtime owns executors; each executor owns an event_base,
 * a run queue of ready actors, a job queue, a timer heap and an envelope pool.
 * An actor's control block (struct mrt_ref, "cell") holds its mailbox and
 * lifecycle state and lives as long as any reference; its state memory lives
 * only while the actor runs. Envelopes carry messages; ask records carry one
 * ask from request to reply (and double as the reply's envelope).
 */
#ifndef MESHRT_INTERNAL_H
#define MESHRT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <meshrt/meshrt.h>

#include "core_bus.h"
#include "mpsc.h"
#include "mrt_grow.h"

struct event;
struct event_base;

typedef struct mrt__executor mrt__executor;
typedef struct mrt__timer mrt__timer;
typedef struct mrt__ask mrt__ask;
typedef struct mrt__watch mrt__watch;
typedef struct mrt__io mrt__io;

/* ---- envelopes ---------------------------------------------------------- */

enum mrt__env_kind {
  MRT__ENV_USER = 0, /* a message for a handler (ask token in `ask` if any) */
  MRT__ENV_REPLY,    /* an ask record coming home to its asker */
  MRT__ENV_STOP,     /* graceful stop queued behind earlier messages */
};

/* mrt__shared, the payload the bus shares among envelopes: core_bus.h. */

/* The inline payload follows the struct; the alignment of the first member
 * rounds the struct's size up so that payload is max-aligned. */
typedef struct mrt__env {
  _Alignas(max_align_t) mrt__node node;
  uint8_t kind;
  uint8_t pooled;  /* came from an executor pool's size class */
  uint8_t counted; /* counts against a bounded mailbox */
  const mrt_msg_type *type;
  mrt__ask *ask; /* USER: the reply token, or NULL for tells */
  void *payload; /* inline data[] or shared->data */
  mrt__shared *shared;
  union {
    /* USER: the receiver's handler, found when the send was checked (so the
     * class's table is searched once per message), or NULL: look it up. */
    mrt_handler_fn fn;
    mrt_exit *exit; /* STOP: the exit to stop with (owned) */
  };
} mrt__env;

static inline void *mrt__env_inline(mrt__env *env) {
  return env + 1;
}

#define MRT__ENV_POOL_PAYLOAD 64 /* payloads up to this size use the pool */
#define MRT__ENV_POOL_MAX 16384  /* envelopes kept per executor (2 MiB at most) */

mrt__env *mrt__env_new(const mrt_msg_type *type, const void *payload);
void mrt__env_free(mrt__env *env);
/* mrt__env_discard for envelopes that own something (below). */
void mrt__env_discard_slow(mrt__env *env, int ask_err);
/* Runs the payload's drop hook (or releases the shared payload), answers an
 * unanswered token with `ask_err`, and frees the envelope. Inline for the
 * common case, a plain tell that owns nothing: after every handler, straight
 * back to the pool. */
static inline void mrt__env_discard(mrt__env *env, int ask_err) {
  if (env->kind == MRT__ENV_USER && env->ask == NULL && env->shared == NULL &&
      (env->type == NULL || env->type->drop == NULL))
    mrt__env_free(env);
  else
    mrt__env_discard_slow(env, ask_err);
}

/* ---- asks --------------------------------------------------------------- */

enum mrt__ask_state {
  MRT__ASK_PENDING = 0,
  MRT__ASK_REPLYING,  /* a replier won; its REPLY delivery is in progress */
  MRT__ASK_REPLIED,   /* the reply is delivered (or being waited on) */
  MRT__ASK_ABANDONED, /* the asker gave up: timed out or stopped */
};

/* A host thread blocked in mrt_ask_sync. It first spins on `phase` for a few
 * microseconds; only if the reply is slower does it set up `mu`/`cv`, switch
 * `phase` to SLEEPING and sleep (ask_sync.c). A replier that finds SPINNING
 * touches the struct last with its exchange to DONE; one that finds SLEEPING
 * sets `signalled` under `mu`, and the waiter does not return before it has
 * seen that (ask.c, deliver_sync). */
enum { MRT__SYNC_SPINNING = 0, MRT__SYNC_SLEEPING, MRT__SYNC_DONE };

typedef struct mrt__sync_wait {
  _Atomic int phase;
  bool sleep_ready;   /* mu and cv are initialised (waiter's thread only) */
  bool slept;         /* the waiter switched phase to SLEEPING (waiter only) */
  bool signalled;     /* the replier is done with this struct (under mu) */
  pthread_mutex_t mu; /* initialised only when the waiter goes to sleep */
  pthread_cond_t cv;
} mrt__sync_wait;

/* A CPU hint for spin loops: gives the core's pipeline to a sibling
 * hyperthread and saves power while a thread polls. */
static inline void mrt__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#else
  atomic_signal_fence(memory_order_seq_cst);
#endif
}

/* Adaptive spinning. A spinner keeps its credit while spins pay off (what it
 * waits for comes within the budget) and loses it when they do not: when the
 * peer is slow, or descheduled on an overloaded machine, where a thread that
 * sleeps is woken sooner than one that spins. Without credit it sleeps at
 * once, and tries a spin again every SPIN_PROBE_EVERY chances. One owner
 * thread per gate. */
#define MRT__SPIN_CREDIT 4
#define MRT__SPIN_PROBE_EVERY 32

typedef struct mrt__spin_gate {
  uint8_t debit;   /* spins that did not pay, in a row (up to MRT__SPIN_CREDIT) */
  uint8_t skipped; /* chances skipped since the gate closed */
} mrt__spin_gate;

static inline bool mrt__spin_gate_open(mrt__spin_gate *g) {
  if (g->debit < MRT__SPIN_CREDIT)
    return true;
  if (++g->skipped < MRT__SPIN_PROBE_EVERY)
    return false;
  g->skipped = 0;
  return true;
}

static inline void mrt__spin_gate_note(mrt__spin_gate *g, bool paid) {
  if (paid)
    g->debit = 0;
  else if (g->debit < MRT__SPIN_CREDIT)
    g->debit++;
}

struct mrt__ask {
  mrt__env env; /* REPLY delivery into the asker's mailbox */
  _Atomic uint32_t refs;
  _Atomic int state;
  int status;
  const mrt_msg_type *type;
  /* asker side */
  mrt_ref *asker; /* async asks: a reference to the asker */
  mrt_ask_fn cb;
  void *ud;
  mrt__timer *timeout;
  mrt__ask *pend_prev, *pend_next; /* asker's pending list */
  mrt__sync_wait *sync;            /* sync asks: the waiting thread */
  /* replier side */
  mrt_ref *holder;               /* actor holding a deferred token */
  mrt__ask *tok_prev, *tok_next; /* holder's deferred-token list */
  bool pooled;                   /* from an executor's ask pool */
  bool taken;                    /* deferred by the handler */
  bool answered;
  bool reply_valid; /* reply[] holds data to drop if unread */
  max_align_t reply[];
};

mrt__ask *mrt__ask_new(const mrt_msg_type *type);
void mrt__ask_pool_free(mrt__executor *ex);
void mrt__cell_pool_free(mrt__executor *ex);
void mrt__ask_release(mrt__ask *a);
/* Answers a token (status < 0: error, no data). Returns 0 or -EINVAL if it was
 * answered already. Safe from any thread. */
int mrt__ask_answer(mrt__ask *a, int status, const void *data);
/* Asker side: the REPLY envelope arrived; runs the continuation. */
void mrt__ask_deliver(mrt_ref *asker, mrt__ask *a);
/* Asker side: the ask's timeout timer fired (asker's context). */
void mrt__ask_timed_out(mrt_ref *asker, mrt__ask *a);
/* Asker stopping: every pending ask resolves exactly once. */
void mrt__ask_abandon_pending(mrt_ref *asker);
/* Replier stopping: answers every deferred token with `err`. */
void mrt__ask_fail_tokens(mrt_ref *holder, int err);

/* ---- timers ------------------------------------------------------------- */

struct mrt__timer {
  uint64_t deadline;
  uint64_t period;
  uint64_t seq; /* creation order: ties fire in this order */
  uint64_t id;
  size_t heap_index;
  mrt_ref *owner;          /* borrowed: timers die before their owner */
  mrt__timer *prev, *next; /* owner's timer list */
  mrt_timer_fn fn;
  void *ud;
  mrt__env *send_env; /* send_after: the envelope to deliver */
  mrt_ref *send_to;   /* send_after: its target (reference held) */
  mrt__ask *ask;      /* ask timeout: the ask it guards */
};

typedef struct mrt__timer_heap {
  mrt__timer **items;
  size_t len, cap;
} mrt__timer_heap;

int mrt__timer_heap_push(mrt__timer_heap *h, mrt__timer *t);
void mrt__timer_heap_remove(mrt__timer_heap *h, mrt__timer *t);
mrt__timer *mrt__timer_heap_top(const mrt__timer_heap *h);
void mrt__timer_heap_free(mrt__timer_heap *h);
void mrt__timer_pool_free(mrt__executor *ex);

mrt__timer *mrt__timer_add(mrt_ref *owner, uint64_t delay_ns, uint64_t period_ns);
void mrt__timer_cancel(mrt__timer *t);
void mrt__timer_cancel_all(mrt_ref *owner);
/* Fires one due timer popped from its executor's heap. */
void mrt__timer_fire(mrt__executor *ex, mrt__timer *t);
/* Real clock: (re)arms the executor's libevent timer for the earliest deadline. */
void mrt__timer_rearm(mrt__executor *ex);

/* ---- actors ------------------------------------------------------------- */

enum mrt__life {
  MRT__LIFE_STARTING = 0,
  MRT__LIFE_RUNNING,
  MRT__LIFE_STOPPING,
  MRT__LIFE_DEAD,
};

/* Values of mrt_ref.scheduled (see actor.c and executor.c). */
enum {
  MRT__SCHED_IDLE = 0,   /* not queued, not running: the next sender queues it */
  MRT__SCHED_QUEUED = 1, /* queued on or running in cell->ex, which is stable */
  MRT__SCHED_MOVING = 2, /* its new executor is being written (migration) */
};

struct mrt_ref {
  _Atomic uint32_t refs;
  _Atomic int life;
  _Atomic uint32_t scheduled;   /* MRT__SCHED_*: queued at most once */
  _Atomic bool pinned;          /* may never change executor (executor.c) */
  _Atomic(mrt_exit *) stop_req; /* first stop/kill/fail request wins */
  uint64_t id;
  mrt_runtime *rt;
  /* The executor that runs it. Written only by the thread that owns the
   * `scheduled` flag (migration) or queues it (donation); read with
   * mrt__cell_ex. */
  _Atomic(mrt__executor *) ex;
#ifdef MRT__ACTOR_GUARD
  _Atomic int guard; /* 1 while some thread runs it (debug builds) */
#endif
  const mrt_actor_class *cls;
  mrt__mpsc mailbox;
  mrt__node rq_node;         /* run-queue link */
  _Atomic uint32_t queued;   /* bounded mailboxes: envelopes counted */
  _Atomic uint32_t bus_owed; /* the bus owes it a latest value (bus.c) */
  uint32_t capacity;         /* 0: unbounded */
  bool trap_exits;
  bool started; /* on_start succeeded */
  bool rq_ref;  /* the run queue holds a reference (see executor.c) */
  void *state;
  void *args; /* spawn args until on_start */
  mrt__timer *timers;
  mrt__io *ios;                 /* fd watches (io.c) */
  mrt__ask *pending;            /* asks this actor is waiting on */
  mrt__ask *tokens;             /* deferred tokens this actor holds */
  mrt__watch *watches;          /* monitors/links on this actor (rt->watch_mu) */
  mrt_ref *parent;              /* spawn opts' parent (reference held until DEAD) */
  mrt_exit *exit;               /* set when stopping */
  mrt_ref *reg_prev, *reg_next; /* runtime registry, spawn order (rt->mu) */
};

/* Relaxed: the owner of the `scheduled` flag, or the actor's own context,
 * reads a value ordered by the flag's handshake; other readers (spawn hints,
 * metrics) only want a recent value. */
static inline mrt__executor *mrt__cell_ex(const mrt_ref *cell) {
  return atomic_load_explicit(&((mrt_ref *)cell)->ex, memory_order_relaxed);
}

/* The actor will never move to another executor: it owns timers or fd
 * watches (their callbacks run on its executor's thread, outside its turns),
 * asked for its event_base, or was placed on an explicit executor. Called in
 * the actor's context or at spawn; sticky. Relaxed: it is read by the thread
 * that wins the `scheduled` flag, which orders it after this write. */
static inline void mrt__cell_pin(mrt_ref *cell) {
  atomic_store_explicit(&cell->pinned, true, memory_order_relaxed);
}

/* Debug builds assert that no actor is ever run by two threads at once. */
#ifdef MRT__ACTOR_GUARD
#include <assert.h>
static inline void mrt__guard_enter(mrt_ref *cell) {
  /* acquire/release: pairs with the previous runner's leave. */
  int was = atomic_exchange_explicit(&cell->guard, 1, memory_order_acquire);
  assert(was == 0 && "an actor ran on two threads at once");
  (void)was;
}
static inline void mrt__guard_leave(mrt_ref *cell) {
  atomic_store_explicit(&cell->guard, 0, memory_order_release);
}
#else
static inline void mrt__guard_enter(mrt_ref *cell) {
  (void)cell;
}
static inline void mrt__guard_leave(mrt_ref *cell) {
  (void)cell;
}
#endif

/* ---- executors ---------------------------------------------------------- */

typedef struct mrt__job {
  mrt__node node;
  void (*fn)(mrt__executor *ex, void *arg);
  void *arg;
} mrt__job;

struct mrt__executor {
  mrt_runtime *rt;
  unsigned index;
  struct event_base *base;
  bool own_base;
  int wake_fd;
  struct event *wake_ev;
  struct event *timer_ev;
  uint64_t armed_deadline; /* UINT64_MAX: not armed */
  mrt__mpsc runq;
  mrt__mpsc jobs;
  _Atomic bool wake_pending; /* a wake-up is on its way, or a drain or spin is running */
  _Atomic bool idle;         /* nothing to run: spinning or asleep (donation target) */
  bool in_drain;
  bool stop_loop;
  bool movable;             /* actors may move onto and off it (threads of their own) */
  bool spin_enabled;        /* spins before sleeping (own thread, spin_ns > 0) */
  bool remote_work;         /* this drain took work another thread queued */
  bool waiter_spinning;     /* this drain answered an ask_sync whose host thread
                               was spinning for it: its next ask follows at once */
  mrt__spin_gate spin_gate; /* adaptive spinning (executor thread only) */
  /* Counters written by the executor's thread only (relaxed load + store,
   * no RMW) and read as racy snapshots by mrt_runtime_get_stats. */
  _Atomic uint64_t handled;  /* messages handled */
  _Atomic uint64_t moves_in; /* actors it took from other executors when waking them */
  _Atomic uint64_t donated;  /* ready actors it handed to idle executors */
  _Atomic uint64_t spin_ns;  /* time spent spinning before sleeping */
  _Atomic uint64_t spins;    /* spin episodes */
  _Atomic uint64_t wakeups;  /* eventfd writes (any thread: RMW) */
  uint64_t turns;            /* turns, jobs, I/O callbacks run (executor thread only) */
  pthread_t thread;
  bool has_thread;
  mrt__timer_heap timers;
  mrt__env *pool; /* free small envelopes (executor thread only) */
  unsigned pool_len;
  mrt__ask *ask_pool; /* free ask records (executor thread only) */
  unsigned ask_pool_len;
  mrt__timer *timer_pool; /* free timers (executor thread only) */
  mrt_ref *cell_pool;     /* free actor control blocks (executor thread only) */
  unsigned cell_pool_len;
  unsigned timer_pool_len;
  uint64_t timer_seq;                 /* creation order of this executor's timers */
  uint64_t timer_ids;                 /* public timer ids: (count << 8) | index */
  mrt__node *local_head, *local_tail; /* actors made ready by this executor's own thread */
  unsigned local_len;                 /* actors on that list */
  unsigned local_streak;              /* local turns since the run queue was last polled */
  unsigned backlog;                   /* moving average of local_len, in 1/256ths (donation) */
  unsigned since_donate_check;        /* turns since donation was last considered */
};

/* Executor-thread counters: one writer, so a load and a store suffice. */
static inline void mrt__stat_add(_Atomic uint64_t *c, uint64_t n) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}

int mrt__executor_init(mrt__executor *ex, mrt_runtime *rt, unsigned index,
                       struct event_base *host_base);
void mrt__executor_destroy(mrt__executor *ex);
int mrt__executor_rebase(mrt__executor *ex, struct event_base *base);
int mrt__executor_start_thread(mrt__executor *ex);
void mrt__executor_stop_thread(mrt__executor *ex);
/* Queues a ready actor (a reference is taken) and wakes the executor. */
void mrt__executor_schedule(mrt__executor *ex, mrt_ref *cell);
/* Called by the thread that is about to queue `cell` (it saw the flag idle):
 * true if it should take the actor onto its own executor `cur` instead
 * (wake-affine migration, see executor.c). */
bool mrt__executor_may_take(const mrt__executor *cur, const mrt_ref *cell);
/* Sets the executors' scheduling roles once the runtime is driven. */
void mrt__executor_configure(mrt__executor *ex, bool own_thread, bool movable);
/* Executor thread, in a drain: queues an actor again, keeping its reference. */
void mrt__executor_requeue(mrt__executor *ex, mrt_ref *cell);
void mrt__executor_post(mrt__executor *ex, mrt__job *job);
void mrt__executor_wake(mrt__executor *ex);
/* Polls ready(arg) until it is true (returns true) or CLOCK_MONOTONIC reaches
 * `until` (returns ready's last answer): pause hints first, then yielding the
 * CPU between polls. For the bounded spins of executors and ask_sync. */
bool mrt__spin_until(bool (*ready)(void *), void *arg, uint64_t until);

/* Runs ready actors and jobs; returns the number of turns/jobs run. */
int mrt__executor_drain(mrt__executor *ex, unsigned max_turns);
/* The executor whose thread (or hand-driven context) is running now, or NULL.
 * Inline, with the initial-exec TLS model (libmeshrt is linked, not
 * dlopen'ed): every send and every envelope reads it, and a call to another
 * file or to __tls_get_addr would cost more than the read. */
extern _Thread_local mrt__executor *mrt__tls_executor __attribute__((tls_model("initial-exec")));
static inline mrt__executor *mrt__executor_current(void) {
  return mrt__tls_executor;
}
void mrt__executor_set_current(mrt__executor *ex);

/* The actor whose handler/timer/continuation is running now on this thread. */
mrt_ref *mrt__actor_current(void);
mrt_ref *mrt__actor_set_current(mrt_ref *cell);

/* True when called in `self`'s own context (its handler, timer, I/O callback,
 * continuation, on_start or on_stop) — what calls taking `self` require. */
static inline bool mrt__in_context(const mrt_ref *self) {
  return self != NULL && mrt__actor_current() == self;
}

/* Actor internals used across files. */
void mrt__actor_run(mrt__executor *ex, mrt_ref *cell);
void mrt__actor_request_stop(mrt_ref *cell, mrt_exit_kind kind, int err, const char *reason);
/* mrt__actor_enqueue (a user envelope, bounded): core_bus.h. */
/* Pushes a runtime notice (DOWN, EXIT, shutdown) past any bound: never fails. */
void mrt__actor_enqueue_notice(mrt_ref *to, mrt__env *env);
/* mrt_tell for runtime notices: validated like a tell, never refused for a
 * full mailbox. Returns 0, -EINVAL, -ENOTSUP, -ESRCH, -ENOMEM. */
int mrt__tell_notice(mrt_ref *to, const mrt_msg_type *type, const void *payload, size_t size);
/* Validates and sends a copy of payload (with an ask token, or NULL). */
int mrt__send_env(mrt_ref *to, const mrt_msg_type *type, const void *payload, size_t size,
                  mrt__ask *ask, const char *what);
/* After a push: makes sure the actor is queued to run. The common case, a
 * receiver that is queued or running already, is one load and inline. */
void mrt__actor_schedule_if_idle(mrt_ref *cell);
static inline void mrt__actor_ensure_scheduled(mrt_ref *cell) {
  /* seq_cst load after the caller's seq_cst push: see actor.c's file comment.
   * The plain load first avoids a contended RMW while the actor is queued. */
  if (atomic_load_explicit(&cell->scheduled, memory_order_seq_cst) != MRT__SCHED_IDLE)
    return;
  mrt__actor_schedule_if_idle(cell);
}
bool mrt__actor_accepts(const mrt_actor_class *cls, const mrt_msg_type *type);
mrt_handler_fn mrt__actor_handler(const mrt_actor_class *cls, const mrt_msg_type *type);
/* Called with the result of any user callback run in the actor's context. */
void mrt__actor_check_result(mrt_ref *cell, int rc, const char *where);

int mrt__actor_post_stop(mrt_ref *cell, mrt_exit_kind kind, const char *reason);
/* Frees an exit record (those recorded without memory are static). */
void mrt__exit_free(mrt_exit *e);

/* End of an actor's turn (its executor thread) when `bus_owed` is set: the
 * bus delivers the latest value of each MRT_BUS_LATEST type the actor missed
 * while its mailbox was full (core_bus.c, then bus.c). */
void mrt__actor_bus_catch_up(mrt_ref *cell);

/* Removes every fd watch of a stopping actor (io.c). */
void mrt__io_cancel_all(mrt_ref *owner);

/* Monitors and links (watch.c). */
void mrt__watch_notify_exit(mrt_ref *cell);
int mrt__watch_link(mrt_ref *a, mrt_ref *b);
void mrt__watch_signal_shutdown(mrt_runtime *rt);

/* ---- runtime ------------------------------------------------------------ */

enum mrt__rt_state { MRT__RT_IDLE = 0, MRT__RT_RUNNING, MRT__RT_SHUTTING_DOWN, MRT__RT_DOWN };
enum mrt__rt_mode { MRT__MODE_HAND = 0, MRT__MODE_THREADS, MRT__MODE_ATTACHED };

struct mrt_runtime {
  _Atomic uint32_t host_refs; /* mrt_runtime_ref/unref */
  _Atomic uint32_t hold;      /* memory lifetime: host refs count as 1, plus cells */
  _Atomic int state;
  int mode;
  bool virtual_clock;
  _Atomic uint64_t vnow;
  unsigned batch;
  uint32_t spin_ns; /* executors' and ask_sync's spin before sleeping; 0: none */
  unsigned n_ex;
  mrt__executor *ex;
  pthread_t attach_thread;
  _Atomic uint64_t next_actor_id;
  _Atomic unsigned rr;
  pthread_mutex_t mu;           /* registry, shutdown watchers, lifecycle */
  pthread_cond_t cv;            /* signalled when an actor dies */
  mrt_ref *reg_head, *reg_tail; /* live actors in spawn order */
  pthread_mutex_t watch_mu;     /* monitors and links */
  mrt_ref **shutdown_watchers;
  size_t n_shutdown_watchers, cap_shutdown_watchers;
  _Atomic uint64_t stat_live, stat_spawned, stat_stopped;
  _Atomic(void *) bus; /* the bus (bus/bus.c), created on first use */
  void (*bus_free)(void *bus);
  void (*bus_shutdown)(void *bus); /* drops subscriptions and retained values */
};

void mrt__runtime_hold(mrt_runtime *rt);
void mrt__runtime_release(mrt_runtime *rt);
/* True until the runtime is down: sends are still taken. Every send asks. */
static inline bool mrt__runtime_accepting(const mrt_runtime *rt) {
  return atomic_load_explicit(&rt->state, memory_order_acquire) < MRT__RT_DOWN;
}
int mrt__runtime_register(mrt_runtime *rt, mrt_ref *cell);
void mrt__runtime_unregister(mrt_runtime *rt, mrt_ref *cell);
/* True if the calling thread may run executor `ex` inline (hand-driven
 * runtime, or the attach thread for executor 0). */
bool mrt__runtime_drivable(const mrt_runtime *rt, const mrt__executor *ex);
uint64_t mrt__monotonic_ns(void);
/* Hand-driven runtimes: run every executor until nothing is ready. */
int mrt__runtime_idle_pass(mrt_runtime *rt);
/* Virtual clock: fire timers due up to `target`, then set the clock to it. */
int mrt__runtime_advance_until(mrt_runtime *rt, uint64_t target);

#endif
