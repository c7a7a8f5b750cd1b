/* SPDX-License-Identifier: MIT */
/* meshrt — DirectManager's queries: direct_sock_info, direct_best_addrs, direct_path_latency,
 * direct_peers_with_path, direct_ping_peer and direct_state, and the descriptors of
 * every DirectManager message.
 *
 * Queries answer from the actor's current tables; "has a path" always means
 * a best path whose trust has not run out at the moment of the query, so a
 * caller never sees a path that the pinger merely has not noticed expiring.
 * Replies that carry arrays own them (malloc'd); the release functions and
 * the reply drop hooks (for replies nobody waits for any more) free them.
 *
 * direct_ping_peer is answered later: the token is deferred and kept, with a
 * timeout timer, until a pong from that peer confirms a candidate.
 *
 * Threading: handlers run in the DirectManager's context; the release
 * functions run wherever the asker is.
 */
#include "direct_internal.h"
#include "mrt_grow.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- descriptors ------------------------------------------------------------------ */

static void best_addrs_drop(void *r) {
  mrt_best_addrs_release(r);
}
static void peer_ids_drop(void *r) {
  mrt_peer_ids_release(r);
}
static void status_drop(void *r) {
  mrt_direct_status_free(*(mrt_direct_status **)r);
}

MRT_MESSAGE_DEFINE(direct_rebind, mrt_none, mrt_sock_info, NULL, NULL);
MRT_MESSAGE_DEFINE(direct_rebind_and_reprobe, mrt_none, mrt_sock_info, NULL, NULL);
MRT_MESSAGE_DEFINE(direct_restun, mrt_none, mrt_restun_result, NULL, NULL);
MRT_MESSAGE_DEFINE(direct_sock_info, mrt_none, mrt_sock_info, NULL, NULL);
MRT_MESSAGE_DEFINE(direct_best_addrs, mrt_none, mrt_best_addrs, NULL, best_addrs_drop);
MRT_MESSAGE_DEFINE(direct_path_latency, mrt_path_latency_req, mrt_path_latency, NULL, NULL);
MRT_MESSAGE_DEFINE(direct_peers_with_path, mrt_none, mrt_peer_ids, NULL, peer_ids_drop);
MRT_MESSAGE_DEFINE(direct_ping_peer, mrt_ping_peer_req, mrt_ping_peer_result, NULL, NULL);
MRT_MESSAGE_DEFINE(direct_state, mrt_none, mrt_direct_status *, NULL, status_drop);

void mrt_best_addrs_release(mrt_best_addrs *b) {
  if (b == NULL)
    return;
  free(b->items);
  b->items = NULL;
  b->n = 0;
}

void mrt_peer_ids_release(mrt_peer_ids *ids) {
  if (ids == NULL)
    return;
  free(ids->ids);
  ids->ids = NULL;
  ids->n = 0;
}

void mrt_direct_status_free(mrt_direct_status *s) {
  if (s == NULL)
    return;
  free(s->peers);
  free(s);
}

/* ---- simple queries ---------------------------------------------------------------- */

mrt_sock_info mrt__direct_sock_info(const mrt__direct *d) {
  mrt_sock_info i;
  memset(&i, 0, sizeof i);
  i.inert = mrt__direct_inert(d);
  i.generation = d->generation;
  i.previous_port = d->previous_port;
  i.port_outcome = d->port_outcome;
  i.port_error = d->port_error;
  if (!i.inert) {
    i.dual_stack = d->sock.dual_stack;
    i.local = d->sock.local;
    i.port = d->sock.port;
  }
  return i;
}

int mrt__direct_on_sock_info(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)self;
  (void)payload;
  mrt_sock_info i = mrt__direct_sock_info(state);
  return r != NULL ? MRT_REPLY(direct_sock_info, r, &i) : 0;
}

int mrt__direct_on_best_addrs(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)payload;
  mrt__direct *d = state;
  if (r == NULL)
    return 0;
  uint64_t now = mrt_actor_now(self);
  mrt_best_addrs out = {0, NULL};
  if (d->n_peers > 0 && (out.items = calloc(d->n_peers, sizeof *out.items)) == NULL)
    return mrt_reply_error(r, -ENOMEM);
  for (size_t i = 0; i < d->n_peers; i++) {
    const mrt__peer *p = &d->peers[i];
    const mrt__cand *c = mrt__paths_trusted(p, now);
    if (c != NULL)
      out.items[out.n++] = (mrt_best_addr){.peer_id = p->id,
                                           .addr = c->addr,
                                           .rtt_ns = p->best_rtt_ns,
                                           .trust_until_ns = p->trust_until_ns};
  }
  if (out.n == 0) {
    free(out.items);
    out.items = NULL;
  }
  int rc = MRT_REPLY(direct_best_addrs, r, &out);
  if (rc < 0)
    free(out.items);
  return 0; /* a reply that cannot be sent is no reason to fail */
}

int mrt__direct_on_path_latency(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  const mrt_path_latency_req *req = payload;
  if (r == NULL)
    return 0;
  mrt__peer *p = mrt__paths_by_id(state, req->peer_id);
  mrt_path_latency out;
  memset(&out, 0, sizeof out);
  out.known_peer = p != NULL;
  const mrt__cand *c = p != NULL ? mrt__paths_trusted(p, mrt_actor_now(self)) : NULL;
  if (c != NULL) {
    out.has_path = true;
    out.rtt_ns = p->best_rtt_ns;
    out.addr = c->addr;
  }
  return MRT_REPLY(direct_path_latency, r, &out);
}

static int id_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

