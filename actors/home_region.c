/* SPDX-License-Identifier: MIT */
/* meshrt — home (preferred) DERP region selection with hysteresis.
 *
 * Each measurement round says how far every reachable DERP region is. Moving
 * home is expensive (peers must re-learn where to find the node), while single
 * rounds are noisy, so the choice looks at the best latency each region showed
 * over a five-minute window and switches only for a clear gain: at least 10 ms
 * and more than a third faster. The rules and their integer arithmetic are
 * spelled out in <meshrt/home_region.h>; the numbers come from the original
 * design (and, through it, from Tailscale's netcheck).
 *
 * The history is a flat array of (time, region, latency) samples, oldest first,
 * appended once per round and trimmed from the front; rounds arrive in time
 * order, so the live part is always a contiguous, sorted slice. A round costs
 * O(history * log n) to score, which for a few hundred regions and rounds is
 * far below the cost of the measurement that produced it.
 *
 * Threading: none of its own. A selector is owned by one actor and only used
 * from that actor's handlers; it never reads a clock, sleeps or logs.
 */
#include <meshrt/home_region.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SELECTOR_MAGIC 0x686f6d65u /* "home" */
#define NS_PER_MS UINT64_C(1000000)
#define NS_PER_SEC UINT64_C(1000000000)

struct mrt_home_region_sample {
  uint64_t time_ns;
  uint64_t latency_ns;
  int region_id;
};

/* One region of the current round, with its score being computed. */
struct candidate {
  int region_id;
  uint64_t latency_ns;
  uint64_t score_ns;
};

mrt_home_region_config mrt_home_region_config_default(void) {
  mrt_home_region_config cfg = {
      .window_ns = 5 * 60 * NS_PER_SEC,
      .min_gain_ns = 10 * NS_PER_MS,
      .keep_ratio_num = 2,
      .keep_ratio_den = 3,
      .no_data_keep_ns = 120 * NS_PER_SEC,
      .max_samples = 16384,
  };
  return cfg;
}

static bool config_valid(const mrt_home_region_config *cfg) {
  return cfg->window_ns > 0 && cfg->keep_ratio_den > 0 && cfg->keep_ratio_num > 0 &&
         cfg->keep_ratio_num <= cfg->keep_ratio_den && cfg->max_samples > 0 &&
         cfg->max_samples <= MRT_HOME_REGION_MAX_SAMPLES_LIMIT;
}

static bool selector_valid(const mrt_home_region *sel) {
  return sel != NULL && sel->magic == SELECTOR_MAGIC;
}

int mrt_home_region_init(mrt_home_region *sel, const mrt_home_region_config *cfg) {
  mrt_home_region_config def = mrt_home_region_config_default();

  if (sel == NULL)
    return -EINVAL;
  if (cfg == NULL)
    cfg = &def;
  if (!config_valid(cfg))
    return -EINVAL;
  memset(sel, 0, sizeof(*sel));
  sel->cfg = *cfg;
  sel->magic = SELECTOR_MAGIC;
  return 0;
}

void mrt_home_region_fini(mrt_home_region *sel) {
  if (sel == NULL)
    return;
  if (sel->magic == SELECTOR_MAGIC)
    free(sel->samples);
  memset(sel, 0, sizeof(*sel));
}

int mrt_home_region_home(const mrt_home_region *sel) {
  return selector_valid(sel) ? sel->home : -EINVAL;
}

/* A sample from the future (only possible in mrt_home_region_score) is not
 * "older than the window", so it counts. */
static bool in_window(uint64_t t, uint64_t now, uint64_t window) {
  return t >= now || now - t <= window;
}

static int cmp_candidate(const void *a, const void *b) {
  int x = ((const struct candidate *)a)->region_id;
  int y = ((const struct candidate *)b)->region_id;
  return (x > y) - (x < y);
}

/* Copy the round into a table sorted by region id, rejecting non-positive and
 * duplicate ids. Sorting makes duplicates adjacent and scoring a bsearch. */
static int build_candidates(const mrt_region_latency *results, size_t n, struct candidate **out) {
  struct candidate *c;

  *out = NULL;
  if (n == 0)
    return 0;
  c = malloc(n * sizeof(*c));
  if (c == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    c[i].region_id = results[i].region_id;
    c[i].latency_ns = results[i].latency_ns;
    c[i].score_ns = results[i].latency_ns;
  }
  qsort(c, n, sizeof(*c), cmp_candidate);
  for (size_t i = 0; i < n; i++) {
    if (c[i].region_id <= 0 || (i > 0 && c[i].region_id == c[i - 1].region_id)) {
      free(c);
      return -EINVAL;
    }
  }
  *out = c;
  return 0;
}

/* Make room to append n samples without touching what the history means, so
 * a failure here leaves the selector unchanged. */
static int reserve(mrt_home_region *sel, size_t n) {
  struct mrt_home_region_sample *s;
  size_t cap;

  if (sel->start + sel->len + n <= sel->cap)
    return 0;
  if (sel->len + n <= sel->cap) {
    memmove(sel->samples, sel->samples + sel->start, sel->len * sizeof(*s));
    sel->start = 0;
    return 0;
  }
  /* len <= max_samples and n <= max_samples, both bounded by the LIMIT, so
     * neither the doubling nor the byte count can overflow. */
  cap = sel->cap * 2 > sel->len + n ? sel->cap * 2 : sel->len + n;
  if (cap < 64)
    cap = 64;
  if (sel->start > 0) {
    memmove(sel->samples, sel->samples + sel->start, sel->len * sizeof(*s));
    sel->start = 0;
  }
  s = realloc(sel->samples, cap * sizeof(*s));
  if (s == NULL)
    return -ENOMEM;
  sel->samples = s;
  sel->cap = cap;
  return 0;
}

