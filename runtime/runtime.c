/* SPDX-License-Identifier: MIT */
/* meshrt — the runtime object: executors, clock, driving modes, shutdown.
 *
 * Lifetime: hosts hold counted references (mrt_runtime_ref/unref); every actor
 * control block holds the runtime's memory too (`hold`), so a ref that
 * outlives the runtime can still safely answer -ESRCH. Dropping the hosts'
 * last reference shuts the runtime down; the memory goes when the last
 * control block does.
 *
 * Threads: new/start/attach/shutdown/unref from host threads; run_until_idle
 * and advance from the one thread driving a hand-driven runtime.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/event.h>

#include "internal.h"

uint64_t mrt__monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * MRT_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t mrt_runtime_now(const mrt_runtime *rt) {
  if (rt == NULL)
    return 0;
  /* Acquire: pairs with advance's release so timers see the time they fired at. */
  if (rt->virtual_clock)
    return atomic_load_explicit(&rt->vnow, memory_order_acquire);
  return mrt__monotonic_ns();
}

static void runtime_free(mrt_runtime *rt) {
  void *bus = atomic_load_explicit(&rt->bus, memory_order_acquire);
  if (bus != NULL)
    rt->bus_free(bus);
  for (unsigned i = 0; i < rt->n_ex; i++)
    mrt__executor_destroy(&rt->ex[i]);
  free(rt->ex);
  free(rt->shutdown_watchers);
  pthread_mutex_destroy(&rt->mu);
  pthread_mutex_destroy(&rt->watch_mu);
  pthread_cond_destroy(&rt->cv);
  free(rt);
}

void mrt__runtime_hold(mrt_runtime *rt) {
  /* Relaxed: taking a hold from one already held. */
  atomic_fetch_add_explicit(&rt->hold, 1, memory_order_relaxed);
}

void mrt__runtime_release(mrt_runtime *rt) {
  /* acq_rel: the last release sees every holder's writes before freeing. */
  if (atomic_fetch_sub_explicit(&rt->hold, 1, memory_order_acq_rel) == 1)
    runtime_free(rt);
}

int mrt_runtime_new(const mrt_runtime_config *cfg, mrt_runtime **out) {
  mrt_runtime_config def = {0};
  if (out == NULL)
    return -EINVAL;
  *out = NULL;
  if (cfg == NULL)
    cfg = &def;
  if (cfg->executors > 256) {
    mrt_log(MRT_LOG_WARN, "runtime", "runtime refused: executors=%u (max 256)", cfg->executors);
    return -EINVAL;
  }
  if (cfg->spin_ns > MRT_SPIN_MAX_NS && cfg->spin_ns != MRT_SPIN_OFF) {
    mrt_log(MRT_LOG_WARN, "runtime", "runtime refused: spin_ns=%u (max %u, or MRT_SPIN_OFF)",
            (unsigned)cfg->spin_ns, (unsigned)MRT_SPIN_MAX_NS);
    return -EINVAL;
  }
  mrt_runtime *rt = calloc(1, sizeof *rt);
  if (rt == NULL)
    return -ENOMEM;
  rt->n_ex = cfg->executors ? cfg->executors : 1;
  rt->batch = cfg->batch ? cfg->batch : 64;
  rt->spin_ns = cfg->spin_ns == MRT_SPIN_OFF ? 0
                : cfg->spin_ns               ? cfg->spin_ns
                                             : MRT_SPIN_DEFAULT_NS;
  rt->virtual_clock = cfg->virtual_clock;
  atomic_init(&rt->vnow, cfg->virtual_start_ns);
  atomic_init(&rt->host_refs, 1);
  atomic_init(&rt->hold, 1);
  atomic_init(&rt->state, MRT__RT_IDLE);
  pthread_mutex_init(&rt->mu, NULL);
  pthread_mutex_init(&rt->watch_mu, NULL);
  pthread_cond_init(&rt->cv, NULL);
  rt->ex = calloc(rt->n_ex, sizeof *rt->ex);
  if (rt->ex == NULL) {
    rt->n_ex = 0; /* no executors to destroy */
    runtime_free(rt);
    return -ENOMEM;
  }
  for (unsigned i = 0; i < rt->n_ex; i++) {
    int rc = mrt__executor_init(&rt->ex[i], rt, i, NULL);
    if (rc < 0) {
      rt->n_ex = i + 1;
      runtime_free(rt);
      return rc;
    }
  }
  *out = rt;
  return 0;
}

mrt_runtime *mrt_runtime_ref(mrt_runtime *rt) {
  if (rt != NULL)
    atomic_fetch_add_explicit(&rt->host_refs, 1, memory_order_relaxed);
  return rt;
}

