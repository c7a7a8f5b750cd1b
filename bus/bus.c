/* SPDX-License-Identifier: MIT */
/* meshrt — the typed publish/subscribe bus (see <meshrt/bus.h>).
 *
 * The bus maps message types to topics. A topic holds its subscribers in
 * subscription order, its policy, its retained value and its counters, under
 * a mutex of its own: publishing never waits on a subscriber (an enqueue is a
 * lock-free push), so the lock is held only for the fan-out loop. One payload
 * copy (mrt__shared) is made per publish; each delivery's envelope points at
 * it, and the last envelope to let go runs the drop hook.
 *
 * Latest-value types (MRT_BUS_LATEST) keep the last payload too, and mark a
 * subscription "owed" when its mailbox was full; the subscriber's executor
 * calls mrt__bus_catch_up at the end of the subscriber's next turn, when the
 * turn has made room, and the latest payload goes in then. However many
 * publishes a full mailbox missed, it gets one value, the newest, so a flood
 * costs the subscriber one slot per type, and the newest value always lands.
 *
 * Threads: every function, from any thread. Lock order: bus->mu (the topic
 * table) is never held while a topic's lock is taken.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <meshrt/bus.h>
#include <meshrt/meshrt.h>

#include "core_bus.h"
#include "mrt_grow.h"

typedef struct subscription {
  mrt_ref *ref; /* a reference held */
  bool owed;    /* LATEST: missed a value for a full mailbox */
} subscription;

typedef struct topic {
  const mrt_msg_type *type;
  pthread_mutex_t mu;
  mrt_bus_policy policy;
  bool retained;
  mrt__shared *last; /* last value (one reference) if retained or LATEST, or NULL */
  subscription *subs;
  size_t n_subs, cap_subs;
  mrt_bus_stats stats;
} topic;

struct mrt_bus {
  mrt_runtime *rt;
  pthread_mutex_t mu; /* guards the topic table */
  topic **topics;
  size_t n_topics, cap_topics;
};

/* ---- lifetime ------------------------------------------------------------ */

/* Drops a topic's subscriptions and retained value. */
static void topic_clear(topic *t) {
  pthread_mutex_lock(&t->mu);
  subscription *subs = t->subs;
  size_t n = t->n_subs;
  mrt__shared *last = t->last;
  t->subs = NULL;
  t->n_subs = t->cap_subs = 0;
  t->stats.subscribers = 0;
  t->last = NULL;
  pthread_mutex_unlock(&t->mu);
  for (size_t i = 0; i < n; i++)
    mrt_ref_unref(subs[i].ref);
  free(subs);
  if (last != NULL)
    mrt__shared_release(last);
}

static void topic_free(topic *t) {
  topic_clear(t);
  pthread_mutex_destroy(&t->mu);
  free(t);
}

/* Runtime shutdown: subscriptions hold actor references, which hold the
 * runtime; dropping them here breaks that cycle. */
static void bus_shutdown(void *p) {
  mrt_bus *bus = p;
  /* Topics are never freed before the bus, so clearing each under its own
   * lock is safe; the table lock is held only to walk the table, which
   * publishers may still grow. */
  for (size_t i = 0;; i++) {
    pthread_mutex_lock(&bus->mu);
    topic *t = i < bus->n_topics ? bus->topics[i] : NULL;
    pthread_mutex_unlock(&bus->mu);
    if (t == NULL)
      break;
    topic_clear(t);
  }
}

static void bus_free(void *p) {
  mrt_bus *bus = p;
  for (size_t i = 0; i < bus->n_topics; i++)
    topic_free(bus->topics[i]);
  free(bus->topics);
  pthread_mutex_destroy(&bus->mu);
  free(bus);
}

mrt_bus *mrt_runtime_bus(mrt_runtime *rt) {
  if (rt == NULL)
    return NULL;
  mrt_bus *bus = mrt__runtime_bus_get(rt);
  if (bus != NULL)
    return bus;
  bus = calloc(1, sizeof *bus);
  if (bus == NULL)
    return NULL;
  bus->rt = rt;
  pthread_mutex_init(&bus->mu, NULL);
  mrt_bus *winner = mrt__runtime_bus_install(rt, bus, bus_free, bus_shutdown);
  if (winner != bus)
    bus_free(bus); /* another thread was first */
  return winner;
}

/* ---- topics -------------------------------------------------------------- */

