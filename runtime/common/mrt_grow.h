/* SPDX-License-Identifier: MIT */
/* meshrt — growable arrays: the one growth rule every component uses.
 *
 * Private to the project (never installed): every library's build is given
 * runtime/common/ on its include path for helpers like this one, which are
 * static inline so that no library exports them. Threads: no state of its
 * own; the caller guards its array.
 */
#ifndef MESHRT_MRT_GROW_H
#define MESHRT_MRT_GROW_H

#include <stdint.h>
#include <stdlib.h>

/* Makes room for one more element in a growable array of `n` used out of
 * *cap: returns `items` (room already), the reallocated array (doubled, or
 * `first` elements to begin with; *cap updated), or NULL when out of memory
 * or when the new size would not fit a size_t (the old array and *cap
 * untouched either way). The caller stores the result only when it is not
 * NULL, so a failure loses nothing. */
static inline void *mrt__grow(void *items, size_t *cap, size_t n, size_t elem, size_t first) {
  if (n < *cap)
    return items;
  size_t ncap = *cap ? *cap * 2 : first;
  if (ncap < *cap || (elem != 0 && ncap > SIZE_MAX / elem))
    return NULL;
  void *grown = realloc(items, ncap * elem);
  if (grown != NULL)
    *cap = ncap;
  return grown;
}

#endif