mrt_runtime *mrt_runtime_unref(mrt_runtime *rt) {
  if (rt == NULL)
    return NULL;
  /* acq_rel: the last host reference orders after every host's use. */
  if (atomic_fetch_sub_explicit(&rt->host_refs, 1, memory_order_acq_rel) != 1)
    return NULL;
  mrt_runtime_shutdown(rt);
  mrt__runtime_release(rt);
  return NULL;
}

unsigned mrt_runtime_executors(const mrt_runtime *rt) {
  return rt ? rt->n_ex : 0;
}

bool mrt_runtime_shutting_down(const mrt_runtime *rt) {
  return rt == NULL ||
         atomic_load_explicit(&rt->state, memory_order_acquire) >= MRT__RT_SHUTTING_DOWN;
}

bool mrt__runtime_drivable(const mrt_runtime *rt, const mrt__executor *ex) {
  if (rt->mode == MRT__MODE_HAND)
    return true;
  return rt->mode == MRT__MODE_ATTACHED && ex->index == 0 &&
         pthread_equal(pthread_self(), rt->attach_thread);
}

void mrt_runtime_get_stats(const mrt_runtime *rt, mrt_runtime_stats *out) {
  if (rt == NULL || out == NULL)
    return;
  out->actors_live = atomic_load_explicit(&rt->stat_live, memory_order_relaxed);
  out->actors_spawned = atomic_load_explicit(&rt->stat_spawned, memory_order_relaxed);
  out->actors_stopped = atomic_load_explicit(&rt->stat_stopped, memory_order_relaxed);
  /* Relaxed loads of counters: a snapshot. */
  mrt_runtime_stats s = {0};
  for (unsigned i = 0; i < rt->n_ex; i++) {
    const mrt__executor *ex = &rt->ex[i];
    s.messages_handled += atomic_load_explicit(&ex->handled, memory_order_relaxed);
    s.moves += atomic_load_explicit(&ex->moves_in, memory_order_relaxed);
    s.donations += atomic_load_explicit(&ex->donated, memory_order_relaxed);
    s.spins += atomic_load_explicit(&ex->spins, memory_order_relaxed);
    s.spin_ns += atomic_load_explicit(&ex->spin_ns, memory_order_relaxed);
    s.wakeups += atomic_load_explicit(&ex->wakeups, memory_order_relaxed);
  }
  out->messages_handled = s.messages_handled;
  out->moves = s.moves;
  out->donations = s.donations;
  out->spins = s.spins;
  out->spin_ns = s.spin_ns;
  out->wakeups = s.wakeups;
}

/* ---- registry ------------------------------------------------------------ */

int mrt__runtime_register(mrt_runtime *rt, mrt_ref *cell) {
  pthread_mutex_lock(&rt->mu);
  if (atomic_load_explicit(&rt->state, memory_order_relaxed) >= MRT__RT_SHUTTING_DOWN) {
    pthread_mutex_unlock(&rt->mu);
    return -ESHUTDOWN;
  }
  cell->id = atomic_fetch_add_explicit(&rt->next_actor_id, 1, memory_order_relaxed) + 1;
  cell->reg_prev = rt->reg_tail;
  if (rt->reg_tail != NULL)
    rt->reg_tail->reg_next = cell;
  else
    rt->reg_head = cell;
  rt->reg_tail = cell;
  mrt__runtime_hold(rt);
  atomic_fetch_add_explicit(&rt->stat_live, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&rt->stat_spawned, 1, memory_order_relaxed);
  pthread_mutex_unlock(&rt->mu);
  return 0;
}

void mrt__runtime_unregister(mrt_runtime *rt, mrt_ref *cell) {
  pthread_mutex_lock(&rt->mu);
  if (cell->reg_prev != NULL)
    cell->reg_prev->reg_next = cell->reg_next;
  else
    rt->reg_head = cell->reg_next;
  if (cell->reg_next != NULL)
    cell->reg_next->reg_prev = cell->reg_prev;
  else
    rt->reg_tail = cell->reg_prev;
  cell->reg_prev = cell->reg_next = NULL;
  atomic_fetch_sub_explicit(&rt->stat_live, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&rt->stat_stopped, 1, memory_order_relaxed);
  pthread_cond_broadcast(&rt->cv);
  pthread_mutex_unlock(&rt->mu);
  mrt_ref_unref(cell);
}

/* ---- driving ------------------------------------------------------------- */

static int claim_mode(mrt_runtime *rt, int mode) {
  pthread_mutex_lock(&rt->mu);
  int rc = 0;
  if (atomic_load_explicit(&rt->state, memory_order_relaxed) >= MRT__RT_SHUTTING_DOWN)
    rc = -ESHUTDOWN;
  else if (rt->mode != MRT__MODE_HAND || rt->virtual_clock)
    rc = -EINVAL;
  else {
    rt->mode = mode;
    atomic_store_explicit(&rt->state, MRT__RT_RUNNING, memory_order_release);
  }
  pthread_mutex_unlock(&rt->mu);
  if (rc == -EINVAL)
    mrt_log(MRT_LOG_WARN, "runtime", "%s refused: %s",
            mode == MRT__MODE_THREADS ? "start" : "attach",
            rt->virtual_clock ? "a virtual-clock runtime is driven by hand" : "already driven");
  return rc;
}

