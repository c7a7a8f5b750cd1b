/* SPDX-License-Identifier: MIT */
/* meshrt — per-server statistics of meshrt's STUN clients.
 *
 * DerpLatencyMeasurer and DirectManager both send STUN Binding requests to
 * the servers of the DERP map. When a region never gets a latency, or no
 * reflexive address is learned, the first question is which server is
 * silent and which one answers with something we refuse, and why. Both
 * actors keep one row per server of their current DERP map (counters of a
 * server that stays in a new map are kept) and report it with an ask:
 * mrt_msg_derp_latency_servers (<meshrt/derp_latency.h>) and
 * mrt_msg_direct_stun_servers (<meshrt/direct.h>).
 *
 * A datagram counts as rejected when it comes from a server's address and
 * is not accepted as the answer to a request in flight: it does not parse
 * (see mrt_stun_reject in <meshrt/stun.h>), it is an error response, or its
 * transaction id matches no live request (late, replayed, forged).
 * Rejected datagrams from addresses that are no server are counted apart.
 *
 * Threading: plain data. The reply of either ask owns `servers`; release it
 * with mrt_stun_server_list_release() from any thread.
 */
#ifndef MESHRT_STUN_STATS_H
#define MESHRT_STUN_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <meshrt/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Room for a rejection reason, its NUL included. */
#define MRT_STUN_REASON_MAX 96

typedef struct mrt_stun_server_stats {
  struct sockaddr_storage server; /* the STUN server: address and port */
  int region_id;                  /* its DERP region */
  uint64_t sent;                  /* Binding requests sent to it */
  uint64_t answered;              /* success responses accepted from it */
  uint64_t rejected;              /* datagrams from it that were refused */
  uint64_t last_rejected_ns;      /* runtime clock of the last refusal; 0: never */
  /* Why the last one was refused, "" if none was: fixed English text with
   * numbers (an error code, an attribute type), never bytes of the datagram,
   * so it is printable ASCII and safe in logs, JSON and tables. */
  char last_reason[MRT_STUN_REASON_MAX];
} mrt_stun_server_stats;

typedef struct mrt_stun_server_list {
  size_t n;
  mrt_stun_server_stats *servers;              /* malloc'd; DERP map order (regions by id) */
  uint64_t other_rejected;                     /* refused STUN datagrams from other addresses */
  char other_last_reason[MRT_STUN_REASON_MAX]; /* as last_reason */
} mrt_stun_server_list;

/* Frees `servers` and zeroes the list. NULL-safe. Any thread. */
MRT_API void mrt_stun_server_list_release(mrt_stun_server_list *list);

#ifdef __cplusplus
}
#endif
#endif
