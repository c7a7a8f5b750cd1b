/* SPDX-License-Identifier: MIT */
/* meshrt — DirectManager's peer table: candidates, pings, pongs, best paths.
 *
 * A peer is reachable directly if one of its candidate endpoints answers our
 * authenticated ping. This file decides when to ping (the pinger's policy),
 * what an incoming probe means, and which candidate is the best path:
 *   - the best path is the confirmed candidate with the lowest round trip;
 *     a candidate replaces a trusted best only when at least 1 % faster, so
 *     jitter between two similar paths does not flap traffic between them;
 *   - a best path is trusted trust_ns after its last pong; the pinger
 *     refreshes it refresh_before_ns before that, re-pings everything when
 *     there is no trusted path, and otherwise tries the other candidates
 *     every upgrade_interval_ns unless the path is already good enough;
 *   - the background pinger pings a candidate at most once per
 *     ping_min_interval_ns (a candidate never pinged is always due).
 * Datagrams that do not authenticate, or pongs that answer no live ping of
 * ours, are counted and change nothing.
 *
 * The table is sorted by peer key, because the receive path looks peers up by
 * the key in each datagram; peer-map updates keep the state of peers (same id
 * and key) and candidates (same address) that persist.
 *
 * Threading: called only from the DirectManager's context.
 */
#include "direct_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- lookup ----------------------------------------------------------------------- */

static int key_cmp(const void *key, const void *elem) {
  return memcmp(key, ((const mrt__peer *)elem)->session.peer_pub, MRT_PROBE_KEY_LEN);
}

static int peer_sort_cmp(const void *a, const void *b) {
  return key_cmp(((const mrt__peer *)a)->session.peer_pub, b);
}

mrt__peer *mrt__paths_by_key(mrt__direct *d, const uint8_t key[MRT_PROBE_KEY_LEN]) {
  if (d->n_peers == 0)
    return NULL;
  return bsearch(key, d->peers, d->n_peers, sizeof *d->peers, key_cmp);
}

mrt__peer *mrt__paths_by_id(mrt__direct *d, uint64_t id) {
  for (size_t i = 0; i < d->n_peers; i++)
    if (d->peers[i].id == id)
      return &d->peers[i];
  return NULL;
}

const mrt__cand *mrt__paths_trusted(const mrt__peer *p, uint64_t now) {
  if (p->best < 0 || now >= p->trust_until_ns)
    return NULL;
  return &p->cands[p->best];
}

/* ---- applying a peer map ------------------------------------------------------------ */

static void free_peer(mrt__peer *p) {
  mrt_probe_session_wipe(&p->session);
  free(p->cands);
  p->cands = NULL;
}

void mrt__paths_free(mrt__direct *d) {
  for (size_t i = 0; i < d->n_peers; i++)
    free_peer(&d->peers[i]);
  free(d->peers);
  d->peers = NULL;
  d->n_peers = 0;
}

/* The previous state of a peer with this id and key, if any. */
static const mrt__peer *old_peer(const mrt__direct *d, uint64_t id, const uint8_t *key) {
  for (size_t i = 0; i < d->n_peers; i++)
    if (d->peers[i].id == id && memcmp(d->peers[i].session.peer_pub, key, MRT_PROBE_KEY_LEN) == 0)
      return &d->peers[i];
  return NULL;
}

/* Copies old candidate `prev` (or starts a new one at `a`) into slot n_cands
 * of `p`, keeping the best-path mark. */
static mrt__cand *keep_cand(mrt__direct *d, const mrt__peer *old, const mrt__cand *prev,
                            const struct sockaddr_storage *a, mrt__peer *p) {
  mrt__cand *c = &p->cands[p->n_cands];
  if (prev != NULL) {
    *c = *prev;
    if (old->best >= 0 && &old->cands[old->best] == prev)
      p->best = (int)p->n_cands;
  } else {
    memset(c, 0, sizeof *c);
    c->addr = *a;
    c->tag = ++d->next_tag;
  }
  p->n_cands++;
  return c;
}

