/* SPDX-License-Identifier: MIT */
/* meshrt — DirectManager: the UDP underlay socket, direct paths to peers, STUN.
 *
 * DirectManager is the actor that owns the node's UDP socket. It
 *   - binds the configured address and port (IPv6 dual-stack [::] first when
 *     the address is a wildcard and IPv6 is allowed, else 0.0.0.0); a pinned
 *     port that is taken falls back to an ephemeral one with a warning; if
 *     nothing binds, the actor is inert (relay-only): it answers every
 *     message without error and says so in mrt_sock_info.inert;
 *   - learns peers from the retained mrt_msg_peer_map_update bus message
 *     (<meshrt/node_msgs.h>), keeping at most MRT_DIRECT_MAX_CANDIDATES
 *     configured candidate endpoints per peer;
 *   - learns more candidates from the peer itself (at most
 *     MRT_DIRECT_MAX_LEARNED per peer; the least recently heard goes first,
 *     configured ones are never evicted): an authenticated, fresh ping from
 *     a source that is no candidate is answered there and challenged with a
 *     ping of ours, and the source becomes a candidate when that ping is
 *     answered (a replayed ping cannot answer, so it teaches nothing); an
 *     authenticated endpoint update (<meshrt/probe.h>) newer than any before
 *     adds the endpoints it lists and pings them at once, and lets a listed
 *     path replace a best path the update no longer lists;
 *   - tells peers its own endpoints: whenever the set changes (rebind, new
 *     interface or reflexive address), every peer with a trusted path or a
 *     candidate gets an endpoint update, at most one per peer per second
 *     (the latest set wins), to its trusted path or else every candidate;
 *   - takes the `observed` address of authenticated pongs as a reflexive
 *     endpoint, as a STUN answer, so a node behind NAT learns its public
 *     mapping from its peers: once two peers agree on it (or when only one
 *     peer has a path), so that a symmetric NAT's per-peer ports do not
 *     churn the endpoint set;
 *   - confirms paths with authenticated pings and pongs (<meshrt/probe.h>):
 *     the best path is the lowest-latency confirmed candidate and changes only
 *     for one at least 1 % faster; a confirmed path is trusted trust_ns
 *     (6.5 s) and refreshed refresh_before_ns (3.5 s) before that runs out;
 *     the background pinger (every 2 s) pings a candidate at most once per
 *     5 s (a never-pinged one always) and gives up on a ping after 5 s;
 *     forged, replayed, truncated or unauthenticated datagrams are counted
 *     and dropped and never change a path;
 *   - learns its reflexive addresses with STUN (RFC 5389) from the servers of
 *     the retained mrt_msg_derp_map_update: a sweep every 20-26 s (a fresh
 *     uniform random delay per cycle), only once there is a peer and a DERP
 *     map; at most 16 requests in flight (5 s expiry), 16 addresses kept;
 *   - every 5 s publishes mrt_msg_endpoint_advertisement when its sorted set
 *     of endpoints (reflexive, plus local interface addresses when
 *     advertise_local) changed.
 *
 * Messages (ask; tells are accepted too and the reply is dropped):
 *   direct_rebind          new socket on the same address and port (the pinned
 *                          listen_port first if we lost it), swapped in while the
 *                          old one is still open, so the port is never free for
 *                          another process to take and datagrams already queued
 *                          on the old socket are still read; an ephemeral port
 *                          only if that port cannot be had (direct_sock_info says which
 *                          and why). Clears reflexive addresses, every peer's
 *                          best path and in-flight pings (candidates are kept)
 *                          and in-flight STUN, then pings every candidate. On
 *                          failure the old socket stays and the error is
 *                          returned. Inert: tries to bind and leaves inert mode
 *                          on success; never an error.
 *   direct_rebind_and_reprobe
 *                          rebind, then ping every candidate, then one gated
 *                          STUN sweep, in that order, in one handler. If the
 *                          rebind fails the probing still runs on the old
 *                          socket and the rebind's error is returned.
 *   direct_restun          one gated STUN sweep now.
 *   direct_sock_info       the bound address and port.
 *   direct_best_addrs      every peer's best path that is trusted now.
 *   direct_path_latency    one peer's best path and its RTT.
 *   direct_peers_with_path ids of peers with a trusted path.
 *   direct_ping_peer       ping every candidate of one peer now and answer with
 *                          the first pong (-ETIMEDOUT after ping_timeout_ns,
 *                          -ENOENT unknown peer or one that leaves the peer
 *                          map meanwhile, -ENETDOWN when inert); like
 *                          direct_rebind_and_reprobe it is an explicit request
 *                          and is not held to the pinger's per-candidate rate.
 *   direct_state           everything above, for status output.
 *   direct_stun_servers    per STUN server of the DERP map: requests sent,
 *                          answers accepted, datagrams refused and the last
 *                          reason (<meshrt/stun_stats.h>); refusals are also
 *                          logged at debug level.
 *
 * Threading: spawn from any thread; talk to it with tell/ask from anywhere.
 * Its socket is watched on its executor's event loop (mrt_io_watch) and read
 * in batches (recvmmsg) in the actor's own context, so all of its state is
 * only ever touched there. Replies that own memory are freed by the asker
 * with the release functions below.
 */
