/* SPDX-License-Identifier: MIT */
/* meshrt — the DERP map: relay regions, their servers, and their STUN ports.
 *
 * Control sends the node a DERP map in Tailscale's DERPMap JSON format:
 *
 *   {"Regions": {"<id>": {"RegionID": 1, "RegionCode": "nyc", "RegionName": "New York",
 *                         "Nodes": [{"Name": "1a", "RegionID": 1, "HostName": "derp1.example",
 *                                    "IPv4": "192.0.2.1", "IPv6": "2001:db8::1",
 *                                    "STUNPort": 0, "STUNOnly": false, "DERPPort": 0}]}}}
 *
 * mrt_derp_map_parse() validates such a document completely and either yields an
 * immutable, refcounted map or rejects the whole document with a message naming
 * the offending field, e.g. `Regions["1"].Nodes[0].IPv4: expected an IPv4 address,
 * got "foo"`. Fields not listed above are ignored; a JSON null counts as absent.
 * Rules, beyond each field having its JSON type:
 *   - the root is an object; "Regions" is an object (absent/null: no regions);
 *   - each region key is the canonical decimal form of that region's RegionID,
 *     which is required and in 1..INT_MAX, so region ids are unique;
 *   - "Nodes" is an array (absent/null: no nodes); each node's RegionID is required
 *     and equals its region's;
 *   - "IPv4"/"IPv6" are absent or "" (resolve HostName by DNS), "none" (do not use
 *     that family, Tailscale's convention), or a literal address of that family;
 *   - "STUNPort" is -1 (STUN disabled), 0 (the default, 3478) or 1..65535;
 *     "DERPPort" is 0 (the default, 443) or 1..65535;
 *   - duplicate keys in any object are rejected (JSON_REJECT_DUPLICATES), since
 *     "last one wins" would silently hide a conflicting region or field.
 * After parsing, regions are sorted by region id; nodes keep their JSON order.
 *
 * Ownership and threading: a map is immutable once parsed and is shared by
 * pointer (e.g. in a bus message, whose drop hook calls mrt_derp_map_unref()).
 * The refcount is atomic, so any thread may ref, unref and read a map it holds a
 * reference to; no locks are needed because nothing ever writes to a live map.
 * Pointers returned by the accessors are borrowed and valid while the caller
 * holds a reference.
 *
 * Errors: negative errno. -EINVAL for a bad argument (NULL, bad family),
 * -EBADMSG for a document that is not a valid DERP map (the message says why),
 * -ENOMEM, and for files the errno of open/read (-ENOENT, -EACCES, ...) or
 * -EFBIG for a file over MRT_DERP_MAP_MAX_FILE_SIZE.
 */
#ifndef MESHRT_DERP_MAP_H
#define MESHRT_DERP_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <meshrt/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Tailscale's defaults for a port given as 0. */
#define MRT_DERP_DEFAULT_STUN_PORT 3478
#define MRT_DERP_DEFAULT_DERP_PORT 443

/* A DERP map file larger than this is refused rather than read into memory;
 * Tailscale's own map is about 30 KiB. */
#define MRT_DERP_MAP_MAX_FILE_SIZE (16u * 1024u * 1024u)

/* An error buffer of this size holds any message about a document whole
 * (offending values and keys are quoted, escaped and shortened with "...").
 * Smaller buffers get a truncated, still NUL-terminated message. */
#define MRT_DERP_MAP_ERR_LEN 1024

/* How a node's address of one family is found. */
typedef enum mrt_derp_addr_mode {
  MRT_DERP_ADDR_DNS = 0,  /* absent or "": resolve HostName */
  MRT_DERP_ADDR_FIXED,    /* a literal address, in ipv4 / ipv6 */
  MRT_DERP_ADDR_DISABLED, /* "none": never use this family for the node */
} mrt_derp_addr_mode;

/* One DERP (or STUN-only) server. Read-only; owned by its map. String fields are
 * never NULL ("" when absent). Ports are the effective ones: defaults applied. */
