/* SPDX-License-Identifier: MIT */
/* meshrt-node — the built-in demo's world: what a node needs around it to
 * show its work on one machine alone. Three DERP regions whose STUN servers
 * are in-process responders on 127.0.0.1 with different artificial delays,
 * and a second node (the peer) that answers the demo node's probes, so a
 * direct path gets confirmed. The world runs on a runtime of its own: a
 * runtime has one bus, and the peer needs its own peer map and DERP map. */
#ifndef MESHRT_TOOLS_DEMO_H
#define MESHRT_TOOLS_DEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <meshrt/mesh.h>

typedef struct mn_demo mn_demo;

/* The demo node's id in the peer's map, and the peer's in the node's. */
#define MN_DEMO_NODE_ID 1
#define MN_DEMO_PEER_ID 2

/* Starts the world: the three responders and the peer node. *derp_map and
 * *peers (new references, the caller's) describe them for the demo node.
 * Host thread. Returns 0 or a negative errno (logged). */
int mn_demo_start(mn_demo **out, mrt_derp_map **derp_map, mrt_peer_map **peers);

/* Tells the peer the demo node's key (NULL: the one given before) and port
 * (0: not bound yet, the key alone). With the key the peer answers the
 * node's probes; with the port it probes the node too. Any thread. */
int mn_demo_set_node(mn_demo *d, const uint8_t key[MRT_PROBE_KEY_LEN], uint16_t port);

/* Shuts the world down and frees it. Host thread. NULL-safe. */
void mn_demo_free(mn_demo *d);

/* Whether the netlink link monitor can be used here: built in, and a
 * NETLINK_ROUTE socket opens and joins the link, address and route groups.
 * When not, `why` says why. */
bool mn_demo_netlink_usable(char *why, size_t len);

#endif