#ifndef MESHRT_DIRECT_H
#define MESHRT_DIRECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <meshrt/actor.h>
#include <meshrt/export.h>
#include <meshrt/message.h>
#include <meshrt/node_msgs.h>
#include <meshrt/probe.h>
#include <meshrt/send.h>
#include <meshrt/stun_stats.h>
#include <meshrt/timer.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MRT_DIRECT_MAX_CANDIDATES 32 /* configured, per peer */
#define MRT_DIRECT_MAX_LEARNED 32    /* learned, per peer */
#define MRT_DIRECT_MAX_REFLEXIVE 16
#define MRT_DIRECT_MAX_STUN_IN_FLIGHT 16

/* The mailbox capacity a node gives DirectManager (mrt_node_start; pass it in
 * mrt_spawn_opts when spawning one yourself): the original design's default.
 * What arrives: asks from the node's observer (a state poll every 250 ms,
 * one at a time, and a socket check after each rebind), NetmonSupervisor's
 * RebindAndReprobe (one at a time, at most one per second), the control
 * socket's and metrics endpoint's asks (one service thread, one ask at a
 * time), peer and DERP maps on reloads, the supervisor's stop request: fewer
 * than eight at once in normal operation. Datagrams do NOT arrive here: the
 * socket is read by an I/O watch in the actor's context, so a datagram flood
 * is bounded by the kernel's socket buffer, not by this mailbox. The longest
 * handlers (direct_state or a rebind over 1,000 peers) take about a
 * millisecond, so 64 queued messages wait well under the 2-5 s deadlines of
 * the asks that queue behind them. What a full mailbox costs: asks fail at
 * once with -EAGAIN (status shows the socket unavailable, NetmonSupervisor
 * asks its rebind again 50 ms later), and maps, delivered latest-value
 * (<meshrt/node_msgs.h>), fold into the newest one, which arrives when there
 * is room. */
#define MRT_DIRECT_MAILBOX_CAPACITY 64u

/* Timing constants; mrt_direct_config_default() fills the documented values. */
typedef struct mrt_direct_timing {
  uint64_t trust_ns;             /* a confirmed path is trusted this long: 6.5 s */
  uint64_t refresh_before_ns;    /* re-ping the best path this long before expiry: 3.5 s */
  uint64_t ping_min_interval_ns; /* pinger: at most one ping per candidate per: 5 s */
  uint64_t ping_timeout_ns;      /* a ping not answered by then is dropped: 5 s */
  uint64_t good_enough_rtt_ns;   /* a best path this fast is not upgraded: 5 ms */
  uint64_t upgrade_interval_ns;  /* otherwise try all candidates this often: 60 s */
  uint64_t pinger_period_ns;     /* 2 s */
  uint64_t stun_min_ns;          /* STUN prober delay, uniform in [min, max): 20 s */
  uint64_t stun_max_ns;          /*   26 s */
  uint64_t stun_timeout_ns;      /* in-flight STUN entries expire: 5 s */
  uint64_t advert_period_ns;     /* endpoint advertisement check: 5 s */
} mrt_direct_timing;

typedef struct mrt_direct_config {
  /* Address to bind: AF_UNSPEC (all zero) for the wildcard, else an AF_INET
   * or AF_INET6 address (its port field is ignored). */
  struct sockaddr_storage listen_addr;
  uint16_t listen_port;  /* 0: ephemeral; else pinned (ephemeral if taken) */
  bool disable_ipv6;     /* wildcard: bind 0.0.0.0 only */
  bool advertise_local;  /* advertise interface addresses too (default true) */
  mrt_probe_keypair key; /* all zero: a fresh key pair is generated */
  mrt_direct_timing timing;
} mrt_direct_config;

/* The defaults: wildcard, ephemeral port, IPv6 allowed, advertise_local,
 * no key (generated), the documented timing. Any thread. */
MRT_API mrt_direct_config mrt_direct_config_default(void);

/* The actor class (args: an mrt_direct_config, copied), for supervisors'
 * child specs: a static descriptor, never NULL. on_start fails with -EINVAL
 * for an invalid config. Any thread. */
MRT_API const mrt_actor_class *mrt_direct_actor_class(void);

