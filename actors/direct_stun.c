/* SPDX-License-Identifier: MIT */
/* meshrt — DirectManager's STUN client and endpoint advertisement.
 *
 * Peers behind NAT can only reach us at the address our NAT shows the world,
 * which only a STUN server can tell us. A sweep sends one RFC 5389 Binding
 * request (random 96-bit transaction id, SOFTWARE, FINGERPRINT) to every
 * STUN server of the DERP map, at most MRT_DIRECT_MAX_STUN_IN_FLIGHT at a
 * time; a response counts only if it answers a transaction still in flight
 * (entries expire after stun_timeout_ns), so nobody can plant an address by
 * spraying responses. The last MRT_DIRECT_MAX_REFLEXIVE addresses learned are
 * kept, oldest evicted first. Per server, what was sent, accepted and refused
 * (with the last reason) is counted for status output (stun_table.c).
 *
 * Sweeps are gated: only with a socket, a loaded peer map with at least one
 * peer (nobody to tell our address otherwise) and a DERP map. The prober's
 * cycle length is a fresh uniform draw each time, so nodes that booted
 * together do not hit the servers in lockstep.
 *
 * The advertisement is the sorted set of our endpoints (reflexive addresses,
 * plus interface addresses with our port when advertise_local); it is
 * published only when it changed, so control is not spammed every 5 s.
 *
 * Threading: called only from the DirectManager's context.
 */
#include "direct_internal.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static void stun_servers_drop(void *r) {
  mrt_stun_server_list_release(r);
}

MRT_MESSAGE_DEFINE(direct_stun_servers, mrt_none, mrt_stun_server_list, NULL, stun_servers_drop);

/* ---- servers ------------------------------------------------------------------------- */

static void drop_servers(mrt__direct *d) {
  d->derp = mrt_derp_map_unref(d->derp);
  free(d->stun_servers);
  d->stun_servers = NULL;
  d->n_stun_servers = 0;
}

void mrt__stun_free(mrt__direct *d) {
  drop_servers(d);
  mrt__stun_table_free(&d->stun_stats);
}

int mrt__stun_set_derp(mrt__direct *d, mrt_derp_map *map) {
  struct sockaddr_storage *servers = NULL;
  int n = 0;
  if (map != NULL) {
    /* Both families: what the socket cannot reach is skipped per sweep, so
     * a rebind that changes the socket's family needs no recomputation. */
    n = mrt_derp_map_stun_servers(map, AF_UNSPEC, NULL, 0);
    if (n < 0)
      return n;
    servers = calloc(n > 0 ? (size_t)n : 1, sizeof *servers);
    if (servers == NULL)
      return -ENOMEM;
    n = mrt_derp_map_stun_servers(map, AF_UNSPEC, servers, (size_t)n);
    if (n < 0) {
      free(servers);
      return n;
    }
  }
  /* The same servers in the same order; counters of servers that stay are
   * kept. */
  if (mrt__stun_table_load(&d->stun_stats, map, AF_UNSPEC) < 0) {
    free(servers);
    return -ENOMEM;
  }
  drop_servers(d);
  d->derp = mrt_derp_map_ref(map);
  d->stun_servers = servers;
  d->n_stun_servers = (size_t)n;
  d->stun_next = 0;
  mrt_log(MRT_LOG_INFO, MRT__LOG, "derp map %s stun_servers=%d", map ? "loaded" : "cleared", n);
  return 0;
}

/* ---- sweeps ---------------------------------------------------------------------------- */

bool mrt__stun_gate_open(const mrt__direct *d) {
  return !mrt__direct_inert(d) && d->have_peer_map && d->n_peers > 0 && d->derp != NULL;
}

size_t mrt__stun_in_flight(const mrt__direct *d) {
  size_t n = 0;
  for (size_t i = 0; i < MRT_DIRECT_MAX_STUN_IN_FLIGHT; i++)
    n += d->stun_tx[i].live;
  return n;
}

void mrt__stun_expire(mrt__direct *d, uint64_t now) {
  for (size_t i = 0; i < MRT_DIRECT_MAX_STUN_IN_FLIGHT; i++) {
    mrt__stun_tx *t = &d->stun_tx[i];
    if (t->live && now - t->sent_ns >= d->cfg.timing.stun_timeout_ns) {
      t->live = false;
      d->c.stun_expired++;
    }
  }
}

