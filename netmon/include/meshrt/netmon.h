/* SPDX-License-Identifier: MIT */
/* meshrt — link-change monitors.
 *
 * A link monitor (mrt_link_monitor) is an interface with several
 * implementations: manual (the host or a test triggers changes), no-op (never
 * delivers), and Linux netlink (rtnetlink through libmnl). Watching a monitor
 * starts a watcher actor that folds raw changes with a debouncer — a trailing
 * settle (default 250 ms) capped by a max wait from the first pending change
 * (default 1 s) — and tells the target actor one mrt_msg_link_change per
 * coalesced burst, with the OR of the raw changes' flags, their count, and
 * the individual changes in order (at most MRT_LINK_CHANGE_LIST_MAX listed,
 * the rest counted: a storm costs bounded memory).
 *
 * Endings: when the raw source closes, a pending change is flushed first; on
 * runtime shutdown the watcher exits at once without flushing; destroying the
 * watch handle stops the watcher and nothing is told to the target after
 * mrt_link_watch_destroy returns. All timing runs on runtime timers, so the
 * virtual clock drives it in tests.
 *
 * Threads: monitors may be created, triggered and freed from any thread;
 * watch/unwatch from any thread.
 */
#ifndef MESHRT_NETMON_H
#define MESHRT_NETMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <meshrt/export.h>
#include <meshrt/link_change.h>
#include <meshrt/message.h>
#include <meshrt/send.h>
#include <meshrt/timer.h>
#include <meshrt/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The message a target receives: payload mrt_link_change, which owns its
 * `changes` (the type's drop hook frees them after the handler returns; a
 * handler that keeps them copies, e.g. with mrt_link_change_copy). */
MRT_MESSAGE_DECLARE(MRT_API, link_change, mrt_link_change, mrt_none);

typedef struct mrt_debounce_config {
  uint64_t settle_ns;   /* 0: 250 ms */
  uint64_t max_wait_ns; /* 0: 1 s */
} mrt_debounce_config;

#define MRT_DEBOUNCE_SETTLE_DEFAULT MRT_MS(250)
#define MRT_DEBOUNCE_MAX_WAIT_DEFAULT MRT_SEC(1)

typedef struct mrt_link_monitor mrt_link_monitor;
typedef struct mrt_link_watch mrt_link_watch;

/* Starts delivering coalesced mrt_msg_link_change messages to `target` (whose
 * class must handle mrt_msg_link_change). `cfg` may be NULL for defaults.
 * *out receives the handle, which the caller owns and ends with
 * mrt_link_watch_destroy; the watch holds references to the monitor and the
 * target while it runs (the caller's stay the caller's). Any thread,
 * including handlers; the OS source is opened in the call, so its error is
 * the caller's. Returns 0, -EINVAL, -ENOTSUP (target does not handle the
 * type), -EALREADY (a monitor that supports one watch is already watched),
 * -ESHUTDOWN, -ENOMEM, or the error of opening the OS source (e.g. -EPERM,
 * -EPROTONOSUPPORT): a caller can degrade to the no-op monitor on any error. */
MRT_API int mrt_link_monitor_watch(mrt_link_monitor *m, mrt_runtime *rt, mrt_ref *target,
                                   const mrt_debounce_config *cfg, mrt_link_watch **out);

/* Stops the watcher; nothing is told to the target after this returns.
 * NULL-safe. Any thread except the watcher's own context. */
MRT_API void mrt_link_watch_destroy(mrt_link_watch *w);

/* The monitor's name ("manual", "noop", "netlink"): a static string; "?" for
 * NULL. Any thread. */
MRT_API const char *mrt_link_monitor_name(const mrt_link_monitor *m);

/* Drops the caller's monitor. It is freed once its watches have ended too
 * (a watcher keeps its monitor until it has fully stopped), so freeing right
 * after mrt_link_watch_destroy, or while a watch runs, is safe. NULL-safe;
 * returns NULL. Any thread. */
MRT_API mrt_link_monitor *mrt_link_monitor_free(mrt_link_monitor *m);

/* ---- manual ---------------------------------------------------------------- */

#define MRT_MANUAL_MONITOR_SLOTS 16

/* Creates a manual monitor (one watch at a time; changes come from the
 * trigger functions below) with one reference in *out, which the caller
 * drops with mrt_link_monitor_free. Returns 0, -EINVAL (NULL out), -ENOMEM.
 * Any thread. */
