/* SPDX-License-Identifier: MIT */
/* meshrt — interface-state snapshot fed by rtnetlink messages (private).
 *
 * The Linux link monitor keeps one snapshot of what the kernel told it:
 * interfaces by ifindex (name, up/carrier, loopback, ignored), the addresses
 * of each interface, and the IPv4/IPv6 default routes of the main table. Every
 * received netlink buffer is applied to it, and the apply reports which
 * *interesting* facts changed as MRT_LINK_CHANGE_* flags and, when asked, as
 * a bounded list of the individual changes (which interface went down, which
 * address was removed, where the default route went). This module does no
 * I/O: the caller owns the socket and hands over each recv() buffer.
 *
 * Interesting, precisely:
 *  - An interface is interesting when its link message has been seen, it is
 *    not a loopback device and its name matches no ignore pattern.
 *  - Its usability level is 0 (admin down), 1 (admin up, no carrier: IFF_UP
 *    without IFF_RUNNING) or 2 (IFF_UP and IFF_RUNNING). A rise is LINK_UP, a
 *    fall LINK_DOWN; an interesting interface appearing above level 0 is
 *    LINK_UP, one vanishing (deleted, renamed to an ignored name) is LINK_DOWN.
 *  - An address is routable unless it is unspecified, loopback (127/8, ::1),
 *    link-local (169.254/16, fe80::/10) or multicast (224/4, ff00::/8). Adding
 *    or removing a routable address of an interesting interface is
 *    ADDR_ADDED / ADDR_REMOVED; a repeated RTM_NEWADDR changes nothing.
 *  - The default-route interface of a family is the output interface of the
 *    lowest-metric unicast default route (dst/src length 0) in the main table
 *    whose interface is interesting and admin up; ties go to the lowest
 *    ifindex so the choice never depends on message order. Its change (also
 *    to or from "none") is DEFAULT_ROUTE. Routes of other tables and all
 *    non-default routes (multicast, link-local, prefix routes) are ignored.
 *
 * Ignore patterns (mrt__link_snapshot_set_ignored): "tailscale0" matches that
 * exact name; a trailing '*' makes a prefix rule, "wg*" matches "wg0" and
 * "wg-home"; a lone "*" ignores everything. '*' is allowed only at the end.
 *
 * Resynchronisation after ENOBUFS (also the recommended way to do the initial
 * dump): call begin_resync, request dumps of links, addresses and routes (one
 * at a time, in that order), pass every received buffer to apply as usual, and
 * once resync_dumps_done() reaches the number of dumps requested, call
 * finish_resync. While a resync is active, apply routes dump replies
 * (NLM_F_MULTI) only into a fresh pending snapshot and applies live
 * notifications to both, so the final diff shows exactly what was lost;
 * finish_resync swaps the pending state in and reports the interesting
 * differences plus MRT_LINK_CHANGE_RESYNC, or 0 if nothing interesting
 * differed (uninteresting differences, such as a lost link-local address,
 * are still corrected). For the initial dump the reported flags describe the
 * whole initial state and are best ignored.
 *
 * Errors: negative errno. Malformed netlink data never changes state and is
 * counted (stats.malformed); apply then returns -EBADMSG after applying every
 * well-formed message of the buffer. Threading: none — a snapshot belongs to
 * the monitor and is used from one thread at a time.
 */
#ifndef MESHRT_NETMON_LINK_SNAPSHOT_H
#define MESHRT_NETMON_LINK_SNAPSHOT_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <meshrt/link_change.h>

#include "change_list.h"

typedef struct mrt__link_snapshot mrt__link_snapshot;

/* One address as reported by mrt__link_snapshot_foreach_addr. Pointers are
 * valid only during the callback. */
typedef struct mrt__link_addr_info {
  int ifindex;
  const char *ifname; /* "" while the interface's link message is unseen */
  int family;         /* AF_INET or AF_INET6 */
  uint8_t prefixlen;
  uint8_t addr[16]; /* network byte order; AF_INET uses the first 4 */
  bool routable;    /* by address class alone, see above */
  bool interesting; /* routable and on an interesting interface */
} mrt__link_addr_info;

typedef struct mrt__link_iface_info {
  int ifindex;
  char name[IFNAMSIZ]; /* "" while the link message is unseen */
  bool known;          /* a link message was seen */
  bool up;             /* IFF_UP */
  bool running;        /* IFF_RUNNING (carrier) */
  bool loopback;       /* IFF_LOOPBACK */
  bool ignored;        /* name matches an ignore pattern */
  size_t naddrs;
} mrt__link_iface_info;

typedef struct mrt__link_stats {
  uint64_t messages;         /* netlink messages accepted (any type) */
  uint64_t malformed;        /* messages or buffer tails skipped as malformed */
  uint64_t errors;           /* NLMSG_ERROR / NLMSG_DONE with an error code */
  uint64_t dump_interrupted; /* messages flagged NLM_F_DUMP_INTR */
  int last_error;            /* last such error code (negative errno), or 0 */
} mrt__link_stats;

/* finish_resync's positive result: a dump was flagged as interrupted
 * (NLM_F_DUMP_INTR), ended with an error or was refused, so the state is
 * applied but may be stale or incomplete; resync again. */
