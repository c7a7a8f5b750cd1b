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
 * An executor's run queue, job queue, timer heap and envelope pool are touched
 * only by the thread currently driving it: its own thread, the host's loop
 * thread (attached executor 0), or the caller of a hand-driven runtime.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <event2/event.h>

#include "internal.h"

/* How many actor turns a drain runs before yielding to libevent, so that
 * sockets and timers are served even when actors keep each other busy. */
#define DRAIN_TURNS 1024

/* initial-exec: libmeshrt is linked, not dlopen'ed, and this is read on
 * every send; the general TLS model would call __tls_get_addr each time. */
static _Thread_local mrt__executor *tls_executor __attribute__((tls_model("initial-exec")));

mrt__executor *mrt__executor_current(void) { return tls_executor; }

void mrt__executor_set_current(mrt__executor *ex) { tls_executor = ex; }

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
  if (tls_executor == ex && ex->in_drain) {
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
  return n != NULL ? n : local_pop(ex);
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

int mrt__executor_drain(mrt__executor *ex, unsigned max_turns) {
  mrt__executor *prev_ex = tls_executor;
  bool prev_drain = ex->in_drain;
  tls_executor = ex;
  ex->in_drain = true;
  /* While draining, producers need not write the eventfd (see wake). */
  atomic_store_explicit(&ex->wake_pending, true, memory_order_seq_cst);
  int done = 0;
  for (;;) {
    done += run_jobs(ex);
    mrt__node *node;
    while ((unsigned)done < max_turns && (node = next_ready(ex)) != NULL) {
      mrt__actor_run(ex, mrt__container_of(node, mrt_ref, rq_node));
      done++;
    }
    if ((unsigned)done >= max_turns)
      break; /* wake_pending stays true; the caller re-activates us */
    atomic_store_explicit(&ex->wake_pending, false, memory_order_seq_cst);
    if (mrt__mpsc_idle(&ex->runq) && mrt__mpsc_idle(&ex->jobs) && ex->local_head == NULL)
      break;
    /* Work raced in after the last pop; claim the wake flag and go again. */
    atomic_store_explicit(&ex->wake_pending, true, memory_order_seq_cst);
  }
  ex->in_drain = prev_drain;
  tls_executor = prev_ex;
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
  mrt__executor *prev = tls_executor;
  tls_executor = ex;
  ex->armed_deadline = UINT64_MAX;
  uint64_t now = mrt_runtime_now(ex->rt);
  mrt__timer *t;
  while ((t = mrt__timer_heap_top(&ex->timers)) != NULL && t->deadline <= now) {
    mrt__timer_heap_remove(&ex->timers, t);
    mrt__timer_fire(ex, t);
  }
  mrt__timer_rearm(ex);
  tls_executor = prev;
  /* Timers usually make actors ready; run them now rather than after a wake. */
  if (mrt__executor_drain(ex, DRAIN_TURNS) >= DRAIN_TURNS)
    event_active(ex->wake_ev, EV_READ, 0);
}

static void *thread_main(void *arg) {
  mrt__executor *ex = arg;
  tls_executor = ex;
  while (!ex->stop_loop)
    event_base_loop(ex->base, EVLOOP_NO_EXIT_ON_EMPTY);
  /* Last drain: envelopes and jobs that raced with the stop. */
  mrt__executor_drain(ex, UINT32_MAX);
  tls_executor = NULL;
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