static const mrt__cand *old_cand(const mrt__peer *old, const struct sockaddr_storage *a) {
  for (size_t j = 0; old != NULL && j < old->n_cands; j++)
    if (mrt__addr_equal(&old->cands[j].addr, a))
      return &old->cands[j];
  return NULL;
}

/* Builds a peer's candidate list: configured endpoints normalised, duplicates
 * dropped, capped, each keeping its old state when it persists; then the
 * learned candidates of the old entry that the map does not list. */
static int build_cands(mrt__direct *d, const mrt_peer *src, const mrt__peer *old, mrt__peer *p) {
  size_t n = src->n_endpoints;
  size_t configured = n < MRT_DIRECT_MAX_CANDIDATES ? n : MRT_DIRECT_MAX_CANDIDATES;
  size_t learned = old != NULL ? old->n_learned : 0;
  p->cap_cands = configured + learned > 0 ? configured + learned : 1;
  p->cands = calloc(p->cap_cands, sizeof *p->cands);
  if (p->cands == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n && p->n_cands < MRT_DIRECT_MAX_CANDIDATES; i++) {
    struct sockaddr_storage a = src->endpoints[i];
    mrt__addr_normalize(&a);
    if (mrt__paths_find(p, &a) >= 0)
      continue;
    keep_cand(d, old, old_cand(old, &a), &a, p)->learned = false; /* configured now */
  }
  for (size_t j = 0; old != NULL && j < old->n_cands; j++) {
    const mrt__cand *prev = &old->cands[j];
    if (prev->learned && mrt__paths_find(p, &prev->addr) < 0) {
      keep_cand(d, old, prev, &prev->addr, p);
      p->n_learned++;
    }
  }
  if (n > MRT_DIRECT_MAX_CANDIDATES)
    mrt_log(MRT_LOG_WARN, MRT__LOG, "peer has too many endpoints, keeping %d peer=%llu n=%zu",
            MRT_DIRECT_MAX_CANDIDATES, (unsigned long long)src->id, n);
  return 0;
}

/* One new table entry from a peer-map entry. Returns 1 to skip it, 0, or
 * -ENOMEM. */
static int build_peer(mrt__direct *d, const mrt_peer *src, mrt__peer *p) {
  memset(p, 0, sizeof *p);
  if (memcmp(src->key, d->cfg.key.pub, MRT_PROBE_KEY_LEN) == 0)
    return 1; /* ourselves: a shared map lists every node */
  const mrt__peer *old = old_peer(d, src->id, src->key);
  if (old != NULL) {
    /* Everything persists but the candidate list, rebuilt below. */
    *p = *old;
    p->cands = NULL;
    p->n_cands = p->cap_cands = p->n_learned = 0;
  } else if (mrt_probe_session_init(&p->session, &d->cfg.key, src->key) < 0) {
    mrt_log(MRT_LOG_WARN, MRT__LOG, "peer key rejected, ignoring the peer peer=%llu",
            (unsigned long long)src->id);
    return 1;
  } else {
    p->update_due = true; /* a new peer hears our endpoints */
  }
  p->best = -1;
  p->id = src->id;
  int rc = build_cands(d, src, old, p);
  if (rc < 0)
    return rc;
  if (p->best < 0)
    p->trust_until_ns = 0; /* the best endpoint left the map */
  return 0;
}

static bool key_taken(const mrt__peer *peers, size_t n, const uint8_t *key) {
  for (size_t i = 0; i < n; i++)
    if (memcmp(peers[i].session.peer_pub, key, MRT_PROBE_KEY_LEN) == 0)
      return true;
  return false;
}

int mrt__paths_find(const mrt__peer *p, const struct sockaddr_storage *addr) {
  for (size_t i = 0; i < p->n_cands; i++)
    if (mrt__addr_equal(&p->cands[i].addr, addr))
      return (int)i;
  return -1;
}