static mrt__stun_tx *free_slot(mrt__direct *d) {
  for (size_t i = 0; i < MRT_DIRECT_MAX_STUN_IN_FLIGHT; i++)
    if (!d->stun_tx[i].live)
      return &d->stun_tx[i];
  return NULL;
}

/* Sends one request to `server`. Returns 1 if sent, 0 if skipped. */
static int send_request(mrt__direct *d, mrt__stun_tx *slot, const struct sockaddr_storage *server,
                        uint64_t now) {
  uint8_t buf[MRT_STUN_REQUEST_LEN(sizeof MRT_STUN_SOFTWARE - 1)];
  mrt_stun_txid txid;
  randombytes_buf(txid.bytes, sizeof txid.bytes);
  int n = mrt_stun_build_binding_request(buf, sizeof buf, &txid, MRT_STUN_SOFTWARE);
  if (n < 0)
    return 0;
  int rc = mrt__udp_send(&d->sock, server, buf, (size_t)n);
  if (rc == -EAFNOSUPPORT)
    return 0; /* an IPv6 server for an IPv4-only socket */
  if (rc < 0) {
    char a[MRT__ADDR_STRLEN];
    d->c.tx_errors++;
    mrt_log(MRT_LOG_DEBUG, MRT__LOG, "stun request not sent to=%s err=%s", mrt__addr_str(server, a),
            mrt_strerror(rc));
    return 0;
  }
  *slot = (mrt__stun_tx){.live = true, .txid = txid, .server = *server, .sent_ns = now};
  d->c.tx_datagrams++;
  d->c.stun_sent++;
  mrt_stun_server_stats *row = mrt__stun_table_find(&d->stun_stats, 0, server);
  if (row != NULL)
    row->sent++;
  return 1;
}

void mrt__stun_sweep(mrt__direct *d, uint64_t now, mrt_restun_result *res) {
  mrt_restun_result r = {0};
  if (!mrt__stun_gate_open(d)) {
    r.gated = true;
    d->c.stun_sweeps_gated++;
  } else {
    mrt__stun_expire(d, now);
    d->c.stun_sweeps++;
    d->last_stun_sweep_ns = now;
    size_t n = d->n_stun_servers, start = n ? d->stun_next % n : 0;
    for (size_t k = 0; k < n; k++) {
      mrt__stun_tx *slot = free_slot(d);
      if (slot == NULL)
        break;
      r.sent += (uint32_t)send_request(d, slot, &d->stun_servers[(start + k) % n], now);
      d->stun_next = start + k + 1; /* the next sweep starts where this one stopped */
    }
  }
  if (res != NULL)
    *res = r;
}

void mrt__stun_reset(mrt__direct *d) {
  memset(d->stun_tx, 0, sizeof d->stun_tx);
  memset(d->reflexive, 0, sizeof d->reflexive);
  d->n_reflexive = 0;
  memset(d->observed, 0, sizeof d->observed);
}

bool mrt__stun_learn_reflexive(mrt__direct *d, const struct sockaddr_storage *addr) {
  struct sockaddr_storage a = *addr;
  struct sockaddr_storage *mapped = &a;
  mrt__addr_normalize(mapped);
  for (size_t i = 0; i < d->n_reflexive; i++)
    if (mrt__addr_equal(&d->reflexive[i], mapped))
      return false;
  if (d->n_reflexive == MRT_DIRECT_MAX_REFLEXIVE) {
    memmove(&d->reflexive[0], &d->reflexive[1],
            (MRT_DIRECT_MAX_REFLEXIVE - 1) * sizeof d->reflexive[0]);
    d->n_reflexive--;
  }
  d->reflexive[d->n_reflexive++] = *mapped;
  char s[MRT__ADDR_STRLEN];
  mrt_log(MRT_LOG_INFO, MRT__LOG, "reflexive address learned addr=%s", mrt__addr_str(mapped, s));
  return true;
}

/* Counts a refused STUN datagram against the server at `at` (if it is
 * one) and logs it at debug. */