static topic *find_topic(mrt_bus *bus, const mrt_msg_type *type, bool create) {
  pthread_mutex_lock(&bus->mu);
  topic *found = NULL;
  for (size_t i = 0; i < bus->n_topics && found == NULL; i++)
    if (bus->topics[i]->type == type)
      found = bus->topics[i];
  if (found == NULL && create) {
    topic **v = mrt__grow(bus->topics, &bus->cap_topics, bus->n_topics, sizeof *v, 16);
    if (v == NULL)
      goto out;
    bus->topics = v;
    found = calloc(1, sizeof *found);
    if (found != NULL) {
      found->type = type;
      pthread_mutex_init(&found->mu, NULL);
      bus->topics[bus->n_topics++] = found;
    }
  }
out:
  pthread_mutex_unlock(&bus->mu);
  return found;
}

static bool check_args(const mrt_bus *bus, const mrt_msg_type *type, const char *what) {
  if (bus == NULL || type == NULL) {
    mrt_log(MRT_LOG_WARN, "bus", "%s refused: NULL %s", what, bus ? "type" : "bus");
    return false;
  }
  return true;
}

int mrt_bus_configure(mrt_bus *bus, const mrt_msg_type *type, const mrt_bus_type_opts *opts) {
  if (!check_args(bus, type, "configure") || opts == NULL ||
      (opts->policy != MRT_BUS_BEST_EFFORT && opts->policy != MRT_BUS_REPORT &&
       opts->policy != MRT_BUS_LATEST))
    return -EINVAL;
  topic *t = find_topic(bus, type, true);
  if (t == NULL)
    return -ENOMEM;
  pthread_mutex_lock(&t->mu);
  t->policy = opts->policy;
  t->retained = opts->retained;
  bool keep = opts->retained || opts->policy == MRT_BUS_LATEST;
  mrt__shared *old = keep ? NULL : t->last;
  if (!keep)
    t->last = NULL;
  pthread_mutex_unlock(&t->mu);
  if (old != NULL)
    mrt__shared_release(old);
  return 0;
}

/* Delivers one shared payload to one subscriber; the caller has already
 * counted a reference for it. Returns 0, -EAGAIN (full), -ESRCH, -ENOMEM;
 * on failure the reference is the caller's to give back. */
static int deliver(mrt_ref *sub, mrt__shared *s) {
  if (!mrt__cell_alive(sub))
    return -ESRCH;
  mrt__env *env = mrt__env_new_shared(s);
  if (env == NULL)
    return -ENOMEM;
  int rc = mrt__actor_enqueue(sub, env);
  if (rc < 0)
    mrt__env_free_unshared(env); /* the reference stays with the caller */
  return rc;
}

int mrt_bus_subscribe(mrt_bus *bus, const mrt_msg_type *type, mrt_ref *sub) {
  if (!check_args(bus, type, "subscribe") || sub == NULL || mrt__cell_runtime(sub) != bus->rt)
    return -EINVAL;
  if (!mrt__cell_accepts(sub, type))
    return -ENOTSUP;
  if (!mrt__cell_alive(sub))
    return -ESRCH;
  topic *t = find_topic(bus, type, true);
  if (t == NULL)
    return -ENOMEM;
  int rc = 0;
  mrt__env *env = NULL;
  pthread_mutex_lock(&t->mu);
  for (size_t i = 0; i < t->n_subs; i++)
    if (t->subs[i].ref == sub)
      goto out; /* idempotent */
  /* Everything that can fail comes first: a subscription is made with its
   * retained value delivered, or not at all. */
  if (t->retained && t->last != NULL && (env = mrt__env_new_shared(t->last)) == NULL) {
    rc = -ENOMEM;
    goto out;
  }
  subscription *v = mrt__grow(t->subs, &t->cap_subs, t->n_subs, sizeof *v, 8);
  if (v == NULL) {
    rc = -ENOMEM;
    goto out;
  }
  t->subs = v;
  t->subs[t->n_subs++] = (subscription){.ref = mrt_ref_ref(sub), .owed = false};
  t->stats.subscribers = t->n_subs;
  if (env != NULL) {
    /* Retained value: the new subscriber gets it now, under the topic lock so
     * that no later publish can overtake it. Relaxed: we hold a reference. */
    atomic_fetch_add_explicit(&t->last->refs, 1, memory_order_relaxed);
    if (mrt__actor_enqueue(sub, env) == 0) {
      t->stats.delivered++;
      env = NULL;
    } else {
      mrt__shared_release(t->last); /* a full mailbox: best effort, as a publish */
    }
  }
out:
  if (env != NULL)
    mrt__env_free_unshared(env); /* it took no reference of its own */
  pthread_mutex_unlock(&t->mu);
  return rc;
}

