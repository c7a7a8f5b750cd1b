/* SPDX-License-Identifier: MIT */
/* Fuzz target: rtnetlink messages into the link monitor's interface
 * snapshot (netmon/link_snapshot.c, link_parse.c), as the netlink monitor
 * hands it every buffer it receives, with resyncs in between.
 *
 * Input: a sequence of steps, each an op byte then, for buffers, a 16-bit
 * little-endian length and that many bytes:
 *   op % 4 == 0 or 3: apply the buffer;  1: begin a resync;  2: finish it.
 * Two snapshots, A and B, take the same steps; B takes each one after A.
 *
 * Properties:
 *   - apply returns a message count or a documented error (an error other
 *     than -ENOMEM / -EBADMSG is the code of an error message it counted);
 *   - every listed change is exactly one kind (link up/down, address
 *     added/removed, default route), maybe marked resync, within the list
 *     bound, and its text (interface names are hostile) is clean;
 *   - no change goes unreported: outside a resync, every interesting
 *     difference between B (the state before) and A (after) was among the
 *     flags the apply reported;
 *   - a buffer with nothing well-formed in it changes nothing;
 *   - the same steps give the same state (A equals B after each one).
 */
#include <errno.h>
#include <string.h>

#include <meshrt/link_change.h>

#include "fuzz.h"
#include "link_snapshot.h"

#define KINDS                                                                                      \
  (MRT_LINK_CHANGE_LINK_UP | MRT_LINK_CHANGE_LINK_DOWN | MRT_LINK_CHANGE_ADDR_ADDED |              \
   MRT_LINK_CHANGE_ADDR_REMOVED | MRT_LINK_CHANGE_DEFAULT_ROUTE)

static void check_changes(const mrt__link_changes *c, uint32_t flags) {
  FUZZ_CHECK(c->n <= MRT_LINK_CHANGE_LIST_MAX, "%u listed", c->n);
  FUZZ_CHECK((flags & ~MRT_LINK_CHANGE_ALL) == 0, "unknown flags %x", flags);
  FUZZ_CHECK((c->flags & ~flags) == 0, "listed changes %x beyond the flags %x", c->flags, flags);
  for (uint32_t i = 0; i < c->n; i++) {
    const mrt_link_change_item *it = &c->items[i];
    uint32_t kind = it->flags & KINDS;
    FUZZ_CHECK(kind != 0 && (kind & (kind - 1)) == 0, "item %u has flags %x", i, it->flags);
    FUZZ_CHECK((it->flags & ~(KINDS | MRT_LINK_CHANGE_RESYNC)) == 0, "item flags %x", it->flags);
    FUZZ_CHECK(memchr(it->ifname, '\0', sizeof it->ifname) != NULL, "ifname not terminated");
    char text[512];
    mrt_link_change_item_str(it, text, sizeof text);
    FUZZ_CHECK(fuzz_clean_text(text, strlen(text)), "change text not clean: %s", text);
  }
  mrt_link_change ev = {.flags = flags,
                        .n_changes = c->n,
                        .more_changes = c->more,
                        .changes = (mrt_link_change_item *)c->items};
  char list[2048];
  mrt_link_change_list_str(&ev, list, sizeof list);
  FUZZ_CHECK(fuzz_clean_text(list, strlen(list)), "list text not clean: %s", list);
}

static void apply(mrt__link_snapshot *a, mrt__link_snapshot *b, const uint8_t *data, size_t len) {
  static uint32_t buf[65536 / 4 + 1]; /* recv() buffers are 4-byte aligned */
  memcpy(buf, data, len);
  mrt__link_stats before, after;
  mrt__link_snapshot_get_stats(a, &before);
  uint32_t fa = 0, fb = 0;
  mrt__link_changes ca, cb;
  memset(&ca, 0, sizeof ca);
  memset(&cb, 0, sizeof cb);
  int rc = mrt__link_snapshot_apply(a, buf, len, &fa, &ca);
  check_changes(&ca, fa);
  mrt__link_snapshot_get_stats(a, &after);
  /* Other errors are the code an NLMSG_ERROR / NLMSG_DONE carried. */
  if (rc < 0 && rc != -ENOMEM && rc != -EBADMSG)
    FUZZ_CHECK(after.errors > before.errors && after.last_error == rc,
               "error %d without an error message", rc);
  bool resyncing = mrt__link_snapshot_resyncing(a);
  if (!resyncing && rc != -ENOMEM) {
    uint32_t diff = 0;
    FUZZ_CHECK(mrt__link_snapshot_diff(b, a, &diff, NULL) == 0, "diff");
    FUZZ_CHECK((diff & ~fa) == 0, "changes %x happened but were not reported (reported %x)", diff,
               fa);
  }
  if (after.messages == before.messages && !resyncing)
    FUZZ_CHECK(mrt__link_snapshot_equal(a, b), "nothing accepted, yet the state changed");
  int rc2 = mrt__link_snapshot_apply(b, buf, len, &fb, &cb);
  FUZZ_CHECK(rc2 == rc && fb == fa && cb.n == ca.n, "the same buffer, another outcome");
  FUZZ_CHECK(mrt__link_snapshot_equal(a, b), "the same steps, another state");
}

static void finish(mrt__link_snapshot *a, mrt__link_snapshot *b) {
  uint32_t fa = 0, fb = 0;
  mrt__link_changes ca, cb;
  memset(&ca, 0, sizeof ca);
  memset(&cb, 0, sizeof cb);
  bool was = mrt__link_snapshot_resyncing(a);
  int rc = mrt__link_snapshot_finish_resync(a, &fa, &ca);
  int rc2 = mrt__link_snapshot_finish_resync(b, &fb, &cb);
  FUZZ_CHECK(was ? (rc == 0 || rc == MRT__LINK_RESYNC_INCONSISTENT) : rc == -EINVAL, "rc %d", rc);
  FUZZ_CHECK(rc == rc2 && fa == fb, "the same resync, another outcome");
  if (rc >= 0) {
    check_changes(&ca, fa);
    FUZZ_CHECK(fa == 0 || (fa & MRT_LINK_CHANGE_RESYNC), "resync changes without RESYNC");
  }
  FUZZ_CHECK(!mrt__link_snapshot_resyncing(a), "still resyncing");
  FUZZ_CHECK(mrt__link_snapshot_equal(a, b), "the same steps, another state");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const ignored[] = {"wg*", "tailscale0"};
  mrt__link_snapshot *a = NULL, *b = NULL;
  if (mrt__link_snapshot_new(&a) < 0 || mrt__link_snapshot_new(&b) < 0)
    abort();
  mrt__link_snapshot_set_ignored(a, ignored, 2, NULL);
  mrt__link_snapshot_set_ignored(b, ignored, 2, NULL);
  size_t off = 0;
  while (off < size) {
    uint8_t op = data[off++];
    if (op % 4 == 1) {
      FUZZ_CHECK(mrt__link_snapshot_begin_resync(a) == 0 && mrt__link_snapshot_begin_resync(b) == 0,
                 "begin_resync");
      continue;
    }
    if (op % 4 == 2) {
      finish(a, b);
      continue;
    }
    size_t len = 0;
    if (off + 2 <= size) {
      len = (size_t)data[off] | (size_t)data[off + 1] << 8;
      off += 2;
    }
    if (len > size - off)
      len = size - off;
    apply(a, b, data + off, len);
    off += len;
  }
  mrt__link_snapshot_free(a);
  mrt__link_snapshot_free(b);
  return 0;
}
