/* SPDX-License-Identifier: MIT */
/* meshrt — node wiring (see <meshrt/node.h>).
 *
 * A node is one supervisor (one-for-one) over DirectManager,
 * DerpLatencyMeasurer and, when asked for, NetmonSupervisor. This file turns
 * one flat config into the three actors' configs and the supervisor's child
 * specs, refuses impossible configs before anything is spawned (notably the
 * network monitor in a build without it), publishes the initial maps on the
 * bus, and keeps the handles a host needs.
 *
 * The key pair is fixed here, once, so a DirectManager restarted by the
 * supervisor keeps the node's identity instead of generating a new one.
 *
 * Threading: start and stop block on the supervisor's asks (host threads);
 * the node object itself is immutable after start except for `stopped`,
 * which only the host thread calling stop/free touches.
 */
#include <meshrt/node.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <meshrt/bus.h>
#include <meshrt/error.h>
#include <meshrt/log.h>
#include <meshrt/runtime.h>
#include <meshrt/supervisor.h>

#define LOG "node"

struct mrt_node {
  mrt_runtime *rt; /* its memory is kept by the refs below */
  mrt_ref *sup, *direct, *latency, *netmon;
  mrt_link_monitor *monitor; /* what NetmonSupervisor watches, or NULL */
  mrt_link_monitor *owned;   /* the netlink monitor we created, or NULL */
  uint8_t public_key[MRT_PROBE_KEY_LEN];
  bool stopped;
};

mrt_node_config mrt_node_config_default(void) {
  mrt_node_config c;
  memset(&c, 0, sizeof c);
  mrt_direct_config d = mrt_direct_config_default();
  mrt_derp_latency_config l = mrt_derp_latency_config_default();
  mrt_netmon_supervisor_config n = mrt_netmon_supervisor_config_default();
  c.advertise_local = d.advertise_local;
  c.timing.direct = d.timing;
  c.timing.report_deadline_ns = l.report_deadline_ns;
  c.timing.min_wait_ns = l.min_wait_ns;
  c.timing.min_results = l.min_results;
  c.timing.probe_timeout_ns = l.probe_timeout_ns;
  c.timing.home = l.home;
  c.timing.debounce.settle_ns = MRT_DEBOUNCE_SETTLE_DEFAULT;
  c.timing.debounce.max_wait_ns = MRT_DEBOUNCE_MAX_WAIT_DEFAULT;
  c.timing.min_rebind_interval_ns = n.min_rebind_interval_ns;
  c.timing.rebind_timeout_ns = n.rebind_timeout_ns;
  c.boot_timeout_ns = MRT_SEC(5);
  return c;
}

bool mrt_node_network_monitor_available(void) {
  /* Creating the netlink monitor opens nothing (the socket comes with
   * watch()), so this is a cheap, side-effect-free probe of the build. */
  mrt_link_monitor *m = NULL;
  int rc = mrt_netlink_monitor_new(NULL, &m);
  mrt_link_monitor_free(m);
  return rc != -ENOTSUP;
}

/* ---- configs of the children ---------------------------------------------------- */

static mrt_direct_config direct_config(const mrt_node_config *c, const mrt_probe_keypair *key) {
  mrt_direct_config d = mrt_direct_config_default();
  d.listen_addr = c->listen_addr;
  d.listen_port = c->listen_port;
  d.disable_ipv6 = c->disable_ipv6;
  d.advertise_local = c->advertise_local;
  d.key = *key;
  d.timing = c->timing.direct;
  return d;
}

static mrt_derp_latency_config latency_config(const mrt_node_config *c) {
  mrt_derp_latency_config l = mrt_derp_latency_config_default();
  l.listen_addr = c->measure_addr;
  l.report_deadline_ns = c->timing.report_deadline_ns;
  l.min_wait_ns = c->timing.min_wait_ns;
  l.min_results = c->timing.min_results;
  l.probe_timeout_ns = c->timing.probe_timeout_ns;
  l.home = c->timing.home;
  return l;
}

