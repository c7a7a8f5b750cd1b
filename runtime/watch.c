/* SPDX-License-Identifier: MIT */
/* meshrt — monitors, links and the shutdown signal.
 *
 * A watch entry on actor A names a peer to tell when A exits: a monitor (peer
 * gets mrt_msg_down) or one side of a link (peer stops, or gets mrt_msg_exit
 * if it traps exits, when A's exit is abnormal). Entries are kept on the
 * watched actor and guarded by one runtime-wide mutex: these operations are
 * rare next to messaging, and one lock keeps the two sides of a link
 * consistent. The exit notification runs on A's executor after A is DEAD;
 * anything added after that sees DEAD under the lock and is answered at once.
 *
 * Each entry carries the envelope of its notification (DOWN, or EXIT for a
 * peer that traps exits), allocated when the entry is made: a monitor or link
 * that was accepted can then always deliver, even when memory runs out at the
 * moment A exits, and one that cannot be afforded fails with -ENOMEM.
 */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

static void down_drop(void *p) {
  mrt_ref_unref(((mrt_down *)p)->who);
}

MRT_MESSAGE_DEFINE(down, mrt_down, mrt_none, down_drop, NULL);
MRT_MESSAGE_DEFINE(exit, mrt_down, mrt_none, down_drop, NULL);
MRT_MESSAGE_DEFINE(shutdown, mrt_none, mrt_none, NULL, NULL);

enum { WATCH_MONITOR, WATCH_LINK };

struct mrt__watch {
  mrt__watch *next;
  mrt_ref *peer; /* reference held */
  int kind;
  mrt__env *note; /* the notification to deliver (owned), NULL once used */
};

static bool is_dead(const mrt_ref *cell) {
  return atomic_load_explicit(&cell->life, memory_order_acquire) == MRT__LIFE_DEAD;
}

/* An entry telling `peer`, with its notification envelope; NULL when out of
 * memory. Made outside watch_mu. */
static mrt__watch *watch_new(mrt_ref *peer, int kind) {
  mrt__watch *w = malloc(sizeof *w);
  if (w == NULL)
    return NULL;
  w->note = mrt__env_new(kind == WATCH_MONITOR ? &mrt_msg_down : &mrt_msg_exit, &(mrt_down){0});
  if (w->note == NULL) {
    free(w);
    return NULL;
  }
  w->peer = mrt_ref_ref(peer);
  w->kind = kind;
  w->next = NULL;
  return w;
}

/* NULL-safe. An unused note's payload owns nothing yet: no drop hook. */
static void watch_free(mrt__watch *w) {
  if (w == NULL)
    return;
  if (w->note != NULL)
    mrt__env_free(w->note);
  mrt_ref_unref(w->peer);
  free(w);
}

/* watch_mu held. */
static void add_watch(mrt_ref *on, mrt__watch *w) {
  w->next = on->watches;
  on->watches = w;
}

/* Removes the first entry on `on` matching (peer, kind); watch_mu held. */
static bool remove_watch(mrt_ref *on, const mrt_ref *peer, int kind) {
  for (mrt__watch **pp = &on->watches; *pp != NULL; pp = &(*pp)->next) {
    mrt__watch *w = *pp;
    if (w->peer == peer && w->kind == kind) {
      *pp = w->next;
      watch_free(w);
      return true;
    }
  }
  return false;
}

/* Delivers a DOWN or EXIT (`note`, consumed) telling `to` that `who` exited.
 * A notice: a full bounded mailbox must not lose news of a death, so it
 * bypasses the capacity (at most one per watch). A recipient that stopped
 * or does not handle the type does not get it (the drop hook releases
 * `who`). The runtime must still accept work, as for any tell. */
static void send_note(mrt__env *note, mrt_ref *to, mrt_ref *who, const mrt_exit *why) {
  *(mrt_down *)note->payload = (mrt_down){.who = mrt_ref_ref(who), .id = who->id, .exit = *why};
  bool alive = atomic_load_explicit(&to->life, memory_order_acquire) < MRT__LIFE_STOPPING &&
               mrt__runtime_accepting(to->rt);
  if (!alive || !mrt__actor_accepts(to->cls, note->type))
    mrt__env_discard(note, -ESRCH);
  else
    mrt__actor_enqueue_notice(to, note);
}

/* `note` (an EXIT envelope) is consumed. */
static void exit_linked(mrt_ref *peer, mrt_ref *dead, const mrt_exit *why, mrt__env *note) {
  if (!mrt_exit_is_abnormal(why)) {
    mrt__env_free(note);
    return;
  }
  if (peer->trap_exits) {
    send_note(note, peer, dead, why);
    return;
  }
  mrt__env_free(note);
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
      send_note(w->note, w->peer, cell, cell->exit);
    else
      exit_linked(w->peer, cell, cell->exit, w->note);
    w->note = NULL;
    watch_free(w);
  }
}

static const mrt_exit noproc_exit = {MRT_EXIT_NOPROC, -ESRCH, "no such actor"};

int mrt__watch_link(mrt_ref *a, mrt_ref *b) {
  mrt_runtime *rt = a->rt;
  if (a == b)
    return 0;
  mrt__watch *on_a = watch_new(b, WATCH_LINK), *on_b = watch_new(a, WATCH_LINK);
  if (on_a == NULL || on_b == NULL) {
    watch_free(on_a);
    watch_free(on_b);
    return -ENOMEM;
  }
  pthread_mutex_lock(&rt->watch_mu);
  bool b_dead = is_dead(b);
  if (!b_dead && !is_dead(a)) {
    add_watch(a, on_a);
    add_watch(b, on_b);
    on_a = on_b = NULL;
  }
  pthread_mutex_unlock(&rt->watch_mu);
  if (b_dead) {
    /* b's exit tells a at once, with the envelope a's entry would have used. */
    exit_linked(a, b, b->exit ? b->exit : &noproc_exit, on_a->note);
    on_a->note = NULL;
  }
  watch_free(on_a);
  watch_free(on_b);
  return 0;
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
  mrt__watch *w = watch_new(self, WATCH_MONITOR);
  if (w == NULL)
    return -ENOMEM;
  pthread_mutex_lock(&self->rt->watch_mu);
  bool dead = is_dead(target);
  if (!dead)
    add_watch(target, w);
  pthread_mutex_unlock(&self->rt->watch_mu);
  if (dead) {
    send_note(w->note, self, target, &noproc_exit);
    w->note = NULL;
    watch_free(w);
  }
  return 0;
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
