/* SPDX-License-Identifier: MIT */
/* meshrt — symbol visibility.
 *
 * Every meshrt library (libmeshrt, -supervise, -netmon, -mesh, -testing) is
 * built with -fvisibility=hidden and MRT_BUILDING_LIBRARY, so that only the
 * functions we document become part of its ABI. Every public declaration is
 * marked MRT_API, whichever library defines it, so a library calling into one
 * below it sees the same default visibility as a host does; internals (mrt__
 * prefix) stay hidden inside their own library even though they cross file
 * boundaries.
 */
#ifndef MESHRT_EXPORT_H
#define MESHRT_EXPORT_H

#if defined(MRT_BUILDING_LIBRARY) && defined(__GNUC__)
#define MRT_API __attribute__((visibility("default")))
#else
#define MRT_API
#endif

#endif