int mrt__paths_apply(mrt__direct *d, const mrt_peer_map *map, uint64_t now) {
  (void)now;
  size_t total = mrt_peer_map_count(map), n = 0;
  mrt__peer *peers = calloc(total > 0 ? total : 1, sizeof *peers);
  if (peers == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < total; i++) {
    const mrt_peer *src = mrt_peer_map_at(map, i);
    if (key_taken(peers, n, src->key)) {
      mrt_log(MRT_LOG_WARN, MRT__LOG, "two peers share a key, ignoring the second peer=%llu",
              (unsigned long long)src->id);
      continue;
    }
    int rc = build_peer(d, src, &peers[n]);
    if (rc < 0) {
      for (size_t j = 0; j <= n; j++)
        free(peers[j].cands);
      free(peers);
      return rc;
    }
    if (rc == 0)
      n++;
    else
      free(peers[n].cands);
  }
  qsort(peers, n, sizeof *peers, peer_sort_cmp);
  mrt__paths_free(d);
  d->peers = peers;
  d->n_peers = n;
  d->have_peer_map = map != NULL;
  return 0;
}

/* ---- pinging ------------------------------------------------------------------------ */

bool mrt__paths_send_ping(mrt__direct *d, mrt__peer *p, const struct sockaddr_storage *to,
                          uint32_t tag, uint64_t now) {
  mrt_probe_msg m = {.kind = MRT_PROBE_PING};
  uint8_t buf[MRT_PROBE_MAX_LEN];
  /* Without a fresh transaction id a ping could be answered by a replay. */
  if (mrt_probe_txid_random(&m.txid) < 0)
    return false;
  int n = mrt_probe_seal(&p->session, &m, buf, sizeof buf);
  if (n < 0)
    return false;
  int rc = mrt__udp_send(&d->sock, to, buf, (size_t)n);
  if (rc < 0) {
    char a[MRT__ADDR_STRLEN];
    d->c.tx_errors++;
    mrt_log(MRT_LOG_DEBUG, MRT__LOG, "ping not sent peer=%llu to=%s err=%s",
            (unsigned long long)p->id, mrt__addr_str(to, a), mrt_strerror(rc));
    return false;
  }
  d->c.tx_datagrams++;
  d->c.pings_sent++;
  mrt_probe_pending_add(&p->pending, &m.txid, now, tag);
  return true;
}

void mrt__paths_ping_cand(mrt__direct *d, mrt__peer *p, mrt__cand *c, uint64_t now) {
  /* Counted as pinged even if the send fails: the rate limit is about how
   * often we try, and a failing route should not be hammered. */
  c->pinged = true;
  c->last_ping_ns = now;
  if (mrt__paths_send_ping(d, p, &c->addr, c->tag, now))
    c->pings_sent++;
}

static bool may_ping(const mrt__direct *d, const mrt__cand *c, uint64_t now) {
  return !c->pinged || now - c->last_ping_ns >= d->cfg.timing.ping_min_interval_ns;
}

static void lose_best(mrt__direct *d, mrt__peer *p, const char *why) {
  char a[MRT__ADDR_STRLEN];
  mrt_log(MRT_LOG_INFO, MRT__LOG, "direct path lost peer=%llu addr=%s why=%s",
          (unsigned long long)p->id, mrt__addr_str(&p->cands[p->best].addr, a), why);
  p->best = -1;
  p->trust_until_ns = 0;
  d->c.path_changes++;
}

static void ping_peer_due(mrt__direct *d, mrt__peer *p, uint64_t now) {
  const mrt_direct_timing *t = &d->cfg.timing;
  d->c.ping_timeouts += mrt_probe_pending_expire(&p->pending, now, t->ping_timeout_ns);
  if (p->best >= 0 && now >= p->trust_until_ns)
    lose_best(d, p, "trust expired");
  /* With a trusted path, the others are tried only for an upgrade; without
   * one, all of them are (each still at most once per interval). */
  bool full =
      p->best < 0 || (p->best_rtt_ns > t->good_enough_rtt_ns &&
                      (!p->full_pinged || now - p->last_full_ping_ns >= t->upgrade_interval_ns));
  for (size_t i = 0; i < p->n_cands; i++) {
    mrt__cand *c = &p->cands[i];
    bool due;
    if (!c->pinged)
      due = true; /* a new candidate is always worth one ping */
    else if ((int)i == p->best)
      due = now + t->refresh_before_ns >= p->trust_until_ns && may_ping(d, c, now);
    else
      due = full && may_ping(d, c, now);
    if (due)
      mrt__paths_ping_cand(d, p, c, now);
  }
  if (full) {
    p->full_pinged = true;
    p->last_full_ping_ns = now;
  }
}