static void remove_at(topic *t, size_t i) {
  mrt_ref_unref(t->subs[i].ref);
  memmove(&t->subs[i], &t->subs[i + 1], (t->n_subs - i - 1) * sizeof *t->subs);
  t->n_subs--;
  t->stats.subscribers = t->n_subs;
}

int mrt_bus_unsubscribe(mrt_bus *bus, const mrt_msg_type *type, mrt_ref *sub) {
  if (!check_args(bus, type, "unsubscribe") || sub == NULL)
    return -EINVAL;
  topic *t = find_topic(bus, type, false);
  if (t == NULL)
    return -ENOENT;
  int rc = -ENOENT;
  pthread_mutex_lock(&t->mu);
  for (size_t i = 0; i < t->n_subs; i++)
    if (t->subs[i].ref == sub) {
      remove_at(t, i);
      rc = 0;
      break;
    }
  pthread_mutex_unlock(&t->mu);
  return rc;
}

/* ---- publish ------------------------------------------------------------- */

/* LATEST: `s` missed a value; its executor delivers the latest one after its
 * next turn (mrt__bus_catch_up). Topic lock held. */
static void owe(subscription *s) {
  s->owed = true;
  mrt__cell_owe_bus(s->ref); /* marks it, then makes sure it runs (core_bus.c) */
}

/* The fan-out loop; topic lock held. `s` carries one reference per subscriber
 * plus the caller's; references not handed to a mailbox are returned. */
static void fan_out(topic *t, mrt__shared *s, mrt_bus_publish_result *res) {
  uint32_t unused = 0;
  size_t i = 0;
  while (i < t->n_subs) {
    int rc = deliver(t->subs[i].ref, s);
    if (rc == -ESRCH) {
      remove_at(t, i); /* pruned: stopped subscribers never receive again */
      res->dropped_dead++;
      unused++;
      continue;
    }
    if (rc == 0) {
      res->delivered++;
      t->subs[i].owed = false; /* this one is the latest */
    } else {
      res->dropped_full++; /* -EAGAIN, or -ENOMEM counted alike */
      unused++;
      if (rc == -EAGAIN && t->policy == MRT_BUS_LATEST)
        owe(&t->subs[i]);
    }
    i++;
  }
  if (unused > 0)
    atomic_fetch_sub_explicit(&s->refs, unused, memory_order_relaxed);
}

/* Publishes; fills *res and *policy (the type's policy at publish time). */
static int publish(mrt_bus *bus, const mrt_msg_type *type, const void *payload, size_t size,
                   mrt_bus_publish_result *res, mrt_bus_policy *policy) {
  if (!check_args(bus, type, "publish") || size != type->payload_size ||
      (size > 0 && payload == NULL)) {
    if (bus != NULL && type != NULL)
      mrt_log(MRT_LOG_WARN, "bus", "publish refused: %s type=%s size=%zu expected=%zu",
              payload == NULL ? "NULL payload" : "payload size mismatch", type->name, size,
              type->payload_size);
    return -EINVAL;
  }
  topic *t = find_topic(bus, type, true);
  mrt__shared *s = malloc(sizeof *s + size);
  if (t == NULL || s == NULL) {
    free(s);
    return -ENOMEM;
  }
  s->type = type;
  memcpy(s->data, payload, size);
  pthread_mutex_lock(&t->mu);
  /* One reference per possible delivery, one for us, one if kept; the
   * unused ones are given back by fan_out. Relaxed: not yet shared. */
  bool keep = t->retained || t->policy == MRT_BUS_LATEST;
  atomic_init(&s->refs, (uint32_t)t->n_subs + 1 + (keep ? 1 : 0));
  fan_out(t, s, res);
  mrt__shared *old = NULL;
  if (keep) {
    old = t->last;
    t->last = s;
  }
  t->stats.published++;
  t->stats.delivered += res->delivered;
  t->stats.dropped_full += res->dropped_full;
  t->stats.dropped_dead += res->dropped_dead;
  *policy = t->policy;
  pthread_mutex_unlock(&t->mu);
  if (old != NULL)
    mrt__shared_release(old);
  mrt__shared_release(s); /* ours: if nobody took the payload, it drops now */
  return 0;
}

