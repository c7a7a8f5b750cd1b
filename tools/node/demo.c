/* SPDX-License-Identifier: MIT */
/* meshrt-node — the built-in demo's world (see demo.h).
 *
 * The regions are deliberately far apart in latency (8, 25 and 60 ms) so the
 * home-region choice is obvious in the logs. The middle one answers like a
 * classic (RFC 3489-era) STUN server, as many deployed ones still do. The peer is a full meshrt node
 * (DirectManager and friends) on a second runtime, bound to 127.0.0.1; it
 * learns the demo node's key and first endpoint once, when the demo node is
 * bound, the way a control server would configure it. After that it has no
 * line to the demo node but the network: a rebind keeps the node's port, and
 * if the port ever has to change the peer learns the new one as any remote
 * node would, from the node's authenticated pings and endpoint updates.
 *
 * Threading: start and free run on the main thread (they block on asks);
 * mn_demo_set_node may run on any thread: it only builds a map and publishes
 * it on the world's bus, both of which are thread-safe. The key it needs is
 * copied under a mutex.
 */
#include "demo.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "logsink.h"
#include "util.h"

#define N_REGIONS 3

static const struct {
  int id;
  const char *code;
  unsigned delay_ms;
  mrt_stun_responder_style style;
} regions[N_REGIONS] = {{1, "demo-near", 8, MRT_STUN_RESPONDER_RFC5389},
                        {2, "demo-mid", 25, MRT_STUN_RESPONDER_CLASSIC},
                        {3, "demo-far", 60, MRT_STUN_RESPONDER_RFC5389}};

struct mn_demo {
  mrt_runtime *world;
  mrt_ref *responders[N_REGIONS];
  uint16_t stun_ports[N_REGIONS];
  mrt_node *peer;
  uint16_t peer_port;
  pthread_mutex_t mu;
  uint8_t node_key[MRT_PROBE_KEY_LEN];
  bool have_node_key;
};

static struct sockaddr_storage loopback(uint16_t port) {
  struct sockaddr_storage ss;
  mn_parse_ip("127.0.0.1", &ss);
  mn_addr_set_port(&ss, port);
  return ss;
}

static int start_responders(mn_demo *d) {
  for (int i = 0; i < N_REGIONS; i++) {
    mrt_stun_responder_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.listen_addr = loopback(0);
    cfg.delay_ns = MRT_MS(regions[i].delay_ms);
    cfg.style = regions[i].style;
    mrt_stun_responder_info info;
    memset(&info, 0, sizeof info);
    int rc = mrt_stun_responder_spawn(d->world, &cfg, NULL, &d->responders[i]);
    if (rc == 0)
      rc = MRT_ASK_SYNC(stun_responder_info, d->responders[i], &(mrt_none){0}, &info, MRT_SEC(2));
    if (rc < 0)
      return rc;
    d->stun_ports[i] = info.port;
    mrt_log(MRT_LOG_INFO, MN_LOG, "demo: DERP region %d (%s) STUN server on 127.0.0.1:%u, +%u ms%s",
            regions[i].id, regions[i].code, info.port, regions[i].delay_ms,
            regions[i].style == MRT_STUN_RESPONDER_CLASSIC ? " (classic server)" : "");
  }
  return 0;
}

static int derp_map_of(const mn_demo *d, mrt_derp_map **out) {
  char json[2048], err[MRT_DERP_MAP_ERR_LEN];
  size_t len = (size_t)snprintf(json, sizeof json, "{\"Regions\":{");
  for (int i = 0; i < N_REGIONS; i++)
    len += (size_t)snprintf(json + len, sizeof json - len,
                            "%s\"%d\":{\"RegionID\":%d,\"RegionCode\":\"%s\",\"RegionName\":"
                            "\"Demo %s\",\"Nodes\":[{\"Name\":\"%da\",\"RegionID\":%d,"
                            "\"HostName\":\"localhost\",\"IPv4\":\"127.0.0.1\",\"IPv6\":\"none\","
                            "\"STUNPort\":%u,\"STUNOnly\":true}]}",
                            i ? "," : "", regions[i].id, regions[i].id, regions[i].code,
                            regions[i].code, regions[i].id, regions[i].id, d->stun_ports[i]);
  len += (size_t)snprintf(json + len, sizeof json - len, "}}");
  int rc = mrt_derp_map_parse(json, len, out, err, sizeof err);
  if (rc < 0)
    mrt_log(MRT_LOG_ERROR, MN_LOG, "demo: DERP map refused: %s", err);
  return rc;
}

