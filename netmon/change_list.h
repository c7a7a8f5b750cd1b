/* SPDX-License-Identifier: MIT */
/* meshrt — a bounded list of individual link changes (private to netmon/).
 *
 * The link snapshot reports what one netlink buffer (or one resync) changed
 * into one of these, and the debouncer folds the raw changes of a burst into
 * another: the OR of the flags, the first MRT_LINK_CHANGE_LIST_MAX changes in
 * order, and a count of those beyond. Fixed size, so a storm costs no memory.
 * Threading: none; plain data owned by whoever holds it.
 */
#ifndef MESHRT_NETMON_CHANGE_LIST_H
#define MESHRT_NETMON_CHANGE_LIST_H

#include <stdint.h>

#include <meshrt/link_change.h>

typedef struct mrt__link_changes {
  uint32_t flags; /* OR of every change's flags, listed or not */
  uint32_t n;     /* listed in items[] */
  uint32_t more;  /* further changes, only counted (saturates) */
  mrt_link_change_item items[MRT_LINK_CHANGE_LIST_MAX];
} mrt__link_changes;

/* One change: its flags are OR-ed in; listed if there is room, else counted. */
void mrt__link_changes_add(mrt__link_changes *c, const mrt_link_change_item *item);

/* Flags only, for a change that lists nothing (an anonymous manual trigger). */
void mrt__link_changes_add_flags(mrt__link_changes *c, uint32_t flags);

/* Count `n` changes that are not listed. */
void mrt__link_changes_add_more(mrt__link_changes *c, uint64_t n);

/* Fold `src` into `dst`: flags OR-ed, items appended while there is room,
 * the rest (and src's own count) counted. */
void mrt__link_changes_merge(mrt__link_changes *dst, const mrt__link_changes *src);

/* OR `flag` into the flags and into every listed item (RESYNC). */
void mrt__link_changes_mark(mrt__link_changes *c, uint32_t flag);

#endif
