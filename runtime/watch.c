/* meshrt — monitors, links and the shutdown signal.
 *
 * A watch entry on actor A names a peer to tell when A exits: a monitor (peer
 * gets mrt_msg_down) or one side of a link (peer stops, or gets mrt_msg_exit
 * if it traps exits, when A's exit is abnormal). Entries are kept on the
 * watched actor and guarded by one runtime-wide mutex: these operations are
 * rare next to messaging, and one lock keeps the two sides of a link
 * consistent. The exit notification runs on A's executor after A is DEAD;
 * anything added after that sees DEAD under the lock and is answered at once.
 */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

static void down_drop(void *p) { mrt_ref_unref(((mrt_down *)p)->who); }

MRT_MESSAGE_DEFINE(down, mrt_down, mrt_none, down_drop, NULL);
MRT_MESSAGE_DEFINE(exit, mrt_down, mrt_none, down_drop, NULL);
MRT_MESSAGE_DEFINE(shutdown, mrt_none, mrt_none, NULL, NULL);

enum { WATCH_MONITOR, WATCH_LINK };

struct mrt__watch {
  mrt__watch *next;
  mrt_ref *peer; /* reference held */
  int kind;
};

static bool is_dead(const mrt_ref *cell) {
  return atomic_load_explicit(&cell->life, memory_order_acquire) == MRT__LIFE_DEAD;
}

static int add_watch(mrt_ref *on, mrt_ref *peer, int kind) {
  mrt__watch *w = malloc(sizeof *w);
  if (w == NULL)
    return -ENOMEM;
  w->peer = mrt_ref_ref(peer);
  w->kind = kind;
  w->next = on->watches;
  on->watches = w;
  return 0;
}

/* Removes the first entry on `on` matching (peer, kind); watch_mu held. */
static bool remove_watch(mrt_ref *on, const mrt_ref *peer, int kind) {
  for (mrt__watch **pp = &on->watches; *pp != NULL; pp = &(*pp)->next) {
    mrt__watch *w = *pp;
    if (w->peer == peer && w->kind == kind) {
      *pp = w->next;
      mrt_ref_unref(w->peer);
      free(w);
      return true;
    }
  }
  return false;
}

static void send_down(const mrt_msg_type *type, mrt_ref *to, mrt_ref *who, const mrt_exit *why) {
  mrt_down d = {.who = mrt_ref_ref(who), .id = who->id, .exit = *why};
  /* A notice: a full bounded mailbox must not lose news of a death. */
  if (mrt__tell_notice(to, type, &d, sizeof d) < 0)
    mrt_ref_unref(d.who); /* not sent: ownership stayed with us */
}

static void exit_linked(mrt_ref *peer, mrt_ref *dead, const mrt_exit *why) {
  if (!mrt_exit_is_abnormal(why))
    return;
  if (peer->trap_exits) {
    send_down(&mrt_msg_exit, peer, dead, why);
    return;
  }
  char reason[MRT_EXIT_REASON_MAX];
  snprintf(reason, sizeof reason, "linked %s#%llu exited: %s", dead->cls->name,
           (unsigned long long)dead->id, mrt_exit_kind_name(why->kind));
  mrt__actor_request_stop(peer, MRT_EXIT_LINKED, why->error, reason);
}

void mrt__watch_notify_exit(mrt_ref *cell) {
  mrt_runtime *rt = cell->rt;
  pthread_mutex_lock(&rt->watch_mu);
  mrt__watch *list = cell->watches;
  cell->watches = NULL;
  for (mrt__watch *w = list; w != NULL; w = w->next)
    if (w->kind == WATCH_LINK)
      remove_watch(w->peer, cell, WATCH_LINK);
  pthread_mutex_unlock(&rt->watch_mu);
  while (list != NULL) {
    mrt__watch *w = list;
    list = w->next;
    if (w->kind == WATCH_MONITOR)
      send_down(&mrt_msg_down, w->peer, cell, cell->exit);
    else
      exit_linked(w->peer, cell, cell->exit);
    mrt_ref_unref(w->peer);
    free(w);
  }
}

static const mrt_exit noproc_exit = {MRT_EXIT_NOPROC, -ESRCH, "no such actor"};

int mrt__watch_link(mrt_ref *a, mrt_ref *b) {
  mrt_runtime *rt = a->rt;
  if (a == b)
    return 0;
  pthread_mutex_lock(&rt->watch_mu);
  bool b_dead = is_dead(b);
  int rc = 0;
  if (!b_dead && !is_dead(a)) {
    rc = add_watch(a, b, WATCH_LINK);
    if (rc == 0 && (rc = add_watch(b, a, WATCH_LINK)) < 0)
      remove_watch(a, b, WATCH_LINK);
  }
  pthread_mutex_unlock(&rt->watch_mu);
  if (b_dead)
    exit_linked(a, b, b->exit ? b->exit : &noproc_exit);
  return rc;
}

