/* SPDX-License-Identifier: MIT */
/* meshrt — DerpLatencyMeasurer (see <meshrt/derp_latency.h>).
 *
 * The actor keeps the last DERP map it was given and, on demand, runs one
 * measurement round at a time: every region gets a probe, a probe walks its
 * region's STUN servers one after the other until one answers, and the round
 * ends on the first of three conditions (enough answers after the minimum
 * wait, every probe finished, the report deadline). Requests that arrive while
 * a round runs set a single "follow-up" flag, so a burst of link changes costs
 * one extra round, not one per change.
 *
 * Latency is measured on the runtime clock, so on the virtual clock a STUN
 * responder with an artificial delay yields exactly that delay, which is what
 * lets the tests check home-region hysteresis without timing noise.
 *
 * STUN replies are matched by transaction id (fresh random bytes per request,
 * from libsodium) AND by source address, so a stale or spoofed datagram can
 * neither finish a probe nor skew a latency. Every datagram that is not the
 * answer to a probe is counted against the server it came from with the
 * reason (stun_table.c), so "this region has no latency" can be explained.
 *
 * Threading: the sockets are watched with mrt_io_watch, so reads, timers and
 * bus messages all run in the actor's context; nothing here is shared.
 */
#include <meshrt/derp_latency.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include <meshrt/bus.h>
#include <meshrt/error.h>
#include <meshrt/io.h>
#include <meshrt/log.h>
#include <meshrt/node_msgs.h>
#include <meshrt/stun.h>

#include "stun_table.h"

#define LOG "derp-latency"
/* Datagrams read per readable callback; the watch is level-triggered, so what
 * is left fires it again after other actors had their turn. */
#define READ_MAX 64
#define DGRAM_MAX 1500

typedef enum probe_state { PROBE_WAITING = 0, PROBE_OK, PROBE_FAILED } probe_state;

typedef struct probe {
  int region_id;
  char code[MRT_REGION_CODE_MAX];
  const struct sockaddr_storage *servers; /* into the round's pool */
  size_t n_servers, next;                 /* next: the server to try next */
  struct sockaddr_storage target;         /* the server asked now */
  mrt_stun_txid txid;
  uint64_t sent_ns, latency_ns;
  uint64_t timer; /* per-request timeout; 0: none */
  probe_state st;
} probe;

typedef struct msock {
  int fd; /* -1: not open */
  uint64_t watch;
} msock;

typedef struct measurer {
  mrt_derp_latency_config cfg;
  msock sock4, sock6;
  mrt_derp_map *map; /* cached, one reference held; NULL: none */
  mrt_home_region home;
  bool home_ready;
  /* The running round. */
  bool measuring, follow_up, starting;
  probe *probes;
  size_t n_probes, finished, ok;
  struct sockaddr_storage *pool;
  uint64_t round_start_ns, min_wait_timer, deadline_timer;
  mrt_derp_latency_stats stats;
  mrt__stun_table servers; /* per-server counters, follows the map */
} measurer;

static void servers_drop(void *r) {
  mrt_stun_server_list_release(r);
}

MRT_MESSAGE_DEFINE(derp_latency_stats, mrt_none, mrt_derp_latency_stats, NULL, NULL);
MRT_MESSAGE_DEFINE(derp_latency_servers, mrt_none, mrt_stun_server_list, NULL, servers_drop);

/* ---- configuration ------------------------------------------------------------ */

mrt_derp_latency_config mrt_derp_latency_config_default(void) {
  mrt_derp_latency_config c;
  memset(&c, 0, sizeof c);
  c.report_deadline_ns = MRT_DERP_LATENCY_REPORT_DEADLINE_DEFAULT;
  c.min_wait_ns = MRT_DERP_LATENCY_MIN_WAIT_DEFAULT;
  c.min_results = MRT_DERP_LATENCY_MIN_RESULTS_DEFAULT;
  c.probe_timeout_ns = MRT_DERP_LATENCY_PROBE_TIMEOUT_DEFAULT;
  c.home = mrt_home_region_config_default();
  return c;
}

