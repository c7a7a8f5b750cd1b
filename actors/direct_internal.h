/* SPDX-License-Identifier: MIT */
/* meshrt — DirectManager internals shared by its files (not installed).
 *
 *   udp.h / udp.c     UDP socket: bind with fallbacks, batched receive, send,
 *                     address helpers (shared with the STUN responder)
 *   direct_paths.c    the peer table: merging peer maps, ping policy, pong
 *                     handling and the best-path rule, trust, status
 *   direct_stun.c     STUN client: servers, sweeps, responses, reflexive set,
 *                     prober delay, endpoint advertisement
 *   direct_learn.c    learned candidates: from the peer's authenticated pings
 *                     (after a challenge) and its endpoint updates
 *   direct_updates.c  telling peers our endpoints: rate-limited, replay-
 *                     protected endpoint updates
 *   direct.c          the actor: lifecycle, timers, handlers, read path, rebind
 *
 * Threading: everything here runs in the DirectManager's context only.
 */
#ifndef MESHRT_DIRECT_INTERNAL_H
#define MESHRT_DIRECT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <meshrt/direct.h>
#include <meshrt/meshrt.h>
#include <meshrt/stun.h>

#include "stun_table.h"
#include "udp.h"

#define MRT__LOG "direct"

/* ---- DirectManager state -------------------------------------------------- */

typedef struct mrt__cand {
  struct sockaddr_storage addr; /* normalised */
  uint32_t tag;                 /* unique per actor: names it in the pending table */
  bool pinged;
  uint64_t last_ping_ns;
  bool confirmed;
  uint64_t last_pong_ns;
  uint64_t rtt_ns;
  uint64_t pings_sent, pongs_received;
  bool learned;                 /* not in the peer map: the peer's traffic taught it */
  bool listed;                  /* named by the peer's latest endpoint update */
  uint64_t last_heard_ns;       /* last authenticated word from or about it (eviction order) */
  uint64_t last_answer_ping_ns; /* last ping sent because the peer pinged from it */
} mrt__cand;

/* A source the peer pinged us from that is not a candidate yet: we pinged it
 * back (a challenge) and make it a candidate when that ping is answered. */
#define MRT__PROBATION_MAX 8
typedef struct mrt__probation {
  struct sockaddr_storage addr;
  uint32_t tag;     /* of the challenge ping in the pending table */
  uint64_t sent_ns; /* 0: a free slot */
} mrt__probation;

typedef struct mrt__peer {
  uint64_t id;
  mrt_probe_session session; /* holds the peer's key */
  size_t n_cands;
  mrt__cand *cands;
  int best; /* index into cands, -1: none */
  uint64_t best_rtt_ns;
  uint64_t trust_until_ns;
  bool full_pinged; /* every candidate pinged at last_full_ping_ns */
  uint64_t last_full_ping_ns;
  mrt_probe_pending pending;
  mrt_probe_seen seen;
  size_t cap_cands; /* allocated slots of cands */
  size_t n_learned;
  mrt__probation probation[MRT__PROBATION_MAX];
  uint64_t stranger_window_ns; /* answers to non-candidate sources: this second's */
  uint32_t stranger_answers;
  /* Endpoint updates we receive: the highest (epoch, seq) accepted. */
  uint64_t heard_epoch, heard_seq;
  bool best_unlisted; /* the latest update did not name our best path */
  uint64_t updates_received;
  /* Endpoint updates we send. */
  bool update_due; /* our endpoints changed since we last told the peer */
  bool update_ever_sent;
  uint64_t update_sent_ns;
  /* Recovery after our own rebind. */
  uint64_t rebind_at_ns; /* 0: not waiting for a confirmation */
  uint64_t reconfirm_ns; /* rebind -> first confirmation, the latest measured */
  uint64_t reconfirms;   /* how many were measured */
} mrt__peer;

typedef struct mrt__stun_tx {
  bool live;
  mrt_stun_txid txid;
  struct sockaddr_storage server;
  uint64_t sent_ns;
} mrt__stun_tx;

typedef struct mrt__waiter {
  uint64_t peer_id;
  uint64_t seq; /* names it to its timeout timer */
  uint64_t timer;
  mrt_reply *reply; /* deferred token */
} mrt__waiter;

