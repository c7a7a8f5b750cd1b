/* SPDX-License-Identifier: MIT */
/* meshrt-node — pausing a listener while descriptors run out (see
 * accept_guard.h).
 *
 * libevent calls the listener's error callback for accept() errors it does
 * not retry itself (EAGAIN and EINTR it does). Resource errors pause the
 * listener and arm a one-shot timer that enables it again; other errors
 * (ECONNABORTED: the client gave up while queued) only concern that
 * connection and are logged at debug level, rate-limited too.
 *
 * libevent hands the error callback the listener and the listener's own user
 * data, which belongs to its owner (evhttp's, for the metrics endpoint), so
 * guards are found by listener in a small table. The table is touched on the
 * service thread only (guards are made before the loop runs and freed after
 * it stopped), so it needs no lock.
 *
 * The connection count is the owner's bookkeeping (admit, release), kept
 * here so that both listeners cap and log refusals the same way.
 *
 * Threading: the listener's event loop only.
 */
#include "accept_guard.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>

#include <meshrt/meshrt.h>

#include "logsink.h"
#include "ratelimit.h"
#include "util.h"

#define DELAY_MIN_MS 100
#define DELAY_MAX_MS 2000
#define LOG_INTERVAL_NS (10 * UINT64_C(1000000000))
/* A failure this long after the previous one starts from DELAY_MIN_MS again. */
#define CALM_NS (5 * UINT64_C(1000000000))

struct mn_accept_guard {
  struct evconnlistener *l;
  struct event *retry;
  const char *what;
  unsigned delay_ms;
  uint64_t last_fail_ns;
  uint64_t pauses;
  size_t cap, open; /* connections kept, at most cap (0: no cap) */
  uint64_t refused;
  mn_ratelimit rl, rl_other, rl_refused;
};

#define MAX_GUARDS 8
static mn_accept_guard *guards[MAX_GUARDS];

static mn_accept_guard *guard_of(struct evconnlistener *l) {
  for (size_t i = 0; i < MAX_GUARDS; i++)
    if (guards[i] != NULL && guards[i]->l == l)
      return guards[i];
  return NULL;
}

static bool resource_error(int err) {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

static void on_retry(evutil_socket_t fd, short what, void *ud) {
  (void)fd;
  (void)what;
  mn_accept_guard *g = ud;
  evconnlistener_enable(g->l);
}

static void on_error(struct evconnlistener *l, void *ud) {
  (void)ud;
  int err = EVUTIL_SOCKET_ERROR();
  mn_accept_guard *g = guard_of(l);
  if (g == NULL)
    return;
  uint64_t now = mn_now_ns(), held = 0;
  if (!resource_error(err)) {
    if (mn_ratelimit_allow(&g->rl_other, now, LOG_INTERVAL_NS, &held))
      mrt_log(MRT_LOG_DEBUG, MN_LOG, "%s: accept failed err=%s held_back=%" PRIu64, g->what,
              strerror(err), held);
    return;
  }
  if (g->delay_ms == 0 || now - g->last_fail_ns > CALM_NS)
    g->delay_ms = DELAY_MIN_MS;
  else if (g->delay_ms < DELAY_MAX_MS)
    g->delay_ms = g->delay_ms * 2 < DELAY_MAX_MS ? g->delay_ms * 2 : DELAY_MAX_MS;
  g->last_fail_ns = now;
  g->pauses++;
  evconnlistener_disable(l);
  struct timeval tv = {(time_t)(g->delay_ms / 1000), (suseconds_t)(g->delay_ms % 1000) * 1000};
  if (event_add(g->retry, &tv) < 0)
    evconnlistener_enable(l); /* cannot pause: better to spin than to stop serving */
  if (mn_ratelimit_allow(&g->rl, now, LOG_INTERVAL_NS, &held))
    mrt_log(MRT_LOG_WARN, MN_LOG,
            "%s: cannot accept connections err=%s; paused for %u ms, retrying "
            "(pauses=%" PRIu64 " held_back=%" PRIu64 ")",
            g->what, strerror(err), g->delay_ms, g->pauses, held);
}

int mn_accept_guard_new(struct event_base *base, struct evconnlistener *l, const char *what,
                        mn_accept_guard **out) {
  size_t slot = 0;
  while (slot < MAX_GUARDS && guards[slot] != NULL)
    slot++;
  if (slot == MAX_GUARDS)
    return -ENOSPC;
  mn_accept_guard *g = calloc(1, sizeof *g);
  if (g == NULL || (g->retry = evtimer_new(base, on_retry, g)) == NULL) {
    free(g);
    return -ENOMEM;
  }
  g->l = l;
  g->what = what;
  guards[slot] = g;
  evconnlistener_set_error_cb(l, on_error);
  *out = g;
  return 0;
}

void mn_accept_guard_ok(mn_accept_guard *g) {
  if (g != NULL)
    g->delay_ms = 0;
}

uint64_t mn_accept_guard_pauses(const mn_accept_guard *g) {
  return g != NULL ? g->pauses : 0;
}

void mn_accept_guard_set_cap(mn_accept_guard *g, size_t cap) {
  g->cap = cap;
}

size_t mn_accept_guard_cap(const mn_accept_guard *g) {
  return g->cap;
}

bool mn_accept_guard_full(const mn_accept_guard *g) {
  return g->cap != 0 && g->open >= g->cap;
}

bool mn_accept_guard_admit(mn_accept_guard *g) {
  if (!mn_accept_guard_full(g)) {
    g->open++;
    return true;
  }
  uint64_t held = 0;
  g->refused++;
  if (mn_ratelimit_allow(&g->rl_refused, mn_now_ns(), LOG_INTERVAL_NS, &held))
    mrt_log(MRT_LOG_WARN, MN_LOG,
            "%s: client refused, all %zu places busy refused=%" PRIu64 " held_back=%" PRIu64,
            g->what, g->cap, g->refused, held);
  return false;
}

void mn_accept_guard_release(mn_accept_guard *g) {
  if (g != NULL && g->open > 0)
    g->open--;
}

void mn_accept_guard_free(mn_accept_guard *g) {
  if (g == NULL)
    return;
  for (size_t i = 0; i < MAX_GUARDS; i++)
    if (guards[i] == g)
      guards[i] = NULL;
  evconnlistener_set_error_cb(g->l, NULL);
  event_free(g->retry);
  free(g);
}
