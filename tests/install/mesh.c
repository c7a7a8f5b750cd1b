/* SPDX-License-Identifier: MIT */
/* Install test (tests/test-install.sh): a host of libmeshrt-mesh, built
 * against the installed pkg-config file `meshrt-mesh` as strict C11 (the
 * installed embedding example runs a whole node; this checks the codecs):
 * a STUN Binding request and response round trip, and a DERP map parse.
 * Exit 0 when both work. Threads: the main thread only. */
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <meshrt/mesh.h>

int main(void) {
  mrt_stun_txid txid;
  memset(&txid, 0x5a, sizeof txid);
  unsigned char req[128], resp[MRT_STUN_RESPONSE_MAX_LEN];
  int n = mrt_stun_build_binding_request(req, sizeof req, &txid, MRT_STUN_SOFTWARE);
  mrt_stun_txid got;
  if (n < 0 || !mrt_stun_is_stun(req, (size_t)n) ||
      mrt_stun_parse_binding_request(req, (size_t)n, &got) < 0 ||
      memcmp(&got, &txid, sizeof txid) != 0) {
    fprintf(stderr, "install-mesh: the Binding request did not round-trip\n");
    return 1;
  }
  struct sockaddr_in mapped;
  memset(&mapped, 0, sizeof mapped);
  mapped.sin_family = AF_INET;
  mapped.sin_port = htons(41641);
  mapped.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  n = mrt_stun_build_binding_response(resp, sizeof resp, &got, (const struct sockaddr *)&mapped);
  mrt_stun_response r;
  if (n < 0 || mrt_stun_parse_binding_response(resp, (size_t)n, &r) < 0 || r.is_error ||
      r.mapped.ss_family != AF_INET ||
      memcmp(&((const struct sockaddr_in *)&r.mapped)->sin_port, &mapped.sin_port, 2) != 0) {
    fprintf(stderr, "install-mesh: the Binding response did not round-trip\n");
    return 1;
  }
  static const char json[] =
      "{\"Regions\":{\"1\":{\"RegionID\":1,\"RegionCode\":\"lo\",\"Nodes\":[{\"Name\":\"1a\","
      "\"RegionID\":1,\"HostName\":\"localhost\",\"IPv4\":\"127.0.0.1\",\"STUNPort\":3478}]}}}";
  mrt_derp_map *map;
  char err[256];
  if (mrt_derp_map_parse(json, sizeof json - 1, &map, err, sizeof err) < 0) {
    fprintf(stderr, "install-mesh: DERP map refused: %s\n", err);
    return 1;
  }
  size_t regions = mrt_derp_map_region_count(map);
  mrt_derp_map_unref(map);
  if (regions != 1) {
    fprintf(stderr, "install-mesh: %zu regions, expected 1\n", regions);
    return 1;
  }
  printf("install-mesh: STUN round trip and a DERP map of %zu region\n", regions);
  return 0;
}
