/* SPDX-License-Identifier: MIT */
/* meshrt — executors: one event_base, one run queue, one thread.
 *
 * An executor runs ready actors in FIFO order, a bounded batch of messages per
 * turn, and interleaves them with libevent's I/O and timer callbacks. Other
 * threads hand it work through two MPSC queues (ready actors, jobs) and wake it
 * through an eventfd registered on its event_base. The `wake_pending` flag
 * keeps wake-ups to one write per idle period: it is true from the first
 * producer's write until the executor has drained everything, so a stream of
 * cross-thread tells costs one syscall, not one per message.
 *
 * Scheduling across executors. A hop between threads through a sleeping
 * executor costs an eventfd write, an epoll wake-up and cache misses on
 * everything the actor touches: 5-10 us on a small machine, against 30-60 ns
 * for a hop between actors on one thread. Adding an executor must never make
 * messaging slower, so the design keeps actors that talk on one thread and
 * spreads only work that is really parallel:
 *
 * 1. Wake-affine migration (Go's runnext, Linux's wake-affine). When a
 *    handler on executor E makes an idle actor ready, E takes the actor onto
 *    its own ready list instead of waking the actor's executor, unless the
 *    actor is pinned. Ping-pong, rings and request/reply chains collapse onto
 *    one thread after the first hop, whatever the placement. A move costs no
 *    syscall and no lock: the thread that wins the actor's `scheduled` flag
 *    (actor.c) owns it, claims it with IDLE -> MOVING, writes the new
 *    executor, then publishes QUEUED. Pinned actors never move: those that
 *    own timers or fd watches (their callbacks run on their executor's thread
 *    outside the actor's turns, so a move could run both at once), that asked
 *    for their event_base, or that were spawned on an explicit executor.
 *    Pinning is sticky, so an actor that has ever asked (every ask arms a
 *    timeout timer) stays where it is; its peers come to it instead. The
 *    price: a moved actor's state follows it through the caches, and an actor
 *    woken alternately from two executors bounces between them.
 * 2. Donation, the balance against 1 (which alone would pile every actor on
 *    one thread). An executor keeps a moving average of its ready list; when
 *    it stays above DONATE_BACKLOG and another executor is idle, it hands up
 *    to half of its ready, movable, started actors to that executor's run
 *    queue and wakes it. Donated actors are a prefix of the ready list that
 *    stops at the first actor still starting, so an actor spawned from a
 *    handler runs on_start before anything its spawner readies afterwards on
 *    that executor (the supervisor's start barrier relies on this). The owner
 *    decides and pushes, so no thread ever pops another's queue; the cost is
 *    that a busy executor sheds work only at its own turn boundaries, that an
 *    actor still starting is never donated (a spawn storm stays where it was
 *    spawned until its actors have started), and that a two-actor pipeline
 *    (counting) is deliberately not split: its average stays below the
 *    threshold, and splitting it would cost a wake-up per credit.
 * 3. A bounded spin before sleeping (Erlang's scheduler busy wait, CAF's
 *    polling tiers, Go's spinning Ms). After a drain that took work from
 *    another thread, an executor with its own thread keeps `wake_pending` set
 *    and polls its queues for up to rt->spin_ns before going back to epoll,
 *    so work that follows within a few microseconds costs no syscall on
 *    either side. It spins only after cross-thread work: an idle runtime, or
 *    one woken only by its own timers and sockets, never spins; the time
 *    spent spinning is counted (mrt_runtime_stats.spin_ns), so the idle-CPU
 *    benchmark shows it. I/O and timers wait at most one spin. A spin polls
 *    with the CPU's pause hint for 2 us, then yields the CPU between polls;
 *    and it is adaptive (mrt__spin_gate): after four spins in a row that did
 *    not pay (no work within the budget: a slow peer, or an overloaded
 *    machine, where a sleeping thread is woken sooner than a spinning one
 *    gets the CPU back) the executor sleeps at once, trying a spin again
 *    every 32 chances. mrt_ask_sync spins on its reply the same way, and the
 *    two sides are coupled so that they do not both stay asleep: an executor
 *    that answered a host thread still spinning for its reply spins for the
 *    next ask whatever its gate says (`waiter_spinning`), and a host thread
 *    spins whenever the target's executor is awake, up to ten budgets, long
 *    enough to outlast that executor's wake-up (ask_sync.c).
 *
 * Migration and donation happen only between executors with threads of their
 * own (mrt_runtime_start; with mrt_runtime_attach, executor 0 in the host's
 * loop keeps its actors and gets none). A hand-driven runtime never moves an
 * actor, so tests see the placement they asked for.
 *
 * An executor's run queue, job queue, timer heap and envelope pool are touched
 * only by the thread currently driving it: its own thread, the host's loop
 * thread (attached executor 0), or the caller of a hand-driven runtime.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <event2/event.h>

#include "internal.h"

/* How many actor turns a drain runs before yielding to libevent, so that
 * sockets and timers are served even when actors keep each other busy. */
