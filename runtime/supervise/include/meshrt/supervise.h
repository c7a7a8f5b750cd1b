/* SPDX-License-Identifier: MIT */
/* meshrt — umbrella header of libmeshrt-supervise (pkg-config meshrt-supervise):
 * the runtime (<meshrt/meshrt.h>) plus supervisors, the restart backoff
 * tracker and the reconciler. */
#ifndef MESHRT_SUPERVISE_H
#define MESHRT_SUPERVISE_H

#include <meshrt/meshrt.h>
#include <meshrt/backoff.h>
#include <meshrt/reconciler.h>
#include <meshrt/supervisor.h>

#endif
