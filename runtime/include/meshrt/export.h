/* meshrt — symbol visibility.
 *
 * libmeshrt is built with -fvisibility=hidden so that only the functions we
 * document become part of the ABI. Every public declaration is marked MRT_API;
 * internals (mrt__ prefix) stay hidden even though they cross file boundaries.
 */
#ifndef MESHRT_EXPORT_H
#define MESHRT_EXPORT_H

#if defined(MRT_BUILDING_LIBRARY) && defined(__GNUC__)
#define MRT_API __attribute__((visibility("default")))
#else
#define MRT_API
#endif

#endif
