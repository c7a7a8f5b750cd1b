/* SPDX-License-Identifier: MIT */
/* meshrt — DirectManager's learned candidates: what a peer's own traffic
 * teaches us about where it is.
 *
 * The peer map gives each peer's configured endpoints, which go stale the
 * moment the peer's address or port changes. The peer then still reaches us
 * (it knows where we are), so its traffic tells us where it is now:
 *
 *   - An authenticated ping that is no replay (its id is not among the last
 *     ones the peer sent) from a source that is not a candidate: we answer it
 *     there and also ping that source ourselves (a challenge). Only when our
 *     ping is answered does the source become a candidate, confirmed at once.
 *     A ping captured and replayed from elsewhere may pass the replay ring
 *     once it has scrolled out, but it cannot answer our challenge (that
 *     takes the peer's key and a fresh transaction id of ours), so it never
 *     teaches anything, and the probation table it can fill is small and
 *     separate from the candidates.
 *   - An authenticated ping from a candidate whose path is not the trusted
 *     best: the peer is evidently there, so we ping back at once instead of
 *     waiting for the pinger's next pass (at most once a second per
 *     candidate, so a peer's burst does not multiply our pings).
 *   - An endpoint update (<meshrt/probe.h>) newer than any before from that
 *     peer: every usable endpoint it lists becomes a candidate and is pinged
 *     at once; a best path the update does not list may then be replaced by a
 *     listed one that answers (direct_paths.c, consider_best).
 *
 * Learned candidates are capped per peer (MRT_DIRECT_MAX_LEARNED); a new one
 * evicts the least recently heard learned candidate (never a configured one,
 * never the best path).
 *
 * Threading: called only from the DirectManager's context.
 */
#include "direct_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A peer that keeps pinging from a path we do not trust is pinged back at
 * most this often per candidate or challenged source. */
#define ANSWER_INTERVAL_NS MRT_SEC(1)

static bool answered_lately(uint64_t last_ns, uint64_t now) {
  return last_ns != 0 && now - last_ns < ANSWER_INTERVAL_NS;
}

/* The peer is evidently at candidate c (it pinged us from there, or listed
 * it in an update): pings it back at once, unless c is the trusted best path
 * already or was pinged back within ANSWER_INTERVAL_NS. */
static void ping_back(mrt__direct *d, mrt__peer *p, mrt__cand *c, uint64_t now) {
  if (mrt__paths_trusted(p, now) == c || answered_lately(c->last_answer_ping_ns, now))
    return;
  c->last_answer_ping_ns = now;
  mrt__paths_ping_cand(d, p, c, now);
}

/* The learned candidate heard from least recently, other than the best. */
static int least_recently_heard(const mrt__peer *p) {
  int victim = -1;
  for (size_t i = 0; i < p->n_cands; i++) {
    const mrt__cand *c = &p->cands[i];
    if (!c->learned || (int)i == p->best)
      continue;
    if (victim < 0 || c->last_heard_ns < p->cands[victim].last_heard_ns)
      victim = (int)i;
  }
  return victim;
}

/* A free slot at the end of p->cands, growing the array; -1 without memory. */
static int append_slot(mrt__peer *p) {
  if (p->n_cands == p->cap_cands) {
    size_t cap = p->cap_cands * 2;
    size_t max = MRT_DIRECT_MAX_CANDIDATES + MRT_DIRECT_MAX_LEARNED;
    if (cap > max)
      cap = max;
    if (cap <= p->n_cands)
      return -1;
    mrt__cand *grown = realloc(p->cands, cap * sizeof *grown);
    if (grown == NULL)
      return -1;
    p->cands = grown;
    p->cap_cands = cap;
  }
  return (int)p->n_cands++;
}

int mrt__learn_candidate(mrt__direct *d, mrt__peer *p, const struct sockaddr_storage *addr,
                         uint64_t now) {
  int idx = mrt__paths_find(p, addr);
  if (idx >= 0) {
    p->cands[idx].last_heard_ns = now;
    return idx;
  }
  char a[MRT__ADDR_STRLEN];
  if (p->n_learned == MRT_DIRECT_MAX_LEARNED) {
    idx = least_recently_heard(p);
    if (idx < 0)
      return -1;
    mrt_log(MRT_LOG_DEBUG, MRT__LOG, "learned candidate evicted peer=%llu addr=%s",
            (unsigned long long)p->id, mrt__addr_str(&p->cands[idx].addr, a));
    d->c.candidates_evicted++;
    p->n_learned--;
  } else if ((idx = append_slot(p)) < 0) {
    return -1;
  }
  mrt__cand *c = &p->cands[idx];
  memset(c, 0, sizeof *c);
  c->addr = *addr;
  c->tag = ++d->next_tag;
  c->learned = true;
  c->last_heard_ns = now;
  p->n_learned++;
  d->c.candidates_learned++;
  mrt_log(MRT_LOG_INFO, MRT__LOG, "candidate learned peer=%llu addr=%s", (unsigned long long)p->id,
          mrt__addr_str(addr, a));
  return idx;
}

/* ---- pings from the peer ------------------------------------------------------------- */