static void refuse(mrt__direct *d, const struct sockaddr_storage *at,
                   const struct sockaddr_storage *src, uint64_t now, const char *why) {
  d->c.stun_rejected++;
  mrt__stun_table_reject(&d->stun_stats, mrt__stun_table_find(&d->stun_stats, 0, at), src, now,
                         MRT__LOG, why);
}

/* Peers with a trusted path: the witnesses an observed address could have. */
static size_t witnesses(const mrt__direct *d, uint64_t now) {
  size_t n = 0;
  for (size_t i = 0; i < d->n_peers && n < 2; i++)
    n += mrt__paths_trusted(&d->peers[i], now) != NULL;
  return n;
}

/* Why a second witness: behind a NAT that maps each destination to its own
 * port (symmetric NAT) every peer sees another port, which no third node
 * could use; taking each as an endpoint would change our set, and so send
 * every peer an update, on nearly every pong. Behind any other NAT all peers
 * see the same address, and two agree at once. */
bool mrt__stun_observed(mrt__direct *d, uint64_t peer_id, const struct sockaddr_storage *addr,
                        uint64_t now) {
  struct sockaddr_storage a = *addr;
  mrt__addr_normalize(&a);
  for (size_t i = 0; i < d->n_reflexive; i++)
    if (mrt__addr_equal(&d->reflexive[i], &a))
      return false;
  bool agreed = witnesses(d, now) < 2;
  bool known = false;
  for (size_t i = 0; i < MRT_DIRECT_MAX_REFLEXIVE && !known; i++) {
    if (!d->observed[i].used || !mrt__addr_equal(&d->observed[i].addr, &a))
      continue;
    known = true;
    agreed = agreed || d->observed[i].peer_id != peer_id;
  }
  if (!agreed && !known) {
    d->observed[d->observed_next].addr = a;
    d->observed[d->observed_next].peer_id = peer_id;
    d->observed[d->observed_next].used = true;
    d->observed_next = (d->observed_next + 1) % MRT_DIRECT_MAX_REFLEXIVE;
  }
  return agreed && mrt__stun_learn_reflexive(d, &a);
}

void mrt__stun_on_datagram(mrt__direct *d, const uint8_t *buf, size_t len,
                           const struct sockaddr_storage *src, uint64_t now) {
  /* As in every STUN client, the transaction id is the match; the source
   * only says whose counters a refusal goes to. */
  mrt_stun_response r;
  char why[MRT_STUN_REASON_MAX];
  if (mrt_stun_parse_binding_response(buf, len, &r) < 0) {
    mrt__stun_reason_of(&r, why, sizeof why);
    refuse(d, src, src, now, why);
    return;
  }
  mrt__stun_tx *t = NULL;
  for (size_t i = 0; i < MRT_DIRECT_MAX_STUN_IN_FLIGHT && t == NULL; i++)
    if (d->stun_tx[i].live && mrt_stun_txid_equal(&d->stun_tx[i].txid, &r.txid))
      t = &d->stun_tx[i];
  if (t == NULL || now - t->sent_ns >= d->cfg.timing.stun_timeout_ns) {
    refuse(d, src, src, now,
           t == NULL ? "no request in flight with this transaction id"
                     : "answer after its request expired");
    if (t != NULL)
      t->live = false;
    return;
  }
  t->live = false;
  if (r.is_error) {
    snprintf(why, sizeof why, "error response %d", r.error_code);
    refuse(d, &t->server, src, now, why);
    return;
  }
  d->c.stun_responses++;
  mrt_stun_server_stats *row = mrt__stun_table_find(&d->stun_stats, 0, &t->server);
  if (row != NULL)
    row->answered++;
  if (mrt__stun_learn_reflexive(d, &r.mapped))
    mrt__endpoints_advertise(d, d->self); /* peers hear of it at once */
}

int mrt__direct_on_stun_servers(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)self;
  (void)payload;
  mrt__direct *d = state;
  if (r == NULL)
    return 0;
  mrt_stun_server_list list;
  if (mrt__stun_table_copy(&d->stun_stats, &list) < 0)
    return mrt_reply_error(r, -ENOMEM);
  if (MRT_REPLY(direct_stun_servers, r, &list) < 0)
    mrt_stun_server_list_release(&list);
  return 0;
}