void mrt__paths_ping_due(mrt__direct *d, uint64_t now) {
  if (mrt__direct_inert(d))
    return;
  for (size_t i = 0; i < d->n_peers; i++)
    ping_peer_due(d, &d->peers[i], now);
}

void mrt__paths_ping_all(mrt__direct *d, mrt__peer *only, uint64_t now) {
  if (mrt__direct_inert(d))
    return;
  for (size_t i = 0; i < d->n_peers; i++) {
    mrt__peer *p = &d->peers[i];
    if (only != NULL && p != only)
      continue;
    for (size_t j = 0; j < p->n_cands; j++)
      mrt__paths_ping_cand(d, p, &p->cands[j], now);
    p->full_pinged = true;
    p->last_full_ping_ns = now;
  }
}

uint64_t mrt__paths_next_refresh(const mrt__direct *d) {
  const mrt_direct_timing *t = &d->cfg.timing;
  uint64_t next = UINT64_MAX;
  for (size_t i = 0; i < d->n_peers; i++) {
    const mrt__peer *p = &d->peers[i];
    if (p->best < 0)
      continue;
    const mrt__cand *b = &p->cands[p->best];
    uint64_t due =
        p->trust_until_ns > t->refresh_before_ns ? p->trust_until_ns - t->refresh_before_ns : 0;
    uint64_t allowed = b->last_ping_ns + t->ping_min_interval_ns;
    uint64_t at = due > allowed ? due : allowed;
    /* Past expiry the pinger's own pass notices the loss; no refresh then. */
    if (at < p->trust_until_ns && at < next)
      next = at;
  }
  return next;
}

void mrt__paths_invalidate(mrt__direct *d) {
  for (size_t i = 0; i < d->n_peers; i++) {
    mrt__peer *p = &d->peers[i];
    if (p->best >= 0)
      d->c.path_changes++;
    p->best = -1;
    p->best_rtt_ns = 0;
    p->trust_until_ns = 0;
    p->full_pinged = false;
    mrt_probe_pending_clear(&p->pending);
    /* Pings sent from the old socket can no longer be answered, so nothing
     * should wait the rate limit out before pinging from the new one. */
    for (size_t j = 0; j < p->n_cands; j++) {
      p->cands[j].pinged = false;
      p->cands[j].confirmed = false;
    }
    memset(p->probation, 0, sizeof p->probation);
  }
}

/* ---- incoming probes -------------------------------------------------------------------- */

static void answer_ping(mrt__direct *d, mrt__peer *p, const mrt_probe_msg *ping,
                        const struct sockaddr_storage *src, uint64_t now) {
  if (!mrt_probe_seen_insert(&p->seen, &ping->txid)) {
    d->c.probe_replayed++;
    return;
  }
  d->c.pings_received++;
  if (!mrt__learn_may_answer(d, p, src, now))
    return;
  mrt_probe_msg pong = {.kind = MRT_PROBE_PONG, .txid = ping->txid, .observed = *src};
  uint8_t buf[MRT_PROBE_MAX_LEN];
  int n = mrt_probe_seal(&p->session, &pong, buf, sizeof buf);
  if (n < 0)
    return;
  int rc = mrt__udp_send(&d->sock, src, buf, (size_t)n);
  if (rc < 0) {
    d->c.tx_errors++;
  } else {
    d->c.tx_datagrams++;
    d->c.pongs_sent++;
  }
  mrt__learn_from_ping(d, p, src, now);
}

static bool at_least_1pct_better(uint64_t rtt, uint64_t best) {
  if (rtt >= best)
    return false;
  /* rtt <= 0.99 * best exactly, in integers; beyond 5 years of round trip
   * the products would overflow, and dividing first is then exact enough. */
  if (best > UINT64_MAX / 100)
    return rtt <= best / 100 * 99;
  return rtt * 100 <= best * 99;
}

