/* SPDX-License-Identifier: MIT */
/* meshrt — NetmonSupervisor: link changes -> rebind, re-probe, re-measure.
 *
 * The actor watches a link monitor (<meshrt/netmon.h>) and turns every
 * coalesced mrt_msg_link_change into the node's recovery kicks:
 *   1. ask DirectManager mrt_msg_direct_rebind_and_reprobe (<meshrt/direct.h>):
 *      new socket, ping every candidate, one STUN sweep; an error (or a
 *      DirectManager that is gone or silent) is logged, never fatal;
 *   2. record the completion time;
 *   3. publish mrt_msg_measure_now on the bus, so DerpLatencyMeasurer
 *      re-measures DERP latency against its cached map.
 * Reactions are serial: an event that arrives while one runs waits for it.
 * At most one rebind per min_rebind_interval_ns (1 s), measured from the last
 * COMPLETED one: an event inside the interval sets a single pending flag and
 * arms a timer at last + interval; any number of such events fold into that
 * one deferred rebind; an event after the interval runs at once and subsumes
 * a pending one. No event is dropped without a rebind that runs after it.
 * A DirectManager whose bounded mailbox is full (-EAGAIN) has not rebound:
 * the rebind stays owed and is asked again every MRT_NETMON_BUSY_RETRY
 * (50 ms) until it is taken; events meanwhile fold into it as above.
 * On runtime shutdown the actor stops at once: shutdown wins over a pending
 * deferred rebind.
 *
 * If watching the monitor fails, the actor logs an error and keeps running on
 * a no-op monitor (never an event), so a node never fails for this opt-in
 * convenience. -EALREADY (the monitor's previous watch is still ending, as
 * after a restart of this actor) is retried watch_retries times, every
 * watch_retry_ns, before falling back.
 *
 * Monitor ownership: with config.monitor NULL the actor creates and owns the
 * default monitor, Linux netlink (no ignored interfaces); a failure to create
 * it is a watch failure (no-op fallback). An injected monitor is borrowed: the
 * caller keeps its reference, and may drop it whenever it likes, since a
 * monitor stays alive while watchers use it. A node (mrt_node_start) injects
 * its own netlink monitor, configured with the node's ignored interfaces, so
 * that a restarted NetmonSupervisor re-watches the same monitor.
 *
 * Threading: spawn from any thread; ask it mrt_msg_netmon_supervisor_stats
 * from anywhere. All of its state is touched only in its own context.
 */
#ifndef MESHRT_NETMON_SUPERVISOR_H
#define MESHRT_NETMON_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <meshrt/actor.h>
#include <meshrt/export.h>
#include <meshrt/message.h>
#include <meshrt/netmon.h>
#include <meshrt/send.h>
#include <meshrt/timer.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MRT_NETMON_MIN_REBIND_INTERVAL_DEFAULT MRT_SEC(1)
#define MRT_NETMON_REBIND_TIMEOUT_DEFAULT MRT_SEC(5)
#define MRT_NETMON_WATCH_RETRY_DEFAULT MRT_MS(50)
#define MRT_NETMON_WATCH_RETRIES_DEFAULT 20u
/* A RebindAndReprobe refused for a full DirectManager mailbox is asked again
 * after this long: a full mailbox drains in milliseconds (its 64 slots are
 * short handlers), and retrying sooner would only spin against it. */
#define MRT_NETMON_BUSY_RETRY MRT_MS(50)
/* The mailbox capacity a node gives NetmonSupervisor (mrt_node_start; pass it
 * in mrt_spawn_opts when spawning one yourself). What arrives: coalesced link
 * changes, at most one per debounce settle (250 ms) however stormy the
 * network; stats asks from the node's status and metrics (one service thread,
 * one ask at a time); the supervisor's stop request. Every handler returns in
 * microseconds (the rebind is an asynchronous ask), so the mailbox is rarely
 * more than two deep; 16 slots hold four seconds of link changes with the
 * actor stalled. What a full mailbox costs: a stats ask fails at once with
 * -EAGAIN, and a link change is kept by its watcher and delivered folded
 * into the next one (never lost). Runtime notices (shutdown) skip the bound. */