static int start_threads(mrt_runtime *rt, unsigned first) {
  /* Roles first: the threads read them from their first drain on. Actors
   * move only between executors with threads of their own (executor.c). */
  for (unsigned i = first; i < rt->n_ex; i++)
    mrt__executor_configure(&rt->ex[i], true, rt->n_ex - first > 1);
  for (unsigned i = first; i < rt->n_ex; i++) {
    int rc = mrt__executor_start_thread(&rt->ex[i]);
    if (rc < 0) {
      mrt_log(MRT_LOG_ERROR, "runtime", "executor thread failed to start error=%s",
              mrt_strerror(rc));
      return rc;
    }
  }
  return 0;
}

/* A start that could not create every thread gives back what it did, so the
 * runtime is as before: hand-driven, and the caller may start it again. */
static void unstart(mrt_runtime *rt) {
  for (unsigned i = 0; i < rt->n_ex; i++) {
    mrt__executor_stop_thread(&rt->ex[i]);
    rt->ex[i].stop_loop = false;
  }
  pthread_mutex_lock(&rt->mu);
  rt->mode = MRT__MODE_HAND;
  if (atomic_load_explicit(&rt->state, memory_order_relaxed) == MRT__RT_RUNNING)
    atomic_store_explicit(&rt->state, MRT__RT_IDLE, memory_order_release);
  pthread_mutex_unlock(&rt->mu);
}

int mrt_runtime_start(mrt_runtime *rt) {
  if (rt == NULL)
    return -EINVAL;
  int rc = claim_mode(rt, MRT__MODE_THREADS);
  if (rc == 0 && (rc = start_threads(rt, 0)) < 0)
    unstart(rt);
  return rc;
}

int mrt_runtime_attach(mrt_runtime *rt, struct event_base *base) {
  if (rt == NULL || base == NULL)
    return -EINVAL;
  int rc = claim_mode(rt, MRT__MODE_ATTACHED);
  if (rc < 0)
    return rc;
  rt->attach_thread = pthread_self();
  rc = mrt__executor_rebase(&rt->ex[0], base);
  return rc < 0 ? rc : start_threads(rt, 1);
}

static bool hand_driven(const mrt_runtime *rt, const char *what) {
  if (rt == NULL || rt->mode != MRT__MODE_HAND || mrt__actor_current() != NULL) {
    mrt_log(MRT_LOG_WARN, "runtime", "%s refused: %s", what,
            rt == NULL                   ? "NULL runtime"
            : rt->mode != MRT__MODE_HAND ? "runtime is started or attached"
                                         : "called from inside an actor");
    return false;
  }
  return true;
}

/* One pass over every executor: poll I/O without blocking (which may itself
 * drain, from the wake-up callback), then run ready actors. Returns the turns
 * run either way, I/O callbacks included (io.c counts them), so idle means
 * idle. */
static int drive_once(mrt_runtime *rt) {
  uint64_t turns = 0;
  for (unsigned i = 0; i < rt->n_ex; i++) {
    mrt__executor *ex = &rt->ex[i];
    uint64_t before = ex->turns;
    event_base_loop(ex->base, EVLOOP_NONBLOCK);
    mrt__executor_drain(ex, UINT32_MAX);
    turns += ex->turns - before;
  }
  return turns > INT32_MAX ? INT32_MAX : (int)turns;
}

int mrt__runtime_idle_pass(mrt_runtime *rt) {
  int total = 0, n;
  while ((n = drive_once(rt)) > 0)
    total += n;
  return total;
}

int mrt_runtime_run_until_idle(mrt_runtime *rt) {
  if (!hand_driven(rt, "run_until_idle"))
    return -EINVAL;
  return mrt__runtime_idle_pass(rt);
}

/* Pops and fires the earliest timer due at or before `limit`, across all
 * executors. Returns false if there is none. */
static bool fire_next(mrt_runtime *rt, uint64_t limit) {
  mrt__executor *best = NULL;
  mrt__timer *bt = NULL;
  for (unsigned i = 0; i < rt->n_ex; i++) {
    mrt__timer *t = mrt__timer_heap_top(&rt->ex[i].timers);
    if (t != NULL && t->deadline <= limit &&
        (bt == NULL || t->deadline < bt->deadline ||
         (t->deadline == bt->deadline && t->seq < bt->seq))) {
      best = &rt->ex[i];
      bt = t;
    }
  }
  if (bt == NULL)
    return false;
  if (bt->deadline > atomic_load_explicit(&rt->vnow, memory_order_relaxed))
    atomic_store_explicit(&rt->vnow, bt->deadline, memory_order_release);
  mrt__timer_heap_remove(&best->timers, bt);
  mrt__executor *prev = mrt__executor_current();
  mrt__executor_set_current(best);
  mrt__timer_fire(best, bt);
  mrt__executor_set_current(prev);
  return true;
}

