/* SPDX-License-Identifier: MIT */
/* meshrt-node — the observer: an actor that watches the node and tells
 * people what happens.
 *
 * It subscribes to the node's bus (latency measurements, home region,
 * MeasureNow, supervision events), polls DirectManager's state for path
 * changes, receives raw link changes from the link monitor's callback, and
 * turns all of it into log lines, journal events and a shared view (the
 * numbers `meshrt-ctl status` and the metrics endpoint show). It is also the
 * one place that rebinds on an operator's request, so every rebind — after a
 * link change or asked for — is journalled once, with its cause and its
 * old and new port.
 */
#ifndef MESHRT_TOOLS_OBSERVER_H
#define MESHRT_TOOLS_OBSERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <meshrt/mesh.h>

#include "journal.h"

#define MN_VIEW_REGIONS_MAX 64

/* The observer's mailbox capacity. What arrives: one message per raw link
 * change (a Wi-Fi roam is 5-20, a VPN or container start can be a few
 * hundred at once), every supervision event (a handful per restart), each
 * MeasureNow, measurement and home-region change, operator rebinds; and the
 * replies to its own asks, which do not count. Each handler logs and
 * journals, tens of microseconds. 256 slots hold a realistic burst whole, at
 * most about 300 KB (a link change with its listed items is about 1 KB), and
 * are a quarter of the journal (MN_JOURNAL_DEFAULT_CAP): a storm could not
 * keep more in the journal anyway, it would only evict older history. What
 * a full mailbox costs: a raw link change or supervision event is not
 * journalled (link changes not journalled are counted in the view and
 * logged; the supervisor's own event journal keeps its events; the
 * coalesced change still reaches NetmonSupervisor); bus state is delivered
 * latest-value, so the newest arrives when there is room; an operator's
 * rebind fails at once with "busy, try again". */
#define MN_OBSERVER_MAILBOX_CAPACITY 256u

/* MeasureNow reason the control socket uses, so the observer can tell an
 * operator's request from NetmonSupervisor's (which counts rebinds). */
#define MN_MEASURE_OPERATOR UINT64_MAX

typedef struct mn_region_view {
  int id;
  char code[MRT_REGION_CODE_MAX];
  uint64_t latency_ns;
} mn_region_view;

/* What the observer has seen; copied out whole under the view's mutex. */
typedef struct mn_view_data {
  bool bound; /* DirectManager reported a socket */
  uint16_t port;
  uint64_t generation;
  uint64_t rounds;  /* latency measurements seen */
  size_t n_regions; /* of the last round, fastest first */
  mn_region_view regions[MN_VIEW_REGIONS_MAX];
  int home_region; /* 0: none yet */
  uint64_t home_changes;
  uint64_t link_changes;         /* raw link changes */
  uint64_t link_changes_dropped; /* raw link changes refused by a full observer mailbox */
  uint64_t rebinds_link;         /* rebinds that answered link changes */
  uint64_t rebinds_operator;
  uint64_t rebind_failures; /* link-change reactions that did not get a new socket */
  uint64_t path_changes;
  uint64_t supervisor_events;
} mn_view_data;

typedef struct mn_view {
  pthread_mutex_t mu;
  mn_view_data d;
} mn_view;

void mn_view_init(mn_view *v);
void mn_view_destroy(mn_view *v);
void mn_view_get(mn_view *v, mn_view_data *out);

/* Spawn args (copied; pointers borrowed and must outlive the actor). */
typedef struct mn_observer_args {
  mn_view *view;
  mn_journal *journal;
} mn_observer_args;

/* Spawns the observer and subscribes it to the bus; call before
 * mrt_node_start so it sees the boot's supervision events. */
int mn_observer_spawn(mrt_runtime *rt, const mn_observer_args *args, mrt_ref **out);

/* A raw link change the observer's full mailbox refused (-EAGAIN from
 * mn_observer_link_change): counted in the view, reported by the observer's
 * log when it next journals one. Any thread. */
void mn_view_note_dropped_link(mn_view *v);

/* Hands it the node's supervisor (a reference is taken): polling starts.
 * Host thread: waits for room in the observer's mailbox (its boot events may
 * fill it) for up to 5 s. */
int mn_observer_attach(mrt_ref *observer, mrt_ref *sup);

/* A raw link change (from a monitor callback or the manual trigger): its
 * flags and the changes it lists (copied; `change` stays the caller's).
 * Logged and journalled with interface names escaped. `what` may be NULL.
 * Any thread. Returns 0, -EINVAL or a tell error. */
int mn_observer_link_change(mrt_ref *observer, const mrt_link_change *change, const char *what,
                            const char *source);

typedef struct mn_rebind_result {
  uint16_t old_port;
  uint16_t new_port;
  uint64_t generation;
  char port_note[96]; /* "kept", "pinned port regained", "changed (port P unavailable: ...)" */
} mn_rebind_result;

/* What a rebind did with the port, for logs, the journal and replies. */
void mn_port_note(const mrt_sock_info *si, uint16_t old_port, char *buf, size_t len);

/* Rebinds DirectManager's socket on an operator's request and waits for it.
 * Host thread. Returns 0 or a negative errno. */
int mn_observer_rebind(mrt_ref *observer, mn_rebind_result *out);

#endif
