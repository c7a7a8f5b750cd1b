/* SPDX-License-Identifier: MIT */
/* meshrt — DerpLatencyMeasurer: how far is every DERP region, and which is home.
 *
 * The measurer is an actor that
 *   - subscribes to the retained mrt_msg_derp_map_update and to
 *     mrt_msg_measure_now (<meshrt/node_msgs.h>) and caches the last DERP map;
 *   - measures on every new map, and on every MeasureNow against the cached
 *     map (without a map, MeasureNow is logged and ignored); MeasureNows and
 *     maps that arrive while a round runs fold into ONE follow-up round;
 *   - measures all regions in parallel with STUN Binding requests
 *     (<meshrt/stun.h>) sent from its own UDP socket(s); a region's servers
 *     (its nodes' fixed IPv4 then IPv6 STUN addresses, in node order) are
 *     tried in turn when one fails (no answer within probe_timeout_ns, an
 *     error response, or a send error); a region's latency is the time from
 *     sending the request to receiving the response with the same
 *     transaction id from the server it was sent to. Nodes known only by host
 *     name are skipped: an actor must not block on DNS;
 *   - ends a round when at least min_results regions answered and min_wait_ns
 *     passed, or every region finished, or report_deadline_ns passed;
 *   - publishes mrt_msg_derp_latency_measurement (sorted by latency, then
 *     region id), feeds the round to a home-region selector
 *     (<meshrt/home_region.h>: 5-minute history, hysteresis) and publishes
 *     the retained mrt_msg_home_region_changed only when the home changed;
 *   - counts, per STUN server of the map (and region), requests sent,
 *     answers accepted and datagrams refused with the last reason
 *     (<meshrt/stun_stats.h>), logging refusals at debug level, so a region
 *     without a latency can be explained.
 *
 * Threading: spawn from any thread; it talks over the bus and answers
 * mrt_msg_derp_latency_stats and mrt_msg_derp_latency_servers asks from
 * anywhere. Its sockets are watched with
 * mrt_io_watch, so all of its state is touched only in its own context.
 */
#ifndef MESHRT_DERP_LATENCY_H
#define MESHRT_DERP_LATENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <meshrt/actor.h>
#include <meshrt/export.h>
#include <meshrt/home_region.h>
#include <meshrt/message.h>
#include <meshrt/send.h>
#include <meshrt/stun_stats.h>
#include <meshrt/timer.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults (the original design's numbers). */
#define MRT_DERP_LATENCY_REPORT_DEADLINE_DEFAULT MRT_SEC(5)
#define MRT_DERP_LATENCY_MIN_WAIT_DEFAULT MRT_MS(250)
#define MRT_DERP_LATENCY_MIN_RESULTS_DEFAULT 3u
#define MRT_DERP_LATENCY_PROBE_TIMEOUT_DEFAULT MRT_SEC(5)

/* The mailbox capacity a node gives the measurer (mrt_node_start; pass it in
 * mrt_spawn_opts when spawning one yourself). What arrives: MeasureNow after
 * each reaction to a link change (at most one per second, the rebind
 * interval) and from operators; DERP maps on reloads; stats asks from the
 * node's status, metrics and `measure` (one service thread, one ask at a
 * time); the supervisor's stop request. STUN answers do not: its sockets are
 * read by an I/O watch. Handlers only start timers and sends, microseconds
 * each, so the mailbox is rarely more than four deep; 32 slots are eight
 * times that. What a full mailbox costs: a stats ask fails at once with
 * -EAGAIN (status shows the measurer unavailable, `measure` says busy), and
 * MeasureNow and maps, delivered latest-value (<meshrt/node_msgs.h>), fold
 * into the newest one, which arrives when there is room: a round still runs
 * after the last request. */
#define MRT_DERP_LATENCY_MAILBOX_CAPACITY 32u

typedef struct mrt_derp_latency_config {
  /* Where the measuring socket binds: AF_UNSPEC (all zero) opens an IPv4
   * wildcard socket and, if the host has IPv6, an IPv6 one; AF_INET or
   * AF_INET6 opens that one address only (its port is used, 0: ephemeral),
   * and servers of the other family are skipped. */
  struct sockaddr_storage listen_addr;
  uint64_t report_deadline_ns; /* a round ends at the latest after this: 5 s */
  uint64_t min_wait_ns;        /* ...or once min_results are in and this passed: 250 ms */
  uint32_t min_results;        /*   3 */
  uint64_t probe_timeout_ns;   /* one STUN request's deadline before the next server: 5 s */
  mrt_home_region_config home; /* the selector's tunables */
} mrt_derp_latency_config;

/* The documented defaults. Any thread. */
MRT_API mrt_derp_latency_config mrt_derp_latency_config_default(void);

/* The actor class (args: an mrt_derp_latency_config, copied; plain data, so
 * usable in supervisor child specs). on_start fails with -EINVAL for an
 * invalid config and with the socket error when no socket can be bound.
 * Any thread. */
MRT_API const mrt_actor_class *mrt_derp_latency_actor_class(void);

/* Validates `cfg` (NULL: the defaults), configures the node's bus types
 * (mrt_node_bus_configure) and spawns a measurer. Returns 0, -EINVAL (bad
 * argument or config; logged) or mrt_actor_spawn's errors. Any thread. */
MRT_API int mrt_derp_latency_spawn(mrt_runtime *rt, const mrt_derp_latency_config *cfg,
                                   const mrt_spawn_opts *opts, mrt_ref **out);

/* What the measurer has done (for status output and tests). */
typedef struct mrt_derp_latency_stats {
  bool have_map;        /* a DERP map is cached */
  bool measuring;       /* a round is running */
  bool follow_up;       /* another round is owed after this one */
  int home_region;      /* 0: none */
  uint64_t maps;        /* DERP map updates received */
  uint64_t measure_now; /* MeasureNow received */
  uint64_t ignored;     /* MeasureNow without a map (no-op) */
  uint64_t folded;      /* MeasureNow/maps folded into a pending follow-up */
  uint64_t rounds;      /* rounds completed (= measurements published) */
  uint64_t requests_sent, responses, failovers, timeouts, send_errors;
  uint64_t stale;         /* STUN datagrams matching no live request */
  uint64_t garbage;       /* datagrams that were not STUN responses */
  uint64_t home_changes;  /* home_region_changed published */
  uint64_t last_round_ns; /* runtime clock when the last round ended; 0: never */
  size_t last_results;    /* regions in the last measurement */
} mrt_derp_latency_stats;

MRT_MESSAGE_DECLARE(MRT_API, derp_latency_stats, mrt_none, mrt_derp_latency_stats);

/* Per-server STUN statistics of the current map's servers, in map order,
 * only those of a family the measurer has a socket for. The asker owns the
 * reply's array: mrt_stun_server_list_release(). (A list of its own rather
 * than part of mrt_derp_latency_stats, which is plain fixed-size data.) */
MRT_MESSAGE_DECLARE(MRT_API, derp_latency_servers, mrt_none, mrt_stun_server_list);

#ifdef __cplusplus
}
#endif
#endif
