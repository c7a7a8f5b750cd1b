/* SPDX-License-Identifier: MIT */
/* meshrt — the bus messages a node's actors share.
 *
 * DirectManager, DerpLatencyMeasurer and NetmonSupervisor never call each
 * other's code: they talk over the runtime's bus with these types (and by
 * ask/tell with the messages of their own headers).
 *
 *   peer_map_update          control -> DirectManager; retained. The peer table.
 *   derp_map_update          control -> DirectManager, DerpLatencyMeasurer;
 *                            retained. The DERP map (STUN servers, regions).
 *   endpoint_advertisement   DirectManager -> control; retained. Our endpoints,
 *                            sorted, published only when the set changed.
 *   measure_now              NetmonSupervisor -> DerpLatencyMeasurer.
 *   derp_latency_measurement DerpLatencyMeasurer -> anyone: one round's results.
 *   home_region_changed      DerpLatencyMeasurer -> anyone; retained.
 *
 * "Retained" types keep their last value on the bus so a subscriber that
 * starts late still gets the current state; mrt_node_bus_configure() sets
 * that up (mrt_direct_spawn calls it too, so hosts rarely need to). The node's
 * actors have bounded mailboxes (see <meshrt/node.h>); every type here is
 * delivered "latest value" (MRT_BUS_LATEST), so a full mailbox loses older
 * values, never the newest.
 *
 * Ownership: payloads that point to heap data own it; each type's drop hook
 * releases it once, after the last subscriber handled it. A handler that wants
 * to keep such data past its return takes its own reference (peer and DERP
 * maps are refcounted) or copies it.
 *
 * Threading: peer maps, like DERP maps, are immutable once shared, with an
 * atomic reference count, so any thread may read, ref and unref a map it holds
 * a reference to. mrt_peer_map_add is for building a map before it is shared.
 */
#ifndef MESHRT_NODE_MSGS_H
#define MESHRT_NODE_MSGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <meshrt/bus.h>
#include <meshrt/derp_map.h>
#include <meshrt/export.h>
#include <meshrt/message.h>
#include <meshrt/probe.h>
#include <meshrt/send.h>
#include <meshrt/timer.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the peer map ------------------------------------------------------- */

/* Endpoints one peer entry may carry (DirectManager keeps at most
 * MRT_DIRECT_MAX_CANDIDATES of them). */
#define MRT_PEER_MAP_MAX_ENDPOINTS 256

typedef struct mrt_peer_map mrt_peer_map;

/* One peer as control describes it. Read-only; owned by its map. */
typedef struct mrt_peer {
  uint64_t id;                    /* unique in the map */
  uint8_t key[MRT_PROBE_KEY_LEN]; /* its public probe key */
  size_t n_endpoints;
  const struct sockaddr_storage *endpoints; /* candidate UDP endpoints, in order */
} mrt_peer;

/* A new, empty map with one reference (the caller's), in *out. Any thread.
 * Returns 0, -EINVAL (NULL out), -ENOMEM. */
MRT_API int mrt_peer_map_new(mrt_peer_map **out);

/* Adds a peer with a copy of its key and endpoints (AF_INET or AF_INET6, port
 * non-zero; at most MRT_PEER_MAP_MAX_ENDPOINTS). Only while the caller holds
 * the map's only reference (before publishing it), so from one thread: the
 * map is not locked. Returns 0, -EINVAL (bad
 * argument or endpoint), -EEXIST (id already present), -EBUSY (the map is
 * shared), -E2BIG, -ENOMEM. */
MRT_API int mrt_peer_map_add(mrt_peer_map *map, uint64_t id, const uint8_t key[MRT_PROBE_KEY_LEN],
                             const struct sockaddr_storage *endpoints, size_t n_endpoints);

/* Takes another reference (the caller owns it). NULL-safe; returns map. Any
 * thread holding a reference. */
MRT_API mrt_peer_map *mrt_peer_map_ref(mrt_peer_map *map);
/* Drops a reference; the last one frees the map, its peers and their
 * endpoints. NULL-safe; returns NULL. Any thread. */
MRT_API mrt_peer_map *mrt_peer_map_unref(mrt_peer_map *map);
/* Number of peers (0 for NULL). Any thread holding a reference. */
MRT_API size_t mrt_peer_map_count(const mrt_peer_map *map);
/* The i-th peer in insertion order (borrowed: valid while the caller holds a
 * reference to the map), or NULL (out of range, NULL map). Any thread. */