static const char *config_problem(const mrt_derp_latency_config *c) {
  int fam = c->listen_addr.ss_family;
  if (fam != AF_UNSPEC && fam != AF_INET && fam != AF_INET6)
    return "listen_addr must be AF_UNSPEC, AF_INET or AF_INET6";
  if (c->report_deadline_ns == 0 || c->probe_timeout_ns == 0)
    return "report_deadline_ns and probe_timeout_ns must be positive";
  if (c->min_results == 0)
    return "min_results must be at least 1";
  mrt_home_region probe_sel;
  if (mrt_home_region_init(&probe_sel, &c->home) < 0)
    return "invalid home-region config (start from mrt_derp_latency_config_default)";
  mrt_home_region_fini(&probe_sel);
  return NULL;
}

/* ---- addresses and sockets ------------------------------------------------------ */

static socklen_t addr_len(int family) {
  return family == AF_INET ? (socklen_t)sizeof(struct sockaddr_in)
                           : (socklen_t)sizeof(struct sockaddr_in6);
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  if (a->ss_family != b->ss_family)
    return false;
  if (a->ss_family == AF_INET) {
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a->ss_family == AF_INET6) {
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
  }
  return false;
}

/* Opens and binds a non-blocking UDP socket of `family` at `at` (or the
 * wildcard when `at` is of another family). Returns the fd or -errno. */