static mrt_netmon_supervisor_child_args netmon_args(const mrt_node_config *c, mrt_link_monitor *m) {
  mrt_netmon_supervisor_child_args a;
  memset(&a, 0, sizeof a);
  a.cfg = mrt_netmon_supervisor_config_default();
  a.cfg.monitor = m;
  a.cfg.debounce = c->timing.debounce;
  a.cfg.min_rebind_interval_ns = c->timing.min_rebind_interval_ns;
  a.cfg.rebind_timeout_ns = c->timing.rebind_timeout_ns;
  memcpy(a.direct_child_id, MRT_NODE_CHILD_DIRECT, sizeof MRT_NODE_CHILD_DIRECT);
  return a;
}

/* The checks DirectManager's and the measurer's on_start would make, done
 * here so a bad config fails the start instead of a restart loop. */
static const char *config_problem(const mrt_node_config *c) {
  const mrt_node_timing *t = &c->timing;
  const mrt_direct_timing *d = &t->direct;
  int fams[] = {c->listen_addr.ss_family, c->measure_addr.ss_family};
  for (int i = 0; i < 2; i++)
    if (fams[i] != AF_UNSPEC && fams[i] != AF_INET && fams[i] != AF_INET6)
      return "listen_addr and measure_addr must be AF_UNSPEC, AF_INET or AF_INET6";
  if (d->trust_ns == 0 || d->ping_min_interval_ns == 0 || d->ping_timeout_ns == 0 ||
      d->pinger_period_ns == 0 || d->stun_min_ns == 0 || d->stun_timeout_ns == 0 ||
      d->advert_period_ns == 0 || d->upgrade_interval_ns == 0 ||
      d->refresh_before_ns >= d->trust_ns || d->stun_max_ns < d->stun_min_ns)
    return "invalid DirectManager timing (start from mrt_node_config_default)";
  if (t->report_deadline_ns == 0 || t->probe_timeout_ns == 0 || t->min_results == 0)
    return "invalid latency timing (start from mrt_node_config_default)";
  mrt_home_region sel;
  if (mrt_home_region_init(&sel, &t->home) < 0)
    return "invalid home-region config (start from mrt_node_config_default)";
  mrt_home_region_fini(&sel);
  if (c->network_monitor && (t->min_rebind_interval_ns == 0 || t->rebind_timeout_ns == 0))
    return "min_rebind_interval_ns and rebind_timeout_ns must be positive";
  return NULL;
}

/* ---- start ------------------------------------------------------------------------ */

/* Chooses (and, for netlink, creates) the monitor. Fails with -ENOTSUP in a
 * build without the network_monitor feature, before anything is spawned. */
static int pick_monitor(const mrt_node_config *c, mrt_node *n) {
  if (!c->network_monitor)
    return 0;
  if (c->monitor != NULL) {
    n->monitor = c->monitor;
    return 0;
  }
  mrt_netlink_monitor_config nc = {.ignored_interfaces = c->ignored_interfaces};
  int rc = mrt_netlink_monitor_new(&nc, &n->owned);
  if (rc == -ENOTSUP)
    mrt_log(MRT_LOG_ERROR, LOG,
            "node start refused: network_monitor is on, but this meshrt was built without "
            "the network_monitor feature (rebuild with -Dnetwork_monitor=enabled, or turn "
            "network_monitor off)");
  else if (rc < 0)
    mrt_log(MRT_LOG_ERROR, LOG, "node start refused: netlink monitor err=%s", mrt_strerror(rc));
  n->monitor = n->owned;
  return rc;
}

static int publish_maps(const mrt_node_config *c, mrt_runtime *rt) {
  int rc = mrt_node_bus_configure(mrt_runtime_bus(rt));
  /* The publish functions take over the reference they are given. */
  if (rc >= 0 && c->derp_map != NULL)
    rc = mrt_node_publish_derp_map(rt, mrt_derp_map_ref(c->derp_map));
  if (rc >= 0 && c->peers != NULL)
    rc = mrt_node_publish_peer_map(rt, mrt_peer_map_ref(c->peers));
  return rc < 0 ? rc : 0;
}