MRT_API const mrt_peer *mrt_peer_map_at(const mrt_peer_map *map, size_t i);

/* ---- message payloads ------------------------------------------------------ */

/* The peer table. Owns one reference to `map` (NULL: no peers). */
typedef struct mrt_peer_map_update {
  mrt_peer_map *map;
} mrt_peer_map_update;

/* The DERP map. Owns one reference to `map` (NULL: no map). */
typedef struct mrt_derp_map_update {
  mrt_derp_map *map;
} mrt_derp_map_update;

/* Endpoints in an advertisement (reflexive and local together). */
#define MRT_ENDPOINTS_MAX 32

/* Our endpoints as peers should try them: sorted (family, address, port),
 * without duplicates. */
typedef struct mrt_endpoint_advertisement {
  uint32_t n;
  struct sockaddr_storage endpoints[MRT_ENDPOINTS_MAX];
} mrt_endpoint_advertisement;

/* Re-measure DERP latency against the cached map. */
typedef struct mrt_measure_now {
  uint64_t reason; /* free for the sender's bookkeeping (e.g. an event count) */
} mrt_measure_now;

/* One region's result in a measurement round. */
#define MRT_REGION_CODE_MAX 32
typedef struct mrt_derp_region_result {
  int region_id;
  char region_code[MRT_REGION_CODE_MAX]; /* NUL-terminated, possibly shortened */
  uint64_t latency_ns;
  struct sockaddr_storage probed; /* the STUN server that answered */
} mrt_derp_region_result;

/* One measurement round, sorted by latency then region id. Owns `results`
 * (malloc'd; freed by the drop hook). */
typedef struct mrt_derp_latency_measurement {
  uint64_t at_ns; /* runtime clock when the round ended */
  size_t n;
  mrt_derp_region_result *results;
} mrt_derp_latency_measurement;

/* The home region changed (0 = none). */
typedef struct mrt_home_region_changed {
  int old_region;
  int new_region;
  uint64_t at_ns;
} mrt_home_region_changed;

MRT_MESSAGE_DECLARE(MRT_API, peer_map_update, mrt_peer_map_update, mrt_none);
MRT_MESSAGE_DECLARE(MRT_API, derp_map_update, mrt_derp_map_update, mrt_none);
MRT_MESSAGE_DECLARE(MRT_API, endpoint_advertisement, mrt_endpoint_advertisement, mrt_none);
MRT_MESSAGE_DECLARE(MRT_API, measure_now, mrt_measure_now, mrt_none);
MRT_MESSAGE_DECLARE(MRT_API, derp_latency_measurement, mrt_derp_latency_measurement, mrt_none);
MRT_MESSAGE_DECLARE(MRT_API, home_region_changed, mrt_home_region_changed, mrt_none);

MRT_BUS_TYPED(peer_map_update, mrt_peer_map_update);
MRT_BUS_TYPED(derp_map_update, mrt_derp_map_update);
MRT_BUS_TYPED(endpoint_advertisement, mrt_endpoint_advertisement);
MRT_BUS_TYPED(measure_now, mrt_measure_now);
MRT_BUS_TYPED(derp_latency_measurement, mrt_derp_latency_measurement);
MRT_BUS_TYPED(home_region_changed, mrt_home_region_changed);

/* Makes peer_map_update, derp_map_update, endpoint_advertisement and
 * home_region_changed retained, and gives all six types the latest-value
 * policy (MRT_BUS_LATEST): a subscriber whose bounded mailbox is full misses
 * older values (counted as dropped_full) but receives the newest one as soon
 * as it has room, so a map or a MeasureNow is never lost to a full mailbox,
 * only folded into the latest. Idempotent; keeps values already retained.
 * Returns 0, -EINVAL, -ENOMEM. Any thread. */
MRT_API int mrt_node_bus_configure(mrt_bus *bus);

/* Publishes a peer map (retained: later subscribers get it too): the bus
 * takes over the caller's reference to `map` (also on failure, when it is
 * released). Any thread. Returns mrt_bus_publish's result (deliveries, >= 0),
 * or -EINVAL (NULL runtime), -ENOMEM (no memory for the bus or the publish). */
MRT_API int mrt_node_publish_peer_map(mrt_runtime *rt, mrt_peer_map *map);

/* Publishes a DERP map; takes over the caller's reference, returns and
 * errors like mrt_node_publish_peer_map. Any thread. */
MRT_API int mrt_node_publish_derp_map(mrt_runtime *rt, mrt_derp_map *map);

#ifdef __cplusplus
}
#endif
#endif