static int start_peer(mn_demo *d, mrt_peer_map **peers) {
  mrt_node_config cfg = mrt_node_config_default();
  cfg.listen_addr = loopback(0);
  cfg.measure_addr = loopback(0);
  cfg.advertise_local = false;
  int rc = mrt_node_start(d->world, &cfg, &d->peer);
  mrt_sock_info si;
  memset(&si, 0, sizeof si);
  if (rc == 0)
    rc = MRT_ASK_SYNC(direct_sock_info, mrt_node_direct(d->peer), &(mrt_none){0}, &si, MRT_SEC(2));
  if (rc < 0)
    return rc;
  d->peer_port = si.port;
  uint8_t key[MRT_PROBE_KEY_LEN];
  mrt_node_public_key(d->peer, key);
  struct sockaddr_storage ep = loopback(si.port);
  rc = mrt_peer_map_new(peers);
  if (rc == 0)
    rc = mrt_peer_map_add(*peers, MN_DEMO_PEER_ID, key, &ep, 1);
  char hex[2 * MRT_PROBE_KEY_LEN + 1];
  mrt_log(MRT_LOG_INFO, MN_LOG, "demo: peer node %d listens on 127.0.0.1:%u key=%.16s...",
          MN_DEMO_PEER_ID, si.port, mn_hex(key, sizeof key, hex, sizeof hex));
  return rc;
}

int mn_demo_start(mn_demo **out, mrt_derp_map **derp_map, mrt_peer_map **peers) {
  mn_demo *d = calloc(1, sizeof *d);
  if (d == NULL)
    return -ENOMEM;
  pthread_mutex_init(&d->mu, NULL);
  *derp_map = NULL;
  *peers = NULL;
  int rc = mrt_runtime_new(NULL, &d->world);
  if (rc == 0)
    rc = mrt_runtime_start(d->world);
  if (rc == 0)
    rc = start_responders(d);
  if (rc == 0)
    rc = derp_map_of(d, derp_map);
  if (rc == 0)
    rc = start_peer(d, peers);
  if (rc < 0) {
    mrt_log(MRT_LOG_ERROR, MN_LOG, "demo: the world did not start err=%s", mrt_strerror(rc));
    *derp_map = mrt_derp_map_unref(*derp_map);
    *peers = mrt_peer_map_unref(*peers);
    mn_demo_free(d);
    return rc;
  }
  *out = d;
  return 0;
}

int mn_demo_set_node(mn_demo *d, const uint8_t key[MRT_PROBE_KEY_LEN], uint16_t port) {
  pthread_mutex_lock(&d->mu);
  if (key != NULL) {
    memcpy(d->node_key, key, sizeof d->node_key);
    d->have_node_key = true;
  }
  bool have = d->have_node_key;
  uint8_t k[MRT_PROBE_KEY_LEN];
  memcpy(k, d->node_key, sizeof k);
  pthread_mutex_unlock(&d->mu);
  if (!have)
    return -EINVAL;
  mrt_peer_map *map = NULL;
  struct sockaddr_storage ep = loopback(port);
  int rc = mrt_peer_map_new(&map);
  if (rc == 0) /* port 0: the key alone, so the peer answers before it knows where we are */
    rc = mrt_peer_map_add(map, MN_DEMO_NODE_ID, k, &ep, port != 0 ? 1 : 0);
  if (rc < 0) {
    mrt_peer_map_unref(map);
    return rc;
  }
  rc = mrt_node_publish_peer_map(d->world, map); /* takes our reference */
  return rc < 0 ? rc : 0;
}

void mn_demo_free(mn_demo *d) {
  if (d == NULL)
    return;
  if (d->peer != NULL)
    (void)mrt_node_stop(d->peer, MRT_SEC(1));
  for (int i = 0; i < N_REGIONS; i++)
    mrt_ref_unref(d->responders[i]);
  if (d->world != NULL)
    mrt_runtime_shutdown(d->world);
  mrt_node_free(d->peer); /* after the shutdown, as mrt_node_free asks */
  mrt_runtime_unref(d->world);
  pthread_mutex_destroy(&d->mu);
  free(d);
}

bool mn_demo_netlink_usable(char *why, size_t len) {
  if (!mrt_node_network_monitor_available()) {
    snprintf(why, len, "this meshrt was built without the network_monitor feature");
    return false;
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    snprintf(why, len, "cannot open a netlink socket: %s", strerror(errno));
    return false;
  }
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  sa.nl_groups =
      RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
  bool ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  if (!ok)
    snprintf(why, len, "cannot join the rtnetlink groups: %s", strerror(errno));
  close(fd);
  return ok;
}