typedef struct mrt__direct {
  mrt_actor *self; /* borrowed; used only in the actor's own context */
  mrt_direct_config cfg;
  mrt__udp sock;
  uint64_t watch; /* mrt_io_watch id of sock.fd (0: none) */
  uint64_t generation;
  mrt__rx *rx;

  mrt__peer *peers; /* sorted by key (the receive path looks up by key) */
  size_t n_peers;
  bool have_peer_map;
  uint32_t next_tag;

  mrt_derp_map *derp; /* a reference, or NULL */
  struct sockaddr_storage *stun_servers;
  size_t n_stun_servers;
  mrt__stun_table stun_stats; /* per-server counters, follows the DERP map */
  size_t stun_next;           /* first server of the next sweep (rotates) */
  mrt__stun_tx stun_tx[MRT_DIRECT_MAX_STUN_IN_FLIGHT];
  struct sockaddr_storage reflexive[MRT_DIRECT_MAX_REFLEXIVE]; /* oldest first */
  size_t n_reflexive;
  /* Addresses one peer saw us at, waiting for a second to agree. */
  struct {
    struct sockaddr_storage addr;
    uint64_t peer_id;
    bool used;
  } observed[MRT_DIRECT_MAX_REFLEXIVE];
  size_t observed_next;

  uint64_t refresh_timer; /* 0: none armed */
  uint64_t refresh_at_ns;
  uint64_t last_stun_delay_ns, next_stun_ns, last_stun_sweep_ns;
  mrt_endpoint_advertisement advertised;
  uint64_t update_epoch; /* wall clock at start (ns): the epoch of our updates */
  uint64_t update_seq;   /* the last sequence number sealed */
  uint64_t update_timer; /* one-shot for rate-limited updates; 0: none */
  uint64_t update_at_ns;
  mrt_port_outcome port_outcome; /* of the latest bind */
  int port_error;                /* why the port changed, when it did */
  uint16_t previous_port;        /* before the latest rebind */

  mrt__waiter *waiters; /* direct_ping_peer asks awaiting a pong */
  size_t n_waiters, cap_waiters;
  uint64_t next_waiter_seq;

  mrt_direct_counters c;
} mrt__direct;

static inline bool mrt__direct_inert(const mrt__direct *d) {
  return d->sock.fd < 0;
}

/* ---- peers and paths (direct_paths.c) --------------------------------------- */

/* Replaces the peer table with `map` (NULL: empty), keeping the state of
 * peers and candidates that persist. Returns 0 or -ENOMEM (table unchanged). */
int mrt__paths_apply(mrt__direct *d, const mrt_peer_map *map, uint64_t now);
void mrt__paths_free(mrt__direct *d);
mrt__peer *mrt__paths_by_key(mrt__direct *d, const uint8_t key[MRT_PROBE_KEY_LEN]);
mrt__peer *mrt__paths_by_id(mrt__direct *d, uint64_t id);
/* The best path if it is trusted at `now`, else NULL. */
const mrt__cand *mrt__paths_trusted(const mrt__peer *p, uint64_t now);

/* One pinger pass: expire pings, drop lapsed trust, ping what is due. */
void mrt__paths_ping_due(mrt__direct *d, uint64_t now);
/* Pings every candidate of every peer (or of `only`), ignoring the rate. */
void mrt__paths_ping_all(mrt__direct *d, mrt__peer *only, uint64_t now);
/* When the next trusted best path needs its refresh ping (UINT64_MAX: none). */
uint64_t mrt__paths_next_refresh(const mrt__direct *d);
/* Rebind: forget best paths, trust and in-flight pings; keep candidates. */
void mrt__paths_invalidate(mrt__direct *d);
/* A probe datagram from `src`. */
void mrt__paths_on_probe(mrt__direct *d, const uint8_t *buf, size_t len,
                         const struct sockaddr_storage *src, uint64_t now);
/* Fills the peer part of a status (allocates s->peers). Returns 0 or -ENOMEM. */
int mrt__paths_status(const mrt__direct *d, uint64_t now, mrt_direct_status *s);
/* Sends one ping to `to` for candidate or challenge `tag`. Returns true if
 * it left (then it is pending). */
bool mrt__paths_send_ping(mrt__direct *d, mrt__peer *p, const struct sockaddr_storage *to,
                          uint32_t tag, uint64_t now);
/* Pings candidate `c` of `p` (bookkeeping included). */
void mrt__paths_ping_cand(mrt__direct *d, mrt__peer *p, mrt__cand *c, uint64_t now);
/* A pong confirmed candidate `idx` of `p` with round trip `rtt`. */
void mrt__paths_confirm(mrt__direct *d, mrt__peer *p, int idx, uint64_t rtt, uint64_t now);
int mrt__paths_find(const mrt__peer *p, const struct sockaddr_storage *addr);
/* After an endpoint update that no longer lists the best path: a listed
 * candidate confirmed within the trust window takes over at once. */
void mrt__paths_follow_update(mrt__direct *d, mrt__peer *p, uint64_t now);

/* ---- learned candidates (direct_learn.c) ---------------------------------- */

/* An authenticated, fresh ping of `p` came from `src`: remember the source
 * or challenge it, and re-confirm a path the ping shows is alive. */
void mrt__learn_from_ping(mrt__direct *d, mrt__peer *p, const struct sockaddr_storage *src,
                          uint64_t now);
/* Whether a fresh authenticated ping of `p` from `src` may be answered: from
 * a candidate always; from elsewhere a few a second per peer, since a ping
 * replayed from a spoofed source once it left the replay ring would
 * otherwise reflect a pong and a challenge at that source every time. */
