/* SPDX-License-Identifier: MIT */
/* meshrt — DirectManager: the actor that owns the UDP underlay socket.
 *
 * This file is the actor itself: configuration, start and stop, the socket's
 * registration on the executor's event loop, the read path, the background
 * cadences (pinger, refresh, STUN prober, endpoint advertisement) and rebind.
 * The peer table lives in direct_paths.c, STUN in direct_stun.c, the socket
 * helpers in udp.c, the ask handlers in direct_query.c.
 *
 * Read path: the socket is watched with mrt_io_watch on the actor's executor
 * event loop (a libevent event on mrt_actor_event_base), so the callback runs
 * in the actor's own context, serialised with its handlers and timers. It
 * drains the socket with recvmmsg, at most READ_BATCHES batches per call so
 * one busy socket cannot starve the executor's other actors; the watch is
 * level-triggered, so whatever is left fires it again and no wake-up is lost.
 *
 * Threading: handlers, timers and the read callback all run in the actor's
 * context on its executor thread, never concurrently; nothing here is shared
 * with other threads except through messages.
 */
#include "direct_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

/* recvmmsg batches per readable turn: 16 x 64 datagrams. */
#define READ_BATCHES 16

/* ---- configuration ---------------------------------------------------------------- */

mrt_direct_config mrt_direct_config_default(void) {
  mrt_direct_config c;
  memset(&c, 0, sizeof c);
  c.advertise_local = true;
  c.timing = (mrt_direct_timing){
      .trust_ns = MRT_MS(6500),
      .refresh_before_ns = MRT_MS(3500),
      .ping_min_interval_ns = MRT_SEC(5),
      .ping_timeout_ns = MRT_SEC(5),
      .good_enough_rtt_ns = MRT_MS(5),
      .upgrade_interval_ns = MRT_SEC(60),
      .pinger_period_ns = MRT_SEC(2),
      .stun_min_ns = MRT_SEC(20),
      .stun_max_ns = MRT_SEC(26),
      .stun_timeout_ns = MRT_SEC(5),
      .advert_period_ns = MRT_SEC(5),
  };
  return c;
}

static const char *config_problem(const mrt_direct_config *c) {
  const mrt_direct_timing *t = &c->timing;
  int fam = c->listen_addr.ss_family;
  if (fam != AF_UNSPEC && fam != AF_INET && fam != AF_INET6)
    return "listen_addr must be AF_UNSPEC, AF_INET or AF_INET6";
  if (t->trust_ns == 0 || t->ping_min_interval_ns == 0 || t->ping_timeout_ns == 0 ||
      t->pinger_period_ns == 0 || t->stun_min_ns == 0 || t->stun_timeout_ns == 0 ||
      t->advert_period_ns == 0 || t->upgrade_interval_ns == 0)
    return "timing values must be positive (start from mrt_direct_config_default)";
  if (t->refresh_before_ns >= t->trust_ns)
    return "refresh_before_ns must be below trust_ns";
  if (t->stun_max_ns < t->stun_min_ns)
    return "stun_max_ns must not be below stun_min_ns";
  return NULL;
}

static bool key_unset(const mrt_probe_keypair *k) {
  static const mrt_probe_keypair zero;
  return memcmp(k, &zero, sizeof zero) == 0;
}

/* ---- the read path ------------------------------------------------------------------- */

static void dispatch(mrt__direct *d, const uint8_t *buf, size_t len,
                     const struct sockaddr_storage *src, uint64_t now) {
  if (src->ss_family != AF_INET && src->ss_family != AF_INET6) {
    d->c.rx_garbage++;
  } else if (mrt_probe_is_probe(buf, len)) {
    mrt__paths_on_probe(d, buf, len, src, now);
  } else if (mrt_stun_is_stun(buf, len)) {
    mrt__stun_on_datagram(d, buf, len, src, now);
  } else {
    d->c.rx_garbage++;
  }
}

/* Reads and dispatches up to `batches` recvmmsg batches from `fd`. */
static void read_batches(mrt_actor *self, mrt__direct *d, int fd, int batches) {
  for (int b = 0; b < batches; b++) {
    int n = mrt__rx_recv(d->rx, fd);
    if (n <= 0) {
      if (n < 0)
        mrt_log(MRT_LOG_DEBUG, MRT__LOG, "receive failed err=%s", mrt_strerror(n));
      break;
    }
    uint64_t now = mrt_actor_now(self);
    d->c.rx_batches++;
    d->c.rx_datagrams += (uint64_t)n;
    for (int i = 0; i < n; i++) {
      if (d->rx->oversize[i])
        d->c.rx_oversize++;
      else
        dispatch(d, d->rx->buf[i], d->rx->len[i], &d->rx->src[i], now);
    }
    if (n < MRT__RX_SLOTS)
      break;
  }
}