static void consider_best(mrt__direct *d, mrt__peer *p, int idx, uint64_t rtt, uint64_t now) {
  char a[MRT__ADDR_STRLEN];
  bool trusted = mrt__paths_trusted(p, now) != NULL;
  if (p->best == idx) {
    p->best_rtt_ns = rtt;
    p->trust_until_ns = now + d->cfg.timing.trust_ns;
    return;
  }
  /* A path the peer's latest endpoint update no longer names yields to one
   * it does name, however fast: the peer has told us it moved. */
  bool moved = p->best_unlisted && p->cands[idx].listed;
  if (trusted && !moved && !at_least_1pct_better(rtt, p->best_rtt_ns))
    return;
  p->best_unlisted = false;
  mrt_log(MRT_LOG_INFO, MRT__LOG, "direct path %s peer=%llu addr=%s rtt_us=%llu",
          trusted ? "upgraded" : "confirmed", (unsigned long long)p->id,
          mrt__addr_str(&p->cands[idx].addr, a), (unsigned long long)(rtt / 1000));
  p->best = idx;
  p->best_rtt_ns = rtt;
  p->trust_until_ns = now + d->cfg.timing.trust_ns;
  d->c.path_changes++;
}

void mrt__paths_follow_update(mrt__direct *d, mrt__peer *p, uint64_t now) {
  if (!p->best_unlisted)
    return;
  /* A listed candidate whose own authenticated pong is still within the
   * trust window needs no new round trip to take over; its trust runs from
   * that pong, not from now. */
  int pick = -1;
  for (size_t i = 0; i < p->n_cands; i++) {
    const mrt__cand *c = &p->cands[i];
    if (c->listed && c->confirmed && now - c->last_pong_ns < d->cfg.timing.trust_ns &&
        (pick < 0 || c->rtt_ns < p->cands[pick].rtt_ns))
      pick = (int)i;
  }
  if (pick < 0)
    return; /* the update's pings decide, in consider_best */
  char a[MRT__ADDR_STRLEN];
  mrt_log(MRT_LOG_INFO, MRT__LOG, "direct path moved peer=%llu addr=%s rtt_us=%llu",
          (unsigned long long)p->id, mrt__addr_str(&p->cands[pick].addr, a),
          (unsigned long long)(p->cands[pick].rtt_ns / 1000));
  p->best = pick;
  p->best_rtt_ns = p->cands[pick].rtt_ns;
  p->trust_until_ns = p->cands[pick].last_pong_ns + d->cfg.timing.trust_ns;
  p->best_unlisted = false;
  d->c.path_changes++;
  mrt__direct_arm_refresh(d->self, d);
}

static void take_pong(mrt__direct *d, mrt__peer *p, const mrt_probe_msg *pong, uint64_t now) {
  uint64_t sent = 0;
  uint32_t tag = 0;
  int rc = mrt_probe_pending_take(&p->pending, &pong->txid, now, d->cfg.timing.ping_timeout_ns,
                                  &sent, &tag);
  if (rc == -EALREADY) {
    d->c.probe_replayed++;
    return;
  }
  if (rc < 0) {
    d->c.probe_stale++;
    return;
  }
  int idx = -1;
  for (size_t i = 0; i < p->n_cands && idx < 0; i++)
    if (p->cands[i].tag == tag)
      idx = (int)i;
  if (idx < 0)
    idx = mrt__learn_challenge_answered(d, p, tag, now);
  if (idx < 0) { /* the candidate left the peer map meanwhile */
    d->c.probe_stale++;
    return;
  }
  d->c.pongs_received++;
  mrt__paths_confirm(d, p, idx, now - sent, now);
  /* The peer saw our ping come from `observed`: our address as seen from
   * there, just as a STUN server would tell it. Authentic, and fresh (it
   * answers a live ping of ours). */
  if (mrt__addr_usable(&pong->observed) && mrt__stun_observed(d, p->id, &pong->observed, now)) {
    d->c.observed_learned++;
    mrt__endpoints_advertise(d, d->self);
  }
}