static int open_socket(int family, const struct sockaddr_storage *at) {
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  if (at->ss_family == family)
    ss = *at;
  ss.ss_family = (sa_family_t)family;
  if (family == AF_INET6) {
    /* One socket per family keeps source-address matching exact: no
     * v4-mapped addresses to normalise. */
    int one = 1;
    (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  if (bind(fd, (struct sockaddr *)&ss, addr_len(family)) < 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  return fd;
}

static msock *sock_for(measurer *m, int family) {
  msock *s = family == AF_INET ? &m->sock4 : family == AF_INET6 ? &m->sock6 : NULL;
  return s != NULL && s->fd >= 0 ? s : NULL;
}

static int on_readable(mrt_actor *self, void *state, int fd, short what, void *ud);

/* Opens the configured sockets: both families for the wildcard (IPv6 best
 * effort), else the one asked for. Returns 0 or the error of the last
 * failure when none could be opened. */
static int open_sockets(mrt_actor *self, measurer *m) {
  int fam = m->cfg.listen_addr.ss_family;
  int err = 0;
  static const int families[] = {AF_INET, AF_INET6};
  for (int i = 0; i < 2; i++) {
    if (fam != AF_UNSPEC && fam != families[i])
      continue;
    msock *s = families[i] == AF_INET ? &m->sock4 : &m->sock6;
    int fd = open_socket(families[i], &m->cfg.listen_addr);
    if (fd < 0) {
      err = fd;
      mrt_log(fam == AF_UNSPEC && families[i] == AF_INET6 ? MRT_LOG_DEBUG : MRT_LOG_WARN, LOG,
              "cannot open the %s measuring socket err=%s",
              families[i] == AF_INET ? "IPv4" : "IPv6", mrt_strerror(fd));
      continue;
    }
    s->fd = fd;
    int rc = mrt_io_watch(self, fd, MRT_IO_READ, on_readable, NULL, &s->watch);
    if (rc < 0)
      return rc;
  }
  return m->sock4.fd >= 0 || m->sock6.fd >= 0 ? 0 : (err < 0 ? err : -EINVAL);
}

/* In on_stop the runtime has already removed the watches (the cancel then
 * says -ENOENT); after a failed on_start they still exist, and the event loop
 * must forget a descriptor before it is closed. */
static void close_sockets(mrt_actor *self, measurer *m) {
  msock *all[] = {&m->sock4, &m->sock6};
  for (int i = 0; i < 2; i++) {
    if (all[i]->watch != 0)
      (void)mrt_io_cancel(self, all[i]->watch);
    all[i]->watch = 0;
    if (all[i]->fd >= 0)
      close(all[i]->fd);
    all[i]->fd = -1;
  }
}

/* ---- a round ---------------------------------------------------------------------- */

static void start_round(mrt_actor *self, measurer *m);
static void check_done(mrt_actor *self, measurer *m);

static void cancel_timer(mrt_actor *self, uint64_t *id) {
  if (*id != 0)
    (void)mrt_timer_cancel(self, *id); /* -ENOENT: it fired; nothing to undo */
  *id = 0;
}

static int send_request(measurer *m, probe *p) {
  msock *s = sock_for(m, p->target.ss_family);
  if (s == NULL)
    return -EAFNOSUPPORT;
  uint8_t buf[MRT_STUN_REQUEST_LEN(sizeof MRT_STUN_SOFTWARE - 1)];
  randombytes_buf(p->txid.bytes, sizeof p->txid.bytes);
  int n = mrt_stun_build_binding_request(buf, sizeof buf, &p->txid, MRT_STUN_SOFTWARE);
  if (n < 0)
    return n;
  ssize_t sent = sendto(s->fd, buf, (size_t)n, 0, (const struct sockaddr *)&p->target,
                        addr_len(p->target.ss_family));
  return sent == n ? 0 : sent < 0 ? -errno : -EIO;
}

static int probe_timeout(mrt_actor *self, void *state, void *ud);

/* Asks the probe's next server; when none is left the probe has failed. */
static void probe_next(mrt_actor *self, measurer *m, size_t idx) {
  probe *p = &m->probes[idx];
  while (p->next < p->n_servers) {
    if (p->next > 0)
      m->stats.failovers++;
    p->target = p->servers[p->next++];
    int rc = send_request(m, p);
    if (rc == 0) {
      m->stats.requests_sent++;
      mrt_stun_server_stats *row = mrt__stun_table_find(&m->servers, p->region_id, &p->target);
      if (row != NULL)
        row->sent++;
      p->sent_ns = mrt_actor_now(self);
      /* Without the timer the report deadline still ends the round. */
      if (mrt_timer_start(self, m->cfg.probe_timeout_ns, 0, probe_timeout, (void *)(uintptr_t)idx,
                          &p->timer) < 0)
        p->timer = 0;
      return;
    }
    m->stats.send_errors++;
    mrt_log(MRT_LOG_DEBUG, LOG, "STUN request not sent region=%d err=%s", p->region_id,
            mrt_strerror(rc));
  }
  p->st = PROBE_FAILED;
  m->finished++;
  if (!m->starting)
    check_done(self, m); /* may end the round: p is not used after this */
}

/* The server asked now failed (timeout or error response): next one. */
static void probe_failed(mrt_actor *self, measurer *m, size_t idx) {
  cancel_timer(self, &m->probes[idx].timer);
  probe_next(self, m, idx);
}

static int probe_timeout(mrt_actor *self, void *state, void *ud) {
  measurer *m = state;
  size_t idx = (size_t)(uintptr_t)ud;
  /* Every timer of a round is cancelled when it ends, so a live index is
   * this round's; the state check is a second line of defence. */
  if (!m->measuring || idx >= m->n_probes || m->probes[idx].st != PROBE_WAITING)
    return 0;
  m->probes[idx].timer = 0;
  m->stats.timeouts++;
  probe_next(self, m, idx);
  return 0;
}

static void probe_answered(mrt_actor *self, measurer *m, size_t idx, uint64_t now) {
  probe *p = &m->probes[idx];
  cancel_timer(self, &p->timer);
  p->st = PROBE_OK;
  p->latency_ns = now - p->sent_ns;
  m->ok++;
  m->finished++;
  check_done(self, m);
}

/* Collects the round's servers: per region, each node's fixed IPv4 then IPv6
 * STUN address, for the families we have a socket for. With `pool` NULL it
 * only counts. */
static size_t collect_servers(measurer *m, const mrt_derp_region *r,
                              struct sockaddr_storage *pool) {
  size_t n = 0;
  for (size_t j = 0; j < r->n_nodes; j++) {
    static const int families[] = {AF_INET, AF_INET6};
    for (int f = 0; f < 2; f++) {
      struct sockaddr_storage ss;
      if (sock_for(m, families[f]) == NULL ||
          mrt_derp_node_stun_addr(&r->nodes[j], families[f], &ss) < 0)
        continue;
      if (pool != NULL)
        pool[n] = ss;
      n++;
    }
  }
  return n;
}

/* Builds the probes of a round from the cached map. Returns 0 or -ENOMEM. */
static int build_probes(measurer *m) {
  size_t nreg = mrt_derp_map_region_count(m->map), total = 0;
  for (size_t i = 0; i < nreg; i++)
    total += collect_servers(m, mrt_derp_map_region_at(m->map, i), NULL);
  m->probes = calloc(nreg ? nreg : 1, sizeof *m->probes);
  m->pool = calloc(total ? total : 1, sizeof *m->pool);
  if (m->probes == NULL || m->pool == NULL)
    return -ENOMEM;
  size_t used = 0;
  for (size_t i = 0; i < nreg; i++) {
    const mrt_derp_region *r = mrt_derp_map_region_at(m->map, i);
    probe *p = &m->probes[i];
    p->region_id = r->region_id;
    snprintf(p->code, sizeof p->code, "%s", r->region_code);
    p->servers = m->pool + used;
    p->n_servers = collect_servers(m, r, m->pool + used);
    used += p->n_servers;
  }
  m->n_probes = nreg;
  return 0;
}

static void free_round(measurer *m) {
  free(m->probes);
  free(m->pool);
  m->probes = NULL;
  m->pool = NULL;
  m->n_probes = m->finished = m->ok = 0;
}

static int round_min_wait(mrt_actor *self, void *state, void *ud);
static int round_deadline(mrt_actor *self, void *state, void *ud);

static void start_round(mrt_actor *self, measurer *m) {
  if (build_probes(m) < 0) {
    free_round(m);
    mrt_log(MRT_LOG_ERROR, LOG, "out of memory: measurement skipped");
    return;
  }
  m->measuring = true;
  m->follow_up = false; /* this round serves whatever was owed so far */
  m->round_start_ns = mrt_actor_now(self);
  /* Timer failures only delay the end: the last probe finishing ends it too. */
  if (mrt_timer_start(self, m->cfg.report_deadline_ns, 0, round_deadline, NULL,
                      &m->deadline_timer) < 0)
    m->deadline_timer = 0;
  if (mrt_timer_start(self, m->cfg.min_wait_ns, 0, round_min_wait, NULL, &m->min_wait_timer) < 0)
    m->min_wait_timer = 0;
  mrt_log(MRT_LOG_DEBUG, LOG, "measuring regions=%zu", m->n_probes);
  /* Send everything before judging the round, so a probe that fails at once
   * cannot end it while others are still unsent. */
  m->starting = true;
  for (size_t i = 0; i < m->n_probes; i++)
    probe_next(self, m, i);
  m->starting = false;
  check_done(self, m);
}

static int cmp_result(const void *a, const void *b) {
  const mrt_derp_region_result *x = a, *y = b;
  if (x->latency_ns != y->latency_ns)
    return x->latency_ns < y->latency_ns ? -1 : 1;
  return (x->region_id > y->region_id) - (x->region_id < y->region_id);
}

/* Feeds the round to the selector and publishes a change of home. */
static void select_home(mrt_actor *self, measurer *m, const mrt_derp_region_result *res, size_t n,
                        uint64_t now) {
  mrt_region_latency *lat = calloc(n ? n : 1, sizeof *lat);
  if (lat == NULL) {
    mrt_log(MRT_LOG_ERROR, LOG, "out of memory: home region not updated");
    return;
  }
  for (size_t i = 0; i < n; i++)
    lat[i] = (mrt_region_latency){res[i].region_id, res[i].latency_ns};
  int old = mrt_home_region_home(&m->home), home = 0;
  bool changed = false;
  int rc = mrt_home_region_observe(&m->home, now, lat, n, &home, &changed);
  free(lat);
  if (rc < 0) {
    mrt_log(MRT_LOG_ERROR, LOG, "home region selection failed err=%s", mrt_strerror(rc));
    return;
  }
  if (!changed)
    return;
  mrt_home_region_changed ev = {.old_region = old, .new_region = home, .at_ns = now};
  mrt_log(MRT_LOG_INFO, LOG, "home region changed old=%d new=%d", old, home);
  m->stats.home_changes++;
  (void)mrt_publish_home_region_changed(mrt_runtime_bus(mrt_actor_runtime(self)), &ev);
}

/* Ends the round: cancels its timers, publishes, selects home, and starts
 * the follow-up round if one is owed. */
static void end_round(mrt_actor *self, measurer *m, const char *why) {
  uint64_t now = mrt_actor_now(self);
  cancel_timer(self, &m->deadline_timer);
  cancel_timer(self, &m->min_wait_timer);
  mrt_derp_region_result *res = calloc(m->ok ? m->ok : 1, sizeof *res);
  size_t n = 0;
  for (size_t i = 0; i < m->n_probes; i++) {
    probe *p = &m->probes[i];
    cancel_timer(self, &p->timer);
    if (p->st != PROBE_OK || res == NULL)
      continue;
    res[n].region_id = p->region_id;
    memcpy(res[n].region_code, p->code, sizeof res[n].region_code);
    res[n].latency_ns = p->latency_ns;
    res[n].probed = p->target;
    n++;
  }
  size_t regions = m->n_probes;
  free_round(m);
  m->measuring = false;
  if (res == NULL) {
    mrt_log(MRT_LOG_ERROR, LOG, "out of memory: measurement dropped");
  } else {
    qsort(res, n, sizeof *res, cmp_result);
    mrt_log(MRT_LOG_INFO, LOG, "measured regions=%zu answered=%zu best=%d best_us=%llu end=%s",
            regions, n, n ? res[0].region_id : 0,
            (unsigned long long)(n ? res[0].latency_ns / 1000 : 0), why);
    select_home(self, m, res, n, now);
    m->stats.rounds++;
    m->stats.last_round_ns = now;
    m->stats.last_results = n;
    mrt_derp_latency_measurement msg = {.at_ns = now, .n = n, .results = res};
    if (mrt_publish_derp_latency_measurement(mrt_runtime_bus(mrt_actor_runtime(self)), &msg) < 0)
      free(res); /* a failed publish leaves the payload with us */
  }
  if (m->follow_up && m->map != NULL)
    start_round(self, m);
}

static void check_done(mrt_actor *self, measurer *m) {
  if (!m->measuring || m->starting)
    return;
  if (m->finished == m->n_probes)
    end_round(self, m, "all-finished");
  else if (m->ok >= m->cfg.min_results &&
           mrt_actor_now(self) - m->round_start_ns >= m->cfg.min_wait_ns)
    end_round(self, m, "enough-results");
}

static int round_min_wait(mrt_actor *self, void *state, void *ud) {
  (void)ud;
  measurer *m = state;
  m->min_wait_timer = 0;
  check_done(self, m);
  return 0;
}

static int round_deadline(mrt_actor *self, void *state, void *ud) {
  (void)ud;
  measurer *m = state;
  m->deadline_timer = 0;
  if (m->measuring)
    end_round(self, m, "deadline");
  return 0;
}

/* ---- the read path ------------------------------------------------------------------ */

/* Counts a refused datagram from `src` against its server: the one a probe
 * waits on at that address (its region is then certain), else the first row
 * of that address. */
static void refuse(mrt_actor *self, measurer *m, const struct sockaddr_storage *src,
                   const char *why) {
  int region = 0;
  for (size_t i = 0; m->measuring && i < m->n_probes && region == 0; i++)
    if (m->probes[i].st == PROBE_WAITING && same_addr(&m->probes[i].target, src))
      region = m->probes[i].region_id;
  mrt__stun_table_reject(&m->servers, mrt__stun_table_find(&m->servers, region, src), src,
                         mrt_actor_now(self), LOG, why);
}

static void on_datagram(mrt_actor *self, measurer *m, const uint8_t *buf, size_t len,
                        const struct sockaddr_storage *src) {
  mrt_stun_response resp;
  char why[MRT_STUN_REASON_MAX];
  if (mrt_stun_parse_binding_response(buf, len, &resp) < 0) {
    m->stats.garbage++;
    mrt__stun_reason_of(&resp, why, sizeof why);
    refuse(self, m, src, why);
    return;
  }
  for (size_t i = 0; m->measuring && i < m->n_probes; i++) {
    probe *p = &m->probes[i];
    if (p->st != PROBE_WAITING || !mrt_stun_txid_equal(&p->txid, &resp.txid) ||
        !same_addr(&p->target, src))
      continue;
    m->stats.responses++;
    mrt_stun_server_stats *row = mrt__stun_table_find(&m->servers, p->region_id, src);
    if (resp.is_error) {
      snprintf(why, sizeof why, "error response %d", resp.error_code);
      mrt__stun_table_reject(&m->servers, row, src, mrt_actor_now(self), LOG, why);
      probe_failed(self, m, i);
    } else {
      if (row != NULL)
        row->answered++;
      probe_answered(self, m, i, mrt_actor_now(self));
    }
    return;
  }
  m->stats.stale++;
  refuse(self, m, src, "no request in flight with this transaction id");
}

static int on_readable(mrt_actor *self, void *state, int fd, short what, void *ud) {
  (void)what;
  (void)ud;
  measurer *m = state;
  uint8_t buf[DGRAM_MAX];
  for (int i = 0; i < READ_MAX; i++) {
    struct sockaddr_storage src;
    socklen_t slen = sizeof src;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&src, &slen);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        mrt_log(MRT_LOG_DEBUG, LOG, "receive failed err=%s", mrt_strerror(-errno));
      break;
    }
    on_datagram(self, m, buf, (size_t)n, &src);
  }
  return 0;
}

/* ---- messages ---------------------------------------------------------------------------- */

/* A round is owed: run it now, or fold it into the follow-up of the running one. */
static void want_round(mrt_actor *self, measurer *m) {
  if (!m->measuring) {
    start_round(self, m);
    return;
  }
  if (m->follow_up)
    m->stats.folded++;
  m->follow_up = true;
}

static int on_derp_map(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)r;
  measurer *m = state;
  const mrt_derp_map_update *u = payload;
  m->stats.maps++;
  mrt_derp_map_unref(m->map);
  m->map = mrt_derp_map_ref(u->map);
  /* Only the families we can ask, as the rounds do. Without memory the old
   * rows stay: counters of a stale map beat a crash. */
  int family = m->sock4.fd >= 0 && m->sock6.fd >= 0 ? AF_UNSPEC
               : m->sock4.fd >= 0                   ? AF_INET
                                                    : AF_INET6;
  if (mrt__stun_table_load(&m->servers, m->map, family) < 0)
    mrt_log(MRT_LOG_ERROR, LOG, "out of memory: per-server STUN statistics not updated");
  if (m->map == NULL) {
    mrt_log(MRT_LOG_INFO, LOG, "DERP map cleared; nothing to measure until the next one");
    return 0;
  }
  want_round(self, m);
  return 0;
}

