/* SPDX-License-Identifier: MIT */
/* meshrt — the manual link monitor and the no-op monitor.
 *
 * Manual: raw changes come from mrt_manual_monitor_trigger (flags only) or
 * mrt_manual_monitor_trigger_item (one described change: which interface,
 * which address) — a test, or a host with its own change detector — into a
 * 16-slot queue guarded by a mutex, so any thread may trigger; the watcher
 * drains the queue when kicked. A trigger on a full queue or a closed monitor
 * returns false. One watch at a time.
 *
 * No-op: its watches succeed and never deliver; they end only when destroyed
 * or at shutdown.
 */
#include <stdlib.h>
#include <string.h>

#include "monitor.h"

/* One queued raw change: flags, and the change it describes if any. */
typedef struct slot {
  uint32_t flags;
  bool has_item;
  mrt_link_change_item item;
} slot;

typedef struct manual_monitor {
  mrt_link_monitor base;
  pthread_mutex_t mu;
  slot slots[MRT_MANUAL_MONITOR_SLOTS];
  unsigned head, len;
  bool closed;
  mrt_ref *watcher; /* the one watch's watcher (reference held), or NULL */
} manual_monitor;

/* Source callbacks run in the watcher's context. */
static void manual_kick(mrt_actor *self, void *src) {
  manual_monitor *m = src;
  for (;;) {
    pthread_mutex_lock(&m->mu);
    bool have = m->len > 0;
    slot one = have ? m->slots[m->head] : (slot){0};
    if (have) {
      m->head = (m->head + 1) % MRT_MANUAL_MONITOR_SLOTS;
      m->len--;
    }
    bool closed = m->closed;
    pthread_mutex_unlock(&m->mu);
    if (have) {
      mrt__link_changes raw = {0};
      if (one.has_item)
        mrt__link_changes_add(&raw, &one.item);
      mrt__link_changes_add_flags(&raw, one.flags);
      mrt__netmon_raw(self, &raw);
      continue;
    }
    if (closed)
      mrt__netmon_source_closed(self); /* flush what is pending, then end */
    return;
  }
}

static int manual_start(mrt_actor *self, void *src) {
  manual_kick(self, src); /* triggers queued before the watch */
  return 0;
}

static void manual_stop(mrt_actor *self, void *src) {
  (void)self;
  manual_monitor *m = src;
  pthread_mutex_lock(&m->mu);
  mrt_ref *w = m->watcher;
  m->watcher = NULL; /* another watch may start now */
  pthread_mutex_unlock(&m->mu);
  mrt_ref_unref(w);
}

static int manual_watch(mrt_link_monitor *base, mrt_runtime *rt, mrt_ref *target,
                        const mrt_debounce_config *cfg, mrt_link_watch **out) {
  manual_monitor *m = (manual_monitor *)base;
  pthread_mutex_lock(&m->mu);
  bool busy = m->watcher != NULL;
  int rc = busy ? -EALREADY : 0;
  if (!busy) {
    mrt__netmon_source src = {manual_start, manual_stop, manual_kick, NULL, m};
    rc = mrt__netmon_watch_start(base, rt, target, cfg, &src, out);
    if (rc == 0)
      m->watcher = mrt_ref_ref(mrt__netmon_watcher(*out));
  }
  pthread_mutex_unlock(&m->mu);
  return rc;
}

static void manual_free(mrt_link_monitor *base) {
  manual_monitor *m = (manual_monitor *)base;
  pthread_mutex_destroy(&m->mu);
  free(m);
}

static const mrt__link_monitor_ops manual_ops = {"manual", manual_watch, manual_free, NULL, NULL};

int mrt_manual_monitor_new(mrt_link_monitor **out) {
  if (out == NULL)
    return -EINVAL;
  manual_monitor *m = calloc(1, sizeof *m);
  if (m == NULL)
    return -ENOMEM;
  mrt__link_monitor_init(&m->base, &manual_ops);
  pthread_mutex_init(&m->mu, NULL);
  *out = &m->base;
  return 0;
}

static manual_monitor *as_manual(mrt_link_monitor *base) {
  return base != NULL && base->ops == &manual_ops ? (manual_monitor *)base : NULL;
}

static bool enqueue(manual_monitor *m, const slot *one) {
  pthread_mutex_lock(&m->mu);
  bool ok = !m->closed && m->len < MRT_MANUAL_MONITOR_SLOTS;
  if (ok) {
    m->slots[(m->head + m->len) % MRT_MANUAL_MONITOR_SLOTS] = *one;
    m->len++;
    if (m->watcher != NULL)
      mrt__netmon_kick(m->watcher);
  }
  pthread_mutex_unlock(&m->mu);
  return ok;
}

bool mrt_manual_monitor_trigger(mrt_link_monitor *base, uint32_t flags) {
  manual_monitor *m = as_manual(base);
  return m != NULL && enqueue(m, &(slot){.flags = flags});
}

/* The change kinds an item may be: exactly one of them. */
#define ITEM_KINDS                                                                                 \
  (MRT_LINK_CHANGE_LINK_UP | MRT_LINK_CHANGE_LINK_DOWN | MRT_LINK_CHANGE_ADDR_ADDED |              \
   MRT_LINK_CHANGE_ADDR_REMOVED | MRT_LINK_CHANGE_DEFAULT_ROUTE)

bool mrt_manual_monitor_trigger_item(mrt_link_monitor *base, const mrt_link_change_item *item) {
  manual_monitor *m = as_manual(base);
  if (m == NULL || item == NULL)
    return false;
  uint32_t kind = item->flags & ITEM_KINDS;
  if (kind == 0 || (kind & (kind - 1)) != 0 || (item->flags & ~MRT_LINK_CHANGE_ALL) != 0)
    return false;
  slot one = {.flags = item->flags, .has_item = true, .item = *item};
  /* The host's strings need not be terminated: the copy is. */
  one.item.ifname[MRT_LINK_IFNAME_MAX - 1] = '\0';
  one.item.old_ifname[MRT_LINK_IFNAME_MAX - 1] = '\0';
  return enqueue(m, &one);
}

void mrt_manual_monitor_close(mrt_link_monitor *base) {
  manual_monitor *m = as_manual(base);
  if (m == NULL)
    return;
  pthread_mutex_lock(&m->mu);
  bool was = m->closed;
  m->closed = true;
  if (!was && m->watcher != NULL)
    mrt__netmon_kick(m->watcher);
  pthread_mutex_unlock(&m->mu);
}

/* ---- no-op ----------------------------------------------------------------- */

static int noop_watch(mrt_link_monitor *base, mrt_runtime *rt, mrt_ref *target,
                      const mrt_debounce_config *cfg, mrt_link_watch **out) {
  mrt__netmon_source src = {0};
  return mrt__netmon_watch_start(base, rt, target, cfg, &src, out);
}

static void noop_free(mrt_link_monitor *base) {
  free(base);
}

static const mrt__link_monitor_ops noop_ops = {"noop", noop_watch, noop_free, NULL, NULL};

int mrt_noop_monitor_new(mrt_link_monitor **out) {
  if (out == NULL)
    return -EINVAL;
  mrt_link_monitor *m = calloc(1, sizeof *m);
  if (m == NULL)
    return -ENOMEM;
  mrt__link_monitor_init(m, &noop_ops);
  *out = m;
  return 0;
}