static int check_self(const mrt_actor *self, const mrt_ref *other, const char *what) {
  if (!mrt__in_context(self) || other == NULL || self->rt != other->rt) {
    mrt_log(MRT_LOG_WARN, "runtime", "%s refused: %s", what,
            self == NULL || other == NULL ? "NULL ref" : "not in the actor's own context");
    return -EINVAL;
  }
  return 0;
}

int mrt_monitor(mrt_actor *self, mrt_ref *target) {
  int rc = check_self(self, target, "monitor");
  if (rc < 0)
    return rc;
  if (!mrt__actor_accepts(self->cls, &mrt_msg_down))
    return -ENOTSUP;
  pthread_mutex_lock(&self->rt->watch_mu);
  bool dead = is_dead(target);
  if (!dead)
    rc = add_watch(target, self, WATCH_MONITOR);
  pthread_mutex_unlock(&self->rt->watch_mu);
  if (dead) {
    mrt_exit why = noproc_exit;
    send_down(&mrt_msg_down, self, target, &why);
  }
  return rc;
}

int mrt_demonitor(mrt_actor *self, mrt_ref *target) {
  int rc = check_self(self, target, "demonitor");
  if (rc < 0)
    return rc;
  pthread_mutex_lock(&self->rt->watch_mu);
  bool found = remove_watch(target, self, WATCH_MONITOR);
  pthread_mutex_unlock(&self->rt->watch_mu);
  return found ? 0 : -ENOENT;
}

int mrt_link(mrt_actor *self, mrt_ref *other) {
  int rc = check_self(self, other, "link");
  if (rc < 0)
    return rc;
  return mrt__watch_link(self, other);
}

int mrt_unlink(mrt_actor *self, mrt_ref *other) {
  int rc = check_self(self, other, "unlink");
  if (rc < 0)
    return rc;
  pthread_mutex_lock(&self->rt->watch_mu);
  bool found = remove_watch(self, other, WATCH_LINK);
  remove_watch(other, self, WATCH_LINK);
  pthread_mutex_unlock(&self->rt->watch_mu);
  return found ? 0 : -ENOENT;
}

int mrt_shutdown_watch(mrt_actor *self) {
  if (!mrt__in_context(self))
    return -EINVAL;
  if (!mrt__actor_accepts(self->cls, &mrt_msg_shutdown))
    return -ENOTSUP;
  mrt_runtime *rt = self->rt;
  int rc = 0;
  pthread_mutex_lock(&rt->mu);
  if (atomic_load_explicit(&rt->state, memory_order_acquire) >= MRT__RT_SHUTTING_DOWN) {
    rc = -ESHUTDOWN;
  } else {
    mrt_ref **v = mrt__grow(rt->shutdown_watchers, &rt->cap_shutdown_watchers,
                            rt->n_shutdown_watchers, sizeof *v, 8);
    if (v == NULL)
      rc = -ENOMEM;
    else
      rt->shutdown_watchers = v;
  }
  if (rc == 0)
    rt->shutdown_watchers[rt->n_shutdown_watchers++] = mrt_ref_ref(self);
  pthread_mutex_unlock(&rt->mu);
  return rc;
}

void mrt__watch_signal_shutdown(mrt_runtime *rt) {
  pthread_mutex_lock(&rt->mu);
  mrt_ref **v = rt->shutdown_watchers;
  size_t n = rt->n_shutdown_watchers;
  rt->shutdown_watchers = NULL;
  rt->n_shutdown_watchers = rt->cap_shutdown_watchers = 0;
  pthread_mutex_unlock(&rt->mu);
  for (size_t i = 0; i < n; i++) {
    /* Not mrt_tell: it refuses sends once shutdown has begun, and a full
     * bounded mailbox must not lose the signal. */
    mrt__env *env = mrt__env_new(&mrt_msg_shutdown, &(mrt_none){0});
    bool alive = atomic_load_explicit(&v[i]->life, memory_order_acquire) < MRT__LIFE_STOPPING;
    if (env != NULL && alive)
      mrt__actor_enqueue_notice(v[i], env);
    else if (env != NULL)
      mrt__env_free(env);
    mrt_ref_unref(v[i]);
  }
  free(v);
}
