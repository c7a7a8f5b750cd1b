/* meshrt — MRT_LINK_CHANGE_* flags rendered as text, for logs and tools.
 *
 * The link snapshot produces these flags, but rendering them is public API
 * that needs no netlink, so it has its own file. Threading: any thread; the
 * caller owns `buf`.
 */
#include <meshrt/link_change.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

/* Append ",item" (or "item" first); `used` saturates at cap - 1 so that once
 * the buffer is full, later items are dropped and the text stays terminated. */
static void append_item(char *buf, size_t cap, size_t *used, const char *item)
{
    int n = snprintf(buf + *used, cap - *used, "%s%s", *used ? "," : "", item);

    if (n < 0)
        return;
    *used += (size_t)n;
    if (*used >= cap)
        *used = cap - 1;
}

const char *mrt_link_change_flags_str(uint32_t flags, char *buf, size_t cap)
{
    static const char *const names[] = { "link-up",      "link-down",     "addr-added",
                                         "addr-removed", "default-route", "resync" };
    uint32_t unknown = flags & ~MRT_LINK_CHANGE_ALL;
    size_t used = 0;

    if (!buf || cap == 0)
        return "";
    buf[0] = '\0';
    if (flags == 0) {
        append_item(buf, cap, &used, "none");
        return buf;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (flags & (UINT32_C(1) << i))
            append_item(buf, cap, &used, names[i]);
    if (unknown) {
        char hex[16];
        snprintf(hex, sizeof hex, "0x%" PRIx32, unknown);
        append_item(buf, cap, &used, hex);
    }
    return buf;
}