#define DRAIN_TURNS 1024

/* Donation: the threshold on the ready list's moving average (in 1/256ths,
 * see after_turn) at which an executor sheds work to an idle one; how often it looks (turns);
 * how many actors it hands over at most. Measured after each turn, a chain
 * of actors (ping-pong, ring, request/reply) averages 1, the next hop always
 * waiting; a two-actor pipeline (counting) a little more, with bursts of 2
 * while both are ready; two independent chains 2 all the time. So an average
 * of 2 splits independent work and (almost) never a pipeline. */
#define DONATE_BACKLOG (2 << 8)
#define DONATE_PERIOD 32
#define DONATE_MAX 64

/* initial-exec: see mrt__executor_current in internal.h. */
_Thread_local mrt__executor *mrt__tls_executor __attribute__((tls_model("initial-exec")));

void mrt__executor_set_current(mrt__executor *ex) {
  mrt__tls_executor = ex;
}

static void on_wake(evutil_socket_t fd, short what, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);

int mrt__executor_init(mrt__executor *ex, mrt_runtime *rt, unsigned index,
                       struct event_base *host_base) {
  memset(ex, 0, sizeof *ex);
  ex->rt = rt;
  ex->index = index;
  ex->wake_fd = -1;
  ex->armed_deadline = UINT64_MAX;
  mrt__mpsc_init(&ex->runq);
  mrt__mpsc_init(&ex->jobs);
  atomic_init(&ex->wake_pending, false);
  atomic_init(&ex->idle, true); /* nothing to run yet */
  ex->base = host_base;
  if (ex->base == NULL) {
    ex->base = event_base_new();
    if (ex->base == NULL)
      return -ENOMEM;
    ex->own_base = true;
  }
  ex->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (ex->wake_fd < 0)
    return -errno;
  ex->wake_ev = event_new(ex->base, ex->wake_fd, EV_READ | EV_PERSIST, on_wake, ex);
  ex->timer_ev = evtimer_new(ex->base, on_timer, ex);
  if (ex->wake_ev == NULL || ex->timer_ev == NULL || event_add(ex->wake_ev, NULL) < 0)
    return -ENOMEM;
  return 0;
}

/* Moves the executor's events to a host base (attach). */
int mrt__executor_rebase(mrt__executor *ex, struct event_base *base) {
  event_free(ex->wake_ev);
  event_free(ex->timer_ev);
  if (ex->own_base)
    event_base_free(ex->base);
  ex->base = base;
  ex->own_base = false;
  ex->armed_deadline = UINT64_MAX;
  ex->wake_ev = event_new(base, ex->wake_fd, EV_READ | EV_PERSIST, on_wake, ex);
  ex->timer_ev = evtimer_new(base, on_timer, ex);
  if (ex->wake_ev == NULL || ex->timer_ev == NULL || event_add(ex->wake_ev, NULL) < 0)
    return -ENOMEM;
  mrt__timer_rearm(ex);
  /* Work queued before attaching must not wait for the next wake-up. */
  event_active(ex->wake_ev, EV_READ, 0);
  return 0;
}

