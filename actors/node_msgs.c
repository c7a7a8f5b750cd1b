/* SPDX-License-Identifier: MIT */
/* meshrt — the shared bus messages of a node, and the peer map they carry.
 *
 * The message descriptors live here (not in any one actor's file) because
 * several actors publish and subscribe to them and none owns them. The peer
 * map is built by control (or a test), published once, and then only read,
 * so like the DERP map it is immutable after sharing and refcounted; a drop
 * hook releases a payload's reference when the bus is done with it.
 *
 * Threading: descriptors are constants. A peer map's count changes with
 * atomic operations (see ref/unref); its contents are written only while its
 * builder holds the only reference, which mrt_peer_map_add checks.
 */
#include <meshrt/node_msgs.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <meshrt/log.h>

#include "mrt_grow.h"

typedef struct peer_slot {
  mrt_peer pub;                       /* what readers see */
  struct sockaddr_storage *endpoints; /* owned; pub.endpoints points here */
} peer_slot;

struct mrt_peer_map {
  atomic_size_t refs;
  size_t n, cap;
  peer_slot *peers;
};

int mrt_peer_map_new(mrt_peer_map **out) {
  if (out == NULL) {
    mrt_log(MRT_LOG_WARN, "node", "peer map new refused: NULL out");
    return -EINVAL;
  }
  mrt_peer_map *m = calloc(1, sizeof *m);
  if (m == NULL)
    return -ENOMEM;
  atomic_init(&m->refs, 1);
  *out = m;
  return 0;
}

static bool endpoint_ok(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET)
    return ((const struct sockaddr_in *)ss)->sin_port != 0;
  if (ss->ss_family == AF_INET6)
    return ((const struct sockaddr_in6 *)ss)->sin6_port != 0;
  return false;
}

static int check_add(const mrt_peer_map *map, uint64_t id, const uint8_t *key,
                     const struct sockaddr_storage *eps, size_t n) {
  if (map == NULL || key == NULL || (n > 0 && eps == NULL))
    return -EINVAL;
  if (n > MRT_PEER_MAP_MAX_ENDPOINTS)
    return -E2BIG;
  /* Relaxed is enough: a builder racing with its own publication is a bug we
   * report on a best-effort basis, not a synchronisation point. */
  if (atomic_load_explicit(&map->refs, memory_order_relaxed) != 1)
    return -EBUSY;
  for (size_t i = 0; i < n; i++)
    if (!endpoint_ok(&eps[i]))
      return -EINVAL;
  for (size_t i = 0; i < map->n; i++)
    if (map->peers[i].pub.id == id)
      return -EEXIST;
  return 0;
}

int mrt_peer_map_add(mrt_peer_map *map, uint64_t id, const uint8_t key[MRT_PROBE_KEY_LEN],
                     const struct sockaddr_storage *endpoints, size_t n_endpoints) {
  int rc = check_add(map, id, key, endpoints, n_endpoints);
  if (rc < 0) {
    mrt_log(MRT_LOG_WARN, "node", "peer map add refused id=%llu err=%s", (unsigned long long)id,
            rc == -EEXIST  ? "duplicate id"
            : rc == -EBUSY ? "map already shared"
                           : "bad argument");
    return rc;
  }
  peer_slot *p = mrt__grow(map->peers, &map->cap, map->n, sizeof *p, 8);
  if (p == NULL)
    return -ENOMEM;
  map->peers = p;
  peer_slot *s = &map->peers[map->n];
  memset(s, 0, sizeof *s);
  if (n_endpoints > 0) {
    s->endpoints = malloc(n_endpoints * sizeof *s->endpoints);
    if (s->endpoints == NULL)
      return -ENOMEM;
    memcpy(s->endpoints, endpoints, n_endpoints * sizeof *s->endpoints);
  }
  s->pub.id = id;
  memcpy(s->pub.key, key, MRT_PROBE_KEY_LEN);
  s->pub.n_endpoints = n_endpoints;
  s->pub.endpoints = s->endpoints;
  map->n++;
  return 0;
}

mrt_peer_map *mrt_peer_map_ref(mrt_peer_map *map) {
  /* Relaxed: taking a reference needs only atomicity; the caller already
   * holds one, so the map cannot be freed concurrently. */
  if (map != NULL)
    atomic_fetch_add_explicit(&map->refs, 1, memory_order_relaxed);
  return map;
}

mrt_peer_map *mrt_peer_map_unref(mrt_peer_map *map) {
  if (map == NULL)
    return NULL;
  /* Release makes this thread's reads of the map happen before the free;
   * the acquire fence on the last drop pairs with every other thread's
   * release, so no reader is still looking when we free. */
  if (atomic_fetch_sub_explicit(&map->refs, 1, memory_order_release) == 1) {
    atomic_thread_fence(memory_order_acquire);
    for (size_t i = 0; i < map->n; i++)
      free(map->peers[i].endpoints);
    free(map->peers);
    free(map);
  }
  return NULL;
}