/* Validates `cfg` (NULL: the defaults; copied), configures the node's bus
 * types (mrt_node_bus_configure) and spawns a DirectManager; *out receives a
 * reference the caller owns. The socket is bound in on_start, on the actor's
 * executor; a bind failure leaves it inert, not failed. Returns 0, -EINVAL
 * (bad argument or config, logged), or mrt_actor_spawn's errors. Any thread. */
MRT_API int mrt_direct_spawn(mrt_runtime *rt, const mrt_direct_config *cfg,
                             const mrt_spawn_opts *opts, mrt_ref **out);

/* ---- replies ----------------------------------------------------------------- */

/* What the latest bind did with the port. */
typedef enum mrt_port_outcome {
  MRT_PORT_FIRST_BIND = 0, /* the socket the actor started with */
  MRT_PORT_KEPT,           /* a rebind kept the port */
  MRT_PORT_PINNED,         /* a rebind regained the pinned listen_port */
  MRT_PORT_CHANGED,        /* a rebind could not have the port: see port_error */
} mrt_port_outcome;

/* "kept", "pinned", "changed", "first bind". Any thread. */
MRT_API const char *mrt_port_outcome_name(mrt_port_outcome o);

typedef struct mrt_sock_info {
  bool inert;                    /* relay-only: no socket */
  bool dual_stack;               /* an IPv6 socket that also carries IPv4 */
  struct sockaddr_storage local; /* getsockname(); AF_UNSPEC when inert */
  uint16_t port;                 /* 0 when inert */
  uint64_t generation;           /* successful binds so far (1 after start) */
  uint16_t previous_port;        /* before the latest rebind (0: none) */
  mrt_port_outcome port_outcome; /* of the latest successful bind */
  int port_error;                /* MRT_PORT_CHANGED: why the port could not be had */
} mrt_sock_info;

typedef struct mrt_restun_result {
  uint32_t sent; /* binding requests sent by this sweep */
  bool gated;    /* no sweep: no peer, no DERP map, or inert */
} mrt_restun_result;

typedef struct mrt_best_addr {
  uint64_t peer_id;
  struct sockaddr_storage addr;
  uint64_t rtt_ns;
  uint64_t trust_until_ns; /* runtime clock */
} mrt_best_addr;

/* Owns `items` (malloc'd): release with mrt_best_addrs_release. */
typedef struct mrt_best_addrs {
  size_t n;
  mrt_best_addr *items;
} mrt_best_addrs;

typedef struct mrt_path_latency_req {
  uint64_t peer_id;
} mrt_path_latency_req;

typedef struct mrt_path_latency {
  bool known_peer;
  bool has_path; /* a trusted best path */
  uint64_t rtt_ns;
  struct sockaddr_storage addr;
} mrt_path_latency;

/* Owns `ids` (malloc'd, ascending): release with mrt_peer_ids_release. */
typedef struct mrt_peer_ids {
  size_t n;
  uint64_t *ids;
} mrt_peer_ids;

typedef struct mrt_ping_peer_req {
  uint64_t peer_id;
} mrt_ping_peer_req;

typedef struct mrt_ping_peer_result {
  uint64_t rtt_ns;
  struct sockaddr_storage addr; /* the candidate that answered first */
} mrt_ping_peer_result;

typedef struct mrt_direct_counters {
  uint64_t rx_datagrams, rx_batches, rx_oversize, rx_garbage;
  uint64_t tx_datagrams, tx_errors;
  uint64_t pings_sent, pings_received, pongs_sent, pongs_received;
  uint64_t probe_malformed;       /* bad framing, wrong size (truncated) */
  uint64_t probe_unknown_peer;    /* sender key not in the peer map */
  uint64_t probe_unauthenticated; /* MAC failed */
  uint64_t probe_replayed;        /* a ping or pong id seen before */
  uint64_t probe_stale;           /* a pong for no live ping (unknown or expired) */
  uint64_t ping_timeouts;
  uint64_t path_changes; /* a peer's best path changed (or was lost) */
  uint64_t stun_sent, stun_responses, stun_rejected, stun_expired;
  uint64_t stun_sweeps, stun_sweeps_gated, stun_cycles;
  uint64_t rebinds, rebind_failures, rebinds_port_kept;
  uint64_t adverts_published;
  uint64_t challenges_sent;    /* pings to a new source a peer pinged us from */
  uint64_t candidates_learned; /* from an answered challenge or an update */
  uint64_t candidates_evicted; /* learned ones, least recently heard first */
  uint64_t updates_sent, updates_received;
  uint64_t updates_replayed; /* not newer than the last accepted from that peer */
  uint64_t updates_rejected; /* authentic but unusable (no usable endpoint) */
  uint64_t observed_learned; /* reflexive addresses from peers' pongs */
  uint64_t pongs_withheld;   /* pings from non-candidate sources past 8/s per peer */
} mrt_direct_counters;