#define MRT__LINK_RESYNC_INCONSISTENT 1

/* Create an empty snapshot owned by the caller. -EINVAL, -ENOMEM. */
int mrt__link_snapshot_new(mrt__link_snapshot **out);

/* Free a snapshot and any pending resync. NULL-safe. */
void mrt__link_snapshot_free(mrt__link_snapshot *snap);

/* Replace the ignore patterns (copied) and re-evaluate every interface.
 * Interesting changes caused by the new rules are OR-ed into *flags_out
 * (may be NULL). -EINVAL for a bad pattern (empty, longer than IFNAMSIZ-1
 * name characters, '*' not last) or more than 256 patterns; on error the old
 * rules stay. */
int mrt__link_snapshot_set_ignored(mrt__link_snapshot *snap, const char *const *patterns,
                                   size_t npatterns, uint32_t *flags_out);

/* Apply one received buffer (one or more netlink messages). `buf` must be
 * 4-byte aligned, as any recv() buffer declared with an integer type is.
 * Interesting changes are OR-ed into *flags_out (may be NULL) and appended to
 * *changes_out (may be NULL; bounded, see change_list.h), also when an error
 * is returned. During a resync, changes to the pending snapshot alone are
 * not reported. Returns the number of messages accepted, or -EINVAL (bad
 * argument), -ENOMEM (allocation or capacity limit; state may now lag the
 * kernel, so resync), -EBADMSG (some data was malformed and skipped), or the
 * negative errno of an NLMSG_ERROR/NLMSG_DONE error code, in that order of
 * precedence. NLMSG_NOOP, ACKs and unknown message types are accepted and
 * ignored; unknown attributes are skipped. */
int mrt__link_snapshot_apply(mrt__link_snapshot *snap, const void *buf, size_t len,
                             uint32_t *flags_out, mrt__link_changes *changes_out);

/* Start (or restart) a resynchronisation into a fresh pending snapshot.
 * -EINVAL, -ENOMEM. */
int mrt__link_snapshot_begin_resync(mrt__link_snapshot *snap);

/* Whether a resync is active. */
bool mrt__link_snapshot_resyncing(const mrt__link_snapshot *snap);

/* Dumps ended since begin_resync: NLMSG_DONE messages, plus NLMSG_ERROR
 * replies carrying an error (a refused dump request; this also makes the
 * resync inconsistent). -EINVAL when no resync is active. */
int mrt__link_snapshot_resync_dumps_done(const mrt__link_snapshot *snap);

/* Replace the state with the pending snapshot. *flags_out (may be NULL)
 * receives the interesting differences OR MRT_LINK_CHANGE_RESYNC, or 0 when
 * nothing interesting differed; the differences themselves, each flagged
 * RESYNC, are appended to *changes_out (may be NULL). Returns 0,
 * MRT__LINK_RESYNC_INCONSISTENT, or -EINVAL when no resync is active. */
int mrt__link_snapshot_finish_resync(mrt__link_snapshot *snap, uint32_t *flags_out,
                                     mrt__link_changes *changes_out);

/* Drop a pending resync, if any. */
void mrt__link_snapshot_abort_resync(mrt__link_snapshot *snap);

/* *flags_out receives the interesting changes going from `from` to `to`
 * (each side judged by its own ignore rules), and *changes_out (may be NULL)
 * gets them appended one by one: interfaces in ifindex order, then removed
 * and added addresses, then default routes. -EINVAL on NULL `from`, `to` or
 * `flags_out`. */
int mrt__link_snapshot_diff(const mrt__link_snapshot *from, const mrt__link_snapshot *to,
                            uint32_t *flags_out, mrt__link_changes *changes_out);

/* Full state equality: interfaces (index, name, flags, ignored), address sets
 * and default routes; counters, rules and pending resyncs are not compared. */
bool mrt__link_snapshot_equal(const mrt__link_snapshot *a, const mrt__link_snapshot *b);

/* Call cb for every address, in no particular order; the snapshot must not
 * change during the walk. Stops at the first non-zero return and returns it;
 * 0 after a full walk; -EINVAL on NULL. */
int mrt__link_snapshot_foreach_addr(const mrt__link_snapshot *snap,
                                    int (*cb)(const mrt__link_addr_info *info, void *arg),
                                    void *arg);

/* Number of addresses over all interfaces (0 for NULL). */
size_t mrt__link_snapshot_addr_count(const mrt__link_snapshot *snap);

/* Describe interface `ifindex`. -EINVAL, -ENOENT. */
int mrt__link_snapshot_iface(const mrt__link_snapshot *snap, int ifindex,
                             mrt__link_iface_info *out);

/* The default-route interface of AF_INET or AF_INET6: ifindex, 0 for none,
 * -EINVAL for a bad argument. */
int mrt__link_snapshot_default_ifindex(const mrt__link_snapshot *snap, int family);

/* Copy the counters. Zeroes *out for a NULL snapshot. */
void mrt__link_snapshot_get_stats(const mrt__link_snapshot *snap, mrt__link_stats *out);

#endif