void mrt__executor_destroy(mrt__executor *ex) {
  if (ex->wake_ev != NULL)
    event_free(ex->wake_ev);
  if (ex->timer_ev != NULL)
    event_free(ex->timer_ev);
  if (ex->wake_fd >= 0)
    close(ex->wake_fd);
  if (ex->own_base && ex->base != NULL)
    event_base_free(ex->base);
  mrt__timer_heap_free(&ex->timers);
  mrt__timer_pool_free(ex);
  mrt__ask_pool_free(ex);
  mrt__cell_pool_free(ex);
  while (ex->pool != NULL) {
    mrt__env *env = ex->pool;
    ex->pool = (mrt__env *)env->payload;
    free(env);
  }
  ex->wake_ev = ex->timer_ev = NULL;
  ex->base = NULL;
  ex->wake_fd = -1;
}

void mrt__executor_wake(mrt__executor *ex) {
  /* seq_cst exchange: ordered after the caller's seq_cst push, and pairs with
   * the drain's seq_cst store of `false` followed by its idle check, so either
   * the drain sees the new work or we see `false` and write the eventfd. */
  if (atomic_exchange_explicit(&ex->wake_pending, true, memory_order_seq_cst))
    return;
  uint64_t one = 1;
  ssize_t n = write(ex->wake_fd, &one, sizeof one);
  (void)n; /* EAGAIN means the counter is already non-zero: a wake is pending */
  /* Relaxed: a statistic; any thread may get here, hence the RMW. */
  atomic_fetch_add_explicit(&ex->wakeups, 1, memory_order_relaxed);
}

void mrt__executor_configure(mrt__executor *ex, bool own_thread, bool movable) {
  ex->movable = movable;
  ex->spin_enabled = own_thread && ex->rt->spin_ns > 0;
}

bool mrt__executor_may_take(const mrt__executor *cur, const mrt_ref *cell) {
  /* Only from inside a drain (the local list is served there), between
   * executors of one runtime that both take part, and never a pinned actor.
   * Relaxed loads: a hint; the flag's winner reads `pinned` again. */
  if (!cur->in_drain || !cur->movable || cell->rt != cur->rt)
    return false;
  const mrt__executor *home = mrt__cell_ex(cell);
  return home != cur && home->movable && !atomic_load_explicit(&cell->pinned, memory_order_relaxed);
}

/* The executor's own thread, while draining, queues ready actors on a plain
 * list: no atomic exchange, no wake-up. This is the common case of actors on
 * one executor messaging each other (ping-pong, rings, fan-out). */
static void local_push(mrt__executor *ex, mrt_ref *cell) {
  atomic_store_explicit(&cell->rq_node.next, NULL, memory_order_relaxed);
  if (ex->local_tail != NULL)
    atomic_store_explicit(&ex->local_tail->next, &cell->rq_node, memory_order_relaxed);
  else
    ex->local_head = &cell->rq_node;
  ex->local_tail = &cell->rq_node;
  ex->local_len++;
}

void mrt__executor_requeue(mrt__executor *ex, mrt_ref *cell) {
  local_push(ex, cell);
}

/* A queued cell must not be freed. From other threads the queue takes a
 * reference. On the executor's own thread a running or starting actor needs
 * none: the registry's reference lasts until it stops, and it stops only in
 * its own turn on this thread, which takes a reference first (actor.c). That
 * saves two atomic operations per same-executor message. `rq_ref` records
 * which case holds; only the thread that won the `scheduled` flag writes it,
 * before queueing (the queue's release/acquire orders it for the reader). */
void mrt__executor_schedule(mrt__executor *ex, mrt_ref *cell) {
  if (mrt__tls_executor == ex && ex->in_drain) {
    int life = atomic_load_explicit(&cell->life, memory_order_relaxed);
    cell->rq_ref = life >= MRT__LIFE_STOPPING;
    if (cell->rq_ref)
      mrt_ref_ref(cell);
    local_push(ex, cell);
    return;
  }
  cell->rq_ref = true;
  mrt_ref_ref(cell);
  mrt__mpsc_push(&ex->runq, &cell->rq_node);
  mrt__executor_wake(ex);
}