MRT_API int mrt_manual_monitor_new(mrt_link_monitor **out);
/* Queues one raw change (flags: MRT_LINK_CHANGE_*) that lists no individual
 * change. Returns false if the 16-slot raw queue is full or the monitor is
 * closed (or m is NULL). Raw changes queued before a watch starts are
 * delivered once it does. Any thread. */
MRT_API bool mrt_manual_monitor_trigger(mrt_link_monitor *m, uint32_t flags);
/* Queues one raw change that says where: `item` (copied) names the
 * interface, address or default route, and its flags (exactly one of
 * LINK_UP, LINK_DOWN, ADDR_ADDED, ADDR_REMOVED, DEFAULT_ROUTE, optionally
 * RESYNC) are the raw change's flags. The coalesced event lists it. Returns
 * false for a NULL or malformed item, a full queue or a closed monitor. Any
 * thread. */
MRT_API bool mrt_manual_monitor_trigger_item(mrt_link_monitor *m, const mrt_link_change_item *item);
/* Closes the raw source: a pending change is flushed, then the watcher ends.
 * Later triggers return false. Idempotent. Any thread. */
MRT_API void mrt_manual_monitor_close(mrt_link_monitor *m);

/* ---- no-op ----------------------------------------------------------------- */

/* A monitor whose watches succeed and never deliver (any number of them),
 * with one reference in *out (drop it with mrt_link_monitor_free). Returns 0,
 * -EINVAL (NULL out), -ENOMEM. Any thread. */
MRT_API int mrt_noop_monitor_new(mrt_link_monitor **out);

/* ---- Linux netlink ---------------------------------------------------------- */

typedef struct mrt_netlink_monitor_config {
  /* Interfaces the host calls its own (e.g. its tunnel): exact names, or
   * prefixes ending in '*' ("tailscale*"). NULL-terminated; copied. */
  const char *const *ignored_interfaces;
  int rcvbuf_bytes; /* socket receive buffer; 0: 4 MiB */
  /* Optional: called in the watcher's context for every raw netlink change
   * that passed the filters (for tools that print raw events). `raw` is
   * borrowed for the call: its flags, raw_events 1, and the changes it made
   * (bounded like an event's). `what` is "notification", or "resync" for
   * the differences a re-dump after lost notifications found. */
  void (*on_raw)(const mrt_link_change *raw, const char *what, void *ud);
  void *on_raw_ud;
} mrt_netlink_monitor_config;

/* Creates the netlink monitor (one watch at a time) with one reference in
 * *out (drop it with mrt_link_monitor_free). `cfg` may be NULL; the ignored
 * names are copied, `on_raw` and its ud are borrowed and must outlive the
 * monitor's watches. Opening the socket is deferred to watch(), whose error
 * says why it failed. Any thread. Returns 0, -EINVAL (NULL out, a negative
 * rcvbuf_bytes, a bad ignore pattern), -ENOMEM, or -ENOTSUP when meshrt was
 * built without the network_monitor feature. */
MRT_API int mrt_netlink_monitor_new(const mrt_netlink_monitor_config *cfg, mrt_link_monitor **out);

/* Counters of a monitor: `events` for every kind, the rest for netlink only
 * (zero for other kinds). Any thread. */
typedef struct mrt_netlink_monitor_stats {
  uint64_t messages;   /* netlink messages parsed */
  uint64_t malformed;  /* skipped as malformed or truncated */
  uint64_t raw_events; /* interesting raw changes */
  uint64_t resyncs;    /* ENOBUFS recoveries */
  uint64_t events;     /* coalesced events told */
} mrt_netlink_monitor_stats;
/* Fills *out (caller's storage; zeroed first) with the monitor's counters:
 * relaxed reads, a snapshot. A NULL m gives zeros; a NULL out does nothing.
 * Any thread. */
MRT_API void mrt_link_monitor_get_stats(mrt_link_monitor *m, mrt_netlink_monitor_stats *out);

/* What a watched netlink monitor believes the system looks like, as text the
 * caller frees: one line per address, sorted, "IFNAME FAMILY ADDRESS/PREFIX"
 * (FAMILY is inet or inet6), then "default4 IFNAME" / "default6 IFNAME" lines.
 * From a host thread (it asks the watcher). Returns 0, -ENOTSUP (not a
 * netlink monitor), -ESRCH (not watched), -ENOMEM, or an ask error. */
MRT_API int mrt_link_monitor_describe(mrt_link_monitor *m, char **text_out);

#ifdef __cplusplus
}
#endif
#endif