bool mrt__learn_may_answer(mrt__direct *d, mrt__peer *p, const struct sockaddr_storage *src,
                           uint64_t now);
/* A pong answered challenge `tag`: returns the new candidate's index, or -1
 * if the tag names no challenge. */
int mrt__learn_challenge_answered(mrt__direct *d, mrt__peer *p, uint32_t tag, uint64_t now);
/* The index of `addr` among p's candidates, added as a learned one if new
 * (evicting the least recently heard learned candidate when full), or -1
 * (out of memory, or every learned slot holds the best path). */
int mrt__learn_candidate(mrt__direct *d, mrt__peer *p, const struct sockaddr_storage *addr,
                         uint64_t now);
/* An authenticated endpoint update of `p`. */
void mrt__learn_from_update(mrt__direct *d, mrt__peer *p, const mrt_probe_msg *m, uint64_t now);

/* ---- telling peers our endpoints (direct_updates.c) ----------------------- */

/* Our endpoint set changed: every peer we can reach is told (rate-limited). */
void mrt__updates_endpoints_changed(mrt__direct *d, uint64_t now);
/* Tells `p` our endpoints at the next allowed moment. */
void mrt__updates_due(mrt__direct *d, mrt__peer *p, uint64_t now);
/* Sends what is due now and arms the timer for what is held back. */
void mrt__updates_flush(mrt__direct *d, uint64_t now);

/* ---- the actor (direct.c) and its ask handlers (direct_query.c) ---------- */

/* A pong confirmed candidate `c` of `p`: answers direct_ping_peer waiters, re-arms
 * the refresh timer. */
void mrt__direct_path_confirmed(mrt__direct *d, mrt__peer *p, const mrt__cand *c, uint64_t rtt);
/* (Re)arms the one-shot timer for the earliest refresh ping that is due. */
void mrt__direct_arm_refresh(mrt_actor *self, mrt__direct *d);
/* Fails the direct_ping_peer waiters of peers no longer in the table. */
void mrt__direct_drop_orphan_waiters(mrt__direct *d);
mrt_sock_info mrt__direct_sock_info(const mrt__direct *d);

int mrt__direct_on_sock_info(mrt_actor *self, void *state, const void *payload, mrt_reply *r);
int mrt__direct_on_best_addrs(mrt_actor *self, void *state, const void *payload, mrt_reply *r);
int mrt__direct_on_path_latency(mrt_actor *self, void *state, const void *payload, mrt_reply *r);
int mrt__direct_on_peers_with_direct_path(mrt_actor *self, void *state, const void *payload,
                                          mrt_reply *r);
int mrt__direct_on_ping_peer(mrt_actor *self, void *state, const void *payload, mrt_reply *r);
int mrt__direct_on_state(mrt_actor *self, void *state, const void *payload, mrt_reply *r);
/* direct_stun_servers (in direct_stun.c). */
int mrt__direct_on_stun_servers(mrt_actor *self, void *state, const void *payload, mrt_reply *r);

/* ---- STUN and endpoints (direct_stun.c) ----------------------------------- */

/* Takes a new DERP map (NULL: none): caches its STUN servers. */
int mrt__stun_set_derp(mrt__direct *d, mrt_derp_map *map);
void mrt__stun_free(mrt__direct *d);
/* The sweep gate: a socket, a peer map with at least one peer, a DERP map. */
bool mrt__stun_gate_open(const mrt__direct *d);
/* A gated sweep. Fills *res (may be NULL). */
void mrt__stun_sweep(mrt__direct *d, uint64_t now, mrt_restun_result *res);
/* A STUN datagram from `src`. */
void mrt__stun_on_datagram(mrt__direct *d, const uint8_t *buf, size_t len,
                           const struct sockaddr_storage *src, uint64_t now);
/* Rebind: forget reflexive addresses and in-flight requests. */
void mrt__stun_reset(mrt__direct *d);
void mrt__stun_expire(mrt__direct *d, uint64_t now);
size_t mrt__stun_in_flight(const mrt__direct *d);
/* A uniform random delay in [min, max) (max <= min: min), microsecond grain. */
uint64_t mrt__stun_prober_delay(uint64_t min_ns, uint64_t max_ns);
/* Computes the sorted endpoint set; publishes it (and tells the peers) if it
 * changed. */
void mrt__endpoints_advertise(mrt__direct *d, mrt_actor *self);
/* Adds a reflexive address (STUN answer, or a peer's pong); true if new. */
bool mrt__stun_learn_reflexive(mrt__direct *d, const struct sockaddr_storage *addr);
/* Peer `peer_id`'s authenticated pong says it saw us at `addr`: a reflexive
 * address once a second peer agrees (or when no second peer could). True
 * if our endpoint set gained it. */
bool mrt__stun_observed(mrt__direct *d, uint64_t peer_id, const struct sockaddr_storage *addr,
                        uint64_t now);

#endif