static mrt__probation *probation_of(mrt__peer *p, const struct sockaddr_storage *src) {
  for (size_t i = 0; i < MRT__PROBATION_MAX; i++)
    if (p->probation[i].sent_ns != 0 && mrt__addr_equal(&p->probation[i].addr, src))
      return &p->probation[i];
  return NULL;
}

/* A slot for a new challenge: a free one, else the oldest. */
static mrt__probation *probation_slot(mrt__peer *p) {
  mrt__probation *victim = &p->probation[0];
  for (size_t i = 0; i < MRT__PROBATION_MAX; i++) {
    if (p->probation[i].sent_ns == 0)
      return &p->probation[i];
    if (p->probation[i].sent_ns < victim->sent_ns)
      victim = &p->probation[i];
  }
  return victim;
}

static void challenge(mrt__direct *d, mrt__peer *p, const struct sockaddr_storage *src,
                      uint64_t now) {
  mrt__probation *pr = probation_of(p, src);
  if (pr != NULL && answered_lately(pr->sent_ns, now))
    return;
  if (pr == NULL)
    pr = probation_slot(p);
  pr->addr = *src;
  pr->tag = ++d->next_tag;
  pr->sent_ns = now != 0 ? now : 1; /* 0 marks a free slot */
  if (mrt__paths_send_ping(d, p, src, pr->tag, now))
    d->c.challenges_sent++;
}

/* Answers to sources that are no candidate, per peer and second: more than a
 * peer moving between a few addresses needs, few enough that a replay cannot
 * turn a node into a useful reflector. */
#define STRANGER_ANSWERS_PER_SEC 8

bool mrt__learn_may_answer(mrt__direct *d, mrt__peer *p, const struct sockaddr_storage *src,
                           uint64_t now) {
  if (mrt__paths_find(p, src) >= 0)
    return true;
  if (p->stranger_window_ns == 0 || now - p->stranger_window_ns >= MRT_SEC(1)) {
    p->stranger_window_ns = now != 0 ? now : 1;
    p->stranger_answers = 0;
  }
  if (p->stranger_answers < STRANGER_ANSWERS_PER_SEC) {
    p->stranger_answers++;
    return true;
  }
  d->c.pongs_withheld++;
  return false;
}

void mrt__learn_from_ping(mrt__direct *d, mrt__peer *p, const struct sockaddr_storage *src,
                          uint64_t now) {
  if (!mrt__addr_usable(src))
    return;
  int idx = mrt__paths_find(p, src);
  if (idx < 0) {
    challenge(d, p, src, now);
    return;
  }
  mrt__cand *c = &p->cands[idx];
  c->last_heard_ns = now;
  ping_back(d, p, c, now);
}

int mrt__learn_challenge_answered(mrt__direct *d, mrt__peer *p, uint32_t tag, uint64_t now) {
  for (size_t i = 0; i < MRT__PROBATION_MAX; i++) {
    mrt__probation *pr = &p->probation[i];
    if (pr->sent_ns == 0 || pr->tag != tag)
      continue;
    struct sockaddr_storage addr = pr->addr;
    memset(pr, 0, sizeof *pr);
    int idx = mrt__learn_candidate(d, p, &addr, now);
    if (idx >= 0) {
      p->cands[idx].pinged = true;
      p->cands[idx].last_ping_ns = now;
    }
    return idx;
  }
  return -1;
}

/* ---- endpoint updates from the peer ------------------------------------------------------ */

static bool newer(uint64_t epoch, uint64_t seq, const mrt__peer *p) {
  return epoch > p->heard_epoch || (epoch == p->heard_epoch && seq > p->heard_seq);
}

void mrt__learn_from_update(mrt__direct *d, mrt__peer *p, const mrt_probe_msg *m, uint64_t now) {
  if (!newer(m->epoch, m->seq, p)) {
    d->c.updates_replayed++;
    return;
  }
  bool restarted = m->epoch != p->heard_epoch;
  p->heard_epoch = m->epoch;
  p->heard_seq = m->seq;
  for (size_t i = 0; i < p->n_cands; i++)
    p->cands[i].listed = false;
  size_t usable = 0;
  for (size_t i = 0; i < m->n_endpoints; i++) {
    struct sockaddr_storage a = m->endpoints[i];
    mrt__addr_normalize(&a);
    if (!mrt__addr_usable(&a))
      continue;
    int idx = mrt__learn_candidate(d, p, &a, now);
    if (idx < 0)
      continue;
    usable++;
    mrt__cand *c = &p->cands[idx];
    c->listed = true;
    ping_back(d, p, c, now);
  }
  if (usable == 0) {
    d->c.updates_rejected++;
    return;
  }
  d->c.updates_received++;
  p->updates_received++;
  p->best_unlisted = p->best >= 0 && !p->cands[p->best].listed;
  char a[MRT__ADDR_STRLEN];
  mrt_log(MRT_LOG_INFO, MRT__LOG, "endpoint update peer=%llu endpoints=%zu%s%s",
          (unsigned long long)p->id, usable, p->best_unlisted ? " best path not listed: " : "",
          p->best_unlisted ? mrt__addr_str(&p->cands[p->best].addr, a) : "");
  mrt__paths_follow_update(d, p, now);
  /* A peer that restarted has lost what we told it: tell it again. */
  if (restarted)
    mrt__updates_due(d, p, now);
}