/* The socket is readable. At most READ_BATCHES batches per call: the watch
 * is level-triggered, so what is left fires it again after the executor's
 * other actors had their turn. */
static int on_readable(mrt_actor *self, void *state, int fd, short what, void *ud) {
  (void)what;
  (void)ud;
  read_batches(self, state, fd, READ_BATCHES);
  return 0;
}

/* ---- socket and rebind ----------------------------------------------------------------- */

/* Swaps `u` in: watch it first, so a failure leaves the old socket alone.
 * `beside`: u shares the old socket's port (mrt__udp_open_beside), and the
 * kernel already delivers new datagrams to u, so whatever the old socket
 * still holds is read before it closes; nothing that reached the port is
 * lost. The receive queue is bounded by the socket buffer, and so is the
 * drain. */
static int install_socket(mrt_actor *self, mrt__direct *d, mrt__udp *u, bool beside) {
  uint64_t watch = 0;
  int rc = mrt_io_watch(self, u->fd, MRT_IO_READ, on_readable, NULL, &watch);
  if (rc < 0)
    return rc;
  if (d->watch != 0)
    mrt_io_cancel(self, d->watch);
  if (beside && d->sock.fd >= 0)
    read_batches(self, d, d->sock.fd, INT32_MAX);
  mrt__udp_close(&d->sock);
  d->watch = watch;
  d->sock = *u;
  if (beside)
    mrt__udp_seal(&d->sock);
  d->generation++;
  return 0;
}

static mrt__bind_req bind_req(const mrt__direct *d, uint16_t port, bool quiet, const char *who) {
  return (mrt__bind_req){.addr = &d->cfg.listen_addr,
                         .port = port,
                         .disable_ipv6 = d->cfg.disable_ipv6,
                         .quiet_fallback = quiet,
                         .who = who};
}

/* Opens the rebind's new socket, in order of preference: the pinned
 * listen_port if we do not hold it (someone may have freed it), the port we
 * hold (beside the old socket), any port. *why gets the error that made the
 * port change, if it did. */
static int open_for_rebind(mrt__direct *d, mrt__udp *u, bool *beside, mrt_port_outcome *outcome,
                           int *why) {
  uint16_t pinned = d->cfg.listen_port;
  bool have_old = !mrt__direct_inert(d);
  *beside = false;
  *why = 0;
  if (pinned != 0 && (!have_old || d->sock.port != pinned)) {
    mrt__bind_req req = bind_req(d, pinned, true, "rebind");
    int rc = mrt__udp_open_exact(&req, u);
    if (rc == 0) {
      *outcome = MRT_PORT_PINNED;
      return 0;
    }
    *why = rc;
  }
  if (have_old) {
    int rc = mrt__udp_open_beside(&d->sock, u);
    if (rc == 0) {
      *beside = true;
      *outcome = MRT_PORT_KEPT;
      return 0;
    }
    *why = rc;
  }
  mrt__bind_req req = bind_req(d, 0, true, "rebind");
  *outcome = MRT_PORT_CHANGED;
  return mrt__udp_open(&req, u);
}

static void cancel_refresh(mrt_actor *self, mrt__direct *d) {
  if (d->refresh_timer != 0)
    mrt_timer_cancel(self, d->refresh_timer);
  d->refresh_timer = 0;
}

static void log_rebind(const mrt__direct *d, uint16_t old_port, bool was_inert) {
  const char *left = was_inert ? " (left relay-only mode)" : "";
  if (d->port_outcome == MRT_PORT_CHANGED && d->port_error != 0)
    mrt_log(MRT_LOG_WARN, MRT__LOG, "socket rebound port %u -> %u (port unavailable: %s)%s",
            old_port, d->sock.port, mrt_strerror(d->port_error), left);
  else
    mrt_log(MRT_LOG_INFO, MRT__LOG, "socket rebound port %u -> %u (%s)%s", old_port, d->sock.port,
            mrt_port_outcome_name(d->port_outcome), left);
}