static int on_measure_now(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)r;
  measurer *m = state;
  m->stats.measure_now++;
  if (m->map == NULL) {
    m->stats.ignored++;
    mrt_log(MRT_LOG_INFO, LOG, "MeasureNow ignored: no DERP map yet reason=%llu",
            (unsigned long long)((const mrt_measure_now *)payload)->reason);
    return 0;
  }
  want_round(self, m);
  return 0;
}

static int on_stats(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)self;
  (void)payload;
  measurer *m = state;
  if (r == NULL)
    return 0;
  mrt_derp_latency_stats s = m->stats;
  s.have_map = m->map != NULL;
  s.measuring = m->measuring;
  s.follow_up = m->follow_up;
  int home = mrt_home_region_home(&m->home);
  s.home_region = home > 0 ? home : 0;
  return MRT_REPLY(derp_latency_stats, r, &s);
}

static int on_servers(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)self;
  (void)payload;
  measurer *m = state;
  if (r == NULL)
    return 0;
  mrt_stun_server_list list;
  if (mrt__stun_table_copy(&m->servers, &list) < 0)
    return mrt_reply_error(r, -ENOMEM);
  if (MRT_REPLY(derp_latency_servers, r, &list) < 0)
    mrt_stun_server_list_release(&list);
  return 0;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static void measurer_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)why;
  measurer *m = state;
  close_sockets(self, m);
  free_round(m);
  m->map = mrt_derp_map_unref(m->map);
  mrt__stun_table_free(&m->servers);
  if (m->home_ready)
    mrt_home_region_fini(&m->home);
  m->home_ready = false;
}