/* After this many turns from the local list, the run queue gets one look, so
 * actors woken by other threads are not starved by a local ping-pong. */
#define LOCAL_STREAK_MAX 16

static mrt__node *local_pop(mrt__executor *ex) {
  mrt__node *n = ex->local_head;
  if (n != NULL) {
    ex->local_head = atomic_load_explicit(&n->next, memory_order_relaxed);
    if (ex->local_head == NULL)
      ex->local_tail = NULL;
    ex->local_len--;
  }
  return n;
}

static mrt__node *next_ready(mrt__executor *ex) {
  if (ex->local_head != NULL && ex->local_streak < LOCAL_STREAK_MAX) {
    ex->local_streak++;
    return local_pop(ex);
  }
  ex->local_streak = 0;
  mrt__node *n = mrt__mpsc_pop(&ex->runq);
  if (n != NULL) {
    ex->remote_work = true;
    return n;
  }
  return local_pop(ex);
}

/* ---- donation ------------------------------------------------------------ */

/* An idle executor of the same runtime that takes part in moving, or NULL.
 * Relaxed loads: a stale answer costs one needless wake-up or one missed
 * chance, never correctness. */
static mrt__executor *idle_peer(mrt__executor *ex) {
  mrt_runtime *rt = ex->rt;
  for (unsigned k = 1; k < rt->n_ex; k++) {
    mrt__executor *p = &rt->ex[(ex->index + k) % rt->n_ex];
    if (p->movable && atomic_load_explicit(&p->idle, memory_order_relaxed))
      return p;
  }
  return NULL;
}

/* Hands up to half of the ready list to `to`: started, unpinned actors from
 * the front; pinned ones stay, in order; the first actor still starting ends
 * the walk (see the file comment). The actors stay QUEUED and keep their
 * queue-reference state (rq_ref): only their queue changes, and nothing can
 * stop them before their next turn. Their new executor is written before the
 * push, whose release publishes it to `to`'s thread. */
static void donate(mrt__executor *ex, mrt__executor *to) {
  unsigned want = (ex->local_len + 1) / 2;
  if (want > DONATE_MAX)
    want = DONATE_MAX;
  mrt__node *keep_head = NULL, *keep_tail = NULL;
  unsigned kept = 0, given = 0;
  while (given < want && ex->local_head != NULL) {
    mrt_ref *cell = mrt__container_of(ex->local_head, mrt_ref, rq_node);
    int life = atomic_load_explicit(&cell->life, memory_order_relaxed);
    if (life == MRT__LIFE_STARTING)
      break;
    mrt__node *n = local_pop(ex);
    if (life != MRT__LIFE_RUNNING || atomic_load_explicit(&cell->pinned, memory_order_relaxed)) {
      atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
      if (keep_tail != NULL)
        atomic_store_explicit(&keep_tail->next, n, memory_order_relaxed);
      else
        keep_head = n;
      keep_tail = n;
      kept++;
      continue;
    }
    atomic_store_explicit(&cell->ex, to, memory_order_relaxed);
    mrt__mpsc_push(&to->runq, n);
    given++;
  }
  if (keep_head != NULL) { /* the kept ones go back in front, in order */
    atomic_store_explicit(&keep_tail->next, ex->local_head, memory_order_relaxed);
    if (ex->local_head == NULL)
      ex->local_tail = keep_tail;
    ex->local_head = keep_head;
    ex->local_len += kept;
  }
  if (given > 0) {
    mrt__stat_add(&ex->donated, given);
    mrt__executor_wake(to);
  }
  ex->backlog = 0; /* let the average build up again before the next look */
}