/* Spawns the supervisor with its children and waits for them. */
static int spawn_tree(const mrt_node_config *c, const mrt_probe_keypair *key, mrt_node *n) {
  mrt_direct_config dc = direct_config(c, key);
  mrt_derp_latency_config lc = latency_config(c);
  mrt_netmon_supervisor_child_args na = netmon_args(c, n->monitor);
  mrt_child_spec children[3];
  memset(children, 0, sizeof children);
  /* Bounded mailboxes (the sizes and why: each constant's header). */
  children[0] = (mrt_child_spec){.id = MRT_NODE_CHILD_DIRECT,
                                 .cls = mrt_direct_actor_class(),
                                 .args = &dc,
                                 .restart = MRT_RESTART_PERMANENT,
                                 .mailbox_capacity = MRT_DIRECT_MAILBOX_CAPACITY};
  children[1] = (mrt_child_spec){.id = MRT_NODE_CHILD_DERP_LATENCY,
                                 .cls = mrt_derp_latency_actor_class(),
                                 .args = &lc,
                                 .restart = MRT_RESTART_PERMANENT,
                                 .mailbox_capacity = MRT_DERP_LATENCY_MAILBOX_CAPACITY};
  /* Transient: it exits normally on runtime shutdown, which is no reason to
   * restart it; a crash is. */
  children[2] = (mrt_child_spec){.id = MRT_NODE_CHILD_NETMON,
                                 .cls = mrt_netmon_supervisor_child_class(),
                                 .args = &na,
                                 .restart = MRT_RESTART_TRANSIENT,
                                 .mailbox_capacity = MRT_NETMON_SUPERVISOR_MAILBOX_CAPACITY};
  mrt_supervisor_spec spec = {.name = "node",
                              .strategy = MRT_STRATEGY_ONE_FOR_ONE,
                              .children = children,
                              .n_children = c->network_monitor ? 3 : 2};
  int rc = mrt_supervisor_spawn(n->rt, &spec, NULL, &n->sup);
  sodium_memzero(&dc.key, sizeof dc.key); /* the supervisor keeps its own copy */
  if (rc < 0)
    return rc;
  rc = mrt_supervisor_await_boot(n->sup, c->boot_timeout_ns);
  if (rc == 0)
    rc = mrt_supervisor_child_ref(n->sup, MRT_NODE_CHILD_DIRECT, &n->direct);
  if (rc == 0)
    rc = mrt_supervisor_child_ref(n->sup, MRT_NODE_CHILD_DERP_LATENCY, &n->latency);
  if (rc == 0 && c->network_monitor)
    rc = mrt_supervisor_child_ref(n->sup, MRT_NODE_CHILD_NETMON, &n->netmon);
  return rc;
}

/* Releases a node whose start failed; the tree (if any) is stopped first. */
static void abandon(mrt_node *n) {
  if (n->sup != NULL)
    (void)mrt_supervisor_shutdown(n->sup, 0);
  n->stopped = true;
  /* Safe only because nothing watched it when no tree was spawned; with a
   * tree, mrt_node_free's rule applies. */
  if (n->sup == NULL)
    n->owned = mrt_link_monitor_free(n->owned);
  mrt_node_free(n);
}

int mrt_node_start(mrt_runtime *rt, const mrt_node_config *cfg, mrt_node **out) {
  if (out != NULL)
    *out = NULL;
  const char *problem =
      rt == NULL || cfg == NULL || out == NULL ? "NULL argument" : config_problem(cfg);
  if (problem != NULL) {
    mrt_log(MRT_LOG_WARN, LOG, "node start refused: %s", problem);
    return -EINVAL;
  }
  mrt_node *n = calloc(1, sizeof *n);
  if (n == NULL)
    return -ENOMEM;
  n->rt = rt;
  int rc = pick_monitor(cfg, n);
  mrt_probe_keypair key = cfg->key;
  static const mrt_probe_keypair zero;
  if (rc == 0 && memcmp(&key, &zero, sizeof key) == 0)
    rc = mrt_probe_keypair_generate(&key);
  memcpy(n->public_key, key.pub, sizeof n->public_key);
  if (rc == 0)
    rc = publish_maps(cfg, rt);
  if (rc == 0)
    rc = spawn_tree(cfg, &key, n);
  sodium_memzero(&key, sizeof key);
  if (rc < 0) {
    if (n->sup != NULL)
      mrt_log(MRT_LOG_ERROR, LOG, "node start failed err=%s", mrt_strerror(rc));
    abandon(n);
    return rc;
  }
  mrt_log(MRT_LOG_INFO, LOG, "node started network_monitor=%s",
          n->monitor != NULL ? mrt_link_monitor_name(n->monitor) : "off");
  *out = n;
  return 0;
}

