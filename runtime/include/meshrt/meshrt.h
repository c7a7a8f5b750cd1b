/* meshrt — umbrella header: everything a host program needs. */
#ifndef MESHRT_MESHRT_H
#define MESHRT_MESHRT_H

#include <meshrt/export.h>
#include <meshrt/error.h>
#include <meshrt/log.h>
#include <meshrt/types.h>
#include <meshrt/message.h>
#include <meshrt/send.h>
#include <meshrt/timer.h>
#include <meshrt/io.h>
#include <meshrt/runtime.h>
#include <meshrt/actor.h>
#include <meshrt/bus.h>
#include <meshrt/supervisor.h>
#include <meshrt/reconciler.h>
#include <meshrt/netmon.h>
#include <meshrt/probe.h>
#include <meshrt/node_msgs.h>
#include <meshrt/direct.h>
#include <meshrt/stun_responder.h>
#include <meshrt/derp_latency.h>
#include <meshrt/netmon_supervisor.h>
#include <meshrt/node.h>

#endif