uint64_t mrt__stun_prober_delay(uint64_t min_ns, uint64_t max_ns) {
  if (max_ns <= min_ns || max_ns - min_ns < MRT_NS_PER_US)
    return min_ns;
  uint64_t span_us = (max_ns - min_ns) / MRT_NS_PER_US;
  uint64_t draw;
  if (span_us <= UINT32_MAX) {
    /* randombytes_uniform is unbiased for bounds up to 2^32. */
    draw = randombytes_uniform((uint32_t)span_us);
  } else {
    draw = (((uint64_t)randombytes_random() << 32) | randombytes_random()) % span_us;
  }
  return min_ns + draw * MRT_NS_PER_US;
}

/* ---- endpoint advertisement ------------------------------------------------------------ */

static void add_endpoint(mrt_endpoint_advertisement *a, const struct sockaddr_storage *ss) {
  if (a->n < MRT_ENDPOINTS_MAX)
    a->endpoints[a->n++] = *ss;
}

static bool wildcard(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET)
    return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
  return ss->ss_family == AF_INET6 &&
         IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* Interface addresses a peer could reach us at, with our port. */
static void add_local(const mrt__direct *d, mrt_endpoint_advertisement *a) {
  if (!wildcard(&d->sock.local)) {
    add_endpoint(a, &d->sock.local);
    return;
  }
  struct ifaddrs *ifs = NULL;
  if (getifaddrs(&ifs) < 0)
    return;
  for (struct ifaddrs *i = ifs; i != NULL; i = i->ifa_next) {
    if (i->ifa_addr == NULL || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
      continue;
    int fam = i->ifa_addr->sa_family;
    bool reachable = fam == d->sock.family || (fam == AF_INET && d->sock.dual_stack);
    if ((fam != AF_INET && fam != AF_INET6) || !reachable)
      continue;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    memcpy(&ss, i->ifa_addr,
           fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
    if (fam == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)&ss)->sin6_addr))
      continue; /* needs a scope the peer cannot know */
    mrt__addr_set_port(&ss, d->sock.port);
    add_endpoint(a, &ss);
  }
  freeifaddrs(ifs);
}

static int endpoint_cmp(const void *x, const void *y) {
  return mrt__addr_cmp(x, y);
}

static void sort_unique(mrt_endpoint_advertisement *a) {
  qsort(a->endpoints, a->n, sizeof a->endpoints[0], endpoint_cmp);
  uint32_t out = 0;
  for (uint32_t i = 0; i < a->n; i++)
    if (out == 0 || mrt__addr_cmp(&a->endpoints[out - 1], &a->endpoints[i]) != 0)
      a->endpoints[out++] = a->endpoints[i];
  a->n = out;
}

static bool same_set(const mrt_endpoint_advertisement *x, const mrt_endpoint_advertisement *y) {
  if (x->n != y->n)
    return false;
  for (uint32_t i = 0; i < x->n; i++)
    if (mrt__addr_cmp(&x->endpoints[i], &y->endpoints[i]) != 0)
      return false;
  return true;
}

void mrt__endpoints_advertise(mrt__direct *d, mrt_actor *self) {
  mrt_endpoint_advertisement *a = calloc(1, sizeof *a); /* 4 KiB: not on the stack */
  if (a == NULL)
    return;
  for (size_t i = 0; i < d->n_reflexive; i++)
    add_endpoint(a, &d->reflexive[i]);
  if (d->cfg.advertise_local && !mrt__direct_inert(d))
    add_local(d, a);
  sort_unique(a);
  if (!same_set(a, &d->advertised)) {
    /* The set is ours from now on, published or not: peers are told it. */
    d->advertised = *a;
    mrt_log(MRT_LOG_INFO, MRT__LOG, "endpoints changed n=%u", a->n);
    if (mrt_publish_endpoint_advertisement(mrt_runtime_bus(mrt_actor_runtime(self)), a) >= 0)
      d->c.adverts_published++;
    mrt__updates_endpoints_changed(d, mrt_actor_now(self));
  }
  free(a);
}