void mrt__paths_confirm(mrt__direct *d, mrt__peer *p, int idx, uint64_t rtt, uint64_t now) {
  mrt__cand *c = &p->cands[idx];
  c->confirmed = true;
  c->last_pong_ns = now;
  c->last_heard_ns = now;
  c->rtt_ns = rtt;
  c->pongs_received++;
  consider_best(d, p, idx, rtt, now);
  if (p->rebind_at_ns != 0 && p->best >= 0) {
    p->reconfirm_ns = now - p->rebind_at_ns;
    p->reconfirms++;
    p->rebind_at_ns = 0;
    mrt_log(MRT_LOG_INFO, MRT__LOG, "peer %llu re-confirmed %.3f ms after rebind",
            (unsigned long long)p->id, (double)p->reconfirm_ns / 1e6);
  }
  mrt__direct_path_confirmed(d, p, c, rtt);
}

void mrt__paths_on_probe(mrt__direct *d, const uint8_t *buf, size_t len,
                         const struct sockaddr_storage *src, uint64_t now) {
  uint8_t key[MRT_PROBE_KEY_LEN];
  if (mrt_probe_sender_key(buf, len, key) < 0) {
    d->c.probe_malformed++;
    return;
  }
  mrt__peer *p = mrt__paths_by_key(d, key);
  if (p == NULL) {
    d->c.probe_unknown_peer++;
    return;
  }
  mrt_probe_msg m;
  int rc = mrt_probe_open(&p->session, buf, len, &m);
  if (rc < 0) {
    if (rc == -EACCES)
      d->c.probe_unauthenticated++;
    else
      d->c.probe_malformed++;
    return;
  }
  if (m.kind == MRT_PROBE_PING)
    answer_ping(d, p, &m, src, now);
  else if (m.kind == MRT_PROBE_PONG)
    take_pong(d, p, &m, now);
  else
    mrt__learn_from_update(d, p, &m, now);
}

/* ---- status --------------------------------------------------------------------------- */

static int status_id_cmp(const void *a, const void *b) {
  uint64_t x = ((const mrt_direct_peer_status *)a)->id;
  uint64_t y = ((const mrt_direct_peer_status *)b)->id;
  return (x > y) - (x < y);
}

static void peer_status(const mrt__peer *p, uint64_t now, mrt_direct_peer_status *o) {
  o->id = p->id;
  memcpy(o->key, p->session.peer_pub, MRT_PROBE_KEY_LEN);
  const mrt__cand *b = mrt__paths_trusted(p, now);
  o->has_path = b != NULL;
  if (b != NULL) {
    o->best = b->addr;
    o->best_rtt_ns = p->best_rtt_ns;
    o->trust_until_ns = p->trust_until_ns;
  }
  o->pings_in_flight = (uint32_t)mrt_probe_pending_count(&p->pending);
  o->n_learned = p->n_learned;
  o->reconfirm_ns = p->reconfirm_ns;
  o->reconfirms = p->reconfirms;
  o->updates_received = p->updates_received;
  o->n_candidates = p->n_cands;
  for (size_t j = 0; j < p->n_cands; j++) {
    const mrt__cand *c = &p->cands[j];
    o->candidates[j] = (mrt_direct_candidate_status){
        .addr = c->addr,
        .pinged = c->pinged,
        .last_ping_ns = c->last_ping_ns,
        .confirmed = c->confirmed,
        .last_pong_ns = c->last_pong_ns,
        .rtt_ns = c->rtt_ns,
        .pings_sent = c->pings_sent,
        .pongs_received = c->pongs_received,
        .learned = c->learned,
        .last_heard_ns = c->last_heard_ns,
    };
  }
}

int mrt__paths_status(const mrt__direct *d, uint64_t now, mrt_direct_status *s) {
  s->n_peers = d->n_peers;
  s->peers = calloc(d->n_peers > 0 ? d->n_peers : 1, sizeof *s->peers);
  if (s->peers == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < d->n_peers; i++)
    peer_status(&d->peers[i], now, &s->peers[i]);
  qsort(s->peers, s->n_peers, sizeof *s->peers, status_id_cmp);
  return 0;
}
