/* SPDX-License-Identifier: MIT */
/* meshrt — umbrella header of libmeshrt-mesh (pkg-config meshrt-mesh):
 * DirectManager, DerpLatencyMeasurer, NetmonSupervisor, the STUN codec and
 * responder, the DERP map, home-region selection, the probe protocol and the
 * node wiring, with the layers they are built on (the runtime, supervision
 * and the link monitor). */
#ifndef MESHRT_MESH_H
#define MESHRT_MESH_H

#include <meshrt/meshrt.h>
#include <meshrt/supervise.h>
#include <meshrt/netmon.h>

#include <meshrt/derp_latency.h>
#include <meshrt/derp_map.h>
#include <meshrt/direct.h>
#include <meshrt/home_region.h>
#include <meshrt/netmon_supervisor.h>
#include <meshrt/node.h>
#include <meshrt/node_msgs.h>
#include <meshrt/probe.h>
#include <meshrt/stun.h>
#include <meshrt/stun_responder.h>
#include <meshrt/stun_stats.h>

#endif