size_t mrt_peer_map_count(const mrt_peer_map *map) {
  return map ? map->n : 0;
}

const mrt_peer *mrt_peer_map_at(const mrt_peer_map *map, size_t i) {
  return map != NULL && i < map->n ? &map->peers[i].pub : NULL;
}

/* ---- descriptors ----------------------------------------------------------- */

static void peer_map_update_drop(void *p) {
  mrt_peer_map_unref(((mrt_peer_map_update *)p)->map);
}

static void derp_map_update_drop(void *p) {
  mrt_derp_map_unref(((mrt_derp_map_update *)p)->map);
}

static void measurement_drop(void *p) {
  free(((mrt_derp_latency_measurement *)p)->results);
}

MRT_MESSAGE_DEFINE(peer_map_update, mrt_peer_map_update, mrt_none, peer_map_update_drop, NULL);
MRT_MESSAGE_DEFINE(derp_map_update, mrt_derp_map_update, mrt_none, derp_map_update_drop, NULL);
MRT_MESSAGE_DEFINE(endpoint_advertisement, mrt_endpoint_advertisement, mrt_none, NULL, NULL);
MRT_MESSAGE_DEFINE(measure_now, mrt_measure_now, mrt_none, NULL, NULL);
MRT_MESSAGE_DEFINE(derp_latency_measurement, mrt_derp_latency_measurement, mrt_none,
                   measurement_drop, NULL);
MRT_MESSAGE_DEFINE(home_region_changed, mrt_home_region_changed, mrt_none, NULL, NULL);

int mrt_node_bus_configure(mrt_bus *bus) {
  if (bus == NULL) {
    mrt_log(MRT_LOG_WARN, "node", "bus configure refused: NULL bus");
    return -EINVAL;
  }
  static const mrt_msg_type *const retained[] = {&mrt_msg_peer_map_update, &mrt_msg_derp_map_update,
                                                 &mrt_msg_endpoint_advertisement,
                                                 &mrt_msg_home_region_changed};
  static const mrt_msg_type *const plain[] = {&mrt_msg_measure_now,
                                              &mrt_msg_derp_latency_measurement};
  /* Latest-value delivery for all of them: each is state a newer value
   * supersedes (maps, endpoints, the home region, the last round) or a
   * request that one run answers however often it was made (MeasureNow), so
   * a full bounded mailbox may miss older values but always gets the newest
   * (see <meshrt/bus.h>); drops are counted in the bus statistics. */
  const mrt_bus_type_opts keep = {.policy = MRT_BUS_LATEST, .retained = true};
  const mrt_bus_type_opts events = {.policy = MRT_BUS_LATEST, .retained = false};
  for (size_t i = 0; i < sizeof retained / sizeof retained[0]; i++) {
    int rc = mrt_bus_configure(bus, retained[i], &keep);
    if (rc < 0)
      return rc;
  }
  for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
    int rc = mrt_bus_configure(bus, plain[i], &events);
    if (rc < 0)
      return rc;
  }
  return 0;
}

/* The runtime's bus for a map publish: 0, or -EINVAL (NULL runtime) or
 * -ENOMEM (the bus could not be made; the only other way mrt_runtime_bus
 * fails), logged. */
static int bus_for_publish(mrt_runtime *rt, const char *what, mrt_bus **out) {
  *out = mrt_runtime_bus(rt);
  if (*out != NULL)
    return 0;
  mrt_log(MRT_LOG_WARN, "node", "%s publish refused: %s", what,
          rt == NULL ? "NULL runtime" : "out of memory for the runtime's bus");
  return rt == NULL ? -EINVAL : -ENOMEM;
}

int mrt_node_publish_peer_map(mrt_runtime *rt, mrt_peer_map *map) {
  mrt_bus *bus;
  int rc = bus_for_publish(rt, "peer map", &bus);
  if (rc == 0)
    rc = mrt_publish_peer_map_update(bus, &(mrt_peer_map_update){map});
  if (rc < 0)
    mrt_peer_map_unref(map); /* taken over from the caller, so released on failure too */
  return rc;
}

int mrt_node_publish_derp_map(mrt_runtime *rt, mrt_derp_map *map) {
  mrt_bus *bus;
  int rc = bus_for_publish(rt, "derp map", &bus);
  if (rc == 0)
    rc = mrt_publish_derp_map_update(bus, &(mrt_derp_map_update){map});
  if (rc < 0)
    mrt_derp_map_unref(map); /* taken over from the caller, so released on failure too */
  return rc;
}