int mrt_bus_publish_ex(mrt_bus *bus, const mrt_msg_type *type, const void *payload, size_t size,
                       mrt_bus_publish_result *result) {
  mrt_bus_publish_result res = {0};
  mrt_bus_policy policy;
  int rc = publish(bus, type, payload, size, &res, &policy);
  if (result != NULL)
    *result = res;
  return rc;
}

int mrt_bus_publish(mrt_bus *bus, const mrt_msg_type *type, const void *payload, size_t size) {
  mrt_bus_publish_result res = {0};
  mrt_bus_policy policy = MRT_BUS_BEST_EFFORT;
  int rc = publish(bus, type, payload, size, &res, &policy);
  if (rc < 0)
    return rc;
  return (int)(policy == MRT_BUS_REPORT ? res.dropped_full : res.delivered);
}

/* ---- latest values owed to full mailboxes --------------------------------- */

/* Delivers the latest value of `t` to `cell` if its subscription is owed one.
 * Returns false if the mailbox is full again (still owed). */
static bool catch_up_topic(topic *t, mrt_ref *cell) {
  bool full = false;
  pthread_mutex_lock(&t->mu);
  for (size_t i = 0; i < t->n_subs; i++) {
    subscription *s = &t->subs[i];
    if (s->ref != cell || !s->owed)
      continue;
    if (t->policy != MRT_BUS_LATEST || t->last == NULL) {
      s->owed = false; /* reconfigured meanwhile: nothing is owed any more */
      break;
    }
    /* Relaxed: the topic holds a reference to `last`. */
    atomic_fetch_add_explicit(&t->last->refs, 1, memory_order_relaxed);
    int rc = deliver(cell, t->last);
    if (rc == 0) {
      s->owed = false;
      t->stats.delivered++;
    } else {
      mrt__shared_release(t->last);
      /* -ENOMEM: still owed; the next drop (or publish) tries again, rather
       * than this actor spinning on an allocator that keeps failing. */
      full = rc == -EAGAIN;
    }
    break;
  }
  pthread_mutex_unlock(&t->mu);
  return !full;
}

bool mrt__bus_catch_up(void *p, mrt_ref *cell) {
  mrt_bus *bus = p;
  bool again = false;
  /* Topics are never freed before the bus; the table lock is held only to
   * read an entry (publishers may grow the table meanwhile). */
  for (size_t i = 0;; i++) {
    pthread_mutex_lock(&bus->mu);
    topic *t = i < bus->n_topics ? bus->topics[i] : NULL;
    pthread_mutex_unlock(&bus->mu);
    if (t == NULL)
      break;
    if (!catch_up_topic(t, cell))
      again = true;
  }
  return !again; /* full again: the core marks it owed once more */
}

/* ---- counters ------------------------------------------------------------ */

int mrt_bus_stats_get(mrt_bus *bus, const mrt_msg_type *type, mrt_bus_stats *out) {
  if (!check_args(bus, type, "stats") || out == NULL)
    return -EINVAL;
  memset(out, 0, sizeof *out);
  topic *t = find_topic(bus, type, false);
  if (t == NULL)
    return 0;
  pthread_mutex_lock(&t->mu);
  *out = t->stats;
  pthread_mutex_unlock(&t->mu);
  return 0;
}

int mrt_bus_foreach_type(mrt_bus *bus,
                         void (*fn)(const mrt_msg_type *type, const mrt_bus_stats *s, void *ud),
                         void *ud) {
  if (bus == NULL || fn == NULL)
    return -EINVAL;
  pthread_mutex_lock(&bus->mu);
  size_t n = bus->n_topics;
  topic **snapshot = malloc((n ? n : 1) * sizeof *snapshot);
  if (snapshot != NULL && n > 0)
    memcpy(snapshot, bus->topics, n * sizeof *snapshot);
  pthread_mutex_unlock(&bus->mu);
  if (snapshot == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    mrt_bus_stats s;
    pthread_mutex_lock(&snapshot[i]->mu);
    s = snapshot[i]->stats;
    pthread_mutex_unlock(&snapshot[i]->mu);
    fn(snapshot[i]->type, &s, ud);
  }
  free(snapshot);
  return 0;
}