/* ---- stop, free, accessors ------------------------------------------------------------- */

int mrt_node_stop(mrt_node *node, uint64_t timeout_ns) {
  if (node == NULL) {
    mrt_log(MRT_LOG_WARN, LOG, "node stop refused: NULL node");
    return -EINVAL;
  }
  if (node->stopped)
    return 0;
  int rc = mrt_supervisor_shutdown(node->sup, timeout_ns);
  if (rc == -ESRCH || mrt_runtime_shutting_down(node->rt))
    rc = 0; /* already gone: the runtime stopped it */
  if (rc == 0)
    node->stopped = true;
  return rc;
}

mrt_node *mrt_node_free(mrt_node *node) {
  if (node == NULL)
    return NULL;
  if (!node->stopped && node->sup != NULL)
    (void)mrt_node_stop(node, 0);
  if (node->owned != NULL) {
    /* Runtime shutdown stops actors newest first, one at a time, so once it
     * is over the monitor's watcher is gone too. mrt_runtime_shutdown is
     * idempotent and waits for a shutdown in progress. */
    if (mrt_runtime_shutting_down(node->rt) && mrt_runtime_shutdown(node->rt) == 0) {
      node->owned = mrt_link_monitor_free(node->owned);
    } else {
      mrt_log(MRT_LOG_WARN, LOG,
              "node freed before runtime shutdown: its netlink monitor stays allocated");
    }
  }
  mrt_ref_unref(node->netmon);
  mrt_ref_unref(node->latency);
  mrt_ref_unref(node->direct);
  mrt_ref_unref(node->sup);
  free(node);
  return NULL;
}

mrt_ref *mrt_node_supervisor(const mrt_node *node) {
  return node ? node->sup : NULL;
}
mrt_ref *mrt_node_direct(const mrt_node *node) {
  return node ? node->direct : NULL;
}
mrt_ref *mrt_node_derp_latency(const mrt_node *node) {
  return node ? node->latency : NULL;
}
mrt_ref *mrt_node_netmon_supervisor(const mrt_node *node) {
  return node ? node->netmon : NULL;
}
mrt_link_monitor *mrt_node_link_monitor(const mrt_node *node) {
  return node ? node->monitor : NULL;
}

int mrt_node_public_key(const mrt_node *node, uint8_t out[MRT_PROBE_KEY_LEN]) {
  if (node == NULL || out == NULL) {
    mrt_log(MRT_LOG_WARN, LOG, "public key refused: NULL argument");
    return -EINVAL;
  }
  memcpy(out, node->public_key, MRT_PROBE_KEY_LEN);
  return 0;
}

int mrt_node_set_derp_map_json(mrt_node *node, const char *json, size_t len, char *err,
                               size_t errlen) {
  if (node == NULL || json == NULL) {
    mrt_log(MRT_LOG_WARN, LOG, "DERP map refused: NULL argument");
    return -EINVAL;
  }
  char buf[MRT_DERP_MAP_ERR_LEN];
  mrt_derp_map *map = NULL;
  int rc = mrt_derp_map_parse(json, len, &map, buf, sizeof buf);
  if (rc < 0) {
    mrt_log(MRT_LOG_ERROR, LOG, "DERP map rejected, keeping the previous one: %s", buf);
    if (err != NULL && errlen > 0)
      snprintf(err, errlen, "%s", buf);
    return rc;
  }
  rc = mrt_node_publish_derp_map(node->rt, map); /* takes our reference */
  return rc < 0 ? rc : 0;
}