/* After each turn: keeps the ready list's moving average and now and then
 * considers donating. A shift and two additions per turn. The average moves
 * 1/16 of the way to local_len each turn and is kept in 1/256ths: with only
 * 1/16ths the truncated decay step (backlog >> 4) equals the input over a
 * whole unit, so the average never fell back after a burst. Each turn with
 * two actors ready then raised it for good, and a pipeline that has two ready
 * now and then (counting) reached the threshold and was split and pulled back
 * again and again, at the cost of a wake-up and a cache migration each time. */
static void after_turn(mrt__executor *ex) {
  ex->backlog = ex->backlog - (ex->backlog >> 4) + (ex->local_len << 4);
  if (++ex->since_donate_check < DONATE_PERIOD)
    return;
  ex->since_donate_check = 0;
  if (ex->backlog < DONATE_BACKLOG || !ex->movable)
    return;
  mrt__executor *to = idle_peer(ex);
  if (to != NULL)
    donate(ex, to);
}

void mrt__executor_post(mrt__executor *ex, mrt__job *job) {
  mrt__mpsc_push(&ex->jobs, &job->node);
  mrt__executor_wake(ex);
}

static int run_jobs(mrt__executor *ex) {
  int n = 0;
  mrt__node *node;
  while ((node = mrt__mpsc_pop(&ex->jobs)) != NULL) {
    mrt__job *job = mrt__container_of(node, mrt__job, node);
    job->fn(ex, job->arg);
    n++;
  }
  return n;
}

/* How long a spin polls with the CPU's pause hint before it polls with
 * sched_yield between looks instead. On a machine with idle cores the first
 * phase is all a spin needs; on an overloaded one the thread we wait for may
 * be waiting for our core, and yielding lets it run. */
#define SPIN_PAUSE_NS 2000

bool mrt__spin_until(bool (*ready)(void *), void *arg, uint64_t until) {
  uint64_t now = mrt__monotonic_ns();
  uint64_t pause_until = now + SPIN_PAUSE_NS;
  while (now < until) {
    /* The clock is read every 64 polls: a poll costs a few nanoseconds, a
     * vDSO clock read about twenty. */
    for (int i = 0; i < 64; i++) {
      if (ready(arg))
        return true;
      mrt__cpu_relax();
    }
    if (now >= pause_until)
      sched_yield();
    now = mrt__monotonic_ns();
  }
  return ready(arg);
}

static bool has_work(void *arg) {
  mrt__executor *ex = arg;
  return !mrt__mpsc_idle(&ex->runq) || !mrt__mpsc_idle(&ex->jobs);
}

/* Polls the queues for up to rt->spin_ns, `wake_pending` still set so that
 * producers push without writing the eventfd. Returns true if work came. A
 * spin pays if the work came within the budget (see mrt__spin_gate). */
static bool spin_for_work(mrt__executor *ex) {
  /* A host thread spinning on our last reply overrides a closed gate. */
  bool hinted = ex->waiter_spinning;
  ex->waiter_spinning = false;
  if (!hinted && !mrt__spin_gate_open(&ex->spin_gate))
    return false;
  uint64_t start = mrt__monotonic_ns();
  mrt__stat_add(&ex->spins, 1);
  bool got = mrt__spin_until(has_work, ex, start + ex->rt->spin_ns);
  uint64_t took = mrt__monotonic_ns() - start;
  mrt__stat_add(&ex->spin_ns, took);
  mrt__spin_gate_note(&ex->spin_gate, got && took <= ex->rt->spin_ns);
  return got;
}