typedef struct mrt_direct_candidate_status {
  struct sockaddr_storage addr;
  bool pinged; /* pinged since the last rebind */
  uint64_t last_ping_ns;
  bool confirmed; /* answered since the last rebind */
  uint64_t last_pong_ns;
  uint64_t rtt_ns; /* latest round trip */
  uint64_t pings_sent, pongs_received;
  bool learned;           /* not configured: the peer taught it */
  uint64_t last_heard_ns; /* last authenticated traffic from or about it */
} mrt_direct_candidate_status;

typedef struct mrt_direct_peer_status {
  uint64_t id;
  uint8_t key[MRT_PROBE_KEY_LEN];
  bool has_path;                /* trusted best path now */
  struct sockaddr_storage best; /* AF_UNSPEC without a best path */
  uint64_t best_rtt_ns;
  uint64_t trust_until_ns;
  uint32_t pings_in_flight;
  size_t n_learned;          /* of n_candidates */
  uint64_t reconfirm_ns;     /* our last rebind -> the path confirmed again */
  uint64_t reconfirms;       /* how many such recoveries were measured */
  uint64_t updates_received; /* endpoint updates accepted from the peer */
  size_t n_candidates;
  mrt_direct_candidate_status candidates[MRT_DIRECT_MAX_CANDIDATES + MRT_DIRECT_MAX_LEARNED];
} mrt_direct_peer_status;

typedef struct mrt_direct_status {
  uint64_t now_ns; /* runtime clock when taken */
  mrt_sock_info sock;
  uint8_t public_key[MRT_PROBE_KEY_LEN];
  bool have_peer_map;
  bool have_derp_map;
  size_t n_stun_servers;
  size_t n_peers;
  mrt_direct_peer_status *peers; /* ascending id */
  size_t n_reflexive;
  struct sockaddr_storage reflexive[MRT_DIRECT_MAX_REFLEXIVE]; /* oldest first */
  size_t stun_in_flight;
  uint64_t last_stun_delay_ns;           /* the prober's current cycle length */
  uint64_t next_stun_ns;                 /* when that cycle ends */
  uint64_t last_stun_sweep_ns;           /* 0: never */
  mrt_endpoint_advertisement advertised; /* the last one published */
  mrt_direct_counters counters;
} mrt_direct_status;

/* Frees the `items` of a direct_best_addrs reply the asker owns (an mrt_ask_sync
 * reply; an async continuation only borrows its reply, which the type's drop
 * hook frees) and leaves it empty. NULL-safe. Any thread. */
MRT_API void mrt_best_addrs_release(mrt_best_addrs *b);
/* Frees the `ids` of a direct_peers_with_path reply the asker owns and leaves
 * it empty. NULL-safe. Any thread. */
MRT_API void mrt_peer_ids_release(mrt_peer_ids *ids);
/* Frees a direct_state reply (the status and its `peers` array). NULL-safe.
 * Any thread. */
MRT_API void mrt_direct_status_free(mrt_direct_status *s);

/* ---- messages ------------------------------------------------------------------ */

MRT_MESSAGE_DECLARE(MRT_API, direct_rebind, mrt_none, mrt_sock_info);
MRT_MESSAGE_DECLARE(MRT_API, direct_rebind_and_reprobe, mrt_none, mrt_sock_info);
MRT_MESSAGE_DECLARE(MRT_API, direct_restun, mrt_none, mrt_restun_result);
MRT_MESSAGE_DECLARE(MRT_API, direct_sock_info, mrt_none, mrt_sock_info);
MRT_MESSAGE_DECLARE(MRT_API, direct_best_addrs, mrt_none, mrt_best_addrs);
MRT_MESSAGE_DECLARE(MRT_API, direct_path_latency, mrt_path_latency_req, mrt_path_latency);
MRT_MESSAGE_DECLARE(MRT_API, direct_peers_with_path, mrt_none, mrt_peer_ids);
MRT_MESSAGE_DECLARE(MRT_API, direct_ping_peer, mrt_ping_peer_req, mrt_ping_peer_result);
/* The reply is a status the asker owns: free it with mrt_direct_status_free. */
MRT_MESSAGE_DECLARE(MRT_API, direct_state, mrt_none, mrt_direct_status *);
/* The reply owns its array: release it with mrt_stun_server_list_release. */
MRT_MESSAGE_DECLARE(MRT_API, direct_stun_servers, mrt_none, mrt_stun_server_list);

#ifdef __cplusplus
}
#endif
#endif