/* The socket swap of Rebind. Returns 0 or the bind error (old socket kept);
 * inert, a failed bind is not an error (the actor stays inert). */
static int rebind(mrt_actor *self, mrt__direct *d) {
  bool was_inert = mrt__direct_inert(d);
  uint16_t old_port = d->sock.port;
  mrt__udp u;
  bool beside;
  mrt_port_outcome outcome;
  int why;
  int rc = open_for_rebind(d, &u, &beside, &outcome, &why);
  if (rc == 0 && (rc = install_socket(self, d, &u, beside)) < 0) {
    mrt__udp_close(&u);
    if (beside)
      mrt__udp_seal(&d->sock); /* the overlap is over: the old socket stays alone */
  }
  if (rc < 0) {
    d->c.rebind_failures++;
    mrt_log(was_inert ? MRT_LOG_INFO : MRT_LOG_WARN, MRT__LOG,
            "rebind failed, keeping the %s err=%s", was_inert ? "relay-only mode" : "old socket",
            mrt_strerror(rc));
    return was_inert ? 0 : rc;
  }
  d->c.rebinds++;
  d->c.rebinds_port_kept += outcome == MRT_PORT_KEPT;
  d->previous_port = old_port;
  d->port_outcome = outcome;
  d->port_error = outcome == MRT_PORT_CHANGED ? why : 0;
  mrt__stun_reset(d);
  mrt__paths_invalidate(d);
  cancel_refresh(self, d);
  uint64_t now = mrt_actor_now(self);
  for (size_t i = 0; i < d->n_peers; i++)
    d->peers[i].rebind_at_ns = now;
  log_rebind(d, old_port, was_inert);
  return 0;
}

const char *mrt_port_outcome_name(mrt_port_outcome o) {
  switch (o) {
  case MRT_PORT_FIRST_BIND: return "first bind";
  case MRT_PORT_KEPT: return "kept";
  case MRT_PORT_PINNED: return "pinned port regained";
  case MRT_PORT_CHANGED: return "changed";
  }
  return "?";
}

/* ---- cadences ------------------------------------------------------------------------------ */

static int refresh_tick(mrt_actor *self, void *state, void *ud);

void mrt__direct_arm_refresh(mrt_actor *self, mrt__direct *d) {
  uint64_t at = mrt__paths_next_refresh(d);
  if (d->refresh_timer != 0 && d->refresh_at_ns == at)
    return;
  cancel_refresh(self, d);
  if (at == UINT64_MAX)
    return;
  uint64_t now = mrt_actor_now(self);
  uint64_t delay = at > now ? at - now : MRT_MS(1);
  if (mrt_timer_start(self, delay, 0, refresh_tick, NULL, &d->refresh_timer) == 0)
    d->refresh_at_ns = at;
  else
    d->refresh_timer = 0; /* the 2 s pinger still refreshes, a little later */
}

static int refresh_tick(mrt_actor *self, void *state, void *ud) {
  (void)ud;
  mrt__direct *d = state;
  d->refresh_timer = 0;
  mrt__paths_ping_due(d, mrt_actor_now(self));
  mrt__direct_arm_refresh(self, d);
  return 0;
}

static int pinger_tick(mrt_actor *self, void *state, void *ud) {
  (void)ud;
  mrt__direct *d = state;
  uint64_t now = mrt_actor_now(self);
  mrt__paths_ping_due(d, now);
  mrt__stun_expire(d, now);
  mrt__direct_arm_refresh(self, d);
  return 0;
}

static int stun_tick(mrt_actor *self, void *state, void *ud);

static int schedule_stun(mrt_actor *self, mrt__direct *d) {
  uint64_t delay = mrt__stun_prober_delay(d->cfg.timing.stun_min_ns, d->cfg.timing.stun_max_ns);
  d->last_stun_delay_ns = delay;
  d->next_stun_ns = mrt_actor_now(self) + delay;
  return mrt_timer_start(self, delay, 0, stun_tick, NULL, NULL);
}

static int stun_tick(mrt_actor *self, void *state, void *ud) {
  (void)ud;
  mrt__direct *d = state;
  d->c.stun_cycles++;
  mrt__stun_sweep(d, mrt_actor_now(self), NULL);
  return schedule_stun(self, d);
}

static int advert_tick(mrt_actor *self, void *state, void *ud) {
  (void)ud;
  mrt__endpoints_advertise(state, self);
  return 0;
}