int mrt__executor_drain(mrt__executor *ex, unsigned max_turns) {
  mrt__executor *prev_ex = mrt__tls_executor;
  bool prev_drain = ex->in_drain;
  mrt__tls_executor = ex;
  ex->in_drain = true;
  ex->remote_work = false;
  /* Relaxed: a hint for donors (see idle_peer). */
  atomic_store_explicit(&ex->idle, false, memory_order_relaxed);
  /* While draining, producers need not write the eventfd (see wake). */
  atomic_store_explicit(&ex->wake_pending, true, memory_order_seq_cst);
  int done = 0;
  for (;;) {
    int jobs = run_jobs(ex);
    done += jobs;
    if (jobs > 0)
      ex->remote_work = true;
    mrt__node *node;
    while ((unsigned)done < max_turns && (node = next_ready(ex)) != NULL) {
      mrt__actor_run(ex, mrt__container_of(node, mrt_ref, rq_node));
      done++;
      after_turn(ex);
    }
    if ((unsigned)done >= max_turns)
      break; /* wake_pending stays true; the caller re-activates us */
    if (ex->local_head != NULL)
      continue; /* a push was in progress on the run queue meanwhile */
    /* Nothing ready: donors may use us now. Spin only when another thread has
     * just sent work, which is when more tends to follow. */
    atomic_store_explicit(&ex->idle, true, memory_order_relaxed);
    if (ex->spin_enabled && (ex->remote_work || ex->waiter_spinning) && !ex->stop_loop &&
        spin_for_work(ex)) {
      atomic_store_explicit(&ex->idle, false, memory_order_relaxed);
      continue;
    }
    atomic_store_explicit(&ex->wake_pending, false, memory_order_seq_cst);
    if (mrt__mpsc_idle(&ex->runq) && mrt__mpsc_idle(&ex->jobs) && ex->local_head == NULL)
      break;
    /* Work raced in after the last pop; claim the wake flag and go again. */
    atomic_store_explicit(&ex->idle, false, memory_order_relaxed);
    atomic_store_explicit(&ex->wake_pending, true, memory_order_seq_cst);
  }
  ex->in_drain = prev_drain;
  mrt__tls_executor = prev_ex;
  ex->turns += (unsigned)done;
  return done;
}

static void on_wake(evutil_socket_t fd, short what, void *arg) {
  (void)what;
  mrt__executor *ex = arg;
  uint64_t count;
  ssize_t n = read(fd, &count, sizeof count);
  (void)n; /* EAGAIN after a manual activation is expected */
  if (mrt__executor_drain(ex, DRAIN_TURNS) >= DRAIN_TURNS)
    event_active(ex->wake_ev, EV_READ, 0); /* more to do after I/O had a turn */
  if (ex->stop_loop)
    event_base_loopbreak(ex->base);
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  mrt__executor *ex = arg;
  mrt__executor *prev = mrt__tls_executor;
  mrt__tls_executor = ex;
  ex->armed_deadline = UINT64_MAX;
  uint64_t now = mrt_runtime_now(ex->rt);
  mrt__timer *t;
  while ((t = mrt__timer_heap_top(&ex->timers)) != NULL && t->deadline <= now) {
    mrt__timer_heap_remove(&ex->timers, t);
    mrt__timer_fire(ex, t);
  }
  mrt__timer_rearm(ex);
  mrt__tls_executor = prev;
  /* Timers usually make actors ready; run them now rather than after a wake. */
  if (mrt__executor_drain(ex, DRAIN_TURNS) >= DRAIN_TURNS)
    event_active(ex->wake_ev, EV_READ, 0);
}

static void *thread_main(void *arg) {
  mrt__executor *ex = arg;
  mrt__tls_executor = ex;
  while (!ex->stop_loop)
    event_base_loop(ex->base, EVLOOP_NO_EXIT_ON_EMPTY);
  /* Last drain: envelopes and jobs that raced with the stop. */
  mrt__executor_drain(ex, UINT32_MAX);
  mrt__tls_executor = NULL;
  return NULL;
}

int mrt__executor_start_thread(mrt__executor *ex) {
  int rc = pthread_create(&ex->thread, NULL, thread_main, ex);
  if (rc != 0)
    return -rc;
  ex->has_thread = true;
  return 0;
}

static void stop_job(mrt__executor *ex, void *arg) {
  (void)arg;
  ex->stop_loop = true;
}

void mrt__executor_stop_thread(mrt__executor *ex) {
  if (!ex->has_thread)
    return;
  mrt__job job = {.fn = stop_job};
  mrt__executor_post(ex, &job);
  pthread_join(ex->thread, NULL);
  ex->has_thread = false;
}
