/* SPDX-License-Identifier: MIT */
/* Fuzz target: the DERP map (mrt_derp_map_parse), as a node gets it from its
 * config, a file or control.
 *
 * Properties:
 *   - refused: -EBADMSG (or -ENOMEM) with no map and a message that is valid
 *     UTF-8 without control characters and fits the buffer;
 *   - accepted: regions sorted by unique id, every node in its region, ports
 *     and address modes in range; the map written back as DERPMap JSON parses
 *     to an equal map (a round trip); a copy is equal; the STUN server list
 *     of both families is the IPv4 list and the IPv6 list together.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <jansson.h>
#include <meshrt/mesh.h>

#include "fuzz.h"

static json_t *addr_json(mrt_derp_addr_mode mode, int family, const void *addr) {
  char text[INET6_ADDRSTRLEN];
  if (mode == MRT_DERP_ADDR_DISABLED)
    return json_string("none");
  if (mode == MRT_DERP_ADDR_DNS)
    return json_string("");
  inet_ntop(family, addr, text, sizeof text);
  return json_string(text);
}

/* The map as DERPMap JSON. */
static char *write_map(const mrt_derp_map *map) {
  json_t *regions = json_object();
  for (size_t i = 0; i < mrt_derp_map_region_count(map); i++) {
    const mrt_derp_region *r = mrt_derp_map_region_at(map, i);
    json_t *nodes = json_array();
    for (size_t j = 0; j < r->n_nodes; j++) {
      const mrt_derp_node *n = &r->nodes[j];
      json_array_append_new(nodes,
                            json_pack("{s:s, s:i, s:s, s:o, s:o, s:i, s:b, s:i}", "Name", n->name,
                                      "RegionID", n->region_id, "HostName", n->host_name, "IPv4",
                                      addr_json(n->ipv4_mode, AF_INET, &n->ipv4), "IPv6",
                                      addr_json(n->ipv6_mode, AF_INET6, &n->ipv6), "STUNPort",
                                      n->stun_port == 0 ? -1 : (int)n->stun_port, "STUNOnly",
                                      n->stun_only, "DERPPort", (int)n->derp_port));
    }
    char key[16];
    snprintf(key, sizeof key, "%d", r->region_id);
    json_object_set_new(regions, key,
                        json_pack("{s:i, s:s, s:s, s:o}", "RegionID", r->region_id, "RegionCode",
                                  r->region_code, "RegionName", r->region_name, "Nodes", nodes));
  }
  json_t *root = json_pack("{s:o}", "Regions", regions);
  char *text = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  return text;
}

static bool same_node(const mrt_derp_node *a, const mrt_derp_node *b) {
  return strcmp(a->name, b->name) == 0 && strcmp(a->host_name, b->host_name) == 0 &&
         a->region_id == b->region_id && a->ipv4_mode == b->ipv4_mode &&
         a->ipv6_mode == b->ipv6_mode &&
         (a->ipv4_mode != MRT_DERP_ADDR_FIXED || a->ipv4.s_addr == b->ipv4.s_addr) &&
         (a->ipv6_mode != MRT_DERP_ADDR_FIXED || memcmp(&a->ipv6, &b->ipv6, 16) == 0) &&
         a->stun_port == b->stun_port && a->derp_port == b->derp_port &&
         a->stun_only == b->stun_only;
}

static bool same_map(const mrt_derp_map *a, const mrt_derp_map *b) {
  if (mrt_derp_map_region_count(a) != mrt_derp_map_region_count(b))
    return false;
  for (size_t i = 0; i < mrt_derp_map_region_count(a); i++) {
    const mrt_derp_region *x = mrt_derp_map_region_at(a, i), *y = mrt_derp_map_region_at(b, i);
    if (x->region_id != y->region_id || strcmp(x->region_code, y->region_code) != 0 ||
        strcmp(x->region_name, y->region_name) != 0 || x->n_nodes != y->n_nodes)
      return false;
    for (size_t j = 0; j < x->n_nodes; j++)
      if (!same_node(&x->nodes[j], &y->nodes[j]))
        return false;
  }
  return true;
}

static void check_invariants(const mrt_derp_map *map) {
  int prev = 0;
  for (size_t i = 0; i < mrt_derp_map_region_count(map); i++) {
    const mrt_derp_region *r = mrt_derp_map_region_at(map, i);
    FUZZ_CHECK(r->region_id > prev, "regions not sorted by unique id");
    prev = r->region_id;
    FUZZ_CHECK(mrt_derp_map_find_region(map, r->region_id) == r, "find_region");
    FUZZ_CHECK((r->n_nodes == 0) == (r->nodes == NULL), "nodes array");
    for (size_t j = 0; j < r->n_nodes; j++) {
      const mrt_derp_node *n = &r->nodes[j];
      FUZZ_CHECK(n->region_id == r->region_id, "node outside its region");
      FUZZ_CHECK(n->derp_port != 0, "DERP port 0");
      FUZZ_CHECK(n->ipv4_mode <= MRT_DERP_ADDR_DISABLED && n->ipv6_mode <= MRT_DERP_ADDR_DISABLED,
                 "address mode");
    }
  }
  int v4 = mrt_derp_map_stun_servers(map, AF_INET, NULL, 0);
  int v6 = mrt_derp_map_stun_servers(map, AF_INET6, NULL, 0);
  int both = mrt_derp_map_stun_servers(map, AF_UNSPEC, NULL, 0);
  FUZZ_CHECK(v4 >= 0 && v6 >= 0 && both == v4 + v6, "STUN servers %d + %d != %d", v4, v6, both);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[MRT_DERP_MAP_ERR_LEN];
  mrt_derp_map *map = (mrt_derp_map *)&err; /* must be reset to NULL on failure */
  int rc = mrt_derp_map_parse((const char *)data, size, &map, err, sizeof err);
  if (rc < 0) {
    FUZZ_CHECK(rc == -EBADMSG || rc == -ENOMEM, "rc %d", rc);
    FUZZ_CHECK(map == NULL, "a refused map was returned");
    FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL, "message not terminated");
    FUZZ_CHECK(err[0] != '\0' && fuzz_clean_text(err, strlen(err)), "message: %s", err);
    return 0;
  }
  check_invariants(map);
  char *text = write_map(map);
  FUZZ_CHECK(text != NULL, "cannot write the map");
  mrt_derp_map *again = NULL;
  rc = mrt_derp_map_parse(text, strlen(text), &again, err, sizeof err);
  FUZZ_CHECK(rc == 0, "the written map is refused: %s\n%s", err, text);
  FUZZ_CHECK(same_map(map, again), "round trip changed the map:\n%s", text);
  mrt_derp_map *copy = NULL;
  FUZZ_CHECK(mrt_derp_map_copy(map, &copy) == 0 && same_map(map, copy), "copy");
  mrt_derp_map_unref(copy);
  mrt_derp_map_unref(again);
  mrt_derp_map_unref(map);
  free(text);
  return 0;
}