static int measurer_start(mrt_actor *self, void *state, const void *args) {
  measurer *m = state;
  m->sock4.fd = m->sock6.fd = -1;
  m->cfg = *(const mrt_derp_latency_config *)args;
  const char *problem = config_problem(&m->cfg);
  if (problem != NULL) {
    mrt_log(MRT_LOG_ERROR, LOG, "invalid config: %s", problem);
    return -EINVAL;
  }
  if (sodium_init() < 0)
    return -ENOMEM;
  int rc = mrt_home_region_init(&m->home, &m->cfg.home);
  if (rc < 0)
    return rc;
  m->home_ready = true;
  rc = open_sockets(self, m);
  if (rc < 0) {
    mrt_log(MRT_LOG_ERROR, LOG, "no measuring socket err=%s", mrt_strerror(rc));
    return rc;
  }
  mrt_bus *bus = mrt_runtime_bus(mrt_actor_runtime(self));
  rc = mrt_node_bus_configure(bus);
  if (rc == 0)
    rc = mrt_bus_subscribe(bus, &mrt_msg_measure_now, self);
  if (rc == 0) /* a retained map arrives right after on_start */
    rc = mrt_bus_subscribe(bus, &mrt_msg_derp_map_update, self);
  return rc;
}

/* on_stop does not run when on_start fails: release what it took here. */
static int measurer_start_checked(mrt_actor *self, void *state, const void *args) {
  int rc = measurer_start(self, state, args);
  if (rc < 0)
    measurer_stop(self, state, NULL);
  return rc;
}