/* Drop samples that left the window, then the oldest beyond the bound. */
static void prune(mrt_home_region *sel, uint64_t now_ns) {
  while (sel->len > 0 && !in_window(sel->samples[sel->start].time_ns, now_ns, sel->cfg.window_ns)) {
    sel->start++;
    sel->len--;
  }
  if (sel->len > sel->cfg.max_samples) {
    sel->start += sel->len - sel->cfg.max_samples;
    sel->len = sel->cfg.max_samples;
  }
  if (sel->len == 0)
    sel->start = 0;
}

static void append_round(mrt_home_region *sel, uint64_t now_ns, const struct candidate *c,
                         size_t n) {
  for (size_t i = 0; i < n; i++) {
    struct mrt_home_region_sample *s = &sel->samples[sel->start + sel->len++];
    s->time_ns = now_ns;
    s->latency_ns = c[i].latency_ns;
    s->region_id = c[i].region_id;
  }
}

/* Lower each candidate's score to its best latency in the (already pruned)
 * history. Candidates start at this round's latency, which is in the history
 * too, so every candidate ends with a score. */
static void score_candidates(const mrt_home_region *sel, struct candidate *c, size_t n) {
  for (size_t i = 0; i < sel->len; i++) {
    const struct mrt_home_region_sample *s = &sel->samples[sel->start + i];
    struct candidate key = {.region_id = s->region_id}, *hit;

    hit = bsearch(&key, c, n, sizeof(*c), cmp_candidate);
    if (hit != NULL && s->latency_ns < hit->score_ns)
      hit->score_ns = s->latency_ns;
  }
}

/* The hysteresis: should a home scoring old_ns stay home against a best region
 * scoring best_ns? Division comes first, so the bound cannot overflow (num <= den)
 * and matches the documented integer boundary. */
static bool keep_home(const mrt_home_region_config *cfg, uint64_t old_ns, uint64_t best_ns) {
  if (old_ns <= best_ns)
    return true;
  if (old_ns - best_ns < cfg->min_gain_ns)
    return true;
  return best_ns > old_ns / cfg->keep_ratio_den * cfg->keep_ratio_num;
}

/* Pick the home among this round's scored candidates (sorted by id, n > 0). */
static int choose(const mrt_home_region *sel, const struct candidate *c, size_t n) {
  const struct candidate *best = &c[0], *home = NULL;

  for (size_t i = 0; i < n; i++) {
    if (c[i].score_ns < best->score_ns)
      best = &c[i]; /* strict: ties keep the lower id */
    if (c[i].region_id == sel->home)
      home = &c[i];
  }
  if (home == NULL) /* no home yet, or it was not heard from this round */
    return best->region_id;
  return keep_home(&sel->cfg, home->score_ns, best->score_ns) ? home->region_id : best->region_id;
}

int mrt_home_region_observe(mrt_home_region *sel, uint64_t now_ns,
                            const mrt_region_latency *results, size_t n, int *home_out,
                            bool *changed_out) {
  struct candidate *c = NULL;
  int old, rc;

  if (!selector_valid(sel) || (results == NULL && n > 0))
    return -EINVAL;
  if (sel->seen_round && now_ns < sel->last_round_ns)
    return -EINVAL;
  if (n > sel->cfg.max_samples)
    return -E2BIG;
  /* Everything that can fail happens before the selector is changed. */
  if ((rc = build_candidates(results, n, &c)) < 0)
    return rc;
  if ((rc = reserve(sel, n)) < 0) {
    free(c);
    return rc;
  }
  old = sel->home;
  sel->seen_round = true;
  sel->last_round_ns = now_ns;
  append_round(sel, now_ns, c, n);
  prune(sel, now_ns); /* after appending, so max_samples counts this round */
  if (n == 0) {
    if (sel->home != 0 && now_ns - sel->last_data_ns > sel->cfg.no_data_keep_ns)
      sel->home = 0;
  } else {
    score_candidates(sel, c, n);
    sel->home = choose(sel, c, n);
    sel->last_data_ns = now_ns;
  }
  free(c);
  if (home_out != NULL)
    *home_out = sel->home;
  if (changed_out != NULL)
    *changed_out = sel->home != old;
  return 0;
}

int mrt_home_region_score(const mrt_home_region *sel, uint64_t now_ns, int region_id,
                          uint64_t *score_ns) {
  bool found = false;
  uint64_t best = 0;

  if (!selector_valid(sel) || score_ns == NULL)
    return -EINVAL;
  for (size_t i = 0; i < sel->len; i++) {
    const struct mrt_home_region_sample *s = &sel->samples[sel->start + i];
    if (s->region_id != region_id || !in_window(s->time_ns, now_ns, sel->cfg.window_ns))
      continue;
    if (!found || s->latency_ns < best)
      best = s->latency_ns;
    found = true;
  }
  if (!found)
    return -ENOENT;
  *score_ns = best;
  return 0;
}
