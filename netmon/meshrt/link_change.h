/* meshrt — what a link-change event says changed.
 *
 * A link monitor turns raw OS notifications into "interesting" changes and the
 * debouncer folds several of them into one LinkChangeEvent. The flags below are
 * what such an event carries: each raw change sets one or more bits, and the
 * flags of coalesced raw events are OR-ed, so an event says *what* changed, not
 * merely that something did. `raw_events` counts the raw changes folded in.
 */
#ifndef MESHRT_LINK_CHANGE_H
#define MESHRT_LINK_CHANGE_H

#include <stddef.h>
#include <stdint.h>

#include <meshrt/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An interesting interface became more usable: administratively up, or it
 * gained carrier while up. */
#define MRT_LINK_CHANGE_LINK_UP       (UINT32_C(1) << 0)
/* An interesting interface became less usable: carrier lost, set down, or
 * removed. */
#define MRT_LINK_CHANGE_LINK_DOWN     (UINT32_C(1) << 1)
/* A routable address appeared on an interesting interface. */
#define MRT_LINK_CHANGE_ADDR_ADDED    (UINT32_C(1) << 2)
/* A routable address disappeared from an interesting interface. */
#define MRT_LINK_CHANGE_ADDR_REMOVED  (UINT32_C(1) << 3)
/* The interface carrying the IPv4 or IPv6 default route changed (including
 * appearing or disappearing). */
#define MRT_LINK_CHANGE_DEFAULT_ROUTE (UINT32_C(1) << 4)
/* Notifications were lost (the kernel reported ENOBUFS) and a fresh dump
 * differed from what the monitor believed; the other bits say how. */
#define MRT_LINK_CHANGE_RESYNC        (UINT32_C(1) << 5)

/* Every flag defined above; bits outside it are never set by meshrt. */
#define MRT_LINK_CHANGE_ALL           (UINT32_C(0x3f))

typedef struct mrt_link_change {
    uint32_t flags;      /* OR of MRT_LINK_CHANGE_* */
    uint32_t raw_events; /* raw changes folded into this event, >= 1 */
} mrt_link_change;

/* Render `flags` as comma-separated names in bit order, e.g.
 * "link-up,addr-added"; 0 renders as "none" and unknown bits as one trailing
 * "0x..." item. The text is truncated to fit `cap` bytes and is always
 * NUL-terminated when cap > 0. Returns `buf`, or "" when buf is NULL or cap is
 * 0. The caller owns `buf`; any thread may call this. */
MRT_API const char *mrt_link_change_flags_str(uint32_t flags, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