static const mrt_handler_entry measurer_handlers[] = {
    {&mrt_msg_derp_map_update, on_derp_map},
    {&mrt_msg_measure_now, on_measure_now},
    {&mrt_msg_derp_latency_stats, on_stats},
    {&mrt_msg_derp_latency_servers, on_servers},
    {NULL, NULL},
};

static const mrt_actor_class measurer_class = {
    .name = "DerpLatencyMeasurer",
    .state_size = sizeof(measurer),
    .args_size = sizeof(mrt_derp_latency_config),
    .on_start = measurer_start_checked,
    .on_stop = measurer_stop,
    .handlers = measurer_handlers,
};

const mrt_actor_class *mrt_derp_latency_actor_class(void) {
  return &measurer_class;
}

int mrt_derp_latency_spawn(mrt_runtime *rt, const mrt_derp_latency_config *cfg,
                           const mrt_spawn_opts *opts, mrt_ref **out) {
  if (out != NULL)
    *out = NULL;
  mrt_derp_latency_config def = mrt_derp_latency_config_default();
  if (cfg == NULL)
    cfg = &def;
  const char *problem = rt == NULL ? "NULL runtime" : config_problem(cfg);
  if (problem != NULL) {
    mrt_log(MRT_LOG_WARN, LOG, "spawn refused: %s", problem);
    return -EINVAL;
  }
  /* Before the actor exists, so a map published right after this call is
   * retained for it even if it starts later. */
  int rc = mrt_node_bus_configure(mrt_runtime_bus(rt));
  if (rc < 0)
    return rc;
  return mrt_actor_spawn(rt, &measurer_class, cfg, opts, out);
}
