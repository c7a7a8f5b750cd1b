/* SPDX-License-Identifier: MIT */
/* meshrt — a node: DirectManager, DerpLatencyMeasurer and NetmonSupervisor
 * wired together under one supervisor.
 *
 * mrt_node_start() spawns one supervisor (one-for-one, <meshrt/supervisor.h>)
 * with these children, in this order:
 *   "direct"        DirectManager (<meshrt/direct.h>), permanent;
 *   "derp-latency"  DerpLatencyMeasurer (<meshrt/derp_latency.h>), permanent;
 *   "netmon"        NetmonSupervisor (<meshrt/netmon_supervisor.h>), only when
 *                   config.network_monitor is true; transient (it exits
 *                   normally on runtime shutdown and must not be restarted
 *                   then). It finds DirectManager through the supervisor, so
 *                   it follows DirectManager restarts.
 * The actors talk over the runtime's bus (<meshrt/node_msgs.h>); the node
 * publishes the config's DERP map and peer map there (retained) before the
 * children start.
 *
 * Mailboxes are bounded: DirectManager MRT_DIRECT_MAILBOX_CAPACITY (64),
 * DerpLatencyMeasurer MRT_DERP_LATENCY_MAILBOX_CAPACITY (32), NetmonSupervisor
 * MRT_NETMON_SUPERVISOR_MAILBOX_CAPACITY (16); their headers say why. An ask
 * into a full one fails at once with -EAGAIN (it never waits for room); bus
 * messages are delivered latest-value, so a full mailbox misses older maps
 * or MeasureNows (counted as dropped_full) but gets the newest when it has
 * room; a link change is held by its watcher until NetmonSupervisor has
 * room, and a RebindAndReprobe that DirectManager refused is asked again.
 * The supervisor's stop request falls back to a plain stop when the mailbox
 * is full, and runtime notices (DOWN, shutdown) skip the bound.
 *
 * The network monitor is opt-in. It is the netlink monitor unless the config
 * injects another one. When the config asks for the netlink monitor and meshrt
 * was built without the network_monitor feature, mrt_node_start() fails with
 * -ENOTSUP and an error log saying so, BEFORE any actor is spawned.
 *
 * Threading: mrt_node_start(), mrt_node_stop() and mrt_node_free() block on
 * asks (they drive a hand-driven runtime while they wait): call them from host
 * threads, never from actors (-EDEADLK). The other functions may be called
 * from any thread while the node exists.
 */
#ifndef MESHRT_NODE_H
#define MESHRT_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <meshrt/actor.h>
#include <meshrt/derp_latency.h>
#include <meshrt/derp_map.h>
#include <meshrt/direct.h>
#include <meshrt/export.h>
#include <meshrt/home_region.h>
#include <meshrt/netmon.h>
#include <meshrt/netmon_supervisor.h>
#include <meshrt/node_msgs.h>
#include <meshrt/probe.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The supervisor's child ids (for mrt_supervisor_child_ref and friends). */
#define MRT_NODE_CHILD_DIRECT "direct"
#define MRT_NODE_CHILD_DERP_LATENCY "derp-latency"
#define MRT_NODE_CHILD_NETMON "netmon"

/* Every timing constant of a node's actors. mrt_node_config_default() fills
 * the documented defaults; change single fields. */
typedef struct mrt_node_timing {
  mrt_direct_timing direct;        /* DirectManager: trust 6.5 s, pinger 2 s, STUN 20-26 s, ... */
  uint64_t report_deadline_ns;     /* latency round deadline: 5 s */
  uint64_t min_wait_ns;            /* latency round minimum wait: 250 ms */
  uint32_t min_results;            /*   with at least 3 results */
  uint64_t probe_timeout_ns;       /* one STUN request: 5 s */
  mrt_home_region_config home;     /* 5 min window, 10 ms, 2/3, 120 s */
  mrt_debounce_config debounce;    /* link changes: 250 ms settle, 1 s max wait */
  uint64_t min_rebind_interval_ns; /* 1 s */
  uint64_t rebind_timeout_ns;      /* RebindAndReprobe ask deadline: 5 s */
} mrt_node_timing;

