/* SPDX-License-Identifier: MIT */
/* meshrt — DirectManager telling its peers where it is: endpoint updates.
 *
 * When our endpoint set changes (a rebind that moved the port, a new
 * interface or reflexive address), peers that knew only the old set would
 * lose us until something else told them. So every peer we can reach, one
 * with a trusted path or at least one candidate, gets an authenticated,
 * replay-protected endpoint update (<meshrt/probe.h>) listing our current
 * endpoints: reflexive ones first (a peer behind another NAT needs them
 * most), then interface addresses, MRT_PROBE_MAX_ENDPOINTS at most.
 *
 * Rate limit: at most one update per peer per second. A change inside that
 * second marks the peer due and a one-shot timer sends the then-current set
 * when the second is up, so the latest set always wins and a flapping link
 * cannot turn into a flood. An update goes to the trusted best path if there
 * is one, else to every candidate (after a rebind no path is trusted yet,
 * and the peer may be at any of them).
 *
 * (epoch, seq): epoch is our wall clock when this DirectManager started, seq
 * counts every update sealed, so the pair only grows, across restarts too
 * (as long as the wall clock does not jump back past a restart; a receiver
 * that refuses an update then still learns us from our pings).
 *
 * Threading: called only from the DirectManager's context.
 */
#include "direct_internal.h"

#include <string.h>

#define UPDATE_INTERVAL_NS MRT_SEC(1)

static bool reachable(const mrt__peer *p, uint64_t now) {
  return mrt__paths_trusted(p, now) != NULL || p->n_cands > 0;
}

/* Our endpoints for an update: reflexive first, then the rest, capped. */
static void fill_endpoints(const mrt__direct *d, mrt_probe_msg *m) {
  const mrt_endpoint_advertisement *a = &d->advertised;
  m->n_endpoints = 0;
  for (int pass = 0; pass < 2; pass++) {
    for (uint32_t i = 0; i < a->n && m->n_endpoints < MRT_PROBE_MAX_ENDPOINTS; i++) {
      bool reflexive = false;
      for (size_t r = 0; r < d->n_reflexive && !reflexive; r++)
        reflexive = mrt__addr_equal(&d->reflexive[r], &a->endpoints[i]);
      if (reflexive == (pass == 0))
        m->endpoints[m->n_endpoints++] = a->endpoints[i];
    }
  }
}

static void send_update(mrt__direct *d, mrt__peer *p, uint64_t now) {
  p->update_due = false;
  if (d->advertised.n == 0 || mrt__direct_inert(d))
    return; /* nothing to tell */
  mrt_probe_msg m;
  memset(&m, 0, sizeof m);
  m.kind = MRT_PROBE_ENDPOINTS;
  m.epoch = d->update_epoch;
  m.seq = ++d->update_seq;
  fill_endpoints(d, &m);
  uint8_t buf[MRT_PROBE_MAX_LEN];
  int n = mrt_probe_seal(&p->session, &m, buf, sizeof buf);
  if (n < 0)
    return;
  const mrt__cand *best = mrt__paths_trusted(p, now);
  size_t sent = 0;
  for (size_t i = 0; i < p->n_cands; i++) {
    if (best != NULL && &p->cands[i] != best)
      continue;
    if (mrt__udp_send(&d->sock, &p->cands[i].addr, buf, (size_t)n) == 0) {
      d->c.tx_datagrams++;
      sent++;
    } else {
      d->c.tx_errors++;
    }
  }
  p->update_ever_sent = true;
  p->update_sent_ns = now;
  d->c.updates_sent += sent > 0;
  mrt_log(MRT_LOG_DEBUG, MRT__LOG, "endpoint update sent peer=%llu endpoints=%u to=%zu",
          (unsigned long long)p->id, m.n_endpoints, sent);
}

static int update_tick(mrt_actor *self, void *state, void *ud) {
  (void)ud;
  mrt__direct *d = state;
  d->update_timer = 0;
  mrt__updates_flush(d, mrt_actor_now(self));
  return 0;
}

void mrt__updates_flush(mrt__direct *d, uint64_t now) {
  uint64_t next = UINT64_MAX;
  for (size_t i = 0; i < d->n_peers; i++) {
    mrt__peer *p = &d->peers[i];
    if (!p->update_due)
      continue;
    if (!reachable(p, now)) {
      p->update_due = false;
      continue;
    }
    uint64_t at = p->update_ever_sent ? p->update_sent_ns + UPDATE_INTERVAL_NS : now;
    if (at <= now)
      send_update(d, p, now);
    else if (at < next)
      next = at;
  }
  if (next == UINT64_MAX || (d->update_timer != 0 && d->update_at_ns <= next))
    return;
  if (d->update_timer != 0)
    mrt_timer_cancel(d->self, d->update_timer);
  d->update_timer = 0;
  if (mrt_timer_start(d->self, next - now, 0, update_tick, NULL, &d->update_timer) == 0)
    d->update_at_ns = next;
  else
    d->update_timer = 0; /* the next change or peer-map update flushes again */
}

void mrt__updates_due(mrt__direct *d, mrt__peer *p, uint64_t now) {
  p->update_due = true;
  mrt__updates_flush(d, now);
}

void mrt__updates_endpoints_changed(mrt__direct *d, uint64_t now) {
  for (size_t i = 0; i < d->n_peers; i++)
    d->peers[i].update_due = true;
  mrt__updates_flush(d, now);
}
