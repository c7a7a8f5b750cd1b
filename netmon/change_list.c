/* SPDX-License-Identifier: MIT */
/* meshrt — a bounded list of individual link changes (see change_list.h).
 *
 * Why bounded: a storm of address changes must cost the debouncer and the
 * events it emits a fixed amount of memory, so past the list's capacity a
 * change is only counted. Threading: none.
 */
#include "change_list.h"

void mrt__link_changes_add_more(mrt__link_changes *c, uint64_t n) {
  uint64_t sum = (uint64_t)c->more + n;
  c->more = sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}

void mrt__link_changes_add(mrt__link_changes *c, const mrt_link_change_item *item) {
  c->flags |= item->flags;
  if (c->n < MRT_LINK_CHANGE_LIST_MAX)
    c->items[c->n++] = *item;
  else
    mrt__link_changes_add_more(c, 1);
}

void mrt__link_changes_add_flags(mrt__link_changes *c, uint32_t flags) {
  c->flags |= flags;
}

void mrt__link_changes_merge(mrt__link_changes *dst, const mrt__link_changes *src) {
  uint32_t i = 0;

  dst->flags |= src->flags;
  for (; i < src->n && dst->n < MRT_LINK_CHANGE_LIST_MAX; i++)
    dst->items[dst->n++] = src->items[i];
  mrt__link_changes_add_more(dst, (uint64_t)(src->n - i) + src->more);
}

void mrt__link_changes_mark(mrt__link_changes *c, uint32_t flag) {
  c->flags |= flag;
  for (uint32_t i = 0; i < c->n; i++)
    c->items[i].flags |= flag;
}
