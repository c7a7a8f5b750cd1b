/* SPDX-License-Identifier: MIT */
/* meshrt — the per-server STUN statistics table shared by DerpLatencyMeasurer
 * and DirectManager (not installed; see <meshrt/stun_stats.h>).
 *
 * Rows follow the DERP map: one per (region, STUN server address), in map
 * order, with an index sorted by address so a datagram's source finds its row
 * in O(log n) however large the map (a flood of datagrams must not cost a
 * scan of every server each).
 *
 * Threading: a table belongs to one actor and is touched only in its context.
 */
#ifndef MESHRT_STUN_TABLE_H
#define MESHRT_STUN_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <meshrt/derp_map.h>
#include <meshrt/stun.h>
#include <meshrt/stun_stats.h>

typedef struct mrt__stun_table {
  mrt_stun_server_stats *rows; /* map order */
  size_t *order;               /* row indices sorted by (address, region) */
  size_t n;
  uint64_t other_rejected; /* refusals from addresses that are no server */
  char other_last_reason[MRT_STUN_REASON_MAX];
} mrt__stun_table;

/* Replaces the rows with the STUN servers of `map` (NULL: none) of `family`
 * (AF_INET, AF_INET6, or AF_UNSPEC for both), in the order of
 * mrt_derp_map_stun_servers(). A server that was in the table under the same
 * region keeps its counters. Returns 0, or -ENOMEM with the table unchanged. */
int mrt__stun_table_load(mrt__stun_table *t, const mrt_derp_map *map, int family);
void mrt__stun_table_free(mrt__stun_table *t);

/* The row of `addr` in `region_id` (0: the first row of that address in any
 * region), or NULL. */
mrt_stun_server_stats *mrt__stun_table_find(const mrt__stun_table *t, int region_id,
                                            const struct sockaddr_storage *addr);

/* Counts a refused datagram from `src` against `row` (NULL: no server's)
 * with `reason` (fixed text, see mrt_stun_server_stats), and logs it at
 * debug under `component`. To keep a stream of junk from flooding the log
 * while still naming every kind of refusal, a line is written when a row's
 * reason changes and when its count reaches a power of two. */
void mrt__stun_table_reject(mrt__stun_table *t, mrt_stun_server_stats *row,
                            const struct sockaddr_storage *src, uint64_t now, const char *component,
                            const char *reason);

/* A copy for a reply. Returns 0 or -ENOMEM (then *out is empty). */
int mrt__stun_table_copy(const mrt__stun_table *t, mrt_stun_server_list *out);

/* Why the codec refused a response, as a reason: its rule, and the
 * attribute type when the rule was about one. */
void mrt__stun_reason_of(const mrt_stun_response *r, char *buf, size_t len);

#endif