int mrt__direct_on_peers_with_direct_path(mrt_actor *self, void *state, const void *payload,
                                          mrt_reply *r) {
  (void)payload;
  mrt__direct *d = state;
  if (r == NULL)
    return 0;
  uint64_t now = mrt_actor_now(self);
  mrt_peer_ids out = {0, NULL};
  if (d->n_peers > 0 && (out.ids = calloc(d->n_peers, sizeof *out.ids)) == NULL)
    return mrt_reply_error(r, -ENOMEM);
  for (size_t i = 0; i < d->n_peers; i++)
    if (mrt__paths_trusted(&d->peers[i], now) != NULL)
      out.ids[out.n++] = d->peers[i].id;
  qsort(out.ids, out.n, sizeof *out.ids, id_cmp);
  if (out.n == 0) {
    free(out.ids);
    out.ids = NULL;
  }
  int rc = MRT_REPLY(direct_peers_with_path, r, &out);
  if (rc < 0)
    free(out.ids);
  return 0; /* a reply that cannot be sent is no reason to fail */
}

/* ---- direct_ping_peer ------------------------------------------------------------------------ */

static void remove_waiter(mrt__direct *d, size_t i) {
  d->waiters[i] = d->waiters[d->n_waiters - 1];
  d->n_waiters--;
}

static int waiter_timeout(mrt_actor *self, void *state, void *ud) {
  (void)self;
  mrt__direct *d = state;
  uint64_t seq = (uint64_t)(uintptr_t)ud;
  for (size_t i = 0; i < d->n_waiters; i++) {
    if (d->waiters[i].seq == seq) {
      mrt_reply *r = d->waiters[i].reply;
      remove_waiter(d, i);
      mrt_reply_error(r, -ETIMEDOUT);
      return 0;
    }
  }
  return 0;
}

static int add_waiter(mrt_actor *self, mrt__direct *d, uint64_t peer_id, mrt_reply *r) {
  mrt__waiter *grown = mrt__grow(d->waiters, &d->cap_waiters, d->n_waiters, sizeof *grown, 8);
  if (grown == NULL)
    return -ENOMEM;
  d->waiters = grown;
  mrt__waiter *w = &d->waiters[d->n_waiters];
  *w = (mrt__waiter){.peer_id = peer_id, .seq = ++d->next_waiter_seq};
  int rc = mrt_timer_start(self, d->cfg.timing.ping_timeout_ns, 0, waiter_timeout,
                           (void *)(uintptr_t)w->seq, &w->timer);
  if (rc < 0)
    return rc;
  w->reply = mrt_reply_defer(r);
  d->n_waiters++;
  return 0;
}

int mrt__direct_on_ping_peer(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  mrt__direct *d = state;
  const mrt_ping_peer_req *req = payload;
  mrt__peer *p = mrt__paths_by_id(d, req->peer_id);
  int err = mrt__direct_inert(d) ? -ENETDOWN : p == NULL ? -ENOENT : 0;
  if (err == 0 && r != NULL)
    err = add_waiter(self, d, req->peer_id, r);
  if (err < 0)
    return r != NULL ? mrt_reply_error(r, err) : 0;
  mrt__paths_ping_all(d, p, mrt_actor_now(self));
  mrt__direct_arm_refresh(self, d);
  return 0;
}

void mrt__direct_path_confirmed(mrt__direct *d, mrt__peer *p, const mrt__cand *c, uint64_t rtt) {
  for (size_t i = 0; i < d->n_waiters;) {
    if (d->waiters[i].peer_id != p->id) {
      i++;
      continue;
    }
    mrt__waiter w = d->waiters[i];
    remove_waiter(d, i);
    mrt_timer_cancel(d->self, w.timer);
    mrt_ping_peer_result res = {.rtt_ns = rtt, .addr = c->addr};
    MRT_REPLY(direct_ping_peer, w.reply, &res);
  }
  mrt__direct_arm_refresh(d->self, d);
}

void mrt__direct_drop_orphan_waiters(mrt__direct *d) {
  for (size_t i = 0; i < d->n_waiters;) {
    if (mrt__paths_by_id(d, d->waiters[i].peer_id) != NULL) {
      i++;
      continue;
    }
    mrt__waiter w = d->waiters[i];
    remove_waiter(d, i);
    mrt_timer_cancel(d->self, w.timer);
    mrt_reply_error(w.reply, -ENOENT);
  }
}

/* ---- direct_state ------------------------------------------------------------------------ */

int mrt__direct_on_state(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)payload;
  mrt__direct *d = state;
  if (r == NULL)
    return 0;
  uint64_t now = mrt_actor_now(self);
  mrt_direct_status *s = calloc(1, sizeof *s);
  if (s == NULL || mrt__paths_status(d, now, s) < 0) {
    mrt_direct_status_free(s);
    return mrt_reply_error(r, -ENOMEM);
  }
  s->now_ns = now;
  s->sock = mrt__direct_sock_info(d);
  memcpy(s->public_key, d->cfg.key.pub, MRT_PROBE_KEY_LEN);
  s->have_peer_map = d->have_peer_map;
  s->have_derp_map = d->derp != NULL;
  s->n_stun_servers = d->n_stun_servers;
  s->n_reflexive = d->n_reflexive;
  memcpy(s->reflexive, d->reflexive, sizeof s->reflexive);
  s->stun_in_flight = mrt__stun_in_flight(d);
  s->last_stun_delay_ns = d->last_stun_delay_ns;
  s->next_stun_ns = d->next_stun_ns;
  s->last_stun_sweep_ns = d->last_stun_sweep_ns;
  s->advertised = d->advertised;
  s->counters = d->c;
  int rc = MRT_REPLY(direct_state, r, &s);
  if (rc < 0)
    mrt_direct_status_free(s);
  return 0; /* a reply that cannot be sent is no reason to fail */
}