typedef struct mrt_node_config {
  /* DirectManager's UDP socket: AF_UNSPEC (all zero) for the wildcard, else
   * an AF_INET/AF_INET6 address (its port field is ignored). */
  struct sockaddr_storage listen_addr;
  uint16_t listen_port; /* 0: ephemeral; else pinned (ephemeral if taken) */
  bool disable_ipv6;
  bool advertise_local; /* advertise interface addresses too (default true) */
  /* The node's key pair. All zero: one is generated at start and kept across
   * DirectManager restarts. */
  mrt_probe_keypair key;
  /* Borrowed; when set, a reference is published (retained) at start. */
  mrt_derp_map *derp_map;
  mrt_peer_map *peers;
  /* DerpLatencyMeasurer's socket (see mrt_derp_latency_config.listen_addr). */
  struct sockaddr_storage measure_addr;
  bool network_monitor; /* spawn NetmonSupervisor (default false) */
  /* Interfaces the netlink monitor ignores (exact names or "prefix*"),
   * NULL-terminated; copied at start. */
  const char *const *ignored_interfaces;
  /* An injected link monitor (borrowed: it must outlive the runtime's
   * shutdown). NULL: the node creates and owns a netlink monitor. */
  mrt_link_monitor *monitor;
  mrt_node_timing timing;
  uint64_t boot_timeout_ns; /* start waits this long for the children: 5 s */
} mrt_node_config;

typedef struct mrt_node mrt_node;

/* The defaults: wildcard, ephemeral port, IPv6 allowed, advertise_local, no
 * key (generated), no maps, no network monitor, the documented timing. By
 * value; owns nothing. Any thread. */
MRT_API mrt_node_config mrt_node_config_default(void);

/* True when meshrt was built with the network_monitor feature (the netlink
 * link monitor). Any thread. */
MRT_API bool mrt_node_network_monitor_available(void);

/* Starts a node on `rt` and waits until its actors started. *out receives the
 * node (free it with mrt_node_free). Returns 0, or
 *   -EINVAL   a NULL argument or an invalid config (logged, nothing spawned);
 *   -ENOTSUP  network_monitor without an injected monitor in a build without
 *             the network_monitor feature (logged, nothing spawned);
 *   -ETIMEDOUT / -ESRCH  the actors did not all start (the tree is stopped);
 *   -EDEADLK  called from an actor; -ENOMEM; -ESHUTDOWN.
 * Host thread. */
MRT_API int mrt_node_start(mrt_runtime *rt, const mrt_node_config *cfg, mrt_node **out);

/* Stops the supervisor tree (children in reverse start order) and waits for
 * it. Idempotent. Returns 0, or -ETIMEDOUT, -EINVAL, -EDEADLK. timeout_ns 0:
 * 30 s. Host thread. */
MRT_API int mrt_node_stop(mrt_node *node, uint64_t timeout_ns);

/* Frees the node. Call it after the runtime has shut down (mrt_runtime_shutdown
 * or the last mrt_runtime_unref): a link monitor's watcher ends asynchronously,
 * so the netlink monitor the node owns can only be freed safely then. Called
 * earlier, it stops the node and leaves that monitor allocated (logged)
 * rather than risk a use after free. NULL-safe; returns NULL. Host thread. */
MRT_API mrt_node *mrt_node_free(mrt_node *node);

/* The node's supervisor, and (below) its actors as started by mrt_node_start:
 * borrowed references, valid until mrt_node_free (take your own with
 * mrt_ref_ref to keep one longer); a restarted child has a new one: ask the
 * supervisor with mrt_supervisor_child_ref. NULL for NULL. Any thread. */
MRT_API mrt_ref *mrt_node_supervisor(const mrt_node *node);
/* DirectManager as started (borrowed, as above), or NULL for NULL.
 * Any thread. */
MRT_API mrt_ref *mrt_node_direct(const mrt_node *node);
/* DerpLatencyMeasurer as started (borrowed, as above), or NULL for
 * NULL. Any thread. */
MRT_API mrt_ref *mrt_node_derp_latency(const mrt_node *node);
/* NetmonSupervisor as started (borrowed, as above), or NULL for NULL or
 * when the network monitor is off. Any thread. */
MRT_API mrt_ref *mrt_node_netmon_supervisor(const mrt_node *node);

/* The link monitor NetmonSupervisor watches (borrowed), or NULL when the
 * network monitor is off. Any thread. */
MRT_API mrt_link_monitor *mrt_node_link_monitor(const mrt_node *node);

/* The node's public key (the key pair used by DirectManager). Returns 0 or
 * -EINVAL. Any thread. */
MRT_API int mrt_node_public_key(const mrt_node *node, uint8_t out[MRT_PROBE_KEY_LEN]);

/* Parses a DERP map (Tailscale's DERPMap JSON, see <meshrt/derp_map.h>) and,
 * if valid, publishes it to the node's actors. An invalid map is rejected
 * with a message naming the offending field in err (if not NULL) and in the
 * log, and the previous map stays in force. Returns 0, -EINVAL, -EBADMSG,
 * -ENOMEM. Any thread. */
MRT_API int mrt_node_set_derp_map_json(mrt_node *node, const char *json, size_t len, char *err,
                                       size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