int mrt__runtime_advance_until(mrt_runtime *rt, uint64_t target) {
  int fired = 0;
  mrt__runtime_idle_pass(rt);
  while (fire_next(rt, target)) {
    fired++;
    mrt__runtime_idle_pass(rt);
  }
  if (target > atomic_load_explicit(&rt->vnow, memory_order_relaxed))
    atomic_store_explicit(&rt->vnow, target, memory_order_release);
  mrt__runtime_idle_pass(rt);
  return fired;
}

int mrt_runtime_advance(mrt_runtime *rt, uint64_t delta_ns) {
  if (!hand_driven(rt, "advance") || !rt->virtual_clock)
    return -EINVAL;
  uint64_t now = atomic_load_explicit(&rt->vnow, memory_order_relaxed);
  uint64_t target = delta_ns > UINT64_MAX - now ? UINT64_MAX : now + delta_ns;
  return mrt__runtime_advance_until(rt, target);
}

int mrt_runtime_advance_to_next(mrt_runtime *rt) {
  if (!hand_driven(rt, "advance_to_next") || !rt->virtual_clock)
    return -EINVAL;
  mrt__runtime_idle_pass(rt);
  if (!fire_next(rt, UINT64_MAX))
    return 0;
  mrt__runtime_idle_pass(rt);
  return 1;
}

/* ---- mailbox depth ---------------------------------------------------------- */

typedef struct depth_job {
  mrt__job job;
  mrt_runtime *rt;
  uint64_t total, deepest;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool done;
} depth_job;

/* On `ex`'s thread (or its driver), between turns: only the consumer may walk
 * a mailbox. An actor whose flag reads QUEUED (acquire) and whose executor is
 * `ex` is queued here and nobody else pops its mailbox until this thread runs
 * it, which it cannot do while in here: the flag's owner wrote the executor
 * before publishing QUEUED, and donation to or from `ex` needs this thread.
 * An IDLE actor's mailbox is empty but for sends in flight, counted as 0; a
 * MOVING one is counted by nobody this time. A snapshot, as documented. */
static void count_mailboxes(mrt__executor *ex, depth_job *d) {
  mrt_runtime *rt = d->rt;
  pthread_mutex_lock(&rt->mu);
  for (mrt_ref *c = rt->reg_head; c != NULL; c = c->reg_next) {
    if (atomic_load_explicit(&c->scheduled, memory_order_acquire) != MRT__SCHED_QUEUED ||
        mrt__cell_ex(c) != ex)
      continue;
    uint64_t n = mrt__mpsc_count(&c->mailbox);
    d->total += n;
    if (n > d->deepest)
      d->deepest = n;
  }
  pthread_mutex_unlock(&rt->mu);
}

static void depth_job_run(mrt__executor *ex, void *arg) {
  depth_job *d = arg;
  count_mailboxes(ex, d);
  pthread_mutex_lock(&d->mu);
  d->done = true;
  pthread_cond_signal(&d->cv);
  pthread_mutex_unlock(&d->mu);
}

int mrt_runtime_mailbox_depth(mrt_runtime *rt, uint64_t *total, uint64_t *deepest) {
  if (rt == NULL)
    return -EINVAL;
  if (mrt__executor_current() != NULL || mrt__actor_current() != NULL)
    return -EDEADLK;
  depth_job d = {.rt = rt};
  bool down = atomic_load_explicit(&rt->state, memory_order_acquire) == MRT__RT_DOWN;
  for (unsigned i = 0; i < rt->n_ex && !down; i++) {
    mrt__executor *ex = &rt->ex[i];
    if (mrt__runtime_drivable(rt, ex) || !ex->has_thread) {
      count_mailboxes(ex, &d);
      continue;
    }
    pthread_mutex_init(&d.mu, NULL);
    pthread_cond_init(&d.cv, NULL);
    d.done = false;
    d.job = (mrt__job){.fn = depth_job_run, .arg = &d};
    mrt__executor_post(ex, &d.job);
    pthread_mutex_lock(&d.mu);
    while (!d.done)
      pthread_cond_wait(&d.cv, &d.mu);
    pthread_mutex_unlock(&d.mu);
    pthread_mutex_destroy(&d.mu);
    pthread_cond_destroy(&d.cv);
  }
  if (total != NULL)
    *total = d.total;
  if (deepest != NULL)
    *deepest = d.deepest;
  return 0;
}