static int start_timers(mrt_actor *self, mrt__direct *d) {
  const mrt_direct_timing *t = &d->cfg.timing;
  int rc = mrt_timer_start(self, t->pinger_period_ns, t->pinger_period_ns, pinger_tick, NULL, NULL);
  if (rc == 0)
    rc = mrt_timer_start(self, t->advert_period_ns, t->advert_period_ns, advert_tick, NULL, NULL);
  if (rc == 0)
    rc = schedule_stun(self, d); /* no sweep at start: the first comes after a delay */
  return rc;
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

static int subscribe(mrt_actor *self) {
  mrt_bus *bus = mrt_runtime_bus(mrt_actor_runtime(self));
  int rc = mrt_node_bus_configure(bus);
  if (rc == 0)
    rc = mrt_bus_subscribe(bus, &mrt_msg_peer_map_update, self);
  if (rc == 0)
    rc = mrt_bus_subscribe(bus, &mrt_msg_derp_map_update, self);
  return rc;
}

static int direct_start(mrt_actor *self, void *state, const void *args) {
  mrt__direct *d = state;
  d->sock.fd = -1;
  d->cfg = *(const mrt_direct_config *)args;
  const char *problem = config_problem(&d->cfg);
  if (problem != NULL) {
    mrt_log(MRT_LOG_ERROR, MRT__LOG, "invalid config: %s", problem);
    return -EINVAL;
  }
  if (key_unset(&d->cfg.key) && mrt_probe_keypair_generate(&d->cfg.key) < 0)
    return -ENOMEM;
  d->self = self;
  d->rx = mrt__rx_new();
  if (d->rx == NULL)
    return -ENOMEM;
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  d->update_epoch = (uint64_t)wall.tv_sec * MRT_NS_PER_SEC + (uint64_t)wall.tv_nsec;
  mrt__bind_req req = bind_req(d, d->cfg.listen_port, false, "start");
  mrt__udp u;
  int rc = mrt__udp_open(&req, &u);
  if (rc == 0 && (rc = install_socket(self, d, &u, false)) < 0)
    mrt__udp_close(&u);
  char a[MRT__ADDR_STRLEN];
  if (rc < 0)
    mrt_log(MRT_LOG_WARN, MRT__LOG, "no UDP socket could be bound, relay-only err=%s",
            mrt_strerror(rc));
  else
    mrt_log(MRT_LOG_INFO, MRT__LOG, "socket bound local=%s dual_stack=%d",
            mrt__addr_str(&d->sock.local, a), d->sock.dual_stack);
  rc = subscribe(self);
  if (rc == 0)
    rc = start_timers(self, d);
  if (rc == 0)
    mrt__endpoints_advertise(d, self); /* peers hear from us at once, not in 5 s */
  return rc;
}

static void direct_stop(mrt_actor *self, void *state, const mrt_exit *why) {
  (void)self;
  (void)why;
  mrt__direct *d = state;
  /* The runtime removed the watch before on_stop; on a failed start it may
   * still exist, and it dies with the actor right after. */
  mrt__udp_close(&d->sock);
  mrt__rx_free(d->rx);
  mrt__paths_free(d);
  mrt__stun_free(d);
  free(d->waiters); /* their tokens are answered -ESRCH by the runtime */
  sodium_memzero(&d->cfg.key, sizeof d->cfg.key);
  d->self = NULL;
}

/* If on_start failed before state was set up, on_stop does not run; what
 * on_start allocated is released here instead (the runtime frees state). */
static int direct_start_checked(mrt_actor *self, void *state, const void *args) {
  int rc = direct_start(self, state, args);
  if (rc < 0)
    direct_stop(self, state, NULL);
  return rc;
}

/* ---- bus messages ------------------------------------------------------------------------------ */

static int on_peer_map(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)r;
  mrt__direct *d = state;
  const mrt_peer_map_update *u = payload;
  uint64_t now = mrt_actor_now(self);
  int rc = mrt__paths_apply(d, u->map, now);
  if (rc < 0) {
    mrt_log(MRT_LOG_ERROR, MRT__LOG, "peer map not applied err=%s", mrt_strerror(rc));
    return 0; /* the old table stays; the next update may fit */
  }
  mrt__direct_drop_orphan_waiters(d);
  mrt_log(MRT_LOG_INFO, MRT__LOG, "peer map applied peers=%zu", d->n_peers);
  mrt__paths_ping_due(d, now); /* new candidates are pinged at once */
  mrt__updates_flush(d, now);  /* new peers hear our endpoints */
  mrt__direct_arm_refresh(self, d);
  return 0;
}

