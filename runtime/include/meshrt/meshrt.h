/* SPDX-License-Identifier: MIT */
/* meshrt — umbrella header of libmeshrt (pkg-config meshrt): the actor
 * runtime and the bus, all an embedder needs for actors alone. The layers
 * above have their own: <meshrt/supervise.h> (libmeshrt-supervise),
 * <meshrt/netmon.h> (libmeshrt-netmon), <meshrt/mesh.h> (libmeshrt-mesh, with
 * those two) and <meshrt/testing.h> (libmeshrt-testing). */
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

#endif