#define MRT_NETMON_SUPERVISOR_MAILBOX_CAPACITY 16u
/* Longest child id accepted in mrt_netmon_supervisor_child_args (with NUL). */
#define MRT_NETMON_CHILD_ID_MAX 64

typedef struct mrt_netmon_supervisor_config {
  mrt_link_monitor *monitor;       /* borrowed (see above); NULL: own a netlink one */
  mrt_debounce_config debounce;    /* the watch's debouncer; zero fields: 250 ms / 1 s */
  uint64_t min_rebind_interval_ns; /* 1 s */
  uint64_t rebind_timeout_ns;      /* deadline of the RebindAndReprobe ask: 5 s */
  uint64_t watch_retry_ns;         /* -EALREADY retry period: 50 ms */
  uint32_t watch_retries;          /* -EALREADY retries before the no-op fallback: 20 */
} mrt_netmon_supervisor_config;

/* The documented defaults (monitor NULL: the actor's own netlink monitor).
 * Any thread. */
MRT_API mrt_netmon_supervisor_config mrt_netmon_supervisor_config_default(void);

/* Spawns a NetmonSupervisor that drives `direct` (any actor that answers
 * mrt_msg_direct_rebind_and_reprobe; the actor takes its own reference). Returns 0,
 * -EINVAL (NULL argument, zero interval or timeout; logged),
 * -ENOTSUP (`direct` does not handle mrt_msg_direct_rebind_and_reprobe), or
 * mrt_actor_spawn's errors. Any thread. */
MRT_API int mrt_netmon_supervisor_spawn(mrt_runtime *rt, const mrt_netmon_supervisor_config *cfg,
                                        mrt_ref *direct, const mrt_spawn_opts *opts, mrt_ref **out);

/* For supervisor child specs (plain-data args): the actor finds its
 * DirectManager by asking its parent supervisor (<meshrt/supervisor.h>) for
 * the running attempt of child `direct_child_id`, before every reaction whose
 * previous DirectManager has stopped, so it follows DirectManager restarts. */
typedef struct mrt_netmon_supervisor_child_args {
  mrt_netmon_supervisor_config cfg;
  char direct_child_id[MRT_NETMON_CHILD_ID_MAX];
} mrt_netmon_supervisor_child_args;

/* The class taking mrt_netmon_supervisor_child_args (the monitor stays
 * borrowed). on_start fails with -EINVAL for an invalid config or an empty
 * child id. Any thread. */
MRT_API const mrt_actor_class *mrt_netmon_supervisor_child_class(void);

typedef struct mrt_netmon_supervisor_stats {
  char monitor[16];          /* the monitor watched now ("netlink", "manual", "noop");
                                "" while a -EALREADY retry is pending */
  bool degraded;             /* the watch failed: running on the no-op monitor */
  int watch_error;           /* the watch's last error, 0 if none */
  bool busy;                 /* a reaction is running */
  bool pending;              /* a deferred rebind is owed */
  uint64_t events;           /* link changes received */
  uint64_t rebinds;          /* reactions completed (each: one ask, one MeasureNow) */
  uint64_t rebind_errors;    /* asks that failed (logged) */
  uint64_t deferred_rebinds; /* reactions run by the deferral timer */
  uint64_t coalesced;        /* events folded into an already pending rebind */
  uint64_t subsumed;         /* pending rebinds overtaken by an immediate one */
  uint64_t measure_now;      /* MeasureNow published */
  uint64_t busy_retries;     /* rebinds asked again: DirectManager's mailbox was full */
  uint64_t last_rebind_ns;   /* runtime clock when the last reaction completed; 0: none */
} mrt_netmon_supervisor_stats;

MRT_MESSAGE_DECLARE(MRT_API, netmon_supervisor_stats, mrt_none, mrt_netmon_supervisor_stats);

#ifdef __cplusplus
}
#endif
#endif