static int on_derp_map(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)self;
  (void)r;
  int rc = mrt__stun_set_derp(state, ((const mrt_derp_map_update *)payload)->map);
  if (rc < 0)
    mrt_log(MRT_LOG_ERROR, MRT__LOG, "derp map not applied err=%s", mrt_strerror(rc));
  return 0;
}

/* ---- rebind messages ------------------------------------------------------------------------------ */

static int on_rebind(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)payload;
  mrt__direct *d = state;
  int rc = rebind(self, d);
  uint64_t now = mrt_actor_now(self);
  if (rc == 0)
    mrt__paths_ping_all(d, NULL, now); /* paths come back in one round trip */
  mrt__endpoints_advertise(d, self);
  mrt__direct_arm_refresh(self, d);
  if (r == NULL)
    return 0;
  if (rc < 0)
    return mrt_reply_error(r, rc);
  mrt_sock_info info = mrt__direct_sock_info(d);
  return MRT_REPLY(direct_rebind, r, &info);
}

static int on_rebind_and_reprobe(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)payload;
  mrt__direct *d = state;
  int rc = rebind(self, d); /* 1 */
  uint64_t now = mrt_actor_now(self);
  mrt__paths_ping_all(d, NULL, now); /* 2 */
  mrt__stun_sweep(d, now, NULL);     /* 3 */
  mrt__endpoints_advertise(d, self);
  mrt__direct_arm_refresh(self, d);
  if (r == NULL)
    return 0;
  if (rc < 0)
    return mrt_reply_error(r, rc);
  mrt_sock_info info = mrt__direct_sock_info(d);
  return MRT_REPLY(direct_rebind_and_reprobe, r, &info);
}

static int on_restun(mrt_actor *self, void *state, const void *payload, mrt_reply *r) {
  (void)payload;
  mrt_restun_result res;
  mrt__stun_sweep(state, mrt_actor_now(self), &res);
  return r != NULL ? MRT_REPLY(direct_restun, r, &res) : 0;
}

static const mrt_handler_entry direct_handlers[] = {
    {&mrt_msg_peer_map_update, on_peer_map},
    {&mrt_msg_derp_map_update, on_derp_map},
    {&mrt_msg_direct_rebind, on_rebind},
    {&mrt_msg_direct_rebind_and_reprobe, on_rebind_and_reprobe},
    {&mrt_msg_direct_restun, on_restun},
    {&mrt_msg_direct_sock_info, mrt__direct_on_sock_info},
    {&mrt_msg_direct_best_addrs, mrt__direct_on_best_addrs},
    {&mrt_msg_direct_path_latency, mrt__direct_on_path_latency},
    {&mrt_msg_direct_peers_with_path, mrt__direct_on_peers_with_direct_path},
    {&mrt_msg_direct_ping_peer, mrt__direct_on_ping_peer},
    {&mrt_msg_direct_state, mrt__direct_on_state},
    {&mrt_msg_direct_stun_servers, mrt__direct_on_stun_servers},
    {NULL, NULL},
};

static const mrt_actor_class direct_class = {
    .name = "DirectManager",
    .state_size = sizeof(mrt__direct),
    .args_size = sizeof(mrt_direct_config),
    .on_start = direct_start_checked,
    .on_stop = direct_stop,
    .handlers = direct_handlers,
};

const mrt_actor_class *mrt_direct_actor_class(void) {
  return &direct_class;
}

int mrt_direct_spawn(mrt_runtime *rt, const mrt_direct_config *cfg, const mrt_spawn_opts *opts,
                     mrt_ref **out) {
  mrt_direct_config def = mrt_direct_config_default();
  if (cfg == NULL)
    cfg = &def;
  const char *problem = rt == NULL ? "NULL runtime" : config_problem(cfg);
  if (problem != NULL) {
    mrt_log(MRT_LOG_WARN, MRT__LOG, "spawn refused: %s", problem);
    return -EINVAL;
  }
  /* Before the actor exists, so a peer map published right after this call
   * is retained for it even if it starts later. */
  int rc = mrt_node_bus_configure(mrt_runtime_bus(rt));
  if (rc < 0)
    return rc;
  return mrt_actor_spawn(rt, &direct_class, cfg, opts, out);
}