typedef struct mrt_derp_node {
  char *name;
  char *host_name;
  int region_id;
  mrt_derp_addr_mode ipv4_mode;
  mrt_derp_addr_mode ipv6_mode;
  struct in_addr ipv4;  /* meaningful when ipv4_mode == MRT_DERP_ADDR_FIXED */
  struct in6_addr ipv6; /* meaningful when ipv6_mode == MRT_DERP_ADDR_FIXED */
  uint16_t stun_port;   /* 0 when STUN is disabled (JSON -1); JSON 0 -> 3478 */
  uint16_t derp_port;   /* JSON 0 -> 443 */
  bool stun_only;       /* serves STUN only, no DERP relay */
} mrt_derp_node;

/* One region. Read-only; owned by its map. n_nodes may be 0 (nodes is then NULL). */
typedef struct mrt_derp_region {
  int region_id;
  char *region_code;
  char *region_name;
  size_t n_nodes;
  mrt_derp_node *nodes;
} mrt_derp_region;

typedef struct mrt_derp_map mrt_derp_map;

/* Parse `len` bytes of JSON text (need not be NUL-terminated). On success stores
 * a new map with one reference in *out and returns 0. On failure *out is set to
 * NULL, a message is written to err (if err != NULL and errlen > 0; always
 * NUL-terminated) and a negative errno is returned. Any thread. */
MRT_API int mrt_derp_map_parse(const char *json, size_t len, mrt_derp_map **out, char *err,
                               size_t errlen);

/* As mrt_derp_map_parse(), reading the file at `path`. Blocking I/O: call it
 * from a host thread or at startup, not from an actor handler. */
MRT_API int mrt_derp_map_parse_file(const char *path, mrt_derp_map **out, char *err, size_t errlen);

/* Deep copy: a new, independent map (refcount 1) equal to src, in *out.
 * Returns 0, -EINVAL or -ENOMEM (then *out is NULL). Any thread. */
MRT_API int mrt_derp_map_copy(const mrt_derp_map *src, mrt_derp_map **out);

/* Take another reference. NULL-safe; returns map. Any thread. */
MRT_API mrt_derp_map *mrt_derp_map_ref(mrt_derp_map *map);

/* Drop a reference; the last one frees the map and everything it owns. NULL-safe;
 * always returns NULL (so `m = mrt_derp_map_unref(m);`). Any thread. */
MRT_API mrt_derp_map *mrt_derp_map_unref(mrt_derp_map *map);

/* Number of regions (0 for NULL). */
MRT_API size_t mrt_derp_map_region_count(const mrt_derp_map *map);

/* The i-th region in ascending region-id order, or NULL if i is out of range. */
MRT_API const mrt_derp_region *mrt_derp_map_region_at(const mrt_derp_map *map, size_t i);

/* The region with this id, or NULL. O(log n). */
MRT_API const mrt_derp_region *mrt_derp_map_find_region(const mrt_derp_map *map, int region_id);

/* The node's STUN server address of `family` (AF_INET or AF_INET6) with its
 * effective STUN port, in *out. Returns 0, -ENOENT if the node has STUN disabled
 * or no fixed address of that family (DNS or "none"), or -EINVAL. */
MRT_API int mrt_derp_node_stun_addr(const mrt_derp_node *node, int family,
                                    struct sockaddr_storage *out);

/* Every STUN server in the map: for each node (regions by id, nodes in order)
 * that has STUN enabled, its fixed IPv4 address and then its fixed IPv6 address,
 * restricted to `family` (AF_INET, AF_INET6, or AF_UNSPEC for both). Writes the
 * first min(count, cap) entries to out (out may be NULL when cap is 0) and
 * returns the total count, so a caller can size its array with a first call;
 * or -EINVAL, or -EOVERFLOW if the count exceeds INT_MAX. Any thread. */
MRT_API int mrt_derp_map_stun_servers(const mrt_derp_map *map, int family,
                                      struct sockaddr_storage *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
